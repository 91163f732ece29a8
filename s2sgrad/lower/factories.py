"""Factories: a closure made inside the differentiated function by a function of the user's, then called.

`g = make(a)`, where `make` ends with `return inner` (a function it defines) or `return lambda ...`,
holds a closure whose cells are make's variables; calling it runs inner's body on its arguments and
those cells. So `make` is split into two functions of its own (made once per factory):

- `make_cells(a)`: make's body without the definition, returning the cells inner reads, as a tuple;
- `inner(x, *, a)`: inner's body, the cells keyword-only parameters (as lower/lift.py lifts a nested def).

`g = make(a)` becomes `g_cells = make_cells(a)` and its items (`g_a = g_cells[0]`), and each call `g(x)`
becomes `inner(x, a=g_a)`. Both are helpers of the user's, differentiated in split mode like any other,
so a derivative flows through the cells (an active `a`) as through any argument. `make(a)(x)` is
`g = make(a)` then `g(x)`. A closure used other than by calling it (passed on, stored, returned) is left
as it is, which the analysis refuses at that use.

Example:
    >>> body = Factories(source, namer).block(body)     # `g = make(a); y = g(x)`: make split in two
"""

import copy
import inspect

import gast

from ..frontend import is_library, parse, unwrap
from ..syntax import assign, const, located, name, walk
from .lift import Lift, _as_def, _free, _own_names


class Factories:
    """Rewrites the closures a function's factories make (see the module docstring)."""

    def __init__(self, source, namer):
        self.source, self.namer = source, namer

    def block(self, body):
        body = self.hoist(body)
        stores, loads, calls = {}, {}, {}
        for stmt in body:
            _count(stmt, stores, loads, calls)
        made = {}                       # name -> (cells function, inner function, cells) of its factory
        for stmt in _statements(body):
            target = stmt.targets[0].id if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and \
                isinstance(stmt.targets[0], gast.Name) else None
            if target is None or not isinstance(stmt.value, gast.Call) or stores.get(target) != 1 \
                    or loads.get(target, 0) != calls.get(target, 0):
                continue
            split = self.factory(stmt.value.func)
            if split is not None:
                made[target] = (stmt, split, {c: self.namer.fresh(f"{target}_{c}") for c in split[2]})
        if not made:
            return body
        return self.rewrite(body, made)

    def hoist(self, body):
        """`make(a)(x)` -> `make_a = make(a)` before the statement, `make_a(x)` in it (not in a while test,
        which runs again each iteration)."""
        out = []
        for stmt in body:
            for field in ("body", "orelse"):
                if getattr(stmt, field, None):
                    setattr(stmt, field, self.hoist(getattr(stmt, field)))
            scope = [stmt] if not isinstance(stmt, (gast.For, gast.While, gast.If)) else \
                [stmt.iter] if isinstance(stmt, gast.For) else [stmt.test] if isinstance(stmt, gast.If) else []
            for part in scope:
                for node in _inner_first(part):      # make(make(a)(x))(y): the inner closure made first
                    if isinstance(node, gast.Call) and isinstance(node.func, gast.Call) \
                            and self.factory(node.func.func) is not None:
                        fresh = self.namer.fresh(f"{_callee_name(node.func.func)}_fn")
                        made = located(assign(fresh, node.func, like=stmt), stmt)
                        _copy_tags(made, stmt)
                        out.append(made)
                        node.func = located(name(fresh), node.func)
            out.extend(self.unpacked(stmt))
        return out

    def unpacked(self, stmt):
        """`f, g = make(a), make(b)` as one assignment each, when no value reads a name assigned."""
        if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Tuple)
                and isinstance(stmt.value, gast.Tuple) and len(stmt.targets[0].elts) == len(stmt.value.elts)
                and all(isinstance(t, gast.Name) for t in stmt.targets[0].elts)
                and any(isinstance(v, gast.Call) and self.factory(v.func) is not None for v in stmt.value.elts)):
            return [stmt]
        targets = {t.id for t in stmt.targets[0].elts}
        if len(targets) < len(stmt.targets[0].elts) or any(
                isinstance(n, gast.Name) and n.id in targets for v in stmt.value.elts for n in walk(v)):
            return [stmt]
        out = []
        for t, v in zip(stmt.targets[0].elts, stmt.value.elts):
            one = located(assign(t.id, v, like=stmt), stmt)
            _copy_tags(one, stmt)
            out.append(one)
        return out

    def factory(self, func):
        """(cells function, inner function, cell names) for a callee that is a factory of the user's, else
        None (the function is split once: the pair is kept on it)."""
        if not isinstance(func, (gast.Name, gast.Attribute)):
            return None
        fn = unwrap(self.source.resolve(func))
        if not inspect.isfunction(fn) or is_library(fn):
            return None
        cache = _SPLITS.setdefault(fn, {})
        if "split" not in cache:
            cache["split"] = None
            try:
                cache["split"] = _split(fn)
            except Exception:                # not a factory s2sgrad can split: its call stays as it is
                cache["split"] = None
        return cache["split"]

    def rewrite(self, body, made):
        out = []
        for stmt in body:
            for field in ("body", "orelse"):
                if getattr(stmt, field, None):
                    setattr(stmt, field, self.rewrite(getattr(stmt, field), made))
            for node in walk(stmt):
                if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and node.func.id in made:
                    g = node.func.id
                    _, (_, inner_fn, cells), cell_vars = made[g]
                    callee = self.namer.bind(self.source, inner_fn.__name__, inner_fn)
                    node.func = located(name(callee), node.func)
                    node.keywords = node.keywords + [gast.keyword(arg=c, value=name(cell_vars[c])) for c in cells]
            g = next((t for t, (s, _, _) in made.items() if s is stmt), None)
            if g is None:
                out.append(stmt)
                continue
            (cells_fn, _, cells), cell_vars = made[g][1:]
            whole = self.namer.fresh(f"{g}_cells")
            callee = self.namer.bind(self.source, cells_fn.__name__, cells_fn)
            call = located(gast.Call(func=name(callee), args=stmt.value.args, keywords=stmt.value.keywords),
                           stmt.value)
            new = [assign(whole, call, like=stmt)]
            new += [assign(cell_vars[c], gast.Subscript(value=name(whole), slice=const(k), ctx=gast.Load()),
                           like=stmt) for k, c in enumerate(cells)]
            for s in new:
                _copy_tags(located(s, stmt), stmt)
            self.source.locals = frozenset(set(self.source.locals) | {whole} | set(cell_vars.values()))
            out.extend(new)
        return out



_SPLITS = {}


def _split(fn):
    """(make_cells, inner, cells) for a factory `fn`, else None: its last statement returns a function it
    defines (or a lambda), which is its only return and its only nested function, used nowhere else."""
    source = parse(fn)
    body = [s for s in source.node.body if not (isinstance(s, gast.Expr) and isinstance(s.value, gast.Constant))]
    if not body or not isinstance(body[-1], gast.Return) or body[-1].value is None:
        return None
    returned = body[-1].value
    rest = body[:-1]
    if isinstance(returned, gast.Lambda):
        inner = _as_def(located(assign("fn", returned), returned))
        inner.name = f"{fn.__name__}_fn"
    elif isinstance(returned, gast.Name):
        defs = [s for s in rest if _as_def(s) is not None and _as_def(s).name == returned.id]
        if len(defs) != 1:
            return None
        inner = _as_def(defs[0])
        rest = [s for s in rest if s is not defs[0]]
    else:
        return None
    for s in rest:
        for node in walk(s):
            if isinstance(node, (gast.Return, gast.FunctionDef, gast.Lambda, gast.Yield, gast.YieldFrom)) or \
                    isinstance(node, gast.Name) and node.id == inner.name:
                return None
    own = {a.id for a in source.node.args.args + source.node.args.kwonlyargs} | \
        {n.id for s in rest for n in walk(s) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
    if any(isinstance(n, gast.Name) and n.id == inner.name for s in inner.body for n in walk(s)):
        return None                     # inner calls itself through make's cell
    cells = sorted(_free(inner) & own - _own_names(inner))
    cells_def = gast.FunctionDef(name=f"{fn.__name__}_cells", args=copy.deepcopy(source.node.args),
                                 body=rest + [located(gast.Return(value=gast.Tuple(
                                     elts=[name(c) for c in cells], ctx=gast.Load())), body[-1])],
                                 decorator_list=[], returns=None, type_comment=None, type_params=[])
    cells_def = gast.copy_location(cells_def, source.node)
    cells_def.args.defaults, cells_def.args.kw_defaults = [], [None] * len(cells_def.args.kwonlyargs)
    lift = Lift(source)
    cells_fn = lift.make(cells_def, [])
    cells_fn.__defaults__, cells_fn.__kwdefaults__ = fn.__defaults__, fn.__kwdefaults__
    inner_fn = lift.make(inner, cells)
    return cells_fn, inner_fn, cells


def _inner_first(node):
    """The nodes under `node`, each after those it holds (a call's arguments before the call)."""
    for child in gast.iter_child_nodes(node):
        yield from _inner_first(child)
    yield node


def _statements(stmts):
    for s in stmts:
        yield s
        for field in ("body", "orelse"):
            yield from _statements(getattr(s, field, None) or [])


def _count(stmt, stores, loads, calls):
    for node in walk(stmt):
        if isinstance(node, gast.Name):
            table = stores if isinstance(node.ctx, gast.Store) else loads
            table[node.id] = table.get(node.id, 0) + 1
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Name):
            calls[node.func.id] = calls.get(node.func.id, 0) + 1


def _callee_name(func):
    return func.id if isinstance(func, gast.Name) else func.attr


def _copy_tags(new, like):
    for node in walk(new):
        if isinstance(node, gast.stmt):
            for tag in ("s2s_line", "s2s_origin"):
                if hasattr(like, tag):
                    setattr(node, tag, getattr(like, tag))
