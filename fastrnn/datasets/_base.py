"""Cache directory and verified, atomic downloads for the dataset loaders."""

import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import NamedTuple


class RemoteFileMetadata(NamedTuple):
    """A file to download: its cache name, URL and checksum.

    ``checksum`` is a SHA-256 hex digest (64 characters); a 32-character value
    is an MD5 digest, used only where the publisher gives no SHA-256 (Keras's
    word-index files).
    """

    filename: str
    url: str
    checksum: str


def get_data_home(data_home=None):
    """Directory of cached datasets: ``data_home``, else ``$FASTRNN_DATA``, else ``~/.fastrnn/datasets``.

    The directory is created if needed.
    """
    if data_home is None:
        data_home = os.environ.get("FASTRNN_DATA") or Path("~/.fastrnn/datasets").expanduser()
    path = Path(data_home)
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_digest(path, checksum):
    """Hex digest of ``path`` with the algorithm ``checksum`` is written in."""
    h = hashlib.sha256() if len(checksum) == 64 else hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _progress(done, total, sink):
    if total:
        width = 30
        filled = int(width * done / total)
        sink(f"\r  [{'=' * filled}{'.' * (width - filled)}] {done / 1e6:.1f}/{total / 1e6:.1f} MB")
    else:
        sink(f"\r  {done / 1e6:.1f} MB")


def fetch_file(meta, data_home=None, download_if_missing=True, progress=True, timeout=60):
    """Return the local path of ``meta``'s file, downloading and verifying it once.

    The download goes to a temporary file in the cache directory, is checked
    against ``meta.checksum``, and only then renamed into place, so an
    interrupted or corrupted download never leaves a bad cache file.

    Parameters
    ----------
    meta : RemoteFileMetadata
    data_home : str or path-like, optional
    download_if_missing : bool, default True
    progress : bool, default True
        Show a progress bar on stderr.
    timeout : float, default 60
        Seconds to wait for the server.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    OSError
        The file is missing and cannot be downloaded (offline, server error,
        checksum mismatch); the message says where to place it by hand.
    """
    home = get_data_home(data_home)
    target = home / meta.filename
    by_hand = (f"download {meta.url} yourself and save it as {target} (or set FASTRNN_DATA to the "
               "folder that holds it)")
    if target.exists():
        if file_digest(target, meta.checksum) == meta.checksum:
            return target
        raise OSError(f"{target} exists but its checksum does not match {meta.checksum}; delete it "
                      f"and retry, or {by_hand}")
    if not download_if_missing:
        raise OSError(f"{meta.filename} is not in {home} and download_if_missing=False: {by_hand}")
    sink = (lambda s: print(s, end="", file=sys.stderr, flush=True)) if progress else (lambda s: None)
    fd, tmp = tempfile.mkstemp(prefix=f".{meta.filename}.", suffix=".part", dir=home)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(meta.url, timeout=timeout) as resp:
                    total = int(resp.headers.get("Content-Length") or 0)
                    done = 0
                    sink(f"Downloading {meta.url}\n")
                    for block in iter(lambda: resp.read(1 << 16), b""):
                        out.write(block)
                        done += len(block)
                        _progress(done, total, sink)
                    sink("\n")
            except (urllib.error.URLError, OSError) as exc:
                raise OSError(f"could not download {meta.url} ({exc}); {by_hand}") from None
        digest = file_digest(tmp, meta.checksum)
        if digest != meta.checksum:
            raise OSError(f"the download of {meta.url} is corrupted (checksum {digest}, expected "
                          f"{meta.checksum}); retry, or {by_hand}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return target
