"""Code specialised on shapes (issue 14): no unbroadcast where shapes agree, no value saved only for its
shape, the plain math for matmul's adjoints, adjoints the code owns added into in place; each case
checked against central finite differences in float64 (tolerance rtol 1e-5, atol 1e-6, gradcheck's)."""

import math
import os
import sys

import numpy as np
import pytest

import s2sgrad
from s2sgrad import api, shapes
from s2sgrad.pipeline import derive

from gradcheck import assert_grad_matches

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.workloads import mlp  # noqa: E402  (the benchmark's MLP, softmax cross-entropy)

RNG = np.random.default_rng(7)


def specialised_text(fn, wrt, *args):
    """The generated code a call with these arguments runs (not the generic code `source` shows)."""
    gradient = api._Gradient(fn, wrt)
    return gradient.specialised(gradient.arguments(args, {})).text


def rnn(W, U, h0, xs):
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(h @ W + xs[t] @ U)
    return np.sum(h * h)


def rnn_args(batch=3, hidden=4, inputs=2, steps=6):
    return (RNG.normal(size=(hidden, hidden)) * 0.5, RNG.normal(size=(inputs, hidden)) * 0.5,
            RNG.normal(size=(batch, hidden)) * 0.5, RNG.normal(size=(steps, batch, inputs)))


def test_specialised_rnn_saves_no_value_only_for_its_shape_and_accumulates_in_place():
    args = rnn_args()
    text = specialised_text(rnn, (0, 1), *args)
    assert "unbroadcast" not in text
    assert "matmul_adjoint" not in text
    assert "stack.append(h_matmul_W)" not in text and "stack.append(xs_t_matmul_U)" not in text
    assert "dW += h.T @ dplus" in text and "dU += xs_t.T @ dplus" in text
    assert "dh = 2.0 * (dh_times_h * h)" in text                 # h * h: one contribution, doubled
    assert "dh = dplus @ W.T" in text
    assert_grad_matches(rnn, *args, wrt=(0, 1))


def test_generic_code_keeps_unbroadcast_and_allocating_sums():
    text = s2sgrad.source(rnn, wrt=(0, 1))
    assert "unbroadcast" in text and "dW = dW +" in text


def test_rnn_code_is_reused_across_batch_sizes_and_rebuilt_when_sizes_coincide():
    gradient = api._Gradient(rnn, (0, 1))
    for batch in (3, 5, 7):
        args = rnn_args(batch=batch)
        gradient.specialised(gradient.arguments(args, {}))
    assert len(gradient._variants) == 1
    args = rnn_args(batch=4, hidden=4)          # batch == hidden: a pattern of its own
    gradient.specialised(gradient.arguments(args, {}))
    assert len(gradient._variants) == 2
    assert_grad_matches(rnn, *args, wrt=(0, 1))


def test_mlp_bias_gradients_are_sums_over_the_batch():
    n, d, k, c = 6, 5, 4, 3
    args = (RNG.normal(size=(d, k)), RNG.normal(size=k), RNG.normal(size=(k, c)), RNG.normal(size=c),
            RNG.normal(size=(n, d)), np.eye(c)[RNG.integers(0, c, size=n)])
    text = specialised_text(mlp, (0, 1, 2, 3), *args)
    assert "unbroadcast" not in text and "matmul_adjoint" not in text
    assert "db2 = dz.sum(axis=0)" in text and "dW2 = h.T @ dz" in text
    assert_grad_matches(mlp, *args, wrt=(0, 1, 2, 3))


def row_bias(W, b, X):
    return np.sum(np.tanh(X @ W + b) ** 2)


def test_a_bias_of_one_row_sums_keeping_its_axis():
    args = (RNG.normal(size=(3, 4)), RNG.normal(size=(1, 4)), RNG.normal(size=(5, 3)))
    text = specialised_text(row_bias, (0, 1), *args)
    assert ".sum(axis=0, keepdims=True)" in text
    assert_grad_matches(row_bias, *args, wrt=(0, 1))


def matvec(A, v, u):
    return np.sum(np.sin(A @ v) * u) + np.sum((u @ A) ** 2)


def test_matmul_of_vectors_and_matrices_reads_as_the_math():
    args = (RNG.normal(size=(4, 3)), RNG.normal(size=3), RNG.normal(size=4))
    text = specialised_text(matvec, (0, 1, 2), *args)
    assert "matmul_adjoint" not in text and "np.outer(" in text
    assert_grad_matches(matvec, *args, wrt=(0, 1, 2))


def element_writes(x):
    y = np.zeros(x.shape[0])
    y[0] = x[0]
    for i in range(1, x.shape[0]):
        y[i] = np.sin(x[i]) * y[i - 1] + x[i]
    return np.sum(y)


def test_element_writes_do_no_shape_work_per_iteration():
    x = RNG.normal(size=6)
    text = specialised_text(element_writes, 0, x)
    assert "unbroadcast" not in text and ".copy()" not in text
    assert "stack.append(times_plus_x_i_1)" not in text      # read only for its shape before
    assert_grad_matches(element_writes, x)


def shared_adjoint(x, w):
    u = x * w
    v = x * 2.0
    r = np.sum(u * 3.0)
    s = u + v           # du and dv are ds itself: adding into either in place would change the other
    return r + np.sum(s * s)


def test_an_adjoint_shared_by_two_names_is_never_added_into_in_place():
    args = (RNG.normal(size=4), RNG.normal(size=4))
    text = specialised_text(shared_adjoint, (0, 1), *args)
    assert "du = ds\n" in text and "du = du + " in text
    assert "dx += du * w" in text            # dx's own array, read by nothing else yet
    assert_grad_matches(shared_adjoint, *args, wrt=(0, 1))


def test_float32_arguments_get_no_in_place_accumulation():
    args = tuple(a.astype(np.float32) for a in rnn_args())
    text = specialised_text(rnn, (0, 1), *args)
    assert "dW = dW +" in text
    g = s2sgrad.grad(rnn, wrt=(0, 1))(*args)
    assert g[0].dtype == np.float32


def scalar_loop(x: float, a: float, n: int = 50):
    for i in range(n):
        x = math.sin(x) * a + 0.1 * x
    return x


def test_scalar_loop_gradient_is_exact():
    assert_grad_matches(scalar_loop, 0.5, 0.9, wrt=(0, 1))


def test_shape_keys_name_equal_sizes_alike_and_keep_ones_and_dtypes():
    kinds = shapes.shape_kinds({"W": np.ones((3, 3)), "x": np.ones((5, 3), np.float32), "b": np.ones(1),
                                "s": 2.0})
    assert kinds == {"W": "shape:n0,n0", "x": "shape:n1,n0@float32", "b": "shape:1"}
    assert shapes.of_kind(kinds["x"]) == ("n1", "n0")


@pytest.mark.parametrize("a, b, expected", [
    (("n0", "n1"), (1, "n1"), ("n0", "n1")),
    (("n0", "n1"), ("n1",), ("n0", "n1")),
    ((), ("n0",), ("n0",)),
    (("n0",), ("n1",), (None,)),          # never both at run time: an error there, unknown here
    ((None,), ("n0",), ("n0",)),
])
def test_broadcast_of_symbolic_shapes(a, b, expected):
    assert shapes.broadcast(a, b) == expected


def test_matmul_and_reduction_shapes():
    assert shapes.matmul(("n0", "n1"), ("n1", "n2")) == ("n0", "n2")
    assert shapes.matmul(("n1",), ("n1", "n2")) == ("n2",)
    assert shapes.matmul(("n0", "n1"), ("n1",)) == ("n0",)
    assert shapes.reduced(("n0", "n1"), 1, True) == ("n0", 1)
    assert shapes.reduced(("n0", "n1"), None, False) == ()


def test_elements_of_whole_arrays_are_read_back_not_saved():
    x = RNG.normal(size=6)
    text = specialised_text(element_writes, 0, x)
    assert "stack.append(x_i)" not in text and "stack.append(sin_x_i)" not in text
    before_loop = text.split("for i in reversed(")[0]
    assert "sin_x = np.sin(x)" in before_loop and "cos_x = np.cos(x)" in before_loop
    assert "cos_x[i]" in text and "sin_x[i]" in text


def read_before_written(x):
    s = 0.0
    for i in range(x.shape[0]):
        if i > 0:
            s = s + np.sin(v) * x[i]      # v of the iteration before: not x[i]
        v = x[i]
        w = x[i]
        s = s + np.cos(w)
    return s


def test_a_value_read_before_its_assignment_in_the_loop_is_saved():
    x = RNG.normal(size=5)
    text = specialised_text(read_before_written, 0, x)
    assert "stack.append(v)" in text
    assert_grad_matches(read_before_written, x)


def test_a_scalar_loop_recomputes_a_sine_instead_of_saving_it():
    text = specialised_text(scalar_loop, (0, 1), 0.5, 0.9)
    assert "stack.append(sin_x)" not in text and "da += dsin_x_times_a * math.sin(x)" in text


def sine_of_an_old_value(x: float, a: float):
    s = math.sin(x)
    x = x * a             # s is math.sin of the x before this line: never recomputed from the new x
    t = math.cos(a)
    for i in range(3):
        u = math.sin(x)
        x = x * a         # u is read below, after x changed: saved
        x = x + u * t
    return s * x + t * t


def test_a_value_whose_argument_changes_before_it_is_read_is_not_recomputed():
    text = specialised_text(sine_of_an_old_value, (0, 1), 0.5, 0.9)
    reverse = "\n".join(line for line in text.split("reverse sweep")[1].splitlines() if "#" not in line)
    assert "* math.sin(x)" not in reverse and "math.cos(a)" not in reverse       # t is read as it is: no loop
    assert "stack.append(u)" in text
    assert_grad_matches(sine_of_an_old_value, 0.5, 0.9, wrt=(0, 1))


def temporaries_around_a_write(x):
    y = x * 1.0
    a = np.sin(y[0]) * 2.0 + y[1]
    y[0] = 3.0 * y[1]
    b = y[0] * np.cos(x[2])
    return a + b + np.sum(y ** 2)


def test_temporaries_go_back_into_the_line_that_reads_them_and_never_past_a_write():
    x = np.array([0.3, -0.7, 1.1])
    code = [line.strip() for line in specialised_text(temporaries_around_a_write, 0, x).splitlines()
            if not line.strip().startswith("#")]
    assert "a = np.sin(y_0) * 2.0 + y[1]" in code             # one line, not three temporaries (y_0 the reverse reads)
    assert code.index("a = np.sin(y_0) * 2.0 + y[1]") < code.index("y[0] = times_y_1_1")    # read before the write
    assert s2sgrad.check_grad(temporaries_around_a_write, x)
    u = np.array([0.2, 0.5, -1.0])
    tangent = s2sgrad.jvp(temporaries_around_a_write, (x,), u)[1]
    assert tangent == pytest.approx(np.dot(s2sgrad.grad(temporaries_around_a_write)(x), u), rel=1e-12)
