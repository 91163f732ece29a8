"""The public API: differentiate, grad, value_and_grad, jvp, jacobian, source. Thin: argument
handling and wrapping on top of `pipeline.derive`.

Example:
    >>> @differentiate(wrt=("x", "a"))
    ... def f(x, a):
    ...     return math.sin(x) * a
    >>> f.grad(0.5, 2.0)          # (2 cos 0.5, sin 0.5)
"""

import functools
import inspect
import numbers

import numpy as np

from .frontend import unwrap
from . import compose
from .pipeline import derive


def _wrt_names(fn, wrt):
    """(parameter names, single) for a `wrt` given as a position, a name, or a tuple of them."""
    params = list(inspect.signature(fn).parameters)
    single = not isinstance(wrt, (tuple, list))
    items = (wrt,) if single else tuple(wrt)
    if not items:
        raise ValueError(f"wrt is empty; name at least one parameter of {fn.__qualname__}: {', '.join(params)}")
    names = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise TypeError(f"wrt must be a parameter position or name (or a tuple of them), not {item!r}")
        if isinstance(item, int):
            if not -len(params) <= item < len(params):
                raise ValueError(f"wrt={item} is out of range: {fn.__qualname__} has {len(params)} parameters "
                                 f"({', '.join(params)})")
            item = params[item]
        elif item not in params:
            raise ValueError(f"wrt names {item!r}, which is not a parameter of {fn.__qualname__}; "
                             f"its parameters are: {', '.join(params)}")
        names.append(item)
    return tuple(names), single


class _Gradient:
    """The compiled value-and-gradient of one function for one `wrt`; checks and shapes results."""

    def __init__(self, fn, wrt, mode="reverse"):
        self.fn = unwrap(fn)
        self.mode = mode
        self.names, self.single = _wrt_names(self.fn, wrt)
        self.signature = inspect.signature(self.fn)
        self.positional = [p.name for p in self.signature.parameters.values()
                           if p.kind is p.POSITIONAL_OR_KEYWORD]
        self._generic = None
        self._variants = {}

    @property
    def derived(self):
        """The generic generated code (what `source` and `s2sgrad show` print)."""
        if self._generic is None or not self._generic.is_current():
            self._generic = derive(self.fn, self.names, mode=self.mode)
        return self._generic

    def specialised(self, arguments):
        """The generated code for arguments of these kinds: scalars need no unbroadcasting (like JAX
        specialising on shapes, but only on scalar-or-array)."""
        kinds = tuple([(n, "scalar" if _is_scalar(v) else "unknown") for n, v in arguments.items()])
        derived = self._variants.get(kinds)
        if derived is None or not derived.is_current():
            derived = self._variants[kinds] = derive(self.fn, self.names, kinds, mode=self.mode)
        return derived

    def arguments(self, args, kwargs):
        """Parameter name -> argument value, defaults included (a fast path for positional calls)."""
        if not kwargs and len(args) == len(self.positional):
            return dict(zip(self.positional, args))
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return bound.arguments

    def __call__(self, *args, **kwargs):
        arguments = self.arguments(args, kwargs)
        inputs = [arguments[n] for n in self.names]
        for n, x in zip(self.names, inputs):
            _check_differentiable(self.fn, n, x)
        if compose.derivative_of(self.fn) is not None:           # grad(grad(f)): differentiate its code
            value, grads = compose.grad_of_derivative(self, args, kwargs)
            grads = grads[0] if len(self.names) == 1 else grads
        else:
            value, grads = self.specialised(arguments).function(*args, **kwargs)
        if isinstance(value, tuple):
            raise ValueError(
                f"grad needs a scalar output, but {self.fn.__qualname__} returned a tuple of {len(value)} "
                f"values; use vjp with a tuple of {len(value)} cotangents")
        if (value.ndim if isinstance(value, np.ndarray) else np.ndim(value)) != 0:
            raise ValueError(
                f"grad needs a scalar output, but {self.fn.__qualname__} returned a value of shape "
                f"{np.shape(value)}; for a non-scalar output use a vector-Jacobian product (vjp) with a "
                f"cotangent of shape {np.shape(value)}")
        if len(self.names) == 1:
            grads = (grads,)
        grads = tuple(_like(g, x) for g, x in zip(grads, inputs))
        return value, (grads[0] if self.single else grads)


_PREPARED = {}


def _prepared(kind, fn, wrt):
    """The `kind` object (_Vjp, _Jvp, _Hvp) of fn for wrt, made once: calling vjp(f, ...) in a loop
    should not inspect f's signature every time."""
    key = (kind, fn, wrt if not isinstance(wrt, list) else tuple(wrt))
    try:
        prepared = _PREPARED.get(key)
    except TypeError:                     # an unhashable callable: nothing to reuse
        return kind(fn, wrt)
    if prepared is None:
        prepared = _PREPARED[key] = kind(fn, wrt)
    return prepared


def _is_scalar(x):
    return isinstance(x, (int, float, np.generic)) or (isinstance(x, np.ndarray) and x.ndim == 0)


def _check_differentiable(fn, name, x):
    if type(x) is float:
        return
    if isinstance(x, bool) or isinstance(x, np.bool_):
        raise TypeError(f"cannot differentiate {fn.__qualname__} with respect to {name!r}: it is a bool")
    if isinstance(x, (complex, np.complexfloating)) or (isinstance(x, np.ndarray) and np.iscomplexobj(x)):
        raise TypeError(f"cannot differentiate with respect to {name!r}: complex inputs are not supported yet")
    if isinstance(x, (np.ndarray, np.generic)) and x.dtype.kind != "f":
        raise TypeError(f"cannot differentiate with respect to {name!r}: an array of dtype {x.dtype} is not "
                        "differentiable; pass a floating-point array (x.astype(float))")


def _like(g, x):
    """The gradient `g` given the type, shape and dtype of its argument `x`."""
    if type(x) is float:
        return float(g)
    if isinstance(x, np.ndarray):
        if type(g) is np.ndarray and g.shape == x.shape and g.dtype == x.dtype and g.flags.writeable:
            return g
        g = np.asarray(g)
        if g.shape != x.shape:
            g = np.broadcast_to(g, x.shape)
        if g.dtype != x.dtype or not g.flags.writeable:
            g = g.astype(x.dtype)
        return g
    if isinstance(x, np.generic):
        return x.dtype.type(g)
    if isinstance(x, numbers.Real):
        return float(g)
    return g


def value_and_grad(fn, wrt=0):
    """A function returning (fn(*args), gradient) — the gradient a tuple when `wrt` is a tuple.

    Example:
        >>> value_and_grad(lambda_free_fn, wrt=(0, 1))(0.5, 0.9)   # (value, (dx, da))
    """
    gradient = _Gradient(fn, wrt)

    def value_and_grad_fn(*args, **kwargs):
        return gradient(*args, **kwargs)

    return _derivative(value_and_grad_fn, gradient, "value_and_grad")


def grad(fn, wrt=0):
    """A function returning the gradient of `fn` (a scalar-valued function) at its arguments.

    Example:
        >>> grad(f)(0.5)                 # df/dx at 0.5
        >>> grad(f, wrt=("x", "a"))(0.5, 0.9)
    """
    gradient = _Gradient(fn, wrt)

    def grad_fn(*args, **kwargs):
        return gradient(*args, **kwargs)[1]

    return _derivative(grad_fn, gradient, "grad")


def _derivative(wrapper, gradient, kind):
    """Name and document `wrapper` like the user's function, and mark it as a derivative: never unwrapped
    back to that function (differentiating it again must see the derivative, not the original)."""
    functools.update_wrapper(wrapper, gradient.fn)
    del wrapper.__wrapped__
    wrapper.__signature__ = gradient.signature
    wrapper.__s2sgrad_derivative__ = (kind, gradient)
    return wrapper


MODES = ("reverse", "forward", "vjp", "hvp")


def source(fn, wrt=0, mode="reverse"):
    """The generated code of the derivative of `fn` (what `s2sgrad show` prints): the gradient
    (mode="reverse"), the Jacobian-vector product ("forward"), the forward sweep and pullback of
    `vjp` ("vjp"), or the Hessian-vector product ("hvp": the gradient of the jvp, then the jvp).

    Example:
        >>> print(source(f, wrt=("x", "a")))
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, MODES))}, not {mode!r}")
    if mode == "hvp":
        code = _Gradient(fn, wrt, "forward")
        forward, reverse = compose.hvp_code(code.fn, code.names, None)
        return reverse.full_text + "\n\n" + forward.full_text
    return _Gradient(fn, wrt, mode).derived.full_text


class _Jvp:
    """The compiled forward-mode code of one function for one `wrt`; checks and shapes tangents."""

    def __init__(self, fn, wrt):
        self.code = _Gradient(fn, wrt, mode="forward")

    def __call__(self, args, tangents):
        code = self.code
        args = tuple(args)
        if code.single:
            tangents = (tangents,)
        elif not isinstance(tangents, (tuple, list)) or len(tangents) != len(code.names):
            raise ValueError(f"jvp with respect to {code.names} needs a tuple of {len(code.names)} tangents")
        arguments = code.arguments(args, {})
        inputs = [arguments[n] for n in code.names]
        for n, x, dx in zip(code.names, inputs, tangents):
            _check_differentiable(code.fn, n, x)
            if np.shape(dx) != np.shape(x):
                raise ValueError(f"the tangent of {n!r} has shape {np.shape(dx)}, but {n!r} has shape {np.shape(x)}")
        derived = code.specialised(arguments)
        keywords = {kw: _like(dx, x) for kw, dx, x in zip(derived.tangents, tangents, inputs)}
        value, tangent = derived.function(*args, **keywords)
        return value, _tangent_like(tangent, value)


def _tangent_like(tangent, value):
    """The tangent shaped like the value: a tuple for a tuple (as returned), float for a float, a float
    tangent of its shape for an integer output."""
    if isinstance(value, tuple):
        return tuple(_tangent_like(t, v) for t, v in zip(tangent, value))
    if np.asarray(value).dtype.kind != "f":
        return _like(tangent, np.zeros(np.shape(value)) if np.ndim(value) else 0.0)
    return _like(tangent, value)


class _Vjp:
    """The compiled forward sweep and pullback of one function for one `wrt`."""

    def __init__(self, fn, wrt):
        self.code = _Gradient(fn, wrt, mode="vjp")

    def __call__(self, args, kwargs):
        code = self.code
        arguments = code.arguments(args, kwargs)
        inputs = [arguments[n] for n in code.names]
        for n, x in zip(code.names, inputs):
            _check_differentiable(code.fn, n, x)
        derived = code.specialised(arguments)
        value, saved = derived.function(*args, **kwargs)
        state = {"saved": saved, "fresh": True}
        outputs = value if isinstance(value, tuple) else (value,)

        def pullback(cotangent):
            cotangents = cotangent if isinstance(value, tuple) else (cotangent,)
            if isinstance(value, tuple) and (not isinstance(cotangent, tuple) or len(cotangent) != len(value)):
                raise ValueError(f"{code.fn.__qualname__} returns a tuple of {len(value)} values: pass a tuple "
                                 f"of {len(value)} cotangents")
            for k, (ct, out) in enumerate(zip(cotangents, outputs)):
                if np.shape(ct) != np.shape(out):
                    where = f" {k}" if isinstance(value, tuple) else ""
                    raise ValueError(f"the cotangent{where} has shape {np.shape(ct)}, but the output{where} of "
                                     f"{code.fn.__qualname__} has shape {np.shape(out)}")
            if not state["fresh"] and derived.restores:      # the last pullback put arrays back: redo
                state["saved"] = derived.function(*args, **kwargs)[1]
            state["fresh"] = False
            grads = derived.pullback(state["saved"], *cotangents)
            grads = (grads,) if len(code.names) == 1 else grads
            grads = tuple(_like(g, x) for g, x in zip(grads, inputs))
            return grads[0] if code.single else grads

        return value, pullback


def vjp(fn, *args, wrt=0, **kwargs):
    """(fn(*args), pullback): `pullback(cotangent)` gives the vector-Jacobian product, the gradients
    (single or a tuple, as `wrt`) of <cotangent, fn> at args. The forward sweep runs once, here; each
    pullback call runs only the reverse sweep, and may be called again with other cotangents.

    Example:
        >>> y, pullback = vjp(lambda_free_fn, np.ones(3))
        >>> pullback(np.ones(3))            # like y.backward(torch.ones(3)) in PyTorch
    """
    return _prepared(_Vjp, fn, wrt)(args, kwargs)


def jvp(fn, args, tangents, wrt=0):
    """(fn(*args), the derivative of fn at args in the direction `tangents`), by forward mode.

    `args` is the tuple of all positional arguments; `tangents` has one tangent per `wrt`
    parameter (a bare tangent for a single `wrt`), each of its argument's shape.

    Example:
        >>> jvp(f, (0.5, 0.9), (1.0, 0.0), wrt=(0, 1))    # (f(0.5, 0.9), df/dx)
    """
    return _prepared(_Jvp, fn, wrt)(args, tangents)


class _Hvp:
    """Hessian-vector products of one scalar function for one `wrt`: reverse mode over its forward-mode
    code (see compose.py), so the Hessian is never formed."""

    def __init__(self, fn, wrt):
        self.code = _Gradient(fn, wrt, mode="forward")

    def __call__(self, args, vectors):
        code = self.code
        if code.single:
            vectors = (vectors,)
        elif not isinstance(vectors, (tuple, list)) or len(vectors) != len(code.names):
            raise ValueError(f"hvp with respect to {code.names} needs a tuple of {len(code.names)} vectors")
        arguments = code.arguments(tuple(args), {})
        inputs = [arguments[n] for n in code.names]
        for n, x, v in zip(code.names, inputs, vectors):
            _check_differentiable(code.fn, n, x)
            if np.shape(v) != np.shape(x):
                raise ValueError(f"the vector for {n!r} has shape {np.shape(v)}, but {n!r} has shape {np.shape(x)}")
        forward, reverse = compose.hvp_code(code.fn, code.names, compose.kinds_of(arguments))
        keywords = {t: _like(v, x) for t, v, x in zip(forward.tangents, vectors, inputs)}
        (value, _), grads = reverse.function(*args, **keywords)
        if np.ndim(value) != 0:
            raise ValueError(f"hvp and hessian need a scalar output, but {code.fn.__qualname__} returned a "
                             f"value of shape {np.shape(value)}; use jacobian of the jvp instead")
        grads = (grads,) if len(code.names) == 1 else grads
        grads = tuple(_like(g, x) for g, x in zip(grads, inputs))
        return grads[0] if code.single else grads


def hvp(fn, args, v, wrt=0):
    """The Hessian of the scalar function `fn` at `args` times `v`, without forming the Hessian: the
    gradient of the jvp in direction v (generated reverse-mode code over generated forward-mode code).
    `v` has the shape of the `wrt` argument (a tuple of vectors for a tuple `wrt`).

    Example:
        >>> hvp(f, (x,), v)            # H(x) @ v for a vector x
    """
    return _prepared(_Hvp, fn, wrt)(args, v)


def hessian(fn, wrt=0):
    """A function returning the Hessian of the scalar function `fn`: an array of shape
    `arg.shape + arg.shape`, or for a tuple `wrt` a tuple of rows of blocks `H[i][j]` of shape
    `arg_i.shape + arg_j.shape` (as JAX's hessian). Built from one Hessian-vector product per entry.

    Example:
        >>> hessian(f)(np.ones(3))       # a 3x3 symmetric array
    """
    products = _Hvp(fn, wrt)

    def hessian_fn(*args):
        code = products.code
        arguments = code.arguments(args, {})
        inputs = [arguments[n] for n in code.names]
        zeros = [np.zeros(np.shape(x), np.result_type(x, float)) if np.ndim(x) else _like(0.0, x) for x in inputs]
        blocks = [[[] for _ in inputs] for _ in inputs]
        for j, x in enumerate(inputs):
            for e in _basis(x):
                vectors = zeros[:j] + [e] + zeros[j + 1:]
                column = products(args, vectors[0] if code.single else tuple(vectors))
                column = (column,) if code.single else column
                for i, c in enumerate(column):
                    blocks[i][j].append(np.asarray(c))
        def block(i, j):
            xi, xj = inputs[i], inputs[j]
            h = np.stack(blocks[i][j], axis=-1).reshape(np.shape(xi) + np.shape(xj)).astype(_float_type(xi, xj))
            return _like(h, xi) if np.ndim(xi) == 0 and np.ndim(xj) == 0 else h    # float in, float out
        rows = tuple(tuple(block(i, j) for j in range(len(inputs))) for i in range(len(inputs)))
        return rows[0][0] if code.single else rows

    return functools.wraps(products.code.fn)(hessian_fn)


def jacobian(fn, wrt=0, mode="auto"):
    """A function returning the Jacobian of `fn` at its arguments: an array of shape
    `out.shape + arg.shape` (a tuple of them for a tuple `wrt`).

    mode "forward" runs the forward-mode code once per input entry, "reverse" the reverse-mode
    code once per output entry, "auto" whichever runs fewer times.

    Example:
        >>> jacobian(f)(np.ones(3))          # shape out.shape + (3,)
    """
    if mode not in ("auto", "forward", "reverse"):
        raise ValueError(f"mode must be 'auto', 'forward' or 'reverse', not {mode!r}")
    forward, reverse = _Jvp(fn, wrt), _Gradient(fn, wrt)

    @functools.wraps(reverse.fn)
    def jacobian_fn(*args):
        arguments = reverse.arguments(args, {})
        inputs = [arguments[n] for n in reverse.names]
        chosen = mode
        if mode == "auto":
            chosen = "forward" if sum(np.size(x) for x in inputs) < np.size(reverse.fn(*args)) else "reverse"
        if chosen == "forward":
            jacobians = _forward_jacobian(forward, args, inputs)
        else:
            jacobians = _reverse_jacobian(reverse, args, arguments, inputs)
        return jacobians[0] if reverse.single else tuple(jacobians)

    return jacobian_fn


def _basis(x):
    """The unit tangents of an argument, in C order, each of its shape and dtype."""
    if np.ndim(x) == 0:
        yield _like(1.0, x)
        return
    for i in range(np.size(x)):
        e = np.zeros(np.shape(x), np.result_type(x, float))
        e.flat[i] = 1.0
        yield e


def _forward_jacobian(forward, args, inputs):
    zeros = [_like(0.0, x) if np.ndim(x) == 0 else np.zeros(np.shape(x), np.result_type(x, float)) for x in inputs]
    out = []
    for k, x in enumerate(inputs):
        columns = []
        for e in _basis(x):
            tangents = zeros[:k] + [e] + zeros[k + 1:]
            value, column = forward(args, tangents[0] if forward.code.single else tuple(tangents))
            columns.append(np.asarray(column))
        jac = np.stack(columns, axis=-1).reshape(np.shape(value) + np.shape(x))
        out.append(jac.astype(_float_type(value, x)))
    return out


def _reverse_jacobian(reverse, args, arguments, inputs):
    """One forward sweep, then one pullback per output entry (the rows of the Jacobian)."""
    value, pullback = _Vjp(reverse.fn, reverse.names if not reverse.single else reverse.names[0])(args, {})
    rows = [[] for _ in inputs]
    for seed in _basis(value):
        grads = pullback(seed)
        grads = (grads,) if reverse.single else grads
        for row, g in zip(rows, grads):
            row.append(np.asarray(g))
    return [np.stack(row).reshape(np.shape(value) + np.shape(x)).astype(_float_type(value, x))
            for row, x in zip(rows, inputs)]


def _float_type(value, x):
    """The dtype of a Jacobian: that of its output and input (float32 stays float32), at least float."""
    return np.promote_types(np.result_type(np.asarray(value), np.asarray(x)), np.float16)


class Differentiable:
    """What `@differentiate` returns: calls the original function, and has its derivative.

    Example:
        >>> f(0.5, 0.9); f.grad(0.5, 0.9); f.value_and_grad(0.5, 0.9); print(f.source); f.adjoint
    """

    def __init__(self, fn, wrt=0):
        self.__s2sgrad_fn__ = fn
        self.wrt = wrt
        self._gradient = _Gradient(fn, wrt)
        self._jvp = None
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        return self.__s2sgrad_fn__(*args, **kwargs)

    def grad(self, *args, **kwargs):
        """The gradient with respect to `wrt` at these arguments."""
        return self._gradient(*args, **kwargs)[1]

    def value_and_grad(self, *args, **kwargs):
        """(value, gradient) at these arguments, from one run of the generated code."""
        return self._gradient(*args, **kwargs)

    def vjp(self, *args, **kwargs):
        """(value, pullback) at these arguments: see `s2sgrad.vjp`."""
        return _Vjp(self.__s2sgrad_fn__, self.wrt)(args, kwargs)

    def jvp(self, args, tangents):
        """(value, derivative in the direction `tangents`) at the positional `args`, by forward mode."""
        if self._jvp is None:
            self._jvp = _Jvp(self.__s2sgrad_fn__, self.wrt)
        return self._jvp(args, tangents)

    @property
    def source(self):
        """The generated code (the adjoint and the helpers it calls), as text."""
        return self._gradient.derived.full_text

    @property
    def adjoint(self):
        """The compiled generated function: adjoint(*args) returns (value, gradients)."""
        return self._gradient.derived.function

    def __repr__(self):
        return f"<s2sgrad.differentiate {self.__s2sgrad_fn__.__qualname__} wrt={self.wrt!r}>"


def differentiate(fn=None, *, wrt=0):
    """Decorator: `@differentiate` or `@differentiate(wrt=("x", "a"))`.

    Example:
        >>> @differentiate(wrt=("x", "a"))
        ... def f(x, a, n=1000): ...
        >>> f.grad(0.5, 0.9)
    """
    if fn is None:
        return lambda f: Differentiable(f, wrt)
    return Differentiable(fn, wrt)
