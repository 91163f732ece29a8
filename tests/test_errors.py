"""Every error s2sgrad raises on purpose: its type, and a message that says what and where.

Unsupported constructs carry a `# MARK:<name>` comment on the offending line; the tests find
that line in this file's text, so the expected line numbers survive edits to the file.
"""

import builtins
import math
import pathlib

import numpy as np
import pytest

import s2sgrad
from s2sgrad.rules import NONDIFF, RULES

THIS_FILE = __file__
LINES = pathlib.Path(THIS_FILE).read_text().splitlines()
COUNTER = 0.0


def marked_line(mark):
    """(1-based line number, text) of the single line carrying `# MARK:<mark>`."""
    hits = [(i + 1, text) for i, text in enumerate(LINES) if text.rstrip().endswith(f"# MARK:{mark}")]
    assert len(hits) == 1, f"marker {mark!r} found {len(hits)} times"
    return hits[0]


# ---------------------------------------------------------------------------------------------
# Unsupported constructs, one function each
# ---------------------------------------------------------------------------------------------

def uses_try(x):
    try:  # MARK:try
        y = x * 2.0
    except ValueError:
        y = x
    return y


def uses_with(x):
    with np.errstate(all="ignore"):  # MARK:with
        y = x * 2.0
    return y


def uses_yield(x):
    yield x * 2.0  # MARK:yield
    return x


def uses_global(x):
    global COUNTER  # MARK:global
    return x * COUNTER


def make_nonlocal():
    scale = 2.0

    def uses_nonlocal(x):
        nonlocal scale  # MARK:nonlocal
        return x * scale

    return uses_nonlocal


uses_nonlocal = make_nonlocal()


def apply_to(fn, x):
    return fn(x)


def uses_lambda(x):
    fns = [lambda u: u * u]  # MARK:lambda
    return apply_to(fns[0], x)


def uses_del(x):
    y = x * 2.0
    del y  # MARK:del
    return x


def uses_class(x):
    class Box:  # MARK:class
        pass
    return x


def uses_nested_def(x):
    def inner(u):
        def innermost(v):  # MARK:nested def
            return v * v
        return innermost(u)
    return inner(x)


def uses_generator_kept(x):
    ys = (x * i for i in range(3))  # MARK:generator kept
    return sum(ys)


def uses_comprehension_in_while(x):
    while sum([x * i for i in range(3)]) < 10.0:  # MARK:comprehension in while
        x = x * 2.0
    return x


def uses_pop_in_expression(x):
    ys = [x, 2.0 * x]
    return x * ys.pop()  # MARK:pop in expression


def uses_dict_method(x):
    d = {"a": x}
    return d.get("a", 0.0)  # MARK:dict method


def uses_set_comprehension(x):
    ys = {x * i for i in range(3)}  # MARK:set comprehension
    return x


def uses_view_after_write(x):
    y = x * 2.0
    r = y[0:1]
    y[0] = 5.0
    return np.sum(r * x)  # MARK:view read after write


GLOBAL_ARRAY = np.zeros(3)


def uses_write_into_global(x):
    GLOBAL_ARRAY[0] = x  # MARK:write into global
    return np.sum(GLOBAL_ARRAY * x)


def uses_unknown_attribute(x):
    return np.sum(x.imag * x)  # MARK:unknown attribute


def uses_mixed_returns(x):
    if x > 0.0:
        return x, x
    return x  # MARK:mixed returns


def uses_enumerate(x):
    s = 0.0
    for i in enumerate(x):  # MARK:enumerate
        s = s + 1.0
    return s


def uses_chained_indexed_assignment(x):
    y = np.zeros(2)
    y[0] = y[1] = x  # MARK:chained indexed
    return np.sum(y)


def uses_unknown_method(x):
    return x.conjugate()  # MARK:unknown method


def uses_import(x):
    import os  # MARK:import
    return x


def uses_import_from(x):
    from math import sin  # MARK:import from
    return sin(x)


# (function, marker, token the column points at, words the message must contain). Python places a
# generator expression that is a call's only argument at the call's opening parenthesis.
UNSUPPORTED = [
    (uses_try, "try", "try", ["'try'"]),
    (uses_with, "with", "with", ["'with'"]),
    (uses_yield, "yield", "yield", ["yield"]),
    (uses_global, "global", "global", ["'global'"]),
    (uses_nonlocal, "nonlocal", "nonlocal", ["'nonlocal'"]),
    (uses_lambda, "lambda", "lambda", ["lambda"]),
    (uses_del, "del", "del", ["'del'"]),
    (uses_class, "class", "class", ["class"]),
    (uses_nested_def, "nested def", "def", ["two levels deep"]),
    (uses_generator_kept, "generator kept", "(x * i for", ["generator expression", "list comprehension"]),
    (uses_comprehension_in_while, "comprehension in while", "[x * i", ["'while' condition"]),
    (uses_pop_in_expression, "pop in expression", "ys.pop", ["statement of its own", "h = hs.pop()"]),
    (uses_dict_method, "dict method", "d.get", ["'.get()'", "d[key]"]),
    (uses_set_comprehension, "set comprehension", "{x * i", ["comprehension"]),
    (uses_view_after_write, "view read after write", "r * x", ["'r' may share memory with 'y'"]),
    (uses_unknown_method, "unknown method", "x.conjugate", ["'.conjugate()'", "np."]),
    (uses_write_into_global, "write into global", "GLOBAL_ARRAY[0]", ["local array"]),
    (uses_unknown_attribute, "unknown attribute", "x.imag", ["'.imag'", "outside"]),
    (uses_mixed_returns, "mixed returns", "return", ["same form on every path"]),
    (uses_enumerate, "enumerate", "enumerate(x)", ["enumerate", "for i, x in enumerate(xs)"]),
    (uses_chained_indexed_assignment, "chained indexed", "y[0]", ["chained assignments", "own statement"]),
    (uses_import, "import", "import", ["import"]),
    (uses_import_from, "import from", "from", ["import"]),
]

_IDS = [case[1].replace(" ", "_") for case in UNSUPPORTED]


def _arg_for(fn):
    arrays = (uses_view_after_write, uses_unknown_attribute, uses_enumerate)
    return np.array([1.0, 2.0]) if fn in arrays else 0.5


@pytest.mark.parametrize("fn, mark, token, words", UNSUPPORTED, ids=_IDS)
def test_unsupported_construct_raises_unsupported_syntax_error_at_its_file_line_and_column(fn, mark, token, words):
    lineno, text = marked_line(mark)
    with pytest.raises(s2sgrad.UnsupportedSyntaxError) as info:
        s2sgrad.grad(fn)(_arg_for(fn))
    err = info.value
    for word in words:
        assert word in err.msg, f"message {err.msg!r} does not name the construct ({word!r})"
    assert "not supported" in err.msg
    assert err.filename == THIS_FILE
    assert err.lineno == lineno
    assert err.offset == text.index(token) + 1
    assert err.text.strip() == text.strip()
    assert f"{THIS_FILE}:{lineno}:{err.offset}" in str(err)


@pytest.mark.parametrize("fn, mark, token, words", UNSUPPORTED, ids=_IDS)
def test_unsupported_construct_is_rejected_by_source_and_differentiate_too(fn, mark, token, words):
    lineno, _ = marked_line(mark)
    with pytest.raises(s2sgrad.UnsupportedSyntaxError) as info:
        s2sgrad.source(fn)
    assert info.value.lineno == lineno
    decorated = s2sgrad.differentiate(fn)
    with pytest.raises(s2sgrad.UnsupportedSyntaxError):
        decorated.grad(_arg_for(fn))


def test_unsupported_syntax_error_is_a_syntax_error_and_an_s2sgrad_error():
    with pytest.raises(SyntaxError) as info:
        s2sgrad.grad(uses_try)(0.5)
    assert isinstance(info.value, s2sgrad.S2SGradError)
    assert isinstance(info.value, s2sgrad.UnsupportedSyntaxError)


def test_unsupported_syntax_error_str_shows_the_source_line_and_a_caret():
    lineno, text = marked_line("lambda")
    with pytest.raises(s2sgrad.UnsupportedSyntaxError) as info:
        s2sgrad.grad(uses_lambda)(0.5)
    rendered = str(info.value)
    assert rendered.startswith(f"{THIS_FILE}:{lineno}:")
    assert text.strip() in rendered
    caret_line = rendered.splitlines()[-1]
    source_line = rendered.splitlines()[-2]
    assert caret_line.strip() == "^"
    assert source_line[len(caret_line) - 1:].startswith("lambda")


def falls_off_the_end(x):
    if x > 0.0:
        return x * 2.0
    y = x * 3.0  # MARK:falls off


def falls_off_after_loop(x, n):
    for i in range(n):  # MARK:falls off loop
        if x > 1.0:
            return x
        x = x * 2.0


@pytest.mark.parametrize("fn, mark, args", [
    (falls_off_the_end, "falls off", (0.5,)),
    (falls_off_the_end, "falls off", (-0.5,)),
    (falls_off_after_loop, "falls off loop", (0.5, 3)),
], ids=["if_taken", "if_not_taken", "after_loop"])
def test_function_that_can_fall_off_the_end_without_return_is_rejected(fn, mark, args):
    lineno, _ = marked_line(mark)
    with pytest.raises(s2sgrad.UnsupportedSyntaxError) as info:
        s2sgrad.grad(fn)(*args)
    err = info.value
    assert "return" in err.msg
    assert err.filename == THIS_FILE
    assert err.lineno == lineno, "points at the function's last statement, after which 'return' is missing"


def returns_none(x):
    y = x * 2.0
    return  # MARK:bare return


def test_bare_return_is_rejected_at_its_line():
    lineno, _ = marked_line("bare return")
    with pytest.raises(s2sgrad.UnsupportedSyntaxError) as info:
        s2sgrad.grad(returns_none)(0.5)
    assert "return" in info.value.msg
    assert info.value.lineno == lineno


# ---------------------------------------------------------------------------------------------
# Calls with no gradient rule
# ---------------------------------------------------------------------------------------------

def calls_erf(x):
    y = x * 2.0
    return math.erf(y) + x  # MARK:erf


def calls_gamma_in_loop(x, n):
    for i in range(n):
        x = math.gamma(x) * 0.5  # MARK:gamma
    return x


def calls_det(a):
    return np.sum(np.linalg.cond(a * 2.0))  # MARK:det


def test_no_rule_probes_are_really_missing_from_the_rule_table():
    for fn in (math.erf, math.gamma, np.linalg.cond):
        assert fn not in RULES and fn not in NONDIFF


@pytest.mark.parametrize("fn, args, mark, label", [
    (calls_erf, (0.5,), "erf", "math.erf"),
    (calls_gamma_in_loop, (1.5, 3), "gamma", "math.gamma"),
], ids=["erf", "gamma_in_loop"])
def test_call_to_function_without_rule_or_source_raises_no_gradient_rule_error_naming_it(fn, args, mark, label):
    lineno, text = marked_line(mark)
    with pytest.raises(s2sgrad.NoGradientRuleError) as info:
        s2sgrad.grad(fn)(*args)
    message = str(info.value)
    assert label in message
    assert "no gradient rule" in message
    assert f"{THIS_FILE}:{lineno}:{text.index(label) + 1}" in message
    assert isinstance(info.value, s2sgrad.S2SGradError)


def test_numpy_function_without_rule_raises_no_gradient_rule_error_at_the_users_call():
    lineno, text = marked_line("det")
    with pytest.raises(s2sgrad.NoGradientRuleError) as info:
        s2sgrad.grad(calls_det)(np.array([[1.0, 2.0], [3.0, 5.0]]))
    message = str(info.value)
    assert "np.linalg.cond" in message
    assert f"{THIS_FILE}:{lineno}:" in message


def erf_of_a_constant(x):
    return math.erf(0.5) * x


def test_call_without_rule_is_fine_when_its_result_needs_no_derivative():
    assert s2sgrad.grad(erf_of_a_constant)(2.0) == pytest.approx(math.erf(0.5), rel=1e-15)


# ---------------------------------------------------------------------------------------------
# Functions without source
# ---------------------------------------------------------------------------------------------

_namespace = {"math": math}
exec("def made_by_exec(x):\n    return math.sin(x) * x\n", _namespace)
made_by_exec = _namespace["made_by_exec"]


def test_function_built_with_exec_raises_source_unavailable_error():
    assert made_by_exec(0.5) == math.sin(0.5) * 0.5
    with pytest.raises(s2sgrad.SourceUnavailableError) as info:
        s2sgrad.grad(made_by_exec)(0.5)
    message = str(info.value)
    assert "made_by_exec" in message
    assert "source" in message
    assert isinstance(info.value, s2sgrad.S2SGradError)


def test_builtin_passed_directly_raises_source_unavailable_error():
    with pytest.raises(s2sgrad.SourceUnavailableError) as info:
        s2sgrad.source(builtins.len)
    assert "len" in str(info.value)


def test_a_lambda_without_a_source_file_raises_source_unavailable_error():
    namespace = {}
    exec("square = lambda x: x * x", namespace)
    with pytest.raises(s2sgrad.SourceUnavailableError) as info:
        s2sgrad.grad(namespace["square"])(0.5)
    assert "lambda" in str(info.value)


def calls_exec_function(x):
    return made_by_exec(x) * 2.0


def test_helper_without_source_called_from_a_differentiated_function_raises_source_unavailable_error():
    with pytest.raises(s2sgrad.SourceUnavailableError) as info:
        s2sgrad.grad(calls_exec_function)(0.5)
    assert "made_by_exec" in str(info.value)


# ---------------------------------------------------------------------------------------------
# wrt and output checks
# ---------------------------------------------------------------------------------------------

def two_params(x, scale):
    return x * scale


@pytest.mark.parametrize("wrt", ["y", ("x", "nope"), 2, -3, ("scale", 5)])
def test_wrt_naming_a_missing_parameter_raises_value_error_listing_the_parameters(wrt):
    with pytest.raises(ValueError) as info:
        s2sgrad.grad(two_params, wrt=wrt)
    message = str(info.value)
    assert "x, scale" in message
    assert "two_params" in message


def test_differentiate_with_missing_wrt_raises_value_error_at_decoration():
    with pytest.raises(ValueError, match="x, scale"):
        s2sgrad.differentiate(wrt="z")(two_params)


@pytest.mark.parametrize("entry", [s2sgrad.value_and_grad, s2sgrad.source])
def test_every_entry_point_checks_wrt(entry):
    with pytest.raises(ValueError, match="x, scale"):
        entry(two_params, wrt="nope")


def array_valued(x):
    return np.sin(x) * 2.0


@pytest.mark.parametrize("x, shape", [(np.ones(3), "(3,)"), (np.ones((2, 4)), "(2, 4)")])
def test_grad_of_an_array_valued_function_raises_value_error_mentioning_shape_and_vjp(x, shape):
    with pytest.raises(ValueError) as info:
        s2sgrad.grad(array_valued)(x)
    message = str(info.value)
    assert shape in message
    assert "vjp" in message
    with pytest.raises(ValueError, match="vjp"):
        s2sgrad.value_and_grad(array_valued)(x)


def test_all_s2sgrad_errors_derive_from_the_base_class():
    for cls in (s2sgrad.UnsupportedSyntaxError, s2sgrad.NoGradientRuleError, s2sgrad.SourceUnavailableError):
        assert issubclass(cls, s2sgrad.S2SGradError)
    assert issubclass(s2sgrad.S2SGradError, Exception)
    assert issubclass(s2sgrad.UnsupportedSyntaxError, SyntaxError)


def takes_two(a, b):
    return a * b


def value_and_slope(x):
    return x ** 3


value_and_slope_fn = s2sgrad.value_and_grad(value_and_slope)


def calls_value_and_grad(x):
    value, slope = value_and_slope_fn(x)
    return slope


def test_differentiating_a_call_to_value_and_grad_is_refused_clearly():
    with pytest.raises(s2sgrad.NoGradientRuleError, match="s2sgrad.value_and_grad is not supported"):
        s2sgrad.grad(calls_value_and_grad)(0.5)
