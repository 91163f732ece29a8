"""Reverse mode: turn a lowered function into one generated function that returns its value and gradient.

The generated function has two sweeps:
- forward: the primal statements, plus pushes onto a plain-list stack of what the
  reverse sweep needs and nothing else: values about to be overwritten that the
  reverse reads, branch decisions, loop trip ranges or counts;
- reverse: the statements walked backwards, popping, with each operation's rule
  template inlined.

Adjoints are tracked as *defined* or *zero* while generating: the first write to an
adjoint assigns instead of adding, and an operation whose output adjoint is zero emits
nothing. Loop heads and branch joins are made to agree by materialising `dx = 0.0`
only where one path defines an adjoint and another does not.

Example:
    >>> fn_def, seed = ReverseTransform(core, info, ("x",), ns, derive_helper, "grad_f").transform()
"""

import builtins
import copy as copy_module
import inspect
import linecache
import math

import gast
import numpy

from .runtime import (add_at, add_field, copy_tree, item_or_missing, leaf_of, list_of, put_back, put_item, take_inserted,
                      take_item, tree_add, unbroadcast, written, zeros_of)

from .analysis import (assignments, call_site_kinds, elements, is_setitem, no_rule_error, parameter_defaults,
                       result_form, star_parameter, target_of, template)
from .compose import pullback_of_gradient, pullback_of_jvp
from .custom import retained
from .frontend import display_name
from .rules import adjoint_of
from .syntax import (COMMENT, adopt, assign, assigned_names, call, clone, comment, const, expr_stmt, is_comment, leaves,
                     list_update, located, map_leaves, method_call, name, walk)


class State(set):
    """The adjoints defined at a point of the reverse sweep, and `maybe`: those that may hold None there, a
    zero known only at run time (a branch not taken, a value overwritten on one path, a loop run no times).
    Such a zero is never multiplied by a rule's partials, which may be inf or NaN where the value they
    belong to had no effect: the rule runs under `if dv is not None:`."""

    def __init__(self, defined=(), maybe=()):
        super().__init__(defined)
        self.maybe = set(maybe) & set(self)

    def copy(self):
        return State(self, self.maybe)

    def discard(self, var):
        super().discard(var)
        self.maybe.discard(var)

    def difference_update(self, names):
        names = set(names)
        super().difference_update(names)
        self.maybe -= names

    def become(self, other):
        """Take `other`'s contents (the state after a join)."""
        self.clear()
        self.update(other)
        self.maybe = set(other.maybe)


class ReverseTransform:
    """Builds the adjoint function of one lowered function for one choice of `wrt`."""

    def __init__(self, core, info, wrt, ns, derive_helper, fname):
        self.core = core
        self.info = info
        self.wrt = tuple(wrt)
        self.ns = ns
        self.derive_helper = derive_helper
        self.fname = fname
        self.namer = core.namer
        self.adj = {}
        self.init_none = []
        self.pushed = set()
        self.stack = None
        self.uses_stack = False
        self.loops = 0              # loops around the statement the forward sweep is at
        self.template_locals = set()
        # Variables the function assigns: a rule may later consume their adjoints, so an adjoint of theirs
        # missing on one path is None there, never a zero a partial could turn into NaN (see State).
        self.assigned = {target_of(s) for s in assignments(core.body)}
        # Arrays read or written by index: their adjoints are updated in place (`dx[i] += dy`), so each is
        # always an array of its own (first writes copy, zeros are arrays).
        self.indexed = {target_of(s) for s in assignments(core.body)
                        if is_setitem(s) or info.op(s).kind == "update"} | {
            op.node.value.id for op in info.ops.values()
            if op.kind in ("getitem", "getattr") and isinstance(op.node.value, gast.Name)}
        self.indexed = {v for v in self.indexed if v in info.active and v not in info.tuples}
        # Lists and dicts the reverse sweep pops from or writes into (hs.append(h), d[k] = v): their adjoints
        # must be lists and dicts, whatever a rule gave (np.array(rows) gives an array for rows).
        self.lists = {target_of(s) for s in assignments(core.body) if info.op(s).kind == "update" or
                      is_setitem(s) and target_of(s) in info.containers} & self.indexed
        # One seed (the output's adjoint, a keyword argument) per returned value; named first, so a
        # recursive call site can pass it before this function is finished.
        result = core.result
        self.results = [r for k, r in enumerate(leaves(result)) if info.select is None or k in info.select]
        self.seeds = []                 # (keyword, variable it seeds or None)
        for i, r in enumerate(self.results):
            var = r.id if isinstance(r, gast.Name) else None
            if var is not None and var not in [v for _, v in self.seeds]:
                self.seeds.append((self.d(var), var))
            else:
                self.seeds.append((self.namer.fresh("dout" if len(self.results) == 1 else f"dout_{i}"), var))
        self.seed = self.seeds[0][0]
        self.seed_var = self.seeds[0][1]
        # Elements of whole arrays (analysis.loop_elements): the arrays a rule reads them from, named now
        # (never inside a loop's fixpoint, which takes names back), made before the loop's reverse.
        self.wholes = {}                # repr(what) -> name of the array computed before the loop
        self.hoisted = {}               # id(loop) -> [(name, statement)], in the order needed
        for what, _, _ in info.elements.values():
            if what[0] == "ufunc" and repr(what) not in self.wholes:
                self.wholes[repr(what)] = self.namer.fresh(f"{what[1].__name__}_{_base(what[2])}")

    # -- names ---------------------------------------------------------------
    def d(self, var):
        if var not in self.adj:
            self.adj[var] = self.namer.fresh(f"d{var}")
        return self.adj[var]

    def adjoint_names(self):
        """Names of adjoint variables and of rules' local values (the only ones later passes may remove
        stores to: computing them has no effect but their value)."""
        return set(self.adj.values()) | self.template_locals

    def push(self, value):
        self.uses_stack = True
        return expr_stmt(call(gast.Attribute(value=name(self.stack), attr="append", ctx=gast.Load()), [value]))

    def pop(self):
        return call(gast.Attribute(value=name(self.stack), attr="pop", ctx=gast.Load()))

    # -- the whole function --------------------------------------------------
    def transform(self):
        """The joint function `grad_f(<f's parameters>, *, <seeds>)` returning (value, gradients)."""
        prologue, forward, value, backward, grads = self.sweeps()
        body = prologue + forward + [assign(v, e) for v, e in value.keeps]
        if backward:
            body.append(comment("reverse sweep"))
            body += backward
        if self.info.retain:            # retain=: (gradients, {"h": dh at h's last assignment})
            kept = gast.Dict(keys=[const(v) for v in self.info.retain],
                             values=[name(self.kept[v]) for v in self.info.retain])
            grads = gast.Tuple(elts=[grads, kept], ctx=gast.Load())
        body.append(gast.Return(value=gast.Tuple(elts=[value.node, grads], ctx=gast.Load())))
        src_args = self.core.source.node.args
        seeds = [name(k) for k, _ in self.seeds]
        defaults, kw_defaults = parameter_defaults(self.core, self.ns)
        args = gast.arguments(
            args=[name(a.id) for a in src_args.args], posonlyargs=[], vararg=star_parameter(src_args.vararg),
            kwonlyargs=[name(a.id) for a in src_args.kwonlyargs] + seeds,
            kw_defaults=kw_defaults + [const(1.0)] * len(seeds), kwarg=star_parameter(src_args.kwarg),
            defaults=defaults)
        return _function(self.fname, args, body), self.seed

    def split(self, forward_name, pullback_name):
        """Two functions sharing the saved state, for vjp: `forward_name(<f's parameters>)` runs the
        forward sweep once and returns (value, saved); `pullback_name(saved, <seeds>)` runs only the
        reverse sweep and returns the gradients, as often as it is called."""
        prologue, forward, value, backward, grads = self.sweeps()
        saved = sorted(_loads(backward) - set(self.adj.values()) - {k for k, _ in self.seeds}
                       - set(self.ns.values) - {COMMENT})
        unbound = [v for v in saved if v not in self.must and v not in self.init_none
                   and v not in self.core.params and v != self.stack]
        prologue = prologue + [assign(v, const(None)) for v in unbound]
        state = gast.Tuple(elts=[name(v) for v in saved], ctx=gast.Load())
        fwd_body = prologue + forward + [assign(v, e) for v, e in value.keeps]
        fwd_body.append(gast.Return(value=gast.Tuple(elts=[value.node, state], ctx=gast.Load())))
        src_args = self.core.source.node.args
        defaults, kw_defaults = parameter_defaults(self.core, self.ns)
        fwd_args = gast.arguments(
            args=[name(a.id) for a in src_args.args], posonlyargs=[], vararg=star_parameter(src_args.vararg),
            kwonlyargs=[name(a.id) for a in src_args.kwonlyargs], kw_defaults=kw_defaults,
            kwarg=star_parameter(src_args.kwarg), defaults=defaults)
        saved_name = self.namer.fresh("saved")
        unpack = gast.Tuple(elts=[name(v, store=True) for v in saved], ctx=gast.Store())
        rev_body = [assign(unpack, name(saved_name))] if saved else []
        if self.uses_stack:     # pops empty the stack: each call of the pullback pops a copy
            copy = call(gast.Attribute(value=name(self.stack), attr="copy", ctx=gast.Load()))
            rev_body.append(assign(self.stack, copy))
        rev_body += backward + [gast.Return(value=self.split_grads)]
        rev_args = gast.arguments(args=[name(saved_name)] + [name(k) for k, _ in self.seeds], posonlyargs=[],
                                  vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])
        pullback = _function(pullback_name, rev_args, rev_body)
        pullback.s2s_nullable = self.nullable_seeds()
        return _function(forward_name, fwd_args, fwd_body), pullback

    def nullable_seeds(self):
        """Seeds a caller may pass as None (a zero on its path): those of a function returning several
        values, when the caller uses only some of them."""
        return {k for k, _ in self.seeds} if len(self.seeds) > 1 else set()

    def sweeps(self):
        """(prologue, forward sweep, returned value, reverse sweep, gradients node), built once."""
        if getattr(self, "_sweeps", None) is not None:
            return self._sweeps
        core = self.core
        for p in self.wrt:
            self.d(p)
        self.stack = self.namer.fresh("stack")
        params = core.params
        self.must = set(params)
        forward = self.fwd_block(core.body, set(params), self.must)
        state = State()
        backward = []
        # A caller passes None for a returned value whose adjoint is zero on its path (split helpers
        # returning several values): with several seeds, each may be None.
        several = len(self.seeds) > 1
        for (seed, var) in self.seeds:
            if var is None or var not in self.info.active:
                continue
            if var in self.info.tuples:        # a helper's tuple returned whole: its seed is a tuple too
                for k in self.info.used_items[var]:
                    item = self.items(var)[k]
                    piece = gast.Subscript(value=name(seed), slice=const(k), ctx=gast.Load())
                    backward += self.accumulate(item, piece, state)
                continue
            if var in state:       # returned twice: both seeds flow into it
                backward += self.guarded([], state, lambda inner: self.accumulate(var, name(seed), inner),
                                         [seed] if several else [])
            else:
                state.add(var)
                if several:
                    state.maybe.add(var)
        seeded = [var for _, var in self.seeds if var in self.indexed]
        for var in dict.fromkeys(seeded):       # updated in place: never the caller's cotangent
            own = self.owned(var, name(self.d(var)))
            if var in state.maybe:
                own = _if_none(name(self.d(var)), const(None), own)
            backward.insert(0, assign(self.d(var), own))
        backward += self.retained_start() + self.rev_block(core.body, state) + self.retained_params(state)

        value = _Value(None, [])

        def kept(r):
            var = r.id if isinstance(r, gast.Name) else None
            if var is None or var not in self.pushed | self.info.mutated:
                return clone(r)
            keep = self.namer.fresh(f"{var}_value")
            copy = name(var)
            if var in self.info.mutated:             # a list's items stay: a copy of the list will do
                copy = call(self.np_attr("copy") if var not in self.info.containers else
                            name(self.ns.bind("copy", copy_module.copy)), [name(var)])
            value.keeps.append((keep, copy))       # the reverse sweep changes it (pops, in-place restores)
            return name(keep)
        value.node = map_leaves(self.core.result, kept)
        prologue = []
        if self.uses_stack:
            prologue.append(assign(self.stack, gast.List(elts=[], ctx=gast.Load())))
        prologue += [assign(v, const(None)) for v in self.init_none]
        grads = [self.definite(p, state) if p in state else const(0.0) for p in self.wrt]
        grads_node = grads[0] if len(grads) == 1 else gast.Tuple(elts=grads, ctx=gast.Load())
        # A pullback (split: what a caller's reverse sweep calls) gives None for a zero it knows of, so its
        # caller never multiplies it by a partial; which of its results may be None is known here.
        self.nullable_grads = tuple(p not in state or p in state.maybe for p in self.wrt)
        raw = [name(self.d(p)) if p in state else const(None) for p in self.wrt]
        self.split_grads = raw[0] if len(raw) == 1 else gast.Tuple(elts=raw, ctx=gast.Load())
        self._sweeps = (prologue, forward, value, backward, grads_node)
        return self._sweeps

    # -- forward sweep -------------------------------------------------------
    def fwd_block(self, stmts, may, must):
        out = []
        for s in stmts:
            out += adopt(self.fwd_stmt(s, may, must), s)
        return out

    def fwd_stmt(self, s, may, must):
        info = self.info
        if is_setitem(s):
            # Save only the part about to be overwritten; the reverse sweep puts it back.
            s.s2s_rev = bool(info.active)
            out = []
            x = target_of(s)
            if s.s2s_rev and x in info.containers:     # a list's or dict's item: saved as it is (or MISSING)
                out.append(self.push(call(name(self.ns.bind("item_or_missing", item_or_missing)),
                                          [name(x), clone(s.targets[0].slice)])))
            elif s.s2s_rev:
                old = gast.Subscript(value=name(x), slice=clone(s.targets[0].slice), ctx=gast.Load())
                if not info.scalar_part(s.targets[0].value, s.targets[0].slice):     # an element needs no copy
                    old = call(gast.Attribute(value=old, attr="copy", ctx=gast.Load()))
                out.append(self.push(old))
            return out + [clone(s)]
        if isinstance(s, gast.Assign) and info.op(s).kind == "update":
            # hs.append(x): nothing saved, the reverse sweep pops it; the item hs.pop(i) takes is saved
            # when the reverse sweep reads hs (it puts the item back).
            xs = target_of(s)
            s.s2s_rev = xs in info.active or xs in info.recorded
            s.s2s_push = s.s2s_list_update == "pop" and xs in info.recorded
            if s.s2s_push:
                index = s.value.args[1] if len(s.value.args) > 1 else const(-1)
                return [self.push(method_call(xs, "pop", [clone(index)] if len(s.value.args) > 1 else []))]
            return [list_update(s)]
        if isinstance(s, gast.Assign):
            v = s.targets[0].id
            s.s2s_push = v in info.recorded and v in may
            self.note_push(s.s2s_push, v, must)
            s.s2s_rev = s.s2s_push or v in info.active
            out = [self.push(name(v))] if s.s2s_push else []
            split = self.split_helper(s, v)
            if split is None:
                out.append(clone(s))
            else:               # `v, h_state = vjp_h(x)`: the helper's forward sweep, once
                helper, state_var, _ = split
                s.s2s_push_state = self.loops > 0          # an older state is still needed: save it
                self.note_push(s.s2s_push_state, state_var, must)
                if s.s2s_push_state:
                    out.append(self.push(name(state_var)))
                targets = gast.Tuple(elts=[name(v, store=True), name(state_var, store=True)], ctx=gast.Store())
                node = s.value
                forward = call(name(self.ns.bind(helper.name, helper)), [clone(a) for a in node.args],
                               [(k.arg, clone(k.value)) for k in node.keywords])
                out.append(located(assign(targets, forward), s))
                must.add(state_var)
            may.add(v)
            must.add(v)
            return out
        if isinstance(s, gast.If):
            may_b, must_b, may_o, must_o = set(may), set(must), set(may), set(must)
            body = self.fwd_block(s.body, may_b, must_b)
            orelse = self.fwd_block(s.orelse, may_o, must_o)
            s.s2s_rev = _any_rev(s.body) or _any_rev(s.orelse)
            if s.s2s_rev:
                body.append(self.push(const(True)))
                orelse.append(self.push(const(False)))
            may |= may_b | may_o
            must.intersection_update(must_b & must_o)
            return [located(gast.If(test=clone(s.test), body=_no_pass(body), orelse=_no_pass(orelse, [])), s)]
        if isinstance(s, gast.While):
            changed = assigned_names(s.body)
            self.loops += 1
            body = self.fwd_block(s.body, may | changed, set(must))
            self.loops -= 1
            may |= changed
            s.s2s_rev = _any_rev(s.body)
            if not s.s2s_rev:
                return [located(gast.While(test=clone(s.test), body=body, orelse=[]), s)]
            s.s2s_counter = self.namer.fresh("n_iter")
            count = s.s2s_counter
            body.insert(0, gast.AugAssign(target=name(count, store=True), op=gast.Add(), value=const(1)))
            return [assign(count, const(0)),
                    located(gast.While(test=clone(s.test), body=body, orelse=[]), s),
                    self.push(name(count))]
        if isinstance(s, gast.For):
            i = s.target.id
            changed = assigned_names(s.body) | {i}
            s.s2s_push = i in self.info.recorded and i in may
            self.note_push(s.s2s_push, i, must)
            self.loops += 1
            body = self.fwd_block(s.body, may | changed, must | {i})
            self.loops -= 1
            may |= changed
            body_rev = _any_rev(s.body)
            s.s2s_rev = body_rev or s.s2s_push
            out = [self.push(name(i))] if s.s2s_push else []
            loop = located(gast.For(target=name(i, store=True), iter=clone(s.iter), body=body, orelse=[],
                                    type_comment=None), s)
            if not body_rev:
                return out + [loop]
            if _ends_with_break(s.body):
                count = self.namer.fresh("n_iter")
                body.insert(0, gast.AugAssign(target=name(count, store=True), op=gast.Add(), value=const(1)))
                trips = gast.Subscript(value=clone(s.iter), slice=gast.Slice(lower=None, upper=name(count), step=None),
                                       ctx=gast.Load())
                return out + [assign(count, const(0)), loop, self.push(trips)]
            return out + [loop, self.push(clone(s.iter))]
        return [clone(s)]

    def split_helper(self, s, v):
        """(split code of the helper `s` calls, the name of its saved state, the parameters differentiated),
        when `v = h(...)` needs the helper's derivative; else None. Decided in the forward sweep, which runs
        the helper's forward half; the reverse sweep then calls its pullback."""
        if v not in self.info.active or self.info.op(s).kind != "helper":
            return None
        if hasattr(s, "s2s_split"):
            return s.s2s_split
        op = self.info.op(s)
        fn = op.fn
        params = tuple(p for p in inspect.signature(fn, follow_wrapped=False).parameters if self.active_name(op.inputs.get(p)))
        # A helper returning `a, b` is seeded item by item, only the items in use; one returning a tuple it
        # got from a call (`return g(x)`) takes one seed, a tuple of the items' adjoints.
        form = result_form(fn) if v in self.info.tuples else None
        select = None if form is None else tuple(
            position for k in self.info.used_items[v] for position, _ in _leaf_paths(form)[k])
        s.s2s_split = None
        if params and select != ():
            helper = self.derive_helper(fn, params, call_site_kinds(self.core, self.info, fn, op), select)
            s.s2s_split = (helper, self.namer.fresh(f"{display_name(fn)}_state"), params)
        return s.s2s_split

    def note_push(self, pushed, var, must):
        if pushed:
            self.pushed.add(var)
            if var not in must and var not in self.init_none:
                self.init_none.append(var)

    # -- reverse sweep -------------------------------------------------------
    def rev_block(self, stmts, state):
        out, last_line = [], None
        for s in reversed(stmts):
            code = adopt(self.retained_at(s, state) + self.rev_stmt(s, state), s)
            if code:
                line = _primal_line(s)
                if line[0] and line != last_line:
                    # After the zero-initialisations a loop or branch needs, right before its code.
                    k = 0
                    while k < len(code) and getattr(code[k], "s2s_zero", False):
                        k += 1
                    code.insert(k, comment(*line))
                    last_line = line
                out += code
        return out

    def rev_stmt(self, s, state):
        if not getattr(s, "s2s_rev", False):
            return []
        if is_setitem(s):
            return self.reverse_setitem(s, state)
        if isinstance(s, gast.Assign) and self.info.op(s).kind == "update":
            return self.reverse_update(s, state)
        if isinstance(s, gast.Assign):
            v = s.targets[0].id
            out = []
            if v in self.info.active:
                present = [u for u in [v] + self.items(v) if u in state]
                op = self.info.op(s)
                if op.kind == "copy" and v in state.maybe and self.active_name(op.node) \
                        and op.node.id not in state:        # `dx = dv` carries a None along
                    x, dv = op.node.id, name(self.d(v))
                    value = dv if x not in self.indexed else \
                        _if_none(clone(dv), const(None), self.owned(x, clone(dv)))
                    out.append(assign(self.d(x), value))
                    state.add(x)
                    state.maybe.add(x)
                elif present and all(u in state.maybe for u in present):
                    out += self.guarded(present, state, lambda inner: self.adjoint(s, v, inner))
                elif present:
                    out += self.adjoint(s, v, state)
                state.discard(v)
                state.difference_update(self.items(v))
            if getattr(s, "s2s_push_state", False):           # pushed after v: popped before it
                out.append(assign(s.s2s_split[1], self.pop()))
            if s.s2s_push:
                out.append(assign(v, self.pop()))
            return out
        if isinstance(s, gast.If):
            sb, so = state.copy(), state.copy()
            body = self.rev_block(s.body, sb)
            orelse = self.rev_block(s.orelse, so)
            merged = self.join(sb, so)
            body += self.absent(merged - sb)
            orelse += self.absent(merged - so)
            state.become(merged)
            if not _has_code(body) and not _has_code(orelse):
                return [expr_stmt(self.pop())]
            if not _has_code(body):
                return [gast.If(test=gast.UnaryOp(op=gast.Not(), operand=self.pop()), body=orelse, orelse=[])]
            return [gast.If(test=self.pop(), body=body, orelse=orelse if _has_code(orelse) else [])]
        return self.rev_loop(s, state)

    # -- retain= ---------------------------------------------------------------
    def retained_start(self):
        """`dh_retained = None` for a retained local assigned more than once or inside a loop or branch: the
        reverse sweep keeps the adjoint the first time it reverses one of its assignments (the last run)."""
        self.kept = {v: self.namer.fresh(f"d{v}_retained") for v in self.info.retain}
        return [assign(self.kept[v], const(None)) for v in self.info.retain if not self.assigned_once(v)]

    def assigned_once(self, var):
        writes = [s for s in assignments(self.core.body) if target_of(s) == var]
        return len(writes) == 1 and any(s is writes[0] for s in self.core.body)

    def retained_at(self, s, state):
        """The adjoint of a retained local just before its assignment `s` is reversed, with its shape."""
        if not self.info.retain or not isinstance(s, gast.Assign) or target_of(s) not in self.info.retain:
            return []
        v = target_of(s)
        kept = assign(self.kept[v], self.retained_value(v, state))
        if self.assigned_once(v):
            return [kept]
        test = gast.Compare(left=name(self.kept[v]), ops=[gast.Is()], comparators=[const(None)])
        return [gast.If(test=test, body=[kept], orelse=[])]

    def retained_value(self, v, state):
        """`retained(dh, h)`: dh with h's shape and dtype (zeros for None, or where no adjoint reached h)."""
        dv = name(self.d(v)) if v in state else const(None)
        if v in state and v in self.indexed:       # updated in place later: a copy of its own
            dv = call(self.np_attr("copy"), [dv])
            if v in state.maybe:
                dv = _if_none(name(self.d(v)), const(None), dv)
        return call(name(self.ns.bind("retained", retained)), [dv, name(v)])

    def retained_params(self, state):
        """A retained parameter the function never assigns: its adjoint once the reverse sweep is done."""
        assigned = {target_of(s) for s in assignments(self.core.body)}
        return [assign(self.kept[v], self.retained_value(v, state)) for v in self.info.retain
                if v not in assigned]

    def rev_loop(self, s, state):
        head = state.copy()
        while True:
            taken, adj = set(self.namer.taken), dict(self.adj)
            end = head.copy()
            body = self.rev_block(s.body, end)
            merged = self.join(head, end)        # an iteration starts where the last one or the loop left
            if merged == head and merged.maybe == head.maybe:
                break
            head = merged
            self.namer.taken, self.adj = taken, adj
            self.namer.taken |= set(self.wholes.values())     # named once for the whole function
        body += self.absent(head - end)
        out = self.absent(head - state) + [stmt for _, stmt in self.hoisted.get(id(s), [])]
        after = end if _runs(s) else head         # a loop that surely runs ends where its body does
        if _any_rev(s.body):
            if not _has_code(body):
                out.append(expr_stmt(self.pop()))
            elif isinstance(s, gast.For):
                trips = call(self.ns.bind("reversed", reversed), [self.pop()])
                loop = gast.For(target=name(s.target.id, store=True), iter=trips, body=body, orelse=[],
                                type_comment=None)
                loop.s2s_runs = _runs(s)
                out.append(loop)
            else:
                trips = call(self.ns.bind("range", range), [self.pop()])
                out.append(gast.For(target=name(self.throwaway(), store=True), iter=trips, body=body,
                                    orelse=[], type_comment=None))
        state.become(after)
        if isinstance(s, gast.For) and s.s2s_push:
            out.append(assign(s.target.id, self.pop()))
        return out

    def element_read(self, v):
        """`x[i]` or `sin_x[i]` for a value that is element i of a whole array in the loop over i (what the
        reverse sweep reads instead of saving it each iteration), the whole array made before the loop."""
        what, i, loop = self.info.elements[v]
        return self.element_of_whole(what, i, loop)

    def element_of_whole(self, what, i, loop):
        read = gast.Subscript(value=self.whole(what, loop), slice=name(i), ctx=gast.Load())
        read.s2s_element = (what, i, loop)
        return read

    def whole(self, what, loop):
        if what[0] == "x":
            return name(what[1])
        hoisted = self.hoisted.setdefault(id(loop), [])
        if repr(what) not in self.wholes:
            self.wholes[repr(what)] = self.namer.fresh(f"{what[1].__name__}_{_base(what[2])}")
        n = self.wholes[repr(what)]
        if all(h != n for h, _ in hoisted):
            f = what[1]
            func = self.np_attr(f.__name__) if getattr(numpy, f.__name__, None) is f else \
                name(self.ns.bind(f.__name__, f))
            value = call(func, [self.whole(what[2], loop)])
            hoisted.append((n, assign(n, value)))
            self.template_locals.add(n)              # pure: removed if nothing reads it
        return name(n)

    def throwaway(self):
        """`_` for values nobody reads, unless the user's function reads a variable of that name."""
        return "_" if "_" not in self.core.source.locals else self.namer.fresh("unused")

    def nullable(self, var):
        """Whether a missing adjoint of `var` is None rather than zero: a rule may still consume it, or it
        is a gradient a pullback returns (its caller may update it in place, so never a bare 0.0)."""
        base = var.partition("[")[0]
        return base in self.assigned or base in self.wrt

    def join(self, a, b):
        """The state after two paths meet: adjoints defined on either; maybe None where maybe on either, or
        missing on one and nullable (see `absent`)."""
        union = a | b
        missing = {v for v in union if (v not in a or v not in b) and self.nullable(v)}
        return State(union, a.maybe | b.maybe | missing)

    def absent(self, names):
        """Statements giving the adjoints `names`, missing on this path, a value where paths meet: None for
        a variable the function assigns (a rule may consume it), else zero (it is only added to)."""
        out = []
        for v in sorted(names):
            stmt = assign(self.d(v), const(None) if self.nullable(v) else self.zero(v))
            stmt.s2s_zero = self.zero(v)          # optimize.settle_nones may make a None this zero
            out.append(stmt)
        return out

    def guarded(self, tested, state, code, seeds=()):
        """`code(inner)` run under `if d is not None` for the adjoints of `tested` (any of them) or the
        seed keywords `seeds`: the state inside knows them defined; adjoints first written inside are None
        on the other path."""
        if not tested and not seeds:
            return code(state)
        inner = state.copy()
        inner.maybe -= set(tested)
        body = code(inner)
        if not _has_code(body):
            return body
        merged = self.join(inner, state)
        body += self.absent(merged - inner)
        orelse = self.absent(merged - state)
        state.become(merged)
        tests = [gast.Compare(left=name(n), ops=[gast.IsNot()], comparators=[const(None)])
                 for n in [self.d(u) for u in tested] + list(seeds)]
        test = tests[0] if len(tests) == 1 else gast.BoolOp(op=gast.Or(), values=tests)
        return [gast.If(test=test, body=body, orelse=orelse)]

    def definite(self, var, state):
        """The adjoint of `var` as a value: a None it may hold read as zero."""
        if var in state.maybe:
            return _if_none(name(self.d(var)), const(0.0), name(self.d(var)))
        return name(self.d(var))

    def zero(self, var):
        """The zero adjoint of `var`: 0.0, or zeros for a value updated in place (an array's, or one array
        per item of a list a rule returned: np.split)."""
        if var not in self.indexed:
            return const(0.0)
        if var in self.core.params and var not in self.info.containers:
            return call(self.np_attr("zeros_like"), [name(var)])
        return call(name(self.ns.bind("zeros_of", zeros_of)), [name(var)])

    def np_attr(self, path):
        """`np.zeros_like`, `np.add.at`, ... with the name numpy has in the generated code."""
        node = name(self.ns.bind("np", numpy))
        for attr in path.split("."):
            node = gast.Attribute(value=node, attr=attr, ctx=gast.Load())
        return node

    # -- indexing ------------------------------------------------------------
    def reverse_setitem(self, s, state):
        """`x[idx] = v`: v's adjoint is what x's adjoint holds at idx; the old part of x had no effect
        on the result, so its adjoint there is zero; then the old part is put back."""
        x, target = target_of(s), s.targets[0]
        value = s.value
        if x in self.info.containers:
            return self.reverse_put(s, state)

        def adjoint(inner):
            out = []
            if x in inner and self.active_name(value):
                part = gast.Subscript(value=name(self.d(x)), slice=clone(target.slice), ctx=gast.Load())
                if not self.info.scalar_part(target.value, target.slice):     # one element is a NumPy scalar
                    part = call(gast.Attribute(value=part, attr="copy", ctx=gast.Load()))   # zeroed just below
                if not self.basic(target.slice):     # repeated indices: only the last write counts
                    part = call(name(self.ns.bind("written", written)), [name(self.d(x)), index_expr(target.slice, self.ns)])
                gathered = part if self.info.same_shape_as_part(value, target.value, target.slice) else \
                    call(name(self.ns.bind("unbroadcast", unbroadcast)), [part, name(value.id)])
                out += self.accumulate(value.id, gathered, inner)
            if x in inner:
                zeroed = gast.Subscript(value=name(self.d(x)), slice=clone(target.slice), ctx=gast.Store())
                out.append(assign(zeroed, const(0.0)))
            return out

        out = self.guarded([x] if x in state.maybe else [], state, adjoint)
        restore = gast.Subscript(value=name(x), slice=clone(target.slice), ctx=gast.Store())
        out.append(assign(restore, self.pop()))
        return out

    def reverse_put(self, s, state):
        """`c[key] = v` into a list or dict: v's adjoint is c's at key, which becomes zero (None); then c's
        old item (or no item) goes back."""
        x, key, value = target_of(s), s.targets[0].slice, s.value

        def adjoint(inner):
            if x not in inner:
                return []
            take = call(name(self.ns.bind("take_item", take_item)), [name(self.d(x)), clone(key)])
            if not self.active_name(value):
                return [expr_stmt(take)]
            targets, received = self.receive([value], inner, nullable=(True,))
            stmt = assign(targets[0], take)
            stmt.s2s_nullable = {targets[0].id}
            return [stmt] + received()

        out = self.guarded([x] if x in state.maybe else [], state, adjoint)
        out.append(expr_stmt(call(name(self.ns.bind("put_item", put_item)), [name(x), clone(key), self.pop()])))
        return out

    # -- lists -----------------------------------------------------------------
    def reverse_update(self, s, state):
        """`hs.append(x)` backwards: x's adjoint is the last of hs's (`dx = dhs.pop()`), and hs drops its
        last item when the rest of the reverse sweep reads hs; `hs.insert(i, x)` likewise at i; `hs.pop(i)`
        backwards gives hs's adjoint a zero (None) item at i, and hs its item back."""
        xs, method = target_of(s), s.s2s_list_update
        index = s.value.args[1] if method in ("insert", "pop") and len(s.value.args) > 1 else const(-1)
        dxs = self.d(xs)

        def take(obj):
            if method == "append":
                return method_call(obj, "pop")
            return call(name(self.ns.bind("take_inserted", take_inserted)), [name(obj), clone(index)])

        def adjoint(inner):
            if xs not in inner:
                return []
            if method == "pop":
                return [expr_stmt(call(name(self.ns.bind("put_back", put_back)), [name(dxs), clone(index), const(None)]))]
            item = s.value.args[-1]
            targets, received = self.receive([item], inner, nullable=(True,))
            if not self.active_name(item):        # still one item shorter
                return [expr_stmt(take(dxs))]
            stmt = assign(targets[0], take(dxs))
            stmt.s2s_nullable = {targets[0].id}
            return [stmt] + received()

        out = self.guarded([xs] if xs in state.maybe else [], state, adjoint) if xs in self.info.active else []
        if xs in self.info.recorded:          # what is left of the reverse sweep reads hs as it was
            if method == "pop":
                out.append(expr_stmt(call(name(self.ns.bind("put_back", put_back)), [name(xs), clone(index), self.pop()])))
            else:
                out.append(expr_stmt(take(xs)))
        return out

    def reverse_pack(self, op, v, state):
        """`v = [a, b]` (or a tuple, or `{"W": W, "b": b}`): each item's adjoint is v's at its place
        (`da, db = dv`), None where it is zero."""
        atoms = list(op.inputs.values())
        if not any(self.active_name(a) for a in atoms):
            return []
        targets, received = self.receive(atoms, state, nullable=(True,) * len(atoms))
        dv = name(self.d(v))
        if isinstance(op.node, gast.Dict):
            parts = [gast.Subscript(value=clone(dv), slice=clone(k), ctx=gast.Load()) for k in op.node.keys]
            value = parts[0] if len(parts) == 1 else gast.Tuple(elts=parts, ctx=gast.Load())
        elif len(atoms) == 1:
            value = gast.Subscript(value=dv, slice=const(0), ctx=gast.Load())
        else:
            value = dv
        if len(atoms) > 1:
            stmt = assign(gast.Tuple(elts=targets, ctx=gast.Store()), value)
        else:
            stmt = assign(targets[0], value)
        stmt.s2s_nullable = {t.id for t in targets}
        return [stmt] + received()

    def output_adjoint(self, v, state):
        """`d[y]` in a template: v's adjoint, or for a tuple (`s, l = np.linalg.slogdet(a)`) a tuple of its
        items' adjoints, 0.0 for an item nothing reads."""
        if v not in self.info.tuples:
            return name(self.d(v))
        items = [self.definite(item, state) if item in state else const(0.0) for item in self.items(v)]
        return gast.Tuple(elts=items, ctx=gast.Load())

    def items(self, var):
        """The adjoints of a tuple a helper returned are one per item, named like `dh_result_0`."""
        return [f"{var}[{k}]" for k in range(self.info.tuples.get(var, 0))]

    def reverse_getitem(self, op, v, state):
        """`v = x[idx]`: add v's adjoint into x's adjoint at idx, in place."""
        x = op.node.value
        if not self.active_name(x):
            return []
        if getattr(op.node, "s2s_item_of_tuple", False):
            return self.accumulate(f"{x.id}[{op.node.slice.value}]", name(self.d(v)), state)
        dx, out = self.d(x.id), []
        if x.id not in state:
            state.add(x.id)
            out.append(assign(dx, self.zero(x.id)))
        elif x.id in state.maybe:          # updated in place below: an array of zeros where it is None
            state.maybe.discard(x.id)
            none = gast.Compare(left=name(dx), ops=[gast.Is()], comparators=[const(None)])
            out.append(gast.If(test=none, body=[assign(dx, self.zero(x.id))], orelse=[]))
        index = op.node.slice
        if x.id in self.info.containers:       # an item of a list or dict: add it in leaf by leaf
            out.append(expr_stmt(call(name(self.ns.bind("add_at", add_at)),
                                      [name(dx), index_expr(index, self.ns), name(self.d(v))])))
        elif self.basic(index):
            target = gast.Subscript(value=name(dx), slice=clone(index), ctx=gast.Store())
            out.append(gast.AugAssign(target=target, op=gast.Add(), value=name(self.d(v))))
        else:       # integer arrays may repeat an index: every occurrence adds
            out.append(expr_stmt(call(self.np_attr("add.at"), [name(dx), index_expr(index, self.ns), name(self.d(v))])))
        return out

    def reverse_getattr(self, op, v, state):
        """`v = p.W` of a container (a NamedTuple, a dataclass): add v's adjoint into p's at that field."""
        x = op.node.value
        if not self.active_name(x):
            return []
        dx, out = self.d(x.id), []
        if x.id not in state:
            state.add(x.id)
            out.append(assign(dx, self.zero(x.id)))
        elif x.id in state.maybe:
            state.maybe.discard(x.id)
            none = gast.Compare(left=name(dx), ops=[gast.Is()], comparators=[const(None)])
            out.append(gast.If(test=none, body=[assign(dx, self.zero(x.id))], orelse=[]))
        out.append(expr_stmt(call(name(self.ns.bind("add_field", add_field)),
                                  [name(dx), name(x.id), const(op.node.attr), name(self.d(v))])))
        return out

    def basic(self, index):
        """Whether an index is basic (integers, slices, None, ...): no position is selected twice."""
        parts = index.elts if isinstance(index, gast.Tuple) else [index]
        for part in parts:
            if isinstance(part, gast.Slice):
                continue
            if isinstance(part, gast.Constant) and not isinstance(part.value, (list, tuple)):
                continue
            if isinstance(part, gast.Name) and self.info.is_scalar(part):
                continue
            return False
        return True

    # -- one operation -------------------------------------------------------
    def accumulate(self, var, value, state):
        dv = self.d(var)
        if var in self.info.containers:           # adjoints of containers add up leaf by leaf
            return self.accumulate_tree(var, value, state)
        if var not in state or var in state.maybe:
            first = value
            if var in self.indexed and not self.fresh(value):
                first = self.owned(var, clone(value))    # updated in place later: never shared
            if var in state.maybe:                   # `dv = value if dv is None else dv + value`
                state.maybe.discard(var)
                return [assign(dv, _if_none(name(dv), first, gast.BinOp(left=name(dv), op=gast.Add(), right=value)))]
            state.add(var)
            return [assign(dv, first)]
        if isinstance(value, gast.UnaryOp) and isinstance(value.op, gast.USub):
            return [assign(dv, gast.BinOp(left=name(dv), op=gast.Sub(), right=value.operand))]
        return [assign(dv, gast.BinOp(left=name(dv), op=gast.Add(), right=value))]

    def accumulate_tree(self, var, value, state):
        """`dparams = copy_tree(g)` first (it is updated in place later), then `dparams = tree_add(dparams, g)`."""
        dv = self.d(var)
        if var not in state:
            state.add(var)
            if var in self.indexed and not self.fresh(value) or var in self.lists:  # updated in place later
                value = self.owned(var, value)
            return [assign(dv, value)]
        state.maybe.discard(var)
        return [assign(dv, call(name(self.ns.bind("tree_add", tree_add)), [name(dv), value]))]

    def owned(self, var, value):
        """A copy of `value` to be var's adjoint, which is updated in place later: an array of its own, a
        container's copy down to its arrays, a list for a list the reverse sweep pops from or writes into."""
        if var in self.lists:
            return call(name(self.ns.bind("list_of", list_of)), [value])
        if var in self.info.containers:
            return call(name(self.ns.bind("copy_tree", copy_tree)), [value])
        return call(self.np_attr("copy"), [value])

    def active_name(self, atom):
        return isinstance(atom, gast.Name) and atom.id in self.info.active

    def adjoint(self, s, v, state):
        op = self.info.op(s)
        if op.kind == "copy":
            return self.accumulate(op.node.id, name(self.d(v)), state) if self.active_name(op.node) else []
        if op.kind == "rule":
            return self.inline_rule(op, v, state)
        if op.kind == "helper":
            return self.call_helper(s, op, v, state)
        if op.kind == "getitem":
            return self.reverse_getitem(op, v, state)
        if op.kind == "getattr":
            return self.reverse_getattr(op, v, state)
        if op.kind == "pack":
            return self.reverse_pack(op, v, state)
        if op.kind == "derivative":
            return self.call_derivative(op, v, state)
        if op.kind == "jvpcall":
            return self.call_jvp(op, v, state)
        if op.kind == "norule":
            raise no_rule_error(self.core, op)
        return []

    def inline_rule(self, op, v, state):
        rule = op.rule
        mapping = dict(op.inputs)
        for p, bound in op.inputs.items():        # a list where an array goes: the array NumPy makes of it
            if isinstance(bound, (gast.List, gast.Tuple)) and p not in rule.sequences and _has_names(bound):
                mapping[p] = call(self.np_attr("array"), [bound])
        mapping[rule.output] = name(v)
        local_names, out = {}, []
        substituted = []
        for param, stmt in template(op, self.info.is_scalar, self.info.shape_of):
            bound = op.inputs.get(param)
            if param is not None and not any(self.active_name(a) for a in elements(bound)):
                continue
            value = _Substitute(self, rule, v, mapping, local_names, state).visit(clone(stmt.value))
            if param is None:             # a rule's local: named before the statements that read it
                local_names[stmt.targets[0].id] = self.namer.fresh(stmt.targets[0].id)
            previous = substituted[-1] if substituted else None
            if (previous is not None and previous[0] is not None and isinstance(bound, gast.Name)
                    and isinstance(previous[2], gast.Name) and previous[2].id == bound.id
                    and gast.dump(previous[3]) == gast.dump(value)):     # x * x: d[z] * x twice, once doubled
                substituted[-1] = (*previous[:3], gast.BinOp(left=const(2.0), op=gast.Mult(), right=value))
                continue                  # exact: doubling rounds nothing
            substituted.append((param, stmt, bound, value))
        for param, stmt, bound, value in substituted:
            target = stmt.targets[0]
            if param is None:
                self.template_locals.add(local_names[target.id])    # pure: removed if nothing reads it
                out.append(assign(local_names[target.id], value))
            elif isinstance(bound, (gast.List, gast.Tuple)):     # one adjoint per element of a sequence
                pieces = self.namer.fresh(f"d{param}")
                out.append(assign(pieces, value))
                for k, a in enumerate(bound.elts):
                    if self.active_name(a):
                        piece = gast.Subscript(value=name(pieces), slice=const(k), ctx=gast.Load())
                        out += self.accumulate(a.id, piece, state)
            else:
                out += self.accumulate(bound.id, value, state)
        return out

    def call_helper(self, s, op, v, state):
        """`v, h_state = vjp_h(x)` ran in the forward sweep: the helper's pullback gives the adjoints of its
        arguments from h_state and v's adjoint (one seed per returned item in use)."""
        if getattr(s, "s2s_split", None) is None:
            return []
        helper, state_var, params = s.s2s_split
        if v in self.info.tuples:
            items, form = self.items(v), result_form(op.fn)
            seeds = []
            for k in self.info.used_items[v] if form is not None else ():
                for _, path in _leaf_paths(form)[k]:       # a nested item's leaves: leaf_of(d_item, path)
                    seed = name(self.d(items[k])) if items[k] in state else const(None)   # None: a zero seed
                    if path and items[k] in state:
                        seed = call(name(self.ns.bind("leaf_of", leaf_of)), [seed, const(path)])
                    seeds.append(seed)
            if form is None:
                seeds = [self.output_adjoint(v, state)]
        else:
            seeds = [name(self.d(v))]
        fn = op.fn
        pullback = name(self.ns.bind(helper.pullback_name, helper.pullback_ref))
        value = call(pullback, [name(state_var)] + seeds)
        targets, received = self.receive([op.inputs[p] for p in params], state,
                                         [f"d{p}_{fn.__name__}" for p in params],
                                         helper.nullable_grads or (True,) * len(params))   # () while being built
        grads = targets[0] if len(targets) == 1 else gast.Tuple(elts=targets, ctx=gast.Store())
        call_stmt = assign(grads, value)
        call_stmt.s2s_nullable = {t.id for t, n in zip(targets, helper.nullable_grads or (True,) * len(targets)) if n}
        return [call_stmt] + received()

    def fresh(self, value):
        """Whether an expression always makes a new array (arithmetic, np.full_like, ...): no copy needed
        before updating it in place."""
        if isinstance(value, (gast.BinOp, gast.UnaryOp)):
            return True
        if isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute):
            owner = value.func.value
            return (isinstance(owner, gast.Name) and self.ns.values.get(owner.id) is numpy
                    and value.func.attr in ("full_like", "zeros_like", "ones_like", "copy", "array"))
        return False

    def receive(self, atoms, state, temp_names=None, nullable=()):
        """Where a call's gradients for `atoms` go: (assignment targets, one per atom, and a function giving
        the statements to run after the call). An adjoint written for the first time is the target itself,
        else a temporary that is added in; an inactive atom's gradient goes to `_`. Adjoints updated in
        place later (`dx[i] += g`) are copied: the call may have handed back an array someone else holds.
        `nullable[k]` says the call may give None (a zero) for atom k: that adjoint may be None after."""
        targets, after, seen, maybe = [], [], set(), set()
        for k, a in enumerate(atoms):
            if not self.active_name(a):
                targets.append(name(self.throwaway(), store=True))
            elif a.id not in state and a.id not in seen:
                targets.append(name(self.d(a.id), store=True))
                seen.add(a.id)
                if k < len(nullable) and nullable[k]:
                    maybe.add(a.id)
            else:
                temp = self.namer.fresh(temp_names[k] if temp_names else f"d{a.id}_part")
                targets.append(name(temp, store=True))
                after.append((a.id, temp, k < len(nullable) and nullable[k]))

        def received():
            out = []
            for var in sorted(seen & self.indexed):
                own = self.owned(var, name(self.d(var)))
                if var in maybe:
                    own = _if_none(name(self.d(var)), const(None), own)
                out.append(assign(self.d(var), own))
            state.update(seen)
            state.maybe |= seen & maybe
            for var, temp, may_be_none in after:
                if may_be_none:                       # `if dx_h is not None: dx = dx + dx_h`
                    out += self.guarded([], state, lambda inner, var=var, temp=temp:
                                        self.accumulate(var, name(temp), inner), [temp])
                else:
                    out += self.accumulate(var, name(temp), state)
            return out
        return targets, received

    def call_jvp(self, op, v, state):
        """`v = s2sgrad.jvp(f, args, tangents)`, a (value, tangent) pair: the adjoints of the arguments and
        tangents come from f's reverse-over-forward code (compose.pullback_of_jvp, run at run time)."""
        args, tangents = op.inputs["args"], op.inputs["tangents"]
        flat = elements(args) + elements(tangents)
        if not any(self.active_name(a) for a in flat):
            return []
        targets, received = self.receive(flat, state)
        n = len(elements(args))
        split = gast.Tuple(elts=[gast.Tuple(elts=targets[:n], ctx=gast.Store()),
                                 gast.Tuple(elts=targets[n:], ctx=gast.Store())], ctx=gast.Store())
        node = op.node
        call_args = [clone(node.args[0]), clone(args), clone(tangents), self.output_adjoint(v, state)]
        value = call(name(self.ns.bind("pullback_of_jvp", pullback_of_jvp)), call_args,
                     [(k.arg, clone(k.value)) for k in node.keywords])
        return [assign(split, value)] + received()

    def call_derivative(self, op, v, state):
        """`v = df(x, a)` with df = grad(f): the adjoints of the arguments come from the gradient of f's
        jvp in the direction dv (compose.pullback_of_gradient, generated code run at run time)."""
        args = list(op.node.args)
        if not any(self.active_name(a) for a in args):
            return []
        pullback = self.ns.bind("pullback_of_gradient", pullback_of_gradient)
        targets, received = self.receive(args, state)
        value = call(name(pullback), [clone(op.node.func), self.output_adjoint(v, state)] + [clone(a) for a in args])
        return [assign(gast.Tuple(elts=targets, ctx=gast.Store()), value)] + received()



class _Substitute(gast.NodeTransformer):
    """Instantiates one template expression: parameters become atoms, `d[y]` the output adjoint,
    the template's globals names bound in the generated namespace."""

    def __init__(self, transform, rule, v, mapping, local_names, state):
        self.t = transform
        self.rule = rule
        self.v = v
        self.mapping = mapping
        self.local_names = local_names
        self.state = state

    def visit_Subscript(self, node):
        if adjoint_of(node) is not None:
            return self.t.output_adjoint(self.v, self.state)
        return self.generic_visit(node)

    def visit_Call(self, node):
        f = self.resolve(node.func)
        node = self.generic_visit(node)
        element = getattr(node.args[0], "s2s_element", None) if len(node.args) == 1 else None
        if element is not None and not node.keywords and isinstance(f, numpy.ufunc) and f.nin == 1 \
                and f.signature is None:                 # np.cos(x[i]) is np.cos(x)[i], made once
            what, i, loop = element
            return self.t.element_of_whole(("ufunc", f, what), i, loop)
        return node

    def resolve(self, func):
        """The object a template's callee names (np.cos), else None."""
        if isinstance(func, gast.Name) and func.id not in self.mapping and func.id not in self.local_names:
            return self.rule.globals.get(func.id)
        if isinstance(func, gast.Attribute):
            owner = self.resolve(func.value)
            return getattr(owner, func.attr, None) if owner is not None else None
        return None

    def visit_Name(self, node):
        if node.id in self.mapping:
            atom = self.mapping[node.id]
            if isinstance(atom, gast.Name) and atom.id in self.t.info.elements:
                return self.t.element_read(atom.id)       # x[i], sin_x[i]: read back, never saved
            if isinstance(atom, gast.Name) and atom.id in self.t.info.recomputed:
                f, u = self.t.info.recomputed[atom.id]      # math.sin(x) again, instead of a saved sin_x
                module = gast.Attribute(value=name(self.t.ns.bind("math", math)), attr=f.__name__, ctx=gast.Load())
                return call(module, [name(u)])
            return clone(atom)
        if node.id in self.local_names:
            return name(self.local_names[node.id])
        if node.id in self.rule.globals:
            return name(self.t.ns.bind(node.id, self.rule.globals[node.id]))
        return node



def index_expr(index, ns):
    """An index as an ordinary expression (`1:n` becomes `slice(1, n, None)`), for np.add.at and helpers;
    `slice` is bound in the generated namespace `ns` (a name of its own, never one of the saved state)."""
    if isinstance(index, gast.Slice):
        parts = [clone(p) if p is not None else const(None) for p in (index.lower, index.upper, index.step)]
        return call(name(ns.bind("slice", builtins.slice)), parts)
    if isinstance(index, gast.Tuple):
        return gast.Tuple(elts=[index_expr(e, ns) for e in index.elts], ctx=gast.Load())
    return clone(index)


class _Value:
    """The returned value, and the copies (name, expression) to take of its parts first."""

    def __init__(self, node, keeps):
        self.node, self.keeps = node, keeps


def _leaf_paths(form):
    """For each item of a returned tuple's nesting `form`, its leaves as (position among all the leaves,
    path within the item): ((None, None), None) gives [[(0, (0,)), (1, (1,))], [(2, ())]]."""
    out, position = [], 0

    def walk(f, path):
        nonlocal position
        if f is None:
            position += 1
            return [(position - 1, path)]
        return [leaf for k, g in enumerate(f) for leaf in walk(g, path + (k,))]
    for f in form:
        out.append(walk(f, ()))
    return out


def _base(what):
    """The name an element's whole array is named after: x for x, sin_x for np.sin(x)."""
    return what[1] if what[0] == "x" else f"{what[1].__name__}_{_base(what[2])}"


def _has_names(node):
    """Whether a display holds values (not only constants such as axis=(0, 2))."""
    return any(isinstance(n, gast.Name) for n in walk(node))


def _if_none(var, then, otherwise):
    """`then if var is None else otherwise`."""
    test = gast.Compare(left=var, ops=[gast.Is()], comparators=[const(None)])
    return gast.IfExp(test=test, body=then, orelse=otherwise)


def _runs(loop):
    """Whether a primal loop surely runs at least once: `for i in range(3)`, literal bounds."""
    if not isinstance(loop, gast.For) or not isinstance(loop.iter, gast.Call):
        return False
    bounds = loop.iter.args
    if not bounds or not all(isinstance(b, gast.Constant) and type(b.value) is int for b in bounds):
        return False
    return len(range(*[b.value for b in bounds])) > 0


def _function(fname, args, body):
    for a in args.args + args.kwonlyargs + [a for a in (args.vararg, args.kwarg) if a is not None]:
        a.ctx = gast.Param()
    return gast.FunctionDef(name=fname, args=args, body=body, decorator_list=[], returns=None,
                            type_comment=None, type_params=[])


def _loads(stmts):
    return {n.id for s in stmts for n in walk(s) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}


def _no_pass(stmts, empty=None):
    """A block without `pass` statements, or `[pass]` (or `empty`) if nothing is left."""
    kept = [s for s in stmts if not isinstance(s, gast.Pass)]
    if kept:
        return kept
    return [gast.Pass()] if empty is None else empty


def _any_rev(stmts):
    return any(getattr(s, "s2s_rev", False) for s in stmts)


def _primal_line(s):
    """(text, origin) of the user's line a statement reverses, for its comment: the origin (file, line) only
    where that line of the file is the text, never a location that would name another line (a statement
    the compiler adds, `x = copy(x)`, carries the origin of the write it is for)."""
    text, origin = getattr(s, "s2s_line", None), getattr(s, "s2s_origin", None)
    if origin is not None and linecache.getline(origin[0], origin[1]).strip() != text:
        origin = None
    return text, origin and tuple(origin[:2])


def _has_code(stmts):
    return any(not is_comment(s) for s in stmts)


def _ends_with_break(stmts):
    return bool(stmts) and isinstance(stmts[-1], gast.If) and any(isinstance(b, gast.Break) for b in stmts[-1].body)
