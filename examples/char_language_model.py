"""Train a character-level language model on a text file, then sample from it.

The tutorials' next-character model: teacher forcing during training (the input
at each step is the true previous character), then generation that feeds each
sampled character back in.  The same with the command line:

    fastrnn train-lm book.txt -o book.fastrnn --units 128 --epochs 20
    fastrnn generate book.fastrnn "Once upon a time" -n 300 -t 0.7

Run: python examples/char_language_model.py FILE [--epochs N] [--units N]
"""

import argparse
import time

from fastrnn import RNNLanguageModel


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", help="UTF-8 text; each line is one text")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--window", type=int, default=64, help="truncated-BPTT window")
    parser.add_argument("--prompt", default="")
    parser.add_argument("--temperature", type=float, default=0.7)
    args = parser.parse_args()
    with open(args.file, encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    held_out = lines[-max(1, len(lines) // 10):]
    lm = RNNLanguageModel(units=args.units, max_iter=args.epochs, window=args.window,
                          random_state=0)
    t0 = time.perf_counter()
    lm.fit(lines[:-len(held_out)] or lines)
    print(f"{lm.n_iter_} epochs in {time.perf_counter() - t0:.0f} s; training loss "
          f"{lm.history_['loss'][-1]:.3f}/char; held-out perplexity {lm.perplexity(held_out):.2f}")
    print(repr(args.prompt + lm.generate(args.prompt, 300, args.temperature, random_state=0)))


if __name__ == "__main__":
    main()
