"""Issue 9: containers of parameters, destructuring, lists and comprehensions. Every gradient is checked
against central differences in float64 over each float leaf of each container (tolerances stated), and
in forward mode by jvp along a random direction of the same structure.
"""

from typing import NamedTuple

import numpy as np
import pytest

import s2sgrad

RNG = np.random.default_rng(9)
EPS = 1e-6


def leaves(tree, path=()):
    """(path, value) for each float leaf (array or float) of a container, in order."""
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from leaves(v, path + (k,))
    elif isinstance(tree, (list, tuple)):
        for k, v in enumerate(tree):
            yield from leaves(v, path + (k,))
    elif isinstance(tree, (float, np.ndarray)):
        yield path, tree


def get(tree, path):
    for k in path:
        tree = tree[k]
    return tree


def replaced(tree, path, value):
    """A copy of the container with the leaf at `path` replaced."""
    if not path:
        return value
    k, rest = path[0], path[1:]
    if isinstance(tree, dict):
        return {**tree, k: replaced(tree[k], rest, value)}
    items = list(tree)
    items[k] = replaced(items[k], rest, value)
    return type(tree)(*items) if hasattr(tree, "_fields") else type(tree)(items)


def numeric(fn, args, position):
    """Central differences of fn with respect to every float leaf of args[position], as a list of
    (path, gradient of that leaf)."""
    out = []
    for path, leaf in leaves(args[position]):
        g = np.zeros(np.shape(leaf))
        for i in np.ndindex(np.shape(leaf)):
            def at(delta):
                moved = np.array(leaf, dtype=float)
                moved[i] += delta
                value = moved if isinstance(leaf, np.ndarray) else float(moved)
                new = list(args)
                new[position] = replaced(args[position], path, value)
                return fn(*new)
            g[i] = (at(EPS) - at(-EPS)) / (2 * EPS)
        out.append((path, g))
    return out


def check(fn, *args, wrt=0, rtol=1e-6, atol=1e-8):
    """s2sgrad's gradient (reverse, then forward along a random direction) against central differences."""
    g = s2sgrad.grad(fn, wrt=wrt)(*args)
    assert type(g) is type(args[wrt])
    expected = numeric(fn, args, wrt)
    for path, e in expected:
        np.testing.assert_allclose(get(g, path), e, rtol=rtol, atol=atol, err_msg=f"leaf {path}")
    direction = args[wrt]
    for path, leaf in leaves(args[wrt]):
        direction = replaced(direction, path, RNG.normal(size=np.shape(leaf)) if np.ndim(leaf) else float(RNG.normal()))
    _, tangent = s2sgrad.jvp(fn, args, direction, wrt=wrt)
    dot = sum(np.sum(get(g, p) * get(direction, p)) for p, _ in expected)
    assert tangent == pytest.approx(dot, rel=1e-8, abs=1e-10)
    return g


# -- containers as arguments ---------------------------------------------------------------------

PARAMS = {"W1": RNG.normal(size=(3, 2)), "b1": RNG.normal(size=3), "W2": RNG.normal(size=(1, 3)),
          "scale": 0.7, "name": "mlp"}
X = np.array([0.5, -1.0])


def dict_mlp(params, x):
    h = np.tanh(params["W1"] @ x + params["b1"])
    return np.sum((params["W2"] @ h) ** 2) + params["scale"] * np.sum(h)


class Pair(NamedTuple):
    W: np.ndarray
    b: np.ndarray


def named_pair(p, x):
    return np.sum(np.tanh(p.W @ x + p[1]) ** 2)


def test_a_dict_of_parameters_gets_a_dict_gradient():
    g = check(dict_mlp, PARAMS, X)
    assert g["name"] is None and type(g["scale"]) is float


def test_a_namedtuple_gets_a_namedtuple_gradient_read_by_field_or_index():
    g = check(named_pair, Pair(RNG.normal(size=(2, 2)), RNG.normal(size=2)), X)
    assert isinstance(g, Pair)


# -- destructuring -------------------------------------------------------------------------------

LAYERS = [(RNG.normal(size=(3, 2)), RNG.normal(size=3)), (RNG.normal(size=(1, 3)), RNG.normal(size=1))]


def pairs_loop(params, x):
    h = x
    for W, b in params:
        h = np.tanh(W @ h + b)
    return np.sum(h)


def enumerate_loop(params, x):
    total = 0.0
    for i, (W, b) in enumerate(params, 1):
        total = total + i * np.sum(W @ np.ones(W.shape[1]) + b)
    return total


def zip_loop(ws, xs):
    s = 0.0
    for w, x in zip(ws, xs):
        s = s + w * np.sin(x)
    return s


def items_loop(d):
    s = 0.0
    for k, v in d.items():
        s = s + np.sum(v ** 2)
    for v in d.values():
        s = s + np.sum(v)
    return s


def reversed_loop(xs):
    s = 1.0
    for x in reversed(xs):
        s = s * 0.5 + np.sin(x)
    return s


def unpack_values(X, w):
    n, d = X.shape
    first, *rest = w
    A, b = (X, w)
    return np.sum(A @ b) / n + first * d + np.sum(rest[0] * w)


@pytest.mark.parametrize("fn, args, wrt", [
    (pairs_loop, (LAYERS, X), 0),
    (enumerate_loop, (LAYERS, X), 0),
    (zip_loop, ([1.0, 2.0, 3.0], [0.5, 0.25, 2.0]), 0),
    (zip_loop, ([1.0, 2.0, 3.0], [0.5, 0.25, 2.0]), 1),
    (items_loop, ({"a": RNG.normal(size=2), "b": RNG.normal(size=3)},), 0),
    (reversed_loop, ([1.0, 2.0, 3.0],), 0),
    (unpack_values, (RNG.normal(size=(4, 3)), RNG.normal(size=3)), 1),
])
def test_destructuring_loops_and_assignments_are_differentiated(fn, args, wrt):
    if isinstance(args[wrt], np.ndarray):
        from gradcheck import assert_grad_matches
        assert_grad_matches(fn, *args, wrt=(wrt,))
    else:
        check(fn, *args, wrt=wrt)


def doubles_an_item_in_place(params, x):
    params["w"] = params["w"] * x
    params["b"] = params["b"] + 1.0
    return np.sum(params["w"] * params["b"])


def appends_to_its_list(xs):
    xs.append(xs[0] * 2)
    return np.sum(xs[1] * xs[0])


def linear_in_a_dict(p):
    return np.sum(p["w"] * 3)


def test_writing_into_a_dict_or_list_parameter_differentiates_a_private_copy_of_the_container():
    # The private copy made for the write rebinds the parameter; its adjoint must still mirror the dict
    # (it was np.zeros_like(params), an object array, and failed with an IndexError inside generated code).
    # check_grad's differences run fn on a fresh copy each time, as the writes would otherwise pile up.
    params = {"w": np.array([1.0, 2.0]), "b": np.array([0.5, -1.0])}
    dp, dx = s2sgrad.grad(doubles_an_item_in_place, wrt=(0, 1))(params, 3.0)
    np.testing.assert_allclose(dp["w"], 3.0 * (params["b"] + 1.0), rtol=1e-15)    # w * x * (b + 1)
    np.testing.assert_allclose(dp["b"], 3.0 * params["w"], rtol=1e-15)
    assert dx == pytest.approx(np.sum(params["w"] * (params["b"] + 1.0)), rel=1e-15)
    assert s2sgrad.check_grad(doubles_an_item_in_place, params, 3.0, wrt=(0, 1))
    np.testing.assert_array_equal(params["w"], [1.0, 2.0])          # the caller's dict is unchanged
    xs = [np.array([1.0, 2.0])]
    np.testing.assert_allclose(s2sgrad.grad(appends_to_its_list)(xs)[0], 4.0 * xs[0], rtol=1e-15)   # 2 x0^2
    assert len(xs) == 1
    value, tangent = s2sgrad.jvp(doubles_an_item_in_place, (params, 3.0), ({"w": np.ones(2), "b": np.zeros(2)}, 0.0),
                                 wrt=(0, 1))
    assert tangent == pytest.approx(3.0 * np.sum(params["b"] + 1.0), rel=1e-15)


def test_the_hessian_of_a_function_linear_in_a_dict_is_zeros_of_its_structure():
    p = {"w": np.array([1.0, 2.0])}
    np.testing.assert_array_equal(s2sgrad.hvp(linear_in_a_dict, (p,), {"w": np.ones(2)})["w"], np.zeros(2))
    np.testing.assert_array_equal(s2sgrad.hessian(linear_in_a_dict)(p)["w"]["w"], np.zeros((2, 2)))
