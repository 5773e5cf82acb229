"""A restricted ``.npz`` reader: object arrays are unpickled without running code.

Keras's ``imdb.npz`` / ``reuters.npz`` hold object arrays of id lists, which
NumPy stores as pickles; ``np.load(allow_pickle=True)`` would execute whatever
a tampered file asks for.  Here the pickle may only rebuild NumPy arrays,
dtypes and plain lists of integers (Python's or NumPy's); anything else is
refused.
"""

import pickle
import zipfile

import numpy as np
from numpy.lib import format as npy_format

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    # a NumPy scalar (an np.int64 in a list): its dtype and bytes; checked to be an integer below
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
}


class UnsafeFileError(ValueError):
    """Raised when a data file asks to run code or holds unexpected objects."""


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise UnsafeFileError(f"refusing to load {module}.{name} from a data file")


def _check_id_lists(arr, name):
    if not isinstance(arr, np.ndarray) or arr.dtype != object:
        raise UnsafeFileError(f"{name}: expected an object array of id lists")
    for i, seq in enumerate(arr.ravel()):
        if isinstance(seq, np.ndarray) and seq.dtype.kind in "iu":
            continue
        if not isinstance(seq, list) or not all(
                type(v) is int or isinstance(v, np.integer) for v in seq):
            raise UnsafeFileError(f"{name}[{i}] is not a list of integers")
        seq[:] = [int(v) for v in seq]  # NumPy integers (from a list of np.int64) as ints
    return arr


def load_npz(path):
    """Read every array of an ``.npz`` file without executing code.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    dict of str to ndarray
        Numeric arrays as stored; object arrays only when every element is a
        list (or integer array) of integers.

    Raises
    ------
    UnsafeFileError
        The file asks to build anything else.
    ValueError
        The file is not a readable ``.npz`` (truncated, corrupted).
    """
    out = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for member in zf.namelist():
                if not member.endswith(".npy"):
                    continue
                key = member[:-4]
                with zf.open(member) as f:
                    version = npy_format.read_magic(f)
                    if version == (1, 0):
                        shape, fortran, dtype = npy_format.read_array_header_1_0(f)
                    else:
                        shape, fortran, dtype = npy_format.read_array_header_2_0(f)
                    if dtype.hasobject:
                        arr = _check_id_lists(_RestrictedUnpickler(f).load(), key)
                    else:
                        count = int(np.prod(shape))
                        data = f.read(count * dtype.itemsize)
                        if len(data) != count * dtype.itemsize:
                            raise ValueError(f"{key}: truncated array data")
                        order = "F" if fortran else "C"
                        arr = np.frombuffer(data, dtype=dtype).reshape(shape, order=order).copy()
                out[key] = arr
    except UnsafeFileError:
        raise
    except (zipfile.BadZipFile, EOFError, pickle.UnpicklingError, OSError, KeyError) as exc:
        raise ValueError(f"{path} is not a readable .npz file ({exc})") from None
    return out
