"""RNNSeq2Seq against the same encoder-decoder in PyTorch, interleaved in one run.

Usage::

    pip install torch                # bench-only (compare_torch.py names the version)
    python bench/seq2seq_torch.py [--threads 2] [--rounds 5] [--n-batches 16]
                                  [--n-decode 1024] [--settle-ms 20] [--json PATH] [--tiny]
                                  [--decode-epochs 3] [--no-reexec]

The task is character reversal (:func:`fastrnn.datasets.make_reversal`: 26
symbols, sources of 25-35 characters, the target the source reversed); both
frameworks get the same id arrays.  The model is a GRU(256) encoder and
decoder, 64-wide embeddings (the estimator's default), dot attention, batch
64, Adam at 0.001 with clipnorm 1.0 (the estimator's defaults).

Each round times, in this order and with an untimed pause of ``--settle-ms``
after every call (see ``compare_torch.py`` for why):

- one training call of ``--n-batches`` batches in each framework: fastrnn's
  public ``RNNSeq2Seq.fit`` with ``max_iter=1, warm_start=True``, and a
  PyTorch epoch over the same pairs (shuffled, teacher forcing, Adam);
- greedy decoding of ``--n-decode`` sources in each: ``predict(X)`` and a
  PyTorch loop of one decoder step per output token under ``torch.no_grad``,
  512 sources at a time (the rows of one of ``predict``'s greedy batches);
- beam search, ``predict(X, beam_width=5)`` (fastrnn only).

Reported: medians over the rounds, in samples/s (training) and sources/s
(decoding), and the ratios fastrnn / PyTorch.  The decoding model is trained
untimed for ``--decode-epochs`` epochs first, and its weights are loaded into
the PyTorch model, so that both decode the same model: the mean output length
and the share of identical outputs are printed as a check.  The training
models also start from the same weights.

The PyTorch model (written for this comparison): ``nn.Embedding`` for each
side, ``nn.GRU`` encoder and decoder (``batch_first``, one layer), the
encoder's final state (each row's state at its last real token) starting the
decoder, dot scores over the encoder outputs with source padding masked,
``tanh(Linear([context; h]))`` and an output ``Linear``; no input feeding.
Where the two differ:

- **Padding.**  PyTorch runs every step of a padded batch (sources and
  targets padded after their end, to the longest of the data); the padded
  steps do not change the results (masked in attention and in the loss) but
  cost time.  fastrnn computes only each row's real steps.  The models are
  the same: given fastrnn's weights, PyTorch's teacher-forced
  log-likelihoods match ``RNNSeq2Seq.log_likelihood`` to float32 rounding.
- **Gradient clipping.**  Both clip each gradient tensor to norm 1.0 on its
  own (Keras's ``clipnorm``, done by hand in PyTorch, whose
  ``clip_grad_norm_`` clips the global norm).
- **Adam.**  Both use epsilon 1e-7; fastrnn folds the bias correction into the
  step size (Keras), PyTorch divides the second moment by it, so epsilon
  weighs slightly differently.  PyTorch's ``Adam`` otherwise keeps its defaults.
- **Greedy loop.**  PyTorch's loop steps every row of a batch until all rows
  have emitted the end token (or reached the maximum length); fastrnn drops
  finished rows.  ``predict`` also groups the sources by length into its
  batches of 512 (outputs returned in the input order) and decodes one batch
  per thread at a time, where PyTorch's loop takes the batches in the given
  order, one after the other, each step's operations using both threads.
  Both never emit padding or the start token.
- **Input.**  fastrnn's ``fit`` and ``predict`` take the id lists and pad them
  in every call (their public API); PyTorch's arrays are padded once, before
  the timing.

If ``OPENBLAS_CORETYPE`` or ``OPENBLAS_L2_SIZE`` is set, the script runs itself
again once without them (they force BLAS kernels on both frameworks) and says
so; ``--no-reexec`` keeps them.  The header (machine, BLAS kernels, versions)
is ``compare_torch.py``'s (a shorter one of its own if that script has none).
"""

import argparse
import json
import statistics
import sys

import numpy as np
from compare_torch import (SETTLE_HELP, environment_report, format_report, reexec_without_forced_blas,
                           timed)

#: Model-side target ids (as RNNSeq2Seq keeps them): padding, start, end; user ids shifted by 2.
PAD, START, END, SHIFT = 0, 1, 2, 2
#: Rows decoded at once by the PyTorch loop, as in one of RNNSeq2Seq.predict's greedy batches
#: (max(batch_size, 512) for this vocabulary).
DECODE_ROWS = 512

FULL = dict(units=256, embedding_dim=64, batch_size=64, length=(25, 35), vocab=26,
            n_batches=16, n_decode=1024, decode_epochs=3)
TINY = dict(units=16, embedding_dim=8, batch_size=8, length=(4, 7), vocab=6,
            n_batches=2, n_decode=16, decode_epochs=1)


def machine_header(threads):
    """Header lines: threads, machine, BLAS kernels, versions (as compare_torch.py prints them)."""
    return [f"threads: {threads}"] + list(format_report(environment_report()))


def make_pairs(n, length, vocab, seed):
    """``n`` reversal pairs of ids ``1..vocab`` (lists), their lengths drawn from ``length``."""
    from fastrnn.datasets import make_reversal

    return make_reversal(n, length=length, vocab_size=vocab, random_state=seed)


def post_padded(rows, width, shift=0, before=(), after=(), fill=0):
    """(n, width) int64 array: each row (shifted, framed by ``before``/``after``) then ``fill``."""
    out = np.full((len(rows), width), fill, dtype=np.int64)
    for i, r in enumerate(rows):
        r = list(before) + [t + shift for t in r] + list(after)
        out[i, :len(r)] = r
    return out


# ------------------------------------------------------------------ fastrnn
def fastrnn_estimator(size, threads, **kw):
    from fastrnn import RNNSeq2Seq

    return RNNSeq2Seq(cell="gru", units=size["units"], embedding_dim=size["embedding_dim"],
                      attention="dot", bidirectional=False, batch_size=size["batch_size"],
                      learning_rate=0.001, clipnorm=1.0, early_stopping=False,
                      n_threads=threads, random_state=0, **kw)


# ------------------------------------------------------------------ PyTorch
def torch_model(n_source, n_target, emb, units):
    import torch
    from torch import nn

    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.source_emb = nn.Embedding(n_source, emb, padding_idx=0)
            self.encoder = nn.GRU(emb, units, batch_first=True)
            self.target_emb = nn.Embedding(n_target, emb, padding_idx=0)
            self.decoder = nn.GRU(emb, units, batch_first=True)
            self.combine = nn.Linear(2 * units, units)  # input: [context; h]
            self.out = nn.Linear(units, n_target)

        def encode(self, src):
            """Encoder outputs (B, Ts, U), source mask (B, Ts) and the decoder's first state."""
            mask = src != 0
            memory, _ = self.encoder(self.source_emb(src))
            # sources are padded after their end: the state at the last real token
            last = mask.sum(dim=1) - 1
            h0 = memory[torch.arange(len(src)), last].unsqueeze(0).contiguous()
            return memory, mask, h0

        def attend(self, h, memory, mask):
            """Logits from decoder outputs ``h`` (B, Td, U)."""
            scores = h @ memory.transpose(1, 2)
            scores = scores.masked_fill(~mask[:, None, :], float("-inf"))
            context = torch.softmax(scores, dim=-1) @ memory
            return self.out(torch.tanh(self.combine(torch.cat([context, h], dim=-1))))

        def forward(self, src, dec_in):
            memory, mask, h0 = self.encode(src)
            h, _ = self.decoder(self.target_emb(dec_in), h0)
            return self.attend(h, memory, mask)

    return Seq2Seq()


def load_fastrnn_weights(net, weights, units):
    """Copy ``RNNSeq2Seq.get_weights()`` (GRU, dot attention, one layer) into ``net``."""
    import torch

    (src_emb, e_w, e_u, e_b, tgt_emb, d_w, d_u, d_b, c_w, c_b, o_w, o_b) = weights
    order = np.r_[units:2 * units, 0:units, 2 * units:3 * units]  # Keras z, r, h -> torch r, z, n

    def t(a):
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))

    with torch.no_grad():
        net.source_emb.weight.copy_(t(src_emb))
        net.target_emb.weight.copy_(t(tgt_emb))
        for gru, w, u, b in ((net.encoder, e_w, e_u, e_b), (net.decoder, d_w, d_u, d_b)):
            gru.weight_ih_l0.copy_(t(w[:, order].T))
            gru.weight_hh_l0.copy_(t(u[:, order].T))
            gru.bias_ih_l0.copy_(t(b[0][order]))
            gru.bias_hh_l0.copy_(t(b[1][order]))
        net.combine.weight.copy_(t(c_w.T))
        net.combine.bias.copy_(t(c_b))
        net.out.weight.copy_(t(o_w.T))
        net.out.bias.copy_(t(o_b))


def torch_trainer(net, src, dec_in, tgt, batch_size, clipnorm=1.0):
    """One epoch over the pairs per call: teacher forcing, per-tensor clipping, Adam."""
    import torch

    params = [p for p in net.parameters()]
    opt = torch.optim.Adam(params, lr=0.001, eps=1e-7)
    src, dec_in, tgt = map(torch.from_numpy, (src, dec_in, tgt))
    gen = torch.Generator().manual_seed(0)
    last_loss = []

    def train():
        order = torch.randperm(len(src), generator=gen)
        for lo in range(0, len(src), batch_size):
            rows = order[lo:lo + batch_size]
            logits = net(src[rows], dec_in[rows])
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                     tgt[rows].reshape(-1), ignore_index=-1)
            opt.zero_grad()
            loss.backward()
            with torch.no_grad():
                # Keras clipnorm, as fastrnn: every tensor on its own, not the global norm
                for p in params:
                    norm = p.grad.norm()
                    if norm > clipnorm:
                        p.grad.mul_(clipnorm / norm)
            opt.step()
        last_loss[:] = [loss.item()]

    return train, last_loss


def torch_greedy(net, src, max_length):
    """Greedy outputs (lists of user ids) of padded sources, :data:`DECODE_ROWS` at a time."""
    import torch

    src = torch.from_numpy(src)
    outputs = []
    with torch.no_grad():
        for lo in range(0, len(src), DECODE_ROWS):
            batch = src[lo:lo + DECODE_ROWS]
            memory, mask, h = net.encode(batch)
            last = torch.full((len(batch), 1), START, dtype=torch.long)
            done = torch.zeros(len(batch), dtype=torch.bool)
            steps = []
            for t in range(max_length + 1):
                out, h = net.decoder(net.target_emb(last), h)
                logits = net.attend(out, memory, mask)[:, 0]
                logits[:, [PAD, START]] = float("-inf")  # never emitted, as in fastrnn
                if t == max_length:  # out of room: the end token only
                    tok = torch.full((len(batch),), END, dtype=torch.long)
                else:
                    tok = logits.argmax(dim=1)
                tok = tok.masked_fill(done, END)
                steps.append(tok)
                done |= tok == END
                if bool(done.all()):
                    break
                last = tok[:, None]
            ids = torch.stack(steps, dim=1).numpy()
            for row in ids:
                n = int(np.argmax(row == END)) if (row == END).any() else len(row)
                outputs.append((row[:n] - SHIFT).tolist())
    return outputs


# -------------------------------------------------------------------- timing
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n-batches", type=int, default=None,
                        help="batches per timed training call (default 16)")
    parser.add_argument("--n-decode", type=int, default=None,
                        help="sources per timed decoding call (default 1024)")
    parser.add_argument("--decode-epochs", type=int, default=None,
                        help="untimed training epochs of the decoding model (default 3)")
    parser.add_argument("--settle-ms", type=float, default=20.0,
                        help=SETTLE_HELP)
    parser.add_argument("--tiny", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH")
    parser.add_argument("--no-reexec", action="store_true",
                        help="keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE if set (the header says so)")
    args = parser.parse_args(argv)
    size = dict(TINY if args.tiny else FULL)
    for key in ("n_batches", "n_decode", "decode_epochs"):
        if getattr(args, key) is not None:
            size[key] = getattr(args, key)
    settle = max(args.settle_ms, 0.0) / 1000

    import torch

    torch.set_num_threads(args.threads)
    header = machine_header(args.threads)
    B, U = size["batch_size"], size["units"]
    n_train = B * size["n_batches"]
    X, Y = make_pairs(n_train, size["length"], size["vocab"], seed=0)
    X_dec, _ = make_pairs(size["n_decode"], size["length"], size["vocab"], seed=1)

    # fastrnn: the training estimator (warm-up fit compiles, untimed) and the decoding one
    est = fastrnn_estimator(size, args.threads, max_iter=1, warm_start=True)
    est.fit(X, Y)
    dec = fastrnn_estimator(size, args.threads, max_iter=size["decode_epochs"]).fit(X, Y)
    n_source, n_target = est.n_source_ids_, est.n_target_ids_ + SHIFT
    max_length = dec.max_output_length_

    # PyTorch: the same arrays, padded after their end; targets -1 under padding
    longest = max(map(len, Y)) + 1
    src = post_padded(X, max(map(len, X)))
    dec_in = post_padded(Y, longest, SHIFT, before=[START])
    tgt = post_padded(Y, longest, SHIFT, after=[END], fill=-1)
    src_dec = post_padded(X_dec, max(map(len, X_dec)))
    net = torch_model(n_source, n_target, size["embedding_dim"], U)
    load_fastrnn_weights(net, est.get_weights(), U)
    pt_train, pt_loss = torch_trainer(net, src, dec_in, tgt, B)
    pt_train()  # warm-up
    dec_net = torch_model(n_source, n_target, size["embedding_dim"], U).eval()
    load_fastrnn_weights(dec_net, dec.get_weights(), U)

    outputs = {}

    def ft_greedy():
        outputs["fastrnn"] = dec.predict(X_dec)

    def pt_greedy():
        outputs["torch"] = torch_greedy(dec_net, src_dec, max_length)

    def ft_beam():
        dec.predict(X_dec, beam_width=5)

    ft_greedy(), pt_greedy(), ft_beam()  # warm-up
    times = {k: [] for k in ("ft_train", "pt_train", "ft_greedy", "pt_greedy", "ft_beam5")}
    for _ in range(args.rounds):
        times["ft_train"].append(timed(lambda: est.fit(X, Y), settle))
        times["pt_train"].append(timed(pt_train, settle))
        times["ft_greedy"].append(timed(ft_greedy, settle))
        times["pt_greedy"].append(timed(pt_greedy, settle))
        times["ft_beam5"].append(timed(ft_beam, settle))

    med = {k: statistics.median(v) for k, v in times.items()}
    rate = {k: (n_train if k.endswith("train") else size["n_decode"]) / v for k, v in med.items()}
    same = np.mean([a == b for a, b in zip(outputs["fastrnn"], outputs["torch"])])
    mean_len = {k: float(np.mean([len(o) for o in v])) for k, v in outputs.items()}
    result = {
        "header": header,
        "config": {"cell": "gru", "units": U, "embedding_dim": size["embedding_dim"],
                   "attention": "dot", "batch_size": B, "source_length": list(size["length"]),
                   "n_symbols": size["vocab"], "n_train_pairs": n_train,
                   "n_decode": size["n_decode"], "decode_rows_torch": DECODE_ROWS,
                   "max_output_length": max_length, "threads": args.threads,
                   "rounds": args.rounds, "settle_ms": args.settle_ms, "tiny": args.tiny},
        "train_samples_per_s": {"fastrnn": rate["ft_train"], "torch": rate["pt_train"],
                                "ratio": rate["ft_train"] / rate["pt_train"]},
        "greedy_sources_per_s": {"fastrnn": rate["ft_greedy"], "torch": rate["pt_greedy"],
                                 "ratio": rate["ft_greedy"] / rate["pt_greedy"]},
        "beam5_sources_per_s": {"fastrnn": rate["ft_beam5"]},
        "check": {"greedy_identical_share": float(same), "mean_output_length": mean_len,
                  "last_train_loss": {"fastrnn": est.loss_curve_[-1], "torch": pt_loss[0]}},
        "times_s": times,
    }
    for line in header:
        print(line)
    print(f"seq2seq: GRU({U}) encoder and decoder, embeddings {size['embedding_dim']}, dot "
          f"attention, batch {B}, sources of {size['length'][0]}-{size['length'][1]} symbols "
          f"({size['vocab']} symbols, reversal); rounds: {args.rounds}; "
          f"quiet wait and pause after each call: {args.settle_ms:g} ms; medians")
    print(f"{'':<28}{'fastrnn':>12}{'torch':>12}{'ratio':>8}")
    for label, key in (("training samples/s", "train_samples_per_s"),
                       (f"greedy sources/s ({size['n_decode']})", "greedy_sources_per_s")):
        r = result[key]
        print(f"{label:<28}{r['fastrnn']:>12,.1f}{r['torch']:>12,.1f}{r['ratio']:>8.2f}")
    print(f"{'beam 5 sources/s':<28}{rate['ft_beam5']:>12,.1f}{'-':>12}{'-':>8}")
    print(f"check: greedy outputs identical for {same:.1%} of sources; mean output length "
          f"{mean_len['fastrnn']:.1f} (fastrnn), {mean_len['torch']:.1f} (torch); last training "
          f"loss {est.loss_curve_[-1]:.3f} (fastrnn), {pt_loss[0]:.3f} (torch)")
    target_len = float(np.mean([len(x) for x in X_dec]))
    result["check"]["mean_target_length"] = target_len
    if abs(mean_len["fastrnn"] - target_len) > 0.2 * target_len:
        print(f"note: the decoding model's outputs average {mean_len['fastrnn']:.1f} tokens "
              f"against {target_len:.1f} in the targets; more --decode-epochs give a decoding "
              "workload closer to the task's")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    reexec_without_forced_blas(sys.argv[1:])
    main()
