"""Embedding(10000, 2) + LSTM(32) on IMDB: maxlen 500, RMSprop, 10 epochs, batch 128,
validation_split 0.2.  Tutorial test accuracy: 0.879.

Run: python examples/imdb_lstm.py [--path imdb.npz | --encoded imdb-5k.npz] [--limit N]
"""

from _common import fit_and_report, keras_validation_split, load, pad, parse_args

from fastrnn import RNNClassifier


def main():
    args = parse_args(__doc__)
    (xa, ya), (xb, yb) = load(args, num_words=10000)
    train, val = keras_validation_split(pad(xa, 500), ya)
    clf = RNNClassifier(cell="lstm", units=32, embedding_dim=2, vocab_size=10000,
                        optimizer="rmsprop", batch_size=128, max_iter=args.max_iter or 10,
                        random_state=args.seed)
    fit_and_report("Emb(10000,2)+LSTM(32)", clf, train, val, (pad(xb, 500), yb),
                   "test acc 0.879 (25,000 reviews)")


if __name__ == "__main__":
    main()
