"""Forward mode: turn a lowered function into one generated function returning its value and tangent.

The generated function runs the primal statements in order, each assignment to an
active name followed by its tangent statement (the tangent of `h` is `h_dot`); loops and
branches stay as they are, so nothing is recorded. A call to a user function becomes one
call to that function's own forward-mode code, which returns value and tangent together.

Invariant: a tangent has the shape of its value. The wrt tangents come in as keyword
arguments; a value that does not depend on them has a zero tangent of its own shape; a
broadcasting operation whose tangent may come out smaller (`z = x + W`, x scalar) spreads
it with `broadcast_like`, unless the analysis knows the shapes agree.

Example:
    >>> fn_def, tangents = ForwardTransform(core, info, ("x",), ns, derive_helper, "jvp_f").transform()
"""

import inspect

import gast
import numpy

from .analysis import (assignments, call_site_kinds, elements, is_setitem, no_rule_error, parameter_defaults,
                       star_parameter, target_of)
from . import custom
from .compose import tangent_of_gradient, tangent_of_jvp
from .errors import NoGradientRuleError
from .rules import tangents as rules
from .runtime import broadcast_like, field_of, own_tangent, stacked_tangent, zero_tangent
from .syntax import adopt, assign, call, clone, const, list_update, located, map_leaves, name, walk


class ForwardTransform:
    """Builds the tangent function of one lowered function for one choice of `wrt`."""

    def __init__(self, core, info, wrt, ns, derive_helper, fname):
        self.core = core
        self.info = info
        self.wrt = tuple(wrt)
        self.ns = ns
        self.derive_helper = derive_helper
        self.fname = fname
        self.namer = core.namer
        self.tan = {}
        self.written = {target_of(s) for s in assignments(core.body) if is_setitem(s)}
        # Named first, so a recursive call site can pass them before this function is finished.
        self.tangents = tuple(self.t(p) for p in self.wrt)

    # -- names ---------------------------------------------------------------
    def t(self, var):
        if var not in self.tan:
            self.tan[var] = self.namer.fresh(f"{var}_dot")
        return self.tan[var]

    def tangent_names(self):
        """Names of tangent variables (the only ones later passes may remove stores to)."""
        return set(self.tan.values()) - set(self.tangents)

    def active(self, atom):
        """Whether an atom (or any element of a list display) carries a tangent."""
        return any(isinstance(a, gast.Name) and a.id in self.info.active for a in elements(atom))

    def zero(self, atom):
        """The zero tangent of a value: `0.0` for a scalar, else zeros of its shape at run time."""
        if isinstance(atom, gast.Constant) and not isinstance(atom.value, (int, float, complex)):
            return const(None)              # a string, None: no tangent
        if isinstance(atom, gast.Constant) or (isinstance(atom, gast.Name) and self.info.is_scalar(atom)):
            return const(0.0)
        return call(name(self.ns.bind("zero_tangent", zero_tangent)), [clone(atom)])

    # -- the whole function --------------------------------------------------
    def transform(self):
        core = self.core
        params = core.params
        # A parameter outside wrt that is reassigned with a derivative starts with none.
        body = [assign(self.t(p), self.zero(name(p))) for p in params
                if p in self.info.active and p not in self.wrt]
        body += self.block(core.body)
        result = core.result
        tangent = map_leaves(result, lambda r: name(self.t(r.id)) if self.active(r) else self.zero(r))
        body.append(gast.Return(value=gast.Tuple(elts=[clone(result), tangent], ctx=gast.Load())))

        src_args = core.source.node.args
        defaults, kw_defaults = parameter_defaults(core, self.ns)
        args = gast.arguments(
            args=[name(a.id) for a in src_args.args], posonlyargs=[], vararg=star_parameter(src_args.vararg),
            kwonlyargs=[name(a.id) for a in src_args.kwonlyargs] + [name(t) for t in self.tangents],
            kw_defaults=kw_defaults + [None] * len(self.tangents), kwarg=star_parameter(src_args.kwarg),
            defaults=defaults)
        for a in args.args + args.kwonlyargs + [a for a in (args.vararg, args.kwarg) if a is not None]:
            a.ctx = gast.Param()
        fn = gast.FunctionDef(name=self.fname, args=args, body=body, decorator_list=[], returns=None,
                              type_comment=None, type_params=[])
        return fn, self.tangents

    # -- statements ----------------------------------------------------------
    def block(self, stmts):
        out = []
        for s in stmts:
            out += adopt(self.stmt(s), s)
        return out

    def stmt(self, s):
        if isinstance(s, gast.Assign) and getattr(s, "s2s_list_update", None):
            return self.list_update(s)
        if isinstance(s, gast.Assign):
            v = target_of(s)
            if v not in self.info.active:
                return [clone(s)]
            op = self.info.op(s)
            if op.kind == "helper":
                return self.call_helper(s, op, v)
            code = self.tangent(op, v)
            if v in self.written and not is_setitem(s):
                code[-1].value = self.own(code[-1].value, v)
            return [clone(s)] + [located(a, s) for a in code]
        if isinstance(s, gast.If):
            return [located(gast.If(test=clone(s.test), body=self.block(s.body) or [gast.Pass()],
                                    orelse=self.block(s.orelse)), s)]
        if isinstance(s, gast.While):
            return [located(gast.While(test=clone(s.test), body=self.block(s.body) or [gast.Pass()],
                                       orelse=[]), s)]
        if isinstance(s, gast.For):
            return [located(gast.For(target=clone(s.target), iter=clone(s.iter),
                                     body=self.block(s.body) or [gast.Pass()], orelse=[], type_comment=None), s)]
        return [clone(s)]

    def list_update(self, s):
        """`hs.append(h)` then `hs_dot.append(h_dot)`: a list's tangent is the list of its items' tangents."""
        out = [list_update(s)]
        xs = target_of(s)
        if xs in self.info.active:
            args = [name(self.t(xs))] + [clone(a) for a in s.value.args[1:]]
            if s.s2s_list_update != "pop":
                args[-1] = self.tangent_or_zero(s.value.args[-1])
            tangent = clone(s)
            tangent.value = call(clone(s.value.func), args)
            out.append(located(list_update(tangent), s))
        return out

    def own(self, value, v):
        """`v` is written into by index: its tangent must be an array no other tangent shares."""
        if isinstance(value, (gast.List, gast.Dict)):     # a display's tangent is a new list already
            return value
        if isinstance(value, gast.Call) and isinstance(value.func, gast.Name) and value.func.id == \
                self.ns.bind("zero_tangent", zero_tangent):
            return value
        return call(name(self.ns.bind("own_tangent", own_tangent)), [value, name(v)])

    # -- one operation -------------------------------------------------------
    def tangent(self, op, v):
        """Statements computing the tangent of `v`, just assigned by `op`."""
        if op.kind == "setitem":          # v[idx] = value
            value = op.inputs["value"]
            part = gast.Subscript(value=name(self.t(v)), slice=clone(op.node.slice), ctx=gast.Store())
            return [assign(part, name(self.t(value.id)) if self.active(value) else const(0.0))]
        if op.kind == "getitem":          # v = x[idx]
            x = op.node.value
            if not self.active(x):
                return [assign(self.t(v), self.zero(name(v)))]
            return [assign(self.t(v), gast.Subscript(value=name(self.t(x.id)), slice=clone(op.node.slice),
                                                     ctx=gast.Load()))]
        if op.kind == "copy":
            source = op.node
            return [assign(self.t(v), name(self.t(source.id)) if self.active(source) else self.zero(name(v)))]
        if op.kind == "norule":
            raise no_rule_error(self.core, op)        # the same error as reverse mode
        if op.kind == "getattr":          # v = p.W of a container
            x = op.node.value
            if not self.active(x):
                return [assign(self.t(v), self.zero(name(v)))]
            return [assign(self.t(v), call(name(self.ns.bind("field_of", field_of)),
                                            [name(self.t(x.id)), name(x.id), const(op.node.attr)]))]
        if op.kind == "const":
            return [assign(self.t(v), self.zero(op.node))]
        if op.kind == "pack":             # v = [a, b]: [a_dot, b_dot], zeros where an item carries none
            node = clone(op.node)
            items = [self.tangent_or_zero(a) for a in op.inputs.values()]
            if isinstance(node, gast.Dict):
                node.values = items
            else:
                node.elts = items
            return [assign(self.t(v), node)]
        if op.kind == "derivative":
            return [assign(self.t(v), self.call_derivative(op))]
        if op.kind == "jvpcall":
            return [assign(self.t(v), self.call_jvp(op))]
        if op.kind not in ("rule", "opaque"):
            raise AssertionError(f"forward mode has no tangent for a '{op.kind}' operation")   # never silent
        if op.kind == "opaque" or not any(self.active(a) for a in op.inputs.values()):
            return [assign(self.t(v), self.zero(name(v)))]
        code = custom.tangent(self, op, v)            # a JVP rule of the user's
        if code is not None:
            return code
        node = op.node
        args, keywords = _operands(node)
        spec = rules.expand(op.fn, op.rule, op.inputs, args, keywords)
        if isinstance(spec, rules.Terms):
            return self.inline(spec, op, v)
        if isinstance(spec, (rules.Linear, rules.Bilinear)) and rules.covers(op.fn, op.rule) is not None:
            self.no_tangent(op)
        if isinstance(spec, rules.Linear):
            return [assign(self.t(v), self.substitute(node, op, spec.names(op.rule)))]
        if isinstance(spec, rules.Bilinear):
            terms = [self.substitute(node, op, (p,)) for p in spec.names(op.rule) if self.active(op.inputs[p])]
            return [assign(self.t(v), _sum(terms))]
        self.no_tangent(op)

    def call_jvp(self, op):
        """`v = s2sgrad.jvp(f, args, tangents)`: its tangent is forward code over f's forward code along
        the tangents of args and tangents (compose.tangent_of_jvp, run at run time)."""
        args, tangents = op.inputs["args"], op.inputs["tangents"]
        directions = [gast.Tuple(elts=[self.tangent_or_zero(a) for a in elements(x)], ctx=gast.Load())
                      for x in (args, tangents)]
        node = op.node
        return call(name(self.ns.bind("tangent_of_jvp", tangent_of_jvp)),
                    [clone(node.args[0]), clone(args), clone(tangents)] + directions,
                    [(k.arg, clone(k.value)) for k in node.keywords])

    def call_derivative(self, op):
        """`v = df(x, a)` with df = grad(f): its tangent is the gradient of f's jvp along the arguments'
        tangents (compose.tangent_of_gradient, generated code run at run time)."""
        args = list(op.node.args)
        tangents = gast.Tuple(elts=[self.tangent_or_zero(a) for a in args], ctx=gast.Load())
        fn = name(self.ns.bind("tangent_of_gradient", tangent_of_gradient))
        return call(fn, [clone(op.node.func), tangents] + [clone(a) for a in args])

    def substitute(self, node, op, params):
        """`node` with the tangents of `params` in place of their values (a zero tangent where inactive)."""
        replace = {}
        for p in params:
            atom = op.inputs[p]
            if isinstance(atom, (gast.List, gast.Tuple)):      # np.stack([a, b]): each element's tangent
                replace[id(atom)] = type(atom)(elts=[self.tangent_or_zero(a) for a in atom.elts], ctx=gast.Load())
            else:
                replace[id(atom)] = self.tangent_or_zero(atom)
        return _Replace(replace).visit(clone_keeping(node, replace))

    def tangent_or_zero(self, atom):
        return name(self.t(atom.id)) if self.active(atom) else self.zero(atom)

    def inline(self, spec, op, v):
        mapping = dict(spec.inputs)
        for p, atom in spec.inputs.items():       # a list where an array goes: the array NumPy makes of it
            if isinstance(atom, (gast.List, gast.Tuple)) and p not in spec.sequences and \
                    any(isinstance(n, gast.Name) for n in walk(atom)):
                mapping[p] = call(gast.Attribute(value=name(self.ns.bind("np", numpy)), attr="array", ctx=gast.Load()),
                                  [atom])
        mapping[spec.output] = name(v)
        local_names, out, terms, full_shape = {}, [], [], not spec.broadcasts
        for stmt in spec.local:
            local_names[stmt.targets[0].id] = self.namer.fresh(stmt.targets[0].id)
        for stmt in spec.local:
            value = _Substitute(self, spec, mapping, local_names).visit(clone(stmt.value))
            out.append(assign(local_names[stmt.targets[0].id], value))
        for param, term in spec.terms:
            atom = spec.inputs.get(param)
            if not self.active(atom):
                continue
            if not isinstance(atom, (gast.Name, gast.List, gast.Tuple)):
                self.no_tangent(op)
            terms.append(_Substitute(self, spec, mapping, local_names).visit(clone(term)))
            others = [a for p, a in spec.inputs.items() if p != param]
            full_shape |= all(self.info.is_scalar(a) or _same_name(a, atom) for a in others)
        value = _sum(terms)
        if not full_shape and not self.info.is_scalar(name(v)):
            value = call(name(self.ns.bind("broadcast_like", broadcast_like)), [value, name(v)])
        return out + [assign(self.t(v), value)]

    def call_helper(self, s, op, v):
        """`v, v_dot = jvp_h(args, x_dot=...)`: the helper's own forward code gives value and tangent."""
        fn = op.fn
        params = [p for p in inspect.signature(fn, follow_wrapped=False).parameters if self.active(op.inputs.get(p))]
        if not params:
            return [clone(s), located(assign(self.t(v), self.zero(name(v))), s)]
        helper = self.derive_helper(fn, tuple(params), call_site_kinds(self.core, self.info, fn, op))
        fname = self.ns.bind(helper.name, helper)
        node = op.node
        keywords = [(k.arg, clone(k.value)) for k in node.keywords]
        keywords += [(kw, name(self.t(op.inputs[p].id))) for kw, p in zip(helper.tangents, params)]
        value = call(name(fname), [clone(a) for a in node.args], keywords)
        targets = gast.Tuple(elts=[name(v, store=True), name(self.t(v), store=True)], ctx=gast.Store())
        return [located(assign(targets, value), s)]

    def no_tangent(self, op):
        where = self.core.source.location(op.node)
        func = getattr(op.node, "func", None)
        label = (gast.unparse(func) if func is not None else type(op.node).__name__).strip()
        raise NoGradientRuleError(
            f"{where[0]}:{where[1]}:{where[2]}: cannot differentiate the call to {label} in forward mode: "
            f"s2sgrad has a gradient rule for it but no tangent rule for this form. Use reverse mode "
            f"(grad, vjp), or compute this value outside the differentiated function.\n    {where[3].strip()}")


def _operands(node):
    """(positional atoms, [(keyword, atom)]) of a core operation."""
    if isinstance(node, gast.BinOp):
        return [node.left, node.right], []
    if isinstance(node, gast.UnaryOp):
        return [node.operand], []
    return list(node.args), [(k.arg, k.value) for k in node.keywords]


def _sum(terms):
    out = terms[0]
    for term in terms[1:]:
        out = gast.BinOp(left=out, op=gast.Add(), right=term)
    return out


def _same_name(a, b):
    return isinstance(a, gast.Name) and isinstance(b, gast.Name) and a.id == b.id


def clone_keeping(node, replace):
    """A shallow rebuild of an operation whose operand nodes keep their identity (so `_Replace` finds them)."""
    if isinstance(node, gast.BinOp):
        return gast.BinOp(left=node.left, op=node.op, right=node.right)
    if isinstance(node, gast.UnaryOp):
        return gast.UnaryOp(op=node.op, operand=node.operand)
    return gast.Call(func=clone(node.func), args=list(node.args),
                     keywords=[gast.keyword(arg=k.arg, value=k.value) for k in node.keywords])


class _Replace(gast.NodeTransformer):
    """Operands (found by identity) replaced by their tangents; the others copied."""

    def __init__(self, replace):
        self.replace = replace

    def visit(self, node):
        if id(node) in self.replace:
            return self.replace[id(node)]
        if isinstance(node, (gast.Name, gast.Constant, gast.Attribute)):
            return clone(node)
        return super().visit(node)


class _Substitute(gast.NodeTransformer):
    """Instantiates one template expression: parameters become atoms, `t[x]` the tangent of x's
    atom, locals their fresh names, the template's globals names bound in the generated namespace."""

    def __init__(self, transform, spec, mapping, local_names):
        self.t = transform
        self.spec = spec
        self.mapping = mapping
        self.local_names = local_names

    def visit_Subscript(self, node):
        param = rules.tangent_of(node)
        if param is not None:
            atom = self.spec.inputs[param]
            if isinstance(atom, (gast.List, gast.Tuple)):    # a sequence: each element's tangent, or None
                tangents = gast.Tuple(elts=[name(self.t.t(a.id)) if self.t.active(a) else const(None)
                                            for a in atom.elts], ctx=gast.Load())
                if param in self.spec.sequences:
                    return tangents
                return call(name(self.t.ns.bind("stacked_tangent", stacked_tangent)), [tangents, clone(atom)])
            return name(self.t.t(atom.id))
        return self.generic_visit(node)

    def visit_Name(self, node):
        if node.id in self.mapping:
            return clone(self.mapping[node.id])
        if node.id in self.local_names:
            return name(self.local_names[node.id])
        if node.id in self.spec.globals:
            return name(self.t.ns.bind(node.id, self.spec.globals[node.id]))
        return node
