"""Every registered scalar gradient rule, checked against central finite differences inside its domain.

`SCALAR_RULES` is the table of scalar rules (math, builtins, operators), also run on arrays with
broadcasting; the NumPy table is tests/test_numpy_rules.py, the builtins over sequences (sum, min, max)
tests/test_builtin_rules.py. `test_every_registered_*_rule_has_a_test`
walks `s2sgrad.rules.RULES`, so registering a rule without adding it to a table fails the suite.
"""

import builtins
import math
import operator

import numpy as np
import pytest

from gradcheck import assert_grad_matches, uncovered
from s2sgrad.rules import RULES


# ---------------------------------------------------------------------------------------------
# Functions applying one primitive each (module level: the compiler reads their source)
# ---------------------------------------------------------------------------------------------

def f_sin(x):
    return math.sin(x)


def f_cos(x):
    return math.cos(x)


def f_tan(x):
    return math.tan(x)


def f_asin(x):
    return math.asin(x)


def f_acos(x):
    return math.acos(x)


def f_atan(x):
    return math.atan(x)


def f_atan2(y, x):
    return math.atan2(y, x)


def f_sinh(x):
    return math.sinh(x)


def f_cosh(x):
    return math.cosh(x)


def f_tanh(x):
    return math.tanh(x)


def f_exp(x):
    return math.exp(x)


def f_expm1(x):
    return math.expm1(x)


def f_log(x):
    return math.log(x)


def f_log_base(x, base):
    return math.log(x, base)


def f_log1p(x):
    return math.log1p(x)


def f_log2(x):
    return math.log2(x)


def f_log10(x):
    return math.log10(x)


def f_sqrt(x):
    return math.sqrt(x)


def f_math_pow(x, y):
    return math.pow(x, y)


def f_math_pow_const_exponent(x):
    return math.pow(x, 3.0)


def f_hypot(x, y):
    return math.hypot(x, y)


def f_fabs(x):
    return math.fabs(x)


def f_abs(x):
    return abs(x)


def f_min_xy(x, y):
    return min(x, y)


def f_min_yx(x, y):
    return min(y, x)


def f_max_xy(x, y):
    return max(x, y)


def f_max_yx(x, y):
    return max(y, x)


def f_float(x):
    return float(x) * x


def f_add(x, y):
    return x + y


def f_add_const(x):
    return 2.5 + x


def f_sub(x, y):
    return x - y


def f_sub_const(x):
    return 2.5 - x


def f_mul(x, y):
    return x * y


def f_mul_self(x):
    return x * x


def f_truediv(x, y):
    return x / y


def f_truediv_const_numerator(x):
    return 2.0 / x


def f_pow(x, y):
    return x ** y


def f_pow_int_exponent(x):
    return x ** 3


def f_pow_float_exponent(x):
    return x ** 2.5


def f_pow_const_base(x):
    return 2.0 ** x


def f_mod(x, y):
    return x % y


def f_mod_const(x):
    return x % 1.5


def f_neg(x, y):
    return -x * y


def f_pos(x, y):
    return +x * y


def f_matmul(a, b):
    return np.sum(np.sin(a @ b))


V3 = np.array([0.3, -1.2, 0.7])
W3 = np.array([1.1, 0.4, -0.5])
M23 = np.array([[0.3, -1.2, 0.7], [0.5, 0.9, -1.4]])
M32 = np.array([[0.2, -0.4], [1.3, 0.6], [-0.8, 0.5]])
V2 = np.array([0.6, -0.9])

# (primitive, arity the case exercises, function, list of argument tuples, wrt)
SCALAR_RULES = [
    (math.sin, 1, f_sin, [(0.3,), (-1.2,), (2.0,)], 0),
    (math.cos, 1, f_cos, [(0.3,), (-1.2,), (2.0,)], 0),
    (math.tan, 1, f_tan, [(0.3,), (-1.2,), (2.0,)], 0),
    (math.asin, 1, f_asin, [(0.3,), (-0.7,), (0.9,)], 0),
    (math.acos, 1, f_acos, [(0.3,), (-0.7,), (0.9,)], 0),
    (math.atan, 1, f_atan, [(0.5,), (-2.0,), (10.0,)], 0),
    (math.atan2, 2, f_atan2, [(0.5, 1.2), (-0.7, -0.3), (1.5, -2.0)], (0, 1)),
    (math.sinh, 1, f_sinh, [(0.5,), (-1.3,), (2.0,)], 0),
    (math.cosh, 1, f_cosh, [(0.5,), (-1.3,), (2.0,)], 0),
    (math.tanh, 1, f_tanh, [(0.5,), (-1.3,), (2.0,)], 0),
    (math.exp, 1, f_exp, [(0.3,), (-2.0,), (1.5,)], 0),
    (math.expm1, 1, f_expm1, [(0.3,), (-2.0,), (1e-3,)], 0),
    (math.log, 1, f_log, [(0.5,), (2.0,), (10.0,)], 0),
    (math.log, 2, f_log_base, [(2.0, 3.0), (0.5, 10.0), (7.0, 0.5)], (0, 1)),
    (math.log1p, 1, f_log1p, [(0.5,), (-0.5,), (3.0,)], 0),
    (math.log2, 1, f_log2, [(0.5,), (3.0,), (100.0,)], 0),
    (math.log10, 1, f_log10, [(0.5,), (3.0,), (100.0,)], 0),
    (math.sqrt, 1, f_sqrt, [(0.25,), (2.0,), (9.0,)], 0),
    (math.pow, 2, f_math_pow, [(1.5, 2.5), (0.5, -1.3), (3.0, 0.5)], (0, 1)),
    (math.pow, 2, f_math_pow_const_exponent, [(1.5,), (-1.5,), (0.4,)], 0),
    (math.hypot, 2, f_hypot, [(3.0, 4.0), (-1.0, 0.5), (0.2, -2.0)], (0, 1)),
    (math.fabs, 1, f_fabs, [(1.5,), (-0.7,), (3.0,)], 0),
    (builtins.abs, 1, f_abs, [(1.5,), (-0.7,), (3.0,)], 0),
    (builtins.min, 2, f_min_xy, [(0.5, 1.5), (2.0, -1.0), (-3.0, -0.5)], (0, 1)),
    (builtins.min, 2, f_min_yx, [(0.5, 1.5), (2.0, -1.0), (-3.0, -0.5)], (0, 1)),
    (builtins.max, 2, f_max_xy, [(0.5, 1.5), (2.0, -1.0), (-3.0, -0.5)], (0, 1)),
    (builtins.max, 2, f_max_yx, [(0.5, 1.5), (2.0, -1.0), (-3.0, -0.5)], (0, 1)),
    (builtins.float, 1, f_float, [(0.5,), (-2.0,)], 0),
    (operator.add, 2, f_add, [(0.5, 1.5), (-2.0, 0.3), (3.0, -1.2)], (0, 1)),
    (operator.add, 2, f_add_const, [(0.5,), (-2.0,)], 0),
    (operator.sub, 2, f_sub, [(0.5, 1.5), (-2.0, 0.3), (3.0, -1.2)], (0, 1)),
    (operator.sub, 2, f_sub_const, [(0.5,), (-2.0,)], 0),
    (operator.mul, 2, f_mul, [(0.5, 1.5), (-2.0, 0.3), (3.0, -1.2)], (0, 1)),
    (operator.mul, 2, f_mul_self, [(0.5,), (-2.0,)], 0),
    (operator.truediv, 2, f_truediv, [(0.5, 1.5), (-2.0, 0.3), (3.0, -1.2)], (0, 1)),
    (operator.truediv, 2, f_truediv_const_numerator, [(0.5,), (-2.0,)], 0),
    (operator.pow, 2, f_pow, [(1.5, 2.5), (0.5, -1.3), (3.0, 0.5)], (0, 1)),
    (operator.pow, 2, f_pow_int_exponent, [(1.5,), (-1.5,), (0.4,)], 0),
    (operator.pow, 2, f_pow_float_exponent, [(1.5,), (0.4,)], 0),
    (operator.pow, 2, f_pow_const_base, [(1.5,), (-0.4,)], 0),
    (operator.mod, 2, f_mod, [(5.3, 2.0), (-1.3, 0.7), (4.1, -1.5)], (0, 1)),
    (operator.mod, 2, f_mod_const, [(0.4,), (2.2,), (-0.9,)], 0),
    (operator.neg, 1, f_neg, [(0.5, 1.5), (-2.0, 0.3), (3.0, -1.2)], (0, 1)),
    (operator.pos, 1, f_pos, [(0.5, 1.5), (-2.0, 0.3), (3.0, -1.2)], (0, 1)),
    (operator.matmul, 2, f_matmul, [(V3, W3), (M23, V3), (V2, M23), (M23, M32)], (0, 1)),
]


def _cases(table):
    cases, ids = [], []
    for prim, arity, fn, points, wrt in table:
        for args in points:
            cases.append(pytest.param(fn, args, wrt))
            shapes = ",".join(str(np.shape(a)) if isinstance(a, np.ndarray) else repr(a) for a in args)
            ids.append(f"{fn.__name__}({shapes})")
    return cases, ids


_SCALAR_CASES, _SCALAR_IDS = _cases(SCALAR_RULES)


@pytest.mark.parametrize("fn, args, wrt", _SCALAR_CASES, ids=_SCALAR_IDS)
def test_scalar_rule_matches_finite_differences_inside_its_domain(fn, args, wrt):
    assert_grad_matches(fn, *args, wrt=wrt)


def _is_numpy(prim):
    """NumPy functions, and s2sgrad's own array helpers that stand for array methods (x.astype)."""
    from test_numpy_rules import _is_numpy as is_numpy
    return is_numpy(prim)


def _is_scalar_module(prim):
    module = getattr(prim, "__module__", None) or ""
    return module in ("math", "builtins", "operator", "_operator")


def _is_scalar_rule(prim):
    """Scalar primitives other than the builtins over sequences (sum, min, max: tests/test_builtin_rules.py,
    whose table is walked form by form there)."""
    from test_builtin_rules import BUILTIN_RULES
    from test_lists import is_container_rule            # list(...), tuple(...): tests/test_lists.py
    return _is_scalar_module(prim) and all(prim is not p for p, *_ in BUILTIN_RULES) and not is_container_rule(prim)


def test_every_registered_math_builtin_and_operator_rule_has_a_test():
    missing = uncovered(SCALAR_RULES, _is_scalar_rule)
    assert not missing, f"rules without an entry in SCALAR_RULES: {missing}"


def test_every_registered_primitive_is_either_a_scalar_or_a_numpy_rule():
    from test_second_order import is_runtime_helper     # their own table, with the second-order tests
    from test_numpy_rules import is_scipy               # SciPy's: tests/test_scipy_rules.py
    from test_lists import is_container_rule            # copies of lists and dicts: tests/test_lists.py
    unclassified = [p for p in RULES if not (_is_scalar_module(p) or _is_numpy(p) or is_runtime_helper(p)
                                             or is_scipy(p) or is_container_rule(p))]
    assert not unclassified, f"primitives no rule table here covers: {unclassified}"


def test_rule_table_walk_sees_the_known_primitives():
    # guards the coverage test itself: if RULES were empty or keyed differently it would pass vacuously
    for prim in (math.sin, math.log, builtins.abs, builtins.float, operator.add, operator.matmul, np.sin, np.sum):
        assert prim in RULES
    assert len(RULES[math.log]) == 2


# ---------------------------------------------------------------------------------------------
# Operators on arrays (the NumPy function table is tests/test_numpy_rules.py)
# ---------------------------------------------------------------------------------------------

from test_numpy_rules import NUMPY_RULES, np_sin  # noqa: E402,F401  (tests/test_forward.py runs both tables)

POS3 = np.array([0.3, 1.2, 0.7])
MIX3 = np.array([-0.8, 0.4, 1.1])
MIX23 = np.array([[-0.8, 0.4, 1.1], [0.2, -1.3, 0.6]])


# Array operators, including broadcasting: the adjoint of a broadcast operand is summed back to its shape.

def arr_add(a, b):
    return np.sum(np.sin(a + b))


def arr_sub(a, b):
    return np.sum(np.sin(a - b))


def arr_mul(a, b):
    return np.sum(np.sin(a * b))


def arr_div(a, b):
    return np.sum(np.sin(a / b))


def arr_pow(a, b):
    return np.sum(a ** b)


def arr_square(a):
    return np.sum(a ** 2)


def arr_neg(a, b):
    return np.sum(-a * b)


BIG = np.array([[0.3, 1.2, 0.7], [0.5, 0.9, 1.4]])          # (2, 3), no zeros: also a divisor
ROW = np.array([1.1, 0.6, 1.7])                              # (3,)
ROW_KEEP = np.array([[0.8, 1.3, 0.45]])                      # (1, 3)
COL = np.array([[0.9], [1.6]])                                # (2, 1)
SCALAR = 1.3
OTHER = np.array([[1.2, 0.4, 0.8], [1.5, 0.7, 1.1]])         # (2, 3)

BROADCAST_PAIRS = [
    ("2x3,2x3", BIG, OTHER), ("2x3,scalar", BIG, SCALAR), ("scalar,2x3", SCALAR, BIG),
    ("2x3,3", BIG, ROW), ("3,2x3", ROW, BIG), ("2x3,1x3", BIG, ROW_KEEP), ("2x1,2x3", COL, BIG),
    ("3,3", ROW, POS3), ("3,scalar", ROW, SCALAR),
]


@pytest.mark.parametrize("fn", [arr_add, arr_sub, arr_mul, arr_div], ids=lambda f: f.__name__)
@pytest.mark.parametrize("label, a, b", BROADCAST_PAIRS, ids=[p[0] for p in BROADCAST_PAIRS])
def test_array_operator_with_broadcasting_sums_adjoint_back_to_each_operand_shape(fn, label, a, b):
    ga, gb = assert_grad_matches(fn, a, b, wrt=(0, 1))
    for g, x in ((ga, a), (gb, b)):
        if isinstance(x, np.ndarray):
            assert isinstance(g, np.ndarray) and g.shape == x.shape
        else:
            assert type(g) is float


POW_PAIRS = [("2x3,2x3", BIG, OTHER), ("2x3,scalar", BIG, SCALAR), ("scalar,3", SCALAR, ROW), ("2x3,3", BIG, ROW)]


@pytest.mark.parametrize("label, a, b", POW_PAIRS, ids=[p[0] for p in POW_PAIRS])
def test_array_power_with_broadcasting(label, a, b):
    assert_grad_matches(arr_pow, a, b, wrt=(0, 1))


@pytest.mark.parametrize("x", [MIX3, MIX23], ids=["3", "2x3"])
def test_array_power_with_integer_exponent_on_negative_entries(x):
    assert_grad_matches(arr_square, x)


@pytest.mark.parametrize("a, b", [(MIX3, POS3), (MIX23, ROW)], ids=["3,3", "2x3,3"])
def test_unary_minus_on_arrays(a, b):
    assert_grad_matches(arr_neg, a, b, wrt=(0, 1))
