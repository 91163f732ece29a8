"""The adjoint and tangent of scipy.integrate.odeint by the adjoint method: the gradient integrates the
adjoint equation backwards (never differentiating SciPy's integrator), the tangent integrates the
sensitivity equation forwards, each with the derivatives of the right-hand side that s2sgrad makes of the
user's function at run time (s2sgrad.vjp and s2sgrad.jvp). Registered when scipy.integrate is imported
(scipy_loader).

Derivatives with respect to y0, the arguments in `args` (a tuple display: one adjoint per argument) and the
times t. The backward and sensitivity integrations use the forward one's tolerances, at most 1e-10: the
gradient is that of the exact solution, to those tolerances (the computed solution's own error is the
forward tolerance). Dfun=, full_output= and the other options are refused (not bound). The tangent is
computed by a helper, so second order is refused.
"""

import inspect
import textwrap

import gast
from scipy.integrate import odeint

from ..runtime import odeint_adjoint, odeint_tangent
from . import RULES, Rule, d
from .tangents import TANGENTS, _split_template, t


class ArgsRule(Rule):
    """A rule whose `args` parameter is a sequence, like `*operands` (odeint's args=(theta, w) holds values
    of different shapes: one adjoint, and one tangent, per element, never the array NumPy makes of them)."""

    @property
    def sequences(self):
        return super().sequences | {"args"}


def _rule(template, prim, inert=()):
    fn = gast.parse(textwrap.dedent(inspect.getsource(template))).body[0]
    sig = inspect.signature(template)
    return ArgsRule(prim, template, sig, next(iter(sig.parameters)), fn.body, template.__globals__, frozenset(inert))


def odeint_(y, func, y0, t, args=(), *, rtol=None, atol=None, tfirst=False):
    grads = odeint_adjoint(d[y], func, y0, t, args, y, tfirst, rtol, atol)
    d[y0] = grads[0]
    d[args] = grads[1]
    d[t] = grads[2]


def odeint_tangent_(y, func, y0, t, args=(), *, rtol=None, atol=None, tfirst=False):
    t[y] = (odeint_tangent(t[y0], None, None, func, y0, t, args, y, tfirst, rtol, atol)
            + odeint_tangent(None, t[args], None, func, y0, t, args, y, tfirst, rtol, atol)
            + odeint_tangent(None, None, t[t], func, y0, t, args, y, tfirst, rtol, atol))


RULES.setdefault(odeint, []).append(_rule(odeint_, odeint, inert=("func", "tfirst", "rtol", "atol")))
_tangent = _rule(odeint_tangent_, odeint)
_split_template(_tangent)
TANGENTS[odeint] = [_tangent]
