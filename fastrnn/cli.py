"""Command line: ``python -m fastrnn`` / ``fastrnn``.

Sub-commands: ``demo``, ``train``, ``predict``, ``evaluate``, ``summary``, ``train-lm``,
``generate``, ``train-seq2seq``, ``translate``, ``precompile``, ``export``.
Errors are one line on stderr and exit code 2 (a damaged model file included); warnings are one
line on stderr each.
"""

import argparse
import csv
import os
import sys
import time
import warnings

import numpy as np

from ._precompile import CELLS, DTYPES, precompile
from .callbacks import Callback


class CLIError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


def _curves(runs, path, out, title=None):
    from .plotting import plot_history

    try:
        plot_history(runs, path=path, title=title)
    except ImportError:
        out("(curves not written: matplotlib is not installed; pip install \"fastrnn[plot]\")")
        return
    out(f"learning curves written to {path}")


# ---------------------------------------------------------------------- demo
def _demo(args, out):
    from ._backend import current_backend
    from .estimators import RNNClassifier
    from .datasets import make_long_range_task

    if args.curves:  # before six fits, not after them
        _check_output_path(args.curves, "--curves")
    out(f"fastrnn demo (backend: {current_backend()}).  Each sequence holds a marker; the label is "
        "the word after it, which sits up to D steps before the end.")
    out(f"Trained on {args.n_samples} sequences with distances 1..D for {args.epochs} epochs; "
        "accuracy on new sequences at distance exactly D (0.5 = chance).")
    header = f"{'cell':<8}" + "".join(f"{'acc D=' + str(d):>12}{'seconds':>9}" for d in args.distance)
    out(header)
    data = {}
    for d in args.distance:
        train = make_long_range_task(args.n_samples, distance=(1, d), random_state=args.seed)
        test = make_long_range_task(1000, n_timesteps=d + 2, distance=d,
                                    random_state=args.seed + 1)
        data[d] = train, test
    runs = {}
    for cell in ("simple", "lstm", "gru"):
        row = f"{cell:<8}"
        for d in args.distance:
            (X, y), (X_test, y_test) = data[d]
            clf = RNNClassifier(cell=cell, units=16, embedding_dim=8, max_iter=args.epochs,
                                learning_rate=0.01, batch_size=64, random_state=args.seed)
            t0 = time.perf_counter()
            clf.fit(X, y, validation_data=(X_test, y_test))
            row += f"{clf.score(X_test, y_test):>12.3f}{time.perf_counter() - t0:>9.1f}"
            runs[f"{cell} D={d}"] = clf
        out(row)
    out("The first fit of each cell includes Numba's one-time compilation.  SimpleRNN's memory "
        "fades over long distances; LSTM and GRU gates keep it.")
    if args.curves:
        longest = max(args.distance)
        _curves({k: v for k, v in runs.items() if k.endswith(f"D={longest}")}, args.curves, out,
                title=f"long-range task, distances 1..{longest} (validation: distance {longest})")
    return 0


# --------------------------------------------------------------------- train
def _estimator_kwargs(args):
    units = tuple(args.units) if len(args.units) > 1 else args.units[0]
    return dict(cell=args.cell, units=units, bidirectional=args.bidirectional,
                embedding_dim=args.embedding_dim, max_iter=args.epochs,
                batch_size=args.batch_size, learning_rate=args.learning_rate,
                optimizer=args.optimizer, dropout=args.dropout,
                recurrent_dropout=args.recurrent_dropout, bptt_truncate=args.bptt_truncate,
                early_stopping=args.patience is not None,
                n_iter_no_change=3 if args.patience is None else args.patience,
                random_state=args.seed,
                verbose=0 if args.quiet else 2)


def _kept_loss(model):
    """The training loss of the epoch whose weights the model holds (the best one, when a stop
    restored it; else the last), NaN when no epoch finished."""
    from .training import restores_best

    losses = model.history_.get("loss") or [float("nan")]
    restored = restores_best(model.stopped_reason_, model.restore_best_weights,
                             model.early_stopping)
    return losses[model.best_epoch_] if restored and model.best_epoch_ is not None else losses[-1]


def _report_and_save(model, path, out, describe):
    """After a command's fit: print ``describe(kept model's loss)``, save the model to ``path``;
    the exit code (130 after Ctrl-C, see :func:`_interrupted`)."""
    from .persistence import save

    if model.stopped_reason_ == "interrupted" and not model.n_iter_:
        return _interrupted(model, path)
    out(describe(_kept_loss(model)))
    save(model, path)
    out(f"model saved to {path}")
    return _interrupted(model, path) or 0


def _check_output_path(path, option, inputs=()):
    """Refuse, before any training, an output path that saving would fail on, or that is one of
    the command's ``inputs`` (writing it would destroy the data or the model read)."""
    if not path:
        raise CLIError(f"{option} is empty; give a file name")
    for given in inputs:
        if given != "-" and os.path.exists(path) and os.path.exists(given) \
                and os.path.samefile(path, given):
            raise CLIError(f"{option} {path} is the input file {given}: writing it would "
                           "destroy it; give another file name")
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise CLIError(f"{option} {path} is a directory; give a file name")
    if not os.path.isdir(directory):
        raise CLIError(f"{option} {path}: the directory {directory} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise CLIError(f"{option} {path}: the directory {directory} is not writable")


def _pad_ids(X, maxlen):
    from .text import pad_sequences

    return pad_sequences(list(X), maxlen=maxlen)


class _PipelineCheckpoint(Callback):
    """``ModelCheckpoint`` for the classifier of a text pipeline: saves the sequencer with it."""

    def __init__(self, path, sequencer):
        self.path, self.sequencer = path, sequencer

    def on_epoch_end(self, model, epoch, is_best=False, **kw):
        from sklearn.pipeline import Pipeline

        from .persistence import save

        if is_best:
            snapshot = model._snapshot(epoch + 1)
            snapshot.callbacks = None  # this checkpoint itself: not saved, nothing to warn about
            save(Pipeline([("textsequencer", self.sequencer), ("rnnclassifier", snapshot)]),
                 self.path)


def _train(args, out):
    from sklearn.pipeline import Pipeline

    from .datasets._files import class_labels, read_labeled
    from .estimators import RNNClassifier
    from .estimators._base import split_keeping_classes
    from .persistence import save
    from .text import TextSequencer

    if args.patience is not None and args.patience < 1:
        raise CLIError(f"--patience must be at least 1 epoch, got {args.patience}")
    _check_output_path(args.output, "-o/--output", [args.data])
    if args.checkpoint is not None:
        _check_output_path(args.checkpoint, "--checkpoint", [args.data])
    if not 0 < args.validation_fraction < 1:
        raise CLIError(f"--validation-fraction must be in (0, 1): train reports the accuracy on "
                       f"the rows it holds out; got {args.validation_fraction}")
    if args.vocab_size is not None and args.vocab_size < 2:
        raise CLIError(f"--vocab-size must be at least 2 (padding and one token id), got "
                       f"{args.vocab_size}")
    if args.data.lower().endswith(".npz") and (args.char_level or args.max_features is not None):
        raise CLIError("--char-level and --max-features tokenise text; an .npz holds token ids "
                       "already (--vocab-size limits them)")
    X, y = read_labeled(args.data, args.text_col, args.label_col)
    y = class_labels(y)
    if len(np.unique(y)) < 2:
        raise CLIError(f"{args.data}: the label column holds a single class")
    try:
        tr, va = split_keeping_classes(len(y), args.validation_fraction, args.seed, y)
    except ValueError:
        raise CLIError(f"{args.data}: too few rows ({len(y)}) to hold out "
                       f"--validation-fraction {args.validation_fraction}") from None
    X = list(X)
    X_tr, X_val = [X[i] for i in tr], [X[i] for i in va]
    y_tr, y_val = y[tr], y[va]
    clf = RNNClassifier(**_estimator_kwargs(args))
    if args.data.lower().endswith(".npz"):
        model = clf
        X_tr, X_val = _pad_ids(X_tr, args.maxlen), _pad_ids(X_val, args.maxlen)
        # by default every id of the file, so that an id held out for validation is known too
        largest = max((int(a.max()) for a in (X_tr, X_val) if a.size), default=0)
        clf.set_params(vocab_size=max(largest + 1, 2) if args.vocab_size is None else args.vocab_size,
                       checkpoint_path=args.checkpoint)
        clf.fit(X_tr, y_tr, validation_data=(X_val, y_val))
    else:
        seq = TextSequencer(maxlen=args.maxlen, max_features=args.max_features,
                            char_level=args.char_level)
        model = Pipeline([("textsequencer", seq), ("rnnclassifier", clf)])
        if args.checkpoint is not None:  # the whole pipeline: a checkpoint that reads text
            clf.set_params(callbacks=[_PipelineCheckpoint(args.checkpoint, seq)])
        ids_tr = seq.fit_transform(X_tr)
        # every vocabulary id, even one that truncation removed from all training rows
        clf.set_params(vocab_size=seq.vocab_size_)
        clf.fit(ids_tr, y_tr, validation_data=(seq.transform(X_val), y_val))
    if clf.stopped_reason_ == "interrupted" and not clf.n_iter_:
        return _interrupted(clf, args.output)
    out(f"trained {clf.n_iter_} epochs on {len(y_tr)} samples; validation accuracy "
        f"{model.score(X_val, y_val):.4f} ({len(y_val)} held-out samples)")
    clf.set_params(callbacks=None)  # the checkpoint's own callback: nothing to save or warn about
    save(model, args.output)
    out(f"model saved to {args.output}")
    if not args.no_curves:
        _curves(clf, os.path.splitext(args.output)[0] + "-curves.png", out)
    return _interrupted(clf, args.output) or 0


# ------------------------------------------------------- predict / evaluate
def _interrupted(estimator, output):
    """130 (and a line on stderr) when Ctrl-C stopped ``estimator``'s fit, else None.

    The fit keeps the best weights seen; they are saved to ``output`` unless no epoch finished.
    """
    if getattr(estimator, "stopped_reason_", None) != "interrupted":
        return None
    if not estimator.n_iter_:
        print("fastrnn: interrupted before the first epoch ended: nothing saved", file=sys.stderr)
    else:
        print(f"fastrnn: interrupted after {estimator.n_iter_} epoch(s); the best model so far "
              f"is saved to {output}", file=sys.stderr)
    return 130


def _load_model(path):
    from .persistence import load

    if not os.path.isfile(path):
        raise CLIError(f"no such model file: {path}")
    return load(path)


def _final_estimator(model):
    return model[-1] if hasattr(model, "steps") else model


def _check_predictor(model, path):
    est = _final_estimator(model)
    if hasattr(est, "generate"):
        raise CLIError(f"{path} is a language model: use fastrnn generate")
    if type(est).__name__ == "RNNSeq2Seq":
        raise CLIError(f"{path} is a sequence-to-sequence model: use fastrnn translate")
    if type(est).__name__ == "RNNSequenceTagger":
        raise CLIError(f"{path} is a sequence tagger: use it from Python (predict returns a "
                       "label per token)")
    if type(est).__name__ == "RNNSequenceRegressor":
        raise CLIError(f"{path} is a per-step regressor: use it from Python (predict returns a "
                       "value per step)")
    if type(est).__name__ == "RNNForecaster":
        raise CLIError(f"{path} is a forecaster: use it from Python (predict forecasts the steps "
                       "after a series)")
    if not hasattr(est, "predict"):
        raise CLIError(f"{path} holds a {type(est).__name__}, not a model that predicts")


def _set_unknown_ids(model, unknown_ids):
    """``--unknown-ids``: the estimator's ``unknown_ids`` (None keeps the one saved with it)."""
    if unknown_ids is not None:
        _final_estimator(model).set_params(unknown_ids=unknown_ids)


def _prepare_inputs(model, X, source):
    """Raw text goes to a Pipeline; id lists are padded to the model's training length."""
    is_text = hasattr(model, "steps")
    if is_text and not isinstance(X, list):
        raise CLIError("this model reads raw text; give a text file or a CSV/TSV column")
    if not is_text:
        if isinstance(X, list):
            raise CLIError("this model reads token ids; give a Keras-format .npz file")
        est = _final_estimator(model)
        X = _pad_ids(X, est.n_timesteps_)
        vocab_size = getattr(est, "vocab_size_", None)
        if (vocab_size is not None and X.size and getattr(est, "unknown_ids", "error") == "error"
                and np.issubdtype(X.dtype, np.integer) and int(X.max()) >= vocab_size):
            raise CLIError(f"{source} holds token ids up to {int(X.max())}, but the model knows "
                           f"{vocab_size} ids (0..{vocab_size - 1}); --unknown-ids oov maps the "
                           "others to the out-of-vocabulary id")
    return X


def _predict(args, out):
    from .datasets._files import read_inputs

    model = _load_model(args.model)
    _check_predictor(model, args.model)
    _set_unknown_ids(model, args.unknown_ids)
    X = _prepare_inputs(model, read_inputs(args.input, args.text_col), args.input)
    est = _final_estimator(model)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    if hasattr(est, "classes_"):
        proba = model.predict_proba(X)  # once: the labels are its argmax, as predict's are
        writer.writerow(["label"] + [f"proba_{c}" for c in est.classes_])
        for label, p in zip(est.classes_[np.argmax(proba, axis=1)], proba):
            writer.writerow([label] + [f"{v:.6f}" for v in p])
    else:
        pred = np.asarray(model.predict(X))
        if pred.ndim == 2:  # several outputs: a column each
            writer.writerow([f"prediction_{j}" for j in range(pred.shape[1])])
            writer.writerows([[float(v) for v in row] for row in pred])
        else:
            writer.writerow(["prediction"])
            writer.writerows([[v] for v in np.atleast_1d(pred)])
    return 0


def _evaluate(args, out):
    from sklearn.metrics import classification_report, log_loss

    from .datasets._files import labels_like, read_labeled, target_values

    model = _load_model(args.model)
    _check_predictor(model, args.model)
    _set_unknown_ids(model, args.unknown_ids)
    X, y = read_labeled(args.data, args.text_col, args.label_col, split="test")
    X = _prepare_inputs(model, list(X) if hasattr(model, "steps") else X, args.data)
    est = _final_estimator(model)
    if not hasattr(est, "classes_"):
        out(f"R^2: {model.score(X, target_values(y, args.data)):.4f}")
        return 0
    y = labels_like(y, est.classes_)
    classes = est.classes_.tolist()
    if est.classes_.dtype.kind in "UO" and all(isinstance(c, str) for c in classes):
        # files' labels are read without surrounding spaces: a model fitted on " pos" reads "pos"
        by_stripped = {c.strip(): c for c in classes}
        if len(by_stripped) == len(classes):
            y = np.array([by_stripped.get(v, v) for v in y.tolist()], dtype=object)
    unknown = sorted(set(y.tolist()) - set(classes), key=str)
    if unknown:
        raise CLIError(f"{args.data} holds labels the model never saw: {unknown[:5]}")
    proba = model.predict_proba(X)
    pred = est.classes_[np.argmax(proba, axis=1)]
    out(f"samples: {len(y)}")
    out(f"accuracy: {np.mean(pred == y):.4f}")
    out(f"loss: {log_loss(y, proba, labels=est.classes_):.4f}")
    out(classification_report(y, pred, labels=est.classes_, zero_division=0))
    return 0


def _summary(args, out):
    model = _load_model(args.model)
    if not hasattr(model, "steps") and not hasattr(model, "summary"):  # a TextSequencer alone
        out(f"{type(model).__name__}: {model.vocab_size_} ids (maxlen={model.maxlen}, "
            f"char_level={model.char_level})")
        return 0
    if hasattr(model, "steps"):
        seq = model[0]
        out(f"Pipeline: {' -> '.join(type(s).__name__ for _, s in model.steps)}")
        if hasattr(seq, "vocabulary_"):
            out(f"TextSequencer: {seq.vocab_size_} ids (maxlen={seq.maxlen}, "
                f"char_level={seq.char_level})")
    est = _final_estimator(model)
    out(est.summary())
    if hasattr(est, "classes_"):
        out(f"Classes: {est.classes_.tolist()}")
    if hasattr(est, "sequencer_"):
        out(f"Language model: level={est.level}, {est.vocab_size_} token ids")
    out(f"Epochs trained: {est.n_iter_}")
    return 0


# ------------------------------------------------------------ language model
def _train_lm(args, out):
    from .datasets._files import _lines, read_text
    from .estimators import RNNLanguageModel

    _check_output_path(args.output, "-o/--output", [args.file])
    if not os.path.isfile(args.file):
        raise CLIError(f"no such file: {args.file}")
    lines = _lines(read_text(args.file))  # one text per line; a final newline ends the last
    if not any(line.strip() for line in lines):
        raise CLIError(f"{args.file} holds no text")
    units = tuple(args.units) if len(args.units) > 1 else args.units[0]
    lm = RNNLanguageModel(level=args.level, cell=args.cell, units=units,
                          embedding_dim=args.embedding_dim, max_features=args.max_features,
                          learning_rate=args.learning_rate, batch_size=args.batch_size,
                          window=args.window, max_iter=args.epochs,
                          random_state=args.seed, verbose=0 if args.quiet else 2)
    lm.fit(lines)
    return _report_and_save(lm, args.output, out, lambda loss: (
        f"trained {lm.n_iter_} epochs on {len(lines)} lines; kept model's loss {loss:.4f} per "
        f"token (perplexity {np.exp(loss):.2f}); vocabulary {lm.vocab_size_} ids"))


def _generate(args, out):
    model = _load_model(args.model)
    if not hasattr(model, "generate"):
        raise CLIError(f"{args.model} is not a language model (train one with fastrnn train-lm)")
    text = model.generate(args.prompt, n_tokens=args.n_tokens, temperature=args.temperature,
                          random_state=args.seed)
    out(args.prompt + (text if isinstance(text, str) else " " + " ".join(text)))
    return 0


# ------------------------------------------------------------ sequence to sequence
def _train_seq2seq(args, out):
    from .datasets import load_pairs
    from .estimators import RNNSeq2Seq

    _check_output_path(args.output, "-o/--output", [args.file])
    if args.patience < 1:
        raise CLIError(f"--patience must be at least 1 epoch, got {args.patience}")
    if not 0 <= args.validation_fraction < 1:
        raise CLIError(f"--validation-fraction must be in [0, 1), got {args.validation_fraction}")
    if not os.path.isfile(args.file):
        raise CLIError(f"no such file: {args.file}")
    X, Y = load_pairs(args.file, source_col=args.source_col, target_col=args.target_col,
                      encoding="utf-8-sig", max_pairs=args.max_pairs, header=args.header)
    units = tuple(args.units) if len(args.units) > 1 else args.units[0]
    model = RNNSeq2Seq(level=args.level, cell=args.cell, units=units,
                       embedding_dim=args.embedding_dim, bidirectional=args.bidirectional,
                       attention=None if args.attention == "none" else args.attention,
                       max_features=args.max_features, max_output_length=args.max_output_length,
                       beam_width=args.beam_width, learning_rate=args.learning_rate,
                       batch_size=args.batch_size, max_iter=args.epochs,
                       early_stopping=args.validation_fraction > 0, n_iter_no_change=args.patience,
                       validation_fraction=args.validation_fraction or 0.1,
                       random_state=args.seed, verbose=0 if args.quiet else 2)
    try:
        model.fit(X, Y)
    except ValueError as exc:
        if not str(exc).startswith("too few pairs"):
            raise
        raise CLIError(f"{args.file}: too few pairs to hold out a validation set; "
                       "--validation-fraction 0 trains on every pair") from None
    return _report_and_save(model, args.output, out, lambda loss: (
        f"trained {model.n_iter_} epochs on {len(X)} pairs; kept model's loss {loss:.4f} per "
        f"target token; vocabularies {model.n_source_ids_} source and {model.n_target_ids_} "
        "target ids"))


def _translate(args, out):
    model = _load_model(args.model)
    if type(model).__name__ != "RNNSeq2Seq":
        raise CLIError(f"{args.model} holds a {type(model).__name__}, not a sequence-to-sequence "
                       "model (train one with fastrnn train-seq2seq)")
    if model.input_kind_ != "text":
        raise CLIError(f"{args.model} was fitted on id sequences: use it from Python")
    if not os.path.isfile(args.inputs):
        raise CLIError(f"no such file: {args.inputs}")
    if args.output is not None:
        _check_output_path(args.output, "-o/--output", [args.inputs, args.model])
    from .datasets._files import _lines, read_text

    lines = _lines(read_text(args.inputs))
    # a blank line stays a blank output line, so outputs line up with inputs
    real = [i for i, line in enumerate(lines) if line.strip()]
    if not real:
        raise CLIError(f"{args.inputs} holds no text")
    outputs = [""] * len(lines)
    if real:
        for i, text in zip(real, model.predict([lines[i] for i in real],
                                               beam_width=args.beam_width)):
            outputs[i] = text
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.writelines(text + "\n" for text in outputs)
    else:
        for text in outputs:
            out(text)
    return 0


# ---------------------------------------------------------------------- export
def _export(args, out):
    from .export import to_onnx

    model = _load_model(args.model)
    output = args.output or os.path.splitext(args.model)[0] + ".onnx"
    _check_output_path(output, "-o/--output" if args.output else "the output (model name .onnx)",
                       [args.model])
    try:
        to_onnx(model, output, opset=args.opset)
    except (ImportError, TypeError) as exc:  # onnx missing, or a model kind with no ONNX form
        raise CLIError(str(exc)) from None
    out(f"ONNX model written to {output}")
    return 0


# ---------------------------------------------------------------------- precompile
def _precompile(args, out):
    t0 = time.perf_counter()
    if args.jobs is not None and args.jobs < 1 and args.jobs != -1:
        raise CLIError(f"--jobs must be a positive integer or -1 (one per CPU), got {args.jobs}")
    try:
        seconds = precompile(args.cells, args.dtypes, args.units, n_jobs=args.jobs)
    except RuntimeError as exc:
        raise CLIError(str(exc)) from None
    if not args.quiet:
        for group, s in seconds.items():
            out(f"{group}: {s:.1f} s")
        out(f"compiled into Numba's cache in {time.perf_counter() - t0:.1f} s")
    return 0


# ---------------------------------------------------------------------- main
def _parser():
    parser = argparse.ArgumentParser(prog="fastrnn", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="train SimpleRNN, LSTM and GRU on a built-in task, offline")
    demo.add_argument("--n-samples", type=int, default=6000)
    demo.add_argument("--distance", type=int, nargs="+", default=[10, 40],
                      help="longest distances to try (default: 10 40)")
    demo.add_argument("--epochs", type=int, default=12)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--curves", default="fastrnn-demo-curves.png",
                      help="PNG of the learning curves ('' to skip)")

    train = sub.add_parser("train", help="train a classifier on a CSV/TSV of text or a .npz")
    train.add_argument("data", help="CSV/TSV with a header row, or a Keras-format .npz")
    train.add_argument("-o", "--output", default="model.fastrnn")
    train.add_argument("--text-col", default="text")
    train.add_argument("--label-col", default="label")
    train.add_argument("--cell", choices=["simple", "lstm", "gru"], default="lstm")
    train.add_argument("--units", type=int, nargs="+", default=[32],
                       help="units per layer; several values stack layers")
    train.add_argument("--bidirectional", action="store_true")
    train.add_argument("--embedding-dim", type=int, default=32)
    train.add_argument("--epochs", type=int, default=10)
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--optimizer", choices=["sgd", "rmsprop", "adam", "adamw"], default="adam")
    train.add_argument("--learning-rate", type=float, default=0.001)
    train.add_argument("--dropout", type=float, default=0.0)
    train.add_argument("--recurrent-dropout", type=float, default=0.0)
    train.add_argument("--bptt-truncate", type=int, default=None)
    train.add_argument("--patience", type=int, default=None,
                       help="stop early after this many epochs without improvement")
    train.add_argument("--validation-fraction", type=float, default=0.2)
    train.add_argument("--maxlen", type=int, default=200)
    train.add_argument("--max-features", type=int, default=None,
                       help="vocabulary size for text (most frequent tokens)")
    train.add_argument("--vocab-size", type=int, default=None,
                       help="number of token ids for .npz data (default: max id + 1)")
    train.add_argument("--char-level", action="store_true")
    train.add_argument("--checkpoint", default=None,
                       help="also save the best model here after every improving epoch")
    train.add_argument("--no-curves", action="store_true")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("-q", "--quiet", action="store_true", help="no per-epoch progress")

    predict = sub.add_parser("predict", help="labels and probabilities as CSV on stdout")
    predict.add_argument("model")
    predict.add_argument("input", help="text file (one text per line, '-' for stdin), "
                                       "CSV/TSV (with --text-col) or .npz")
    predict.add_argument("--text-col", default=None)
    evaluate = sub.add_parser("evaluate", help="accuracy, loss and a per-class report")
    evaluate.add_argument("model")
    evaluate.add_argument("data", help="CSV/TSV with text and label columns, or .npz (x_test)")
    evaluate.add_argument("--text-col", default="text")
    evaluate.add_argument("--label-col", default="label")
    for command in (predict, evaluate):
        command.add_argument("--unknown-ids", choices=["error", "oov"], default=None,
                             help="token ids of an .npz beyond the model's vocabulary: refuse "
                                  "them (error) or read them as the out-of-vocabulary id 1 "
                                  "(oov, with a count on stderr); default: the model's setting, "
                                  "error unless it was saved otherwise")


    summary = sub.add_parser("summary", help="layers, parameter counts and vocabulary")
    summary.add_argument("model")

    lm = sub.add_parser("train-lm", help="train a character (or word) language model on a text "
                                         "file, one text per line")
    lm.add_argument("file")
    lm.add_argument("-o", "--output", default="lm.fastrnn")
    lm.add_argument("--level", choices=["char", "word"], default="char")
    lm.add_argument("--cell", choices=["simple", "lstm", "gru"], default="lstm")
    lm.add_argument("--units", type=int, nargs="+", default=[64])
    lm.add_argument("--embedding-dim", type=int, default=32)
    lm.add_argument("--max-features", type=int, default=None)
    lm.add_argument("--epochs", type=int, default=10)
    lm.add_argument("--batch-size", type=int, default=32, help="parallel streams")
    lm.add_argument("--window", type=int, default=32, help="truncated-BPTT window length")
    lm.add_argument("--learning-rate", type=float, default=0.005)
    lm.add_argument("--seed", type=int, default=0)
    lm.add_argument("-q", "--quiet", action="store_true")

    gen = sub.add_parser("generate", help="continue a prompt with a trained language model")
    gen.add_argument("model")
    gen.add_argument("prompt")
    gen.add_argument("-n", "--n-tokens", type=int, default=200)
    gen.add_argument("-t", "--temperature", type=float, default=1.0)
    gen.add_argument("--seed", type=int, default=None)

    s2s = sub.add_parser("train-seq2seq", help="train a sequence-to-sequence model on "
                                               "tab-separated pairs (source<TAB>target)")
    s2s.add_argument("file")
    s2s.add_argument("-o", "--output", default="seq2seq.fastrnn")
    s2s.add_argument("--source-col", type=int, default=0)
    s2s.add_argument("--target-col", type=int, default=1)
    s2s.add_argument("--max-pairs", type=int, default=None)
    s2s.add_argument("--header", action="store_true",
                     help="the first non-blank line names the columns: skip it")
    s2s.add_argument("--level", choices=["char", "word"], default="char")
    s2s.add_argument("--cell", choices=["simple", "lstm", "gru"], default="lstm")
    s2s.add_argument("--units", type=int, nargs="+", default=[128])
    s2s.add_argument("--embedding-dim", type=int, default=64)
    s2s.add_argument("--bidirectional", action="store_true")
    s2s.add_argument("--attention", choices=["dot", "general", "none"], default="dot")
    s2s.add_argument("--max-features", type=int, default=None)
    s2s.add_argument("--max-output-length", type=int, default=None)
    s2s.add_argument("--beam-width", type=int, default=1)
    s2s.add_argument("--epochs", type=int, default=30)
    s2s.add_argument("--batch-size", type=int, default=64)
    s2s.add_argument("--learning-rate", type=float, default=0.001)
    s2s.add_argument("--patience", type=int, default=3,
                     help="stop after this many epochs without a better validation loss")
    s2s.add_argument("--validation-fraction", type=float, default=0.1,
                     help="pairs held out for early stopping (0: train on all, no early stopping)")
    s2s.add_argument("--seed", type=int, default=0)
    s2s.add_argument("-q", "--quiet", action="store_true")

    tr = sub.add_parser("translate", help="one output line per input line (blank lines kept)")
    tr.add_argument("model")
    tr.add_argument("inputs")
    tr.add_argument("-o", "--output", default=None, help="default: standard output")
    tr.add_argument("--beam-width", type=int, default=None,
                    help="default: the model's beam_width")

    export = sub.add_parser("export", help="write a model (or a text pipeline, whole) as ONNX")
    export.add_argument("model")
    export.add_argument("-o", "--output", default=None, help="default: the model's name, .onnx")
    export.add_argument("--opset", type=int, default=None)

    pre = sub.add_parser("precompile", help="compile the Numba kernels into Numba's on-disk "
                                            "cache, in parallel processes")
    pre.add_argument("--cells", nargs="+", choices=CELLS, default=list(CELLS))
    pre.add_argument("--dtypes", nargs="+", choices=DTYPES, default=list(DTYPES))
    pre.add_argument("--units", type=int, nargs="+", default=[32],
                     help="layer widths to compile for (the LSTM kernels below 16 units are "
                          "compiled per width; default: 32, which covers every width from 16 up)")
    pre.add_argument("-j", "--jobs", type=int, default=None,
                     help="processes to compile in (default: one per CPU)")
    pre.add_argument("-q", "--quiet", action="store_true")
    return parser


_COMMANDS = {"demo": _demo, "train": _train, "predict": _predict, "evaluate": _evaluate,
             "summary": _summary, "train-lm": _train_lm, "generate": _generate,
             "train-seq2seq": _train_seq2seq, "translate": _translate,
             "precompile": _precompile, "export": _export}


def _one_line(message):
    return " ".join(str(message).split())


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"fastrnn: warning: {_one_line(message)}", file=sys.stderr if file is None else file)


#: Options that count something: at least 1 (checked here, so the message names the option,
#: not the estimator parameter it sets).
_SIZES = ("epochs", "units", "embedding_dim", "batch_size", "window", "max_features", "maxlen",
          "beam_width", "max_output_length", "max_pairs")


def _check_sizes(args):
    """Refuse an option of :data:`_SIZES` below 1 (a None default is not given)."""
    for name in _SIZES:
        values = getattr(args, name, None)
        for v in values if isinstance(values, list) else [values]:
            if v is not None and v < 1:
                raise CLIError(f"--{name.replace('_', '-')} must be at least 1, got {v}")


def main(argv=None, out=print):
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            from .runtime.cpus import default_n_threads

            default_n_threads()  # a bad FASTRNN_NUM_THREADS named as such, not as a damaged file
            _check_sizes(args)
            return _COMMANDS[args.command](args, out)
        except BrokenPipeError:  # the reader stopped early (``| head``): not an error of ours
            # Python would report the failed flush of stdout at exit: point it at /dev/null
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        except (CLIError, ValueError, OSError) as exc:  # ModelFileError, UnicodeDecodeError too
            print(f"fastrnn: error: {_one_line(exc)}", file=sys.stderr)
            return 2
        except MemoryError as exc:
            print(f"fastrnn: error: out of memory{': ' + _one_line(exc) if str(exc) else ''}",
                  file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("fastrnn: interrupted", file=sys.stderr)
            return 130
