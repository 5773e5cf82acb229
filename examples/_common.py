"""Shared plumbing for the tutorial examples: arguments, data, validation split, report line."""

import argparse
import time

from fastrnn import pad_sequences
from fastrnn.datasets import load_encoded, load_imdb, load_reuters


def parse_args(doc):
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawTextHelpFormatter)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--path", help="local raw Keras file (imdb.npz / reuters.npz); default: "
                                       "download it once into the cache")
    source.add_argument("--encoded", help="a file already holding load_imdb()/load_reuters() "
                                          "output, e.g. a subset saved with numpy.savez")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only the first N training and test sequences (smoke test)")
    parser.add_argument("--max-iter", type=int, default=None, help="override the epoch count")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def load(args, dataset="imdb", num_words=None, skip_top=0):
    """``(x_train, y_train), (x_test, y_test)`` as id lists, from the chosen source."""
    if args.encoded:
        (xa, ya), (xb, yb) = load_encoded(args.encoded, num_words=num_words, skip_top=skip_top)
        largest = max(max(s) for s in xa if len(s)) + 1
        if num_words and largest < num_words:
            print(f"note: {args.encoded} only holds ids < {largest}, fewer than num_words="
                  f"{num_words}; the tutorial's vocabulary is cut accordingly")
    else:
        loader = load_imdb if dataset == "imdb" else load_reuters
        (xa, ya), (xb, yb) = loader(num_words=num_words, skip_top=skip_top, path=args.path)
    n = args.limit
    return (xa[:n], ya[:n]), (xb[:n], yb[:n])


def pad(x, maxlen):
    return pad_sequences(list(x), maxlen=maxlen)


def keras_validation_split(X, y, fraction=0.2):
    """Keras's ``validation_split``: the *last* fraction of the (unshuffled) training data."""
    cut = int(len(X) * (1 - fraction))
    return (X[:cut], y[:cut]), (X[cut:], y[cut:])


def fit_and_report(name, clf, train, validation, test, tutorial):
    """Fit, then print fastrnn's validation/test accuracy beside the tutorial's figure."""
    t0 = time.perf_counter()
    clf.fit(*train, validation_data=validation)
    seconds = time.perf_counter() - t0
    val = clf.history_["val_accuracy"]
    print(f"{name}: {clf.n_iter_} epochs in {seconds:.0f} s; fastrnn val acc {val[-1]:.3f} "
          f"(best {max(val):.3f}), test acc {clf.score(*test):.3f} | tutorial: {tutorial}")
    return clf
