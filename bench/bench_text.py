"""TextSequencer on an IMDB-sized corpus: 25,000 reviews of 230 words on average.

The corpus is generated (Zipf-distributed words of 2-7 letters, 230 words per
review on average like IMDB's: about 34 MB), so the benchmark runs offline.
"""

import numpy as np
import pytest

from fastrnn import TextSequencer


@pytest.fixture(scope="module")
def reviews():
    rng = np.random.default_rng(0)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words = np.array(["".join(rng.choice(letters, size=n)) for n in rng.integers(2, 8, size=50_000)])
    ranks = np.minimum(rng.zipf(1.2, size=25_000 * 230), 50_000) - 1
    lengths = rng.poisson(230, size=25_000)
    cuts = np.cumsum(lengths)[:-1]
    docs = [" ".join(chunk) + "." for chunk in np.split(words[ranks[:lengths.sum()]], cuts)]
    assert sum(map(len, docs)) > 6e6  # IMDB-sized reviews make ~34 MB; at least the 6 MB asked
    return docs


def bench_text_sequencer_fit_transform_25k_reviews(benchmark, reviews):
    benchmark.group = "text"
    seq = TextSequencer(max_features=10_000, maxlen=500)
    X = benchmark.pedantic(lambda: seq.fit_transform(reviews), rounds=3, warmup_rounds=0)
    assert X.shape == (25_000, 500)
