"""First-call cost of the Numba engine: cold (empty cache) and from Numba's on-disk cache.

Run: ``python bench/compile_time.py``.  Each measurement is a fresh Python
process that imports fastrnn and calls every kernel (forward and backward of
every cell with the default activations, the gradient scatter and the Adam and
RMSprop steps, float32 and float64, serial and parallel) once on tiny inputs
(other activations compile their own kernels on first use, and so does the
LSTM backward for each number of units below 16, and the LSTM forward has one
variant below 16 units and one from 16 up: the run below compiles both for 2
units, a model of 16 or more units compiles the general ones); the cold run points
``NUMBA_CACHE_DIR`` at an empty directory.  The import of NumPy and scikit-learn
(which the estimators need and fastrnn does not control) is timed on its own.
"""

import json
import os
import subprocess
import sys
import tempfile

WARM_UP = r"""
import time
t0 = time.perf_counter()
import numpy as np
import sklearn.base, sklearn.model_selection, sklearn.utils.validation
t_sklearn = time.perf_counter() - t0
import fastrnn
from fastrnn.layers import Recurrent, TokenInput, pack_tokens
from fastrnn.optimizers import make_optimizer
t_import = time.perf_counter() - t0
rng = np.random.default_rng(0)
ids = pack_tokens(rng.integers(1, 5, size=(4, 3)))
for dtype in (np.float32, np.float64):
    for n_threads in (1, 2):  # one compiled variant serves both
        for cell, ra in (("simple", True), ("lstm", True), ("gru", True), ("gru", False)):
            layer = Recurrent(cell, 2, reset_after=ra)
            p = layer.init_params(rng, 2, dtype)
            inp = TokenInput(ids.data, ids.start, rng.normal(size=(5, 2)).astype(dtype))
            _, _, _, cache = layer.forward(p, inp, training=True, n_threads=n_threads)
            layer.backward(p, cache, d_last=np.ones((4, 2), dtype))
    for name in ("adam", "rmsprop"):
        make_optimizer(name, 1e-3).update([np.ones(3, dtype)], [np.ones(3, dtype)])
print(json.dumps({"sklearn": t_sklearn, "import": t_import, "total": time.perf_counter() - t0}))
"""


def measure(cache_dir):
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir, "FASTRNN_BACKEND": "numba"}
    out = subprocess.run([sys.executable, "-c", "import json\n" + WARM_UP], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as cache_dir:
        cold = measure(cache_dir)
        warm = measure(cache_dir)
    for label, r in (("cold (empty cache)", cold), ("from cache", warm)):
        print(f"{label + ':':<20}{r['total']:.1f} s (import {r['import']:.1f} s, of which "
              f"NumPy and scikit-learn {r['sklearn']:.1f} s; kernels {r['total'] - r['import']:.1f} s)")
