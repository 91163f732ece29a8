"""Desugar: the surface statements the core has no place for, rewritten into plain assignments.

After this pass: no AugAssign, AnnAssign, chained or tuple assignment; every Assign is `name = expr`
(or `y[i] = expr`); `for row in X` is an index loop over `range(len(X))`; `w = w` is gone.

Example:
    >>> Desugar(source, namer).block(source.node.body)
"""

import gast

from .. import runtime
from ..errors import UnsupportedSyntaxError
from ..syntax import assign, assigned_names, clone, const, located, name


class Desugar:
    """After this pass: no AugAssign, AnnAssign, chained or tuple assignment; every Assign is `name = expr`."""

    def __init__(self, source, namer):
        self.source = source
        self.namer = namer

    def bind(self, preferred, obj):
        """A name meaning `obj` in the function's namespace (the user's own spelling if it has one)."""
        for key, value in self.source.namespace.items():
            if value is obj and key not in self.source.locals:
                return key
        key = self.namer.fresh(preferred)
        self.source.namespace[key] = obj
        return key

    def block(self, stmts):
        out = []
        for stmt in stmts:
            out.extend(self.stmt(stmt))
        return out

    def stmt(self, s):
        if isinstance(s, gast.AugAssign) and isinstance(s.target, gast.Subscript):
            read = gast.Subscript(value=clone(s.target.value), slice=clone(s.target.slice), ctx=gast.Load())
            value = located(gast.BinOp(left=located(read, s.target), op=s.op, right=s.value), s.value)
            return [assign(s.target, value, like=s)]
        if isinstance(s, gast.AugAssign):
            value = located(gast.BinOp(left=name(s.target.id), op=s.op, right=s.value), s.value)
            # An array keeps its dtype through `op=` (NumPy works in place): `w = in_place(w * v, w)`;
            # analysis makes it `w = w * v` where w is known to be a scalar.
            value = located(gast.Call(func=name(self.bind("in_place", runtime.in_place)),
                                      args=[value, name(s.target.id)], keywords=[]), s.value)
            value.s2s_self_ok = True
            stmt = assign(s.target.id, value, like=s)
            stmt.s2s_augmented = True      # in place on arrays: analysis checks that rebinding is exact
            return [stmt]
        if isinstance(s, gast.AnnAssign):
            return [assign(s.target.id, s.value, like=s)] if s.value is not None else []
        if isinstance(s, gast.Assign):
            if isinstance(s.targets[0], gast.Tuple):
                return self.unpack(s)
            first, *others = s.targets
            if isinstance(first, gast.Subscript) or any(isinstance(t, gast.Subscript) for t in others):
                if others:
                    raise UnsupportedSyntaxError(
                        "chained assignments to an indexed array are not supported; assign each "
                        "target in its own statement", self.source.location(s))
                return [s]
            if not others and isinstance(s.value, gast.Name) and s.value.id == first.id:
                return []                   # `w = w` changes nothing (and would make w look shared)
            out = [assign(first.id, s.value, like=s)]
            out += [assign(t.id, name(first.id), like=s) for t in others]
            return out
        if isinstance(s, (gast.If, gast.While, gast.For)):
            s.body = self.block(s.body)
            s.orelse = self.block(s.orelse)
        if isinstance(s, gast.For) and not _is_range(s.iter):
            return self.index_loop(s)
        return [s]

    def index_loop(self, s):
        """`for row in X:` iterates the first axis: `for i in range(len(X)): row = X[i]` (over a copy of
        the name when the body rebinds it, as Python iterates the original object)."""
        row = s.target.id
        pre, seq = [], s.iter
        if not isinstance(seq, gast.Name) or seq.id in assigned_names(s.body) or seq.id == row:
            seq_name = self.namer.fresh(f"{row}_source")
            pre.append(assign(seq_name, seq, like=s))
            seq = name(seq_name)
        index = self.namer.fresh(f"{row}_index")
        length = gast.Call(func=name("len"), args=[name(seq.id)], keywords=[])
        s.iter = located(gast.Call(func=name("range"), args=[length], keywords=[]), s.iter)
        s.target = name(index, store=True)
        item = gast.Subscript(value=name(seq.id), slice=name(index), ctx=gast.Load())
        s.body.insert(0, assign(row, item, like=s))
        return pre + [s]

    def unpack(self, s):
        """`a, b = x, y` assigns left to right after evaluating the right side: copy what a target clobbers.
        `a, b = h(x)` keeps h's tuple whole (`h_x = h(x)`, marked `s2s_tuple`) and takes its items."""
        targets = [t.id for t in s.targets[0].elts]
        if isinstance(s.value, gast.Call):
            func = s.value.func
            whole = self.namer.fresh(f"{getattr(func, 'id', None) or getattr(func, 'attr', 'call')}_result")
            first = assign(whole, s.value, like=s)
            first.s2s_tuple = len(targets)
            items = [assign(t, gast.Subscript(value=name(whole), slice=const(k), ctx=gast.Load()), like=s)
                     for k, t in enumerate(targets)]
            return [first] + items
        values = list(s.value.elts)
        out, renamed = [], {}
        for i, value in enumerate(values):
            clobbered = [n for n in _names(value) if n in targets[:i]]
            for n in clobbered:
                if n not in renamed:
                    renamed[n] = self.namer.fresh(f"{n}_old")
        for n, old in renamed.items():
            out.append(assign(old, name(n), like=s))
        for target, value in zip(targets, values):
            out.append(assign(target, _rename(value, renamed), like=s))
        return out


def _is_range(node):
    return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and node.func.id == "range"


def _names(node):
    return [n.id for n in gast.walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)]


def _rename(node, mapping):
    for sub in gast.walk(node):
        if isinstance(sub, gast.Name) and sub.id in mapping:
            sub.id = mapping[sub.id]
    return node
