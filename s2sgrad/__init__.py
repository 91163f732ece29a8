"""s2sgrad: source-to-source automatic differentiation for numeric Python.

Example:
    >>> import math, s2sgrad
    >>> @s2sgrad.differentiate(wrt=("x", "a"))
    ... def f(x, a, n=10):
    ...     for i in range(n):
    ...         x = math.sin(x) * a + 0.1 * x
    ...     return x
    >>> dx, da = f.grad(0.5, 0.9)
    >>> round(dx, 6), round(da, 6)
    (0.413952, 2.988575)
    >>> import numpy as np
    >>> vector, unravel = s2sgrad.ravel({"W": np.ones((2, 3)), "b": np.zeros(2)})   # for an optimiser
    >>> vector.shape
    (8,)

Errors (s2sgrad/errors.py) derive from S2SGradError: UnsupportedSyntaxError (a SyntaxError at the user's
line), NoGradientRuleError, SourceUnavailableError, GradientCheckError (an AssertionError too) and
RecursionDepthError (a RecursionError too),
CustomRuleError (a TypeError too: a rule of the user's of the wrong form).
"""

from .api import (Differentiable, differentiate, grad, hessian, hvp, jacobian, jvp, source, value_and_grad,
                  vjp)
from .checking import check_grad
from .custom import Function, custom_vjp, no_grad, register_jvp, register_vjp, stop_gradient
from .trees import ravel
from .errors import (CustomRuleError, GradientCheckError, NoGradientRuleError, RecursionDepthError, S2SGradError,
                     SourceUnavailableError, UnsupportedSyntaxError)

__all__ = [
    "differentiate", "grad", "value_and_grad", "vjp", "hvp", "hessian", "jvp", "jacobian", "source", "Differentiable",
    "check_grad", "ravel",
    "custom_vjp", "Function", "register_vjp", "register_jvp", "stop_gradient", "no_grad",
    "S2SGradError", "UnsupportedSyntaxError", "NoGradientRuleError", "SourceUnavailableError",
    "GradientCheckError", "RecursionDepthError", "CustomRuleError",
]

# Derivatives kept in files: export, load back (derivative_file=), staleness (s2sgrad/export.py).
from .export import export
from .errors import StaleDerivativeWarning

__all__ += ["export", "StaleDerivativeWarning"]
