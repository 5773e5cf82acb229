"""Datasets: Keras's IMDB/Reuters loaders and built-in generated tasks (offline, seeded)."""

from ._base import RemoteFileMetadata, fetch_file, get_data_home
from ._corpora import get_word_index, load_encoded, load_imdb, load_reuters
from ._npz import UnsafeFileError, load_npz
from ._pairs import load_pairs, make_addition, make_date_normalization, make_reversal
from ._series import load_jena_climate, make_macro_index, make_seasonal_series
from ._synthetic import (make_bracket_tagging, make_long_range_task, make_negation_sentiment,
                         make_topic_documents)

__all__ = [
    "RemoteFileMetadata",
    "UnsafeFileError",
    "fetch_file",
    "get_data_home",
    "get_word_index",
    "load_encoded",
    "load_imdb",
    "load_jena_climate",
    "load_npz",
    "load_pairs",
    "load_reuters",
    "make_addition",
    "make_bracket_tagging",
    "make_date_normalization",
    "make_long_range_task",
    "make_macro_index",
    "make_negation_sentiment",
    "make_reversal",
    "make_topic_documents",
    "make_seasonal_series",
]
