"""Shapes known at compile time: what the generated code is specialised on, and what follows from it.

A call's array arguments are described by their shapes up to renaming of sizes (see `shape_kinds`): a
size of 1 stays 1 (broadcasting reads it), every other size becomes a symbol, the same symbol for equal
sizes across all the arguments. `(32, 128)`, `(128, 128)` and `(50, 32, 64)` are `n0,n1`, `n1,n1` and
`n2,n0,n3`. Code built for that key is right for every call with the same pattern of equal sizes, so a
training loop whose last batch is smaller, or a sweep over batch sizes, reuses one specialisation (a new
one is built only when two sizes start or stop being equal, or a size becomes 1). A dtype other than
float64 is part of the key (`n0,n1@float32`): code accumulating in place is built for float64 only.

`infer(core, assigns, kinds)` then gives every name the function assigns a shape when it is the same at
every assignment (names are not versioned): a tuple of dimensions, each 1, a symbol, a literal size or
None (unknown), or None for the whole shape when even the number of dimensions is unknown. Only
operations whose result shape NumPy fixes are followed (elementwise arithmetic and ufuncs, `@`,
reductions with constant axes, transposes, integer indexing, zeros/ones/full of known sizes).

Example:
    >>> shape_kinds({"W": np.ones((3, 3)), "x": np.ones((5, 3)), "b": np.ones(1)})
    {'W': 'shape:n0,n0', 'x': 'shape:n1,n0', 'b': 'shape:1'}
    >>> broadcast(("n0", "n1"), (1, "n1"))
    ('n0', 'n1')
"""

import builtins

import gast
import numpy

PREFIX = "shape:"


def shape_kinds(arguments):
    """Parameter name -> `shape:...` kind for each array argument of at least one dimension (others are
    left out); symbols are numbered by first appearance, so equal patterns give equal keys."""
    sizes, out = {}, {}
    for n, v in arguments.items():
        if type(v) is numpy.ndarray and v.ndim:
            dims = []
            for size in v.shape:
                if size == 1:
                    dims.append("1")
                else:
                    symbol = sizes.get(size)
                    if symbol is None:
                        symbol = sizes[size] = f"n{len(sizes)}"
                    dims.append(symbol)
            out[n] = PREFIX + ",".join(dims) + ("" if v.dtype == numpy.float64 else f"@{v.dtype.name}")
    return out


def all_float64(kinds):
    """Whether `kinds` (a derive key) says every argument is a number or a float64 array of known shape:
    then every adjoint the code makes is float64 (or a number), and adding into one in place rounds
    nothing a new array would keep (float32 += float64 would round to float32)."""
    return kinds is not None and all(k == "scalar" or isinstance(k, str) and k.startswith(PREFIX) and "@" not in k
                                     for _, k in kinds)


def of_kind(kind):
    """The shape a kind gives a parameter: () for a scalar, a tuple for `shape:...`, (None,) * k for
    `ndim:k`, else None."""
    if kind == "scalar":
        return ()
    if not isinstance(kind, str):
        return None
    if kind.startswith(PREFIX):
        return tuple(1 if d == "1" else d for d in kind[len(PREFIX):].partition("@")[0].split(","))
    if kind.startswith("ndim:"):
        return (None,) * int(kind[5:])
    return None


def ndim_of(kind):
    """The number of dimensions a kind gives a parameter, else None."""
    shape = of_kind(kind)
    return None if shape is None else len(shape)


def known(shape):
    """Whether every dimension of a shape is known."""
    return shape is not None and all(d is not None for d in shape)


def broadcast(*shapes):
    """The shape NumPy broadcasting gives operands of these shapes (None where it cannot be told)."""
    if any(s is None for s in shapes):
        return None
    n = max(len(s) for s in shapes) if shapes else 0
    out = []
    for k in range(1, n + 1):
        dims = {s[-k] for s in shapes if len(s) >= k} - {1}
        if not dims:
            out.append(1)
        elif len(dims) == 1:
            out.append(next(iter(dims)))
        else:
            named = dims - {None}
            out.append(next(iter(named)) if len(named) == 1 else None)   # an unknown one is 1 or that one
    return tuple(reversed(out))


def matmul(a, b):
    """The shape of a @ b."""
    if a is None or b is None or not a or not b:
        return None
    if len(a) == 1 and len(b) == 1:
        return ()
    if len(b) == 1:
        return a[:-1]
    if len(a) == 1:
        return b[:-2] + b[-1:]
    batch = broadcast(a[:-2], b[:-2])
    return None if batch is None else batch + (a[-2], b[-1])


def reduced(shape, axis, keepdims):
    """The shape of a reduction of an array of `shape` over `axis` (None, an int or a tuple of ints)."""
    if shape is None:
        return None
    if axis is None:
        return (1,) * len(shape) if keepdims else ()
    axes = axis if isinstance(axis, tuple) else (axis,)
    if not all(type(a) is int and -len(shape) <= a < len(shape) for a in axes):
        return None
    axes = {a % len(shape) for a in axes}
    return tuple(1 if k in axes else d for k, d in enumerate(shape) if keepdims or k not in axes)


ELEMENTWISE_CALLS = {numpy.where, numpy.clip}
LIKE = {numpy.zeros_like, numpy.ones_like, numpy.full_like, numpy.empty_like, numpy.copy}
FILLED = {numpy.zeros, numpy.ones, numpy.empty, numpy.full}
REDUCTIONS = {numpy.sum, numpy.mean, numpy.prod, numpy.max, numpy.min, numpy.amax, numpy.amin, numpy.var,
              numpy.std}


class _Inference:
    def __init__(self, core, kinds):
        self.core = core
        self.kinds = kinds
        self.shapes = {}           # name -> shape; absent: not assigned yet (optimistic start)
        self.dims = {}             # name -> the dimension a scalar holds (n = x.shape[0])
        self.shape_tuples = {}     # name -> the shape a name holds as a tuple (s = np.shape(x))

    def resolve(self, node):
        try:
            return self.core.source.resolve(node)
        except Exception:          # an unresolvable callee: its result's shape is unknown
            return None

    def name_shape(self, n):
        return self.shapes.get(n)

    def atom(self, node):
        if isinstance(node, gast.Constant):
            return () if isinstance(node.value, (int, float, bool)) and not isinstance(node.value, complex) else None
        if isinstance(node, gast.UnaryOp) and isinstance(node.operand, gast.Constant):
            return self.atom(node.operand)
        if isinstance(node, gast.Name):
            return self.shapes.get(node.id)
        if isinstance(node, gast.Attribute):
            obj = self.resolve(node)
            return () if isinstance(obj, (int, float)) and not isinstance(obj, bool) else None
        return None

    def dim(self, node):
        """The dimension an integer expression stands for (`x.shape[0]`, `len(x)`, `n`, 5), else None."""
        if isinstance(node, gast.Constant) and type(node.value) is int:
            return 1 if node.value == 1 else node.value
        if isinstance(node, gast.Name):
            return self.dims.get(node.id)
        if isinstance(node, gast.Subscript) and isinstance(node.slice, gast.Constant) \
                and type(node.slice.value) is int:
            shape = self.shape_expr(node.value)
            k = node.slice.value
            if shape is not None and -len(shape) <= k < len(shape):
                return shape[k]
        if isinstance(node, gast.Call) and len(node.args) == 1 and not node.keywords \
                and self.resolve(node.func) is builtins.len:
            shape = self.atom(node.args[0])
            if shape:
                return shape[0]
        return None

    def shape_expr(self, node):
        """The shape tuple an expression holds (`x.shape`, `np.shape(x)`, `s` for s = np.shape(x))."""
        if isinstance(node, gast.Attribute) and node.attr == "shape" and isinstance(node.value, gast.Name):
            return self.name_shape(node.value.id)
        if isinstance(node, gast.Name):
            return self.shape_tuples.get(node.id)
        if isinstance(node, gast.Call) and len(node.args) == 1 and not node.keywords \
                and self.resolve(node.func) is numpy.shape and isinstance(node.args[0], gast.Name):
            return self.name_shape(node.args[0].id)
        return None

    def size_arg(self, node):
        """The shape a size argument of np.zeros(...) gives."""
        if isinstance(node, gast.Tuple):
            dims = tuple(self.dim(e) for e in node.elts)
            return dims
        shape = self.shape_expr(node)
        if shape is not None:
            return shape
        return (self.dim(node),)

    def value(self, node):
        if isinstance(node, (gast.Constant, gast.Name, gast.Attribute)):
            return self.atom(node)
        if isinstance(node, gast.UnaryOp):
            return self.value(node.operand) if not isinstance(node.op, gast.Not) else None
        if isinstance(node, gast.BinOp):
            left, right = self.value(node.left), self.value(node.right)
            if isinstance(node.op, gast.MatMult):
                return matmul(left, right)
            return broadcast(left, right)
        if isinstance(node, gast.Compare) and len(node.comparators) == 1:
            return broadcast(self.value(node.left), self.value(node.comparators[0]))
        if isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name):
            return self.index(self.name_shape(node.value.id), node.slice)
        if isinstance(node, gast.Call):
            return self.call(node)
        return None

    def index(self, shape, index):
        if shape is None:
            return None
        parts = index.elts if isinstance(index, gast.Tuple) else [index]
        if len(parts) > len(shape):
            return None
        out = []
        for k, part in enumerate(parts):
            if isinstance(part, gast.Slice) and part.lower is None and part.upper is None and part.step is None:
                out.append(shape[k])
            elif self.integer(part):
                continue
            else:
                return None
        return tuple(out) + tuple(shape[len(parts):])

    def integer(self, part):
        if isinstance(part, gast.Constant):
            return type(part.value) is int
        if isinstance(part, gast.UnaryOp) and isinstance(part.op, gast.USub) and isinstance(part.operand, gast.Constant):
            return type(part.operand.value) is int
        return isinstance(part, gast.Name) and part.id in self.integers

    def call(self, node):
        obj = self.resolve(node.func)
        args, keywords = node.args, {k.arg: k.value for k in node.keywords}
        if any(isinstance(a, gast.Starred) for a in args) or None in keywords:
            return None
        if getattr(obj, "__module__", None) == "math" and not keywords:
            return ()
        if obj in (builtins.float, builtins.int, builtins.len) and not keywords:
            return ()
        if isinstance(obj, numpy.ufunc):
            if keywords or len(args) != obj.nin:
                return None
            return broadcast(*[self.value(a) for a in args])
        if _is(obj, ELEMENTWISE_CALLS) and not keywords:
            return broadcast(*[self.value(a) for a in args])
        if _is(obj, LIKE) and len(args) >= 1 and set(keywords) <= {"dtype", "fill_value"}:
            return self.value(args[0])
        if _is(obj, FILLED) and len(args) >= 1 and set(keywords) <= {"dtype", "fill_value"}:
            return self.size_arg(args[0])
        if obj is numpy.transpose and len(args) == 1 and not keywords:
            shape = self.value(args[0])
            return None if shape is None else tuple(reversed(shape))
        if _is(obj, REDUCTIONS) and len(args) == 1 and set(keywords) <= {"axis", "keepdims"}:
            axis = _constant(keywords.get("axis"))
            keep = _constant(keywords.get("keepdims", gast.Constant(value=False, kind=None)))
            if axis is _UNSET or keep is _UNSET or keep not in (True, False):
                return None
            return reduced(self.value(args[0]), axis, bool(keep))
        from . import runtime
        if obj is runtime.in_place and len(args) == 2:
            new, old = self.value(args[0]), self.value(args[1])
            return old if old is not None and new is not None and broadcast(new, old) == old else None
        return None

    def run(self, assigns, loops):
        """Shapes of the names `assigns` bind, to a fixed point: each name's shape is joined over its
        assignments in program order (a loop's body reads what the assignments before it gave), and only
        ever goes from unset to a shape to None, so the iteration ends; at the end every assignment gives
        its name's shape from the final shapes of what it reads."""
        targets = {}
        for s in assigns:
            targets.setdefault(s.targets[0].id, []).append(s)
        ranges = {t for t, ss in targets.items() if all(self.is_range(s.value) for s in ss)}
        self.integers = {loop.target.id for loop in loops
                         if (self.is_range(loop.iter) or isinstance(loop.iter, gast.Name) and loop.iter.id in ranges)
                         and loop.target.id not in targets}
        changed = True
        while changed:           # names holding integers (indices): int constants and int arithmetic
            changed = False
            for t, ss in targets.items():
                if t not in self.integers and t not in self.params and all(self.int_value(s.value) for s in ss):
                    self.integers.add(t)
                    changed = True
        for t, ss in targets.items():
            if len(ss) == 1 and t not in self.params:
                shape = self.shape_expr(ss[0].value)
                if shape is not None:
                    self.shape_tuples[t] = shape
                self.dims[t] = self.dim(ss[0].value)
        for p in self.params:
            self.shapes[p] = of_kind(self.kinds.get(p))
        for loop in loops:
            self.shapes[loop.target.id] = ()
        changed = True
        while changed:
            changed = False
            for s in assigns:
                t = s.targets[0].id
                new = self.value(s.value)
                if t not in self.shapes:
                    self.shapes[t] = new
                    changed = True
                elif self.shapes[t] is not None and self.shapes[t] != new:
                    self.shapes[t] = None
                    changed = True
        return self.shapes

    def is_range(self, node):
        return isinstance(node, gast.Call) and self.resolve(node.func) is builtins.range

    def int_value(self, node):
        if isinstance(node, gast.Constant):
            return type(node.value) is int
        if isinstance(node, gast.BinOp) and isinstance(node.op, (gast.Add, gast.Sub, gast.Mult)):
            return all(isinstance(a, gast.Name) and a.id in self.integers or self.int_value(a)
                       for a in (node.left, node.right))
        return False


_ABSENT = object()
_UNSET = object()


def _join(shapes):
    first = shapes[0] if shapes else None
    return first if all(s == first for s in shapes) else None


def _constant(node):
    if node is None:
        return None
    if isinstance(node, gast.Constant):
        return node.value
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub) and isinstance(node.operand, gast.Constant) \
            and type(node.operand.value) is int:
        return -node.operand.value
    if isinstance(node, gast.Tuple):
        values = tuple(_constant(e) for e in node.elts)
        return _UNSET if any(v is _UNSET or type(v) is not int for v in values) else values
    return _UNSET


def _is(obj, table):
    try:
        return obj in table
    except TypeError:
        return False


def infer(core, assigns, kinds, loops):
    """Name -> shape (a `Shapes`) for the parameters and the names `assigns` (core assignments) bind,
    given the parameters' kinds and the function's `for` loops; see the module docstring."""
    inference = _Inference(core, kinds)
    inference.params = set(core.params)
    shapes = inference.run([s for s in assigns if isinstance(s.targets[0], gast.Name)], list(loops))
    return Shapes(shapes, inference.integers)


class Shapes(dict):
    """Name -> shape (see `infer`), and `integers`: the names that only ever hold integers (indices)."""

    def __init__(self, shapes=(), integers=()):
        super().__init__(shapes)
        self.integers = set(integers)

    def part(self, x, index):
        """The shape of `x[index]` for a name x, else None."""
        inference = _Inference(None, {})
        inference.shapes, inference.integers = self, self.integers
        return inference.index(self.get(x), index)


def unbroadcast_axes(shape, full):
    """How to sum an adjoint of shape `full` down to `shape` when both are known: (leading axes to sum
    away, axes of size 1 to sum keeping them), or None when it cannot be told."""
    if not known(shape) or not known(full) or len(shape) > len(full):
        return None
    lead = len(full) - len(shape)
    keep = []
    for k, d in enumerate(shape):
        f = full[lead + k]
        if d == f:
            continue
        if d == 1:
            keep.append(k)
        else:
            return None
    return tuple(range(lead)), tuple(keep)

