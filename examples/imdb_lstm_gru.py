"""Emb(500, 16) + LSTM(8) / GRU(8) on IMDB reviews (num_words=500, maxlen=100), as in the tutorials.

The tutorials report validation accuracy of about 0.79 (LSTM) and 0.80 (GRU)
with RMSprop(1e-4), batch 64 and early stopping, on 20,000 training reviews.

Usage: ``python examples/imdb_lstm_gru.py --path ../shared/data/imdb-5k.npz``, where the
file holds ``load_imdb(num_words=500)`` output (keys x_train, y_train, x_test, y_test).
"""

import argparse
import time

from fastrnn import RNNClassifier, pad_sequences
from fastrnn.datasets._npz import load_npz


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--path", required=True)
    parser.add_argument("--max-iter", type=int, default=100)
    parser.add_argument("--limit", type=int, default=None, help="use only the first N reviews")
    args = parser.parse_args()
    data = load_npz(args.path)
    n = args.limit
    X_train = pad_sequences(data["x_train"][:n], maxlen=100)
    X_test = pad_sequences(data["x_test"][:n], maxlen=100)
    y_train, y_test = data["y_train"][:n], data["y_test"][:n]
    print(f"{len(X_train)} training / {len(X_test)} test reviews, maxlen 100, num_words 500")
    for cell, tutorial in (("lstm", 0.79), ("gru", 0.80)):
        clf = RNNClassifier(cell=cell, units=8, embedding_dim=16, vocab_size=500,
                            optimizer="rmsprop", learning_rate=1e-4, batch_size=64,
                            max_iter=args.max_iter, early_stopping=True, validation_fraction=0.2,
                            n_iter_no_change=3, random_state=0)
        t0 = time.perf_counter()
        clf.fit(X_train, y_train)
        seconds = time.perf_counter() - t0
        print(f"{cell.upper()}(8): epochs {clf.n_iter_}, best val acc "
              f"{max(clf.history_['val_accuracy']):.3f}, test acc {clf.score(X_test, y_test):.3f} "
              f"(tutorial val acc ~{tutorial}, 20k reviews), fit {seconds:.0f} s")


if __name__ == "__main__":
    main()
