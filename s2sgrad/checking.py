"""check_grad: s2sgrad's gradient against central finite differences, in float64.

Each differentiated argument is checked element by element, and an array argument also along a
few random unit directions u (the directional derivative by central differences against
<grad, u>). The directions come from a generator with a fixed seed, so a check is deterministic.
A container argument (a dict, list or tuple of arrays and floats, nested, a dataclass or an object of
the user's: see s2sgrad/trees.py) is checked leaf by leaf, each leaf as an argument of its own.

Example:
    >>> def loss(W, x):
    ...     return np.sum(np.tanh(W @ x))
    >>> W, x = np.ones((2, 3)) * 0.1, np.array([1.0, 2.0, 3.0])
    >>> s2sgrad.check_grad(loss, W, x, wrt=(0, 1))
    True
"""

import copy
import functools

import numpy as np

from . import trees
from .api import _label, _plain, _wrt_entries, grad, vjp
from .errors import GradientCheckError
from .frontend import signature

DIRECTIONS = 3          # random directions checked per array argument
SEED = 0                # of the generator drawing them


def check_grad(fn, *args, wrt=0, eps=1e-6, rtol=1e-5, atol=1e-8):
    """True when `s2sgrad.grad(fn, wrt)(*args)` agrees with central finite differences; otherwise
    raise `GradientCheckError` naming, per argument, the worst element and the worst direction.

    An element agrees when |grad - fd| <= atol + rtol * |fd| (as in `np.allclose`); a direction u
    (unit length) when |<grad, u> - fd_u| <= atol * sum|u| + rtol * sum|fd * u|. The finite
    differences run on float64 copies of the floating-point inputs, so float32 and float16
    arguments are differentiated numerically in float64 while s2sgrad's gradient keeps their
    dtype: give those a looser `rtol`. Every leaf of a container argument that carries a derivative
    is checked the same way, and named by its path in the report (`params['W'][0, 1]`, `model.W[0, 1]`
    for an attribute of a dataclass or an object). An array-valued fn has each row of its Jacobian (the
    gradient of one output element, from `s2sgrad.vjp`) checked the same way against differences of that
    element, as PyTorch's gradcheck checks the whole Jacobian; a failure names the element
    (`d out[1] / d W[0, 2]`) and lists only the rows that disagree.

    Example:
        >>> def f(x, a):
        ...     return math.sin(x) * a
        >>> s2sgrad.check_grad(f, 0.5, 0.9, wrt=("x", "a"))
        True
        >>> s2sgrad.check_grad(lambda p: np.sum(p["W"] ** 2) * p["s"], {"W": np.ones(3), "s": 0.5})
        True
        >>> class Model:
        ...     def __init__(self):
        ...         self.W, self.b = np.ones((2, 2)), 0.5
        >>> def loss(model, x):
        ...     return np.sum(np.tanh(model.W @ x + model.b))
        >>> s2sgrad.check_grad(loss, Model(), np.ones(2), wrt="model")      # every float attribute
        True
        >>> s2sgrad.check_grad(lambda x: np.tanh(x) * x[0], np.ones(3))    # a vector: its Jacobian
        True
        >>> s2sgrad.check_grad(lambda x: np.sum(np.floor(x)), np.ones(2))  # a jump: differences see it
        Traceback (most recent call last):
        ...
        s2sgrad.errors.GradientCheckError: ...
    """
    plain = _plain(fn)             # a library function is refused as grad refuses it
    entries, single = _wrt_entries(plain, wrt)      # a parameter's name, or (name, k): the item k of *args
    inputs = signature(plain).bind(*args)           # the code that runs, as grad reads it
    inputs.apply_defaults()
    differentiated = {e if isinstance(e, str) else e[0] for e in entries}
    for name, value in inputs.arguments.items():
        inputs.arguments[name] = _float64(value, name in differentiated)
    wrt = (wrt,) if single else tuple(wrt)
    try:
        rows = [(None, grad(fn, wrt=wrt)(*args))]       # a tuple either way
    except ValueError:                                  # grad needs a scalar output
        output = plain(*inputs.args, **inputs.kwargs)
        if not (isinstance(output, np.ndarray) and output.size > 1):
            raise
        # A vector output: each row of the Jacobian (the vjp with a one-hot cotangent: that output
        # element's gradient) against differences of that element, as PyTorch's gradcheck checks all.
        value, pullback = vjp(fn, *args, wrt=wrt)
        rows = []
        for k in np.ndindex(np.shape(value)):
            cotangent = np.zeros_like(value)
            cotangent[k] = 1
            rows.append((k, pullback(cotangent)))       # a tuple: wrt is one

    def value_at(name, component, x):
        """fn (its element `component`) at the float64 inputs, with the parameter `name` bound to x."""
        saved = inputs.arguments[name]
        inputs.arguments[name] = x
        try:
            out = plain(*_fresh(inputs.args), **_fresh(inputs.kwargs))
            return float(np.reshape(out, ()) if component is None else out[component])   # a size-1 output too
        finally:
            inputs.arguments[name] = saved

    def value_at_leaf(name, component, path, x):
        """fn at the float64 inputs, with the leaf at `path` of the parameter `name` replaced by x (an
        argument in *args is a leaf of its tuple)."""
        return value_at(name, component, trees.replaced(inputs.arguments[name], path, x) if path else x)

    rng = np.random.default_rng(SEED)
    reports, failed = [], False
    for component, grads in rows:
        # a vector output's report names the element, and lists only those that disagree (there may be many)
        of = "" if component is None else f"d out[{', '.join(map(str, component))}] / d "
        for entry, g in zip(entries, grads):
            name, at = (entry, ()) if isinstance(entry, str) else (entry[0], (entry[1],))
            x, label = trees.at(inputs.arguments[name], at), _label(entry)
            leaves = [((), x)] if not trees.is_container(x) else [
                (path, leaf) for path, leaf in trees.leaves(x) if trees.carries_derivative(leaf)]
            for path, leaf in leaves:
                report, ok = _check_argument(
                    of + label + (trees.path_text(x, path) if path else ""),
                    functools.partial(value_at_leaf, name, component, at + path), leaf,
                    trees.at(g, path) if path else g, rng, eps, rtol, atol)
                if component is None or not ok:
                    reports.append(report)
                failed = failed or not ok
    if failed:
        labels = tuple(_label(e) for e in entries)
        wrt_text = labels[0] if single else labels
        raise GradientCheckError(
            f"gradient check failed for {plain.__qualname__} with respect to {wrt_text!r} "
            f"(central differences in float64, eps={eps:g}, rtol={rtol:g}, atol={atol:g}):\n"
            + "\n".join(reports))
    return True


def _fresh(arguments):
    """The arguments copied for one evaluation of fn: a function that writes into an argument
    (`params["w"] = ...`) must not see the writes of the evaluation before (the gradient never does);
    arguments that cannot be copied are passed as they are."""
    try:
        return copy.deepcopy(arguments)
    except Exception:
        return arguments


def _float64(value, differentiated):
    """A float64 copy of a floating-point input (of each leaf of a container); any other input as it is.
    An object (a dataclass, a model) is copied only when it is `differentiated` (in wrt): one passed as
    is stays the caller's own, as the function may hold on to it."""
    if trees.is_container(value) and (differentiated or not trees.is_object(value)):
        return trees.like(value, [_float64(trees.child(value, k), differentiated) for k in trees.own_keys(value)])
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.astype(np.float64)
    if isinstance(value, np.floating):
        return np.float64(value)
    return value


def _check_argument(name, f, x, g, rng, eps, rtol, atol):
    """(report, agrees) for one argument: every element, then random directions if it is an array."""
    as_input = (lambda v: v) if isinstance(x, np.ndarray) else float
    x = np.array(x, dtype=np.float64)
    g = np.asarray(g, dtype=np.float64)
    fd = np.empty(x.shape)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        fd[i] = (f(as_input(up)) - f(as_input(down))) / (2 * eps)
    error = np.abs(g - fd)
    allowed = atol + rtol * np.abs(fd)
    worst = np.unravel_index(np.argmax(_badness(error, allowed)), x.shape)
    ok = bool(np.all(error <= allowed))
    where = f"{name}[{', '.join(map(str, worst))}]" if x.shape else name
    lines = [f"  {name}: {_verdict(ok)}; worst element {where}: s2sgrad {g[worst]:.10g}, "
             f"finite differences {fd[worst]:.10g}, error {error[worst]:.3g} (allowed {allowed[worst]:.3g})"]
    if x.ndim:
        directions = []
        for k in range(DIRECTIONS):
            u = rng.standard_normal(x.shape)
            u /= np.linalg.norm(u)
            numeric = (f(x + eps * u) - f(x - eps * u)) / (2 * eps)
            analytic = float(np.sum(g * u))
            directions.append((k + 1, analytic, numeric, abs(analytic - numeric),
                               atol * np.sum(np.abs(u)) + rtol * np.sum(np.abs(fd * u))))
        k, analytic, numeric, err, tol = max(directions, key=lambda d: _badness(d[3], d[4]))
        agree = all(d[3] <= d[4] for d in directions)
        ok = ok and agree
        lines.append(f"  {name}: {_verdict(agree)}; worst random direction u ({k} of {DIRECTIONS}, seed "
                     f"{SEED}): <s2sgrad, u> {analytic:.10g}, finite differences {numeric:.10g}, "
                     f"error {err:.3g} (allowed {tol:.3g})")
    return "\n".join(lines), ok


def _verdict(ok):
    return "ok" if ok else "MISMATCH"


def _badness(error, allowed):
    """error / allowed, with NaN (a NaN gradient or function value) worse than any number."""
    error = np.asarray(error, dtype=np.float64)
    return np.where(np.isnan(error), np.inf, error / np.maximum(allowed, np.finfo(np.float64).tiny))
