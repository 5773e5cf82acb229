"""Wall time of one recurrent layer: inference, training forward and backward.

Usage: ``python bench/layer_timing.py [--backend numba] [--threads 1] [--cells lstm gru simple]``.
Batch 256, 100 steps, embedding width 16, float32, token input; units 8, 32 and 128;
mean of 5 repetitions after one warm-up call (which also compiles the kernels).
"""

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

import fastrnn
from fastrnn.layers import Recurrent, TokenInput, pack_tokens


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default=fastrnn.BACKEND)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cells", nargs="+", default=["lstm", "gru", "simple"])
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    packed = pack_tokens(rng.integers(1, 500, size=(256, 100)))
    emb = rng.normal(size=(500, 16)).astype(np.float32)
    with fastrnn.use_backend(args.backend), threadpool_limits(1, "blas"):
        for units in (8, 32, 128):
            for cell in args.cells:
                layer = Recurrent(cell, units)
                params = layer.init_params(rng, 16)
                inp = TokenInput(packed.data, packed.start, emb)
                d_last = np.ones((256, units), np.float32)
                _, _, _, cache = layer.forward(params, inp, training=True, n_threads=args.threads)
                layer.backward(params, cache, d_last=d_last)
                t_inf = t_fwd = t_bwd = 0.0
                for _ in range(5):
                    t0 = time.perf_counter()
                    layer.forward(params, inp, n_threads=args.threads)
                    t1 = time.perf_counter()
                    _, _, _, cache = layer.forward(params, inp, training=True, n_threads=args.threads)
                    t2 = time.perf_counter()
                    layer.backward(params, cache, d_last=d_last)
                    t3 = time.perf_counter()
                    t_inf, t_fwd, t_bwd = t_inf + t1 - t0, t_fwd + t2 - t1, t_bwd + t3 - t2
                print(f"{args.backend} units={units:<4}{cell:<7} inference {t_inf / 5e-3:7.1f} ms   "
                      f"train forward {t_fwd / 5e-3:7.1f} ms   backward {t_bwd / 5e-3:7.1f} ms")


if __name__ == "__main__":
    main()
