"""The text-classification recipe on an IMDB subset, against TF-IDF + logistic regression.

Reads a file in :func:`fastrnn.datasets.load_imdb` format (``x_train``, ``y_train``,
``x_test``, ``y_test``: id sequences, as Keras's ``imdb.load_data`` returns them), given as
``--path`` or by ``FASTRNN_IMDB_NPZ``.  In one run it measures

1. the baseline: ``TfidfVectorizer(ngram_range=(1, 2))`` over the ids as words (every id,
   one-character ones included) + ``LogisticRegression``, fitted on the training set;
2. the recipe's model selection: a small ``GridSearchCV`` over fastrnn's own parameters on
   the training set only (one 80/20 split), timed;
3. the chosen parameters refitted on the whole training set with ``--seeds`` random states,
   each scored once on the test set; the mean and the spread;
4. each refitted model blended with the baseline: the mean of the two models' class
   probabilities (equal weights, fixed in advance, not tuned), scored on the test set.

Usage::

    python bench/text_recipe.py --path imdb.npz
    python bench/text_recipe.py --path imdb.npz --no-search   # the recipe's defaults only

The search's time is a figure too: as the other benchmarks, the script runs
without ``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE`` when the environment sets
them (``--no-reexec`` keeps them) and prints the machine, BLAS kernel and
versions first.
"""

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, ShuffleSplit
from sklearn.pipeline import make_pipeline

from compare_torch import environment_report, format_report, reexec_without_forced_blas
from fastrnn import RNNClassifier, pad_sequences

#: The recipe: a bidirectional GRU read by attention pooling, clipped gradients, embedding and
#: spatial dropout, early stopping on validation accuracy with a patience of 5 epochs.
RECIPE = dict(cell="gru", units=32, embedding_dim=32, bidirectional=True, head="attention",
              embedding_dropout=0.1, spatial_dropout=0.2, clipnorm=1.0, learning_rate=1e-3,
              batch_size=32, max_iter=15, early_stopping=True, monitor="val_score",
              n_iter_no_change=5)
#: What the search varies (everything else stays as in RECIPE).
GRID = {"embedding_dropout": [0.0, 0.1], "spatial_dropout": [0.0, 0.2]}


def load(path):
    with np.load(path, allow_pickle=True) as data:
        return (list(data["x_train"]), np.asarray(data["y_train"]), list(data["x_test"]),
                np.asarray(data["y_test"]))


def tfidf_baseline(x_train, y_train, x_test, y_test):
    """Test accuracy of TF-IDF(1, 2) + logistic regression with every id a word, and its
    test-set probabilities (n_test, n_classes)."""
    def words(X):
        return [" ".join(map(str, row)) for row in X]

    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), token_pattern=r"\S+"),
                          LogisticRegression(max_iter=1000))
    model.fit(words(x_train), y_train)
    return model.score(words(x_test), y_test), model.predict_proba(words(x_test))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--path", default=os.environ.get("FASTRNN_IMDB_NPZ"))
    parser.add_argument("--maxlen", type=int, default=500,
                        help="keep each review's last MAXLEN ids (Keras's pad_sequences)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--no-search", action="store_true", help="skip the grid search")
    parser.add_argument("--n-threads", type=int, default=None)
    parser.add_argument("--json", help="write the results to this file")
    parser.add_argument("--tiny", action="store_true",
                        help="300 training and 100 test reviews, short models (smoke test)")
    parser.add_argument("--no-reexec", action="store_true",
                        help="keep OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE if the environment sets them")
    args = parser.parse_args(argv)
    reexec_without_forced_blas(sys.argv[1:] if argv is None else argv)
    print("\n".join(format_report(environment_report())), flush=True)
    if not args.path or not os.path.isfile(args.path):
        sys.exit("give the IMDB subset with --path or FASTRNN_IMDB_NPZ")
    x_train, y_train, x_test, y_test = load(args.path)
    recipe = dict(RECIPE)
    if args.tiny:  # figures mean nothing: checks that every stage runs
        x_train, y_train, x_test, y_test = x_train[:300], y_train[:300], x_test[:100], y_test[:100]
        args.maxlen, args.seeds = 40, args.seeds[:1]
        recipe.update(units=4, embedding_dim=4, max_iter=1)
    results = {"maxlen": args.maxlen, "recipe": recipe}
    t0 = time.perf_counter()
    results["tfidf"], tfidf_proba = tfidf_baseline(x_train, y_train, x_test, y_test)
    print(f"TF-IDF(1,2) + LogisticRegression: test accuracy {results['tfidf']:.4f} "
          f"({time.perf_counter() - t0:.0f} s)", flush=True)
    Xtr = pad_sequences(x_train, maxlen=args.maxlen)
    Xte = pad_sequences(x_test, maxlen=args.maxlen)
    params = dict(recipe, n_threads=args.n_threads)
    warnings.simplefilter("ignore")
    if not args.no_search:
        t0 = time.perf_counter()
        search = GridSearchCV(RNNClassifier(**params, random_state=0), GRID,
                              cv=ShuffleSplit(n_splits=1, test_size=0.2, random_state=0),
                              refit=False).fit(Xtr, y_train)
        elapsed = time.perf_counter() - t0
        for p, score in zip(search.cv_results_["params"], search.cv_results_["mean_test_score"]):
            print(f"  {p}: held-out accuracy {score:.4f}")
        print(f"grid search: {len(search.cv_results_['params'])} candidates in {elapsed:.0f} s; "
              f"chosen {search.best_params_}", flush=True)
        params.update(search.best_params_)
        results.update(search_seconds=elapsed, chosen=search.best_params_)
    accs, blends = [], []
    for seed in args.seeds:
        t0 = time.perf_counter()
        model = RNNClassifier(**params, random_state=seed).fit(Xtr, y_train)
        accs.append(model.score(Xte, y_test))
        blend = (model.predict_proba(Xte) + tfidf_proba) / 2
        blends.append(float(np.mean(model.classes_[blend.argmax(axis=1)] == y_test)))
        print(f"seed {seed}: {model.n_iter_} epochs, test accuracy {accs[-1]:.4f}, blended with "
              f"TF-IDF {blends[-1]:.4f} ({time.perf_counter() - t0:.0f} s)", flush=True)
    results.update(test_accuracy=accs, mean=float(np.mean(accs)), blend_accuracy=blends,
                   blend_mean=float(np.mean(blends)))
    print(f"recipe: mean test accuracy {np.mean(accs):.4f} (min {min(accs):.4f}, max "
          f"{max(accs):.4f}) over {len(accs)} seeds; TF-IDF {results['tfidf']:.4f}; "
          f"difference {np.mean(accs) - results['tfidf']:+.4f}; blended with TF-IDF: mean "
          f"{np.mean(blends):.4f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
