"""The NumPy tutorial's setting: one-hot words, SimpleRNN(32), SGD, truncated BPTT.

IMDB with num_words 100 and skip_top 20, maxlen 100, one-hot input (never materialised
here: the tutorial's (20000, 100, 100) float64 array is 800 MB), 32 cells, SGD lr 0.01,
batch 32, 20 epochs, 20,000 / 5,000 train/validation split.
- the tutorial's NumPy RNN with truncated BPTT (10 steps): validation accuracy 0.700
- Keras SimpleRNN(32) with SGD (full BPTT): validation accuracy 0.693
fastrnn trains both: ``bptt_truncate=10`` and ``bptt_truncate=None``.

Run: python examples/imdb_onehot_tbptt.py [--path imdb.npz | --encoded imdb-5k.npz] [--limit N]
"""

import numpy as np
from _common import fit_and_report, load, pad, parse_args

from fastrnn import RNNClassifier


def main():
    args = parse_args(__doc__)
    (xa, ya), (xb, yb) = load(args, num_words=100, skip_top=20)
    X = pad(xa, 100)
    order = np.random.RandomState(42).permutation(len(X))
    cut = int(0.8 * len(X))  # the tutorial's 20,000 / 5,000 split of 25,000
    train, val = (X[order[:cut]], ya[order[:cut]]), (X[order[cut:]], ya[order[cut:]])
    for truncate, tutorial in ((10, "NumPy RNN, TBPTT 10: val acc 0.700"),
                               (None, "Keras SimpleRNN(32), SGD: val acc 0.693")):
        clf = RNNClassifier(cell="simple", units=32, input_encoding="onehot", vocab_size=100,
                            optimizer="sgd", learning_rate=0.01, batch_size=32,
                            bptt_truncate=truncate, max_iter=args.max_iter or 20,
                            random_state=args.seed)
        fit_and_report(f"one-hot SimpleRNN(32), bptt_truncate={truncate}", clf, train, val,
                       (pad(xb, 100), yb), tutorial)


if __name__ == "__main__":
    main()
