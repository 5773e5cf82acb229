"""Reuters newswire topics (46 classes) with two stacked GRU layers.

Embedding(10000, 256) + GRU(256, return_sequences) + GRU(128) + Dense(46, softmax),
num_words 10000, maxlen 300, Adam, 20 epochs, batch 32, validation_split 0.2.
Tutorial test accuracy: 0.677.  (With --encoded pointing at an IMDB file the same
network trains on that binary task instead, as a smoke test.)

Run: python examples/reuters_stacked_gru.py [--path reuters.npz | --encoded FILE] [--limit N]
"""

from _common import fit_and_report, keras_validation_split, load, pad, parse_args

from fastrnn import RNNClassifier


def main():
    args = parse_args(__doc__)
    (xa, ya), (xb, yb) = load(args, dataset="reuters", num_words=10000)
    train, val = keras_validation_split(pad(xa, 300), ya)
    clf = RNNClassifier(cell="gru", units=(256, 128), embedding_dim=256, vocab_size=10000,
                        optimizer="adam", batch_size=32, max_iter=args.max_iter or 20,
                        random_state=args.seed, verbose=2)
    fit_and_report("Emb(10000,256)+GRU(256)+GRU(128)", clf, train, val, (pad(xb, 300), yb),
                   "test acc 0.677 (8,982 newswires)")


if __name__ == "__main__":
    main()
