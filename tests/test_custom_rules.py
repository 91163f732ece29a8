"""Rules the user writes (issue 11): custom_vjp with defvjp/defjvp, Function subclasses, register_vjp/register_jvp.

Every gradient is checked against central finite differences in float64 (tests/gradcheck.py, tolerance stated
at each call) or against the values of ../shared/SEED_IDIOMS.md, in reverse and forward mode, and at second
order where the rule has a JVP (second derivatives are forward mode first: they differentiate the rules' code).
"""

import numpy as np
import pytest
import scipy.special

import s2sgrad
from gradcheck import numeric_grad
from s2sgrad import rules
from s2sgrad import custom


# -- the seeds' doubling op, both spellings (SEED_IDIOMS row 10) ------------------------------------------------

@s2sgrad.custom_vjp
def double(x):
    return x * 2.0


@double.defvjp
def double_vjp(g, ans, x):
    return g * 2.0


class Double(s2sgrad.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * 2.0

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * 2.0


def double_sum(x):
    return np.sum(double(x))


def double_apply_sum(x):
    return np.sum(Double.apply(x))


@pytest.mark.parametrize("fn", [double_sum, double_apply_sum], ids=["custom_vjp", "Function"])
def test_doubling_op_with_a_hand_written_backward_has_gradient_two_everywhere(fn):
    x = np.array([1.0, -2.0, 3.0])
    np.testing.assert_array_equal(s2sgrad.grad(fn)(x), [2.0, 2.0, 2.0])
    assert s2sgrad.check_grad(fn, x)
    assert "* 2.0" in s2sgrad.source(fn).split("reverse sweep")[1]     # the rule, inlined where it applies


def test_doubling_op_through_vjp_with_a_seed_vector_gives_two():
    value, pullback = s2sgrad.vjp(lambda x: Double.apply(x), np.ones(3))
    np.testing.assert_array_equal(pullback(np.ones(3)), [2.0, 2.0, 2.0])


def test_a_custom_function_called_directly_is_differentiated_by_its_rule():
    assert s2sgrad.grad(double)(3.0) == 2.0
    assert Double.apply(3.0) == 6.0 and double(3.0) == 6.0       # outside, the function itself


# -- ReLU whose backward zeroes negative inputs (row 11): x = 0 keeps its gradient ---------------------------

@s2sgrad.custom_vjp
def relu(x):
    return np.maximum(x, 0.0)


@relu.defvjp
def relu_vjp(g, ans, x):
    return np.where(x < 0, 0.0, g)


class ReLU(s2sgrad.Function):
    """The tutorial's spelling: an in-place write, so the rule is called, not inlined."""

    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return np.maximum(input, 0.0)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        grad_input = grad_output.copy()
        grad_input[input < 0] = 0
        return grad_input


def test_relu_rule_zeroes_only_negative_inputs_in_both_spellings():
    x = np.array([-1.5, 0.0, 1.5])
    for fn in (lambda x: np.sum(relu(x)), lambda x: np.sum(ReLU.apply(x))):
        _, pullback = s2sgrad.vjp(fn, x)
        np.testing.assert_array_equal(pullback(1.0), [0.0, 1.0, 1.0])


def test_a_rule_that_is_not_straight_line_is_called_and_reruns_forward_for_its_ctx():
    text = s2sgrad.source(lambda x: np.sum(ReLU.apply(x)))
    assert "backward_of(ReLU, " in text


# -- a squaring op with a custom backward after Linear(10, 5), inside a model (row 12) -------------------------

class Square(s2sgrad.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input * input

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return 2 * grad_output * input

    @staticmethod
    def jvp(ctx, tangent):
        input, = ctx.saved_tensors
        return 2 * tangent * input


def model_loss(W, b, x):
    h = W @ x + b                    # Linear(10, 5)
    return np.sum(Square.apply(h))


def test_squaring_op_after_a_linear_layer_matches_finite_differences():
    rng = np.random.default_rng(0)
    W, b, x = rng.normal(size=(5, 10)), rng.normal(size=5), rng.normal(size=10)
    grads = s2sgrad.grad(model_loss, wrt=(0, 1, 2))(W, b, x)
    for k, g in enumerate(grads):
        np.testing.assert_allclose(g, numeric_grad(model_loss, (W, b, x), k), rtol=1e-6, atol=1e-7)
    assert s2sgrad.check_grad(model_loss, W, b, x, wrt=(0, 1, 2))
    u = rng.normal(size=10)                           # forward mode: the Function's jvp
    _, t = s2sgrad.jvp(model_loss, (W, b, x), u, wrt=2)
    np.testing.assert_allclose(t, numeric_grad(model_loss, (W, b, x), 2) @ u, rtol=1e-6)
    assert "checked(2 * h_dot * h, apply_h" in s2sgrad.source(model_loss, wrt=2, mode="forward")    # the jvp, inlined


# -- an implicit-function rule: the VJP solves the adjoint fixed point ---------------------------------------

@s2sgrad.custom_vjp
def fixed_point(W, x):
    """z = tanh(W z + x), iterated to convergence (W is contractive)."""
    z = np.zeros_like(x)
    for _ in range(200):
        z = np.tanh(W @ z + x)
    return z


@fixed_point.defvjp
def fixed_point_vjp(g, z, W, x):
    # z = tanh(W z + x): the adjoint u of the pre-activation solves u = s * (g + W.T u), s = tanh' = 1 - z^2
    s = 1.0 - z * z
    u = np.linalg.solve(np.eye(len(z)) - s[:, None] * W.T, s * g)
    return np.outer(u, z), u


def unrolled(W, x):
    z = np.zeros_like(x)
    for _ in range(200):
        z = np.tanh(W @ z + x)
    return z


def test_implicit_fixed_point_rule_matches_the_unrolled_gradient_at_convergence():
    rng = np.random.default_rng(1)
    W, x, c = 0.3 * rng.normal(size=(4, 4)) / 2, rng.normal(size=4), rng.normal(size=4)
    implicit = s2sgrad.grad(lambda W, x: c @ fixed_point(W, x), wrt=(0, 1))(W, x)
    unroll = s2sgrad.grad(lambda W, x: c @ unrolled(W, x), wrt=(0, 1))(W, x)
    for a, b in zip(implicit, unroll):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    assert "np.linalg.solve" in s2sgrad.source(lambda W, x: c @ fixed_point(W, x), wrt=(0, 1))
    np.testing.assert_allclose(implicit[1], numeric_grad(lambda W, x: c @ unrolled(W, x), (W, x), 1), atol=1e-6)


def test_forward_mode_without_a_jvp_rule_differentiates_the_primal_body():
    rng = np.random.default_rng(2)
    W, x, u = 0.15 * rng.normal(size=(3, 3)), rng.normal(size=3), rng.normal(size=3)
    _, tangent = s2sgrad.jvp(lambda x: fixed_point(W, x), (x,), u)
    _, expected = s2sgrad.jvp(lambda x: unrolled(W, x), (x,), u)
    np.testing.assert_allclose(tangent, expected, rtol=1e-12, atol=1e-12)


# -- a straight-through estimator for np.round, both modes -------------------------------------------------

@s2sgrad.custom_vjp
def round_ste(x):
    return np.round(x)


@round_ste.defvjp
def round_ste_vjp(g, ans, x):
    return g


@round_ste.defjvp
def round_ste_jvp(tangents, ans, x):
    return tangents[0]


def quantised_loss(x, w):
    return np.sum(w * round_ste(x) ** 2)


def test_straight_through_estimator_passes_the_gradient_of_round_through():
    x, w = np.array([0.4, 1.6, -2.2]), np.array([1.0, 2.0, 3.0])
    expected = 2 * w * np.round(x)                  # the STE's gradient: round's derivative read as 1
    np.testing.assert_allclose(s2sgrad.grad(quantised_loss)(x, w), expected, rtol=1e-15)
    for k in range(3):
        e = np.eye(3)[k]
        _, t = s2sgrad.jvp(quantised_loss, (x, w), e)
        np.testing.assert_allclose(t, expected[k], rtol=1e-15)
    # without the rule, the gradient of round is zero: what the issue reported
    assert np.all(s2sgrad.grad(lambda x, w: np.sum(w * np.round(x) ** 2))(x, w) == 0)


# -- rules for functions we do not own --------------------------------------------------------------------

def erf_vjp(g, ans, x):
    return g * 2.0 / np.sqrt(np.pi) * np.exp(-x * x)


def erf_jvp(tangents, ans, x):
    return tangents[0] * 2.0 / np.sqrt(np.pi) * np.exp(-x * x)


@pytest.fixture
def erf_rules():
    """register_vjp/register_jvp on scipy.special.erf, undone after the test (erf has a built-in rule)."""
    s2sgrad.register_vjp(scipy.special.erf, erf_vjp)
    s2sgrad.register_jvp(scipy.special.erf, erf_jvp)
    yield
    rules.CUSTOM_RULES.pop(scipy.special.erf)
    custom.JVPS.pop(scipy.special.erf)


def test_register_vjp_on_a_foreign_function_is_used_like_a_built_in_rule(erf_rules):
    def f(x):
        return np.sum(scipy.special.erf(x) * x)

    x = np.array([0.3, -1.0, 2.0])
    np.testing.assert_allclose(s2sgrad.grad(f)(x), numeric_grad(f, (x,), 0), rtol=1e-7)
    assert "np.exp(-x * x)" in s2sgrad.source(f)
    _, t = s2sgrad.jvp(f, (x,), np.ones(3))
    np.testing.assert_allclose(t, np.sum(numeric_grad(f, (x,), 0)), rtol=1e-7)
    assert "np.exp(-x * x)" in s2sgrad.source(f, mode="forward")


# -- second order differentiates the rules' own code ------------------------------------------------------

@s2sgrad.custom_vjp
def cube(x):
    return np.round(x ** 3, 14)      # a body with no useful derivative: only the rules give one


@cube.defvjp
def cube_vjp(g, ans, x):
    return g * 3.0 * x ** 2


@cube.defjvp
def cube_jvp(tangents, ans, x):
    return tangents[0] * 3.0 * x ** 2


def test_second_order_through_a_custom_rule_differentiates_the_rules_code():
    def f(x):
        return cube(x) * 2.0

    assert s2sgrad.grad(f)(1.5) == pytest.approx(6 * 1.5 ** 2, rel=1e-15)
    assert s2sgrad.grad(s2sgrad.grad(f))(1.5) == pytest.approx(12 * 1.5, rel=1e-15)
    np.testing.assert_allclose(s2sgrad.hessian(lambda x: np.sum(cube(x)))(np.array([1.0, -2.0])),
                               np.diag([6.0, -12.0]), rtol=1e-15)


@s2sgrad.custom_vjp
def repeated(x, n):
    return x * n


@repeated.defvjp
def repeated_vjp(g, ans, x, n):
    total = 0.0 * g
    for _ in range(n):                          # a loop: the rule is called, not inlined
        total = total + g
    return total, None


@repeated.defjvp
def repeated_jvp(tangents, ans, x, n):
    total = 0.0 * tangents[0]
    for _ in range(n):
        total = total + tangents[0]
    return total


def test_a_called_rule_refuses_second_order_clearly():
    f = lambda x: np.sum(repeated(x, 3) ** 2)       # noqa: E731
    assert s2sgrad.jvp(f, (np.ones(2),), np.ones(2))[1] == 36.0
    with pytest.raises(s2sgrad.NoGradientRuleError, match="cannot differentiate the call to call_jvp: a rule of "
                                                          "yours that s2sgrad calls instead of inlining"):
        s2sgrad.hessian(f)(np.ones(2))


# -- forward mode: a Function's jvp, and the refusal without one ------------------------------------------

class Exp(s2sgrad.Function):
    @staticmethod
    def forward(ctx, x):
        y = np.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return g * y

    @staticmethod
    def jvp(ctx, t):
        y, = ctx.saved_tensors
        return t * y


def test_a_function_with_jvp_runs_in_both_modes_and_saves_its_output():
    f = lambda x: np.sum(Exp.apply(x) * x)       # noqa: E731
    x = np.array([0.1, -0.7])
    expected = numeric_grad(f, (x,), 0)
    np.testing.assert_allclose(s2sgrad.grad(f)(x), expected, rtol=1e-8)
    _, t = s2sgrad.jvp(f, (x,), np.array([1.0, 0.0]))
    np.testing.assert_allclose(t, expected[0], rtol=1e-8)
    assert "dapply_x * apply_x" in s2sgrad.source(f).replace("unbroadcast(", "")       # y is the call's output


def test_forward_mode_of_a_function_without_jvp_is_refused_naming_it():
    with pytest.raises(s2sgrad.NoGradientRuleError, match="cannot differentiate Double in forward mode"):
        s2sgrad.jvp(double_apply_sum, (np.ones(2),), np.ones(2))


# -- nondiff_argnums ------------------------------------------------------------------------------------------

@s2sgrad.custom_vjp(nondiff_argnums=(1,))
def total(x, axis):
    return np.sum(x, axis=axis)


@total.defvjp
def total_vjp(g, ans, x, axis):
    return np.broadcast_to(np.expand_dims(g, axis), x.shape)


def test_nondiff_argnums_pass_options_the_rule_reads_but_does_not_differentiate():
    f = lambda x: np.sum(total(x, 1) ** 2)       # noqa: E731
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(s2sgrad.grad(f)(x), numeric_grad(f, (x,), 0), rtol=1e-7)


# -- check_grad and wrong rules ----------------------------------------------------------------------------

def test_check_grad_catches_a_deliberately_wrong_rule():
    wrong = s2sgrad.custom_vjp(double.fn)             # x * 2.0, with a rule saying 3
    wrong.defvjp(lambda g, ans, x: g * 3.0)
    with pytest.raises(s2sgrad.GradientCheckError):
        s2sgrad.check_grad(lambda x: np.sum(wrong(x)), np.ones(3))
    assert s2sgrad.check_grad(double_sum, np.ones(3))       # the right rule passes


def test_a_rule_returning_the_wrong_number_of_cotangents_is_refused_naming_it():
    @s2sgrad.custom_vjp
    def mul(x, y):
        return x * y

    with pytest.raises(s2sgrad.CustomRuleError, match="mul's VJP returns 1 cotangent, but it must return 2"):
        @mul.defvjp
        def _(g, ans, x, y):
            return (g * y,)

    @s2sgrad.custom_vjp
    def mul2(x, y):
        return x * y

    @mul2.defvjp
    def _(g, ans, x, y):
        out = (g * y, g * x, g)
        return out

    with pytest.raises(s2sgrad.CustomRuleError, match="mul2's VJP returned a tuple of 3, but it must return a tuple "
                                                      "of 2 cotangents"):
        s2sgrad.grad(lambda x, y: mul2(x, y))(1.0, 2.0)


def test_a_cotangent_of_the_wrong_shape_is_refused_naming_the_rule_and_argument():
    @s2sgrad.custom_vjp
    def square(x):
        return x * x

    @square.defvjp
    def _(g, ans, x):
        return np.sum(g * 2 * x)

    with pytest.raises(s2sgrad.CustomRuleError, match=r"square's VJP \(cotangent of x\) has shape \(\), but the "
                                                      r"value it is for has shape \(3,\)"):
        s2sgrad.grad(lambda x: np.sum(square(x)))(np.ones(3))


def test_a_vjp_rule_with_the_wrong_parameters_is_refused_naming_it():
    @s2sgrad.custom_vjp
    def f(x, y):
        return x * y

    with pytest.raises(s2sgrad.CustomRuleError, match=r"the VJP rule bad takes \(g, x\), but it must take "
                                                      r"\(g, ans, x, y\)"):
        @f.defvjp
        def bad(g, x):
            return g


def test_a_rule_with_control_flow_is_called_and_still_exact():
    f = lambda x: np.sum(repeated(x, 3))       # noqa: E731
    np.testing.assert_array_equal(s2sgrad.grad(f)(np.ones(2)), [3.0, 3.0])
    assert "call_vjp(" in s2sgrad.source(f)


class ScaledExp(s2sgrad.Function):
    """Saves an intermediate (not an argument, not the result), then rebinds it: forward runs again."""

    @staticmethod
    def forward(ctx, x):
        e = np.exp(x)
        ctx.save_for_backward(e)
        e = e * 2.0
        return e

    @staticmethod
    def backward(ctx, g):
        e, = ctx.saved_tensors
        return g * 2.0 * e


def test_a_function_saving_an_intermediate_value_gets_it_from_its_forward_run_again():
    f = lambda x: np.sum(ScaledExp.apply(x) * x)       # noqa: E731
    x = np.array([0.2, -0.5])
    np.testing.assert_allclose(s2sgrad.grad(f)(x), numeric_grad(f, (x,), 0), rtol=1e-8)
    assert "backward_of(ScaledExp, " in s2sgrad.source(f)


def wrightomega_jvp(tangents, ans, x):
    return tangents[0] * ans / (1.0 + ans)          # w' = w / (1 + w)


def test_a_jvp_rule_alone_works_in_forward_mode_and_reverse_mode_refuses_it_clearly():
    s2sgrad.register_jvp(scipy.special.wrightomega, wrightomega_jvp)
    try:
        f = lambda x: np.sum(scipy.special.wrightomega(x) * x)        # noqa: E731
        x = np.array([0.5, 2.0])
        _, t = s2sgrad.jvp(f, (x,), np.array([0.0, 1.0]))
        np.testing.assert_allclose(t, numeric_grad(f, (x,), 0)[1], rtol=1e-7)
        with pytest.raises(s2sgrad.NoGradientRuleError, match="the gradient rule of scipy.special.wrightomega has "
                                                              "no derivative with respect to 'x'"):
            s2sgrad.grad(f)(x)
    finally:
        rules.CUSTOM_RULES.pop(scipy.special.wrightomega)
        custom.JVPS.pop(scipy.special.wrightomega)


@s2sgrad.custom_vjp
def two_scalings(x):
    return x * 2.0, x * 3.0


@two_scalings.defvjp
def two_scalings_vjp(g, ans, x):
    return g[0] * 2.0 + g[1] * 3.0           # g: one cotangent per returned value (0.0 for one nobody reads)


def test_a_custom_function_returning_a_tuple_gets_one_cotangent_per_item():
    def both(x):
        a, b = two_scalings(x)
        return np.sum(a * b)

    def first(x):
        a, b = two_scalings(x)
        return np.sum(a)

    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(s2sgrad.grad(both)(x), numeric_grad(both, (x,), 0), rtol=1e-8)
    np.testing.assert_array_equal(s2sgrad.grad(first)(x), [2.0, 2.0])


def test_readme_custom_rules_section_shows_what_s2sgrad_show_prints(tmp_path):
    # The README's example, in a file clipped.py whose `return` is on line 17 (as the comments it shows say).
    import importlib.util
    import pathlib
    readme = (pathlib.Path(__file__).parent.parent / "README.md").read_text()
    section = readme[readme.index("## Custom rules"):]
    blocks = section.split("```python\n")
    code, shown = blocks[1].split("```")[0], blocks[2].split("```")[0]
    lines = ["import numpy as np", "import s2sgrad", ""] + code.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == "return np.sum(h * h)")
    lines[2:2] = [""] * (16 - at)
    path = tmp_path / "clipped.py"
    path.write_text("\n".join(lines) + "\n")
    spec = importlib.util.spec_from_file_location("clipped", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert s2sgrad.source(module.loss, wrt="w") == shown
