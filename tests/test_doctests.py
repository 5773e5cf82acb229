"""The ``>>>`` examples in the docstrings are run, so they stay true."""

import doctest

import pytest

import fastrnn._backend
import fastrnn.estimators.sequence_regressor
import fastrnn.layers._packing
import fastrnn.text


@pytest.mark.parametrize("module", [fastrnn.text, fastrnn.layers._packing, fastrnn._backend,
                                    fastrnn.estimators.sequence_regressor],
                         ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
