"""Pretrained word vectors: load_word_vectors on generated files of every format, fixed
vocabularies in TextSequencer, and embedding_matrix."""

import gzip
import io

import numpy as np
import pytest
from sklearn.base import clone

import fastrnn
from fastrnn import TextSequencer
from fastrnn.text import embedding_matrix, load_word_vectors

WORDS = ["the", "film", "café", "naïve", "東京", "good"]


@pytest.fixture
def table():
    rng = np.random.default_rng(0)
    return WORDS, rng.normal(size=(len(WORDS), 5)).astype(np.float32)


def text_lines(words, vectors):
    return "".join(w + " " + " ".join(repr(float(v)) for v in row) + "\n"
                   for w, row in zip(words, vectors))


def write_text(path, words, vectors, header=False):
    body = text_lines(words, vectors)
    if header:
        body = f"{len(words)} {vectors.shape[1]}\n" + body
    path.write_bytes(body.encode("utf-8"))
    return path


def binary_bytes(words, vectors, newline=True):
    out = f"{len(words)} {vectors.shape[1]}\n".encode()
    for w, row in zip(words, vectors):
        out += w.encode("utf-8") + b" " + row.astype("<f4").tobytes() + (b"\n" if newline else b"")
    return out


@pytest.mark.parametrize("header", [False, True], ids=["glove", "word2vec-text"])
def test_text_formats_round_trip(tmp_path, table, header):
    words, vectors = table
    path = write_text(tmp_path / "v.txt", words, vectors, header=header)
    got_words, got = load_word_vectors(path)
    assert got_words == words
    assert got.dtype == np.float32 and got.shape == vectors.shape
    np.testing.assert_array_equal(got, vectors)


@pytest.mark.parametrize("newline", [True, False])
def test_word2vec_binary_round_trips(tmp_path, table, newline):
    words, vectors = table
    path = tmp_path / "v.bin"
    path.write_bytes(binary_bytes(words, vectors, newline))
    got_words, got = load_word_vectors(path, binary=True)
    assert got_words == words
    np.testing.assert_array_equal(got, vectors)
    got_words, got = load_word_vectors(path, binary=True, max_words=2)
    assert got_words == words[:2] and got.shape == (2, 5)


def test_gzip_input(tmp_path, table):
    words, vectors = table
    path = tmp_path / "v.vec.gz"
    with gzip.open(path, "wb") as f:
        f.write(f"{len(words)} 5\n{text_lines(words, vectors)}".encode())
    got_words, got = load_word_vectors(path)
    assert got_words == words
    np.testing.assert_array_equal(got, vectors)
    binpath = tmp_path / "v.bin.gz"
    with gzip.open(binpath, "wb") as f:
        f.write(binary_bytes(words, vectors))
    assert load_word_vectors(binpath, binary=True)[0] == words


class CountingReader(io.RawIOBase):
    """A raw file that counts the bytes it hands out."""

    def __init__(self, data):
        self.data, self.pos, self.served = data, 0, 0

    def readable(self):
        return True

    def readinto(self, b):
        n = min(len(b), len(self.data) - self.pos)
        b[:n] = self.data[self.pos:self.pos + n]
        self.pos += n
        self.served += n
        return n


@pytest.mark.parametrize("binary", [False, True])
def test_max_words_reads_only_the_start_of_a_large_file(binary):
    n, dim = 50_000, 10
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(n)]
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    data = binary_bytes(words, vectors) if binary else text_lines(words, vectors).encode()
    raw = CountingReader(data)
    got_words, got = load_word_vectors(io.BufferedReader(raw, buffer_size=8192), max_words=100,
                                       binary=binary)
    assert got_words == words[:100]
    np.testing.assert_array_equal(got, vectors[:100])
    line = len(data) / n
    # about 100 lines, plus the read-ahead of one buffer
    assert raw.served < 100 * line + 3 * 8192 < len(data) / 20


def test_words_with_spaces_keep_them(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("a 1 2\n. . . 3 4\nb 5 6\n", encoding="utf-8")
    words, vectors = load_word_vectors(path)
    assert words == ["a", ". . .", "b"]
    assert vectors.tolist() == [[1, 2], [3, 4], [5, 6]]


def test_duplicate_words_keep_their_first_vector(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("a 1 2\nb 3 4\na 5 6\nc 7 8\n", encoding="utf-8")
    words, vectors = load_word_vectors(path)
    assert words == ["a", "b", "c"]
    assert vectors.tolist() == [[1, 2], [3, 4], [7, 8]]


@pytest.mark.parametrize("body, message", [
    ("a 1 2\nb 3 x\n", r"line 2: 'x' is not a number"),
    ("a 1 2\nb 3\n", r"line 2: 1 values where the vectors have 2"),
    ("a 1 2\nb 3 4 5\n", r"line 2: 3 values where the vectors have 2"),
    ("3 2\na 1 2\nb 3 4 5\n", r"line 3: 3 values where the vectors have 2"),
    ("a\n", r"line 1: a word without a vector"),
    ("", r"holds no word vectors"),
])
def test_malformed_text_files_name_the_line(tmp_path, body, message):
    path = tmp_path / "v.txt"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_word_vectors(path)


def test_a_text_file_shorter_than_its_header_says_is_refused(tmp_path, table):
    words, vectors = table
    path = tmp_path / "v.vec"
    path.write_bytes(write_text(path, words, vectors, header=True).read_bytes().rsplit(b"\n", 3)[0])
    with pytest.raises(ValueError, match="declares 6 words but the file holds 4.*truncated"):
        load_word_vectors(path)
    assert len(load_word_vectors(path, max_words=3)[0]) == 3  # a prefix is all that is asked for
    path.write_text("3 2\na 1 2\nb 3 4\na 5 6\n", encoding="utf-8")  # a repeated word counts
    assert load_word_vectors(path)[0] == ["a", "b"]


def test_a_byte_order_mark_is_not_part_of_the_first_word(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("the 1 2\nfilm 3 4\n", encoding="utf-8-sig")
    assert load_word_vectors(path)[0] == ["the", "film"]
    path.write_text("2 2\nthe 1 2\nfilm 3 4\n", encoding="utf-8-sig")
    assert load_word_vectors(path)[0] == ["the", "film"]


def test_bad_bytes_and_bad_arguments(tmp_path, table):
    words, vectors = table
    path = tmp_path / "v.txt"
    path.write_bytes(b"a 1 2\n\xff\xfe 3 4\n")
    with pytest.raises(ValueError, match="line 2: not UTF-8"):
        load_word_vectors(path)
    binpath = tmp_path / "v.bin"
    binpath.write_bytes(binary_bytes(words, vectors)[:-10])
    with pytest.raises(ValueError, match="ends in the vector of word 6.*truncated"):
        load_word_vectors(binpath, binary=True)
    with pytest.raises(ValueError, match="header 'n_words dim'"):
        load_word_vectors(write_text(tmp_path / "g.txt", words, vectors), binary=True)
    with pytest.raises(ValueError, match="max_words must be a positive int"):
        load_word_vectors(binpath, max_words=0)
    with open(path, encoding="latin-1") as f, pytest.raises(TypeError, match="binary mode"):
        load_word_vectors(f)


# ------------------------------------------------------------------ fixed vocabularies
def test_a_fixed_vocabulary_numbers_tokens_in_its_order():
    seq = TextSequencer(vocabulary=["film", "good", "bad"]).fit(["nothing here is counted", "x"])
    assert seq.vocabulary_ == {"film": 2, "good": 3, "bad": 4}
    assert seq.index_to_token_ == ["", "<OOV>", "film", "good", "bad"]
    assert seq.vocab_size_ == 5
    assert seq.transform(["Good film, not bad"]).tolist() == [[3, 2, 1, 4]]
    assert seq.fit_transform(["bad bad film"]).tolist() == [[4, 4, 2]]
    # the learnt-vocabulary parameters are not used
    same = TextSequencer(vocabulary=("film", "good", "bad"), max_features=1, min_df=5).fit(["a"])
    assert same.vocabulary_ == seq.vocabulary_
    dropped = TextSequencer(vocabulary=np.array(["film", "good"]), oov_token=None).fit([])
    assert dropped.vocabulary_ == {"film": 1, "good": 2}
    assert dropped.transform(["good unknown film"]).tolist() == [[2, 1]]
    assert clone(seq).get_params()["vocabulary"] == ["film", "good", "bad"]


@pytest.mark.parametrize("vocabulary, message", [
    (["a", "b", "a"], r"vocabulary\[2\] = 'a' is a duplicate"),
    (["a", 3], r"vocabulary\[1\] is a int"),
    ([], "vocabulary is empty"),
    ({"a", "b"}, "vocabulary"),
])
def test_bad_fixed_vocabularies(vocabulary, message):
    with pytest.raises((ValueError, TypeError), match=message):
        TextSequencer(vocabulary=vocabulary).fit(["a b"])


def test_a_fixed_vocabulary_survives_save_and_load(tmp_path):
    seq = TextSequencer(vocabulary=WORDS, maxlen=4).fit([])
    loaded = fastrnn.load(fastrnn.save(seq, tmp_path / "s.fastrnn"))
    assert loaded.get_params() == seq.get_params()
    assert loaded.transform(["the café was good"]).tolist() == seq.transform(
        ["the café was good"]).tolist()


# ------------------------------------------------------------------ embedding_matrix
def test_embedding_matrix_aligns_vectors_with_ids(table):
    words, vectors = table
    seq = TextSequencer(vocabulary=["good", "missing", "the"]).fit([])
    E = embedding_matrix(seq, words, vectors)
    assert E.shape == (5, 5) and E.dtype == np.float32
    np.testing.assert_array_equal(E[[0, 1, 3]], 0.0)  # padding, OOV, a word without a vector
    np.testing.assert_array_equal(E[2], vectors[words.index("good")])
    np.testing.assert_array_equal(E[4], vectors[words.index("the")])
    # the same from the mapping and from the id-order token list
    np.testing.assert_array_equal(embedding_matrix(seq.vocabulary_, words, vectors), E)
    np.testing.assert_array_equal(embedding_matrix(seq.index_to_token_, words, vectors), E)
    learnt = TextSequencer().fit(["the good film", "the café"])
    E2 = embedding_matrix(learnt, words, vectors)
    for token, i in learnt.vocabulary_.items():
        np.testing.assert_array_equal(E2[i], vectors[words.index(token)])


def test_embedding_matrix_random_rows_for_missing_tokens(table):
    words, vectors = table
    seq = TextSequencer(vocabulary=["good", "zzz", "the", "yyy"]).fit([])
    E = embedding_matrix(seq, words, vectors, missing="random", random_state=0)
    np.testing.assert_array_equal(E[0], 0.0)
    np.testing.assert_array_equal(E[2], vectors[words.index("good")])
    np.testing.assert_array_equal(E[4], vectors[words.index("the")])
    assert np.all(E[[1, 3, 5]] != 0) and not np.array_equal(E[3], E[5])
    np.testing.assert_array_equal(
        E, embedding_matrix(seq, words, vectors, missing="random", random_state=0))
    with pytest.raises(ValueError, match="missing must be"):
        embedding_matrix(seq, words, vectors, missing="mean")
    with pytest.raises(ValueError, match="6 words but 2 vectors"):
        embedding_matrix(seq, words, vectors[:2])


def test_binary_records_of_another_width_or_text_are_refused_not_read_as_words():
    """A text file or records of another width read with binary=True gave words such as
    '.5678\\nfilm' and vectors of text bytes, without an error."""
    import io

    text = b"4 2\nthe 0.1234 0.5678\nfilm 0.2345 0.6789\ngood 0.3456 0.7891\nbad 0.4567 0.8912\n"
    for max_words in (3, None):
        with pytest.raises(ValueError, match="malformed record"):
            load_word_vectors(io.BytesIO(text), binary=True, max_words=max_words)
    wide = np.array([[2.0, 3.0, 0.5], [0.5, 2.0, 2.0], [3.0, 3.0, 2.0]], "<f4")
    data = b"3 2\n" + b"".join(w + b" " + r.tobytes() + b"\n"
                               for w, r in zip([b"the", b"film", b"bad"], wide))
    with pytest.raises(ValueError, match="malformed record"):
        load_word_vectors(io.BytesIO(data), binary=True)
    extra = b"1 2\n" + b"".join(w + b" " + np.float32([1, 2]).tobytes() + b"\n"
                                for w in [b"the", b"film"])
    with pytest.raises(ValueError, match="declares 1 words but the file holds more"):
        load_word_vectors(io.BytesIO(extra), binary=True)
    assert load_word_vectors(io.BytesIO(extra), binary=True, max_words=1)[0] == ["the"]


def test_non_finite_values_name_their_line_and_wide_tables_fit_in_memory(tmp_path):
    import io

    with pytest.raises(ValueError, match="line 2: a value is not a finite float32"):
        load_word_vectors(io.BytesIO(b"the 0.1 0.2\nfilm 1e40 0.4\n"))
    path = tmp_path / "wide.txt"  # blocks of 4096 rows made this 30 GiB
    path.write_text("a " + " ".join(["0.5"] * 200_000) + "\n")
    words, vectors = load_word_vectors(path)
    assert vectors.shape == (1, 200_000) and (vectors.base is None or vectors.base.size <= 400_000)


def test_a_fixed_vocabulary_refuses_reserved_names_and_warns_about_capitals():
    from fastrnn import TextSequencer

    with pytest.raises(ValueError, match="reserved id"):
        TextSequencer(vocabulary=["<OOV>", "film"]).fit([])
    with pytest.warns(UserWarning, match="have capitals"):
        TextSequencer(vocabulary=["The", "film"]).fit([])
    assert TextSequencer(vocabulary=["The", "film"], lowercase=False).fit([]).vocab_size_ == 4


def test_seq2seq_refuses_embedding_init_before_advising_on_its_width():
    from fastrnn import RNNSeq2Seq

    X = np.random.default_rng(0).integers(1, 12, (10, 5))
    with pytest.raises(ValueError, match="for a single embedding"):
        RNNSeq2Seq(units=8, max_iter=1, embedding_init=np.zeros((12, 4))).fit(X, X)


def test_binary_words_with_other_control_characters_load_as_in_text_files():
    import io

    data = b"2 2\n" + b"".join(w + b" " + np.float32([1, 2]).tobytes() + b"\n"
                               for w in [b"the", "a\x85b".encode()])
    assert load_word_vectors(io.BytesIO(data), binary=True)[0] == ["the", "a\x85b"]
    bad = b"1 2\nthe " + np.float32([np.nan, 1]).tobytes() + b"\n"
    with pytest.raises(ValueError, match="holds NaN or infinity"):
        load_word_vectors(io.BytesIO(bad), binary=True)


def test_no_capitals_warning_when_a_tokenizer_makes_the_tokens():
    import warnings

    from fastrnn import TextSequencer

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        seq = TextSequencer(tokenizer=str.split, vocabulary=["<NUM>", "film"]).fit([])
    assert seq.vocab_size_ == 4


def test_embedding_matrix_refuses_a_word_list_without_the_reserved_ids():
    """TextSequencer(vocabulary=words) takes the words alone; embedding_matrix's list form is
    index_to_token_ (the padding and unknown ids first): the words alone shifted every row."""
    words = ["good", "bad", "film"]
    vectors = np.arange(6, dtype=np.float32).reshape(3, 2) + 1
    seq = TextSequencer(vocabulary=words).fit([])
    with pytest.raises(ValueError, match="pass the fitted TextSequencer itself"):
        embedding_matrix(words, words, vectors)
    itos = ["<pad>", "<unk>"] + words  # another library's id order: its padding has no vector
    np.testing.assert_array_equal(embedding_matrix(itos, words, vectors),
                                  embedding_matrix(seq, words, vectors))
    np.testing.assert_array_equal(embedding_matrix(seq.index_to_token_, words, vectors),
                                  embedding_matrix(seq, words, vectors))


def test_embedding_matrix_warns_when_no_token_has_a_vector():
    seq = TextSequencer().fit(["good film", "bad plot"])
    with pytest.warns(UserWarning, match="no token of the vocabulary .* has a vector"):
        E = embedding_matrix(seq, ["/c/en/good", "/c/en/film"], np.ones((2, 3)))
    assert not E.any()


def test_a_truncated_compressed_vector_file_is_named(tmp_path):
    path = tmp_path / "vectors.txt.gz"
    with gzip.open(path, "wt") as f:
        f.write("".join(f"w{i} 0.5 0.25\n" for i in range(2000)))
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError, match="vectors.txt.gz: the compressed file is cut short"):
        load_word_vectors(path)
