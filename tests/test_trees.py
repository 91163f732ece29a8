"""Containers of parameters (pytrees) through the public API (issue 9): `s2sgrad.ravel` and its
`unravel`, and jvp, vjp, jacobian, hessian, hvp and check_grad with `wrt` naming a dict, list, tuple or
NamedTuple argument and with functions returning containers.

Every derivative is compared with central differences in float64 (eps 1e-6) leaf by leaf, to rtol 1e-6
and atol 1e-8 unless a test says otherwise; a Jacobian in forward, reverse and auto mode, a jvp (forward
mode) and a vjp (reverse mode) along random directions of the container's structure.
"""

import re
from typing import NamedTuple

import numpy as np
import pytest

import s2sgrad
import s2sgrad.checking
from s2sgrad import trees

RNG = np.random.default_rng(2026)
EPS = 1e-6
RTOL, ATOL = 1e-6, 1e-8


class Layer(NamedTuple):
    W: np.ndarray
    b: np.ndarray


def fresh_params():
    rng = np.random.default_rng(9)
    return {"W": rng.normal(size=(2, 3)), "b": rng.normal(size=2), "scale": 0.7, "act": "tanh",
            "frozen": True, "note": None}


PARAMS = fresh_params()
X = np.array([0.5, -1.0, 0.25])


# -- yardsticks ----------------------------------------------------------------------------------

def float_leaves(tree):
    return [(path, leaf) for path, leaf in trees.leaves(tree) if trees.carries_derivative(leaf)]


def moved(leaf, index, delta):
    """The leaf with its entry `index` moved by delta, in float64, of the leaf's kind (float or array)."""
    x = np.array(leaf, dtype=np.float64)
    x[index] += delta
    return x if isinstance(leaf, np.ndarray) else float(x)


def numeric_jacobian(fn, args, position):
    """{(output path, argument path): block of shape out_leaf.shape + arg_leaf.shape} by central
    differences over every float leaf of args[position] (a container or a leaf itself)."""
    x = args[position]
    outputs = float_leaves(fn(*args))
    blocks = {}
    for in_path, leaf in float_leaves(x):
        columns = []
        for i in np.ndindex(np.shape(leaf)):
            def at(delta):
                new = list(args)
                new[position] = trees.replaced(x, in_path, moved(leaf, i, delta))
                value = fn(*new)
                return [np.asarray(trees.at(value, path), dtype=np.float64) for path, _ in outputs]
            columns.append([(u - d) / (2 * EPS) for u, d in zip(at(EPS), at(-EPS))])
        for o, (out_path, out_leaf) in enumerate(outputs):
            shape = np.shape(out_leaf) + np.shape(leaf)
            parts = [c[o] for c in columns]
            blocks[out_path, in_path] = np.stack(parts, -1).reshape(shape) if parts else np.zeros(shape)
    return blocks


def random_like(tree):
    """A random direction of the structure of `tree` (None where a leaf carries no derivative)."""
    def leaf_direction(leaf):
        if not trees.carries_derivative(leaf):
            return None
        return RNG.normal(size=np.shape(leaf)) if isinstance(leaf, np.ndarray) else float(RNG.normal())
    return trees.rebuild(tree, [leaf_direction(leaf) for _, leaf in trees.leaves(tree)])


def shifted(tree, direction, step):
    """tree + step * direction, leaf by leaf (a leaf with no derivative, None in direction, unchanged)."""
    return trees.rebuild(tree, [leaf if d is None else leaf + step * d
                                for (_, leaf), (_, d) in zip(trees.leaves(tree), trees.leaves(direction))])


def assert_same_structure(got, like):
    """got has the container types and keys of `like`, with None exactly where `like` has no derivative."""
    assert type(got) is type(like) if trees.is_container(like) else not trees.is_container(got)
    assert [p for p, _ in trees.leaves(got)] == [p for p, _ in trees.leaves(like)]
    for (_, g), (_, leaf) in zip(trees.leaves(got), trees.leaves(like)):
        assert (g is None) == (not trees.carries_derivative(leaf))


def check_derivatives(fn, args, position=0):
    """jacobian (three modes), jvp and vjp of fn with respect to args[position] against central
    differences, each in the nesting the API promises."""
    expected = numeric_jacobian(fn, args, position)
    value = fn(*args)
    x = args[position]
    for mode in ("forward", "reverse", "auto"):
        jac = s2sgrad.jacobian(fn, wrt=position, mode=mode)(*args)
        assert type(jac) is type(value) if trees.is_container(value) else not isinstance(jac, tuple)
        for (out_path, in_path), block in expected.items():
            entry = trees.at(trees.at(jac, out_path), in_path)
            assert np.shape(entry) == block.shape, (mode, out_path, in_path)
            np.testing.assert_allclose(entry, block, rtol=RTOL, atol=ATOL, err_msg=f"{mode} {out_path} {in_path}")
    tangent = random_like(x)
    _, tangent_out = s2sgrad.jvp(fn, args, tangent, wrt=position)
    assert_same_structure(tangent_out, value)
    for out_path, out_leaf in float_leaves(value):
        want = sum(np.tensordot(expected[out_path, p], np.asarray(trees.at(tangent, p)), axes=np.ndim(leaf))
                   for p, leaf in float_leaves(x))
        np.testing.assert_allclose(trees.at(tangent_out, out_path), want, rtol=RTOL, atol=ATOL)
    cotangent = random_like(value)
    _, pullback = s2sgrad.vjp(fn, *args, wrt=position)
    g = pullback(cotangent)
    assert_same_structure(g, x)
    for in_path, leaf in float_leaves(x):
        want = sum(np.tensordot(np.asarray(trees.at(cotangent, p)), expected[p, in_path], axes=np.ndim(out_leaf))
                   for p, out_leaf in float_leaves(value))
        np.testing.assert_allclose(trees.at(g, in_path), want, rtol=RTOL, atol=ATOL)


# -- ravel and unravel -----------------------------------------------------------------------------

MIXED = {"layers": [Layer(np.arange(6.0).reshape(2, 3), np.array([6.0, 7.0])), (np.array(8.0), 9.0)],
         "act": "relu", "scale": 10.0, "skip": None, "train": False, "steps": 11}


def test_ravel_puts_float_leaves_in_sorted_key_order_and_leaves_out_strings_none_and_bools():
    vector, unravel = s2sgrad.ravel(MIXED)
    # keys sorted: act (str, out), layers, scale, skip (None, out), steps, train (bool, out)
    np.testing.assert_array_equal(vector, np.arange(12.0))
    assert vector.dtype == np.float64 and unravel.size == 12


def test_unravel_rebuilds_the_structure_types_and_the_leaves_that_carry_no_derivative():
    vector, unravel = s2sgrad.ravel(MIXED)
    back = unravel(vector + 100.0)
    assert list(back) == list(MIXED)                         # the caller's key order
    assert type(back["layers"]) is list and type(back["layers"][0]) is Layer and type(back["layers"][1]) is tuple
    np.testing.assert_array_equal(back["layers"][0].W, np.arange(6.0).reshape(2, 3) + 100.0)
    assert back["layers"][1][0].shape == () and isinstance(back["layers"][1][0], np.ndarray)
    assert type(back["layers"][1][1]) is float and back["layers"][1][1] == 109.0
    assert type(back["scale"]) is float and back["scale"] == 110.0
    assert back["act"] is MIXED["act"] and back["skip"] is None and back["train"] is False
    assert type(back["steps"]) is float and back["steps"] == 111.0         # an int is a real number here


def test_unravel_of_ravel_gives_back_exactly_what_went_in():
    tree = {"h": np.float32(1.0) / 3, "W": np.linspace(0, 1, 7, dtype=np.float32), "c": 1 / 3, "d": np.float16(0.1)}
    vector, unravel = s2sgrad.ravel(tree)
    assert vector.dtype == np.float64                        # a Python float counts as float64: nothing is lost
    back = unravel(vector)
    for k in tree:
        assert type(back[k]) is type(tree[k]) and np.asarray(back[k]).dtype == np.asarray(tree[k]).dtype
        np.testing.assert_array_equal(back[k], tree[k])


@pytest.mark.parametrize("leaves, dtype", [
    ([np.ones(2, np.float32), np.ones((1, 2), np.float32)], np.float32),
    ([np.ones(2, np.float32), np.float32(2.0)], np.float32),
    ([np.ones(2, np.float32), np.ones(2)], np.float64),
    ([np.ones(2, np.float16), np.ones(2, np.float32)], np.float32),
    ([np.ones(2, np.float32), 0.5], np.float64),
    ([], np.float64),
])
def test_the_vector_has_the_result_type_of_the_leaves(leaves, dtype):
    vector, unravel = s2sgrad.ravel(leaves)
    assert vector.dtype == dtype
    back = unravel(vector)
    assert [np.asarray(b).dtype for b in back] == [np.asarray(leaf).dtype for leaf in leaves]


def test_dicts_with_the_same_keys_ravel_alike_whatever_order_they_were_built_in():
    a = {"W": np.ones(3), "b": np.zeros(2), "s": 2.0}
    b = {"s": 2.0, "b": np.zeros(2), "W": np.ones(3)}
    np.testing.assert_array_equal(s2sgrad.ravel(a)[0], s2sgrad.ravel(b)[0])
    mixed_keys = {1: 1.0, "a": 2.0, (0, 1): 3.0}               # keys that do not compare: still one order
    assert s2sgrad.ravel(mixed_keys)[1](np.array([7.0, 8.0, 9.0])) == {1: 7.0, "a": 8.0, (0, 1): 9.0}


def test_the_vector_and_each_unravel_result_own_their_memory():
    params = fresh_params()
    vector, unravel = s2sgrad.ravel(params)
    assert not np.shares_memory(vector, params["W"])
    back = unravel(vector)
    vector[:] = -1.0                                          # an optimiser updating its vector in place
    np.testing.assert_array_equal(back["W"], params["W"])
    assert not np.shares_memory(unravel(vector)["W"], unravel(vector)["W"])
    single, unravel_single = s2sgrad.ravel(np.ones(3))        # one leaf: still a copy each way
    assert not np.shares_memory(unravel_single(single), single)


def test_bare_leaves_and_empty_trees_ravel_too():
    vector, unravel = s2sgrad.ravel(2.5)
    np.testing.assert_array_equal(vector, [2.5])
    assert unravel(np.array([4.0])) == 4.0 and type(unravel(np.array([4.0]))) is float
    vector, unravel = s2sgrad.ravel({"name": "x", "none": None})
    assert vector.shape == (0,) and unravel(vector) == {"name": "x", "none": None}
    assert unravel([]) == {"name": "x", "none": None}


@pytest.mark.parametrize("tree, where, found", [
    ({"idx": np.arange(3)}, "tree['idx']", "an array of dtype int64"),
    ({"mask": np.array([True, False])}, "tree['mask']", "an array of dtype bool"),
    ([1.0, (2.0, 1j)], "tree[1][1]", "complex"),
    ({"W": np.ones(2, complex)}, "tree['W']", "an array of dtype complex128"),
    (Layer(np.ones(2), object()), "tree.b", "an object"),
    ({"n": np.int64(3)}, "tree['n']", "an int64"),
])
def test_ravel_refuses_leaves_grad_refuses_naming_their_path(tree, where, found):
    with pytest.raises(TypeError, match=re.escape(f"ravel: the leaf {where} is {found}, not a float or an array of "
                                                  "floats; pass it to your function as an argument of its own")):
        s2sgrad.ravel(tree)


def test_unravel_refuses_a_vector_of_the_wrong_length_or_kind():
    _, unravel = s2sgrad.ravel({"W": np.ones((2, 2)), "b": 1.0})
    with pytest.raises(ValueError, match=r"unravel takes a 1-d vector of length 5 \(what ravel gave\), not one "
                                         r"of shape \(4,\)"):
        unravel(np.ones(4))
    with pytest.raises(ValueError, match=r"shape \(5, 1\)"):
        unravel(np.ones((5, 1)))
    with pytest.raises(TypeError, match="complex128"):
        unravel(np.ones(5, complex))


def mlp_loss(params, x):
    h = np.tanh(params["W"] @ x + params["b"])
    return np.sum(h ** 2) * params["scale"] + params["scale"] ** 2


def test_ravel_of_a_gradient_is_the_gradient_of_the_loss_over_the_raveled_vector():
    params = fresh_params()
    vector, unravel = s2sgrad.ravel(params)
    g = s2sgrad.grad(mlp_loss)(params, X)
    g_vector, _ = s2sgrad.ravel(g)
    assert g_vector.shape == vector.shape and g_vector.dtype == vector.dtype
    numeric = np.array([(mlp_loss(unravel(vector + EPS * e), X) - mlp_loss(unravel(vector - EPS * e), X)) / (2 * EPS)
                        for e in np.eye(vector.size)])
    np.testing.assert_allclose(g_vector, numeric, rtol=RTOL, atol=ATOL)


def test_leaves_and_rebuild_walk_a_tree_in_one_order():
    tree = {"b": [1.0, (2.0, "s")], "a": Layer(np.ones(1), None)}
    assert [p for p, _ in trees.leaves(tree)] == [("a", 0), ("a", 1), ("b", 0), ("b", 1, 0), ("b", 1, 1)]
    rebuilt = trees.rebuild(tree, range(5))
    assert rebuilt == {"b": [2, (3, 4)], "a": Layer(0, 1)} and list(rebuilt) == ["b", "a"]
    assert trees.path_text(tree, ("a", 1)) == "['a'].b" and trees.path_text(tree, ("b", 1, 0)) == "['b'][1][0]"
    with pytest.raises(ValueError, match="fewer values"):
        trees.rebuild(tree, range(4))
    with pytest.raises(ValueError, match="more values"):
        trees.rebuild(tree, range(6))


# -- arguments that are containers: jvp, vjp, jacobian, hessian, hvp, check_grad -----------------

def test_jvp_takes_a_tangent_of_the_arguments_structure_and_matches_finite_differences():
    params = fresh_params()
    tangent = random_like(params)
    _, derivative = s2sgrad.jvp(mlp_loss, (params, X), tangent)
    vector, unravel = s2sgrad.ravel(params)
    direction = s2sgrad.ravel(tangent)[0]             # None where params has a string, a bool or None
    assert direction.shape == vector.shape
    numeric = (mlp_loss(unravel(vector + EPS * direction), X)
               - mlp_loss(unravel(vector - EPS * direction), X)) / (2 * EPS)
    assert derivative == pytest.approx(numeric, rel=RTOL, abs=ATOL)


def test_jvp_with_a_tuple_of_one_tangent_for_a_single_wrt_says_to_pass_it_bare():
    # The convention: one tangent per wrt, bare for a single wrt (as grad returns a bare gradient);
    # jax.jvp's (t,) is refused with that said, not with a complaint about keys.
    params = fresh_params()
    with pytest.raises(ValueError, match=r"jvp with respect to the single parameter 'params' takes its tangent "
                                         r"bare, jvp\(f, args, v\), not a tuple of one"):
        s2sgrad.jvp(mlp_loss, (params, X), (params,))
    with pytest.raises(ValueError, match=r"hvp with respect to the single parameter 'params' takes its vector bare"):
        s2sgrad.hvp(mlp_loss, (params, X), (params,))
    value, tangent = s2sgrad.jvp(mlp_loss, (params, X), (params,), wrt=("params",))
    assert tangent == pytest.approx(s2sgrad.jvp(mlp_loss, (params, X), params)[1], rel=1e-12)


def test_jvp_with_a_tuple_wrt_takes_a_container_tangent_and_an_array_tangent():
    params = fresh_params()
    t_params, t_x = random_like(params), RNG.normal(size=3)
    _, both = s2sgrad.jvp(mlp_loss, (params, X), (t_params, t_x), wrt=(0, 1))
    _, only_params = s2sgrad.jvp(mlp_loss, (params, X), t_params)
    _, only_x = s2sgrad.jvp(mlp_loss, (params, X), t_x, wrt=1)
    assert both == pytest.approx(only_params + only_x, rel=1e-12)
    numeric = (mlp_loss(shifted(params, t_params, EPS), X + EPS * t_x)
               - mlp_loss(shifted(params, t_params, -EPS), X - EPS * t_x)) / (2 * EPS)
    assert both == pytest.approx(numeric, rel=RTOL, abs=ATOL)


def test_none_in_a_tangent_container_is_a_zero_of_that_leaf():
    params = fresh_params()
    full = {"W": np.zeros((2, 3)), "b": np.ones(2), "scale": 0.0, "act": None, "frozen": None, "note": None}
    sparse = {"W": None, "b": np.ones(2), "scale": None, "act": None, "frozen": None, "note": None}
    assert s2sgrad.jvp(mlp_loss, (params, X), sparse)[1] == pytest.approx(
        s2sgrad.jvp(mlp_loss, (params, X), full)[1], rel=1e-12)


@pytest.mark.parametrize("bad, error, message", [
    ({"W": np.ones((2, 3)), "b": np.ones(2)}, ValueError,
     r"'params' is a dict with keys 'W', 'act', 'b', 'frozen', 'note', 'scale': the tangent of 'params' must be a "
     r"dict with those keys \(missing 'scale', 'act', 'frozen', 'note'\)"),
    ({**fresh_params(), "extra": 1.0}, ValueError, r"must be a dict with those keys \(not 'extra'\)"),
    ({**fresh_params(), "b": np.ones(3)}, ValueError,
     r"the tangent of 'params' at \['b'\] has shape \(3,\), but 'params' at \['b'\] has shape \(2,\)"),
    ({**fresh_params(), "W": "x"}, TypeError,
     r"the tangent of 'params' at \['W'\] must be a float or an array of floats .* not a str"),
    ([1.0, 2.0], ValueError, r"must be a dict with those keys \(not a list\)"),
])
def test_a_tangent_of_another_structure_is_refused_naming_the_mismatch(bad, error, message):
    with pytest.raises(error, match=message):
        s2sgrad.jvp(mlp_loss, (fresh_params(), X), bad)


def layer_out(params, x):
    return np.tanh(params["W"] @ x + params["b"]) * params["scale"]


def test_jacobian_with_respect_to_a_dict_has_one_entry_per_leaf_of_shape_out_plus_leaf():
    params = fresh_params()
    jac = s2sgrad.jacobian(layer_out)(params, X)
    assert type(jac) is dict and list(jac) == list(params)
    assert jac["W"].shape == (2, 2, 3) and jac["b"].shape == (2, 2) and jac["scale"].shape == (2,)
    assert jac["act"] is None and jac["frozen"] is None and jac["note"] is None
    check_derivatives(layer_out, (params, X), 0)


def test_jacobian_with_a_tuple_wrt_has_a_tuple_per_output_leaf():
    params = fresh_params()
    for mode in ("forward", "reverse"):
        j_params, j_x = s2sgrad.jacobian(layer_out, wrt=(0, 1), mode=mode)(params, X)
        expected = numeric_jacobian(layer_out, (params, X), 0)
        np.testing.assert_allclose(j_params["W"], expected[(), ("W",)], rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(j_x, numeric_jacobian(layer_out, (params, X), 1)[(), ()], rtol=RTOL, atol=ATOL)


def scaled_layer(params, x):
    return np.tanh(params["W"] @ x + params["b"]) * params["n"]


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_entries_have_the_dtype_of_their_output_and_leaf(mode):
    params = {"W": np.ones((2, 3), np.float32), "b": np.zeros(2, np.float32), "n": 2}
    jac = s2sgrad.jacobian(scaled_layer, mode=mode)(params, np.ones(3, np.float32))
    assert jac["W"].dtype == jac["b"].dtype == np.float32
    assert jac["n"].dtype == np.float64               # an int leaf is a real number, its entries float64


def stacked_layers(layers, x):
    h = x
    for W, b in layers:
        h = np.tanh(W @ h + b)
    return h


def test_jacobian_with_respect_to_a_list_of_namedtuples_keeps_their_types():
    rng = np.random.default_rng(3)
    layers = [Layer(rng.normal(size=(3, 3)), rng.normal(size=3)), Layer(rng.normal(size=(2, 3)), rng.normal(size=2))]
    jac = s2sgrad.jacobian(stacked_layers)(layers, X)
    assert type(jac) is list and type(jac[1]) is Layer and jac[1].W.shape == (2, 2, 3)
    check_derivatives(stacked_layers, (layers, X), 0)


def quadratic_form(params, x):
    h = params["W"] @ x + params["b"]
    return np.sum(np.sin(h) * h) * params["scale"] + np.sum(params["b"] ** 3)


def numeric_hessian(fn, args, position):
    """{(row path, column path): block of shape row_leaf.shape + column_leaf.shape} by central
    differences of s2sgrad's gradient (itself checked against finite differences elsewhere)."""
    gradient = s2sgrad.grad(fn, wrt=position)
    return numeric_jacobian(lambda *a: gradient(*a), args, position)


def test_hessian_with_respect_to_a_dict_is_a_dict_of_dicts_like_jax():
    params = fresh_params()
    H = s2sgrad.hessian(quadratic_form)(params, X)
    assert type(H) is dict and type(H["W"]) is dict
    assert H["W"]["b"].shape == (2, 3, 2) and H["b"]["W"].shape == (2, 2, 3) and type(H["scale"]["scale"]) is float
    assert H["act"] is None and H["W"]["act"] is None
    expected = numeric_hessian(quadratic_form, (params, X), 0)
    for (row, column), block in expected.items():
        np.testing.assert_allclose(H[row[0]][column[0]], block, rtol=1e-6, atol=1e-7, err_msg=f"{row} {column}")
    np.testing.assert_allclose(H["W"]["b"], np.moveaxis(H["b"]["W"], 0, -1), rtol=1e-12, atol=1e-14)


def test_hessian_with_a_tuple_wrt_nests_the_argument_index_inside_each_leaf():
    params = fresh_params()
    H = s2sgrad.hessian(quadratic_form, wrt=(0, 1))(params, X)
    assert H[0]["W"][1].shape == (2, 3, 3) and H[1][0]["b"].shape == (3, 2) and H[1][1].shape == (3, 3)
    g_x = s2sgrad.grad(quadratic_form, wrt=1)
    expected = numeric_jacobian(lambda p, x: g_x(p, x), (params, X), 0)
    for (_, column), block in expected.items():
        np.testing.assert_allclose(H[1][0][column[0]], block, rtol=1e-6, atol=1e-7)


def test_hvp_with_a_dict_vector_is_the_hessian_applied_to_it():
    params = fresh_params()
    v = random_like(params)
    hv = s2sgrad.hvp(quadratic_form, (params, X), v)
    H = s2sgrad.hessian(quadratic_form)(params, X)
    for row, leaf in float_leaves(params):
        want = sum(np.tensordot(H[row[0]][col[0]], np.asarray(v[col[0]]), axes=np.ndim(c))
                   for col, c in float_leaves(params))
        np.testing.assert_allclose(hv[row[0]], want, rtol=1e-10, atol=1e-12)


def stacked_total(layers, x):
    h = x
    for W, b in layers:
        h = np.tanh(W @ h + b)
    return np.sum(h)


def test_check_grad_checks_every_leaf_of_a_container():
    assert s2sgrad.check_grad(mlp_loss, fresh_params(), X)
    rng = np.random.default_rng(4)
    layers = [Layer(rng.normal(size=(3, 3)), rng.normal(size=3)), (rng.normal(size=(1, 3)), rng.normal(size=1))]
    assert s2sgrad.check_grad(stacked_total, layers, X)
    assert s2sgrad.check_grad(stacked_total, layers, X, wrt=(0, 1))       # a container and an array together


def test_check_grad_names_the_wrong_leaf_of_a_container(monkeypatch):
    real = s2sgrad.checking.grad

    def wrong_grad(fn, wrt):
        def gradients(*args):
            (g,) = real(fn, wrt=wrt)(*args)
            g = dict(g, b=g["b"] + np.array([0.0, 0.5]))
            return (g,)
        return gradients
    monkeypatch.setattr(s2sgrad.checking, "grad", wrong_grad)
    with pytest.raises(s2sgrad.GradientCheckError) as info:
        s2sgrad.check_grad(mlp_loss, fresh_params(), X)
    message = str(info.value)
    assert "params['b']: MISMATCH; worst element params['b'][1]:" in message
    assert "params['W']: ok" in message and "params['scale']: ok" in message
    assert "act" not in message                   # a string carries no derivative: nothing to check


# -- functions returning containers ----------------------------------------------------------------

def identity(params):
    return params


def items_nested(params):
    return params["W"] * 2.0, (np.sin(params["b"]), params["scale"] * params["b"])


def first_layer(layers):
    return layers[0]


LAYERS = [Layer(RNG.normal(size=(2, 2)), RNG.normal(size=2)), (RNG.normal(size=(1, 2)), RNG.normal(size=1))]


@pytest.mark.parametrize("fn, args", [
    (identity, (fresh_params(),)),
    (items_nested, (fresh_params(),)),
    (first_layer, (LAYERS,)),
    (layer_out, (fresh_params(), X)),
], ids=["the-parameter-dict", "nested-tuple-of-items", "an-item-that-is-a-namedtuple", "an-array"])
def test_functions_returning_containers_have_jacobian_jvp_and_vjp_of_the_outputs_structure(fn, args):
    check_derivatives(fn, args, 0)


def test_the_jacobian_of_a_returned_container_nests_outputs_outside_and_arguments_inside():
    params = fresh_params()
    jac = s2sgrad.jacobian(items_nested)(params)
    assert type(jac) is tuple and type(jac[1]) is tuple and type(jac[1][0]) is dict
    assert jac[0]["W"].shape == (2, 3, 2, 3) and jac[1][1]["scale"].shape == (2,) and jac[1][0]["act"] is None
    np.testing.assert_array_equal(jac[0]["W"], 2.0 * np.eye(6).reshape(2, 3, 2, 3))
    jac = s2sgrad.jacobian(identity)(params)
    assert jac["act"] is None and jac["W"]["b"].shape == (2, 3, 2)
    assert type(jac["scale"]["scale"]) is float and jac["scale"]["scale"] == 1.0


def test_vjp_of_a_nested_tuple_output_takes_none_as_a_zero_cotangent():
    params = fresh_params()
    _, pullback = s2sgrad.vjp(items_nested, params)
    ct_b = np.array([1.0, -2.0])
    sparse = pullback((None, (ct_b, None)))
    full = pullback((np.zeros((2, 3)), (ct_b, np.zeros(2))))
    for path, leaf in float_leaves(params):
        np.testing.assert_array_equal(trees.at(sparse, path), trees.at(full, path))
    np.testing.assert_allclose(sparse["b"], ct_b * np.cos(params["b"]), rtol=1e-14)


def test_vjp_of_the_returned_parameter_dict_gives_the_cotangent_back_as_its_own_copy():
    params = fresh_params()
    _, pullback = s2sgrad.vjp(identity, params)
    cotangent = random_like(params)
    g = pullback(cotangent)
    assert g["act"] is None
    np.testing.assert_array_equal(g["W"], cotangent["W"])
    assert not np.shares_memory(g["W"], cotangent["W"]) and not np.shares_memory(g["W"], params["W"])


@pytest.mark.parametrize("bad, error, message", [
    (np.ones((2, 3)), ValueError, r"the output of items_nested is a tuple of 2 values: the cotangent must be a tuple "
                                  r"of 2 too \(is a ndarray\)"),
    ((np.ones((2, 3)), (np.ones(2),)), ValueError,
     r"the output of items_nested at \[1\] is a tuple of 2 values: the cotangent at \[1\] must be a tuple of 2 too "
     r"\(has 1\)"),
    ((np.ones((2, 3)), (np.ones(2), np.ones(3))), ValueError,
     r"the cotangent at \[1\]\[1\] has shape \(3,\), but the output of items_nested at \[1\]\[1\] has shape \(2,\)"),
    ((np.ones((2, 3)), (np.ones(2), "x")), TypeError, r"the cotangent at \[1\]\[1\] must be a float or an array"),
])
def test_a_cotangent_of_another_structure_than_the_output_is_refused_naming_the_mismatch(bad, error, message):
    _, pullback = s2sgrad.vjp(items_nested, fresh_params())
    with pytest.raises(error, match=message):
        pullback(bad)


def test_a_cotangent_dict_with_other_keys_than_the_output_is_refused_naming_them():
    _, pullback = s2sgrad.vjp(identity, fresh_params())
    with pytest.raises(ValueError, match=r"the output of identity is a dict with keys 'W', 'act', 'b', 'frozen', "
                                         r"'note', 'scale': the cotangent must be a dict with those keys "
                                         r"\(missing 'scale', 'act', 'frozen', 'note'\)"):
        pullback({"W": np.ones((2, 3)), "b": np.ones(2)})


@pytest.mark.parametrize("fn, args, kind", [(identity, (fresh_params(),), "dict"),
                                            (first_layer, ([[1.0, 2.0]],), "list")])
def test_grad_of_a_function_returning_a_dict_or_list_points_to_vjp(fn, args, kind):
    with pytest.raises(ValueError, match=f"grad needs a scalar output, but {fn.__name__} returned a {kind}; use vjp"):
        s2sgrad.grad(fn)(*args)


# -- containers built by the function (list and dict displays, append, comprehensions) -----------

def dict_display(x):
    return {"double": x * 2.0, "sine": np.sin(x), "tag": "out"}


def list_display(x, s):
    return [x * s, (np.sum(x), s * s)]


def appended(x):
    hs = []
    h = x
    for i in range(3):
        h = np.tanh(h * 1.5 + i)
        hs.append(h)
    return hs


def nested_display(x, params):
    return {"pair": (x * params["scale"], [np.sin(x), params["b"]]), "total": np.sum(x) * params["scale"]}


@pytest.mark.parametrize("fn, args, position", [
    (dict_display, (X,), 0),
    (list_display, (X, 0.7), 0),
    (list_display, (X, 0.7), 1),
    (appended, (X,), 0),
    (nested_display, (X, fresh_params()), 0),
    (nested_display, (X, fresh_params()), 1),
], ids=["dict", "list-x", "list-s", "append", "nested-x", "nested-params"])
def test_functions_returning_displays_they_build_have_the_displays_structure(fn, args, position):
    check_derivatives(fn, args, position)


def test_a_dict_display_returned_gives_a_dict_jacobian_with_none_for_a_string():
    jac = s2sgrad.jacobian(dict_display)(X)
    assert list(jac) == ["double", "sine", "tag"] and jac["tag"] is None
    np.testing.assert_array_equal(jac["double"], 2.0 * np.eye(3))


def doubled_items(params):
    return {k: v * 2.0 for k, v in params.items()}


def test_a_dict_comprehension_returned_gives_the_jacobian_of_its_structure():
    check_derivatives(doubled_items, ({"u": np.array([0.5, 1.5]), "v": 2.0},), 0)


# -- realistic use: Adam over one vector, scipy.optimize.minimize ---------------------------------

def regression_loss(params, X, y):
    hidden = np.tanh(X @ params["W1"] + params["b1"])
    prediction = hidden @ params["w2"] + params["b2"]
    return np.mean((prediction - y) ** 2) + 1e-3 * np.sum(params["W1"] ** 2)


def regression_data():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 2))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] ** 2
    params = {"W1": 0.5 * rng.normal(size=(2, 8)), "b1": np.zeros(8), "w2": 0.5 * rng.normal(size=8), "b2": 0.0,
              "activation": "tanh"}
    return params, X, y


def adam_over_one_vector(loss, params, X, y, steps, lr=0.05):
    """Adam written over s2sgrad.ravel's vector: (losses, trained parameters, first gradient vector)."""
    loss_and_grad = s2sgrad.value_and_grad(loss)
    v, unravel = s2sgrad.ravel(params)
    m, s = np.zeros_like(v), np.zeros_like(v)
    losses, first = [], None
    for t in range(1, steps + 1):
        value, g = loss_and_grad(unravel(v), X, y)
        g_vector = s2sgrad.ravel(g)[0]
        first = g_vector if first is None else first
        m = 0.9 * m + 0.1 * g_vector
        s = 0.999 * s + 0.001 * g_vector ** 2
        v -= lr * (m / (1 - 0.9 ** t)) / (np.sqrt(s / (1 - 0.999 ** t)) + 1e-8)   # in place: unravel copied
        losses.append(value)
    return losses, unravel(v), first


def test_a_dict_parameter_model_trains_with_adam_written_over_one_raveled_vector():
    params, X, y = regression_data()
    losses, trained, first = adam_over_one_vector(regression_loss, params, X, y, steps=200)
    v, unravel = s2sgrad.ravel(params)
    numeric = np.array([(regression_loss(unravel(v + EPS * e), X, y) - regression_loss(unravel(v - EPS * e), X, y))
                        / (2 * EPS) for e in np.eye(v.size)])
    np.testing.assert_allclose(first, numeric, rtol=1e-5, atol=1e-8)     # the first step's gradient
    assert trained["activation"] == "tanh" and type(trained["b2"]) is float
    assert losses[-1] < 0.1 * losses[0]               # measured: 0.69 -> 0.0058 in 200 steps


def pairs_mlp_loss(params, X, y):
    h = X
    for W, b in params[:-1]:
        h = np.tanh(h @ W + b)
    W, b = params[-1]
    penalty = 0.0
    for W_k, b_k in params:
        penalty = penalty + np.sum(W_k ** 2)
    return np.mean((h @ W + b - y) ** 2) + 1e-3 * penalty


def pairs_mlp_loss_with_a_comprehension(params, X, y):
    h = X
    for W, b in params[:-1]:
        h = np.tanh(h @ W + b)
    W, b = params[-1]
    return np.mean((h @ W + b - y) ** 2) + 1e-3 * sum([np.sum(W_k ** 2) for W_k, b_k in params])


def pairs_params():
    rng = np.random.default_rng(7)
    return [(0.5 * rng.normal(size=(2, 8)), np.zeros(8)), (0.5 * rng.normal(size=(8, 8)), np.zeros(8)),
            (0.5 * rng.normal(size=8), 0.0)]


@pytest.mark.parametrize("loss", [
    pairs_mlp_loss,
    pairs_mlp_loss_with_a_comprehension,
], ids=["penalty-by-a-loop", "penalty-by-a-comprehension"])
def test_an_mlp_of_w_b_pairs_trains_with_adam_over_one_raveled_vector(loss):
    params = pairs_params()
    _, X, y = regression_data()
    losses, trained, first = adam_over_one_vector(loss, params, X, y, steps=150)
    v, unravel = s2sgrad.ravel(params)
    numeric = np.array([(loss(unravel(v + EPS * e), X, y) - loss(unravel(v - EPS * e), X, y)) / (2 * EPS)
                        for e in np.eye(v.size)])
    np.testing.assert_allclose(first, numeric, rtol=1e-5, atol=1e-8)
    assert type(trained) is list and type(trained[0]) is tuple and type(trained[2][1]) is float
    assert losses[-1] < 0.1 * losses[0]               # measured (loop): 1.02 -> 0.013 in 150 steps


def linear_loss(params, X, y):
    residual = X @ params["w"] + params["b"] - y
    return 0.5 * np.sum(residual ** 2)


def test_scipy_minimize_over_raveled_dict_parameters_finds_the_least_squares_solution():
    optimize = pytest.importorskip("scipy.optimize")
    rng = np.random.default_rng(6)
    X = rng.normal(size=(30, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.01 * rng.normal(size=30)
    x0, unravel = s2sgrad.ravel({"w": np.zeros(3), "b": 0.0, "name": "linear"})
    loss_and_grad = s2sgrad.value_and_grad(linear_loss)

    def fun(vector):
        value, g = loss_and_grad(unravel(vector), X, y)
        return value, s2sgrad.ravel(g)[0]

    result = optimize.minimize(fun, x0, jac=True, method="BFGS", options={"gtol": 1e-10})
    assert result.success
    fitted = unravel(result.x)
    exact = np.linalg.lstsq(np.hstack([X, np.ones((30, 1))]), y, rcond=None)[0]
    np.testing.assert_allclose(fitted["w"], exact[:3], rtol=1e-7, atol=1e-9)
    assert fitted["b"] == pytest.approx(exact[3], rel=1e-7, abs=1e-9) and fitted["name"] == "linear"
