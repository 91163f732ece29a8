"""The fast path of a gradient call (api._Gradient._fast_call): a call whose arguments have the types,
shapes and dtypes of an earlier call skips the work they decide, and gives what the full path gives.
Nothing is timed here (benchmarks/run.py times); these tests pin that the shortcut is taken and that it
weakens no check: stale globals, dtypes, shapes, memory shared with arguments, seeds, refusals."""

import math

import numpy as np
import pytest

import s2sgrad
from s2sgrad import api


def _gradient(g):
    return g.__s2sgrad_derivative__[1]


def _count_full_path(monkeypatch):
    calls = []
    real = api._kinds

    def counting(arguments, names):
        calls.append(1)
        return real(arguments, names)

    monkeypatch.setattr(api, "_kinds", counting)
    return calls


def square_sum(x, w, n=2):
    return np.sum((x * w) ** 2) * n


def test_a_repeated_call_takes_the_fast_path_and_gives_the_full_paths_gradient(monkeypatch):
    g = s2sgrad.grad(square_sum, wrt=(0, 1))
    x, w = np.arange(3.0), np.array([0.5, -1.0, 2.0])
    first = g(x, w)
    calls = _count_full_path(monkeypatch)
    second = g(x + 1.0, w)
    assert calls == []                                   # no kinds computed: the fast path ran
    full = _gradient(g)
    expected = [2 * 2 * (x + 1.0) * w * w, 2 * 2 * (x + 1.0) ** 2 * w]
    for got, want in zip(second, expected):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    assert len(first) == 2 and full._fast


def test_the_call_key_determines_the_kinds_code_is_specialised_on():
    # The fast path reuses the kinds of an earlier call with the same key: _kinds must be a function of
    # _call_key. Values, strides and memory layout differ within each group below; the key does not.
    groups = [
        [(0.5, 2), (-3.0, 7), (1e300, 0)],
        [(np.ones((2, 3)), True), (np.arange(6.0).reshape(3, 2).T, False)],
        [(np.ones(4), None), (np.linspace(0, 1, 8)[::2], None)],
        [(np.ones((3, 3)), np.ones(3)), (np.zeros((3, 3)), np.zeros(3))],
        [(np.ones((1, 5), np.float32), 1.0), (np.full((1, 5), 2.0, np.float32), -1.0)],
    ]
    names = ("a", "b")
    for group in groups:
        keys = {api._call_key(args) for args in group}
        assert len(keys) == 1 and None not in keys, group
        kinds = {api._kinds(dict(zip(names, args)), names[:1]) for args in group}
        assert len(kinds) == 1, (group, kinds)


def test_a_call_after_a_global_is_rebound_uses_the_new_value(monkeypatch):
    g = s2sgrad.grad(scaled)
    assert g(2.0) == pytest.approx(3.0 * 2 * 2.0)
    monkeypatch.setitem(globals(), "SCALE", 5.0)
    assert g(2.0) == pytest.approx(5.0 * 2 * 2.0)       # not the code built with SCALE = 3.0


SCALE = 3.0


def scaled(x):
    return SCALE * x * x


def identity_sum(x, w):
    return np.sum(x * w)


def test_no_gradient_shares_memory_with_an_argument_on_the_fast_path():
    # d/dw sum(x * w) is x itself: generated code may hand back the argument, which must be copied.
    g = s2sgrad.grad(identity_sum, wrt=(0, 1))
    x, w = np.arange(3.0), np.ones(3)
    for _ in range(3):
        dx, dw = g(x, w)
        assert not np.shares_memory(dx, w) and not np.shares_memory(dw, x)
        assert not np.shares_memory(dx, dw)
        np.testing.assert_array_equal(dw, x)
        dw[0] = 99.0
        assert x[0] == 0.0


def test_fresh_sees_a_view_of_an_argument_and_a_result_given_twice():
    x = np.arange(6.0)
    own = np.ones(3)
    assert api._fresh([own], [x])
    assert not api._fresh([x[1:4]], [x])                 # a view of an argument
    assert not api._fresh([own, own], [x])              # one array for two results
    frozen = np.ones(3)
    frozen.flags.writeable = False
    assert not api._fresh([frozen], [x])
    buffer = np.frombuffer(bytearray(24))               # memory no array of NumPy's allocated
    assert not api._fresh([own], [buffer])


def test_float32_arguments_after_float64_ones_get_float32_gradients():
    g = s2sgrad.grad(square_sum, wrt=(0, 1))
    g(np.ones(3), np.ones(3))
    dx, dw = g(np.ones(3, np.float32), np.ones(3, np.float32))
    assert dx.dtype == np.float32 and dw.dtype == np.float32
    dx, dw = g(np.ones(3, np.float32), np.ones(3, np.float32))      # the fast path, keyed on dtype
    assert dx.dtype == np.float32 and dw.dtype == np.float32


def test_an_integer_array_after_a_float_array_is_still_refused():
    g = s2sgrad.grad(square_sum)
    g(np.ones(3), np.ones(3))
    with pytest.raises(TypeError, match="dtype int64"):
        g(np.ones(3, np.int64), np.ones(3))


def test_a_bool_after_a_float_is_still_refused():
    g = s2sgrad.grad(scaled)
    g(1.0)
    with pytest.raises(TypeError, match="bool"):
        g(True)


def test_an_int_argument_gets_a_float_gradient_on_the_fast_path():
    g = s2sgrad.grad(scaled)
    for _ in range(2):
        d = g(2)
        assert type(d) is float and d == pytest.approx(12.0)


def keep_dims(x):
    return np.sum(x * x, keepdims=True)


def test_a_one_element_array_output_is_seeded_with_its_shape_every_call():
    g = s2sgrad.value_and_grad(keep_dims)
    for _ in range(3):
        value, dx = g(np.arange(3.0))
        assert value.shape == (1,)
        np.testing.assert_allclose(dx, 2 * np.arange(3.0), rtol=1e-12)


def test_shapes_changing_between_calls_give_gradients_of_each_shape():
    g = s2sgrad.grad(square_sum, wrt=(0, 1))
    for n in (3, 5, 3, 1, 5):
        x, w = np.linspace(-1, 1, n), np.linspace(0.5, 2, n)
        dx, dw = g(x, w)
        np.testing.assert_allclose(dx, 4 * x * w * w, rtol=1e-12)
        np.testing.assert_allclose(dw, 4 * x * x * w, rtol=1e-12)


def with_default(x, scale=np.ones(2)):
    return np.sum(x * scale)


def test_an_array_default_keeps_calls_on_the_full_path():
    # An array default could be resized in place between calls, changing the kinds: no shortcut.
    g = s2sgrad.grad(with_default)
    assert not _gradient(g)._fast_ok
    np.testing.assert_allclose(g(np.arange(2.0)), np.ones(2))


def test_keyword_calls_and_defaults_bind_as_python_binds_them():
    g = s2sgrad.grad(square_sum, wrt=(0, 1))
    x, w = np.arange(3.0), np.ones(3)
    for got in (g(x, w), g(x, w, 2), g(x, w, n=2), g(x=x, w=w)):
        np.testing.assert_allclose(got[0], 4 * x * w * w, rtol=1e-12)
    np.testing.assert_allclose(g(x, w, 3)[0], 6 * x * w * w, rtol=1e-12)
    with pytest.raises(TypeError):
        g(x)


def loop(x, a, n=50):
    for i in range(n):
        x = math.sin(x) * a + 0.1 * x
    return x


def test_scalar_calls_on_the_fast_path_match_central_differences_at_rtol_1e_6():
    g = s2sgrad.grad(loop, wrt=(0, 1))
    for x, a in ((0.5, 0.9), (0.1, 0.3), (0.5, 0.9)):
        dx, da = g(x, a)
        h = 1e-6
        assert dx == pytest.approx((loop(x + h, a) - loop(x - h, a)) / (2 * h), rel=1e-6)
        assert da == pytest.approx((loop(x, a + h) - loop(x, a - h)) / (2 * h), rel=1e-6)
