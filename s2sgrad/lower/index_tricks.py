"""Index tricks: `np.r_[a, b]` and `np.c_[a, b]` of values as calls (`r_([a, b])`, `c_([a, b])`).

NumPy computes them by indexing an object with a tuple, which carries no derivative; as a call of
s2sgrad's `runtime.r_` / `runtime.c_` (which index np.r_ / np.c_ themselves, so the values are exactly
NumPy's) they get the adjoint of a concatenation. An index holding a slice (`np.r_[0:3]`) or a string
directive (`np.r_['0,2', a]`) stays as written, and is refused where it carries a derivative.

Example:
    >>> body = IndexTricks(source, namer).block(body)    # np.r_[x, 2 * x] -> r_([x, 2 * x])
"""

import gast
import numpy

from .. import runtime
from ..syntax import located, name

TRICKS = {id(numpy.r_): ("r_", runtime.r_), id(numpy.c_): ("c_", runtime.c_)}


class IndexTricks(gast.NodeTransformer):
    """Rewrites np.r_[...] and np.c_[...] of values in a function's statements (see the module docstring)."""

    def __init__(self, source, namer):
        self.source, self.namer = source, namer

    def block(self, body):
        return [self.visit(stmt) for stmt in body]

    def visit_Subscript(self, node):
        self.generic_visit(node)
        if not isinstance(node.value, (gast.Name, gast.Attribute)) or not isinstance(node.ctx, gast.Load):
            return node
        trick = TRICKS.get(id(self.source.resolve(node.value)))
        items = node.slice.elts if isinstance(node.slice, gast.Tuple) else [node.slice]
        if trick is None or any(isinstance(i, gast.Slice) or isinstance(i, gast.Constant) and isinstance(i.value, str)
                                or isinstance(i, gast.Starred) for i in items):
            return node
        label, fn = trick
        callee = name(self.namer.bind(self.source, label, fn))
        call = gast.Call(func=callee, args=[gast.List(elts=items, ctx=gast.Load())], keywords=[])
        return located(call, node)
