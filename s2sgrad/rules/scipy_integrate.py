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

scipy.integrate.solve_ivp(fun, t_span, y0, method, t_eval, args=..., rtol=, atol=, first_step=, max_step=)
reuses that code with fun(t, y, *args) (odeint's tfirst=True) and sol.y, (n, len(t_eval)), as odeint's
trajectory transposed. Its result is a container (an OdeResult, a dict with attribute access): reading
`sol.y` is what is differentiated, sol.t, sol.success, ... carry no derivative. Derivatives with respect
to y0 and the values in `args`; t_span and t_eval carry none: they are refused when they depend on a
differentiated input (never a silent zero). `method` (any of SciPy's), rtol, atol, first_step and max_step
carry none either. t_eval is required (without it the output times are the integrator's own steps);
dense_output=, events=, vectorized=, jac= and the other options are refused (not bound).
"""

import inspect
import textwrap

import gast
from scipy.integrate import odeint, solve_ivp

from ..runtime import odeint_adjoint, odeint_tangent, solve_ivp_adjoint, solve_ivp_tangent
from . import RULES, Rule, d, returns_containers
from .tangents import TANGENTS, _split_template, t


class ArgsRule(Rule):
    """A rule whose `args` parameter is a sequence, like `*operands` (odeint's args=(theta, w) holds values
    of different shapes: one adjoint, and one tangent, per element, never the array NumPy makes of them)."""

    @property
    def sequences(self):
        return super().sequences | {"args"}


class TimesRequiredRule(ArgsRule):
    """solve_ivp's rule: binds only a call with t_eval (the outputs at those times)."""

    def bind(self, args, keywords):
        out = super().bind(args, keywords)
        if out is None or isinstance(out["t_eval"], gast.Constant) and out["t_eval"].value is None:
            return None
        return out


def _rule(template, prim, inert=(), kind=ArgsRule):
    fn = gast.parse(textwrap.dedent(inspect.getsource(template))).body[0]
    sig = inspect.signature(template)
    return kind(prim, template, sig, next(iter(sig.parameters)), fn.body, template.__globals__, frozenset(inert))


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


def solve_ivp_(sol, fun, t_span, y0, method="RK45", t_eval=None, *, args=(), rtol=1e-3, atol=1e-6, first_step=None,
               max_step=None):
    grads = solve_ivp_adjoint(d[sol], fun, t_span, y0, t_eval, args, sol, rtol, atol)
    d[y0] = grads[0]
    d[args] = grads[1]


def solve_ivp_tangent_(sol, fun, t_span, y0, method="RK45", t_eval=None, *, args=(), rtol=1e-3, atol=1e-6,
                       first_step=None, max_step=None):
    t[sol] = (solve_ivp_tangent(t[y0], None, fun, t_span, y0, t_eval, args, sol, rtol, atol)
              + solve_ivp_tangent(None, t[args], fun, t_span, y0, t_eval, args, sol, rtol, atol))


returns_containers(solve_ivp)            # an OdeResult: sol.y is read from it as a field
_INERT = ("fun", "method", "rtol", "atol", "first_step", "max_step")
RULES.setdefault(solve_ivp, []).append(_rule(solve_ivp_, solve_ivp, inert=_INERT, kind=TimesRequiredRule))
_tangent = _rule(solve_ivp_tangent_, solve_ivp, kind=TimesRequiredRule)
_split_template(_tangent)
TANGENTS[solve_ivp] = [_tangent]
