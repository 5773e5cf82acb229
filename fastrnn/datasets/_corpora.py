"""Keras's IMDB and Reuters datasets, with Keras's semantics, read without pickle."""

import json

import numpy as np

from ._base import RemoteFileMetadata, fetch_file
from ._npz import load_npz

_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
IMDB = RemoteFileMetadata(
    "imdb.npz", _ORIGIN + "imdb.npz",
    "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f")
IMDB_WORD_INDEX = RemoteFileMetadata(
    "imdb_word_index.json", _ORIGIN + "imdb_word_index.json", "bfafd718b763782e994055a2d397834f")
REUTERS = RemoteFileMetadata(
    "reuters.npz", _ORIGIN + "reuters.npz",
    "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916")
REUTERS_WORD_INDEX = RemoteFileMetadata(
    "reuters_word_index.json", _ORIGIN + "reuters_word_index.json",
    "4d44cc38712099c9e383dc6e5f11a921")


def _with_keys(data, path, keys):
    """``data`` (a loaded ``.npz``), or a ValueError naming the arrays ``path`` lacks."""
    missing = sorted(set(keys) - set(data))
    if missing:
        raise ValueError(f"{path} lacks {missing}")
    return data


def _shift(seqs, start_char, index_from):
    if start_char is not None:
        return [[start_char] + [w + index_from for w in s] for s in seqs]
    return [[w + index_from for w in s] for s in seqs]


def _drop_long(maxlen, seqs, labels):
    # Keras keeps only sequences strictly shorter than maxlen
    keep = [i for i, s in enumerate(seqs) if len(s) < maxlen]
    return [seqs[i] for i in keep], np.asarray(labels)[keep]


def _cap_vocabulary(xs, num_words, skip_top, oov_char):
    if not num_words:
        num_words = max((max(s) for s in xs if s), default=0)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in s] for s in xs]
    return [[w for w in s if skip_top <= w < num_words] for s in xs]


def _as_object_array(seqs):
    out = np.empty(len(seqs), dtype=object)
    for i, s in enumerate(seqs):  # element-wise: equal lengths must not become a 2-D array
        out[i] = s
    return out


def _resolve(meta, path, data_home, download_if_missing):
    return path if path is not None else fetch_file(meta, data_home, download_if_missing)


def load_imdb(num_words=None, skip_top=0, maxlen=None, start_char=1, oov_char=2, index_from=3,
              seed=113, path=None, *, data_home=None, download_if_missing=True):
    """IMDB movie reviews (25,000 train / 25,000 test, binary), exactly as Keras's ``imdb.load_data``.

    Word ids are frequency ranks shifted by ``index_from``; 0 is padding,
    ``start_char`` starts every review and ``oov_char`` replaces words outside
    ``[skip_top, num_words)``.  Reviews are shuffled with ``RandomState(seed)``
    (train, then test), and with ``maxlen`` only reviews *strictly shorter*
    than ``maxlen`` are kept (Keras's behaviour).

    Parameters
    ----------
    num_words, skip_top, maxlen, start_char, oov_char, index_from, seed
        As in Keras.
    path : str or path-like, optional
        A local file in Keras's raw ``imdb.npz`` format (unshifted ranks); by
        default the public file is downloaded once into the cache.
    data_home : str or path-like, optional
        Cache directory (default ``$FASTRNN_DATA`` or ``~/.fastrnn/datasets``).
    download_if_missing : bool, default True

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        ``x_*`` are object arrays of id lists, ``y_*`` integer arrays.
    """
    source = _resolve(IMDB, path, data_home, download_if_missing)
    data = _with_keys(load_npz(source), source, ("x_train", "y_train", "x_test", "y_test"))
    rng = np.random.RandomState(seed)
    parts = []
    for split in ("train", "test"):
        x, y = data[f"x_{split}"], data[f"y_{split}"]
        order = np.arange(len(x))
        rng.shuffle(order)
        parts.append((_shift(x[order], start_char, index_from), y[order]))
    if maxlen:
        parts = [_drop_long(maxlen, x, y) for x, y in parts]
        if not len(parts[0][0]) or not len(parts[1][0]):
            raise ValueError(f"no review is shorter than maxlen={maxlen}; increase maxlen")
    n_train = len(parts[0][0])
    xs = _cap_vocabulary(parts[0][0] + parts[1][0], num_words, skip_top, oov_char)
    labels = np.concatenate([parts[0][1], parts[1][1]])
    return ((_as_object_array(xs[:n_train]), labels[:n_train]),
            (_as_object_array(xs[n_train:]), labels[n_train:]))


def load_encoded(path, num_words=None, skip_top=0, oov_char=2):
    """Read a file that already holds :func:`load_imdb`/:func:`load_reuters` output.

    Such a file (keys ``x_train``, ``y_train``, ``x_test``, ``y_test``; e.g. a
    subset saved after loading) is already shifted and capped; this reads it
    with the restricted loader and applies Keras's vocabulary rule again, so a
    smaller ``num_words`` or a ``skip_top`` give what ``load_imdb`` would have
    given with those values.  A vocabulary can only shrink: ids the file
    already mapped to ``oov_char`` stay there.

    Parameters
    ----------
    path : str or path-like
    num_words, skip_top, oov_char
        As in :func:`load_imdb`; ``num_words=None`` keeps the file's ids.

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
    """
    data = _with_keys(load_npz(path), path, ("x_train", "y_train", "x_test", "y_test"))
    out = []
    for split in ("train", "test"):
        xs = [list(map(int, s)) for s in data[f"x_{split}"]]
        if num_words or skip_top:
            cap = num_words or max((max(s) for s in xs if s), default=0) + 1
            xs = _cap_vocabulary(xs, cap, skip_top, oov_char)
        out.append((_as_object_array(xs), np.asarray(data[f"y_{split}"])))
    return tuple(out)


def load_reuters(num_words=None, skip_top=0, maxlen=None, test_split=0.2, seed=113, start_char=1,
                 oov_char=2, index_from=3, path=None, *, data_home=None, download_if_missing=True):
    """Reuters newswires (46 topics), exactly as Keras's ``reuters.load_data``.

    One shuffle of all 11,228 wires with ``RandomState(seed)``, then the first
    ``1 - test_split`` are the training set (8,982 / 2,246 by default).  Other
    parameters as in :func:`load_imdb`.

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
    """
    source = _resolve(REUTERS, path, data_home, download_if_missing)
    data = _with_keys(load_npz(source), source, ("x", "y"))
    xs, labels = data["x"], data["y"]
    order = np.arange(len(xs))
    np.random.RandomState(seed).shuffle(order)
    xs = _shift(xs[order], start_char, index_from)
    labels = labels[order]
    if maxlen:
        xs, labels = _drop_long(maxlen, xs, labels)
    xs = _cap_vocabulary(xs, num_words, skip_top, oov_char)
    n_train = int(len(xs) * (1 - test_split))
    return ((_as_object_array(xs[:n_train]), np.asarray(labels[:n_train])),
            (_as_object_array(xs[n_train:]), np.asarray(labels[n_train:])))


def _word_index(meta, path, data_home, download_if_missing):
    with open(_resolve(meta, path, data_home, download_if_missing), encoding="utf-8") as f:
        index = json.load(f)
    if not isinstance(index, dict) or not all(isinstance(v, int) for v in index.values()):
        raise ValueError("a word index must map words to integer ranks")
    return index


def get_word_index(dataset="imdb", path=None, *, data_home=None, download_if_missing=True):
    """Word -> frequency rank (unshifted: add ``index_from`` to match loaded ids).

    Parameters
    ----------
    dataset : {"imdb", "reuters"}
    path : str or path-like, optional
        Local JSON file instead of the download.

    Returns
    -------
    dict of str to int
    """
    metas = {"imdb": IMDB_WORD_INDEX, "reuters": REUTERS_WORD_INDEX}
    if dataset not in metas:
        raise ValueError(f"dataset must be 'imdb' or 'reuters', got {dataset!r}")
    return _word_index(metas[dataset], path, data_home, download_if_missing)
