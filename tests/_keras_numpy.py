"""An independent, deliberately naive NumPy model of the equivalent Keras network.

``Sequential([Embedding(V, E, mask_zero=True), <Cell>(units), Dense(k)])``: one
sample and one step at a time, straight from Keras's documented equations;
masked (id 0) steps carry the state.  Written separately from fastrnn's
kernels, so agreeing with it is evidence, not tautology.
"""

import numpy as np


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def keras_predict_proba(weights, ids, cell, units):
    """Class probabilities of the Keras model whose ``get_weights()`` is ``weights``."""
    E, W, U, b, Wd, bd = weights
    H = units
    probs = []
    for row in ids:
        h = np.zeros(H)
        c = np.zeros(H)
        for token in row:
            if token == 0:
                continue
            x = E[token]
            if cell == "simple":
                h = np.tanh(x @ W + h @ U + b)
            elif cell == "lstm":
                z = x @ W + h @ U + b
                i, f, g, o = z[:H], z[H:2 * H], z[2 * H:3 * H], z[3 * H:]
                c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
                h = _sigmoid(o) * np.tanh(c)
            else:  # GRU, reset_after=True: bias rows are (input, recurrent)
                xz = x @ W + b[0]
                hz = h @ U + b[1]
                z = _sigmoid(xz[:H] + hz[:H])
                r = _sigmoid(xz[H:2 * H] + hz[H:2 * H])
                hh = np.tanh(xz[2 * H:] + r * hz[2 * H:])
                h = z * h + (1 - z) * hh
        logits = h @ Wd + bd
        if len(logits) == 1:
            p = _sigmoid(logits[0])
            probs.append([1 - p, p])
        else:
            e = np.exp(logits - logits.max())
            probs.append(e / e.sum())
    return np.array(probs)


def keras_loss(weights, ids, y, cell, units):
    """Keras's mean (binary or sparse categorical) cross-entropy over the batch."""
    p = keras_predict_proba(weights, ids, cell, units)
    return -np.mean(np.log(p[np.arange(len(y)), y]))
