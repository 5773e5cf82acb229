"""Built-in generated tasks and the restricted .npz reader."""

import os
from pathlib import Path

import numpy as np
import pytest

from fastrnn.datasets import make_long_range_task
from fastrnn.datasets._npz import UnsafeFileError, load_npz

SHARED_IMDB = Path(__file__).resolve().parents[2] / "shared" / "data" / "imdb-5k.npz"


def test_long_range_task_places_the_label_token(rng):
    X, y = make_long_range_task(n_samples=50, n_timesteps=12, distance=7, random_state=0)
    assert X.shape == (50, 12) and X.dtype == np.int32
    np.testing.assert_array_equal(X[:, 12 - 1 - 7], y + 1)
    assert (np.delete(X, 12 - 1 - 7, axis=1) >= 3).all()
    X2, y2 = make_long_range_task(n_samples=50, n_timesteps=12, distance=7, random_state=0)
    np.testing.assert_array_equal(X, X2)
    with pytest.raises(ValueError, match="distance"):
        make_long_range_task(n_timesteps=5, distance=5)


def test_npz_round_trip_of_id_lists(tmp_path):
    x = np.empty(3, dtype=object)
    x[:] = [[1, 5, 7], [], [1, 2]]
    path = tmp_path / "data.npz"
    np.savez(path, x_train=x, y_train=np.array([0, 1, 1]))
    out = load_npz(path)
    assert [list(s) for s in out["x_train"]] == [[1, 5, 7], [], [1, 2]]
    np.testing.assert_array_equal(out["y_train"], [0, 1, 1])


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned-by-npz",))


def test_npz_with_code_in_its_pickle_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    x = np.empty(1, dtype=object)
    x[0] = _Evil()
    np.savez(tmp_path / "evil.npz", x_train=x)
    with pytest.raises(UnsafeFileError, match="posix.system|os.system|refusing"):
        load_npz(tmp_path / "evil.npz")
    assert not (tmp_path / "pwned-by-npz").exists()


def test_npz_with_non_integer_objects_is_refused(tmp_path):
    x = np.empty(2, dtype=object)
    x[:] = [[1, 2], ["a"]]
    np.savez(tmp_path / "odd.npz", x_train=x)
    with pytest.raises(UnsafeFileError, match=r"x_train\[1\]"):
        load_npz(tmp_path / "odd.npz")


def test_truncated_npz_is_a_clear_error(tmp_path):
    np.savez(tmp_path / "ok.npz", y=np.arange(1000))
    blob = (tmp_path / "ok.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ValueError, match="not a readable .npz"):
        load_npz(tmp_path / "cut.npz")


@pytest.mark.skipif(not SHARED_IMDB.exists(), reason="../shared/data/imdb-5k.npz not present")
def test_shared_imdb_subset_reads_with_the_restricted_loader():
    data = load_npz(SHARED_IMDB)
    assert len(data["x_train"]) == 5000 and len(data["x_test"]) == 1000
    assert all(seq[0] == 1 for seq in data["x_train"][:100])
    assert max(max(seq) for seq in data["x_train"]) < 500
    assert set(np.unique(data["y_train"])) == {0, 1}
