"""Lowering: rewrite the checked surface language into the small core the transforms read.

The core (what every later stage may assume):
- every assignment has one Name target and a right-hand side that is either an atom
  (Name or Constant), one operation on atoms (BinOp, UnaryOp, or a Call whose
  arguments are atoms), or an *opaque* expression that carries no derivative
  (a comparison, `int(...)`, ...), marked `node.s2s_opaque = True`;
- no assignment reads its own target;
- `break` appears only as the last statement of a loop body, as `if flag: break`;
  there is no `continue`, and no `return` but the last statement of the function,
  which returns an atom;
- `for` loops iterate over `range(...)`; every statement carries `s2s_line`, the
  text of the user's line it came from.

Example:
    >>> core = lower(check(parse(f)))
    >>> core.body, core.result      # lowered statements, returned atom
"""

import copy
from dataclasses import dataclass

import gast

from ..syntax import Namer, assign, leaves, located, map_leaves, name, walk
from .anf import ANF, BINOPS, UNARYOPS
from .desugar import Desugar
from .factories import Factories
from .index_tricks import IndexTricks
from .jumps import Jumps, nesting
from .lift import Lift

__all__ = ["lower", "Core", "nesting", "BINOPS", "UNARYOPS"]


@dataclass
class Core:
    """A lowered function: parameters, core statements, the returned atom, and the names in use."""

    source: object
    body: list
    result: gast.expr
    namer: Namer

    @property
    def params(self):
        return self.source.params


def lower(source):
    """Lower a checked `frontend.Source` into a `Core`."""
    taken = set(source.locals) | set(source.namespace)
    namer = Namer(taken)
    for stmt in source.node.body:
        _tag(stmt, lambda node: source.line_text(node), source.origin)
    body = [stmt for stmt in source.node.body if not _is_docstring(stmt)]
    body = Lift(source).block(body)
    namer.taken.update(source.namespace)          # the lifted functions' names mean them: never temporaries
    body = Factories(source, namer).block(body)
    body = IndexTricks(source, namer).block(body)
    desugar = Desugar(source, namer)
    body = desugar.block(body)
    body = _private_copies(source, body, desugar.bind) + body
    last = body[-1] if body else None
    body, result = Jumps(source, namer).function(body)
    anf = ANF(source, namer)
    body = anf.block(body)
    pre = []
    if isinstance(result, gast.Tuple):          # `return a, (b, c)`: one atom per returned value
        counter = iter(range(len(leaves(result))))

        def atomize(leaf):
            p, at = anf.atom(leaf, base=f"out_{next(counter)}")
            pre.extend(p)
            return at
        result = map_leaves(result, atomize)
    else:
        pre, result = anf.atom(result, base="out")
    for stmt in pre:
        _tag(stmt, lambda node: getattr(last, "s2s_line", None), lambda node: getattr(last, "s2s_origin", None))
    body += pre
    return Core(source, body, result, namer)


def _private_copies(source, body, bind):
    """`x = copy(x)` first for each parameter the function writes into by index (`x[0] = a * b`) or appends
    to (`xs.append(v)`): the derivative works on a copy (of the array, or of the list or dict, not its
    items), so it never changes the caller's (calling f itself still does)."""
    written = []
    for node in (n for s in body for n in walk(s)):
        base = None
        if isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Subscript):
            base = node.targets[0].value
        elif isinstance(node, gast.Assign) and getattr(node, "s2s_list_update", None):
            base = node.targets[0]
        if isinstance(base, gast.Name) and base.id in source.params and base.id not in [w for w, _ in written]:
            written.append((base.id, node))
    out = []
    for param, write in written:
        copy_call = gast.Call(func=name(bind("copy", copy.copy)), args=[name(param)], keywords=[])
        stmt = assign(param, located(copy_call, write), like=write)
        stmt.s2s_line = f"{param} = copy({param})  (the derivative writes into a copy of the caller's {param})"
        out.append(stmt)
    return out


def _is_docstring(stmt):
    return isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant) and isinstance(stmt.value.value, str)


def _tag(stmt, line_of, origin_of):
    """Record the user's source line on every statement, for comments and error messages, and where it is
    (file, line, column), for errors about the code generated from it."""
    for node in walk(stmt):
        if isinstance(node, gast.stmt):
            node.s2s_line = line_of(node)
            origin = origin_of(node)
            if origin is not None:
                node.s2s_origin = origin
