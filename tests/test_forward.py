"""Forward mode: every language construct and every rule family, jvp against central finite
differences of the function along the same direction (tolerance rtol 1e-5, atol 1e-6), and
against reverse mode: <grad f, u> == jvp(f, x, u) for scalar f."""

import math
import operator
import pathlib

import numpy as np
import pytest

import s2sgrad
import test_constructs as C
import test_math_rules as M
from gradcheck import EPS
from s2sgrad import NoGradientRuleError, UnsupportedSyntaxError
from s2sgrad.rules import RULES, tangents

RNG = np.random.default_rng(0)


def numeric_jvp(fn, args, wrt, tangents_, eps=EPS):
    """(f(args + eps u) - f(args - eps u)) / 2 eps, along the wrt positions."""
    plus, minus = list(args), list(args)
    for k, u in zip(wrt, tangents_):
        plus[k] = args[k] + eps * u
        minus[k] = args[k] - eps * u
    return (np.asarray(fn(*plus)) - np.asarray(fn(*minus))) / (2 * eps)


def direction(x):
    return float(RNG.uniform(-1.0, 1.0)) if np.ndim(x) == 0 else RNG.uniform(-1.0, 1.0, np.shape(x))


def assert_jvp_matches(fn, args, wrt=0, rtol=1e-5, atol=1e-6):
    positions = wrt if isinstance(wrt, tuple) else (wrt,)
    us = [direction(args[k]) for k in positions]
    value, tangent = s2sgrad.jvp(fn, tuple(args), tuple(us) if isinstance(wrt, tuple) else us[0], wrt=wrt)
    np.testing.assert_allclose(value, fn(*args), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tangent, numeric_jvp(fn, args, positions, us), rtol=rtol, atol=atol,
                               err_msg=f"jvp of {fn.__name__} at {args} along {us}")
    return tangent


# ---------------------------------------------------------------------------------------------
# Every construct the reverse-mode suite covers, at points on both sides of branches and for
# 0, 1 and many loop trips
# ---------------------------------------------------------------------------------------------

CONSTRUCTS = [
    (C.headline.__wrapped__ if hasattr(C.headline, "__wrapped__") else C.headline.__s2sgrad_fn__,
     [(0.5, 0.9, 0), (0.5, 0.9, 1), (-1.3, 0.7, 50)], (0, 1)),
    (C.straight_line, [(0.5, 1.5), (-2.0, 0.3)], (0, 1)),
    (C.overwritten_many_times, [(0.3,), (2.5,)], 0),
    (C.overwritten_in_loop, [(0.4, 0), (0.4, 7)], 0),
    (C.augmented, [(0.5, 1.5), (2.0, -0.7)], (0, 1)),
    (C.augmented_in_loop, [(0.7, 0), (-1.3, 6)], 0),
    (C.unary_and_mod, [(0.4, 2.0), (2.2, -0.5)], (0, 1)),
    (C.scalar_matmul_free, [(0.5, 1.5)], (0, 1)),
    (C.if_else, [(0.5,), (-3.0,)], 0),
    (C.if_without_else, [(0.5, 2.0), (0.5, 0.5)], (0, 1)),
    (C.if_elif_else, [(-2.5,), (-0.5,), (1.5,), (10.0,)], 0),
    (C.nested_if, [(1.0, 2.0), (1.0, -2.0), (-1.0, 2.0), (-1.0, -2.0)], (0, 1)),
    (C.conditional_expression, [(2.0, 1.0), (-1.0, -3.0)], (0, 1)),
    (C.boolean_conditions, [(1.0, 2.0), (6.0, -1.0), (-1.5, -2.0), (0.2, 0.3)], (0, 1)),
    (C.branch_on_integer_argument, [(0.5, 0), (0.5, 1), (0.5, 2)], 0),
    (C.for_range_one_arg, [(0.3, 0), (0.3, 1), (0.3, 10)], 0),
    (C.for_range_three_args, [(0.4, 1, 12, 3), (0.4, 10, 0, -2)], 0),
    (C.loop_variable_reassigned, [(0.5, 6)], 0),
    (C.while_computed, [(0.05,), (0.3,), (40.0,)], 0),
    (C.while_two_variables, [(5.0, 3.0), (2.0, 4.0)], (0, 1)),
    (C.nested_loops, [(0.6, 0, 3), (0.6, 4, 5)], 0),
    (C.triangular_nested_loops, [(0.5, 6)], 0),
    (C.while_inside_for, [(0.31, 5), (2.7, 5)], 0),
    (C.branch_on_value_in_loop, [(0.3, 20), (4.0, 3)], 0),
    (C.break_loop, [(0.5, 0), (0.5, 3), (2.0, 30)], 0),
    (C.break_in_while, [(0.3,), (5.0,)], 0),
    (C.break_inside_nested_loop, [(0.2, 3, 2), (1.0, 4, 10)], 0),
    (C.continue_loop, [(0.3, 0), (0.3, 9)], 0),
    (C.continue_on_value, [(0.1, 6), (1.0, 10)], 0),
    (C.break_and_continue, [(0.5, 3), (1.5, 30)], 0),
    (C.return_from_loop, [(0.1, 0), (1.0, 10), (4.0, 1)], 0),
    (C.return_from_nested_loop, [(0.3, 2), (0.5, 8)], 0),
    (C.return_from_while, [(0.4,), (200.0,)], 0),
    (C.return_from_branch, [(2.0,), (0.7,), (-0.9,), (-0.3,)], 0),
    (C.return_in_both_branches, [(1.0, 2.0), (-1.0, 2.0)], (0, 1)),
    (C.state_machine, [(0.3, 11), (1.3, 30)], 0),
    (C.swap, [(0.5, 1.5)], (0, 1)),
    (C.fibonacci_like, [(0.5, 1.5, 0), (0.5, 1.5, 10)], (0, 1)),
    (C.rotation, [(0.5, 1.5, 25)], (0, 1)),
    (C.three_way_rotation, [(0.5, 1.5, -0.7)], (0, 1, 2)),
    (C.uses_helper_positional, [(0.5,)], 0),
    (C.uses_helper_default, [(-1.5,)], 0),
    (C.uses_helper_keywords, [(0.5, 1.5), (2.0, -0.7)], (0, 1)),
    (C.helper_several_call_sites, [(0.5, 1.5)], (0, 1)),
    (C.helper_several_call_sites, [(0.5, 1.5)], 1),
    (C.helper_calling_helper, [(1.2, -0.8)], (0, 1)),
    (C.calls_helper_in_loop, [(0.2, 0), (1.73, 5)], 0),
    (C.recursive_user, [(0.7, 0), (-1.3, 5)], 0),
    (C.power, [(0.7, 3)], 0),
    (C.mutual_a, [(0.7, 5)], 0),
    (C.calls_helper_with_nested_returns, [(0.3,), (3.5,)], 0),
    (C.helper_integer_argument, [(0.5, 0), (0.5, 1)], 0),
    (C.three_args, [(0.5, 1.5, -0.7)], (0, 2)),
]

CONSTRUCT_CASES = [(fn, args, wrt) for fn, points, wrt in CONSTRUCTS for args in points]


@pytest.mark.parametrize("fn, args, wrt", CONSTRUCT_CASES,
                         ids=[f"{c[0].__name__}-{c[1]}-{c[2]}" for c in CONSTRUCT_CASES])
def test_construct_tangent_matches_finite_differences_along_a_random_direction(fn, args, wrt):
    assert_jvp_matches(fn, args, wrt)


@pytest.mark.parametrize("fn, args, wrt", CONSTRUCT_CASES[::3], ids=[c[0].__name__ for c in CONSTRUCT_CASES[::3]])
def test_jvp_equals_gradient_dotted_with_the_direction(fn, args, wrt):
    positions = wrt if isinstance(wrt, tuple) else (wrt,)
    grads = s2sgrad.grad(fn, wrt=positions)(*args)
    for _ in range(3):
        us = tuple(direction(args[k]) for k in positions)
        _, tangent = s2sgrad.jvp(fn, args, us, wrt=positions)
        assert tangent == pytest.approx(sum(np.sum(g * u) for g, u in zip(grads, us)), rel=1e-10, abs=1e-12)


# ---------------------------------------------------------------------------------------------
# Every rule family: the reverse-mode rule tables, run forward
# ---------------------------------------------------------------------------------------------

RULE_CASES = [(fn, args, wrt) for _, _, fn, points, wrt in M.SCALAR_RULES + M.NUMPY_RULES for args in points]


@pytest.mark.parametrize("fn, args, wrt", RULE_CASES, ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(RULE_CASES)])
def test_rule_tangent_matches_finite_differences(fn, args, wrt):
    assert_jvp_matches(fn, args, wrt)


@pytest.mark.parametrize("fn", [M.arr_add, M.arr_sub, M.arr_mul, M.arr_div], ids=lambda f: f.__name__)
@pytest.mark.parametrize("label, a, b", M.BROADCAST_PAIRS, ids=[p[0] for p in M.BROADCAST_PAIRS])
@pytest.mark.parametrize("wrt", [0, 1, (0, 1)])
def test_broadcasting_operator_tangent_in_every_direction(fn, label, a, b, wrt):
    assert_jvp_matches(fn, (a, b), wrt)


def scalar_plus_array_then_sum(x, W):
    z = x + W
    return np.sum(z)


def scalar_times_array_then_matmul(x, W):
    z = W - x
    return np.sum(z @ W)


@pytest.mark.parametrize("fn", [scalar_plus_array_then_sum, scalar_times_array_then_matmul])
def test_scalar_tangent_added_to_an_array_is_broadcast_before_a_reduction(fn):
    W = np.arange(6.0).reshape(3, 2) if fn is scalar_plus_array_then_sum else np.arange(9.0).reshape(3, 3)
    assert_jvp_matches(fn, (0.7, W), 0)
    _, tangent = s2sgrad.jvp(fn, (0.7, W), 1.0)
    expected = W.size if fn is scalar_plus_array_then_sum else -np.sum(np.ones((3, 3)) @ W)
    assert tangent == pytest.approx(expected)


def vector_valued(x, W):
    h = np.tanh(W @ x)
    return h * x[0] + np.sin(x) * 2.0


def indexing_and_writes(x, W):
    y = np.zeros(3)
    for i in range(3):
        y[i] = x[i] * W[i] + x[0]
    z = x * 1.0
    z[1] = 3.0 * x[2]
    return np.sum(y * y) + np.sum(z * z) + np.sum(x.flatten() * W.copy())


def rows_loop(X, w):
    s = 0.0
    for row in X:
        s = s + np.tanh(row @ w)
    return s


def method_sum(x):
    return x.sum() * np.sum(np.cos(x))


ARRAY_CASES = [
    (vector_valued, (np.array([0.3, -0.5, 0.7]), np.arange(9.0).reshape(3, 3) / 9), (0, 1)),
    (indexing_and_writes, (np.array([0.3, -0.5, 0.7]), np.array([1.0, 2.0, 3.0])), (0, 1)),
    (rows_loop, (np.arange(6.0).reshape(2, 3) / 6, np.array([0.2, -0.1, 0.4])), (0, 1)),
    (method_sum, (np.array([[0.3, -0.5], [0.7, 1.1]]),), 0),
]


@pytest.mark.parametrize("fn, args, wrt", ARRAY_CASES, ids=[c[0].__name__ for c in ARRAY_CASES])
def test_array_function_tangent_matches_finite_differences(fn, args, wrt):
    assert_jvp_matches(fn, args, wrt)


def test_every_primitive_with_an_adjoint_rule_has_a_tangent_rule():
    missing = [f"{prim!r} with ({', '.join(rule.inputs)}): {why}"
               for prim, rules in RULES.items() for rule in rules
               if (why := tangents.covers(prim, rule)) is not None]
    assert not missing, "adjoint rules without a tangent rule:\n" + "\n".join(missing)


def test_tangent_rule_walk_sees_every_family():
    assert isinstance(tangents.lookup(np.sin), tangents.Elementwise)
    assert isinstance(tangents.lookup(np.sum), tangents.Linear)
    assert isinstance(tangents.lookup(operator.matmul), tangents.Bilinear)
    assert any(isinstance(tangents.lookup(p), list) for p in RULES)


# ---------------------------------------------------------------------------------------------
# Types, zero tangents, the generated code, errors
# ---------------------------------------------------------------------------------------------

def inactive_output(x, W):
    return W * 2.0


def test_output_that_does_not_depend_on_wrt_gets_a_zero_tangent_of_its_shape():
    W = np.ones((2, 3), np.float32)
    value, tangent = s2sgrad.jvp(inactive_output, (0.5, W), 1.0)
    assert tangent.shape == (2, 3) and tangent.dtype == np.float32 and not tangent.any()


def test_float32_in_gives_float32_out_and_float_in_gives_float_out():
    x = np.array([0.3, 0.5], np.float32)
    _, t32 = s2sgrad.jvp(M.np_sin, (x,), np.ones(2, np.float32))
    _, t = s2sgrad.jvp(C.if_else, (0.5,), 1.0)
    assert np.asarray(t32).dtype == np.float32 and type(t) is float


def test_tangent_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="shape"):
        s2sgrad.jvp(M.np_sin, (np.ones(3),), np.ones(2))


def test_differentiable_jvp_and_forward_source():
    value, tangent = C.headline.jvp((0.5, 0.9, 10), (1.0, 0.0))
    assert tangent == pytest.approx(C.headline.grad(0.5, 0.9, 10)[0], rel=1e-12)
    text = s2sgrad.source(C.headline, wrt=("x", "a"), mode="forward")
    assert text.startswith("def jvp_headline(x, a, n=1000, *, x_dot, a_dot):")
    assert "stack" not in text and "x_dot = " in text


def unknown_call(x, f):
    return f(x)


def test_a_call_with_no_rule_raises_the_reverse_mode_error_at_the_users_line():
    with pytest.raises(NoGradientRuleError) as forward:
        s2sgrad.jvp(unknown_call, (0.5, math.gamma), 1.0)        # f is specialised on: math.gamma, no rule
    with pytest.raises(NoGradientRuleError) as reverse:
        s2sgrad.grad(unknown_call)(0.5, math.gamma)
    assert str(forward.value) == str(reverse.value) and "test_forward.py" in str(forward.value)


def tanh_only_here(x):
    return np.sum(np.tanh(x))


def test_a_primitive_with_an_adjoint_but_no_tangent_rule_is_refused_at_the_users_line(monkeypatch):
    monkeypatch.delitem(tangents.TANGENTS, np.tanh)
    with pytest.raises(NoGradientRuleError, match=r"test_forward.py:\d+:\d+: .*np.tanh in forward mode"):
        s2sgrad.jvp(tanh_only_here, (np.ones(3),), np.ones(3))


def test_unsupported_syntax_is_refused_in_forward_mode_too():
    def with_try(x):
        try:
            return x
        except ValueError:
            return x
    with pytest.raises(UnsupportedSyntaxError):
        s2sgrad.jvp(with_try, (0.5,), 1.0)


def test_show_mode_forward_prints_the_jvp_code(capsys):
    from s2sgrad.cli import main
    example = pathlib.Path(__file__).resolve().parent.parent / "examples" / "loop.py"
    assert main(["show", f"{example}:f", "--mode", "forward"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("def jvp_f(x, a, n=1000, *, x_dot, a_dot):") and "return (x, x_dot)" in out


# ---------------------------------------------------------------------------------------------
# Explicit tangent templates, exercised with a stand-in adjoint rule where the NumPy table has
# none yet (only the tangent is used here)
# ---------------------------------------------------------------------------------------------

def _stand_in_adjoint(y, x):
    d[x] = d[y]  # noqa: F821  (never run: marks x as carrying a derivative)


def _stand_in_adjoint2(y, a, b):
    d[a] = d[y]  # noqa: F821
    d[b] = d[y]  # noqa: F821


def with_adjoint(monkeypatch, prim, template):
    import inspect
    import textwrap

    import gast

    from s2sgrad.rules import Rule
    if prim not in RULES:
        fn = gast.parse(textwrap.dedent(inspect.getsource(template))).body[0]
        sig = inspect.signature(template)
        monkeypatch.setitem(RULES, prim, [Rule(prim, template, sig, next(iter(sig.parameters)), fn.body,
                                               template.__globals__)])


def uses_inv(A):
    return np.linalg.inv(A) * 2.0


def uses_det(A):
    return np.linalg.det(A) + 1.0


def uses_solve(A, b):
    return np.linalg.solve(A, b)


A33 = np.array([[2.0, 0.3, -0.4], [0.1, 1.5, 0.2], [-0.3, 0.6, 1.8]])


@pytest.mark.parametrize("fn, args, wrt, adj", [
    (uses_inv, (A33,), 0, _stand_in_adjoint),
    (uses_det, (A33,), 0, _stand_in_adjoint),
    (uses_solve, (A33, np.array([0.5, -1.0, 2.0])), (0, 1), _stand_in_adjoint2),
    (uses_solve, (A33, np.array([0.5, -1.0, 2.0])), 1, _stand_in_adjoint2),
    (uses_solve, (A33, np.arange(6.0).reshape(3, 2)), 0, _stand_in_adjoint2),
], ids=["inv", "det", "solve", "solve-b", "solve-matrix"])
def test_linear_algebra_tangent_templates_match_finite_differences(monkeypatch, fn, args, wrt, adj):
    prim = {uses_inv: np.linalg.inv, uses_det: np.linalg.det, uses_solve: np.linalg.solve}[fn]
    with_adjoint(monkeypatch, prim, adj)
    assert_jvp_matches(fn, args, wrt)
