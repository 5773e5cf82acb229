"""Sequence-to-sequence pairs: tab-separated files and generated tasks (offline, seeded)."""

import datetime
import os

import numpy as np
from sklearn.utils import check_random_state

from ._files import read_text
from ._synthetic import _count, _is_count

_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_FIRST_DAY = datetime.date(1950, 1, 1)
_LAST_DAY = datetime.date(2049, 12, 31)


def _date_formats(d):
    """The ways a date is written (no two-digit years and no month-first numbers: unambiguous)."""
    month, day = _MONTHS[d.month - 1], _DAYS[d.weekday()]
    return [
        f"{d.day} {month} {d.year}",
        f"{month} {d.day}, {d.year}",
        f"{d.day:02d}/{d.month:02d}/{d.year}",
        f"{d.day}.{d.month}.{d.year}",
        f"{d.year}.{d.month:02d}.{d.day:02d}",
        f"{d.day} {month[:3]} {d.year}",
        f"{month[:3]} {d.day} {d.year}",
        f"{day[:3]} {d.day:02d} {month[:3]} {d.year}",
        f"{day}, {month} {d.day}, {d.year}",
        f"{d.day} {month.lower()} {d.year}",
        f"{month.upper()} {d.day}, {d.year}",
        f"{d.day:02d} {month[:3].upper()} {d.year}",
    ]


#: Number of surface forms :func:`make_date_normalization` draws from.
N_DATE_FORMATS = len(_date_formats(_FIRST_DAY))


def make_date_normalization(n_samples=10000, random_state=None):
    """Dates written in many ways, to be rewritten as ``YYYY-MM-DD``.

    Each pair is a date drawn uniformly from 1950-01-01 to 2049-12-31,
    written in one of :data:`N_DATE_FORMATS` forms drawn uniformly (e.g.
    ``"3 March 2021"``, ``"March 3, 2021"``, ``"03/03/2021"`` (day first),
    ``"2021.03.03"``, ``"Wed 03 Mar 2021"``, ``"MARCH 3, 2021"``), and the
    same date in ISO form.  Numeric forms put the day before the month, except
    ``YYYY.MM.DD``, which starts with the year, so every input has one answer.
    A character-level task with an alignment that attention finds (the
    output's digits come from scattered input positions).

    Parameters
    ----------
    n_samples : int, default 10000
    random_state : int, RandomState or None

    Returns
    -------
    X : list of str
    Y : list of str
        ``YYYY-MM-DD``.

    Examples
    --------
    >>> X, Y = make_date_normalization(3, random_state=0)
    >>> all(len(y) == 10 and y[4] == y[7] == "-" for y in Y)
    True
    """
    n_samples = _count(n_samples, "n_samples")
    rs = check_random_state(random_state)
    span = (_LAST_DAY - _FIRST_DAY).days + 1
    offsets = rs.randint(0, span, size=n_samples)
    forms = rs.randint(0, N_DATE_FORMATS, size=n_samples)
    X, Y = [], []
    for off, form in zip(offsets.tolist(), forms.tolist()):
        d = _FIRST_DAY + datetime.timedelta(days=off)
        X.append(_date_formats(d)[form])
        Y.append(d.isoformat())
    return X, Y


def make_reversal(n_samples=1000, length=(30, 50), vocab_size=10, random_state=None,
                  return_text=False):
    """Random symbol sequences and the same sequences reversed.

    The classic test of an encoder-decoder's memory: without attention the
    whole source must pass through the encoder's final state, which fails as
    sequences grow; with attention each output step can look up its symbol.

    Parameters
    ----------
    n_samples : int, default 1000
    length : int or (int, int), default (30, 50)
        Symbols per sequence, fixed or drawn uniformly from the inclusive range.
    vocab_size : int, default 10
        Symbols are ids ``1..vocab_size`` (0 stays padding).
    random_state : int, RandomState or None
    return_text : bool, default False
        Return strings, one lowercase letter per symbol (``vocab_size <= 26``).

    Returns
    -------
    X : list of list of int, or list of str
    Y : list of list of int, or list of str
        ``Y[i]`` is ``X[i]`` reversed.
    """
    n_samples = _count(n_samples, "n_samples")
    bounds = (length, length) if np.ndim(length) == 0 else tuple(length)
    if len(bounds) != 2 or not all(map(_is_count, bounds)) or not 1 <= bounds[0] <= bounds[1]:
        raise ValueError(f"length must be an int >= 1 or a range (low, high) of ints with "
                         f"1 <= low <= high, got {length!r}")
    low, high = (int(v) for v in bounds)
    vocab_size = _count(vocab_size, "vocab_size")
    if return_text and vocab_size > 26:
        raise ValueError(f"vocab_size must be at most 26 with return_text=True (one letter per "
                         f"symbol), got {vocab_size}")
    rs = check_random_state(random_state)
    lengths = rs.randint(low, high + 1, size=n_samples)
    X = [rs.randint(1, vocab_size + 1, size=n).tolist() for n in lengths]
    if return_text:
        X = ["".join(chr(ord("a") + t - 1) for t in row) for row in X]
    return X, [row[::-1] for row in X]


def make_addition(n_samples=1000, digits=3, random_state=None):
    """Sums written as text, such as ``"123+45"`` -> ``"168"``.

    Parameters
    ----------
    n_samples : int, default 1000
    digits : int, default 3
        Each operand has 1 to ``digits`` digits (drawn uniformly in
        ``0..10**digits - 1``).
    random_state : int, RandomState or None

    Returns
    -------
    X : list of str
    Y : list of str
    """
    n_samples = _count(n_samples, "n_samples")
    if not _is_count(digits) or not 1 <= digits <= 18:
        raise ValueError(f"digits must be an int between 1 and 18, got {digits!r}")
    rs = check_random_state(random_state)
    top = 10 ** digits
    a = rs.randint(0, top, size=n_samples, dtype=np.int64)
    b = rs.randint(0, top, size=n_samples, dtype=np.int64)
    return [f"{x}+{y}" for x, y in zip(a.tolist(), b.tolist())], [str(x + y) for x, y in
                                                                 zip(a.tolist(), b.tolist())]


def load_pairs(path, source_col=0, target_col=1, encoding="utf-8-sig", max_pairs=None,
               header=False):
    """Read tab-separated pairs (one per line), as the Tatoeba/ManyThings files.

    Lines are ``source<TAB>target[<TAB>more columns]``; blank lines are skipped.

    Parameters
    ----------
    path : str or os.PathLike
    source_col, target_col : int, default 0 and 1
        Columns of the source and the target.
    encoding : str, default "utf-8-sig"
        UTF-8, with a byte-order mark at the start of the file skipped if present.
    max_pairs : int or None
        Read at most this many pairs (a positive int).
    header : bool, default False
        Whether the first non-blank line names the columns (it is skipped).

    Returns
    -------
    X : list of str
    Y : list of str

    Raises
    ------
    ValueError
        With the line number: a non-blank line with fewer columns than
        needed, an empty source, or bytes that are not ``encoding`` text;
        or no pair at all.
    """
    for name, col in (("source_col", source_col), ("target_col", target_col)):
        if not _is_count(col) or col < 0:
            raise ValueError(f"{name} must be a non-negative int, got {col!r}")
    if max_pairs is not None:
        max_pairs = _count(max_pairs, "max_pairs")
    if source_col == target_col:
        raise ValueError(f"source_col and target_col are both {source_col}")
    need = max(source_col, target_col) + 1
    X, Y = [], []
    skip = bool(header)
    number = 0
    # streamed (max_pairs stops the reading), lines split at \n, \r\n and \r
    with open(os.fspath(path), encoding=encoding, newline="") as fh:
        try:
            for number, line in enumerate(fh, 1):
                line = line.rstrip("\r\n")
                if not line.strip():
                    continue
                if skip:
                    skip = False
                    continue
                cols = line.split("\t")
                if len(cols) < need:
                    raise ValueError(f"{os.fspath(path)}, line {number}: {len(cols)} tab-separated "
                                     f"column(s), need {need} (source_col={source_col}, "
                                     f"target_col={target_col})")
                if not cols[source_col]:
                    raise ValueError(f"{os.fspath(path)}, line {number}: the source (column "
                                     f"{source_col}) is empty; every pair needs a source")
                X.append(cols[source_col])
                Y.append(cols[target_col])
                if max_pairs is not None and len(X) >= max_pairs:
                    break
        except UnicodeDecodeError:  # decoded a block at a time: the file read whole names the line
            read_text(path, encoding)
            raise
    if not X:
        raise ValueError(f"{os.fspath(path)} holds no pairs")
    return X, Y
