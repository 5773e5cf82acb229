"""Resident memory (RSS) of a C4 training run, fastrnn against PyTorch.

    python bench/memory.py [--n-batches 4] [--threads 2] [--json PATH] [--no-reexec]

Each framework runs in a fresh interpreter, which reads its RSS at three
points: before importing the framework, after importing it (and making the
data), and at its peak (``ru_maxrss``) after building the model and training
``--n-batches`` batches (fastrnn's first fit, which loads or compiles its
kernels, is part of the run, as PyTorch's first step is of its own).  Reported,
in MB:

- ``import``: what importing the framework costs (Numba and the compiled
  kernels; PyTorch and its BLAS);
- ``training adds``: the peak over the RSS after import, the memory the
  training run itself takes;
- ``peak``: the process's peak.

The header (machine, BLAS kernel, versions) is ``compare_torch.py``'s; if
``OPENBLAS_CORETYPE`` or ``OPENBLAS_L2_SIZE`` is set, the script runs itself
again without them, and the children inherit that environment.

For fastrnn the script also states what one batch stores for the backward
pass (each step's states and gates, and the gradient on the input
projections), computed from the configuration, so that the measured figure
can be read against it.
"""

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys
import numpy as np

def rss_mb():
    with open("/proc/self/status") as f:
        return int(f.read().split("VmRSS:")[1].split()[0]) / 1024

framework, n_batches, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sys.path.insert(0, sys.argv[4])
from compare_torch import CONFIGS, fastrnn_runner, make_data, torch_runner
before_import = rss_mb()
if framework == "torch":
    import torch
else:
    # the estimators import scikit-learn on first use: import one, so that it counts as import
    from fastrnn import RNNClassifier  # noqa: F401
cfg = CONFIGS["C4"]
X, y = make_data(cfg[1], cfg[4], cfg[5] * n_batches, cfg[6])
baseline = rss_mb()
runner = fastrnn_runner if framework == "fastrnn" else torch_runner
train, _ = runner(cfg, X, y, threads)
train()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"before_import_mb": before_import, "baseline_mb": baseline, "peak_mb": peak}))
"""


def stored_per_batch_mb(cfg, itemsize=4):
    """What one batch of ``cfg`` keeps for the backward pass in fastrnn, in MB.

    Per layer: the hidden states, the cell states (LSTM) and the activated
    gates of every step, and the gradient on the input projections.
    """
    cell, _, _, units, T, B, _ = cfg
    gates = {"simple": 1, "lstm": 4, "gru": 3}[cell]
    total = 0
    for H in units:
        per_step = H * (2 if cell == "lstm" else 1) + 2 * gates * H  # states, gates, their gradient
        total += T * B * per_step
    return total * itemsize / 2 ** 20


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-batches", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--no-reexec", action="store_true",
                        help="keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE if the environment sets them")
    args = parser.parse_args()
    here = __file__.rsplit("/", 1)[0]
    sys.path.insert(0, here)
    from compare_torch import CONFIGS, environment_report, format_report, reexec_without_forced_blas

    reexec_without_forced_blas(sys.argv[1:])
    for line in format_report(environment_report()):
        print(line)

    results = {}
    for framework in ("fastrnn", "torch"):
        out = subprocess.run([sys.executable, "-c", CHILD, framework, str(args.n_batches),
                              str(args.threads), here], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        r["import_mb"] = r["baseline_mb"] - r["before_import_mb"]
        r["training_adds_mb"] = r["peak_mb"] - r["baseline_mb"]
        results[framework] = r
        print(f"{framework:<8} import {r['import_mb']:6.0f} MB   training adds "
              f"{r['training_adds_mb']:6.0f} MB   peak {r['peak_mb']:6.0f} MB")
    print(f"fastrnn stores {stored_per_batch_mb(CONFIGS['C4']):.0f} MB per C4 batch for the "
          "backward pass (states, gates and their gradient, float32)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
