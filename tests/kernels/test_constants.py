"""The constants both backends share are defined once, in fastrnn._constants; the Cython build uses them."""

import os

import numpy as np
import pytest

from fastrnn import _constants


def _shared():
    """The module's constants as the Cython build should hold them (float tuples in float32)."""
    out = {}
    for name, value in vars(_constants).items():
        if name.isupper():
            out[name] = tuple(float(np.float32(c)) for c in value) if isinstance(value, tuple) else value
    return out


def test_the_cython_build_compiled_the_shared_constants():
    sync = pytest.importorskip("fastrnn._cython.sync")
    assert sync.BUILD_CONSTANTS == _shared()


def test_the_generated_declarations_are_up_to_date():
    path = os.path.join(os.path.dirname(_constants.__file__), "_cython", "_constants.pxd")
    if not os.path.exists(path):
        pytest.skip("no Cython build in this tree")
    with open(path) as f:
        assert f.read() == _constants.cython_declarations(), "rebuild: python setup.py build_ext --inplace"


def test_the_cython_declarations_cover_every_constant():
    text = _constants.cython_declarations()
    for name, value in _shared().items():
        if isinstance(value, tuple):
            assert all(f" {name}{i} \"FASTRNN_{name}{i}\"" in text for i in range(len(value)))
        else:
            assert f"enum: {name} \"FASTRNN_{name}\"" in text
