"""Adjoints of the `math` module and of the scalar builtins abs and float (math.pow shares the template of
`**`: rules/operators.py; sum, min and max, which take sequences, are in rules/builtins.py).

These run on Python floats, which raise ZeroDivisionError where NumPy gives inf: where a slope is infinite
(sqrt at 0, asin at ±1) or a kink or jump makes a 0 / 0 (hypot and atan2 at the origin), a conditional
expression gives the value the math has instead, and keeps the common case a plain Python division."""

import builtins
import math

import numpy as np

from . import adjoint, d, nondifferentiable


@adjoint(math.sin)
def sin(y, x):
    d[x] = d[y] * math.cos(x)


@adjoint(math.cos)
def cos(y, x):
    d[x] = -d[y] * math.sin(x)


@adjoint(math.tan)
def tan(y, x):
    d[x] = d[y] * (1.0 + y * y)


@adjoint(math.asin)
def asin(y, x):
    d[x] = d[y] * (1.0 / math.sqrt(1.0 - x * x) if x * x < 1.0 else math.inf)     # inf at ±1


@adjoint(math.acos)
def acos(y, x):
    d[x] = -d[y] * (1.0 / math.sqrt(1.0 - x * x) if x * x < 1.0 else math.inf)    # -inf at ±1


@adjoint(math.atan)
def atan(y, x):
    d[x] = d[y] / (1.0 + x * x)


@adjoint(math.atan2)
def atan2(z, y, x):
    # x / (x^2 + y^2) and -y / (x^2 + y^2), divided by r twice (r * r underflows for tiny x, y); at the
    # origin atan2 jumps and has no derivative: NaN, as in JAX and PyTorch
    r = math.hypot(x, y)
    d[y] = d[z] * (x / r / r if r else math.nan)
    d[x] = -d[z] * (y / r / r if r else math.nan)


@adjoint(math.sinh)
def sinh(y, x):
    d[x] = d[y] * math.cosh(x)


@adjoint(math.cosh)
def cosh(y, x):
    d[x] = d[y] * math.sinh(x)


@adjoint(math.tanh)
def tanh(y, x):
    d[x] = d[y] * (1.0 - y * y)


@adjoint(math.exp)
def exp(y, x):
    d[x] = d[y] * y


@adjoint(math.expm1)
def expm1(y, x):
    d[x] = d[y] * (y + 1.0)


@adjoint(math.log)
def log(y, x):
    d[x] = d[y] / x


@adjoint(math.log)
def log_base(y, x, base):
    d[x] = d[y] / (x * math.log(base))
    d[base] = -d[y] * y / (base * math.log(base))


@adjoint(math.log1p)
def log1p(y, x):
    d[x] = d[y] / (1.0 + x)


@adjoint(math.log2)
def log2(y, x):
    d[x] = d[y] / (x * math.log(2.0))


@adjoint(math.log10)
def log10(y, x):
    d[x] = d[y] / (x * math.log(10.0))


@adjoint(math.sqrt)
def sqrt(y, x):
    d[x] = d[y] * (0.5 / y if y else math.inf)          # inf at 0, the slope of sqrt there


@adjoint(math.hypot)
def hypot(z, x, y):
    # at the origin, a kink, 0: the subgradient PyTorch gives the norm there
    d[x] = d[z] * (x / z if z else 0.0)
    d[y] = d[z] * (y / z if z else 0.0)


@adjoint(math.fabs, builtins.abs)
def fabs(y, x):
    d[x] = d[y] * np.sign(x)                             # 0 at the kink, as in JAX and PyTorch


@adjoint(builtins.float)
def float(y, x):
    d[x] = d[y]


nondifferentiable(
    builtins.int, builtins.bool, builtins.len, builtins.range, builtins.round, builtins.print,
    builtins.isinstance, builtins.type, builtins.str, builtins.repr,
    math.floor, math.ceil, math.trunc, math.isnan, math.isinf, math.isfinite,
)
