"""ANF: one operation per assignment, on atoms, with temporaries named after what they hold.

After this pass: every assignment's right-hand side is an atom, one operation on atoms, or an
opaque expression (`node.s2s_opaque`); methods and attributes of arrays are the NumPy functions
they mean (`x.sum(axis=1)` is `np.sum(x, axis=1)`); einsum's sublist form is its subscripts form.

Example:
    >>> body = ANF(source, namer).block(body)
"""

import collections
import copy
import inspect
import operator

import gast
import numpy

from .. import rules, runtime
from ..errors import UnsupportedSyntaxError
from ..frontend import LOCAL, NOT_FOUND, display_name, is_library, unresolved, unwrap
from ..syntax import assign, assigned_names, const, is_atom, located, name, walk
from .bind import canonical_call, has_star_arguments, has_star_parameters, spread_displays
from .desugar import _names


BINOPS = {
    gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul,
    gast.Div: operator.truediv, gast.Pow: operator.pow, gast.MatMult: operator.matmul,
    gast.Mod: operator.mod, gast.FloorDiv: operator.floordiv,
}
UNARYOPS = {gast.USub: operator.neg, gast.UAdd: operator.pos, gast.Not: operator.not_}
OP_WORDS = {
    gast.Add: "plus", gast.Sub: "minus", gast.Mult: "times", gast.Div: "over", gast.Pow: "pow",
    gast.MatMult: "matmul", gast.Mod: "mod", gast.FloorDiv: "floordiv",
}

# Methods and attributes of arrays, and the function each means (`x.sum(axis=1)` is `np.sum(x, axis=1)`).
METHODS = {
    "sum": numpy.sum, "mean": numpy.mean, "prod": numpy.prod, "max": numpy.max, "min": numpy.min,
    "var": numpy.var, "std": numpy.std, "cumsum": numpy.cumsum, "dot": numpy.dot, "clip": numpy.clip,
    "reshape": numpy.reshape, "ravel": numpy.ravel, "flatten": runtime.flatten, "transpose": numpy.transpose,
    "swapaxes": numpy.swapaxes, "squeeze": numpy.squeeze, "repeat": numpy.repeat, "trace": numpy.trace,
    "diagonal": numpy.diagonal, "copy": numpy.copy, "astype": runtime.astype, "round": numpy.round,
    "argmax": numpy.argmax, "argmin": numpy.argmin, "argsort": numpy.argsort, "any": numpy.any,
    "all": numpy.all, "nonzero": numpy.nonzero,
}
LIST_AND_DICT_METHODS = {"get", "update", "setdefault", "keys", "values", "items", "index", "count", "sort",
                         "reverse", "clear", "remove", "popitem"}
SHAPE_VARARGS = {"reshape", "transpose"}        # x.reshape(2, 3) is np.reshape(x, (2, 3))
ATTRIBUTES = {"T": numpy.transpose, "shape": numpy.shape, "ndim": numpy.ndim, "size": numpy.size,
              "dtype": numpy.result_type}


class ANF:
    """After this pass: one operation per assignment, on atoms, with temporaries named after what they hold."""

    def __init__(self, source, namer):
        self.source = source
        self.namer = namer
        self.layer_names = None if source.object_kinds else set()    # names bound to items of self.layers
        self.stores = {}                                 # how many times the function binds each name

    def block(self, stmts):
        if self.layer_names is None:                     # the function's whole (desugared) body: first
            self.find_layer_names(stmts)
            self.stores = collections.Counter(n.id for stmt in stmts for n in walk(stmt)
                                              if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store))
        out = []
        for s in stmts:
            out.extend(self.stmt(s))
        return out

    def stmt(self, s):
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Subscript):
            return self.setitem(s)
        if isinstance(s, gast.Assign):
            target = s.targets[0].id
            out = [located(n, s) for n in self.assign(target, s.value, s)]
            out[-1].s2s_augmented = getattr(s, "s2s_augmented", False)
            out[-1].s2s_tuple = getattr(s, "s2s_tuple", None)
            out[-1].s2s_list_update = getattr(s, "s2s_list_update", None)
            return out
        if isinstance(s, gast.If):
            s.body = self.block(s.body)
            s.orelse = self.block(s.orelse)
            return [s]
        if isinstance(s, gast.While):
            s.body = self.block(s.body)
            return [s]
        if isinstance(s, gast.For):
            s.body = self.block(s.body)
            if s.target.id in assigned_names(s.body):
                # The reverse sweep restores the loop variable from the range: keep that one unchanged.
                inner = s.target.id
                s.target = name(self.namer.fresh(f"{inner}_next"), store=True)
                s.body.insert(0, assign(inner, name(s.target.id), like=s))
            return self.for_range(s)
        if isinstance(s, gast.Expr):
            s.value.s2s_opaque = True
            return [s]
        return [s]

    def method_of_object(self, call):
        """`model.forward(x)` -> `Model_forward(model, x)`, `layer(x)` -> `Layer___call__(layer, x)`: a
        method of an object of the user's is a function of the user's, with the object as `self`."""
        self.refuse_layers_in_containers(call)
        kind = self.object_kind(call.func)
        cls = kind.cls if kind is not None else None
        if cls is not None and inspect.isfunction(getattr(cls, "__call__", None)) and not is_library(cls.__call__):
            obj = cls.__call__                            # model(X), self.linear(x) with the model differentiated
            return located(gast.Call(func=name(self.bind(display_name(obj), obj)), args=[call.func] + list(call.args),
                                     keywords=call.keywords), call)
        kind = self.object_kind(call.func.value) if isinstance(call.func, gast.Attribute) \
            and not isinstance(call.func.value, gast.Name) else None
        if kind is not None:                              # self.linear.forward(x): the layer's class's method
            if kind.hides_method(call.func.attr):
                self.refuse_hidden_method(call.func)
            fn = inspect.getattr_static(kind.cls, call.func.attr, NOT_FOUND)
            if inspect.isfunction(fn) and not is_library(fn):
                callee = name(self.bind(display_name(fn), fn))
                return located(gast.Call(func=callee, args=[call.func.value] + list(call.args),
                                         keywords=call.keywords), call)
        obj = self.source.resolve(call.func) if isinstance(call.func, (gast.Name, gast.Attribute)) else NOT_FOUND
        if unresolved(obj):
            return call
        if inspect.ismethod(obj) and inspect.isfunction(obj.__func__) and not is_library(obj.__func__) \
                and isinstance(call.func, gast.Attribute):
            fn, receiver = obj.__func__, call.func.value
        elif inspect.isfunction(obj) and isinstance(call.func, gast.Attribute) and isinstance(call.func.value, gast.Name) \
                and call.func.value.id in self.source.instance_of:
            fn, receiver = obj, call.func.value           # self.forward(x) in a method's generic code
        elif not inspect.isfunction(obj) and not inspect.isclass(obj) and inspect.isfunction(
                getattr(type(obj), "__call__", None)) and not is_library(type(obj).__call__):
            fn, receiver = type(obj).__call__, call.func
        else:
            return call
        callee = name(self.bind(display_name(fn), fn))
        return located(gast.Call(func=callee, args=[receiver] + list(call.args), keywords=call.keywords), call)

    def object_kind(self, node):
        """The InstanceOf kind of what `node` holds when it is an object differentiated (`model`, `self`) or
        an object held in one's attribute (`self.linear`, `self.block.linear`), else None."""
        if isinstance(node, gast.Name):
            return self.source.object_kinds.get(node.id)
        if isinstance(node, gast.Attribute):
            kind = self.object_kind(node.value)
            return kind.attr(node.attr) if kind is not None else None
        return None

    def refuse_hidden_method(self, func):
        """`self.a.forward(x)` where the object's own `forward` (set on it) hides the class's method."""
        self.unsupported(func, f"calls of '{gast.unparse(func).strip()}', an attribute of the object itself "
                         f"hiding its class's method '{func.attr}'",
                         "define the function in the class (or a subclass) rather than setting it on the object")

    def reads_layers(self, node):
        """Whether `node` reads (an item of) a list, tuple or dict attribute holding objects (`self.layers`)."""
        while isinstance(node, gast.Subscript):
            node = node.value
        if isinstance(node, gast.Name):
            return node.id in (self.layer_names or ())      # a copy of one: `layer_source = self.layers`
        if not isinstance(node, gast.Attribute):
            return False
        kind = self.object_kind(node.value)
        return kind is not None and kind.holds_objects(node.attr)

    def find_layer_names(self, stmts):
        """The names bound to a list of layers or its items (`layer_source = self.layers`, `layer = ...[i]`)."""
        self.layer_names, before = set(), None
        while before != self.layer_names:                 # through copies, in any order: until nothing is new
            before = set(self.layer_names)
            for s in (n for stmt in stmts for n in walk(stmt)):
                if isinstance(s, (gast.For, gast.comprehension)) and (self.reads_layers(s.iter) or isinstance(
                        s.iter, gast.Call) and any(map(self.reads_layers, s.iter.args))):    # enumerate(self.layers)
                    self.layer_names |= {n.id for n in walk(s.target) if isinstance(n, gast.Name)}
                elif isinstance(s, gast.Assign) and self.reads_layers(s.value):
                    self.layer_names |= {n.id for t in s.targets for n in walk(t) if isinstance(n, gast.Name)}

    def refuse_layers_in_containers(self, call):
        """`for layer in self.layers: x = layer(x)`, `self.layers[0](x)`: refused at the call (the kind of an
        object says its attributes' classes, not those of a container's items)."""
        func = call.func
        if isinstance(func, gast.Attribute) and not self.reads_layers(func):
            func = func.value                            # layer.forward(x)
        if isinstance(func, gast.Name) and func.id in (self.layer_names or ()) or self.reads_layers(func):
            self.unsupported(call.func, f"calls of '{gast.unparse(call.func).strip()}', a layer of a differentiated "
                             "object known only when the code runs (held in a list, tuple or dict attribute, or "
                             "a name bound to more than one layer)",
                             "hold each layer in an attribute of its own (self.layer1 = Linear(...)) and call "
                             "them one by one (x = self.layer2(self.layer1(x)))")

    def built_derivative(self, call):
        """`s2sgrad.grad(f)` called inside a differentiated function (`grad(f)(x) ** 3`, PyTorch's
        create_graph=True, JAX's grad(grad(f))) is made once, when the code is built, as `df = grad(f)` at
        module level is; so its arguments must be known then: functions, modules' values and constants."""
        def known(node):
            if isinstance(node, gast.Constant):
                return node.value
            if isinstance(node, gast.Tuple):
                return tuple(known(e) for e in node.elts)
            obj = self.source.resolve(node) if isinstance(node, (gast.Name, gast.Attribute)) else NOT_FOUND
            if unresolved(obj) or isinstance(node, gast.Starred):
                self.unsupported(node, f"arguments computed inside the function to '{gast.unparse(call.func).strip()}'",
                                 "name a function defined with 'def' and constant options, or make the gradient at "
                                 "module level (df = s2sgrad.grad(f)) and call df here")
            return obj
        if any(k.arg is None for k in call.keywords):
            self.unsupported(call, "'**' in a call to s2sgrad's derivative builders", "pass the options by name")
        builder = self.source.resolve(call.func)
        made = builder(*[known(a) for a in call.args], **{k.arg: known(k.value) for k in call.keywords})
        target = call.args[0] if call.args else None
        label = gast.unparse(target).strip().replace(".", "_") if isinstance(target, (gast.Name, gast.Attribute)) else "f"
        return located(name(self.bind(f"{builder.__name__}_{label}", made)), call)

    def dispatch(self, value):
        """The functions a call may call when its callee is an element of a container of functions
        (`ACTS[i](x)` with `ACTS = [np.tanh, relu]`, or a dict's values), or a local only ever assigned
        functions (`act = np.tanh if c else relu`), each once; else None."""
        if isinstance(value, gast.Call) and isinstance(value.func, gast.Name):
            return self.function_locals().get(value.func.id)
        if not (isinstance(value, gast.Call) and isinstance(value.func, gast.Subscript)):
            return None
        base = value.func.value
        container = self.source.resolve(base) if isinstance(base, (gast.Name, gast.Attribute)) else NOT_FOUND
        items = list(container.values()) if isinstance(container, dict) else container
        if not isinstance(items, (list, tuple)) or not items or len(items) > 16:
            return None
        if not all(callable(f) and not isinstance(f, type) for f in items):
            return None
        return list({id(f): f for f in items}.values())

    def function_locals(self):
        """{local: the functions it may hold} for the locals every assignment of which is a function
        (`act = np.tanh`, `act = relu if c else np.tanh`): a call of one is dispatched over them."""
        if getattr(self, "_function_locals", None) is None:
            def functions(node):
                if isinstance(node, gast.IfExp):
                    a, b = functions(node.body), functions(node.orelse)
                    return None if a is None or b is None else a + b
                if not isinstance(node, (gast.Name, gast.Attribute)):
                    return None
                fn = self.source.resolve(node)
                return [fn] if not unresolved(fn) and callable(fn) and not isinstance(fn, type) else None

            found, other, targets = {}, set(self.source.params), set()
            for n in walk(self.source.node):
                if isinstance(n, gast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], gast.Name):
                    fns = functions(n.value)
                    if fns is not None:
                        found.setdefault(n.targets[0].id, []).extend(fns)
                        targets.add(id(n.targets[0]))
            for n in walk(self.source.node):      # any other assignment: not only functions
                if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store) and id(n) not in targets:
                    other.add(n.id)
            self._function_locals = {k: list({id(f): f for f in v}.values()) for k, v in found.items()
                                     if k not in other and len(v) <= 16}
        return self._function_locals

    def dispatched(self, target, value, candidates, like):
        """`f = ACTS[i]; if f is ACTS_0: target = ACTS_0(x) elif ...`: the function chosen at run time is
        one of those the container held when the code was built (a stale one raises at run time)."""
        pre, chosen = self.atom(value.func, base="fn")
        chosen.s2s_opaque = True
        for stmt in pre:
            if isinstance(stmt, gast.Assign):
                stmt.value.s2s_opaque = True          # a function value: no derivative of its own
        orelse = [located(gast.Expr(value=gast.Call(func=name(self.bind("stale_function", runtime.stale_function)),
                                                    args=[name(chosen.id)], keywords=[])), like)]
        orelse[0].value.s2s_opaque = True
        for fn in reversed(candidates):
            callee = self.reference(fn) if getattr(numpy, getattr(fn, "__name__", ""), None) is fn else \
                name(self.bind(getattr(fn, "__name__", "fn"), fn))              # np.tanh, or the function's name
            call = located(gast.Call(func=callee, args=value.args, keywords=value.keywords), value)
            test = gast.Compare(left=name(chosen.id), ops=[gast.Is()], comparators=[copy.deepcopy(callee)])
            orelse = [located(gast.If(test=test, body=self.assign(target, call, like), orelse=orelse), like)]
        return pre + orelse

    def setitem(self, s):
        """`y[i, 1:n] = v` with atoms for the index parts and the value; marked `s2s_setitem`."""
        target = s.targets[0]
        if not isinstance(target.value, gast.Name) or self.source.resolve(target.value) is not LOCAL:
            self.unsupported(target, "assignments into an element of anything but a local array",
                             "make a local array first (y = np.zeros(n)) and assign into it")
        pre_v, value = self.atom(s.value)
        pre_i, index = self.index(target.slice)
        node = assign(gast.Subscript(value=name(target.value.id), slice=index, ctx=gast.Store()), value, like=s)
        node.s2s_setitem = True
        return [located(n, s) for n in pre_v + pre_i] + [node]

    def for_range(self, s):
        """Hoist `range(...)` arguments the body reassigns, so the trip range can be recomputed after the loop."""
        changed = assigned_names(s.body) | {s.target.id}
        args = s.iter.args
        if any(n in changed for a in args for n in _names(a)) or any(
                isinstance(n, gast.Call) for a in args for n in walk(a)):
            rng = self.namer.fresh(f"{s.target.id}_range")
            pre = assign(rng, s.iter, like=s)
            pre.value.s2s_opaque = True
            s.iter = name(rng)
            return [pre, s]
        return [s]

    def assign(self, target, value, like):
        """Statements computing `value` into `target`."""
        candidates = self.dispatch(value)
        if candidates:
            return self.dispatched(target, value, candidates, like)
        if isinstance(value, gast.IfExp):
            body = self.assign(target, value.body, like)
            orelse = self.assign(target, value.orelse, like)
            return [located(gast.If(test=value.test, body=body, orelse=orelse), like)]
        if self.opaque(value):
            value.s2s_opaque = True
            return [assign(target, value, like=like)]
        pre, op = self.operation(value)
        if target in _names(op) and not getattr(value, "s2s_self_ok", False):     # in_place(w * v, w) may
            temp = self.namer.fresh(_describe(op, self.source) or target)
            return pre + [assign(temp, op, like=like), assign(target, name(temp), like=like)]
        self.note_layer(target, op)
        return pre + [assign(target, op, like=like)]

    def atom(self, value, base=None):
        """(statements, atom) computing `value` into a Name or Constant."""
        if is_atom(value):
            return [], value
        if self.constant(value):
            return [], value        # `-1` stays a minus on a constant: printed `(-1.2) ** 2`, never `-1.2 ** 2`
        if isinstance(value, gast.IfExp) or self.opaque(value) or self.dispatch(value):
            temp = self.namer.fresh(base or _describe(value, self.source) or "t")
            return self.assign(temp, value, value), name(temp)
        pre, op = self.operation(value)
        temp = self.namer.fresh(base or _describe(op, self.source) or "t")
        self.note_layer(temp, op, once=True)
        return pre + [located(assign(temp, op, like=value), value)], name(temp)

    def note_layer(self, target, op, once=False):
        """`linear = self.linear` holds a layer: calls of it are its class's methods. A name of the user's
        only when the function binds it once (else which layer it holds depends on the path taken)."""
        kind = self.object_kind(op) if getattr(op, "s2s_getattr", False) else None
        if kind is not None and (once or self.stores.get(target) == 1 and target not in self.source.params):
            self.source.object_kinds[target] = kind
            self.source.instance_of[target] = kind.cls
        elif kind is not None and self.layer_names is not None:
            self.layer_names.add(target)              # its calls are refused (refuse_layers_in_containers)

    def operation(self, value):
        """(statements, expression with atom operands) for a differentiable expression."""
        if is_atom(value):
            return [], value
        if isinstance(value, gast.Attribute):
            if self.constant_attribute(value):
                return [], value
            if self.is_value(value.value) and value.attr not in ATTRIBUTES:   # self.W, x.imag: read as they are
                pre, base = self.atom(value.value)
                read = located(gast.Attribute(value=base, attr=value.attr, ctx=gast.Load()), value)
                read.s2s_getattr = True
                return pre, read
            if self.is_value(value.value):
                return self.operation(self.attribute_call(value))
            if callable(self.source.resolve(value)):          # act = np.tanh: a function value, no derivative
                value.s2s_opaque = True
                return [], value
            self.unsupported(value, f"attributes such as '{gast.unparse(value).strip()}'",
                             "compute it outside the differentiated function and pass it in")
        if isinstance(value, gast.Subscript):
            pre, base = self.atom(value.value)
            pre_i, index = self.index(value.slice)
            return pre + pre_i, located(gast.Subscript(value=base, slice=index, ctx=gast.Load()), value)
        if isinstance(value, gast.BinOp):
            pre_l, left = self.atom(value.left)
            pre_r, right = self.atom(value.right)
            return pre_l + pre_r, located(gast.BinOp(left=left, op=value.op, right=right), value)
        if isinstance(value, gast.UnaryOp):
            pre, operand = self.atom(value.operand)
            return pre, located(gast.UnaryOp(op=value.op, operand=operand), value)
        if isinstance(value, gast.Call):
            value = self.method_of_object(value)
            if isinstance(value.func, gast.Attribute) and self.is_value(value.func.value):
                value = self.method_call(value)
            rewrite = REWRITES.get(_hashable(self.source.resolve(value.func)))
            if rewrite is not None:
                value = rewrite(self, value)
            pre, func = [], value.func
            if isinstance(func, gast.Call) and getattr(self.source.resolve(func.func), "__s2sgrad_builds__", False):
                func = self.built_derivative(func)
            if not isinstance(func, (gast.Name, gast.Attribute)):    # make(a)(1.0): the callee is a value
                pre, func = self.atom(func, base="fn")
                func.s2s_label = gast.unparse(value.func).strip()
            # A helper of the user's takes a list or tuple display as one value (a container it reads), a
            # rule as a display of atoms (`np.stack([a, b])`).
            callee = self.source.resolve(func)
            argument = self.atom if inspect.isfunction(callee) and not is_library(callee) else self.argument
            if has_star_arguments(value) or _own_function(callee) and has_star_parameters(unwrap(callee)):
                p, value = self.starred_call(value, func, callee)
                pre += p
            args = []
            for a in value.args:
                if isinstance(a, gast.Starred):              # a helper's whole *args (see lower/bind.py)
                    p, at = self.atom(a.value, base=getattr(a, "s2s_base", None))
                    pre += p
                    args.append(gast.Starred(value=at, ctx=gast.Load()))
                    continue
                p, at = argument(a)
                pre += p
                args.append(at)
            keywords = []
            for kw in value.keywords:
                p, at = argument(kw.value) if kw.arg is not None else \
                    self.atom(kw.value, base=getattr(kw, "s2s_base", None))       # a helper's whole **kwargs
                pre += p
                keywords.append(gast.keyword(arg=kw.arg, value=at))
            return pre, located(gast.Call(func=func, args=args, keywords=keywords), value)
        if isinstance(value, gast.BoolOp):
            self.unsupported(value, "'and'/'or' on numeric values",
                             "write 'a if condition else b' to choose between values")
        if isinstance(value, (gast.Tuple, gast.List)):       # a container of atoms: analysis's "pack"
            return self.argument(value)
        if isinstance(value, gast.Dict):
            pre, keys, values = [], [], []
            for k, v in zip(value.keys, value.values):
                if k is None:
                    self.unsupported(v, "'**' in dict displays", "write each key: {'a': a, **d} as {'a': a, 'b': d['b']}")
                p, key = self.atom(k)
                q, item = self.atom(v)
                pre += p + q
                keys.append(key)
                values.append(item)
            return pre, located(gast.Dict(keys=keys, values=values), value)
        self.unsupported(value, f"'{type(value).__name__}' expressions", "rewrite with arithmetic and calls")

    def starred_call(self, call, func, callee):
        """(statements, call) for a call passing `*xs` or `**d`, or calling a function of the user's that
        takes `*args` or `**kwargs`: bound as Python binds it, in the canonical form of lower/bind.py (the
        values passed starred computed first, once); refused for any other callee."""
        call = spread_displays(call)
        label = getattr(func, "s2s_label", None) or gast.unparse(func).strip()
        if not _own_function(callee):
            starred = next((a for a in call.args if isinstance(a, gast.Starred)), None)
            if starred is not None:
                self.unsupported(starred, f"'*' arguments in calls of {label}",
                                 "pass the values one by one ('*' and '**' are bound for functions of your own)")
            double = next((k for k in call.keywords if k.arg is None), None)
            if double is not None:
                self.unsupported(double.value, f"'**' arguments in calls of {label}",
                                 "pass keyword arguments by name ('*' and '**' are bound for functions of your own)")
            return [], call
        fn = unwrap(callee)
        pre, args, keywords = [], [], []
        for a in call.args:
            if isinstance(a, gast.Starred):
                p, at = self.atom(a.value)
                at = located(at, a.value)
                at.s2s_label = gast.unparse(a.value).strip()
                pre += p
                a = located(gast.Starred(value=at, ctx=gast.Load()), a)
            args.append(a)
        for k in call.keywords:
            if k.arg is None:
                p, at = self.atom(k.value)
                at = located(at, k.value)
                at.s2s_label = gast.unparse(k.value).strip()
                pre += p
                k = gast.keyword(arg=None, value=at)
            keywords.append(k)
        call = located(gast.Call(func=call.func, args=args, keywords=keywords), call)
        guards, call = canonical_call(call, fn, label, self.source.location, self.own_keywords(call))
        params = {p.kind: p.name for p in inspect.signature(fn, follow_wrapped=False).parameters.values()}
        for a in call.args:
            if isinstance(a, gast.Starred):
                a.s2s_base = f"{display_name(fn)}_{params[inspect.Parameter.VAR_POSITIONAL]}"
        for k in call.keywords:
            if k.arg is None:
                k.s2s_base = f"{display_name(fn)}_{params[inspect.Parameter.VAR_KEYWORD]}"
        return pre + guards, call

    def own_keywords(self, call):
        """The names of the function's own parameters when `call` passes on its own `**kwargs` (never
        reassigned): keys Python keeps out of that dict (a positional-only one may be in it)."""
        args = self.source.node.args
        double = next((k.value for k in call.keywords if k.arg is None), None)
        if args.kwarg is None or not isinstance(double, gast.Name) or double.id != args.kwarg.id:
            return frozenset()
        stored = {n.id for n in walk(self.source.node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
        if args.kwarg.id in stored:
            return frozenset()
        try:
            params = inspect.signature(self.source.fn).parameters.values()
        except (TypeError, ValueError):
            return frozenset()
        return frozenset(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))

    def argument(self, value):
        """(statements, atom) for a call argument: a list or tuple display of values stays a display of atoms
        (`np.stack([a, b])`), and constants (`axis=(0, 1)`, `-1`) stay as written."""
        if isinstance(value, (gast.List, gast.Tuple)) and not self.constant(value):
            pre, elts = [], []
            for e in value.elts:
                if isinstance(e, gast.Starred):
                    self.unsupported(e, "starred expressions ('*xs')", "pass the values one by one")
                p, at = self.atom(e)
                pre += p
                elts.append(at)
            return pre, located(type(value)(elts=elts, ctx=gast.Load()), value)
        return self.atom(value)

    def index(self, node):
        """(statements, index) with every part of an index an atom: `x[i + 1, 2:n, None, ...]`."""
        if isinstance(node, gast.Slice):
            pre, parts = [], {}
            for field in ("lower", "upper", "step"):
                part = getattr(node, field)
                if part is None:
                    parts[field] = None
                else:
                    p, parts[field] = self.atom(part)
                    pre += p
            return pre, gast.Slice(**parts)
        if isinstance(node, gast.Tuple):
            pre, elts = [], []
            for e in node.elts:
                p, at = self.index(e)
                pre += p
                elts.append(at)
            return pre, gast.Tuple(elts=elts, ctx=gast.Load())
        return self.argument(node)

    def constant(self, node):
        """Whether `node` is a literal (numbers, None, `...`, strings, `-1`, tuples and lists of them) or a
        global constant such as `math.pi`."""
        if isinstance(node, gast.Constant):
            return True
        if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
            return isinstance(node.operand, gast.Constant) and _number(node.operand.value)
        if isinstance(node, (gast.Tuple, gast.List)):
            return all(self.constant(e) for e in node.elts)
        if isinstance(node, gast.Attribute):      # math.pi, np.float32: global objects, no derivative
            return not unresolved(self.source.resolve(node))
        return False

    def is_value(self, node):
        """Whether `node` (the `x` of `x.attr`) is a value (a local, an expression, a global array) rather
        than a module or class whose attribute is a function or constant."""
        if not isinstance(node, (gast.Name, gast.Attribute)):
            return True
        if isinstance(node, gast.Name) and node.id in self.source.instance_of:
            return True
        obj = self.source.resolve(node)
        return obj is LOCAL or isinstance(obj, (numpy.ndarray, numpy.generic))

    def attribute_call(self, node):
        """`x.T` -> `np.transpose(x)`, `x.shape` -> `np.shape(x)`."""
        fn = ATTRIBUTES.get(node.attr)
        if fn is None:
            self.unsupported(node, f"attributes such as '.{node.attr}' on values",
                             f"use one of {', '.join('.' + a for a in ATTRIBUTES)}, or compute it outside "
                             "the differentiated function")
        return located(gast.Call(func=self.reference(fn), args=[node.value], keywords=[]), node)

    def method_call(self, node):
        """`x.sum(axis=1)` -> `np.sum(x, axis=1)`; `x.reshape(2, 3)` -> `np.reshape(x, (2, 3))`."""
        method = node.func.attr
        fn = METHODS.get(method)
        base = node.func.value
        kind = self.object_kind(base)
        if fn is None and kind is not None and kind.hides_method(method):
            self.refuse_hidden_method(node.func)
        if fn is None and isinstance(base, gast.Attribute) and isinstance(base.value, gast.Name) \
                and base.value.id in self.source.instance_of or fn is None and isinstance(base, gast.Name) \
                and base.id in self.source.instance_of:
            self.unsupported(node.func, f"calls of '{gast.unparse(node.func).strip()}' in the generic code of a "
                             "method (what the object's attributes hold is known only when it is called)",
                             "call the gradient with the object (s2sgrad.grad(model.loss)) to differentiate it")
        if fn is None and method in ("append", "insert", "pop", "extend"):
            self.unsupported(node.func, f"calls of '{gast.unparse(node.func).strip()}(...)' inside an expression",
                             "call it in a statement of its own ('hs.append(h)', 'h = hs.pop()') and use "
                             "the variable")
        if fn is None and method in LIST_AND_DICT_METHODS:
            self.unsupported(node.func, f"the list and dict method '.{method}()'",
                             "write it with indexing, loops and the list methods s2sgrad follows: "
                             "'hs.append(h)', 'hs.insert(i, h)', 'h = hs.pop()', 'hs.extend(xs)', "
                             "'d[key] = v'")
        if fn is None:
            self.unsupported(node.func, f"methods other than those of arrays, such as '.{method}()',",
                             "call a function instead: np.<function>(x, ...) for an array, or for an object of "
                             "yours a function defined with 'def' taking its arrays as arguments; the array "
                             "methods s2sgrad knows: " + ", ".join(sorted(METHODS)))
        args = list(node.args)
        if method in SHAPE_VARARGS and len(args) > 1:
            args = [gast.Tuple(elts=args, ctx=gast.Load())]
        keywords = list(node.keywords)
        if method == "copy" and not any(k.arg == "order" for k in keywords):   # ndarray.copy() is C-ordered,
            keywords.append(gast.keyword(arg="order", value=const("C")))      # np.copy keeps the layout
        call = gast.Call(func=self.reference(fn), args=[node.func.value] + args, keywords=keywords)
        return located(call, node)

    def reference(self, obj):
        """An expression meaning `obj` in the generated code (`np.sum` with the user's own alias for numpy,
        or a name bound to a helper of s2sgrad's runtime)."""
        module = numpy if getattr(numpy, obj.__name__, None) is obj else None
        if module is None:
            return name(self.bind(obj.__name__, obj))
        return gast.Attribute(value=name(self.bind("np", numpy)), attr=obj.__name__, ctx=gast.Load())

    def bind(self, preferred, obj):
        for key, value in self.source.namespace.items():
            if value is obj and key not in self.source.locals:
                return key
        key = self.namer.fresh(preferred)
        self.source.namespace[key] = obj
        return key

    def opaque(self, value):
        """Whether an expression's value carries no derivative (so it is kept whole)."""
        if isinstance(value, (gast.Compare, gast.JoinedStr)):
            return True
        if isinstance(value, gast.UnaryOp) and isinstance(value.op, gast.Not):
            return True
        if isinstance(value, gast.BoolOp):
            return all(self.opaque(v) or (isinstance(v, gast.Constant) and isinstance(v.value, bool))
                       for v in value.values)
        if isinstance(value, gast.BinOp) and isinstance(value.op, gast.FloorDiv):
            return True
        if isinstance(value, gast.Call):
            return rules.is_nondifferentiable(self.source.resolve(value.func))
        return False

    def constant_attribute(self, node):
        obj = self.source.resolve(node)
        return obj is not NOT_FOUND and obj is not LOCAL and not callable(obj)

    def unsupported(self, node, what, instead):
        raise UnsupportedSyntaxError(f"{what} are not supported; {instead}", self.source.location(node))


def _own_function(obj):
    """Whether `obj` is a function of the user's that the compiler differentiates as a helper (not one with
    a rule of its own, whose template binds its arguments itself)."""
    fn = unwrap(obj)
    if not inspect.isfunction(fn) or is_library(fn) or hasattr(obj, "__s2sgrad_derivative__"):
        return False
    return not (rules.lookup(obj) or rules.is_nondifferentiable(obj))


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _hashable(obj):
    try:
        hash(obj)
    except TypeError:
        return None
    return obj


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def einsum_subscripts(anf, call):
    """`np.einsum(x, [0, 1], y, [1, 2], [0, 2])` (the sublist form) -> `np.einsum("ab,bc->ac", x, y)`, so
    that one rule covers both forms; the sublists must be written out as literals."""
    args = call.args
    if not args or (isinstance(args[0], gast.Constant) and isinstance(args[0].value, str)):
        return call

    def letters(node):
        if not (isinstance(node, (gast.List, gast.Tuple)) and all(
                isinstance(e, gast.Constant) and (type(e.value) is int or e.value is Ellipsis) for e in node.elts)):
            anf.unsupported(node, "np.einsum sublists other than literal lists of integers",
                            "write the subscripts as a string: np.einsum('ij,jk->ik', a, b)")
        out = []
        for e in node.elts:
            if e.value is Ellipsis:
                out.append("...")
            elif 0 <= e.value < len(_LETTERS):
                out.append(_LETTERS[e.value])
            else:
                anf.unsupported(e, "np.einsum sublist labels outside 0..51", "use labels from 0 to 51")
        return "".join(out)

    operands, subs = args[0::2], args[1::2]
    output = None
    if len(args) % 2:                          # a trailing sublist names the output
        operands, output = operands[:-1], args[-1]
    text = ",".join(letters(s) for s in subs) + ("" if output is None else "->" + letters(output))
    return located(gast.Call(func=call.func, args=[const(text)] + list(operands), keywords=call.keywords), call)


REWRITES = {numpy.einsum: einsum_subscripts}       # calls written another way first (one rule per function)





def _describe(node, source):
    """A readable name for the value of `node`: sin_x, x_times_y, neg_x, ..."""
    def part(n):
        if isinstance(n, gast.Name):
            return n.id
        if isinstance(n, gast.Constant) and isinstance(n.value, int) and not isinstance(n.value, bool):
            return str(n.value) if n.value >= 0 else None
        if isinstance(n, gast.Constant) and isinstance(n.value, str) and n.value.isidentifier():
            return n.value                   # params["W1"] is params_W1
        return None

    if isinstance(node, gast.Call):
        func = node.func
        fname = func.attr if isinstance(func, gast.Attribute) else getattr(func, "id", "call")
        first = part(node.args[0]) if node.args else None
        text = f"{fname}_{first}" if first else fname
        return text if len(text) <= 24 else fname
    if isinstance(node, gast.BinOp):
        word = OP_WORDS.get(type(node.op), "op")
        parts = [p for p in (part(node.left), word, part(node.right)) if p]
        text = "_".join(parts)
        return text if len(text) <= 24 else word
    if isinstance(node, gast.UnaryOp):
        operand = part(node.operand)
        word = {gast.USub: "neg", gast.UAdd: "pos", gast.Not: "not"}.get(type(node.op), "op")
        return f"{word}_{operand}" if operand else word
    if isinstance(node, gast.Subscript):
        base, index = part(node.value), part(node.slice)
        return f"{base}_{index}" if base and index else (f"{base}_part" if base else None)
    if isinstance(node, gast.Attribute):      # self.W
        return node.attr
    if isinstance(node, gast.Compare):
        return "cond"
    if isinstance(node, gast.IfExp):
        return "choice"
    return None
