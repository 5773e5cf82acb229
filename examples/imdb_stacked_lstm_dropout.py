"""Two stacked LSTM(8) layers with dropout 0.3 on IMDB (num_words 500, maxlen 100).

Embedding(500, 16) + LSTM(8, dropout=0.3, return_sequences) + LSTM(8, dropout=0.3),
RMSprop(1e-4), batch 64, up to 100 epochs, early stopping (patience 3, best weights
restored) on a 20% hold-out, and the best model checkpointed to disk as the tutorial's
ModelCheckpoint does.  Tutorial test accuracy: 0.785 (20,000 training reviews).

Run: python examples/imdb_stacked_lstm_dropout.py [--path imdb.npz | --encoded imdb-5k.npz]
"""

import os
import tempfile

from _common import fit_and_report, load, pad, parse_args
from sklearn.model_selection import train_test_split

import fastrnn
from fastrnn import RNNClassifier


def main():
    args = parse_args(__doc__)
    (xa, ya), (xb, yb) = load(args, num_words=500)
    X_train, X_val, y_train, y_val = train_test_split(pad(xa, 100), ya, test_size=0.2,
                                                      random_state=42)
    checkpoint = os.path.join(tempfile.mkdtemp(), "best-stacked-model.fastrnn")
    clf = RNNClassifier(cell="lstm", units=(8, 8), embedding_dim=16, vocab_size=500,
                        dropout=0.3, optimizer="rmsprop", learning_rate=1e-4, batch_size=64,
                        max_iter=args.max_iter or 100, early_stopping=True, n_iter_no_change=3,
                        checkpoint_path=checkpoint, random_state=args.seed)
    fit_and_report("Emb(500,16)+LSTM(8,dropout 0.3)x2", clf, (X_train, y_train), (X_val, y_val),
                   (pad(xb, 100), yb), "test acc 0.785 (20,000 reviews)")
    best = fastrnn.load(checkpoint)
    print(f"checkpoint {checkpoint}: epoch {best.n_iter_}, test acc "
          f"{best.score(pad(xb, 100), yb):.3f}")


if __name__ == "__main__":
    main()
