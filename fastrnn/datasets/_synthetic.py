"""Generated sequence tasks that need no download."""

import numpy as np
from sklearn.utils import check_random_state


def make_long_range_task(n_samples=1000, n_timesteps=50, distance=40, vocab_size=20,
                         random_state=None):
    """Binary task whose label is a token ``distance`` steps before the end.

    Every sequence is random noise tokens, except one signal token placed
    ``distance`` steps before the last one: id 1 means class 0, id 2 means
    class 1.  Nothing after it carries information, so a model must carry the
    signal across ``distance`` steps.  Gradient flow through that many steps is
    what SimpleRNN lacks and LSTM/GRU provide (the vanishing-gradient lesson).

    Parameters
    ----------
    n_samples : int, default 1000
    n_timesteps : int, default 50
    distance : int, default 40
        Steps between the signal and the end of the sequence (``< n_timesteps``).
    vocab_size : int, default 20
        Token ids are ``0 < id < vocab_size``; 1 and 2 are the signals, 3.. noise.
    random_state : int, RandomState or None

    Returns
    -------
    X : ndarray of shape (n_samples, n_timesteps), int32
    y : ndarray of shape (n_samples,), int
    """
    if not 0 <= distance < n_timesteps:
        raise ValueError(f"distance must be in [0, n_timesteps), got {distance}")
    if vocab_size < 4:
        raise ValueError("vocab_size must be at least 4 (padding, two signals, noise)")
    rs = check_random_state(random_state)
    X = rs.randint(3, vocab_size, size=(n_samples, n_timesteps)).astype(np.int32)
    y = rs.randint(0, 2, size=n_samples)
    X[:, n_timesteps - 1 - distance] = y + 1
    return X, y
