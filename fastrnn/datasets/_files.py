"""Reading user files for the command line: CSV/TSV of raw text, plain text lines, Keras ``.npz``.

Text is read as UTF-8, with or without a byte-order mark (Excel's "CSV UTF-8" writes one).
"""

import codecs
import csv
import io
import os
import sys

import numpy as np

from ._npz import load_npz


def csv_rows(reader, n_fields, source, tsv=False):
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
            hint = ("; a tab-separated file holds one row per line, so a text with a tab or a "
                    "line break in it needs a CSV file" if tsv else "")
            raise ValueError(f"{source}, line {line_no}: {len(row)} fields, the header has "
                             f"{n_fields}{hint}")
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


def _tsv_field(field):
    """A TSV field as written: its quotes kept, unless the whole field is quoted CSV-style.

    Tab-separated files have no quoting rule (a text may start with a quote
    mark), but some writers (pandas among them) quote a field holding a quote
    mark, doubling its quote marks as CSV does.  Only such a field, quoted
    from end to end with every inner quote doubled, is unquoted.
    """
    if len(field) >= 2 and field[0] == field[-1] == '"':
        inner = field[1:-1]
        if '"' not in inner.replace('""', ""):
            return inner.replace('""', '"')
    return field


def _tsv_reader(fh):
    """Rows of a tab-separated file, one per line, fields split at every tab (see _tsv_field)."""
    for line in fh:
        line = line.rstrip("\r\n")
        yield [_tsv_field(f) for f in line.split("\t")] if line else []


def _csv_reader(fh, delimiter, path):
    """Rows of a CSV file; quoting it cannot parse is an error naming the line."""
    reader = csv.reader(fh, delimiter=delimiter, strict=True)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a quote opened in a field and never closed
            raise ValueError(f"{path}, line {reader.line_num}: cannot read its quoting ({exc}); "
                             "a field holding the delimiter, a quote mark or a line break must "
                             'be quoted and its quote marks doubled') from None
        yield row


def _open_table(path):
    """A CSV/TSV file for reading, or standard input for ``"-"`` (a byte-order mark skipped)."""
    return io.StringIO(_stdin_text() if path == "-" else read_text(path), newline="")


def _stdin_text():
    """Standard input as UTF-8 text (as files are read, whatever the locale), with a byte-order
    mark skipped and Windows line ends as ``\n``."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        return sys.stdin.read().removeprefix("\ufeff").replace("\r\n", "\n")
    return _decoded(stream.read(), "utf-8-sig", "standard input")


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
        delimiter = _delimiter(path, sample)
        reader = _tsv_reader(fh) if delimiter == "\t" else _csv_reader(fh, delimiter, path)
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
        for row in csv_rows(reader, len(header), path, tsv=delimiter == "\t"):
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
        The ``.npz``'s labels, or a CSV/TSV column's strings (see :func:`class_labels`).
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
        if len(X) != len(y):
            raise ValueError(f"{path}: {keys[0]} has {len(X)} rows but {keys[1]} has {len(y)}: "
                             "every sequence needs its label")
        return X, y
    table = read_table(path, [text_col, label_col])
    labels = [v.strip() for v in table[label_col]]  # as the header's names are
    empty = [i for i, v in enumerate(labels) if not v]
    if empty:
        raise ValueError(f"{path}: {len(empty)} row(s) have no {label_col!r} (the first is data "
                         f"row {empty[0] + 1}); give every row a label, or leave such rows out")
    return table[text_col], np.array(labels, dtype=str)


def read_text(path, encoding="utf-8-sig"):
    r"""The whole text of a file, ``\r\n`` read as ``\n``; a decoding error names the file and line.

    Raises
    ------
    ValueError
        Bytes that are not ``encoding`` text (the line holding the first).
    """
    with open(os.fspath(path), "rb") as fh:
        return _decoded(fh.read(), encoding, os.fspath(path),
                        "; give the file's encoding, or convert it to UTF-8")


def _decoded(raw, encoding, where, advice=""):
    """:func:`read_text`'s text of the bytes ``raw`` read from ``where`` (named in the error)."""
    codec = codecs.lookup(encoding).name
    if codec == "utf-8-sig":  # the mark off first, so that the error's offset is the input's
        raw, codec = raw.removeprefix(codecs.BOM_UTF8), "utf-8"
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        name = "UTF-8" if codec == "utf-8" else encoding
        raise ValueError(f"{where}, line {line}: not {name} text ({exc.reason}){advice}") from None
    return text.replace("\r\n", "\n")


def _lines(text):
    r"""The lines of a text file: split at line ends only, blank lines kept.

    A final line end ends the last line rather than starting an empty one; ``\r\n`` arrives as
    ``\n`` (:func:`read_text`).  Unlike ``str.splitlines``, a lone ``\r`` (unless the text has no
    ``\n`` at all), form feeds and Unicode line separators inside a line do not split it, so rows
    line up with what ``wc -l`` counts.
    """
    # a file of lone \r line ends only (classic Mac OS) is split at them
    lines = text.split("\n" if "\n" in text or "\r" not in text else "\r")
    if lines[-1] == "":
        lines.pop()
    return lines


def read_inputs(path, text_col=None):
    """Inputs to predict: text lines, a CSV/TSV column, or ``.npz`` x_test.

    A ``.csv``/``.tsv`` file is read as a table (``text_col`` "text" unless
    given); any other file, or standard input without ``text_col``, as lines.

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
    if text_col is None and path.lower().endswith((".csv", ".tsv", ".tab")):
        # a table's lines are not texts: its header and other columns would be read as text
        text_col = "text"
    if text_col is not None:
        return read_table(path, [text_col])[text_col]
    lines = _lines(_stdin_text() if path == "-" else read_text(path))
    if not any(line.strip() for line in lines):
        raise ValueError(f"{'standard input' if path == '-' else path} holds no text")
    return lines


def _is_integer_text(value):
    """Whether ``value`` is an integer as Python writes one (no leading zero, sign or spaces)."""
    return value == "0" or (value[:1] in "123456789" and value.isdigit() and value.isascii()) or (
        value[:1] == "-" and _is_integer_text(value[1:]) and value != "-0")


def class_labels(values):
    """Class labels from a file's column: integers when every value is one as Python writes it,
    else the strings as written ("007" and "7" stay two classes, "1.0" stays "1.0").

    Parameters
    ----------
    values : ndarray of str

    Returns
    -------
    ndarray of int64 or str
    """
    if values.dtype.kind != "U" or not all(_is_integer_text(v) and len(v) < 19
                                           for v in values.tolist()):
        return values  # (19 digits or more may not fit an int64: kept as written)
    return values.astype(np.int64)


def labels_like(values, classes):
    """A file's label strings in the type of a fitted model's ``classes_``.

    A string that is no label of that type stays a string (and shows as a label
    the model never saw).

    Parameters
    ----------
    values : ndarray of str
    classes : ndarray

    Returns
    -------
    ndarray
    """
    if values.dtype.kind != "U" or classes.dtype.kind in "UO":
        return values

    def parse(v):
        if classes.dtype.kind in "iu":
            return int(v) if _is_integer_text(v) and len(v) < 19 else v
        if classes.dtype.kind == "b":
            return {"True": True, "False": False}.get(v, v)
        return float(v) if _parses_as_float(v) else v

    parsed = [parse(v) for v in values.tolist()]
    if any(isinstance(v, str) for v in parsed):
        return np.array(parsed, dtype=object)
    return np.array(parsed, dtype=classes.dtype)


def target_values(values, source):
    """A file's label strings as regression targets (floats), with an error naming the file."""
    if values.dtype.kind != "U":
        return values
    try:
        return values.astype(np.float64)
    except ValueError:
        bad = next(v for v in values.tolist() if not _parses_as_float(v))
        raise ValueError(f"{source}: the label column holds {bad!r}, not a number (the model is a "
                         "regressor)") from None


def _parses_as_float(value):
    try:
        float(value)
    except ValueError:
        return False
    return True
