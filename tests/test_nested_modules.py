"""Nested modules (PyTorch's idiom): a model in `wrt` holding layer objects in its attributes, whose methods
call them (`self.linear(x)`, `self.out.forward(h)`, a block of layers inside a model). The gradient is an
object of the model's class whose attributes are objects of the layers' classes holding the gradients.

Every derivative is compared with central differences in float64 leaf by leaf with test_trees.py's
check_derivatives (a Jacobian in forward, reverse and auto mode, a jvp and a vjp along random directions),
to rtol 1e-6 and atol 1e-8.
"""

import numpy as np
import pytest

import s2sgrad
from test_trees import check_derivatives

RNG = np.random.default_rng(21)
X = RNG.normal(size=(3, 4))


class Linear:
    def __init__(self, n_in, n_out, rng):
        self.weight = rng.normal(size=(n_out, n_in))
        self.bias = rng.normal(size=n_out)
        self.name = "linear"

    def __call__(self, x):
        return x @ self.weight.T + self.bias

    def forward(self, x):
        return self(x)


class Model:
    def __init__(self, rng):
        self.linear = Linear(4, 5, rng)
        self.out = Linear(5, 1, rng)

    def __call__(self, x):
        return self.out(np.tanh(self.linear(x)))

    def forward(self, x):
        return self.out.forward(np.sin(self.linear.forward(x)))


def loss(model, x):
    return np.sum(model(x) ** 2)


def loss_forward(model, x):
    return np.sum(model.forward(x) ** 2)


class Block:
    def __init__(self, rng):
        self.fc1 = Linear(4, 3, rng)
        self.fc2 = Linear(3, 4, rng)
        self.scale = 0.5

    def __call__(self, x):
        return x + self.scale * self.fc2(np.tanh(self.fc1(x)))


class Net:
    def __init__(self, rng):
        self.block = Block(rng)
        self.head = Linear(4, 2, rng)

    def __call__(self, x):
        h = self.block(x)
        return self.head(h) * self.block.fc1.bias[0]     # a nested layer's array read directly, too


def net_loss(net, x):
    return np.sum(np.cos(net(x)))


def test_a_model_calling_its_layers_through_call_matches_finite_differences():
    model = Model(np.random.default_rng(1))
    check_derivatives(loss, (model, X), 0)
    check_derivatives(loss, (model, X), 1)


def test_a_model_calling_its_layers_forward_methods_matches_finite_differences():
    model = Model(np.random.default_rng(2))
    check_derivatives(loss_forward, (model, X), 0)


def test_two_levels_of_nesting_match_finite_differences():
    net = Net(np.random.default_rng(3))
    check_derivatives(net_loss, (net, X), 0)


def test_the_gradient_is_a_model_whose_layers_are_objects_of_their_classes_holding_gradients():
    net = Net(np.random.default_rng(4))
    g = s2sgrad.grad(net_loss)(net, X)
    assert type(g) is Net and type(g.block) is Block and type(g.block.fc1) is Linear and type(g.head) is Linear
    assert g.block.fc1.weight.shape == (3, 4) and g.head.bias.shape == (2,)
    assert g.head.name is None                      # a string carries no derivative
    model = Model(np.random.default_rng(5))
    gm = s2sgrad.grad(loss)(model, X)
    assert type(gm) is Model and type(gm.linear) is Linear and type(gm.out) is Linear


def test_check_grad_passes_for_nested_modules():
    assert s2sgrad.check_grad(loss, Model(np.random.default_rng(6)), X)
    assert s2sgrad.check_grad(net_loss, Net(np.random.default_rng(7)), X)


class Tanh:
    def __call__(self, x):
        return np.tanh(x)


class Square:
    def __call__(self, x):
        return x ** 2


class Activated:
    def __init__(self, act, rng):
        self.linear = Linear(4, 2, rng)
        self.act = act

    def __call__(self, x):
        return self.act(self.linear(x))


def activated_loss(model, x):
    return np.sum(model(x))


def test_code_is_specialised_on_the_classes_of_the_layers():
    # Same model class, layers of different classes: each gets its own code, and its own right gradient.
    for act, d in ((Tanh(), lambda z: 1 - np.tanh(z) ** 2), (Square(), lambda z: 2 * z)):
        model = Activated(act, np.random.default_rng(8))
        g = s2sgrad.grad(activated_loss)(model, X)
        z = X @ model.linear.weight.T + model.linear.bias
        np.testing.assert_allclose(g.linear.bias, d(z).sum(axis=0), rtol=1e-12)
        check_derivatives(activated_loss, (model, X), 0)


class Module:
    """PyTorch's shape: __call__ in a base class runs the subclass's forward."""

    def __call__(self, x):
        return self.forward(x)


class Dense(Module):
    def __init__(self, n_in, n_out, rng):
        self.W = rng.normal(size=(n_in, n_out))

    def forward(self, x):
        return np.tanh(x @ self.W)


class Stack(Module):
    def __init__(self, rng):
        self.first = Dense(4, 3, rng)
        self.second = Dense(3, 2, rng)

    def forward(self, x):
        return self.second(self.first(x))


def test_an_inherited_call_runs_the_layers_own_forward():
    stack = Stack(np.random.default_rng(9))
    g = s2sgrad.grad(loss)(stack, X)
    assert type(g) is Stack and type(g.first) is Dense and g.first.W.shape == (4, 3)
    check_derivatives(loss, (stack, X), 0)


class Sequential:
    def __init__(self, rng):
        self.layers = [Linear(4, 4, rng), Linear(4, 2, rng)]

    def __call__(self, x):
        for layer in self.layers:
            x = np.tanh(layer(x))
        return x



class Indexed:
    def __init__(self, rng):
        self.layers = (Linear(4, 2, rng),)

    def __call__(self, x):
        return self.layers[0].forward(x)


class Holder:
    def __init__(self, rng):
        self.inner = Sequential(rng)

    def __call__(self, x):
        return self.inner(x)


@pytest.mark.parametrize("make, where", [(Sequential, "layer(x)"), (Indexed, "self.layers[0].forward"),
                                         (Holder, "layer(x)")])
def test_a_list_of_layers_is_refused_at_the_call(make, where):
    with pytest.raises(s2sgrad.UnsupportedSyntaxError, match="held in a list, tuple or dict attribute") as info:
        s2sgrad.grad(loss)(make(np.random.default_rng(10)), X)
    assert where in str(info.value) and "test_nested_modules.py" in str(info.value)


def test_the_arrays_of_a_list_of_layers_are_still_read_as_a_container():
    model = Sequential(np.random.default_rng(11))

    def reads(model, x):
        first = model.layers[0]
        return np.sum(np.tanh(x @ first.weight.T + first.bias))
    check_derivatives(reads, (model, X), 0)


class Tied:
    def __init__(self, rng):
        self.a = Linear(4, 4, rng)
        self.b = self.a

    def __call__(self, x):
        return self.b(np.tanh(self.a(x)))


def test_a_layer_held_twice_gets_a_gradient_per_path_whose_sum_is_the_shared_arrays_derivative():
    # As for an array held twice in a tree: each path is a leaf of its own (jax.grad's pytrees alike).
    model = Tied(np.random.default_rng(12))
    g = s2sgrad.grad(loss)(model, X)
    bias, eps = model.a.bias.copy(), 1e-6
    want = np.zeros(4)
    for i in range(4):
        model.a.bias = bias + eps * np.eye(4)[i]
        up = loss(model, X)
        model.a.bias = bias - eps * np.eye(4)[i]
        want[i] = (up - loss(model, X)) / (2 * eps)
    model.a.bias = bias
    np.testing.assert_allclose(g.a.bias + g.b.bias, want, rtol=1e-6, atol=1e-8)


class Parent:
    def __init__(self, rng):
        self.child = Linear(4, 2, rng)
        self.child.parent = self

    def __call__(self, x):
        return self.child(x)


def test_a_layer_referring_back_to_its_model_is_refused():
    with pytest.raises(ValueError, match="contains itself"):
        s2sgrad.grad(loss)(Parent(np.random.default_rng(13)), X)


def test_values_computed_from_a_list_of_layers_arrays_are_not_mistaken_for_layers():
    model = Sequential(np.random.default_rng(14))

    def reads(model, x):
        w = model.layers[0].weight
        h = x @ w.T
        return h.sum() + np.sum(model.layers[1].bias ** 2)
    check_derivatives(reads, (model, X), 0)


def test_the_loss_itself_may_call_the_models_layers():
    def layered(model, x):
        return np.sum(model.out(np.tanh(model.linear.forward(x))) ** 2)
    check_derivatives(layered, (Model(np.random.default_rng(15)), X), 0)


class Named:
    def __init__(self, rng):
        self.a = Linear(4, 3, rng)
        self.b = Linear(3, 2, rng)

    def __call__(self, x):
        first = self.a
        second = self.b
        return second(np.tanh(first(x)))


class Chosen(Named):
    def __call__(self, x):
        layer = self.a
        h = np.tanh(layer(x))
        layer = self.b                 # bound twice: which layer it holds is not one class's, refused
        return layer(h)


def test_a_layer_read_into_a_name_bound_once_is_called_as_its_class():
    check_derivatives(loss, (Named(np.random.default_rng(16)), X), 0)


def test_a_name_bound_to_two_layers_is_refused():
    with pytest.raises(s2sgrad.UnsupportedSyntaxError, match="a name bound to more than one layer") as info:
        s2sgrad.grad(loss)(Chosen(np.random.default_rng(17)), X)
    assert "'layer'" in str(info.value) and "test_nested_modules.py" in str(info.value)


class Hidden:
    """`forward` set on the object hides the class's: Python calls the object's, so must s2sgrad (refused)."""

    def __init__(self, rng):
        self.W = rng.normal(size=(4, 2))
        self.forward = lambda x: x

    def forward(self, x):
        return x @ self.W

    def __call__(self, x):
        return self.forward(x)


class HoldsHidden:
    def __init__(self, rng):
        self.inner = Hidden(rng)

    def __call__(self, x):
        return self.inner.forward(x)


def hidden_forward_loss(model, x):
    return np.sum(model.forward(x) ** 2)


@pytest.mark.parametrize("fn, make, where", [(loss, Hidden, "self.forward"),
                                             (hidden_forward_loss, Hidden, "model.forward"),
                                             (loss, HoldsHidden, "self.inner.forward")])
def test_a_method_hidden_by_an_attribute_of_the_object_is_refused_never_run_as_the_classs(fn, make, where):
    with pytest.raises(s2sgrad.UnsupportedSyntaxError, match="hiding its class's method 'forward'") as info:
        s2sgrad.grad(fn)(make(np.random.default_rng(18)), X)
    assert f"'{where}'" in str(info.value) and "test_nested_modules.py" in str(info.value)
