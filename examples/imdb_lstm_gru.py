"""Embedding(500, 16) + LSTM(8) and + GRU(8) on IMDB (num_words 500, maxlen 100).

RMSprop(1e-4), batch 64, up to 100 epochs, early stopping (patience 3, best weights
restored) on a 20% hold-out, as in the tutorials, which report validation accuracy of
about 0.79 (LSTM) and 0.80 (GRU) with 20,000 training reviews.

Run: python examples/imdb_lstm_gru.py [--path imdb.npz | --encoded imdb-5k.npz]
"""

from _common import fit_and_report, load, pad, parse_args
from sklearn.model_selection import train_test_split

from fastrnn import RNNClassifier


def main():
    args = parse_args(__doc__)
    (xa, ya), (xb, yb) = load(args, num_words=500)
    X_train, X_val, y_train, y_val = train_test_split(pad(xa, 100), ya, test_size=0.2,
                                                      random_state=42)
    print(f"{len(X_train)} training / {len(X_val)} validation / {len(xb)} test reviews")
    for cell, tutorial in (("lstm", "val acc ~0.79"), ("gru", "val acc ~0.80")):
        clf = RNNClassifier(cell=cell, units=8, embedding_dim=16, vocab_size=500,
                            optimizer="rmsprop", learning_rate=1e-4, batch_size=64,
                            max_iter=args.max_iter or 100, early_stopping=True,
                            n_iter_no_change=3, random_state=args.seed)
        fit_and_report(f"Emb(500,16)+{cell.upper()}(8)", clf, (X_train, y_train),
                       (X_val, y_val), (pad(xb, 100), yb), f"{tutorial} (20,000 reviews)")


if __name__ == "__main__":
    main()
