"""Time-series datasets: the generators and the Jena climate loader (on small files made here)."""

import hashlib
import io
import urllib.request
import zipfile

import numpy as np
import pytest

from fastrnn.datasets import load_jena_climate, make_macro_index, make_seasonal_series
from fastrnn.datasets._series import JENA_CLIMATE_COLUMNS, JENA_CLIMATE_FILE


def test_seasonal_series_is_seeded_and_follows_its_formula():
    a = make_seasonal_series(500, seasonalities=(24,), trend=0.01, noise=0.0, random_state=0)
    b = make_seasonal_series(500, seasonalities=(24,), trend=0.01, noise=0.0, random_state=0)
    np.testing.assert_array_equal(a, b)
    detrended = a - 0.01 * np.arange(500)
    np.testing.assert_allclose(detrended[24:], detrended[:-24], atol=1e-9)  # period 24
    assert np.abs(detrended).max() == pytest.approx(1.0, abs=0.01)
    noisy = make_seasonal_series(2000, seasonalities=[(12, 2.0), 50], noise=0.5, random_state=1)
    assert noisy.shape == (2000,) and 0.4 < np.std(noisy - make_seasonal_series(
        2000, seasonalities=[(12, 2.0), 50], noise=0.0, random_state=1)) < 0.6
    with pytest.raises(ValueError, match="seasonalities"):
        make_seasonal_series(10, seasonalities=(1,))


def test_macro_index_shapes_and_dependence_on_past_inputs():
    X, y = make_macro_index(300, n_inputs=4, noise=0.0, random_state=0)
    assert X.shape == (300, 4) and y.shape == (300,)
    Xs, ys = make_macro_index(50, n_inputs=2, n_series=5, random_state=0)
    assert Xs.shape == (5, 50, 2) and ys.shape == (5, 50)
    # y carries memory: y[t] - memory * y[t-1] is a function of the inputs, y[t] alone is not
    from sklearn.linear_model import LinearRegression

    lagged = np.c_[X[3:], X[:-3]]
    r2_now = LinearRegression().fit(X[3:], y[3:]).score(X[3:], y[3:])
    step = y[3:] - 0.8 * y[2:-1]
    r2_step = LinearRegression().fit(lagged, step).score(lagged, step)
    assert r2_step > 0.8 > r2_now


@pytest.mark.parametrize("n_series", [0, -2, 1.5, True])
def test_macro_index_refuses_a_bad_number_of_series(n_series):
    with pytest.raises(ValueError, match="n_series must be a positive int or None"):
        make_macro_index(20, n_series=n_series, random_state=0)


def _jena_csv(n=30):
    header = ",".join(['"Date Time"'] + [f'"{c}"' for c in JENA_CLIMATE_COLUMNS])
    rows = [header]
    for i in range(n):
        minutes = 10 * (i + 1)
        stamp = f"01.01.2009 {minutes // 60:02d}:{minutes % 60:02d}:00"
        rows.append(",".join([stamp] + [f"{i + j / 10:.2f}" for j in range(14)]))
    return ("\r\n".join(rows) + "\r\n").encode()


def test_reads_the_csv_and_its_zip(tmp_path):
    csv_path = tmp_path / "jena_climate_2009_2016.csv"
    csv_path.write_bytes(_jena_csv())
    data = load_jena_climate(csv_path)
    assert data.data.shape == (30, 14) and data.feature_names == list(JENA_CLIMATE_COLUMNS)
    assert data.data[2, 1] == pytest.approx(2.1)
    assert str(data.time[0]) == "2009-01-01T00:10:00"
    assert (np.diff(data.time) == np.timedelta64(600, "s")).all()
    zip_path = tmp_path / JENA_CLIMATE_FILE
    with zipfile.ZipFile(zip_path, "w") as zf:
        zf.writestr("jena_climate_2009_2016.csv", _jena_csv())
    np.testing.assert_array_equal(load_jena_climate(zip_path).data, data.data)


def test_sha256_is_checked_for_a_local_file(tmp_path):
    path = tmp_path / "jena.csv"
    path.write_bytes(_jena_csv())
    good = hashlib.sha256(_jena_csv()).hexdigest()
    assert load_jena_climate(path, sha256=good).data.shape == (30, 14)
    with pytest.raises(OSError, match="expected sha256"):
        load_jena_climate(path, sha256="0" * 64)
    with pytest.raises(ValueError, match="sha256 must be"):
        load_jena_climate(path, sha256="abc")


def test_not_the_jena_format_is_refused(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match='"Date Time"'):
        load_jena_climate(path)


def _archive():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("jena_climate_2009_2016.csv", _jena_csv(12))
    return buf.getvalue()


class _Response(io.BytesIO):
    headers = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_download_is_verified_cached_and_never_left_corrupted(tmp_path, monkeypatch):
    archive = _archive()
    calls = []

    def fake_urlopen(url, timeout=None):
        calls.append(url)
        return _Response(archive)

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    with pytest.raises(OSError, match="is corrupted"):
        load_jena_climate(data_home=tmp_path, sha256="0" * 64)
    assert not (tmp_path / JENA_CLIMATE_FILE).exists()
    digest = hashlib.sha256(archive).hexdigest()
    assert load_jena_climate(data_home=tmp_path, sha256=digest).data.shape == (12, 14)
    # without a pinned digest: the cached file is read and must match the digest it was checked with
    assert load_jena_climate(data_home=tmp_path).data.shape == (12, 14)
    assert len(calls) == 2
    (tmp_path / JENA_CLIMATE_FILE).write_bytes(archive + b"x")
    with pytest.raises(OSError, match="was recorded"):
        load_jena_climate(data_home=tmp_path)


def test_without_a_pinned_digest_the_first_download_is_recorded(tmp_path, monkeypatch):
    archive = _archive()
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: _Response(archive))
    assert load_jena_climate(data_home=tmp_path).data.shape == (12, 14)
    recorded = (tmp_path / (JENA_CLIMATE_FILE + ".sha256")).read_text().strip()
    assert recorded == hashlib.sha256(archive).hexdigest()
    (tmp_path / JENA_CLIMATE_FILE).write_bytes(archive + b"x")
    with pytest.raises(OSError, match="was recorded"):
        load_jena_climate(data_home=tmp_path)


def test_missing_file_without_download(tmp_path):
    with pytest.raises(OSError, match="download_if_missing=False"):
        load_jena_climate(data_home=tmp_path, download_if_missing=False)
    with pytest.raises(OSError, match="no such file"):
        load_jena_climate(tmp_path / "absent.csv")


def test_jena_columns_come_in_the_documented_order_and_must_all_be_there(tmp_path):
    lines = _jena_csv(4).decode().split("\r\n")
    cells = [line.split(",") for line in lines if line]
    swapped = [[c[0], c[2], c[1]] + c[3:] for c in cells]  # "T (degC)" before "p (mbar)"
    path = tmp_path / "swapped.csv"
    path.write_text("\n".join(",".join(c) for c in swapped) + "\n")
    np.testing.assert_array_equal(load_jena_climate(path).data, load_jena_climate_text(tmp_path, lines))
    short = tmp_path / "short.csv"
    short.write_text("\n".join(",".join(c[:5]) for c in cells) + "\n")
    with pytest.raises(ValueError, match="lacks the columns"):
        load_jena_climate(short)


def load_jena_climate_text(tmp_path, lines):
    path = tmp_path / "plain.csv"
    path.write_text("\n".join(lines))
    return load_jena_climate(path).data


@pytest.mark.parametrize("stamp", ["01/02/2009 00:10:00", "01.02.2009T00:10:00",
                                   "01.02.2009 00:10:00 garbage", "2009-02-01 00:10:00"])
def test_jena_dates_in_another_format_are_refused(tmp_path, stamp):
    """Dates were read by position, so these became dates (or other dates) without a word."""
    path = tmp_path / "jena.csv"
    path.write_bytes(_jena_csv(3).replace(b"01.01.2009 00:20:00", stamp.encode()))
    with pytest.raises(ValueError, match="not dd.mm.yyyy HH:MM:SS"):
        load_jena_climate(path)
