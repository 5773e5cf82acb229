"""Losses against their formulas written out in float64."""

import numpy as np
import pytest

from fastrnn.losses import binary_crossentropy


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_binary_crossentropy_and_its_gradient_follow_the_formula(dtype, rng):
    z = np.concatenate([rng.normal(scale=3.0, size=40), [0.0, -0.0, 30.0, -30.0, 90.0, -90.0]])
    y = rng.integers(0, 2, size=len(z))
    w = rng.random(len(z)) + 0.5
    loss, grad = binary_crossentropy(z.astype(dtype)[:, None], y, w)
    z = z.astype(dtype).astype(np.float64)
    p = np.exp(-np.logaddexp(0.0, -z))  # sigmoid, overflow-free
    per = np.logaddexp(0.0, z) - y * z  # -y log p - (1 - y) log(1 - p)
    rtol, atol = (1e-6, 1e-30) if dtype == np.float32 else (1e-12, 1e-300)  # float32 subnormals
    np.testing.assert_allclose(loss, (per * w).sum() / w.sum(), rtol=rtol)
    assert grad.shape == (len(z), 1) and grad.dtype == dtype
    np.testing.assert_allclose(grad[:, 0], (p - y) * w / w.sum(), rtol=rtol, atol=atol)
