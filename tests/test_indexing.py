"""Indexing, slicing, writes into arrays, methods and attributes: values and gradients against central
finite differences (float64), the caller's arrays untouched, and only overwritten parts saved."""

import numpy as np
import pytest

import s2sgrad
from gradcheck import assert_grad_matches

X5 = np.array([0.3, -1.2, 0.7, 1.5, -0.4])
X23 = np.array([[0.3, -1.2, 0.7], [1.5, -0.4, 0.9]])
W23 = np.array([[0.5, -0.1, 0.8], [0.2, 0.6, -0.7]])


# -- reads ---------------------------------------------------------------------------------------

def read_int(x):
    return x[1] * x[1] + x[0]


def read_negative(x):
    return x[-1] * x[-2]


def read_slice_step(x):
    return np.sum(np.sin(x[::2]) * x[1:4:2].sum())


def read_reversed(x):
    return np.sum(x[::-1] * np.arange(5.0))


def read_ellipsis_none(x):
    return np.sum(x[..., None] * x[None, :])


def read_tuple(x):
    return x[1, 2] * np.sum(x[:, 1:] ** 2)


def read_row(x):
    return np.sum(x[1] * np.cos(x[0]))


def read_fancy_repeated(x):
    idx = np.array([0, 0, 3, 0])
    return np.sum(x[idx] * np.array([1.0, 2.0, 3.0, 4.0]))


def read_mask(x):
    return np.sum(x[x > 0.0] ** 2)


def read_computed_index(x, n: int = 4):
    s = 0.0
    for i in range(n):
        s = s + x[(i + 1) % n] * x[i]
    return s


def iterate_rows(x):
    s = 0.0
    for row in x:
        s = s + np.sum(np.tanh(row)) * row[0]
    return s


READS = [
    (read_int, X5), (read_negative, X5), (read_slice_step, X5), (read_reversed, X5),
    (read_ellipsis_none, X5), (read_tuple, X23), (read_row, X23), (read_fancy_repeated, X5),
    (read_mask, X5), (read_computed_index, X5), (iterate_rows, X23),
]


@pytest.mark.parametrize("fn, x", READS, ids=[f.__name__ for f, _ in READS])
def test_indexed_reads_match_finite_differences(fn, x):
    before = x.copy()
    assert_grad_matches(fn, x)
    np.testing.assert_array_equal(x, before)


def test_repeated_fancy_index_accumulates_every_occurrence():
    g = s2sgrad.grad(read_fancy_repeated)(X5)
    np.testing.assert_allclose(g, [7.0, 0.0, 0.0, 3.0, 0.0])


# -- writes --------------------------------------------------------------------------------------

def classic_augmented_element(x):
    y = x * 2.0
    y[0] += x[1]
    return np.sum(y)


def write_element(x):
    y = np.zeros(5)
    for i in range(5):
        y[i] = x[i] * x[(i + 1) % 5]
    return np.sum(y * y)


def write_slice_broadcast_scalar(x):
    y = x * 1.0
    y[1:3] = x[0] * 3.0
    return np.sum(y * y)


def write_mask(x):
    y = x * 2.0
    y[x < 0.0] = 0.0
    return np.sum(y * x)


def write_column_multiply(x, w):
    y = x * w
    y[:, 1] *= x[:, 0]
    return np.sum(y ** 2)


def whole_array_augmented(x, w):
    y = x * w
    y += w * x
    y *= x
    return np.sum(y)


def write_then_read_later(x):
    y = x * x
    s = np.sum(y * x)
    y[2] = s
    return np.sum(y * y)


def write_repeated_index_last_wins(x):
    y = np.zeros(3)
    idx = np.array([0, 0, 1])
    y[idx] = x[:3] * 2.0
    return np.sum(y * np.array([1.0, 10.0, 100.0]))


def write_into_copy_of_parameter(x):
    y = x.copy()
    y[0] = 5.0
    return np.sum(y * y)


def return_written_array_value(x):
    y = x * 2.0
    y[0] = x[1] * x[1]
    s = np.sum(y)
    return s


WRITES = [
    (classic_augmented_element, (X5,), 0), (write_element, (X5,), 0), (write_slice_broadcast_scalar, (X5,), 0),
    (write_mask, (X5,), 0), (write_column_multiply, (X23, W23), (0, 1)), (whole_array_augmented, (X23, W23), (0, 1)),
    (write_then_read_later, (X5,), 0), (write_repeated_index_last_wins, (X5,), 0),
    (write_into_copy_of_parameter, (X5,), 0), (return_written_array_value, (X5,), 0),
]


@pytest.mark.parametrize("fn, args, wrt", WRITES, ids=[f.__name__ for f, _, _ in WRITES])
def test_writes_into_arrays_match_finite_differences_and_leave_inputs_alone(fn, args, wrt):
    before = [a.copy() for a in args]
    value, _ = s2sgrad.value_and_grad(fn, wrt=wrt)(*args)
    assert value == pytest.approx(fn(*[a.copy() for a in args]))
    assert_grad_matches(fn, *args, wrt=wrt)
    for a, b in zip(args, before):
        np.testing.assert_array_equal(a, b)


def test_classic_miscompile_value_and_gradient():
    x = np.array([1.0, 2.0, 3.0])
    value, g = s2sgrad.value_and_grad(classic_augmented_element)(x)
    assert value == pytest.approx(14.0)
    np.testing.assert_allclose(g, [2.0, 3.0, 2.0])


def test_only_the_overwritten_part_is_saved_and_nothing_is_copied_without_writes():
    text = s2sgrad.source(write_element)
    assert "stack.append(y[i])" in text and "y[i] = stack.pop()" in text     # an element: no copy needed
    assert "stack.append(y)" not in text
    assert ".copy()" not in s2sgrad.source(read_computed_index)
    assert "copy" not in s2sgrad.source(read_tuple)


def test_returned_array_is_not_changed_by_the_reverse_sweep():
    def_ = s2sgrad.source(write_element)
    assert "y[i] = stack.pop()" in def_


def write_into_parameter(x, a, b):
    x[0] = a * b           # Google Tangent's example: the derivative writes into a copy of x
    return np.sum(x * x)


def test_a_write_into_a_parameter_is_differentiated_on_a_private_copy_in_both_modes():
    x = X5.copy()
    grads = assert_grad_matches(write_into_parameter, x.copy(), 2.0, 3.0, wrt=(0, 1, 2))
    np.testing.assert_allclose(grads[0][0], 0.0)              # the overwritten entry has no effect
    assert grads[1:] == (36.0, 24.0)
    _, tangent = s2sgrad.jvp(write_into_parameter, (x, 2.0, 3.0), (np.ones_like(x), 1.0, 0.0), wrt=(0, 1, 2))
    assert tangent == pytest.approx(np.sum(grads[0]) + grads[1])
    np.testing.assert_array_equal(x, X5)                     # the caller's array is unchanged


def write_into_view(x):
    y = x * 2.0
    z = y.T
    z[0] = 1.0
    return np.sum(y)


def test_write_into_a_view_is_refused():
    with pytest.raises(s2sgrad.UnsupportedSyntaxError, match="assigning into 'z'"):
        s2sgrad.grad(write_into_view)(X5)


# -- methods and attributes ----------------------------------------------------------------------

def methods(x, w):
    h = x.T @ w
    return h.sum() + x.mean() * x.shape[0] + (x * x).sum(axis=1).max() + x.reshape(3, 2).sum(axis=0)[1]


def astype_mixed(x16):
    return np.sum(x16.astype(np.float32) * 2)


def test_methods_and_attributes_mean_the_numpy_functions():
    assert_grad_matches(methods, X23, W23 @ W23.T, wrt=(0, 1))


def test_astype_from_float16_gives_a_float16_gradient_of_two():
    g = s2sgrad.grad(astype_mixed)(np.array([1.0, 2.0, 3.0], dtype=np.float16))
    assert g.dtype == np.float16
    np.testing.assert_array_equal(g, [2.0, 2.0, 2.0])


def astype_to_int(x):
    return np.sum(x.astype(np.int64) * x)


def test_cast_to_integers_carries_no_derivative():
    np.testing.assert_allclose(s2sgrad.grad(astype_to_int)(np.array([1.5, 2.5])), [1.0, 2.0])


def copy_then_write_parameter(s):
    s = s.copy()
    s[0] = s[0] + 1.0
    return np.sum(s * s)


def copy_then_augment_parameter(s, w):
    s = s * 1.0
    s += w
    return np.sum(s * s)


def test_writing_into_a_parameter_after_copying_it_is_exact_and_leaves_the_caller_alone():
    x = X5.copy()
    assert_grad_matches(copy_then_write_parameter, x)
    assert_grad_matches(copy_then_augment_parameter, x, X5 * 2.0, wrt=(0, 1))
    np.testing.assert_array_equal(x, X5)


def alias_read_after_augmented(x):
    y = x * 2.0
    r = y[0:2]
    y += 1.0
    return np.sum(r)


def copy_read_after_write(x):
    y = x * 2.0
    z = y
    y[0] = 5.0
    return np.sum(z * x)


@pytest.mark.parametrize("fn", [alias_read_after_augmented, copy_read_after_write])
def test_a_name_sharing_memory_read_after_an_in_place_change_is_refused(fn):
    # NumPy changes r (or z) too; rebinding or tracking by name would not: refuse, never a wrong number
    with pytest.raises(s2sgrad.UnsupportedSyntaxError, match="may share memory"):
        s2sgrad.grad(fn)(X5)


def write_into_keyword_only_parameter(x, *, buf):
    buf[0] = x
    return np.sum(buf * x)


def test_a_write_into_a_keyword_only_parameter_works_on_a_copy_too():
    buf = np.ones(3)
    assert s2sgrad.grad(write_into_keyword_only_parameter)(1.0, buf=buf) == pytest.approx(4.0)   # 2x + 2
    np.testing.assert_array_equal(buf, np.ones(3))
