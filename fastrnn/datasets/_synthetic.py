"""Generated sequence tasks that need no download (seeded, documented)."""

import numbers

import numpy as np
from sklearn.utils import check_random_state


def _is_count(value):
    """Whether ``value`` is an int (a NumPy integer too), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _count(value, name):
    """``value`` as an int >= 1, or a ValueError naming ``name``."""
    if not _is_count(value) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def make_long_range_task(n_samples=1000, n_timesteps=None, distance=(1, 20), vocab_size=12,
                         return_distance=False, return_text=False, random_state=None):
    """Binary task whose label sits ``distance`` steps before the end: a memory test.

    Every sequence is random word tokens (ids ``2..vocab_size-1``) with one
    marker token (id 1).  The label is whether the word right *after* the
    marker is in the upper half of the word ids (an odd number of words puts
    the middle one in the upper half, so the classes are balanced only for an
    even ``vocab_size``); that word is ``distance``
    steps before the last token.  The same words fill the rest of the
    sequence, so a model cannot learn to ignore them: it must store the marked
    word and then keep it unchanged while ``distance`` more words arrive —
    the gated memory LSTM and GRU have and SimpleRNN lacks.

    With ``distance`` a range, each sequence draws its own distance, so short
    examples give the learning signal and long ones test the memory.  Measured
    (6,000 sequences, 16 units, 12 epochs of Adam(0.01), three seeds;
    ``bench``-free, see ``tests/test_datasets.py``): with distances 1..10 every
    cell reaches 100% test accuracy; with 1..20 and 1..40 LSTM and GRU still
    reach 100% on every seed while SimpleRNN stays between 0.55 and 0.85 — the
    vanishing-gradient lesson of the tutorials.

    Parameters
    ----------
    n_samples : int, default 1000
    n_timesteps : int or None, default None
        Sequence length; None uses the largest distance + 2 (room for the marker).
    distance : int or (int, int), default (1, 20)
        Steps between the marked word and the last token, fixed or drawn
        uniformly from the inclusive range, ``1 <= distance <= n_timesteps - 2``.
    vocab_size : int, default 12
        Ids are ``0 < id < vocab_size``: 1 is the marker, the rest words.
    return_distance : bool, default False
        Also return each sequence's distance.
    return_text : bool, default False
        Return strings such as ``"w5 w2 mark w9 w3"`` instead of id rows (word
        ``w<i>`` is id ``i``, ``mark`` is id 1).
    random_state : int, RandomState or None

    Returns
    -------
    X : ndarray of shape (n_samples, n_timesteps), int32, or list of str
    y : ndarray of shape (n_samples,), int
    distance : ndarray of shape (n_samples,), int
        Only with ``return_distance``.
    """
    n_samples = _count(n_samples, "n_samples")
    bounds = (distance, distance) if np.ndim(distance) == 0 else tuple(distance)
    if len(bounds) != 2 or not all(_is_count(v) for v in bounds):
        raise ValueError(f"distance must be an int or a range (low, high) of ints, got {distance!r}")
    low, high = (int(v) for v in bounds)
    if n_timesteps is not None:
        n_timesteps = _count(n_timesteps, "n_timesteps")
    T = high + 2 if n_timesteps is None else n_timesteps
    if not 1 <= low <= high <= T - 2:
        raise ValueError(f"distance must satisfy 1 <= distance <= n_timesteps - 2 = {T - 2}, got "
                         f"{distance}")
    if not _is_count(vocab_size) or vocab_size < 4:
        raise ValueError(f"vocab_size must be an int of at least 4 (padding, marker and two "
                         f"words), got {vocab_size!r}")
    rs = check_random_state(random_state)
    X = rs.randint(2, vocab_size, size=(n_samples, T)).astype(np.int32)
    dist = rs.randint(low, high + 1, size=n_samples)
    rows = np.arange(n_samples)
    kept = T - 1 - dist
    X[rows, kept - 1] = 1
    y = (X[rows, kept] >= (2 + vocab_size) // 2).astype(int)
    if return_text:
        X = [" ".join("mark" if t == 1 else f"w{t}" for t in row) for row in X.tolist()]
    return (X, y, dist) if return_distance else (X, y)


def make_topic_documents(n_samples=1000, length=200, n_topics=8, vocab_size=2000,
                         words_per_topic=10, topic_rate=0.04, noise_rate=0.02, return_text=False,
                         random_state=None):
    """Long documents whose topic is told by a few scattered keywords: a test of stable training.

    Every document is ``length`` word ids drawn from a Zipf-like background
    distribution over ids ``2..vocab_size-1``.  Each topic owns
    ``words_per_topic`` keywords; at every position, with probability
    ``topic_rate`` the word is a keyword of the document's own topic, and with
    probability ``noise_rate`` a keyword of a random topic (possibly its own).
    The label is the topic.  About ``length * topic_rate`` (8 by default)
    informative words are spread over the whole document, so a recurrent model
    reading its last state must carry evidence across up to ``length`` steps;
    long sequences like these are where unclipped gradients of an LSTM explode
    and training stalls or collapses (see the user guide's training page).

    Parameters
    ----------
    n_samples : int, default 1000
    length : int, default 200
        Tokens per document.
    n_topics : int, default 8
    vocab_size : int, default 2000
        Ids are ``0 < id < vocab_size``; id 1 is never used (the
        out-of-vocabulary id of :class:`~fastrnn.TextSequencer`).
    words_per_topic : int, default 10
    topic_rate, noise_rate : float, default 0.04 and 0.02
        Probabilities, per position, of an own-topic keyword and of a keyword
        of a random topic; ``topic_rate + noise_rate <= 1``.
    return_text : bool, default False
        Return strings such as ``"w17 w4 w230 ..."`` (word ``w<i>`` is id ``i``).
    random_state : int, RandomState or None

    Returns
    -------
    X : ndarray of shape (n_samples, length), int32, or list of str
    y : ndarray of shape (n_samples,), int
        The topic, ``0..n_topics-1``.
    """
    n_samples = _count(n_samples, "n_samples")
    for name, value in (("length", length), ("n_topics", n_topics), ("vocab_size", vocab_size),
                        ("words_per_topic", words_per_topic)):
        if not _is_count(value):
            raise ValueError(f"{name} must be an int, got {value!r}")
    if n_topics < 2:
        raise ValueError(f"n_topics must be at least 2, got {n_topics}")
    if words_per_topic < 1:
        raise ValueError(f"words_per_topic must be at least 1, got {words_per_topic}")
    if vocab_size - 2 < n_topics * words_per_topic:
        raise ValueError(f"vocab_size={vocab_size} leaves fewer than n_topics * words_per_topic = "
                         f"{n_topics * words_per_topic} word ids for the keywords")
    if not (0 <= topic_rate and 0 <= noise_rate and topic_rate + noise_rate <= 1):
        raise ValueError("topic_rate and noise_rate must be >= 0 with topic_rate + noise_rate <= 1, "
                         f"got {topic_rate} and {noise_rate}")
    if length < 1:
        raise ValueError(f"length must be at least 1, got {length}")
    rs = check_random_state(random_state)
    words = np.arange(2, vocab_size)
    keywords = rs.permutation(words)[:n_topics * words_per_topic].reshape(n_topics, words_per_topic)
    zipf = 1.0 / np.arange(1, len(words) + 1)
    y = rs.randint(n_topics, size=n_samples)
    X = rs.choice(words, size=(n_samples, length), p=zipf / zipf.sum()).astype(np.int32)
    u = rs.rand(n_samples, length)
    which = rs.randint(words_per_topic, size=(n_samples, length))
    topic = np.where(u < topic_rate, y[:, None], rs.randint(n_topics, size=(n_samples, length)))
    keyword = u < topic_rate + noise_rate
    X[keyword] = keywords[topic[keyword], which[keyword]]
    if return_text:
        X = [" ".join(f"w{t}" for t in row) for row in X.tolist()]
    return X, y


def make_bracket_tagging(n_samples=1000, n_timesteps=20, vocab_size=10, p_bracket=0.15,
                         random_state=None):
    """Tag every token inside brackets: a per-token task that needs memory.

    Tokens are words (ids ``3..vocab_size-1``), "(" (id 1) and ")" (id 2);
    brackets do not nest and every "(" is closed later or left open at the end.
    A token's label is 1 when it lies strictly inside a bracket pair (or after
    an unclosed "("), else 0; brackets themselves are 0.  The label of a word
    depends on a bracket arbitrarily far back, so a per-position classifier of
    the current token alone cannot beat the share of the majority label.

    Parameters
    ----------
    n_samples : int, default 1000
    n_timesteps : int, default 20
    vocab_size : int, default 10
    p_bracket : float, default 0.15
        Probability that a position opens (outside) or closes (inside) a bracket.
    random_state : int, RandomState or None

    Returns
    -------
    X : ndarray of shape (n_samples, n_timesteps), int32
    Y : ndarray of shape (n_samples, n_timesteps), int
    """
    n_samples, n_timesteps = _count(n_samples, "n_samples"), _count(n_timesteps, "n_timesteps")
    if not _is_count(vocab_size) or vocab_size < 4:
        raise ValueError("vocab_size must be an int of at least 4 (padding, two brackets, one "
                         f"word), got {vocab_size!r}")
    if not (isinstance(p_bracket, numbers.Real) and not isinstance(p_bracket, bool)
            and 0 <= p_bracket <= 1):
        raise ValueError(f"p_bracket must be a probability in [0, 1], got {p_bracket!r}")
    rs = check_random_state(random_state)
    X = rs.randint(3, vocab_size, size=(n_samples, n_timesteps)).astype(np.int32)
    Y = np.zeros((n_samples, n_timesteps), dtype=int)
    toggles = rs.rand(n_samples, n_timesteps) < p_bracket
    inside = np.zeros(n_samples, dtype=bool)
    for t in range(n_timesteps):
        opens, closes = toggles[:, t] & ~inside, toggles[:, t] & inside
        X[opens, t], X[closes, t] = 1, 2
        Y[:, t] = inside & ~closes
        inside = (inside | opens) & ~closes
    return X, Y


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
    n_samples = _count(n_samples, "n_samples")
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
