"""Taking ``.fastrnn`` model files apart and damaging them, for the persistence, CLI and fuzz tests.

A model file is a ZIP archive (see :mod:`fastrnn.persistence`); these helpers rewrite its
members, recompute its manifest as a deliberate editor would, and damage single fields of the
ZIP structure in ways that a careless reader would let escape ``ModelFileError``.
"""

import hashlib
import json
import zipfile


def members(path):
    """``{name: bytes}`` of every member of the archive at ``path``."""
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def rewrite(src, dst, edit):
    """Copy a model archive, passing each member through ``edit(name, data) -> data | None``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = edit(info.filename, zin.read(info))
            if data is not None:
                zout.writestr(info.filename, data)


def reseal(path):
    """Recompute the manifest's checksums after an edit, as a careless tamperer would not.

    The manifest written is the one of files saved before arrays were declared in it (checksums
    only), which ``load`` still reads.
    """
    with zipfile.ZipFile(path) as zf:
        kept = {i.filename: zf.read(i) for i in zf.infolist() if i.filename != "MANIFEST.json"}
    manifest = {"sha256": {k: hashlib.sha256(v).hexdigest() for k, v in kept.items()}}
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("MANIFEST.json", json.dumps(manifest))
        for k, v in kept.items():
            zf.writestr(k, v)


def central_entry(data, name):
    """Offset of ``name``'s entry in the ZIP central directory of the archive bytes ``data``."""
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        n = int.from_bytes(data[pos + 28:pos + 30], "little")
        if data[pos + 46:pos + 46 + n] == name.encode():
            return pos
        pos = data.find(b"PK\x01\x02", pos + 4)
    raise AssertionError(f"{name} not in the central directory")


def member_data_offset(data, name):
    """Offset of the first byte of ``name``'s compressed data."""
    local = int.from_bytes(data[central_entry(data, name) + 42:][:4], "little")
    n, extra = (int.from_bytes(data[local + k:local + k + 2], "little") for k in (26, 28))
    return local + 30 + n + extra


#: Damages to one member that a reader could answer with something other than ModelFileError.
DAMAGES = ["encrypted flag", "compression method 99", "compression method 12",
           "compression method 14", "invalid deflate block"]


def damage(data, how, member="MANIFEST.json"):
    """The archive bytes ``data`` with one field of ``member`` damaged as ``how`` (see DAMAGES)."""
    data = bytearray(data)
    entry = central_entry(bytes(data), member)
    if how == "encrypted flag":  # was RuntimeError: File ... is encrypted, password required
        data[entry + 8] |= 0x01
    elif how.startswith("compression method"):  # was NotImplementedError, OSError (bzip2)
        data[entry + 10:entry + 12] = int(how.split()[-1]).to_bytes(2, "little")
    elif how == "invalid deflate block":  # was zlib.error: invalid block type
        data[member_data_offset(bytes(data), member)] |= 0b110
    else:
        raise ValueError(f"unknown damage {how!r}")
    return bytes(data)
