"""Differentiating with respect to dataclasses and objects (issues 9 and 10): `grad(h)(D(W, n), x)` and
`grad(loss, wrt="model")(model, x)` give back an object of the argument's class holding the gradients
(None where an attribute carries no derivative), through grad, jvp, vjp, jacobian, check_grad and ravel.

Every derivative is compared with central differences in float64 (eps 1e-6) leaf by leaf with the
helpers of test_trees.py, to rtol 1e-6 and atol 1e-8 unless a test says otherwise: a Jacobian in
forward, reverse and auto mode, a jvp (forward mode) and a vjp (reverse mode) along random directions
of the object's structure.

A test marked xfail(strict=True) fails today only because the compiler lacks the feature named in its
reason (with the error that feature's absence raises); it turns into a failure the day the feature
lands, and must then be un-marked.
"""

import dataclasses
import functools
import math
import re
import typing
from dataclasses import dataclass, field

import numpy as np
import pytest

import s2sgrad
from s2sgrad import trees
from test_trees import EPS, RTOL, ATOL, check_derivatives, float_leaves, numeric_jacobian, random_like

RNG = np.random.default_rng(10)
X = np.array([0.5, -1.0, 0.25])




@dataclass
class D:
    W: np.ndarray
    n: int


def h(p, x):
    return np.sum(p.W @ x) * p.n


def snapshot(tree):
    """What `tree` holds, leaf by leaf, copied: to show later that a call left the caller's object alone."""
    return [(path, np.array(leaf, copy=True) if isinstance(leaf, np.ndarray) else leaf)
            for path, leaf in trees.leaves(tree)]


def assert_unchanged(tree, before):
    after = trees.leaves(tree)
    assert [p for p, _ in after] == [p for p, _ in before]
    for (path, now), (_, then) in zip(after, before):
        if isinstance(then, np.ndarray):
            assert np.array_equal(now, then), path
        else:
            assert now is then or now == then, path


def assert_owns_its_arrays(result, *held):
    """No array of `result` shares memory with an array in `held` (the caller's arguments)."""
    theirs = [leaf for tree in held for _, leaf in trees.leaves(tree) if isinstance(leaf, np.ndarray)]
    for path, leaf in trees.leaves(result):
        if isinstance(leaf, np.ndarray):
            assert not any(np.shares_memory(leaf, a) for a in theirs), path


# -- the example ---------------------------------------------------------------------------

def test_the_gradient_with_respect_to_a_dataclass_is_one_of_its_class_holding_the_gradients():
    p = D(np.ones((2, 3)), 2)
    g = s2sgrad.grad(h)(p, X)
    assert type(g) is D and g is not p
    np.testing.assert_array_equal(g.W, 2 * np.outer(np.ones(2), X))       # d/dW sum(W x) n = n 1 x^T
    assert type(g.n) is float and g.n == pytest.approx(np.sum(p.W @ X), rel=1e-15)   # an int is a real number
    assert p.n == 2 and np.array_equal(p.W, np.ones((2, 3)))


def test_a_dataclass_argument_has_jacobian_jvp_and_vjp_matching_finite_differences():
    check_derivatives(h, (D(RNG.normal(size=(2, 3)), 2), X), 0)
    check_derivatives(h, (D(RNG.normal(size=(2, 3)), 2), X), 1)


def test_the_jacobian_with_respect_to_a_dataclass_is_a_dataclass_of_blocks():
    p = D(RNG.normal(size=(2, 3)), 2)
    for mode in ("forward", "reverse"):
        jac = s2sgrad.jacobian(lambda_free_layer, mode=mode)(p, X)
        assert type(jac) is D and jac.W.shape == (2, 2, 3) and jac.n.shape == (2,)


def lambda_free_layer(p, x):
    return np.tanh(p.W @ x) * p.n


def test_a_tangent_for_a_dataclass_is_one_of_its_class_or_a_dict_keyed_by_attribute():
    p = D(RNG.normal(size=(2, 3)), 2)
    t_W = RNG.normal(size=(2, 3))
    _, as_object = s2sgrad.jvp(h, (p, X), D(t_W, 0.5))
    _, as_dict = s2sgrad.jvp(h, (p, X), {"W": t_W, "n": 0.5})
    _, sparse = s2sgrad.jvp(h, (p, X), {"W": None, "n": 0.5})            # None is a zero, as in a dict
    assert as_object == as_dict
    assert sparse == pytest.approx(0.5 * np.sum(p.W @ X), rel=1e-14)
    numeric = (h(D(p.W + EPS * t_W, p.n + 0.5 * EPS), X) - h(D(p.W - EPS * t_W, p.n - 0.5 * EPS), X)) / (2 * EPS)
    assert as_object == pytest.approx(numeric, rel=RTOL, abs=ATOL)


@pytest.mark.parametrize("bad, message", [
    ({"W": np.ones((2, 3))},
     r"'p' is a D with attributes 'W', 'n': the tangent of 'p' must be a D with those attributes or a dict with "
     r"those keys \(missing 'n'\)"),
    ({"W": np.ones((2, 3)), "n": 1.0, "m": 1.0}, r"those keys \(not 'm'\)"),
    ((np.ones((2, 3)), 1.0), r"those keys \(not a tuple\)"),
    ("W", r"those keys \(not a str\)"),
    (D(np.ones((2, 2)), 1.0), r"the tangent of 'p' at .W has shape \(2, 2\), but 'p' at .W has shape \(2, 3\)"),
])
def test_a_tangent_of_another_structure_than_the_dataclass_is_refused_naming_the_mismatch(bad, message):
    with pytest.raises(ValueError, match=message):
        s2sgrad.jvp(h, (D(np.ones((2, 3)), 2), X), bad)


def test_a_tangent_object_of_another_class_is_refused():
    @dataclass
    class Other:
        W: np.ndarray
        n: float
    with pytest.raises(ValueError, match=r"those keys \(not a Other\)"):
        s2sgrad.jvp(h, (D(np.ones((2, 3)), 2), X), Other(np.ones((2, 3)), 1.0))


def test_a_cotangent_for_a_returned_dataclass_is_one_of_its_class_or_a_dict():
    p = D(RNG.normal(size=(2, 3)), 2)
    _, pullback = s2sgrad.vjp(identity, p)
    ct = RNG.normal(size=(2, 3))
    from_object, from_dict = pullback(D(ct, 1.5)), pullback({"W": ct, "n": 1.5})
    for g in (from_object, from_dict):
        assert type(g) is D and g.n == 1.5
        np.testing.assert_array_equal(g.W, ct)
        assert not np.shares_memory(g.W, ct)
    with pytest.raises(ValueError, match=r"the output of identity is a D with attributes 'W', 'n': the cotangent "
                                         r"must be a D with those attributes or a dict with those keys "
                                         r"\(missing 'n'\)"):
        pullback({"W": ct})


def identity(p):
    return p


def test_grad_of_a_function_returning_an_object_points_to_vjp():
    with pytest.raises(ValueError, match="grad needs a scalar output, but identity returned a D; use vjp"):
        s2sgrad.grad(identity)(D(np.ones(2), 1))


# -- frozen, slots, nested dataclasses ----------------------------------------------------------

@dataclass(frozen=True)
class Frozen:
    W: np.ndarray
    b: np.ndarray
    scale: float = 1.5


def frozen_layer(p, x):
    return np.sin(p.W @ x + p.b) * p.scale


def test_a_frozen_dataclass_gives_a_frozen_gradient_and_is_never_changed():
    p = Frozen(RNG.normal(size=(2, 3)), RNG.normal(size=2))
    before = snapshot(p)
    g = s2sgrad.grad(frozen_total)(p, X)
    assert type(g) is Frozen and g is not p
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.scale = 0.0
    assert_unchanged(p, before)
    assert_owns_its_arrays(g, p)
    check_derivatives(frozen_layer, (p, X), 0)
    assert_unchanged(p, before)


def frozen_total(p, x):
    return np.sum(np.sin(p.W @ x + p.b) * p.scale)


def test_a_dataclass_in_wrt_passed_to_a_helper_is_read_there():
    p = Frozen(RNG.normal(size=(2, 3)), RNG.normal(size=2))
    assert s2sgrad.check_grad(frozen_total_by_helper, p, X)


def frozen_total_by_helper(p, x):
    return np.sum(frozen_layer(p, x))


@dataclass(slots=True)
class Slotted:
    w: np.ndarray
    c: float


def slotted_loss(p, x):
    return np.sum(np.exp(p.w * x)) * p.c


def test_a_dataclass_with_slots_is_walked_by_its_fields():
    p = Slotted(RNG.normal(size=3), 0.7)
    g = s2sgrad.grad(slotted_loss)(p, X)
    assert type(g) is Slotted
    check_derivatives(slotted_loss, (p, X), 0)


@dataclass
class Head:
    w: np.ndarray
    bias: float


@dataclass
class Net:
    layers: list                    # [(W, b), ...]
    head: Head
    depth: int
    name: str = "net"
    act: object = np.tanh           # a function: no derivative
    note: object = None


def net_forward(net, x):
    h = x
    for W, b in net.layers:
        h = np.tanh(W @ h + b)
    return net.head.w @ h + net.head.bias


def fresh_net():
    rng = np.random.default_rng(11)
    return Net([(rng.normal(size=(3, 3)), rng.normal(size=3)), (rng.normal(size=(2, 3)), rng.normal(size=2))],
               Head(rng.normal(size=2), 0.3), depth=2)


def test_a_nested_dataclass_holding_a_list_of_pairs_gives_a_gradient_of_its_structure():
    net = fresh_net()
    before = snapshot(net)
    g = s2sgrad.grad(net_forward)(net, X)
    assert type(g) is Net and type(g.layers) is list and type(g.layers[1]) is tuple and type(g.head) is Head
    assert g.name is None and g.act is None and g.note is None        # strings, functions, None: no derivative
    assert type(g.depth) is float and g.depth == 0.0                   # an int attribute never read: zero
    assert_unchanged(net, before)
    assert_owns_its_arrays(g, net)
    check_derivatives(net_forward, (net, X), 0)
    assert_unchanged(net, before)


def test_paths_into_dataclasses_read_as_python_does():
    net = fresh_net()
    paths = [trees.path_text(net, path) for path, _ in float_leaves(net)]
    assert paths == [".layers[0][0]", ".layers[0][1]", ".layers[1][0]", ".layers[1][1]", ".head.w", ".head.bias",
                     ".depth"]                                          # fields in definition order
    with pytest.raises(ValueError, match=r"the tangent of 'net' at .layers\[1\]\[1\] has shape \(3,\), but 'net' at "
                                         r".layers\[1\]\[1\] has shape \(2,\)"):
        bad = random_like(net)
        bad.layers[1] = (bad.layers[1][0], np.ones(3))
        s2sgrad.jvp(net_forward, (net, X), bad)


def test_check_grad_names_the_attribute_of_a_wrong_leaf(monkeypatch):
    real = s2sgrad.checking.grad

    def wrong_grad(fn, wrt):
        def gradients(*args):
            (g,) = real(fn, wrt=wrt)(*args)
            g.head = Head(g.head.w, g.head.bias + 0.5)
            return (g,)
        return gradients
    assert s2sgrad.check_grad(net_forward_total, fresh_net(), X)
    monkeypatch.setattr(s2sgrad.checking, "grad", wrong_grad)
    with pytest.raises(s2sgrad.GradientCheckError) as info:
        s2sgrad.check_grad(net_forward_total, fresh_net(), X)
    message = str(info.value)
    assert "net.head.bias: MISMATCH" in message and "net.layers[0][0]: ok" in message and "net.head.w: ok" in message


def net_forward_total(net, x):
    h = x
    for W, b in net.layers:
        h = np.tanh(W @ h + b)
    return (net.head.w @ h + net.head.bias) ** 2


def pick_head(net):
    return net.head


def test_a_function_returning_a_dataclass_it_was_given_has_derivatives_of_that_structure():
    check_derivatives(pick_head, (fresh_net(),), 0)
    tangent = s2sgrad.jvp(pick_head, (fresh_net(),), random_like(fresh_net()))[1]
    assert type(tangent) is Head


# -- objects of plain classes (wrt="model") -----------------------------------------------------

class Model:
    """A model as people write one: arrays as attributes, a method computing its loss."""

    def __init__(self, rng, hidden=4):
        self.W = 0.5 * rng.normal(size=(hidden, 3))
        self.b = np.zeros(hidden)
        self.v = 0.5 * rng.normal(size=hidden)
        self.hidden = hidden        # an int: a real number, as in a dict
        self.name = "mlp"
        self.activation = np.tanh   # a function: no derivative
        self.backend = np           # a module: no derivative

    def loss(self, x):
        return np.sum(np.tanh(self.W @ x + self.b) * self.v) ** 2 + 1e-3 * np.sum(self.W ** 2)


def loss_fn(model, x):
    return np.sum(np.tanh(model.W @ x + model.b) * model.v) ** 2 + 1e-3 * np.sum(model.W ** 2)


def method_loss_fn(model, x):
    return model.loss(x)


def test_the_gradient_with_respect_to_a_model_object_is_a_model_holding_the_gradients():
    model = Model(np.random.default_rng(1))
    before = snapshot(model)
    g = s2sgrad.grad(loss_fn, wrt="model")(model, X)
    assert type(g) is Model and g is not model
    assert sorted(vars(g)) == sorted(vars(model))
    assert g.name is None and g.activation is None and g.backend is None and g.hidden == 0.0
    assert g.W.shape == model.W.shape and g.W.dtype == model.W.dtype
    assert_unchanged(model, before)
    assert_owns_its_arrays(g, model)
    check_derivatives(loss_fn, (model, X), 0)
    assert s2sgrad.check_grad(loss_fn, model, X, wrt="model")
    assert_unchanged(model, before)


def test_the_bound_method_and_the_function_of_the_model_have_the_same_gradients():
    model = Model(np.random.default_rng(2))
    dx_method = s2sgrad.grad(model.loss)(X)                          # the method, with respect to x
    g_model, dx = s2sgrad.grad(loss_fn, wrt=("model", "x"))(model, X)
    np.testing.assert_allclose(dx_method, dx, rtol=1e-14, atol=1e-15)
    g_self = s2sgrad.grad(Model.loss, wrt="self")(model, X)           # the method, with respect to its object
    for path, leaf in float_leaves(model):
        np.testing.assert_allclose(trees.at(g_self, path), trees.at(g_model, path), rtol=1e-14, atol=1e-15)
    expected = numeric_jacobian(loss_fn, (model, X), 0)
    for (_, path), block in expected.items():
        np.testing.assert_allclose(trees.at(g_model, path), block, rtol=RTOL, atol=ATOL, err_msg=str(path))


def test_a_function_calling_a_method_of_the_model_in_wrt_differentiates_it():
    model = Model(np.random.default_rng(2))
    g = s2sgrad.grad(method_loss_fn, wrt="model")(model, X)
    np.testing.assert_allclose(g.W, s2sgrad.grad(loss_fn)(model, X).W, rtol=1e-14)


def test_a_new_model_object_each_step_reuses_the_compiled_code():
    # Code is specialised on an object passed as is, but one in wrt is a tree of its arrays: a new one
    # each training step must neither build new code nor be kept alive by the cache.
    gradient = s2sgrad.grad(loss_fn)
    for seed in range(4):
        gradient(Model(np.random.default_rng(seed)), X)
    assert len(gradient.__s2sgrad_derivative__[1]._variants) == 1


def test_an_object_inside_a_wrt_dict_is_walked_too():
    params = {"model": Model(np.random.default_rng(3)), "scale": 0.5}
    g = s2sgrad.grad(scaled_model_loss)(params, X)
    assert type(g) is dict and type(g["model"]) is Model and g["model"].name is None
    check_derivatives(scaled_model_loss, (params, X), 0)


def scaled_model_loss(params, x):
    model = params["model"]
    return np.sum(np.tanh(model.W @ x + model.b) * model.v) * params["scale"]


class Bag:
    """An object of a class whose instances must not be copied: stands for one the caller holds on to."""

    def __init__(self):
        self.w = np.array([1.0, -2.0, 0.5])

    def __copy__(self):
        raise AssertionError("s2sgrad copied an object that is not differentiated")


def bag_loss(bag, x):
    return np.sum(np.sin(bag.w * x))


def test_an_object_not_in_wrt_is_never_walked_or_copied():
    bag = Bag()
    assert s2sgrad.check_grad(bag_loss, bag, X, wrt="x")
    _, pullback = s2sgrad.vjp(bag_loss, bag, X, wrt=1)
    np.testing.assert_allclose(pullback(1.0), bag.w * np.cos(bag.w * X), rtol=1e-14)
    assert s2sgrad.jacobian(bag_loss, wrt=1)(bag, X).shape == (3,)


def test_a_tangent_model_with_other_attributes_is_refused_naming_them():
    model = Model(np.random.default_rng(4))
    tangent = random_like(model)
    tangent.extra = 1.0
    with pytest.raises(ValueError, match=r"'model' is a Model with attributes 'W', 'activation', 'b', 'backend', "
                                         r"'hidden', 'name', 'v': the tangent of 'model' must be a Model with those "
                                         r"attributes or a dict with those keys \(this Model has other attributes: "
                                         r"not 'extra'\)"):
        s2sgrad.jvp(loss_fn, (model, X), tangent)
    del tangent.v
    with pytest.raises(ValueError, match=r"other attributes: missing 'v'; not 'extra'"):
        s2sgrad.jvp(loss_fn, (model, X), tangent)


class Damped(Model):
    eps = 1e-2                      # a class attribute: the class's constant, not the model's parameter


def damped_loss(model, x):
    return np.sum(np.tanh(model.W @ x + model.b) * model.v) ** 2 + model.eps * np.sum(model.W ** 2)


def test_a_class_attribute_is_a_constant_and_a_property_is_refused():
    model = Damped(np.random.default_rng(4))
    g = s2sgrad.grad(damped_loss)(model, X)
    assert type(g) is Damped and "eps" not in vars(g)      # not an attribute of the model: nothing to give back
    check_derivatives(damped_loss, (model, X), 0)           # forward code reads it as a constant too

    class WithProperty:
        def __init__(self):
            self.W = np.ones((2, 3))

        @property
        def doubled(self):
            return 2.0 * self.W
    for run in (lambda: s2sgrad.grad(property_loss)(WithProperty(), X),
                lambda: s2sgrad.jvp(property_loss, (WithProperty(), X), {"W": np.ones((2, 3))})):
        with pytest.raises(TypeError, match=r"WithProperty.doubled is a property, not an attribute of the "
                                            r"WithProperty differentiated with respect to"):
            run()


def property_loss(m, x):
    return np.sum(m.doubled @ x)


class Cached:
    def __init__(self):
        self.W = np.ones((2, 3))

    @functools.cached_property
    def doubled(self):
        return 2.0 * self.W


def test_a_cached_property_is_refused_even_once_it_is_cached():
    model = Cached()
    model.doubled                   # now in vars(model): reading it as an attribute would miss its dependence on W
    with pytest.raises(TypeError, match=r"Cached.doubled is a cached_property"):
        s2sgrad.grad(property_loss)(model, X)


@dataclass
class WithCache:
    A: np.ndarray

    def __post_init__(self):
        self.inverse = np.linalg.inv(self.A)        # an attribute that is not a field


def uses_the_inverse(p, x):
    return np.sum(p.inverse @ x)


def uses_the_field(p, x):
    return np.sum(p.A @ x)


def test_a_dataclass_attribute_that_is_not_a_field_is_refused_only_when_the_output_depends_on_it():
    p = WithCache(np.eye(3) + 0.1 * RNG.normal(size=(3, 3)))
    g = s2sgrad.grad(uses_the_field)(p, X)
    assert type(g) is WithCache and g.inverse is p.inverse          # not a field: copied as it is
    np.testing.assert_allclose(g.A, np.outer(np.ones(3), X), rtol=1e-15)
    with pytest.raises(ValueError, match=r"the output depends on the attribute 'inverse' of the WithCache "
                                         r"differentiated, which is not one of its dataclass fields \('A'\)"):
        s2sgrad.grad(uses_the_inverse)(p, X)


@pytest.mark.parametrize("attribute, value, found", [
    ("idx", np.arange(3), "an array of dtype int64 is not differentiable"),
    ("rng", np.random.default_rng(0), "it is a Generator"),
    ("mix", np.array([1.0, "a"], dtype=object), "an array of dtype object is not differentiable"),
])
def test_an_attribute_grad_cannot_differentiate_is_refused_naming_its_path(attribute, value, found):
    model = Model(np.random.default_rng(5))
    setattr(model, attribute, value)
    with pytest.raises(TypeError, match=re.escape(f"'model.{attribute}'") + ".*" + re.escape(found)):
        s2sgrad.grad(loss_fn)(model, X)
    with pytest.raises(TypeError, match=re.escape(f"tree.{attribute}")):
        s2sgrad.ravel(model)


def test_an_object_that_refers_back_to_itself_is_refused():
    model = Model(np.random.default_rng(6))
    model.parent = {"child": model}
    with pytest.raises(ValueError, match=r"tree.parent\['child'\] is tree itself: a tree that contains itself"):
        s2sgrad.grad(loss_fn)(model, X)


def test_what_is_a_node_and_what_is_a_leaf():
    assert trees.is_object(D(np.ones(2), 1)) and trees.is_object(Model(np.random.default_rng(0)))
    assert trees.is_object(Frozen(np.ones(1), np.ones(1)))
    for leaf in (np.random.default_rng(0), np.tanh, math.exp, functools.partial(np.sum, axis=0), np, Model, 1.0,
                 np.ones(2), "s", None, object()):
        assert not trees.is_object(leaf), leaf
    for none in (np.tanh, math.exp, functools.partial(np.sum, axis=0), np, Model, loss_fn, "s", None, True):
        assert not trees.carries_derivative(none), none
    model = Model(np.random.default_rng(0))
    assert [p for p, _ in trees.leaves(model)] == [(k,) for k in sorted(vars(model))]      # attributes sorted


@dataclass
class Partial:
    W: np.ndarray
    limit: typing.ClassVar[float] = 3.0          # not a field: the class's
    later: np.ndarray = field(init=False)         # a field __init__ does not set


def test_a_dataclass_is_walked_by_the_fields_its_instance_has():
    p = Partial(np.ones(2))
    assert trees.keys(p) == ["W"]
    p.later = np.zeros(3)
    assert trees.keys(p) == ["W", "later"]
    assert s2sgrad.ravel(p)[0].shape == (5,)


# -- ravel -------------------------------------------------------------------------------------------

def test_ravel_of_an_object_flattens_its_float_attributes_and_unravel_gives_a_new_one():
    model = Model(np.random.default_rng(7))
    before = snapshot(model)
    vector, unravel = s2sgrad.ravel(model)
    # sorted attributes: W (12), activation (out), b (4), backend (out), hidden (1), name (out), v (4)
    np.testing.assert_array_equal(vector, np.concatenate([model.W.ravel(), model.b, [4.0], model.v]))
    back = unravel(vector + 1.0)
    assert type(back) is Model and back is not model
    np.testing.assert_array_equal(back.W, model.W + 1.0)
    assert back.hidden == 5.0 and back.name == "mlp" and back.activation is np.tanh and back.backend is np
    assert_unchanged(model, before)
    assert_owns_its_arrays(back, model)


def test_ravel_of_a_frozen_nested_dataclass_round_trips_exactly():
    net = fresh_net()
    vector, unravel = s2sgrad.ravel(net)
    back = unravel(vector)
    assert type(back) is Net and type(back.head) is Head and type(back.layers[0]) is tuple
    for (path, leaf), (_, again) in zip(trees.leaves(net), trees.leaves(back)):
        if isinstance(leaf, np.ndarray):
            np.testing.assert_array_equal(again, leaf)
            assert not np.shares_memory(again, leaf)
        else:
            assert again == leaf or again is leaf, path
    p = Frozen(np.ones((2, 2)), np.zeros(2))
    vector, unravel = s2sgrad.ravel(p)
    np.testing.assert_array_equal(vector, [1, 1, 1, 1, 0, 0, 1.5])            # fields in definition order
    doubled = unravel(vector * 2)
    assert type(doubled) is Frozen and doubled.scale == 3.0 and type(doubled.scale) is float
    np.testing.assert_array_equal(doubled.W, np.full((2, 2), 2.0))


def test_ravel_of_a_gradient_object_lines_up_with_ravel_of_the_model():
    model = Model(np.random.default_rng(8))
    vector, unravel = s2sgrad.ravel(model)
    g_vector, _ = s2sgrad.ravel(s2sgrad.grad(loss_fn)(model, X))
    numeric = np.array([(loss_fn(unravel(vector + EPS * e), X) - loss_fn(unravel(vector - EPS * e), X)) / (2 * EPS)
                        for e in np.eye(vector.size)])
    np.testing.assert_allclose(g_vector, numeric, rtol=1e-6, atol=1e-8)


# -- second order ----------------------------------------------------------------------------------

def quadratic(p, x):
    h = p.W @ x
    return np.sum(np.sin(h) * h) * p.n


def test_the_hessian_with_respect_to_a_dataclass_is_a_dataclass_of_dataclasses():
    p = D(0.2 * np.ones((2, 3)), 2)
    H = s2sgrad.hessian(quadratic)(p, X)
    assert type(H) is D and type(H.W) is D and H.W.W.shape == (2, 3, 2, 3) and H.W.n.shape == (2, 3)
    g = s2sgrad.grad(quadratic)
    expected = numeric_jacobian(lambda q, x: g(q, x), (p, X), 0)
    for (row, column), block in expected.items():
        np.testing.assert_allclose(trees.at(trees.at(H, row), column), block, rtol=1e-6, atol=1e-7)


def test_hvp_with_a_dataclass_vector_is_the_hessian_applied_to_it():
    p = D(0.2 * np.ones((2, 3)), 2)
    v = {"W": RNG.normal(size=(2, 3)), "n": 0.5}
    hv = s2sgrad.hvp(quadratic, (p, X), v)
    g = s2sgrad.grad(quadratic)
    plus, minus = g(D(p.W + EPS * v["W"], p.n + EPS * v["n"]), X), g(D(p.W - EPS * v["W"], p.n - EPS * v["n"]), X)
    np.testing.assert_allclose(hv.W, (plus.W - minus.W) / (2 * EPS), rtol=1e-6, atol=1e-8)


# -- a realistic program: a model object trained by SGD on its gradient object ------------------------

class Regressor:
    """A one-hidden-layer regressor whose parameters are its attributes, its loss a method."""

    def __init__(self, seed, hidden=8):
        rng = np.random.default_rng(seed)
        self.W1 = 0.5 * rng.normal(size=(2, hidden))
        self.b1 = np.zeros(hidden)
        self.w2 = 0.5 * rng.normal(size=hidden)
        self.b2 = 0.0
        self.l2 = 1e-3              # a hyperparameter stored on the model: it gets a gradient too (unused here)
        self.label = "regressor"

    def loss(self, X, y):
        hidden = np.tanh(X @ self.W1 + self.b1)
        prediction = hidden @ self.w2 + self.b2
        return np.mean((prediction - y) ** 2) + 1e-3 * np.sum(self.W1 ** 2)


def test_a_model_object_trains_with_sgd_on_its_gradient_object():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 2))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] ** 2
    model = Regressor(seed=6)
    loss_and_grad = s2sgrad.value_and_grad(Regressor.loss)          # with respect to self
    first = None
    losses = []
    for step in range(300):
        value, g = loss_and_grad(model, X, y)
        first = g if first is None else first
        for name, gradient in vars(g).items():                   # PyTorch style: the parameters on the module
            if gradient is not None and name != "l2":
                setattr(model, name, getattr(model, name) - 0.1 * gradient)
        losses.append(value)
    start = Regressor(seed=6)
    vector, unravel = s2sgrad.ravel(start)
    numeric = np.array([(unravel(vector + EPS * e).loss(X, y) - unravel(vector - EPS * e).loss(X, y)) / (2 * EPS)
                        for e in np.eye(vector.size)])
    np.testing.assert_allclose(s2sgrad.ravel(first)[0], numeric, rtol=1e-5, atol=1e-8)   # the first step's gradient
    assert type(first) is Regressor and first.label is None and type(first.b2) is float
    assert model.label == "regressor"
    assert losses[-1] < 0.1 * losses[0]                 # measured: 0.538 -> 0.0212 in 300 steps (0.117 at 100)


class CallableLayer:
    """A model called as `model(X)` (PyTorch's nn.Module.__call__ running forward)."""

    def __init__(self, W, b):
        self.W = W
        self.b = b

    def __call__(self, X):
        return np.tanh(X @ self.W + self.b)


def loss_calling_the_model(model, X):
    return np.sum(model(X) ** 2)


def test_model_called_as_a_function_with_the_model_in_wrt_runs_its_call_method():
    model = CallableLayer(RNG.normal(size=(3, 2)), RNG.normal(size=2))
    XS = RNG.normal(size=(4, 3))
    check_derivatives(loss_calling_the_model, (model, XS))
    g = s2sgrad.grad(loss_calling_the_model)(model, XS)
    assert type(g) is CallableLayer and g.W.shape == (3, 2) and g.b.shape == (2,)
