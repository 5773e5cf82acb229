"""Generated sequence tasks that need no download (seeded, documented)."""

import numpy as np
from sklearn.utils import check_random_state


def make_long_range_task(n_samples=1000, n_timesteps=30, distance=20, vocab_size=12,
                         random_state=None):
    """Binary task that needs a token seen ``distance`` steps before the end.

    Every sequence is random noise tokens (ids ``3..vocab_size-1``) except one
    signal token, id 1 or 2, placed ``distance`` steps before the last token.
    The label is the signal bit XOR whether the *last* token is in the upper
    half of the noise vocabulary, so a model must carry the early token across
    ``distance`` steps while still reading the recent ones; the task gets
    harder as ``distance`` grows because the gradient must cross that many
    steps.  Measured with 6,000 sequences, 12 epochs of Adam(0.01), 16 units
    and three seeds: every cell solves ``distance=10``; at ``distance=20``
    whether a cell succeeds depends on the seed, for SimpleRNN, LSTM and GRU
    alike; at ``distance=40`` nearly every run stays at chance.  (A clean
    "SimpleRNN fails where LSTM/GRU succeed" separation needs a larger training
    budget or another task; this is open work.)

    Parameters
    ----------
    n_samples : int, default 1000
    n_timesteps : int, default 30
    distance : int, default 20
        Steps between the signal and the last token (``1 <= distance < n_timesteps``).
    vocab_size : int, default 12
        Ids are ``0 < id < vocab_size``; 1 and 2 are the signals, 3.. noise.
    random_state : int, RandomState or None

    Returns
    -------
    X : ndarray of shape (n_samples, n_timesteps), int32
    y : ndarray of shape (n_samples,), int
    """
    if not 1 <= distance < n_timesteps:
        raise ValueError(f"distance must be in [1, n_timesteps), got {distance}")
    if vocab_size < 5:
        raise ValueError("vocab_size must be at least 5 (padding, two signals, two noise tokens)")
    rs = check_random_state(random_state)
    X = rs.randint(3, vocab_size, size=(n_samples, n_timesteps)).astype(np.int32)
    signal = rs.randint(0, 2, size=n_samples)
    X[:, n_timesteps - 1 - distance] = signal + 1
    recent = (X[:, -1] >= (3 + vocab_size) // 2).astype(int)
    return X, signal ^ recent


_POSITIVE = ["good", "great", "excellent", "wonderful", "enjoyable", "brilliant"]
_NEGATIVE = ["bad", "awful", "boring", "terrible", "dull", "poor"]
_NEGATIONS = ["not", "never", "hardly"]
_SUBJECTS = ["the film", "the acting", "the plot", "the ending", "the music", "this movie"]
_VERBS = ["was", "is", "seemed", "felt"]
_ADVERBS = ["very", "really", "at all", "particularly", "so"]
_FILLERS = ["to me", "overall", "honestly", "in the end", "i think", "for a sequel"]
VOCABULARY = sorted({w for phrase in (_POSITIVE + _NEGATIVE + _NEGATIONS + _SUBJECTS + _VERBS
                                       + _ADVERBS + _FILLERS) for w in phrase.split()})


def make_negation_sentiment(n_samples=1000, return_text=False, random_state=None):
    """Synthetic reviews whose sentiment flips under negation: word order matters.

    Each review is "<subject> <verb> [<negation>] [<adverb>] <adjective> [<filler>]",
    e.g. "the plot was not really good i think".  The label is the adjective's
    polarity, flipped when a negation is present.  The same words appear in
    positive and negative reviews and the label is polarity XOR negation, which
    word counts cannot separate linearly: a unigram bag-of-words logistic
    regression stays near chance (0.48 measured on 2,000 reviews), while a
    recurrent model reading in order reaches 100% (tests/test_datasets.py).

    Parameters
    ----------
    n_samples : int, default 1000
    return_text : bool, default False
        Return the raw review strings instead of id sequences.
    random_state : int, RandomState or None

    Returns
    -------
    X : ndarray of shape (n_samples, 10), int32, or list of str
        Pre-padded word ids (``VOCABULARY[i - 1]`` is word ``i``; 0 is padding),
        or the texts when ``return_text``.
    y : ndarray of shape (n_samples,), int
        1 for a positive review.
    """
    rs = check_random_state(random_state)
    texts, labels = [], []
    for _ in range(n_samples):
        positive = rs.rand() < 0.5
        negated = rs.rand() < 0.5
        words = [_SUBJECTS[rs.randint(len(_SUBJECTS))], _VERBS[rs.randint(len(_VERBS))]]
        if negated:
            words.append(_NEGATIONS[rs.randint(len(_NEGATIONS))])
        if rs.rand() < 0.5:
            words.append(_ADVERBS[rs.randint(len(_ADVERBS))])
        pool = _POSITIVE if positive else _NEGATIVE
        words.append(pool[rs.randint(len(pool))])
        if rs.rand() < 0.5:
            words.append(_FILLERS[rs.randint(len(_FILLERS))])
        texts.append(" ".join(words))
        labels.append(int(positive != negated))
    y = np.array(labels)
    if return_text:
        return texts, y
    index = {w: i + 1 for i, w in enumerate(VOCABULARY)}
    from ..text import pad_sequences

    X = pad_sequences([[index[w] for w in t.split()] for t in texts], maxlen=10)
    return X, y
