"""The public API's contracts: gradient types, purity, caching per argument kind, the compiled
adjoint, deterministic generated code, and tracebacks that point into the generated code."""

import inspect
import linecache
import math
import os
import pathlib
import subprocess
import sys
import traceback

import numpy as np
import pytest

import s2sgrad
from gradcheck import numeric_grad

ROOT = pathlib.Path(__file__).resolve().parent.parent
TESTS = pathlib.Path(__file__).resolve().parent


# ---------------------------------------------------------------------------------------------
# Gradient types, shapes and dtypes
# ---------------------------------------------------------------------------------------------

def scalar_fn(x, y):
    return math.sin(x) * y + x * x


def array_fn(x, w):
    h = np.tanh(x * w)
    return np.sum(h * h + np.sin(x))


def unused_arg(x, y, n):
    s = x * x
    for i in range(n):
        s = s + x
    return s


def unused_array_arg(x, w):
    return np.sum(np.sin(x))


@pytest.mark.parametrize("x, y", [(0.5, 1.5), (-2.0, 0.25)])
def test_python_float_arguments_get_python_float_gradients(x, y):
    gx, gy = s2sgrad.grad(scalar_fn, wrt=(0, 1))(x, y)
    assert type(gx) is float and type(gy) is float
    assert gx == pytest.approx(math.cos(x) * y + 2 * x, rel=1e-12)
    assert gy == pytest.approx(math.sin(x), rel=1e-12)


def test_single_wrt_gives_a_bare_gradient_and_a_tuple_of_one_gives_a_tuple():
    g = s2sgrad.grad(scalar_fn, wrt="x")(0.5, 1.5)
    (g1,) = s2sgrad.grad(scalar_fn, wrt=("x",))(0.5, 1.5)
    assert type(g) is float
    assert g == g1


@pytest.mark.parametrize("x, y", [(2, 3), (-1, 4)])
def test_python_int_arguments_in_wrt_are_accepted_and_get_float_gradients(x, y):
    gx, gy = s2sgrad.grad(scalar_fn, wrt=(0, 1))(x, y)
    assert type(gx) is float and type(gy) is float
    assert gx == pytest.approx(math.cos(x) * y + 2 * x, rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_numpy_scalar_arguments_get_gradients_of_the_same_numpy_type(dtype):
    g = s2sgrad.grad(scalar_fn)(dtype(0.5), dtype(1.5))
    assert type(g) is dtype
    assert float(g) == pytest.approx(math.cos(0.5) * 1.5 + 1.0, rel=1e-6)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5), (np.float16, 5e-3)])
@pytest.mark.parametrize("shape", [(3,), (2, 3), (4, 1, 2)])
def test_array_gradients_have_the_dtype_and_shape_of_their_argument(dtype, rtol, shape):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.0, 1.0, size=shape).astype(dtype)
    w = rng.uniform(0.5, 1.5, size=shape).astype(dtype)
    gx, gw = s2sgrad.grad(array_fn, wrt=(0, 1))(x, w)
    for g in (gx, gw):
        assert isinstance(g, np.ndarray)
        assert g.dtype == dtype
        assert g.shape == shape
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    h = np.tanh(x64 * w64)
    np.testing.assert_allclose(gx, 2 * h * (1 - h * h) * w64 + np.cos(x64), rtol=rtol, atol=rtol)
    np.testing.assert_allclose(gw, 2 * h * (1 - h * h) * x64, rtol=rtol, atol=rtol)


def test_broadcast_argument_gets_gradient_of_its_own_shape_and_dtype():
    x = np.linspace(0.1, 1.0, 6).reshape(2, 3).astype(np.float32)
    w = np.array([0.5, 1.0, 1.5], dtype=np.float32)
    gx, gw = s2sgrad.grad(array_fn, wrt=(0, 1))(x, w)
    assert gx.shape == (2, 3) and gw.shape == (3,)
    assert gx.dtype == np.float32 and gw.dtype == np.float32


@pytest.mark.parametrize("n", [0, 3])
def test_argument_without_path_to_output_gets_a_zero_float_gradient(n):
    gx, gy = s2sgrad.grad(unused_arg, wrt=(0, 1))(0.5, 2.0, n)
    assert gx == pytest.approx(2 * 0.5 + n, rel=1e-12)
    assert type(gy) is float and gy == 0.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_array_argument_without_path_to_output_gets_zeros_of_its_shape_and_dtype(dtype):
    x = np.array([0.1, 0.2, 0.3], dtype=dtype)
    w = np.ones((2, 3), dtype=dtype)
    gx, gw = s2sgrad.grad(unused_array_arg, wrt=(0, 1))(x, w)
    assert isinstance(gw, np.ndarray)
    assert gw.shape == (2, 3) and gw.dtype == dtype
    assert not gw.any()
    gw[0, 0] = 1.0           # a real, writeable array (not a read-only broadcast view)
    np.testing.assert_allclose(gx, np.cos(x), rtol=1e-6)


@pytest.mark.parametrize("bad, kind", [
    (np.array([1, 2, 3]), "int64"),
    (np.array([1, 2, 3], dtype=np.int32), "int32"),
    (np.array([1.0 + 1j, 2.0]), "complex"),
    (1.0 + 2.0j, "complex"),
    (True, "bool"),
])
def test_integer_complex_and_bool_arguments_in_wrt_raise_type_error(bad, kind):
    with pytest.raises(TypeError) as info:
        s2sgrad.grad(unused_array_arg)(bad, 1.0)
    assert kind in str(info.value)


def test_integer_array_not_in_wrt_is_fine():
    counts = np.array([1, 2, 3])
    g = s2sgrad.grad(array_fn, wrt=0)(np.array([0.1, 0.2, 0.3]), counts)
    assert g.dtype == np.float64


# ---------------------------------------------------------------------------------------------
# Purity: generated code never writes into the caller's arrays
# ---------------------------------------------------------------------------------------------

def inplace_looking(x, w, n):
    # y and z start as fresh arrays, so in plain Python the augmented assignments touch no argument;
    # the generated code must not turn them (or its adjoint accumulations) into writes to x or w
    y = x * 1.0
    for i in range(n):
        y += w
        y *= 0.9
        x = x * 1.01
    z = x + 0.0
    z -= w * 0.5
    z /= 2.0
    return np.sum(y * z + np.sin(w))


def accumulates_into_args(x, w):
    a = x * w
    b = x + w
    c = x - w
    return np.sum(a * b * c) + np.sum(x)


@pytest.mark.parametrize("fn, args, wrt", [
    (inplace_looking, (np.array([0.1, 0.2, 0.3]), np.array([1.0, -0.5, 2.0]), 4), (0, 1)),
    (inplace_looking, (np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]), np.array([1.0, -0.5, 2.0]), 2), (0, 1)),
    (accumulates_into_args, (np.array([0.1, 0.2, 0.3]), np.array([1.0, -0.5, 2.0])), (0, 1)),
    (array_fn, (np.array([0.1, 0.2, 0.3], dtype=np.float32), np.array([1.0, -0.5, 2.0], dtype=np.float32)), (0, 1)),
], ids=["augmented_1d", "augmented_broadcast", "accumulate", "float32"])
def test_generated_code_never_modifies_the_callers_arrays(fn, args, wrt):
    before = [np.copy(a) if isinstance(a, np.ndarray) else a for a in args]
    expected_value = fn(*[np.copy(a) if isinstance(a, np.ndarray) else a for a in args])
    value, grads = s2sgrad.value_and_grad(fn, wrt=wrt)(*args)
    for a, b in zip(args, before):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
    assert value == pytest.approx(expected_value, rel=1e-6)
    grads2 = s2sgrad.grad(fn, wrt=wrt)(*args)           # a second call sees the same inputs
    for g, g2 in zip(grads, grads2):
        np.testing.assert_array_equal(g, g2)


def test_gradient_of_inplace_looking_code_matches_finite_differences():
    x, w = np.array([0.1, 0.2, 0.3]), np.array([1.0, -0.5, 2.0])
    for pos in (0, 1):
        g = s2sgrad.grad(inplace_looking, wrt=pos)(x.copy(), w.copy(), 3)
        np.testing.assert_allclose(g, numeric_grad(inplace_looking, (x, w, 3), pos), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# Scalar and array calls of the same function
# ---------------------------------------------------------------------------------------------

def poly_scalar_or_array(x, w):
    return np.sum(x * x * w + np.sin(x) * 0.5)


def poly_array_first(x, w):
    return np.sum(x * x * w + np.sin(x) * 0.5)


def test_same_function_called_with_a_scalar_then_an_array_gives_correct_gradients():
    grad = s2sgrad.grad(poly_scalar_or_array, wrt=(0, 1))
    gx, gw = grad(0.5, 2.0)
    assert type(gx) is float and type(gw) is float
    assert gx == pytest.approx(2 * 0.5 * 2.0 + 0.5 * math.cos(0.5), rel=1e-12)
    x, w = np.array([0.5, -1.0, 2.0]), np.array([2.0, 1.0, 0.5])
    gx, gw = grad(x, w)
    np.testing.assert_allclose(gx, 2 * x * w + 0.5 * np.cos(x), rtol=1e-12)
    np.testing.assert_allclose(gw, x * x, rtol=1e-12)
    gx, gw = grad(x, 2.0)                # array and scalar mixed: scalar gradient is summed
    assert type(gw) is float
    assert gw == pytest.approx(float(np.sum(x * x)), rel=1e-12)
    assert grad(0.5, 2.0)[0] == pytest.approx(2 * 0.5 * 2.0 + 0.5 * math.cos(0.5), rel=1e-12)


def test_same_function_called_with_an_array_then_a_scalar_gives_correct_gradients():
    grad = s2sgrad.grad(poly_array_first, wrt=(0, 1))
    x, w = np.array([[0.5, -1.0], [2.0, 0.1]]), np.array([[2.0, 1.0], [0.5, 3.0]])
    gx, gw = grad(x, w)
    np.testing.assert_allclose(gx, 2 * x * w + 0.5 * np.cos(x), rtol=1e-12)
    gx, gw = grad(0.5, 2.0)
    assert type(gx) is float
    assert gx == pytest.approx(2 * 0.5 * 2.0 + 0.5 * math.cos(0.5), rel=1e-12)
    assert gw == pytest.approx(0.25, rel=1e-12)


@s2sgrad.differentiate(wrt=("x", "w"))
def decorated_poly(x, w):
    return np.sum(x * x * w + np.sin(x) * 0.5)


def test_decorated_function_alternating_scalar_and_array_calls():
    for _ in range(2):
        assert decorated_poly.grad(0.5, 2.0)[0] == pytest.approx(2.0 + 0.5 * math.cos(0.5), rel=1e-12)
        x = np.array([0.5, 1.5])
        np.testing.assert_allclose(decorated_poly.grad(x, 2.0)[0], 4 * x + 0.5 * np.cos(x), rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# The compiled adjoint and the generated source
# ---------------------------------------------------------------------------------------------

@s2sgrad.differentiate(wrt=("x", "a"))
def headline(x, a, n=10):
    for i in range(n):
        x = math.sin(x) * a + 0.1 * x
    return x


@s2sgrad.differentiate
def single(x):
    return math.exp(x) * x


def test_adjoint_is_callable_and_returns_value_and_tuple_of_gradients():
    adjoint = headline.adjoint
    assert callable(adjoint)
    value, grads = adjoint(0.5, 0.9)
    assert value == pytest.approx(headline(0.5, 0.9), rel=1e-14)
    assert isinstance(grads, tuple) and len(grads) == 2
    np.testing.assert_allclose(grads, headline.grad(0.5, 0.9), rtol=1e-12)
    value, grads = adjoint(0.5, 0.9, 3)
    assert value == pytest.approx(headline(0.5, 0.9, 3), rel=1e-14)
    np.testing.assert_allclose(grads, headline.grad(0.5, 0.9, 3), rtol=1e-12)


def test_adjoint_of_single_wrt_returns_value_and_gradient():
    value, g = single.adjoint(0.7)
    assert value == pytest.approx(math.exp(0.7) * 0.7, rel=1e-14)
    assert g == pytest.approx(math.exp(0.7) * 1.7, rel=1e-12)


def test_source_property_is_python_defining_the_adjoint():
    text = headline.source
    assert isinstance(text, str)
    assert text.startswith("def grad_headline(")
    compile(text, "<test>", "exec")
    assert text == s2sgrad.source(headline, wrt=("x", "a"))


def test_inspect_getsource_of_the_adjoint_returns_the_generated_text():
    assert inspect.getsource(headline.adjoint) == headline.source
    assert inspect.getsource(single.adjoint) == single.source


def inner_helper(u, v):
    return u * math.sin(v)


def outer_with_helper(x, y):
    return inner_helper(x, y) + inner_helper(y, x) * 2.0


def test_inspect_getsource_of_an_adjoint_with_helpers_is_the_first_part_of_the_source():
    decorated = s2sgrad.differentiate(outer_with_helper, wrt=(0, 1))
    own = inspect.getsource(decorated.adjoint)
    assert decorated.source.startswith(own)
    assert "def vjp_inner_helper" in decorated.source and "def pullback_inner_helper" in decorated.source


def test_source_is_identical_across_calls():
    first = s2sgrad.source(outer_with_helper, wrt=(0, 1))
    for _ in range(3):
        assert s2sgrad.source(outer_with_helper, wrt=(0, 1)) == first
    assert s2sgrad.source(headline, wrt=("x", "a")) == s2sgrad.source(headline, wrt=("x", "a"))


def determinism_probe(x, y, n):
    a, b = x, y
    for i in range(n):
        if a > b:
            a, b = b, a * 0.5
        else:
            b = b + inner_helper(a, b)
        if i > 7:
            break
    while a < 1.0:
        a = a * 2.0 + math.log(y)
    return a * b + outer_with_helper(x, y)


_SUBPROCESS_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
import s2sgrad, test_api
sys.stdout.write(s2sgrad.source(test_api.determinism_probe, wrt=(0, 1)))
"""


def test_source_is_identical_in_two_fresh_processes_with_different_hash_seeds():
    script = _SUBPROCESS_SCRIPT.format(tests=str(TESTS))
    outputs = []
    for seed in ("1", "12345"):
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONHASHSEED=seed)
        result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                                timeout=60, cwd=str(ROOT))
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    assert outputs[0] == s2sgrad.source(determinism_probe, wrt=(0, 1))


# ---------------------------------------------------------------------------------------------
# Tracebacks point into the generated code
# ---------------------------------------------------------------------------------------------

def log_of_shifted(x):
    y = x - 2.0
    return math.log(y) * x


def det_then_scale(a):
    y = np.linalg.det(a)
    return y * 3.0


def _generated_frames(tb):
    return [f for f in traceback.extract_tb(tb) if f.filename.startswith("<s2sgrad")]


def test_exception_in_the_generated_forward_sweep_has_a_frame_in_generated_code():
    with pytest.raises(ValueError) as info:
        s2sgrad.grad(log_of_shifted)(0.5)          # math.log(-1.5)
    frames = _generated_frames(info.value.__traceback__)
    assert frames, "no traceback frame in generated code"
    frame = frames[-1]
    line = linecache.getline(frame.filename, frame.lineno)
    assert "math.log" in line
    assert line.strip() == frame.line
    assert "log_of_shifted" in frame.filename


def test_exception_in_the_reverse_sweep_points_at_the_rules_generated_line():
    # d det(a) = det(a) a^-T: the inverse of a singular matrix, which only the reverse sweep computes
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    assert det_then_scale(singular) == 0.0
    with pytest.raises(np.linalg.LinAlgError) as info:
        s2sgrad.grad(det_then_scale)(singular)
    frames = _generated_frames(info.value.__traceback__)
    assert frames, "no traceback frame in generated code"
    line = linecache.getline(frames[-1].filename, frames[-1].lineno)
    assert "inv" in line


def test_generated_file_lines_in_linecache_are_the_generated_source():
    with pytest.raises(ValueError) as info:
        s2sgrad.grad(log_of_shifted)(0.5)
    filename = _generated_frames(info.value.__traceback__)[-1].filename
    text = "".join(linecache.getlines(filename))
    assert text.startswith("def grad_log_of_shifted(")
    compile(text, filename, "exec")
