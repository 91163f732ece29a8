"""Issue 9: lists, tuples and dicts built and read inside differentiated code: displays as values,
`hs.append(h)` and the other list updates, writes into lists and dicts, comprehensions and generator
expressions. Every program is checked against central differences in float64 (reverse mode, leaf by
leaf), in forward mode (jvp along a random direction equals <grad, direction>) and, for scalar inputs,
at second order (the Hessian against central differences of the gradient); tolerances are stated.
"""

import copy

import numpy as np
import pytest

import s2sgrad
from test_containers import check

RNG = np.random.default_rng(19)


def is_container_rule(prim):
    """Rules of copies of lists and dicts (copy.copy, copy.deepcopy, list, tuple): tested here."""
    return getattr(prim, "__module__", None) == "copy" or prim is list or prim is tuple


def assert_second_order(fn, x, rtol=1e-6, atol=1e-8):
    """The Hessian of fn at the float x against central differences of s2sgrad's own gradient."""
    g, eps = s2sgrad.grad(fn), 1e-5
    expected = (g(x + eps) - g(x - eps)) / (2 * eps)
    assert s2sgrad.hessian(fn)(x) == pytest.approx(expected, rel=rtol, abs=atol)


# -- displays as values --------------------------------------------------------------------------

def list_display(x):
    v = [x, x * 2.0, 3.0]
    return v[0] * v[1] + v[2] * np.sin(v[1])


def tuple_display(x):
    pair = (np.sin(x), x * x)
    mean, log_std = pair
    return mean * np.exp(log_std)


def dict_display(x):
    p = {"u": x, "v": x * x, "name": "layer"}
    return p["u"] * p["v"] + len(p["name"])


def nested_rows(x):
    return np.sum(np.array([[x, 2.0 * x], [x ** 2, 1.0]]) ** 2)


def display_of_arrays(W):
    layers = [W, W.T @ W, {"scale": np.sum(W)}]
    return np.sum(layers[1] * 0.5) + layers[2]["scale"] ** 2 + np.sum(layers[-3] ** 3)


# -- lists built in loops ------------------------------------------------------------------------

def appended_and_stacked(x):
    h = x
    hs = []
    for t in range(4):
        h = np.tanh(1.3 * h + 0.2)
        hs.append(h)
    return np.sum(np.stack(hs) ** 2) + np.sum(hs[-1]) + np.sum(hs[1] * hs[2])


def appended_and_iterated(x):
    hs = []
    for k in range(3):
        hs.append(x * (k + 1.0))
    s = 0.0
    for h in hs:
        s = s + np.sin(h)
    return s * len(hs)


def read_while_appending(x):
    hs = [x]
    for t in range(1, 4):
        hs.append(np.sin(hs[t - 1]) + hs[-1] * 0.5)
    return hs[-1]


def popped(x):
    hs = []
    for k in range(4):
        hs.append(x ** (k + 1))
    total = 0.0
    while len(hs) > 1:
        last = hs.pop()
        total = total + last * len(hs)
    first = hs.pop(0)
    return total + first


def inserted_and_popped_in_the_middle(x):
    hs = [x]
    hs.insert(0, x * 3.0)
    hs.insert(-1, np.cos(x))
    a = hs.pop(1)
    hs.insert(5, x * x)
    return hs[0] * hs[-1] + a * 2.0 + hs[1]


def extended(x):
    hs = [x]
    hs.extend([x * x, np.sin(x)])
    hs.extend([h * 2.0 for h in hs])
    return sum(hs) + hs[3] * hs[4]


def written_into_a_list(x):
    hs = [0.0, 0.0, 0.0]
    hs[0] = x * x
    hs[2] = np.sin(x)
    hs[0] = hs[0] * hs[2]
    return hs[0] + hs[1] + 3.0 * hs[2]


def written_into_a_dict(x):
    d = {}
    d["a"] = x * 2.0
    d["b"] = np.sin(d["a"])
    d["a"] = d["a"] * d["b"]
    return d["a"] + d["b"]


def appends_to_its_argument(xs):
    xs.append(xs[0] * 2.0)
    return xs[-1] * xs[1]


# -- comprehensions ------------------------------------------------------------------------------

def squares(xs):
    sq = [x * x for x in xs]
    return sq[0] + sum(sq)


def with_a_condition(xs):
    ys = [x * 2.0 for x in xs if x > 0]
    return sum(ys) + max(y * y for y in ys)


def two_generators(x):
    return sum([x * i + np.sin(x * j) for i in range(3) for j in range(2) if i != j])


def nested_comprehensions(x):
    rows = [[x * i + j for j in range(3)] for i in range(2)]
    return np.sum(np.array(rows) ** 2)


def shadows_a_name(x):
    y = x * 3.0
    zs = [y * y for y in [x, 2.0 * x]]
    return zs[0] + zs[1] + y


def dict_comprehension(p):
    q = {k: v * 2.0 for k, v in p.items()}
    return q["a"] * q["b"]


def stacked_from_a_generator(W, xs):
    return np.sum(np.stack([np.tanh(W @ x) for x in xs]) ** 2)


def l2_penalty(params):
    return sum([np.sum(W ** 2) for W, b in params]) + sum(np.sum(b) for _, b in params)


def pieces(x):
    return [x, 2.0 * x]


def sine_and_square(x):
    return (np.sin(x), x * x)


def helper_list_summed_twice(x):
    ps = pieces(x)                      # a list a helper returned: its two adjoints add item by item
    return np.sum(sum(ps) ** 2) + np.sum(sum(ps))


def helper_tuple_read_whole(x):
    ps = sine_and_square(x)             # a tuple a helper returned, read whole (sum, a copy) and by item
    q = ps
    return np.sum(sum(ps) ** 2) + np.sum(sum(q)) + np.sum(ps[1])


def list_and_tuple_of_items(x):
    xs = list([x, x * x])
    t = tuple(xs)
    return t[0] * t[1] + np.sum(list(np.array([x, 2.0 * x])))


def doubled_and_summed(x):
    return x * 2.0, np.sum(x)


def param_rebound_from_a_tuple(x):
    x, s = doubled_and_summed(x)        # x, a parameter, now an item of a helper's tuple: not a list
    return np.sum(x + x) * s


def takes_a_pair(ws):
    return ws[0] * np.sin(ws[1])


def passes_displays_to_a_helper(x):
    return np.sum(takes_a_pair([x, x * x])) + np.sum(takes_a_pair((2.0, x)))


def split_pieces_summed_twice(x):
    ps = np.split(x, 2)                 # a list a rule returned
    return np.sum(sum(ps) ** 2) + np.sum(sum(ps))


W2 = RNG.normal(size=(2, 2))
PARAMS = [(RNG.normal(size=(3, 2)), RNG.normal(size=3)), (RNG.normal(size=(1, 3)), RNG.normal(size=1))]

SCALAR_PROGRAMS = [list_display, tuple_display, dict_display, nested_rows, appended_and_stacked,
                   appended_and_iterated, read_while_appending, popped, inserted_and_popped_in_the_middle,
                   extended, written_into_a_list, written_into_a_dict, two_generators, nested_comprehensions,
                   shadows_a_name, helper_list_summed_twice, helper_tuple_read_whole, passes_displays_to_a_helper,
                   list_and_tuple_of_items, param_rebound_from_a_tuple]


@pytest.mark.parametrize("fn", SCALAR_PROGRAMS, ids=lambda f: f.__name__)
def test_a_list_built_inside_is_differentiated_in_both_modes_and_at_second_order(fn):
    check(fn, 0.7)
    check(fn, -0.4)
    assert_second_order(fn, 0.7)


@pytest.mark.parametrize("fn, args, wrt", [
    (display_of_arrays, (W2,), 0),
    (appended_and_stacked, (np.array([0.3, -0.5]),), 0),
    (squares, ([0.5, -1.5, 2.0],), 0),
    (with_a_condition, ([0.5, -1.0, 2.0],), 0),
    (dict_comprehension, ({"a": 0.5, "b": 2.0},), 0),
    (stacked_from_a_generator, (W2, [np.ones(2), np.array([0.2, -0.4])]), 0),
    (stacked_from_a_generator, (W2, [np.ones(2), np.array([0.2, -0.4])]), 1),
    (l2_penalty, (PARAMS,), 0),
    (helper_list_summed_twice, (np.array([0.3, -0.5, 1.2]),), 0),
    (helper_tuple_read_whole, (np.array([0.3, -0.5, 1.2]),), 0),
    (split_pieces_summed_twice, (np.array([0.3, -0.5, 1.2, 0.4]),), 0),
], ids=lambda v: getattr(v, "__name__", None))
def test_containers_and_comprehensions_of_arrays_are_differentiated_in_both_modes(fn, args, wrt):
    check(fn, *args, wrt=wrt)


def test_appending_to_an_argument_differentiates_a_copy_and_leaves_the_callers_list_alone():
    xs = [0.5, 1.5]
    g = check(appends_to_its_argument, xs)
    assert g == pytest.approx([3.0, 1.0]) and xs == [0.5, 1.5]


def test_a_list_only_appended_to_is_neither_copied_nor_saved_per_iteration():
    text = s2sgrad.source(appended_and_stacked)
    loop = text[text.index("for t in range(4):"):text.index("# reverse sweep")]
    assert "hs.append(h)" in loop and "stack.append(hs" not in loop and "copy" not in loop
    reverse = text[text.index("# reverse sweep"):]
    assert "dhs.pop()" in reverse and "hs.pop()" in reverse
    forward = s2sgrad.source(appended_and_stacked, mode="forward")
    assert "hs.append(h)" in forward and "hs_dot.append(h_dot)" in forward


def test_a_comprehension_builds_into_its_target_and_keeps_the_users_names():
    text = s2sgrad.source(squares)
    assert "sq = []" in text and "sq.append(x_times_x)" in text
    assert "y_1" in s2sgrad.source(shadows_a_name)     # its y is not the function's y


# -- containers returned -------------------------------------------------------------------------

def returns_a_dict(x):
    h = np.tanh(x)
    return {"h": h, "sq": [h * h, x * 3.0]}


def returns_appended(x):
    hs = []
    for k in range(3):
        hs.append(np.sin(x * (k + 1.0)))
    return hs


def test_a_returned_dict_takes_a_cotangent_of_its_structure_and_gives_a_tangent_of_it():
    x = np.array([0.3, -0.8])
    value, pullback = s2sgrad.vjp(returns_a_dict, x)
    h = np.tanh(x)
    u, v, w = RNG.normal(size=2), RNG.normal(size=2), RNG.normal(size=2)
    expected = u * (1 - h * h) + v * 2 * h * (1 - h * h) + 3.0 * w
    np.testing.assert_allclose(pullback({"h": u, "sq": [v, w]}), expected, rtol=1e-12)
    np.testing.assert_allclose(pullback({"h": u, "sq": [None, w]}), u * (1 - h * h) + 3.0 * w, rtol=1e-12)
    _, tangent = s2sgrad.jvp(returns_a_dict, (x,), u)
    np.testing.assert_allclose(tangent["h"], u * (1 - h * h), rtol=1e-12)
    np.testing.assert_allclose(tangent["sq"][1], 3.0 * u, rtol=1e-12)


def test_a_returned_list_built_by_appends_is_the_callers_and_its_pullback_runs_twice():
    value, pullback = s2sgrad.vjp(returns_appended, 0.4)
    assert value == pytest.approx([np.sin(0.4), np.sin(0.8), np.sin(1.2)])
    expected = np.cos(0.4) + 2 * np.cos(0.8) * 0.5
    assert pullback([1.0, 0.5, 0.0]) == pytest.approx(expected, rel=1e-12)
    assert pullback([1.0, 0.5, 0.0]) == pytest.approx(expected, rel=1e-12)
    assert len(value) == 3


# -- copies of lists and dicts ---------------------------------------------------------------------

def copies_a_list(xs):
    ys = copy.copy(xs)
    ys[0] = ys[0] * ys[1]
    return ys[0] + xs[0]


def deep_copies(p):
    q = copy.deepcopy(p)
    return np.sum(q["W"] ** 2) * q["s"]


def rows_as_a_tuple(W):
    a, b = tuple(W)                     # an array's items are its rows
    return np.sum(a * b) + np.sum(list([W[0], a])[1] ** 2)


CONTAINER_RULES = [(copy.copy, copies_a_list, ([0.5, 1.5],)),
                   (copy.deepcopy, deep_copies, ({"W": W2, "s": 0.7},)),
                   (list, list_and_tuple_of_items, (0.7,)),
                   (tuple, rows_as_a_tuple, (W2,))]


@pytest.mark.parametrize("prim, fn, args", CONTAINER_RULES, ids=lambda v: getattr(v, "__name__", None))
def test_copies_of_containers_are_differentiated_in_both_modes(prim, fn, args):
    check(fn, *args)


def test_every_container_rule_has_a_test():
    from s2sgrad.rules import RULES
    assert {p for p in RULES if is_container_rule(p)} == {p for p, _, _ in CONTAINER_RULES}


# -- what stays refused, and where -----------------------------------------------------------------

def aliased_then_appended(x):
    hs = [x]
    other = hs
    hs.append(x * 2.0)
    return other[-1]


def item_changed_after_append(x):
    h = np.zeros(2)
    hs = [h]
    h[0] = x
    return np.sum(hs[0])


def extends_with_itself(x):
    hs = [x, x * x]
    hs.extend(hs)
    return sum(hs)


def joined_with_plus(x):
    hs = [x]
    hs = hs + [x * 2.0]                 # '+' joins lists: the adjoint rule of '+' would add them
    return hs[0] * hs[1]


def repeated_in_place(x):
    hs = [x, x * x]
    hs *= 2
    return hs[3]


def reversed_in_place(x):
    hs = [x * i for i in range(3)]
    hs.reverse()                        # no list update s2sgrad follows: the list changes unseen
    return hs[0]


def dict_updated_in_place(x):
    d = {"a": x}
    d.update({"b": x * 2.0})
    return d["a"]


@pytest.mark.parametrize("fn, words", [
    (joined_with_plus, ["arithmetic on a list", "('hs')", "hs.append(x)"]),
    (repeated_in_place, ["arithmetic on a list", "'*' repeats them"]),
    (reversed_in_place, ["'hs.reverse(...)' may change 'hs'", "hs = hs[::-1]"]),
    (dict_updated_in_place, ["'d.update(...)' may change 'd'"]),
    (aliased_then_appended, ["'other' may share memory with 'hs'"]),
    (item_changed_after_append, ["may share"]),
    (extends_with_itself, ["may share memory with 'hs'"]),
], ids=lambda v: getattr(v, "__name__", None))
def test_a_list_changed_where_s2sgrad_cannot_follow_is_refused_at_the_users_line(fn, words):
    with pytest.raises(s2sgrad.UnsupportedSyntaxError) as err:
        s2sgrad.grad(fn)(0.7)
    assert err.value.filename == __file__
    for w in words:
        assert w in str(err.value)


def popped_from_a_dict(x):
    d = {"a": x, "b": 2.0 * x}
    y = d.pop("b")
    return y * d["a"]


def test_popping_from_a_dict_is_refused_in_reverse_mode_and_exact_in_forward_mode():
    # undoing d.pop(key) would move the key to the end of the dict: the reverse sweep refuses it clearly
    with pytest.raises(TypeError, match=r"d.pop\('b'\) on a dict is not supported"):
        s2sgrad.grad(popped_from_a_dict)(1.5)
    assert s2sgrad.jvp(popped_from_a_dict, (1.5,), 1.0)[1] == pytest.approx(4.0 * 1.5, rel=1e-12)
