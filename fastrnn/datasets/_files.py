"""Reading user files for the command line: CSV/TSV of raw text, plain text lines, Keras ``.npz``.

Text is read as UTF-8, with or without a byte-order mark (Excel's "CSV UTF-8" writes one).
"""

import csv
import io
import os
import sys

import numpy as np

from ._npz import load_npz


def csv_rows(reader, n_fields, source):
    """Yield the non-empty rows after a CSV header, refusing a row of another width.

    Parameters
    ----------
    reader : csv.reader
        Positioned after the header (line 1).
    n_fields : int
        Fields per row (the header's).
    source : str
        The file, named in the error.

    Yields
    ------
    list of str
    """
    for line_no, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != n_fields:
            raise ValueError(f"{source}, line {line_no}: {len(row)} fields, the header has "
                             f"{n_fields}")
        yield row


def _delimiter(path, sample):
    if path.lower().endswith((".tsv", ".tab")):
        return "\t"
    if path.lower().endswith(".csv"):
        return ","
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;").delimiter
    except csv.Error:
        return ","


def _open_table(path):
    """A CSV/TSV file for reading, or standard input for ``"-"`` (a byte-order mark skipped)."""
    if path == "-":
        return io.StringIO(_stdin_text(), newline="")
    return open(path, newline="", encoding="utf-8-sig")


def _stdin_text():
    """Standard input as text, with a byte-order mark skipped and Windows line ends as ``\n``."""
    return sys.stdin.read().removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def read_table(path, columns):
    """Read named columns of a CSV/TSV file with a header row (blank lines are not rows).

    Parameters
    ----------
    path : str
    columns : list of str
        Columns to return, in this order (``None`` entries are skipped).

    Returns
    -------
    dict of str to list of str
    """
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with _open_table(path) as fh:
        sample = fh.read(65536)
        fh.seek(0)
        reader = csv.reader(fh, delimiter=_delimiter(path, sample))
        header = next(reader, None)
        if not header:
            raise ValueError(f"{path} is empty")
        header = [h.strip() for h in header]
        wanted = [c for c in columns if c is not None]
        missing = [c for c in wanted if c not in header]
        if missing:
            raise ValueError(f"column {missing[0]!r} not found in {path} (columns: "
                             f"{', '.join(header)})")
        index = {c: header.index(c) for c in wanted}
        out = {c: [] for c in wanted}
        for row in csv_rows(reader, len(header), path):
            for c, i in index.items():
                out[c].append(row[i])
    if not out[wanted[0]]:
        raise ValueError(f"{path} has a header but no data rows")
    return out


def read_labeled(path, text_col="text", label_col="label", split="train"):
    """Texts (or id sequences) and labels from a CSV/TSV or a Keras-format ``.npz``.

    Parameters
    ----------
    path : str
    text_col, label_col : str
        Columns of a CSV/TSV file.
    split : {"train", "test"}
        Which arrays of an ``.npz`` (``x_train``/``y_train`` or ``x_test``/``y_test``).

    Returns
    -------
    X : list of str, or object ndarray of id lists (``.npz``)
    y : ndarray of shape (n_samples,)
        Labels; numeric strings become numbers.
    """
    if not os.path.isfile(path):
        raise ValueError(f"no such file: {path}")
    if path.lower().endswith(".npz"):
        arrays = load_npz(path)
        keys = (f"x_{split}", f"y_{split}")
        if not all(k in arrays for k in keys):
            raise ValueError(f"{path} has no {keys[0]}/{keys[1]} arrays (found: "
                             f"{', '.join(sorted(arrays))})")
        X, y = arrays[keys[0]], np.asarray(arrays[keys[1]])
        if len(X) == 0:
            raise ValueError(f"{path}: {keys[0]} is empty")
        return X, y
    table = read_table(path, [text_col, label_col])
    return table[text_col], _labels(table[label_col])


def _lines(text):
    r"""The lines of a text file: split at line ends only, blank lines kept.

    A final line end ends the last line rather than starting an empty one; ``\r\n`` and ``\r``
    arrive as ``\n`` (universal newlines).  Unlike ``str.splitlines``, form feeds and Unicode line
    separators inside a line do not split it, so rows line up with what ``wc -l`` counts.
    """
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def read_inputs(path, text_col=None):
    """Inputs to predict: text lines (``.txt`` or no column), a CSV/TSV column, or ``.npz`` x_test.

    A text file gives one input per line, blank lines included, so that predictions line up
    with the lines.

    Returns
    -------
    list of str, or object ndarray of id lists
    """
    if path != "-" and not os.path.isfile(path):
        raise ValueError(f"no such file: {path}")
    if path.lower().endswith(".npz"):
        arrays = load_npz(path)
        for key in ("x_test", "x", "x_train"):
            if key in arrays:
                return arrays[key]
        raise ValueError(f"{path} has no x_test, x or x_train array")
    if text_col is not None:
        return read_table(path, [text_col])[text_col]
    if path == "-":
        text = _stdin_text()
    else:
        with open(path, encoding="utf-8-sig") as fh:
            text = fh.read()
    lines = _lines(text)
    if not any(line.strip() for line in lines):
        raise ValueError(f"{'standard input' if path == '-' else path} holds no text")
    return lines


def _labels(values):
    """Numeric labels when every value parses as a number, else the strings."""
    try:
        numbers = np.array([float(v) for v in values])
    except ValueError:
        return np.array(values)
    if np.all(numbers == np.round(numbers)):
        return numbers.astype(np.int64)
    return numbers
