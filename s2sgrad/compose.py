"""Second and higher derivatives, by differentiating generated code again.

Generated forward-mode code is plain Python in the subset s2sgrad differentiates (no stack), so:
- the gradient of a jvp is reverse mode over forward mode: `grad_x <grad f, v> = H v`, the
  Hessian-vector product, which equals forward-over-reverse by the symmetry of the Hessian;
- for scalar arguments, forward mode over forward mode gives derivatives of any order: a
  derivative of a derivative is a *tower* `(code, tangent keywords, position)`, the function
  whose value is leaf `position` of `code(*args, **keywords)` (a nested tuple of values and
  tangents).

Example:
    >>> hvp_code(f, ("x",), kinds)                  # (forward code, its gradient)
    >>> tower(s2sgrad.grad(f), (2.0,), {})          # (jvp_f, {"x_dot": 1.0}, 1, 2)
"""

import inspect

import numpy as np

from .errors import S2SGradError
from .frontend import Known

_DERIVE = []       # pipeline.derive, installed by the pipeline (composition runs it, never imports it)


def install(derive_fn):
    """Give composition the compiler's `derive` (pipeline.py calls this once, at import)."""
    _DERIVE[:] = [derive_fn]


def derive(*args, **kwargs):
    return _DERIVE[0](*args, **kwargs)


def flat(value):
    """The leaves of a nested tuple of values, left to right."""
    if isinstance(value, tuple):
        return [leaf for v in value for leaf in flat(v)]
    return [value]


def is_scalar(x):
    return isinstance(x, (int, float, np.generic)) or (isinstance(x, np.ndarray) and x.ndim == 0)


def kind_of(x):
    """What generated code is specialised on for an argument: a scalar, an array of some ndim, a function
    (the function itself), or none of these."""
    if is_scalar(x):
        return "scalar"
    if isinstance(x, np.ndarray):
        return f"ndim:{x.ndim}"
    if isinstance(x, (list, tuple, dict)):
        return "container"
    if is_known(x):
        return Known(x)
    return "unknown"


def is_known(x):
    """Whether generated code is specialised on `x` itself: a function, or an object of a class of the
    user's (not a container, a string, a class or a library's value)."""
    if isinstance(x, type) or x is None:
        return False
    if callable(x):
        return True
    module = type(x).__module__ or ""
    return module.partition(".")[0] not in ("builtins", "numpy", "scipy") and hasattr(x, "__dict__")


def kinds_of(arguments, extra=()):
    """The specialisation key of `derive` for these arguments (and extra scalar keywords)."""
    pairs = [(n, kind_of(v)) for n, v in arguments.items()]
    return tuple(pairs + [(k, "scalar") for k in extra])


def hvp_code(fn, names, kinds):
    """(forward code of fn with respect to `names`, reverse code of its tangent): the second, called
    with the tangents as the direction v, returns ((value, tangent), H v)."""
    forward = derive(fn, names, kinds, mode="forward")
    tangent_kinds = None
    if kinds is not None:       # a tangent holds what its argument holds
        tangent_kinds = tuple(kinds) + tuple((t, dict(kinds).get(n, "unknown")) for t, n in zip(forward.tangents, names))
    reverse = derive(forward.function, names, tangent_kinds, mode="reverse", select=(1,))
    return forward, reverse


def derivative_of(obj):
    """The `_Gradient` behind a function made by s2sgrad.grad or value_and_grad, else None."""
    marker = getattr(obj, "__s2sgrad_derivative__", None)
    return marker[1] if marker is not None else None


def tower(obj, args, kwargs):
    """(code, keywords, position, width) such that obj(*args, **kwargs) is leaf `position` of the
    `width` leaves of code(*args, **kwargs, **keywords): forward mode applied once per level of
    derivative. Only a derivative with respect to one scalar argument is one directional derivative."""
    gradient = derivative_of(obj)
    arguments = gradient.arguments(args, kwargs)
    if len(gradient.names) != 1 or not is_scalar(arguments[gradient.names[0]]):
        raise S2SGradError(
            f"differentiating {gradient.fn.__qualname__}'s gradient again works here for a gradient with "
            f"respect to one scalar argument; for arrays use s2sgrad.hessian or s2sgrad.hvp")
    inner = gradient.fn
    if derivative_of(inner) is None:
        code, keywords, position, width = inner, {}, 0, 1
    else:
        code, keywords, position, width = tower(inner, args, kwargs)
    forward = derive(code, gradient.names, kinds_of(arguments, keywords), mode="forward")
    keywords = dict(keywords, **{forward.tangents[0]: 1.0})
    return forward.function, keywords, width + position, 2 * width


def grad_of_derivative(gradient, args, kwargs):
    """(value, gradients) of a derivative object `gradient.fn` (what grad(grad(f)) calls): forward over
    its tower when every argument differentiated is a scalar (so it can be differentiated again),
    else reverse mode over the tower's code."""
    arguments = gradient.arguments(args, kwargs)
    code, keywords, position, _ = tower(gradient.fn, args, kwargs)
    kinds = kinds_of(arguments, keywords)
    inputs = [arguments[n] for n in gradient.names]
    if all(is_scalar(x) for x in inputs):
        value, grads = None, []
        for n in gradient.names:
            forward = derive(code, (n,), kinds, mode="forward")
            out = flat(forward.function(*args, **kwargs, **keywords, **{forward.tangents[0]: 1.0}))
            value = out[position]
            grads.append(out[len(out) // 2 + position])
        return value, tuple(grads)
    reverse = derive(code, gradient.names, kinds, mode="reverse", select=(position,))
    out, grads = reverse.function(*args, **kwargs, **keywords)
    return flat(out)[position], (grads if len(inputs) > 1 else (grads,))


def _gradient_of_source(derivative):
    """The `_Gradient` of a function made by s2sgrad.grad of a function with source (what a call inside
    generated code may differentiate), else a clear error."""
    kind, gradient = derivative.__s2sgrad_derivative__
    if kind != "grad" or derivative_of(gradient.fn) is not None:
        raise S2SGradError(f"differentiating a call to a function made by s2sgrad.{kind} is not supported here; "
                           "call s2sgrad.grad(f) (of a function with source) instead")
    return gradient


def pullback_of_gradient(derivative, cotangent, *args):
    """The vector-Jacobian product of a gradient function `derivative = grad(f, wrt)` at `args`, with
    respect to every argument: by the symmetry of second derivatives it is the gradient of f's jvp in
    the direction `cotangent`, computed by generated reverse code over generated forward code. Generated
    code calls this where a differentiated function calls a gradient (`z = df(x) ** 3`).

    Example:
        >>> pullback_of_gradient(s2sgrad.grad(f), 1.0, 2.0)     # (f''(2.0),)
    """
    gradient = _gradient_of_source(derivative)
    arguments = gradient.arguments(args, {})
    names = tuple(arguments)[:len(args)]
    cotangents = (cotangent,) if gradient.single else tuple(cotangent)
    forward = derive(gradient.fn, gradient.names, kinds_of(arguments), mode="forward")
    reverse = derive(forward.function, names, kinds_of(arguments), mode="reverse", select=(1,))
    _, grads = reverse.function(*args, **dict(zip(forward.tangents, cotangents)))
    return grads if len(names) > 1 else (grads,)


def tangent_of_gradient(derivative, tangents, *args):
    """The tangent of `derivative(*args)` (derivative = grad(f, wrt)) when the arguments move along
    `tangents` (one per argument): the gradient with respect to wrt of f's jvp along `tangents`,
    by generated reverse code over generated forward code. Generated forward code calls this where a
    differentiated function calls a gradient.

    Example:
        >>> tangent_of_gradient(s2sgrad.grad(f), (1.0,), 2.0)     # f''(2.0)
    """
    gradient = _gradient_of_source(derivative)
    arguments = gradient.arguments(args, {})
    names = tuple(arguments)[:len(args)]
    forward = derive(gradient.fn, names, kinds_of(arguments), mode="forward")
    reverse = derive(forward.function, gradient.names, kinds_of(arguments), mode="reverse", select=(1,))
    _, grads = reverse.function(*args, **dict(zip(forward.tangents, tangents)))
    return grads


def _jvp_code(fn, wrt, args, tangents):
    """(forward code of fn at these arguments, its parameter names, the tangent keywords, the tangents as
    a tuple): what a call `s2sgrad.jvp(fn, args, tangents, wrt)` inside generated code runs."""
    params = list(inspect.signature(fn).parameters)
    single = not isinstance(wrt, (tuple, list))
    names = tuple(params[w] if isinstance(w, int) else w for w in ((wrt,) if single else wrt))
    arguments = dict(zip(params, args))
    forward = derive(fn, names, kinds_of(arguments), mode="forward")
    return forward, tuple(params[:len(args)]), ((tangents,) if single else tuple(tangents)), arguments


def pullback_of_jvp(fn, args, tangents, cotangents, wrt=0):
    """The vector-Jacobian product of `s2sgrad.jvp(fn, args, tangents, wrt)` = (value, tangent) with
    cotangents (for the value, for the tangent): (gradients for args, gradients for tangents), by
    generated reverse code over fn's generated forward code. Generated code calls this where a
    differentiated function calls s2sgrad.jvp (the gradient of a jvp).

    Example:
        >>> pullback_of_jvp(f, (2.0,), (1.0,), (0.0, 1.0))     # ((f''(2.0),), (f'(2.0),))
    """
    forward, names, tangents, arguments = _jvp_code(fn, wrt, args, tangents)
    kinds = kinds_of(arguments, forward.tangents)
    reverse = derive(forward.function, names + forward.tangents, kinds, mode="reverse")
    _, grads = reverse.function(*args, **dict(zip(forward.tangents, tangents)),
                                **dict(zip(reverse.seeds, cotangents)))
    grads = grads if isinstance(grads, tuple) else (grads,)
    return grads[:len(names)], grads[len(names):]


def tangent_of_jvp(fn, args, tangents, args_dot, tangents_dot, wrt=0):
    """The tangent of `s2sgrad.jvp(fn, args, tangents, wrt)` = (value, tangent) when args and tangents
    move along args_dot and tangents_dot: forward code over fn's forward code.

    Example:
        >>> tangent_of_jvp(f, (2.0,), (1.0,), (1.0,), (0.0,))     # (f'(2.0), f''(2.0))
    """
    forward, names, tangents, arguments = _jvp_code(fn, wrt, args, tangents)
    twice = derive(forward.function, names + forward.tangents, kinds_of(arguments, forward.tangents),
                   mode="forward")
    directions = dict(zip(twice.tangents, tuple(args_dot) + tuple(tangents_dot)))
    _, derivative = twice.function(*args, **dict(zip(forward.tangents, tangents)), **directions)
    return derivative
