"""Peak resident memory (RSS) of one C4 training epoch slice, fastrnn against PyTorch.

    python bench/memory.py [--n-batches 4] [--threads 2]

Each framework runs in a fresh interpreter; reported are the RSS after imports and
data creation, and the peak RSS during training (``ru_maxrss``), in MB.
"""

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys
import numpy as np
framework, n_batches, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sys.path.insert(0, sys.argv[4])
from compare_torch import CONFIGS, fastrnn_runner, make_data, torch_runner
cfg = CONFIGS["C4"]
X, y = make_data(cfg[1], cfg[4], cfg[5] * n_batches, cfg[6])
if framework == "torch":
    import torch
runner = fastrnn_runner if framework == "fastrnn" else torch_runner
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
train, _ = runner(cfg, X, y, threads)
train()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"baseline_mb": before, "peak_mb": peak}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-batches", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    here = __file__.rsplit("/", 1)[0]
    for framework in ("fastrnn", "torch"):
        out = subprocess.run([sys.executable, "-c", CHILD, framework, str(args.n_batches),
                              str(args.threads), here], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{framework:<8} baseline {r['baseline_mb']:7.0f} MB   peak {r['peak_mb']:7.0f} MB   "
              f"training adds {r['peak_mb'] - r['baseline_mb']:6.0f} MB")


if __name__ == "__main__":
    main()
