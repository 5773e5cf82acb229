"""SimpleRNN on IMDB, the tutorials' two settings.

1. Embedding(10000, 32) + SimpleRNN(32), maxlen 500, RMSprop, 10 epochs, batch 128,
   validation_split 0.2: tutorial test accuracy 0.835.
2. Embedding(1000, 32) + SimpleRNN(8), num_words 1000 (skip_top 20), maxlen 100, Adam,
   10 epochs, batch 32: tutorial validation accuracy 0.816.

Run: python examples/imdb_simple_rnn.py [--path imdb.npz | --encoded imdb-5k.npz] [--limit N]
"""

from _common import fit_and_report, keras_validation_split, load, pad, parse_args

from fastrnn import RNNClassifier


def main():
    args = parse_args(__doc__)
    epochs = args.max_iter or 10
    (xa, ya), (xb, yb) = load(args, num_words=10000)
    train, val = keras_validation_split(pad(xa, 500), ya)
    clf = RNNClassifier(cell="simple", units=32, embedding_dim=32, vocab_size=10000,
                        optimizer="rmsprop", batch_size=128, max_iter=epochs,
                        random_state=args.seed)
    fit_and_report("Emb(10000,32)+SimpleRNN(32)", clf, train, val, (pad(xb, 500), yb),
                   "test acc 0.835 (25,000 reviews)")

    (xa, ya), (xb, yb) = load(args, num_words=1000, skip_top=20)
    train, val = keras_validation_split(pad(xa, 100), ya)
    clf = RNNClassifier(cell="simple", units=8, embedding_dim=32, vocab_size=1000,
                        optimizer="adam", batch_size=32, max_iter=epochs, random_state=args.seed)
    fit_and_report("Emb(1000,32)+SimpleRNN(8)", clf, train, val, (pad(xb, 100), yb),
                   "val acc 0.816 (20,000 reviews)")


if __name__ == "__main__":
    main()
