"""Time series: generated ones (offline, seeded) and the Jena climate recordings of Keras's tutorial."""

import csv
import hashlib
import io
import numbers
import os
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch, check_random_state

from ._base import RemoteFileMetadata, fetch_file, file_digest, get_data_home
from ._files import csv_rows
from ._synthetic import _count

#: The archive Keras's weather tutorial downloads (one CSV inside, about 13.6 MB zipped).
JENA_CLIMATE_URL = ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
                    "jena_climate_2009_2016.csv.zip")
JENA_CLIMATE_FILE = "jena_climate_2009_2016.csv.zip"
_JENA_CSV = "jena_climate_2009_2016.csv"
#: The 14 measured columns of the file (after "Date Time"), in file order.
JENA_CLIMATE_COLUMNS = ("p (mbar)", "T (degC)", "Tpot (K)", "Tdew (degC)", "rh (%)",
                        "VPmax (mbar)", "VPact (mbar)", "VPdef (mbar)", "sh (g/kg)",
                        "H2OC (mmol/mol)", "rho (g/m**3)", "wv (m/s)", "max. wv (m/s)",
                        "wd (deg)")
_DIGEST_SUFFIX = ".sha256"


# ------------------------------------------------------------------ generated
def _periods(seasonalities):
    """``[(period, amplitude)]`` from periods or (period, amplitude) pairs."""
    out = []
    for i, s in enumerate(seasonalities):
        period, amplitude = (s, 1.0 / (i + 1)) if np.ndim(s) == 0 else tuple(s)
        if not period > 1:
            raise ValueError(f"seasonalities: every period must be > 1 step, got {period!r}")
        out.append((float(period), float(amplitude)))
    return out


def _check_noise(noise):
    """Refuse a noise level that is not a finite number >= 0."""
    if not (isinstance(noise, numbers.Real) and not isinstance(noise, bool)
            and np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")


def make_seasonal_series(n_steps=2000, seasonalities=(24, 168), trend=0.0, noise=0.1, *,
                         level=0.0, random_state=None):
    """One series: a linear trend plus sine seasonalities plus Gaussian noise.

    ``y[t] = level + trend * t + sum_i a_i * sin(2 pi t / p_i + phi_i) + noise * e_t``
    with a random phase ``phi_i`` per seasonality and ``e_t`` standard normal.
    Hourly data with a daily and a weekly cycle is ``seasonalities=(24, 168)``.
    A forecaster that learns the cycles beats the naive forecast; the
    seasonal-naive forecast (``y[t - p]``) is the baseline to beat.

    Parameters
    ----------
    n_steps : int, default 2000
    seasonalities : sequence of int/float, or of (period, amplitude) pairs, default (24, 168)
        A bare period ``p_i`` gets amplitude ``1 / (i + 1)`` (1, 0.5, ...).
    trend : float, default 0.0
        Slope per step.
    noise : float, default 0.1
        Standard deviation of the noise.
    level : float, default 0.0
    random_state : int, RandomState or None

    Returns
    -------
    y : ndarray of shape (n_steps,), float64
    """
    n_steps = _count(n_steps, "n_steps")
    _check_noise(noise)
    rs = check_random_state(random_state)
    t = np.arange(n_steps, dtype=np.float64)
    y = level + trend * t
    for period, amplitude in _periods(seasonalities):
        y = y + amplitude * np.sin(2 * np.pi * t / period + rs.uniform(0, 2 * np.pi))
    return y + noise * rs.standard_normal(n_steps)


def make_macro_index(n_steps=1000, n_inputs=3, noise=0.05, *, n_series=None, memory=0.8,
                     random_state=None):
    """Input series driving an output series step by step, through a lag and a memory.

    The ``n_inputs`` inputs are independent AR(1) processes
    (``x[t] = 0.9 x[t-1] + 0.3 e_t``).  The output accumulates their effect
    and is observed with noise:
    ``s[t] = memory * s[t-1] + (1 - memory) * tanh(b . x[t] + c . x[t-3])``
    (``s[-1] = 0``, ``x[t-3] = 0`` for ``t < 3``) and
    ``y[t] = s[t] + noise * e_t``, with fixed random weights ``b`` and ``c``:
    a per-step regression in which ``y[t]`` depends on the inputs up to ``t``,
    their whole past (through ``memory``) with a lag of 3 steps, so a model
    reading only ``x[t]`` cannot fit it and a recurrent network reading the
    inputs in order can (up to the noise).  Use it with
    :class:`fastrnn.RNNRegressor` on windows, or per step on the whole
    sequence (``n_series`` sequences for a many-to-many model).

    Parameters
    ----------
    n_steps : int, default 1000
    n_inputs : int, default 3
    noise : float, default 0.05
        Standard deviation of the output's noise.
    n_series : int or None, default None
        None: one input matrix and one output series; an int: that many
        independent sequences, sharing the weights.
    memory : float in [0, 1), default 0.8
        How much of the previous output carries over.
    random_state : int, RandomState or None

    Returns
    -------
    X : ndarray of shape (n_steps, n_inputs), or (n_series, n_steps, n_inputs)
    y : ndarray of shape (n_steps,), or (n_series, n_steps)
    """
    if not 0 <= memory < 1:
        raise ValueError(f"memory must be in [0, 1), got {memory}")
    n_inputs, n_steps = _count(n_inputs, "n_inputs"), _count(n_steps, "n_steps")
    if n_steps < 4:
        raise ValueError(f"make_macro_index needs n_steps >= 4, got {n_steps}")
    _check_noise(noise)
    if n_series is not None and (isinstance(n_series, bool) or not isinstance(n_series, numbers.Integral)
                                 or n_series < 1):
        raise ValueError(f"n_series must be a positive int or None, got {n_series!r}")
    rs = check_random_state(random_state)
    b = rs.normal(size=n_inputs)
    c = rs.normal(size=n_inputs)
    S = 1 if n_series is None else int(n_series)
    X = np.empty((S, n_steps, n_inputs))
    X[:, 0] = rs.normal(scale=0.7, size=(S, n_inputs))
    shocks = rs.normal(scale=0.3, size=(S, n_steps, n_inputs))
    for t in range(1, n_steps):
        X[:, t] = 0.9 * X[:, t - 1] + shocks[:, t]
    lagged = np.concatenate([np.zeros((S, 3, n_inputs)), X[:, :-3]], axis=1)
    drive = np.tanh(X @ b + lagged @ c)
    y = np.empty((S, n_steps))
    prev = np.zeros(S)
    for t in range(n_steps):
        prev = memory * prev + (1 - memory) * drive[:, t]
        y[:, t] = prev
    y += noise * rs.standard_normal((S, n_steps))
    return (X[0], y[0]) if n_series is None else (X, y)


# ------------------------------------------------------------------ Jena climate
def _read_jena_csv(text, source):
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader, [])]
    if not header or header[0] != "Date Time" or len(header) < 2:
        raise ValueError(f"{source} is not the Jena climate CSV: its header should start with "
                         f'"Date Time" followed by the measured columns, got {header[:3]}')
    times, rows = [], []
    for row in csv_rows(reader, len(header), source):
        times.append(row[0])
        rows.append(row[1:])
    if not rows:
        raise ValueError(f"{source} has a header but no data rows")
    missing = [c for c in JENA_CLIMATE_COLUMNS if c not in header[1:]]
    if missing:
        raise ValueError(f"{source} is not the Jena climate CSV: it lacks the columns {missing}")
    try:
        data = np.array(rows, dtype=np.float64)
    except ValueError as exc:
        raise ValueError(f"{source}: a measured value is not a number ({exc})") from None
    data = data[:, [header.index(c) - 1 for c in JENA_CLIMATE_COLUMNS]]  # the documented order
    # "01.01.2009 00:10:00" (day.month.year) to ISO 8601, its separators checked where the
    # slices below assume them (another format would be read as a wrong date)
    bad = next((s for s in times if len(s) != 19 or s[2] != "." or s[5] != "." or s[10] != " "
                or s[13] != ":" or s[16] != ":"), None)
    if bad is not None:
        raise ValueError(f"{source}: a Date Time value is not dd.mm.yyyy HH:MM:SS: {bad!r}")
    try:
        time = np.array([f"{s[6:10]}-{s[3:5]}-{s[0:2]}T{s[11:19]}" for s in times],
                        dtype="datetime64[s]")
    except ValueError as exc:
        raise ValueError(f"{source}: a Date Time value is not dd.mm.yyyy HH:MM:SS ({exc})") from None
    return Bunch(data=data, feature_names=list(JENA_CLIMATE_COLUMNS), time=time)


def _read_jena(path):
    path = Path(path)
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.lower().endswith(".csv")]
            if not names:
                raise ValueError(f"{path} holds no .csv file")
            name = _JENA_CSV if _JENA_CSV in names else names[0]
            text = zf.read(name).decode("utf-8-sig")
    else:
        text = path.read_text(encoding="utf-8-sig")
    return _read_jena_csv(text, str(path))


def _download_recording_digest(url, target, timeout=60):
    """Download ``url`` to ``target`` atomically and record its SHA-256 beside it."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as resp:
                    for block in iter(lambda: resp.read(1 << 16), b""):
                        out.write(block)
            except (urllib.error.URLError, OSError) as exc:
                raise OSError(f"could not download {url} ({exc}); download it yourself and pass "
                              "its path as path=") from None
        h = hashlib.sha256()
        with open(tmp, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    Path(str(target) + _DIGEST_SUFFIX).write_text(h.hexdigest() + "\n")
    return target


def load_jena_climate(path=None, *, data_home=None, sha256=None, download_if_missing=True):
    """The Jena climate recordings of Keras's weather tutorial (2009-2016, every 10 minutes).

    14 measurements (air pressure, temperature, humidity, wind, ...) of the
    Max Planck Institute for Biogeochemistry's weather station in Jena, one
    row every 10 minutes (about 420,000 rows), as prepared for François
    Chollet's *Deep Learning with Python*.

    With ``path``, the file there is read (the CSV, or the ZIP archive that
    holds it).  Without, the archive is taken from the cache directory
    (:func:`~fastrnn.datasets.get_data_home`), downloaded from
    :data:`JENA_CLIMATE_URL` first if it is not there.  Integrity: with
    ``sha256`` the file must have that SHA-256 digest (checked before
    reading, also for ``path``; a download that does not match is discarded).
    The publisher states no digest, so without ``sha256`` the digest of the
    first download (or the ``sha256`` it was checked against) is recorded
    beside the file (``<file>.sha256``) and every later load checks the
    cached file against it; a cached file placed there by hand, without a
    record, is read as it is.  Any mismatch raises ``OSError``.

    Parameters
    ----------
    path : str or path-like, optional
        A local ``jena_climate_2009_2016.csv`` or its ``.zip``.
    data_home : str or path-like, optional
        Cache directory for the download.
    sha256 : str, optional
        Expected SHA-256 hex digest of the file.
    download_if_missing : bool, default True

    Returns
    -------
    Bunch
        ``data`` ndarray of shape (n_rows, 14), float64, in
        :data:`JENA_CLIMATE_COLUMNS` order; ``feature_names`` list of the
        14 column names; ``time`` ndarray of shape (n_rows,), datetime64[s].

    Examples
    --------
    The tutorial's input: 120 hourly steps (every 6th row) of the 14
    measurements, to predict the temperature (column 1) 72 steps later::

        jena = load_jena_climate()
        hourly = jena.data[::6]
    """
    if sha256 is not None and not (isinstance(sha256, str) and len(sha256) == 64):
        raise ValueError(f"sha256 must be a 64-character hex digest, got {sha256!r}")
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise OSError(f"path: no such file {path}")
        if sha256 is not None:
            digest = file_digest(path, sha256)
            if digest != sha256.lower():
                raise OSError(f"{path} has SHA-256 {digest}, expected sha256={sha256}: the file "
                              "is not the one expected (damaged or a different version)")
        return _read_jena(path)
    home = get_data_home(data_home)
    target = home / JENA_CLIMATE_FILE
    recorded = Path(str(target) + _DIGEST_SUFFIX)
    if sha256 is not None:
        meta = RemoteFileMetadata(JENA_CLIMATE_FILE, JENA_CLIMATE_URL, sha256.lower())
        path = fetch_file(meta, data_home=home, download_if_missing=download_if_missing)
        if not recorded.exists():
            recorded.write_text(meta.checksum + "\n")
        return _read_jena(path)
    if target.exists():
        if recorded.exists():
            expected = recorded.read_text().strip()
            digest = file_digest(target, expected)
            if digest != expected:
                raise OSError(f"{target} has SHA-256 {digest}, but {expected} was recorded when "
                              f"it was downloaded: the cached file changed; delete it and retry")
        return _read_jena(target)
    if not download_if_missing:
        raise OSError(f"{JENA_CLIMATE_FILE} is not in {home} and download_if_missing=False: "
                      f"download {JENA_CLIMATE_URL} yourself and pass its path as path=")
    return _read_jena(_download_recording_digest(JENA_CLIMATE_URL, target))
