"""First-call cost of the Numba engine: cold (empty cache), in one and in two processes, and from cache.

Run: ``python bench/compile_time.py [--repeat N]``.  Every measurement is the
wall time of a fresh Python process, interpreter start and imports included.
"The whole engine" is what ``python -m fastrnn precompile --units 2 32``
compiles: the forward and backward kernel of every cell with the default
activations (the GRU's in both ``reset_after`` forms), the gradient scatter and
the Adam and RMSprop steps, for float32 and float64, and for the LSTM both
families of kernels: the general pair that serves 16 units and more (32) and
the pair of one width below 16 (2; each such width compiles its own backward).
Other activations compile their own kernels on first use.

- cold, one process: ``--jobs 1``, every kernel compiled in turn with
  ``NUMBA_CACHE_DIR`` pointing at an empty directory (what a process that
  used every kernel would pay on first use);
- cold, two processes: ``--jobs 2``, float32 in one process and float64 in
  the other, into another empty directory;
- from cache: a process that imports fastrnn and calls every kernel with the
  cache filled (the import of NumPy and scikit-learn, which the estimators need
  and fastrnn does not control, is timed on its own).

With ``--repeat N`` the two cold measurements alternate N times and the
medians are printed too.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

UNITS = ("2", "32")

FROM_CACHE = r"""
import json, time
t0 = time.perf_counter()
import numpy as np
import sklearn.base, sklearn.model_selection, sklearn.utils.validation
t_sklearn = time.perf_counter() - t0
import fastrnn
t_import = time.perf_counter() - t0
fastrnn.precompile(units=(%s), n_jobs=1)
print(json.dumps({"sklearn": t_sklearn, "import": t_import, "total": time.perf_counter() - t0}))
""" % ", ".join(UNITS)


def _env(cache_dir):
    return {**os.environ, "NUMBA_CACHE_DIR": cache_dir, "FASTRNN_BACKEND": "numba"}


def cold(cache_dir, jobs):
    """Seconds for ``fastrnn precompile --jobs <jobs>`` into the empty ``cache_dir``."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "fastrnn", "precompile", "-q", "--jobs", str(jobs),
                    "--units", *UNITS], env=_env(cache_dir), check=True)
    return time.perf_counter() - t0


def from_cache(cache_dir):
    out = subprocess.run([sys.executable, "-c", FROM_CACHE], env=_env(cache_dir),
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    runs = {1: [], 2: []}
    for i in range(args.repeat):
        for jobs in (1, 2):
            with tempfile.TemporaryDirectory() as cache_dir:
                runs[jobs].append(cold(cache_dir, jobs))
                if i == 0 and jobs == 1:
                    warm = from_cache(cache_dir)
        print(f"run {i + 1}: cold, one process {runs[1][-1]:.1f} s; cold, two processes "
              f"{runs[2][-1]:.1f} s", flush=True)
    if args.repeat > 1:
        print(f"medians of {args.repeat}: cold, one process {statistics.median(runs[1]):.1f} s; "
              f"cold, two processes {statistics.median(runs[2]):.1f} s")
    print(f"from cache: {warm['total']:.1f} s (import {warm['import']:.1f} s, of which NumPy and "
          f"scikit-learn {warm['sklearn']:.1f} s; kernels {warm['total'] - warm['import']:.1f} s)")
