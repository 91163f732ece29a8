"""Floating-point dtypes flow through: float64, float32 and float16 inputs get gradients of their own
dtype whose values match the float64 formula to that dtype's precision; casts inside the function
(mixed precision) give the gradient the dtype of the input, not of the cast. Integer and complex
inputs in wrt are refused with a message that names the parameter and says what to do.

Already covered elsewhere, not repeated here: float64/float32 numpy scalars and one array function
over three dtypes (test_api), SEED idiom 14 `np.sum(x16.astype(np.float32) * 2)` (test_indexing),
numpy integer scalars (test_safety).
"""

import math

import numpy as np
import pytest

import s2sgrad

# relative tolerance against the float64 formula, per dtype (about 50 units in the last place)
TOLERANCE = {np.float64: 1e-12, np.float32: 5e-6, np.float16: 2e-2}
FLOATS = list(TOLERANCE)


def scalar_math(x, a):
    return math.sin(x) * math.exp(-a * x) + x * a


def elementwise(x):
    return np.sum(np.exp(-x) * np.sqrt(x) + x ** 3 / 2.0)


def elementwise_gradient(x):
    return np.exp(-x) * (0.5 / np.sqrt(x) - np.sqrt(x)) + 1.5 * x * x


def layer(W, x):
    return np.sum(np.tanh(W @ x))


def layer_gradient(W, x):
    s = 1.0 - np.tanh(W @ x) ** 2
    return np.outer(s, x), W.T @ s


def iterated(x, n):
    for i in range(n):
        x = np.sin(x) * 0.9 + 0.1 * x
    return np.sum(x)


def iterated_gradient(x, n):
    g = np.ones_like(x)
    for i in range(n):
        g = g * (0.9 * np.cos(x) + 0.1)
        x = np.sin(x) * 0.9 + 0.1 * x
    return g


def data(dtype):
    rng = np.random.default_rng(20)
    x = rng.uniform(0.5, 1.5, size=4)
    W = rng.normal(size=(3, 4)) * 0.5
    return x.astype(dtype), W.astype(dtype)


def assert_gradient(g, expected, dtype):
    assert isinstance(g, np.ndarray) and g.dtype == dtype and g.shape == np.shape(expected)
    np.testing.assert_allclose(g.astype(np.float64), expected, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", FLOATS)
def test_numpy_scalars_through_math_functions_keep_their_type(dtype):
    x, a = dtype(0.75), dtype(0.5)
    gx, ga = s2sgrad.grad(scalar_math, wrt=(0, 1))(x, a)
    assert type(gx) is dtype and type(ga) is dtype
    x64, a64 = float(x), float(a)
    assert float(gx) == pytest.approx(math.cos(x64) * math.exp(-a64 * x64)
                                      - a64 * math.sin(x64) * math.exp(-a64 * x64) + a64, rel=TOLERANCE[dtype])
    assert float(ga) == pytest.approx(-x64 * math.sin(x64) * math.exp(-a64 * x64) + x64, rel=TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", FLOATS)
def test_elementwise_array_function_keeps_the_dtype_and_its_value(dtype):
    x, _ = data(dtype)
    value, g = s2sgrad.value_and_grad(elementwise)(x)
    assert value == elementwise(x) and np.asarray(value).dtype == dtype   # the primal, computed as the user's
    assert_gradient(g, elementwise_gradient(x.astype(np.float64)), dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_matrix_vector_layer_keeps_the_dtype(dtype):
    x, W = data(dtype)
    dW, dx = s2sgrad.grad(layer, wrt=(0, 1))(W, x)
    expected_dW, expected_dx = layer_gradient(W.astype(np.float64), x.astype(np.float64))
    assert_gradient(dW, expected_dW, dtype)
    assert_gradient(dx, expected_dx, dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_loop_carrying_an_array_keeps_the_dtype(dtype):
    x, _ = data(dtype)
    g = s2sgrad.grad(iterated)(x, 5)
    # the float16 primal rounds at every step; compare with the formula along that same path
    assert_gradient(g, iterated_gradient(x, 5).astype(np.float64), dtype)
    if dtype is not np.float16:
        np.testing.assert_allclose(g, iterated_gradient(x.astype(np.float64), 5), rtol=TOLERANCE[dtype])


def test_arguments_of_different_dtypes_each_get_their_own():
    x, _ = data(np.float64)
    _, W = data(np.float32)
    dW, dx = s2sgrad.grad(layer, wrt=(0, 1))(W, x)
    assert dW.dtype == np.float32 and dx.dtype == np.float64
    expected_dW, expected_dx = layer_gradient(W.astype(np.float64), x)
    np.testing.assert_allclose(dW, expected_dW, rtol=TOLERANCE[np.float32])
    np.testing.assert_allclose(dx, expected_dx, rtol=TOLERANCE[np.float32])


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_low_precision_gradients_agree_with_float64_finite_differences(dtype):
    x, W = data(dtype)
    assert s2sgrad.check_grad(layer, W, x, wrt=(0, 1), rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])


# ---------------------------------------------------------------------------------------------
# Mixed precision: a cast inside the function
# ---------------------------------------------------------------------------------------------

def downcast_square(x):
    return np.sum(x.astype(np.float32) ** 2)


def upcast_log(x):
    return np.sum(np.log(x.astype(np.float64)))


def half_through_a_float32_chain(x16):
    h = x16.astype(np.float32)
    return np.sum(np.tanh(h) * h)


def test_float64_input_cast_down_to_float32_gets_a_float64_gradient():
    x, _ = data(np.float64)
    g = s2sgrad.grad(downcast_square)(x)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, 2.0 * x, rtol=1e-6)       # computed through float32


def test_float32_input_cast_up_to_float64_gets_a_float32_gradient():
    x, _ = data(np.float32)
    g = s2sgrad.grad(upcast_log)(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, 1.0 / x.astype(np.float64), rtol=TOLERANCE[np.float32])


def test_float16_input_through_a_float32_computation_gets_a_float16_gradient():
    x16, _ = data(np.float16)
    g = s2sgrad.grad(half_through_a_float32_chain)(x16)
    assert g.dtype == np.float16
    h = x16.astype(np.float64)
    np.testing.assert_allclose(g.astype(np.float64), np.tanh(h) + h * (1.0 - np.tanh(h) ** 2),
                               rtol=TOLERANCE[np.float16])


# ---------------------------------------------------------------------------------------------
# Integer and complex inputs in wrt are refused, clearly
# ---------------------------------------------------------------------------------------------

def weighted(counts, w):
    return np.sum(counts * w)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.uint8, np.int64])
def test_integer_array_in_wrt_raises_type_error_naming_the_parameter_and_the_fix(dtype):
    counts = np.arange(6, dtype=dtype).reshape(2, 3)
    with pytest.raises(TypeError) as info:
        s2sgrad.grad(weighted, wrt=("counts", "w"))(counts, np.ones(3))
    message = str(info.value)
    assert "'counts'" in message
    assert np.dtype(dtype).name in message
    assert "astype(float)" in message


@pytest.mark.parametrize("value", [
    np.array([1.0 + 2.0j, 3.0], dtype=np.complex64),
    np.array([[1.0j, 2.0], [0.5, -1.0j]]),
    np.complex128(1.0 + 1.0j),
    np.complex64(2.0 - 1.0j),
], ids=["complex64_array", "complex128_matrix", "complex128_scalar", "complex64_scalar"])
def test_complex_input_in_wrt_is_not_supported_yet(value):
    with pytest.raises(TypeError) as info:
        s2sgrad.grad(weighted, wrt="w")(np.ones(2), value)
    message = str(info.value)
    assert "complex inputs are not supported yet" in message
    assert "'w'" in message


def transposed_then_updated_in_place(W):
    b = np.tanh(np.transpose(W))                # Fortran-ordered
    t1 = b.copy()
    b -= 0.4 * np.tanh(t1)                      # NumPy keeps b's layout; np.sum adds in memory order
    return np.sum(b)


def test_an_array_updated_in_place_keeps_its_layout_so_the_value_is_the_functions_to_the_last_bit():
    for seed in range(20):                      # fuzz 70000593: a 1-ulp difference from a C-ordered result
        W = np.random.default_rng(seed).normal(size=(5, 7))
        value, _ = s2sgrad.value_and_grad(transposed_then_updated_in_place)(W)
        assert value == transposed_then_updated_in_place(W)
        assert s2sgrad.jvp(transposed_then_updated_in_place, (W,), np.ones_like(W))[0] == value
