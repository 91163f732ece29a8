"""Desugar: the surface statements the core has no place for, rewritten into plain assignments.

After this pass: no AugAssign, AnnAssign, chained or tuple assignment; every Assign is `name = expr`
(or `y[i] = expr`); `for row in X` is an index loop over `range(len(X))`; `w = w` is gone.

Example:
    >>> Desugar(source, namer).block(source.node.body)
"""

import builtins

import gast

from .. import runtime
from ..errors import UnsupportedSyntaxError
from ..syntax import assign, assigned_names, clone, const, located, name, walk

_OPERATORS = {"Add": "+", "Sub": "-", "Mult": "*", "Div": "/", "FloorDiv": "//", "Mod": "%", "Pow": "**",
              "MatMult": "@", "BitAnd": "&", "BitOr": "|", "BitXor": "^", "LShift": "<<", "RShift": ">>"}


class Desugar:
    """After this pass: no AugAssign, AnnAssign, chained or tuple assignment; every Assign is `name = expr`."""

    def __init__(self, source, namer):
        self.source = source
        self.namer = namer
        self.built = set()          # the lists comprehensions are built into

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
        hoisted = self.comprehensions(s)
        if hoisted is not None:
            return hoisted
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
            # In place on arrays: analysis checks that rebinding is exact, and its refusal spells the
            # rebinding with the operator written ('x = x * ...' for 'x *= 2').
            stmt.s2s_augmented = _OPERATORS.get(type(s.op).__name__, "+")
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
            if not others and self.list_method(s.value) == "pop":      # `a = hs.pop(i)`: read, then shorten
                xs, index = s.value.func.value, (s.value.args or [const(-1)])[0]
                read = gast.Subscript(value=name(xs.id), slice=clone(index), ctx=gast.Load())
                return [assign(first.id, located(read, s.value), like=s)] + self.list_update(s, s.value)
            out = [assign(first.id, s.value, like=s)]
            out += [assign(t.id, name(first.id), like=s) for t in others]
            return out
        if isinstance(s, gast.Expr) and self.list_method(s.value):
            return self.list_update(s, s.value)
        if isinstance(s, (gast.If, gast.While, gast.For)):
            s.body = self.block(s.body)
            s.orelse = self.block(s.orelse)
        if isinstance(s, gast.For) and not _is_range(s.iter):
            return self.container_loop(s)
        return [s]

    # -- comprehensions ----------------------------------------------------------------------------
    def comprehensions(self, s):
        """`t = [f(x) for x in xs if c]` -> `t = []; for x in xs: if c: t.append(f(x))`, and a comprehension
        or generator expression inside any expression (`sum(np.sum(W ** 2) for W, b in params)`) built
        into a list of its own first; a dict comprehension fills a dict. Its variables are renamed where
        the function uses the same names elsewhere (a comprehension has a scope of its own). None when `s`
        holds no comprehension."""
        fields = {gast.Assign: "value", gast.AugAssign: "value", gast.AnnAssign: "value", gast.Expr: "value",
                  gast.Return: "value", gast.If: "test", gast.For: "iter", gast.While: "test"}
        field_name = fields.get(type(s))
        expr = getattr(s, field_name, None) if field_name else None
        if expr is None or not any(isinstance(n, COMPREHENSIONS) for n in walk(expr)):
            return None
        if isinstance(s, gast.While):
            found = next(n for n in walk(expr) if isinstance(n, COMPREHENSIONS))
            raise UnsupportedSyntaxError("comprehensions in a 'while' condition are not supported; compute the "
                                         "condition into a variable before the loop and again at the end of its body",
                                         self.source.location(found))
        target = s.targets[0].id if isinstance(s, gast.Assign) and len(s.targets) == 1 and \
            isinstance(s.targets[0], gast.Name) else None
        pre = []
        if target is not None and isinstance(expr, (gast.ListComp, gast.DictComp)) and \
                target not in _names(expr) and target not in _store_names_in(expr):
            return self.block(self.build(expr, target, s))          # built into the target itself
        setattr(s, field_name, _Hoist(self, s, pre).visit(expr))
        return self.block(pre) + self.stmt(s)

    def build(self, comp, into, like):
        """Statements building comprehension `comp` into the list (or dict) `into`."""
        comp = self.scoped(comp)
        self.built.add(into)
        self.source.locals = frozenset(self.source.locals | {into})     # a local the later stages may index into
        if isinstance(comp, gast.DictComp):
            item = gast.Assign(targets=[gast.Subscript(value=name(into), slice=comp.key, ctx=gast.Store())],
                               value=comp.value, type_comment=None)
            empty = gast.Dict(keys=[], values=[])
        else:
            item = gast.Expr(value=gast.Call(func=gast.Attribute(value=name(into), attr="append", ctx=gast.Load()),
                                             args=[comp.elt], keywords=[]))
            empty = gast.List(elts=[], ctx=gast.Load())
        body = [located(item, like)]
        for gen in reversed(comp.generators):
            if gen.is_async:
                raise UnsupportedSyntaxError("async comprehensions are not supported; use a plain 'for'",
                                             self.source.location(comp))
            for cond in reversed(gen.ifs):
                body = [located(gast.If(test=cond, body=body, orelse=[]), like)]
            body = [located(gast.For(target=gen.target, iter=gen.iter, body=body, orelse=[], type_comment=None),
                            like)]
        out = [assign(into, empty, like=like)] + body
        for stmt in out:
            for node in walk(stmt):
                if isinstance(node, gast.stmt):
                    node.s2s_line = getattr(like, "s2s_line", None)
                    if hasattr(like, "s2s_origin"):
                        node.s2s_origin = like.s2s_origin
        return out

    def scoped(self, comp):
        """`comp` with its variables renamed where the function uses the same names outside it (the first
        iterable is evaluated outside the comprehension's scope, so it keeps its names)."""
        inside = {id(n) for n in walk(comp)} - {id(n) for n in walk(comp.generators[0].iter)}
        outside = {n.id for n in walk(self.source.node) if isinstance(n, gast.Name) and id(n) not in inside}
        renamed = {}
        for gen in comp.generators:
            for v in sorted(_store_names(gen.target)):
                if v in outside or v in renamed:
                    renamed[v] = self.namer.fresh(v)
        if not renamed:
            return comp
        for node in walk(comp):
            if isinstance(node, gast.Name) and node.id in renamed and id(node) in inside:
                node.id = renamed[node.id]
        return comp

    def list_method(self, value):
        """The method, for `hs.append(x)`, `hs.insert(i, x)`, `hs.pop()`, `hs.pop(i)` or `hs.extend(ys)` on
        a local name (arrays have none of these methods: hs is a list); else None."""
        if not (isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute)
                and isinstance(value.func.value, gast.Name) and not value.keywords):
            return None
        method, n = value.func.attr, len(value.args)
        arity = {"append": (1,), "insert": (2,), "pop": (0, 1), "extend": (1,)}.get(method, ())
        if n not in arity or value.func.value.id not in self.source.locals | self.built:
            return None
        return method

    def list_update(self, s, call):
        """`hs.append(x)` -> `hs = append(hs, x)` (marked `s2s_list_update`): in the core every statement
        assigns; the transforms print it as the method call again and reverse it by popping. `hs.extend(ys)`
        is a loop of appends."""
        method, xs = call.func.attr, call.func.value.id
        if method == "extend":
            item = self.namer.fresh("item")
            body = [located(gast.Expr(value=gast.Call(func=gast.Attribute(value=name(xs), attr="append",
                                                                          ctx=gast.Load()),
                                                      args=[name(item)], keywords=[])), s)]
            loop = located(gast.For(target=name(item, store=True), iter=call.args[0], body=body, orelse=[],
                                    type_comment=None), s)
            loop.s2s_line = getattr(s, "s2s_line", None)
            body[0].s2s_line = loop.s2s_line
            return self.stmt(loop)
        fn = {"append": runtime.append, "insert": runtime.insert, "pop": runtime.pop}[method]
        value = located(gast.Call(func=name(self.bind(method, fn)), args=[name(xs)] + list(call.args),
                                  keywords=[]), call)
        value.s2s_self_ok = True                # reads its own target: the list it changes
        stmt = assign(xs, value, like=s)
        stmt.s2s_list_update = method
        return [stmt]

    def container_loop(self, s):
        """`for W, b in params`, `for i, x in enumerate(xs)`, `for a, b in zip(xs, ys)`, `for k, v in
        d.items()`, `for x in reversed(xs)`: a loop over indices whose body first takes the items."""
        it, target = s.iter, s.target
        builtin = isinstance(it, gast.Call) and isinstance(it.func, gast.Name) and \
            it.func.id in ("enumerate", "zip", "reversed") and \
            self.source.resolve(it.func) is getattr(builtins, it.func.id)
        fn = it.func.id if builtin else None
        method = it.func.attr if isinstance(it, gast.Call) and isinstance(it.func, gast.Attribute) \
            and it.func.attr in ("items", "values", "keys") and not it.args else None
        if fn == "enumerate" and isinstance(target, gast.Tuple) and len(target.elts) == 2 and len(it.args) in (1, 2):
            index, item = target.elts
            start = it.args[1] if len(it.args) == 2 else None
            return self.indexed_loop(s, [it.args[0]], [item], index=index, start=start)
        if fn == "zip" and it.args and not it.keywords and isinstance(target, gast.Tuple) \
                and len(target.elts) == len(it.args):
            return self.indexed_loop(s, list(it.args), list(target.elts))
        if fn == "reversed" and len(it.args) == 1:
            return self.indexed_loop(s, [it.args[0]], [target], backwards=True)
        if fn in ("enumerate", "zip"):
            raise UnsupportedSyntaxError(
                f"this loop over {fn}(...) is not supported: unpack its items into as many names as it yields "
                f"('for i, x in enumerate(xs):', 'for a, b in zip(xs, ys):')", self.source.location(it))
        if method is not None:                              # over a dict: its keys, then d[key]
            keys = gast.Call(func=name(self.bind("keys_of", runtime.keys_of)), args=[it.func.value], keywords=[])
            if method == "items" and isinstance(target, gast.Tuple) and len(target.elts) == 2:
                return self.indexed_loop(s, [keys], [target.elts[0]], by_key=(it.func.value, target.elts[1]))
            if method == "values":
                return self.indexed_loop(s, [keys], [], by_key=(it.func.value, target))
            return self.indexed_loop(s, [keys], [target])
        return self.indexed_loop(s, [it], [target])

    def indexed_loop(self, s, sequences, targets, index=None, start=None, backwards=False, by_key=None):
        """`for k in range(n): t0 = seq0[k]; ...` over the shortest sequence, the items unpacked as any
        assignment is; each sequence is evaluated once (into a name of its own when the body rebinds it)."""
        pre, seqs = [], []
        rebound = assigned_names(s.body) | {n for t in targets for n in _store_names(t)}
        for seq in sequences:
            if not isinstance(seq, gast.Name) or seq.id in rebound:
                seq_name = self.namer.fresh(f"{_label(targets)}_source")
                pre.append(assign(seq_name, seq, like=s))
                seq = name(seq_name)
            seqs.append(seq.id)
        k = self.namer.fresh(f"{_label(targets)}_index")
        lengths = [gast.Call(func=name("len"), args=[name(q)], keywords=[]) for q in seqs]
        n = lengths[0] if len(lengths) == 1 else gast.Call(func=name("min"), args=lengths, keywords=[])
        bounds = [n] if not backwards else [gast.BinOp(left=n, op=gast.Sub(), right=const(1)), const(-1), const(-1)]
        s.iter = located(gast.Call(func=name("range"), args=bounds, keywords=[]), s.iter)
        s.target = name(k, store=True)
        head = []
        if index is not None:
            value = name(k) if start is None else gast.BinOp(left=name(k), op=gast.Add(), right=start)
            head += self.stmt(assign(index, value, like=s))
        for seq, target in zip(seqs, targets):
            item = gast.Subscript(value=name(seq), slice=name(k), ctx=gast.Load())
            head += self.stmt(located(gast.Assign(targets=[target], value=item, type_comment=None), s))
        if by_key is not None:
            mapping, value_target = by_key
            key = targets[0] if targets else None
            key_value = name(key.id) if isinstance(key, gast.Name) else gast.Subscript(
                value=name(seqs[0]), slice=name(k), ctx=gast.Load())
            read = gast.Subscript(value=mapping, slice=key_value, ctx=gast.Load())
            head += self.stmt(located(gast.Assign(targets=[value_target], value=read, type_comment=None), s))
        for stmt in head:
            stmt.s2s_line = getattr(s, "s2s_line", None)
        s.body = head + s.body
        return pre + [s]

    def unpack(self, s):
        """`a, b = x, y` assigns left to right after evaluating the right side: copy what a target clobbers.
        `a, b = h(x)` keeps h's tuple whole (`h_x = h(x)`, marked `s2s_tuple`) and takes its items; any
        other value (`n, d = X.shape`, `W, b = params[0]`, `a, *rest = xs`, nested targets) is kept in a
        name and its items taken by index."""
        pattern = s.targets[0]
        flat = all(isinstance(t, gast.Name) for t in pattern.elts)
        if not flat or (not isinstance(s.value, (gast.Call, gast.Tuple)) or
                        isinstance(s.value, gast.Tuple) and len(s.value.elts) != len(pattern.elts)):
            return self.unpack_value(s)
        targets = [t.id for t in pattern.elts]
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


    def unpack_value(self, s):
        pattern, value = s.targets[0], s.value
        if isinstance(value, gast.Name) and value.id not in _store_names(pattern):
            whole, out = value.id, []
        else:
            whole = self.namer.fresh(f"{_label(pattern.elts)}_pair" if len(pattern.elts) == 2 else "items")
            out = [assign(whole, value, like=s)]
        stars = [k for k, t in enumerate(pattern.elts) if isinstance(t, gast.Starred)]
        if len(stars) > 1:
            raise UnsupportedSyntaxError("more than one starred target", self.source.location(s))
        n = len(pattern.elts)
        for k, target in enumerate(pattern.elts):
            if isinstance(target, gast.Starred):        # a, *rest, z = xs: rest = xs[1:-1]
                upper = None if k == n - 1 else const(k + 1 - n)
                index = gast.Slice(lower=const(k) if k else None, upper=upper, step=None)
                target = target.value
            else:
                index = const(k if not stars or k < stars[0] else k - n)
            item = gast.Subscript(value=name(whole), slice=index, ctx=gast.Load())
            out += self.stmt(located(gast.Assign(targets=[target], value=item, type_comment=None), s))
        return out


COMPREHENSIONS = (gast.ListComp, gast.GeneratorExp, gast.DictComp)


class _Hoist(gast.NodeTransformer):
    """Replaces each outermost comprehension of an expression by the name of a list built before the
    statement (into `pre`). A generator expression must be a call's argument: consumed there at once, a list
    computes the same; anywhere else (kept, iterated twice) it is refused."""

    def __init__(self, desugar, stmt, pre):
        self.desugar, self.stmt, self.pre = desugar, stmt, pre

    def hoisted(self, node):
        into = self.desugar.namer.fresh("entries" if isinstance(node, gast.DictComp) else "items")
        self.pre.extend(self.desugar.build(node, into, self.stmt))
        return located(name(into), node)

    def visit_Call(self, node):
        node.func = self.visit(node.func)
        node.args = [self.hoisted(a) if isinstance(a, gast.GeneratorExp) else self.visit(a) for a in node.args]
        for k in node.keywords:
            k.value = self.visit(k.value)
        return node

    def visit_ListComp(self, node):
        return self.hoisted(node)

    visit_DictComp = visit_ListComp

    def visit_GeneratorExp(self, node):
        raise UnsupportedSyntaxError("generator expressions other than a call's argument ('sum(x * x for x in xs)') "
                                     "are not supported; write a list comprehension [...]",
                                     self.desugar.source.location(node))

    def visit_Lambda(self, node):
        return node


def _store_names_in(node):
    return {n.id for n in walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}


def _store_names(target):
    return {n.id for n in walk(target) if isinstance(n, gast.Name)}


def _label(targets):
    """A name for a loop's index or source from its targets: `W_b_index` for `for W, b in params`."""
    names = [n for t in targets for n in sorted(_store_names(t))][:2]
    return "_".join(names) or "item"


def _is_range(node):
    return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and node.func.id == "range"


def _names(node):
    return [n.id for n in walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)]


def _rename(node, mapping):
    for sub in walk(node):
        if isinstance(sub, gast.Name) and sub.id in mapping:
            sub.id = mapping[sub.id]
    return node
