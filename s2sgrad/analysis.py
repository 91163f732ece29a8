"""Analyses of the lowered core: what each assignment computes, activity, scalar kinds, to-be-recorded.

- `operation(core, value)` classifies a right-hand side (copy, rule, helper call, ...).
- activity: a name is active when it depends on a `wrt` input (varied) and the result
  depends on it (useful); everything else gets no adjoint code.
- kinds: names known to hold Python scalars (so adjoints need no `unbroadcast`).
- to-be-recorded: names the reverse sweep reads; only their overwritten values are saved.

All analyses are flow-insensitive over names: conservative (an inactive value may be
treated as active, never the reverse), which costs speed at worst, never correctness.

Example:
    >>> info = analyze(core, wrt=("x",))
    >>> info.active, info.recorded
"""

import builtins
import copy
import inspect
from dataclasses import dataclass, field

import gast
import numpy

from . import custom, rules, runtime
from .check import check
from .errors import NoGradientRuleError, UnsupportedSyntaxError
from .compose import is_known
from .frontend import LOCAL, NOT_FOUND, InstanceOf, Known, is_library, parse, unresolved, unwrap
from .lower import BINOPS, UNARYOPS, lower
from .lower.bind import bound_arguments
from .shapes import Shapes, infer as infer_shapes, ndim_of
from .syntax import assign, clone, const, leaves, name, walk

SCALAR, UNKNOWN = "scalar", "unknown"       # and "ndim:2": an array of that many dimensions (a parameter)
CONTAINER = "container"                     # a list, tuple or dict (of arrays, ...): a parameter
CONTAINER_COPIES = {copy.copy, copy.deepcopy}       # of a container: a container
LIST_UPDATES = {runtime.append: ("xs", "x"), runtime.insert: ("xs", "i", "x"), runtime.pop: ("xs", "i")}
SCALAR_BUILTINS = {builtins.float, builtins.int, builtins.len, builtins.round, builtins.abs,
                   builtins.min, builtins.max, builtins.bool}


@dataclass
class Op:
    """What one right-hand side computes."""

    kind: str                       # copy | const | opaque | rule | helper | norule | getitem | setitem
                                    # | pack (a list, tuple or dict display) | update (hs.append(x), ...)
    node: gast.expr
    inputs: dict = field(default_factory=dict)   # parameter name -> atom (rule or helper)
    rule: object = None
    fn: object = None               # the primitive or the helper function
    callee: gast.expr = None        # a local name called as a function (`g(1.0)` with `g = make(a)`)

    def differentiable_inputs(self):
        """Atoms through which a derivative flows (for "norule", every input: the operation is refused when
        one of them carries a derivative)."""
        if self.kind in ("copy", "getitem"):
            return [self.node if self.kind == "copy" else self.node.value]
        if self.kind == "pack":
            return list(self.inputs.values())
        if self.kind == "update":           # the list and the item it takes (pop takes none)
            return [self.inputs[p] for p in ("xs", "x") if p in self.inputs]
        if self.kind == "rule":
            return [a for p in self.rule.differentiable() for a in elements(self.inputs[p])]
        if self.kind == "getattr":          # a container's field (p.W of a NamedTuple); refused off containers
            return [self.node.value] if isinstance(self.node.value, gast.Name) else []
        if self.kind in ("helper", "norule", "setitem", "derivative", "jvpcall"):
            callee = [self.callee] if self.callee is not None else []
            return [a for v in self.inputs.values() for a in elements(v)] + callee
        return []

    def underived(self):
        """(what, names) for every position this operation reads without differentiating it: a value that
        depends on a wrt input there would lose its derivative, so `check_activity` refuses it."""
        if self.kind in ("getitem", "setitem"):
            if getattr(self.node, "s2s_item_of_tuple", False):
                return []
            return [("index", index_names(self.node.slice))]
        if self.kind == "pack" and isinstance(self.node, gast.Dict):
            return [("index", {k.id for k in self.node.keys if isinstance(k, gast.Name)})]
        if self.kind == "update" and "i" in self.inputs:
            return [("index", index_names(self.inputs["i"]))]

        if self.kind == "rule":
            skipped = set(self.rule.inputs) - set(self.rule.differentiable()) - set(getattr(self.rule, "inert", ()))
            return [(p, {a.id for a in elements(self.inputs[p]) if isinstance(a, gast.Name)})
                    for p in self.rule.inputs if p in skipped]
        return []


def elements(atom):
    """The atoms of an argument: itself, or the elements of a list or tuple display (`np.stack([a, b])`)."""
    return list(atom.elts) if isinstance(atom, (gast.List, gast.Tuple)) else [atom]


def target_of(stmt):
    """The variable a core assignment changes: `y` for `y = ...` and for `y[i] = ...`."""
    target = stmt.targets[0]
    return target.value.id if isinstance(target, gast.Subscript) else target.id


def is_setitem(stmt):
    return isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Subscript)


def index_names(index):
    """Names an index reads (`i` and `n` in `x[i, :n]`)."""
    return {n.id for n in walk(index) if isinstance(n, gast.Name)}


def operation(core, value):
    """Classify the right-hand side of a core assignment."""
    if getattr(value, "s2s_opaque", False):
        return Op("opaque", value)
    if isinstance(value, gast.Name):
        return Op("copy", value)
    if isinstance(value, gast.Attribute) and getattr(value, "s2s_getattr", False):
        return Op("getattr", value, {"x": value.value})      # an attribute of a value: no derivative
    if isinstance(value, (gast.List, gast.Tuple, gast.Dict)):
        items = value.values if isinstance(value, gast.Dict) else value.elts
        return Op("pack", value, {str(k): item for k, item in enumerate(items)})
    if isinstance(value, (gast.Constant, gast.Attribute)):
        return Op("const", value)
    if isinstance(value, gast.Subscript):
        return Op("getitem", value, {"x": value.value})
    if isinstance(value, gast.BinOp):
        return _primitive(BINOPS[type(value.op)], value, [value.left, value.right], [])
    if isinstance(value, gast.UnaryOp):
        return _primitive(UNARYOPS[type(value.op)], value, [value.operand], [])
    if isinstance(value, gast.Call):
        obj = core.source.resolve(value.func)
        keywords = [(k.arg, k.value) for k in value.keywords]
        if obj is NOT_FOUND or obj is LOCAL:
            callee = value.func if isinstance(value.func, gast.Name) else None      # a temporary is NOT_FOUND
            return Op("norule", value, _positional(value), fn=None, callee=callee)
        starred = any(isinstance(a, gast.Starred) for a in value.args) or any(k is None for k, _ in keywords)
        if starred and not (inspect.isfunction(unwrap(obj)) and not is_library(unwrap(obj))):
            return Op("norule", value, _positional(value), fn=obj)      # lowering binds '*' for helpers only
        if _hashable_in(obj, LIST_UPDATES):                            # hs = append(hs, x): hs.append(x)
            return Op("update", value, dict(zip(LIST_UPDATES[obj], value.args)), fn=obj)
        if rules.lookup(obj) or rules.is_nondifferentiable(obj):     # x.shape lowers to np.shape(x) here
            return _primitive(obj, value, value.args, keywords)
        if hasattr(obj, "__s2sgrad_derivative__"):                       # df(x) with df = grad(f)
            kind = "derivative" if obj.__s2sgrad_derivative__[0] == "grad" and not keywords else "norule"
            return Op(kind, value, {str(i): a for i, a in enumerate(value.args)}, fn=obj)
        if _is_jvp_call(core, obj, value):                               # s2sgrad.jvp(f, (x,), (u,))
            fn, args, tangents = value.args
            return Op("jvpcall", value, {"args": args, "tangents": tangents}, fn=core.source.resolve(fn))
        helper = unwrap(obj)
        if inspect.isfunction(helper) and not is_library(helper):
            if any(isinstance(a, (gast.List, gast.Tuple)) for a in list(value.args) + [k for _, k in keywords]):
                return Op("norule", value, _positional(value), fn=obj)
            try:
                bound = bound_arguments(helper, value.args, keywords)      # *args a tuple, **kwargs a dict
            except TypeError:
                return Op("norule", value, _positional(value), fn=obj)
            return Op("helper", value, bound, fn=helper)
        return Op("norule", value, _positional(value), fn=obj)
    return Op("opaque", value)


def _is_jvp_call(core, obj, call):
    """`s2sgrad.jvp(f, (args...), tangents[, wrt=constant])` with f a function of the user's."""
    if getattr(obj, "__module__", None) != "s2sgrad.api" or getattr(obj, "__name__", None) != "jvp":
        return False
    if len(call.args) != 3 or any(k.arg != "wrt" or not isinstance(k.value, (gast.Constant, gast.Tuple))
                                  for k in call.keywords):
        return False
    fn = core.source.resolve(call.args[0])
    return inspect.isfunction(fn) and isinstance(call.args[1], gast.Tuple)


def _positional(call):
    out = {str(i): a.value if isinstance(a, gast.Starred) else a for i, a in enumerate(call.args)}
    out.update({k.arg or "**": k.value for k in call.keywords})
    return out


def _primitive(obj, node, args, keywords):
    if rules.is_nondifferentiable(obj):
        return Op("opaque", node)
    for rule in rules.lookup(obj):
        inputs = rule.bind(args, keywords)
        if inputs is not None:
            return Op("rule", node, inputs, rule=rule, fn=obj)
    inputs = {str(i): a for i, a in enumerate(args)}
    return Op("norule", node, inputs, fn=obj)


@dataclass
class Analysis:
    ops: dict            # id(assign node) -> Op
    varied: set
    useful: set
    active: set
    kinds: dict
    recorded: set        # names the reverse sweep reads
    mutated: set = field(default_factory=set)   # arrays written by index, and names that may share their memory
    select: tuple = None         # positions of the returned values to differentiate (None: all)
    tuples: dict = field(default_factory=dict)   # name -> length, for tuples a helper returned (a, b = h(x))
    used_items: dict = field(default_factory=dict)   # such a tuple -> positions of the items that reach the result
    containers: set = field(default_factory=set)     # names that may hold a container (their adjoints mirror it)
    retain: tuple = ()           # locals whose adjoint at their last assignment is returned too (retain=)
    shapes: dict = field(default_factory=Shapes)     # name -> shape known at compile time (s2sgrad.shapes)
    elements: dict = field(default_factory=dict)     # name -> what element of a whole array it is (loop_elements)
    recomputed: dict = field(default_factory=dict)   # name -> (math function, its argument) (recomputable)

    def op(self, stmt):
        return self.ops[id(stmt)]

    def shape_of(self, atom):
        """The shape an atom is known to have (a tuple, () for a number), else None."""
        if isinstance(atom, gast.UnaryOp):
            atom = atom.operand
        if isinstance(atom, gast.Constant):
            return () if isinstance(atom.value, (int, float)) else None
        if isinstance(atom, gast.Name):
            shape = self.shapes.get(atom.id)
            return () if shape is None and self.kinds.get(atom.id) == SCALAR else shape
        return None

    def same_shape_as_part(self, value, x, index):
        """Whether the value written by `x[index] = value` is known to have the shape of x[index] (its
        adjoint, read back from x's, needs no unbroadcasting)."""
        part = self.shapes.part(x.id, index) if isinstance(x, gast.Name) else None
        return part is not None and None not in part and part == self.shape_of(value)

    def scalar_part(self, x, index):
        """Whether x[index] is known to be one element (a NumPy scalar, saved without a copy)."""
        return isinstance(x, gast.Name) and self.shapes.part(x.id, index) == ()

    def is_scalar(self, atom):
        if isinstance(atom, gast.UnaryOp):        # a negative number, `-3.0`
            atom = atom.operand
        if isinstance(atom, gast.Constant):
            return isinstance(atom.value, (int, float))
        if isinstance(atom, gast.Attribute):
            return True
        if isinstance(atom, gast.Name):
            return self.kinds.get(atom.id) == SCALAR
        return False


def _repack_whole_tuples(core, assigns, ops):
    """A tuple a call returned (a helper's `return a, b`), read whole anywhere but in the returned value
    (`sum(pair(x))`, `q = t`, a loop over it): its items are taken one by one after each call and packed
    again (`t_0 = t[0]; t_1 = t[1]; t_items = (t_0, t_1)`), and the whole reads read that display. The
    call's pullback takes one seed per item, which the display's adjoint gives. Whether it rewrote."""
    lengths = {}
    for s in assigns:
        if not is_setitem(s) and isinstance(s.targets[0], gast.Name):
            n = _tuple_length(core, s, ops[id(s)])
            if n:
                lengths[s.targets[0].id] = n
    if not lengths:
        return False
    kept = set()                        # Name nodes that stay: `a = t[0]` and the definitions themselves
    for s in assigns:
        value = s.value
        if isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name) and \
                isinstance(value.slice, gast.Constant) and type(value.slice.value) is int:
            kept.add(id(value.value))
    kept |= {id(a) for a in leaves(core.result) if isinstance(a, gast.Name)}
    whole = {n.id for stmt in core.body for n in walk(stmt) if isinstance(n, gast.Name)
             and n.id in lengths and isinstance(n.ctx, gast.Load) and id(n) not in kept}
    if not whole:
        return False
    packed = {t: core.namer.fresh(f"{t}_items") for t in sorted(whole)}

    def block(stmts):
        out = []
        for stmt in stmts:
            for node in walk(stmt):
                if isinstance(node, gast.Name) and node.id in packed and isinstance(node.ctx, gast.Load) \
                        and id(node) not in kept:
                    node.id = packed[node.id]
            for field_name in ("body", "orelse"):
                if getattr(stmt, field_name, None):
                    setattr(stmt, field_name, block(getattr(stmt, field_name)))
            out.append(stmt)
            t = stmt.targets[0].id if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) \
                else None
            if t in packed and id(stmt) in ops and _tuple_length(core, stmt, ops[id(stmt)]):
                items = [core.namer.fresh(f"{t}_{k}") for k in range(lengths[t])]
                out += [assign(item, gast.Subscript(value=name(t), slice=const(k), ctx=gast.Load()), like=stmt)
                        for k, item in enumerate(items)]
                out.append(assign(packed[t], gast.Tuple(elts=[name(i) for i in items], ctx=gast.Load()),
                                  like=stmt))
        return out

    core.body = block(core.body)
    return True


def assignments(stmts):
    """Every core assignment, in program order, loops and branches included."""
    for s in stmts:
        if isinstance(s, gast.Assign):
            yield s
        for field_name in ("body", "orelse"):
            yield from assignments(getattr(s, field_name, []) or [])


def loops(stmts):
    for s in stmts:
        if isinstance(s, gast.For):
            yield s
        for field_name in ("body", "orelse"):
            yield from loops(getattr(s, field_name, []) or [])


def _operations(core, assigns, mode):
    """id(assignment) -> its Op, as the transform for `mode` differentiates it (custom.resolve: a call with a
    rule of the user's for another mode only is differentiated by its body)."""
    return {id(s): (Op("setitem", s.targets[0], {"value": s.value}) if is_setitem(s) else
                    custom.resolve(operation(core, s.value), mode)) for s in assigns}


def analyze(core, wrt, param_kinds=None, select=None, mode="reverse", retain=()):
    """Run every analysis the reverse transform needs.

    `select` names the returned values (positions among the leaves of a returned tuple) whose
    derivative is wanted; None means all of them.

    `param_kinds` maps parameters to SCALAR or UNKNOWN (arrays); parameters it does not
    name are SCALAR when annotated `float` or `int`, else UNKNOWN.
    """
    assigns = list(assignments(core.body))
    kinds = _kinds(core, assigns, param_kinds or {})
    _rebind_scalars(core, assigns, kinds)
    ops = _operations(core, assigns, mode)
    if _repack_whole_tuples(core, assigns, ops):
        assigns = list(assignments(core.body))
        kinds = _kinds(core, assigns, param_kinds or {})
        ops = _operations(core, assigns, mode)
    edges = []     # (target, input names)
    for s in assigns:
        inputs = [a.id for a in ops[id(s)].differentiable_inputs() if isinstance(a, gast.Name)]
        edges.append((target_of(s), inputs))

    varied = set(wrt) | set(retain)         # a retained name's adjoint is wanted even if no wrt input reaches it
    _fixpoint(varied, [(t, ins) for t, ins in edges], forward=True)
    outputs = [a for k, a in enumerate(leaves(core.result)) if select is None or k in select]
    useful = {a.id for a in outputs if isinstance(a, gast.Name)}
    _fixpoint(useful, edges, forward=False)
    active = varied & useful

    _check_discarded_calls(core, core.body, varied)
    mutated = _check_in_place_updates(core, assigns, ops, kinds)
    tuples = {}
    for s in assigns:
        if not is_setitem(s):
            length = _tuple_length(core, s, ops[id(s)])
            if length:
                tuples[s.targets[0].id] = length
    used_items = {t: set() for t in tuples}
    for s in assigns:                   # `a = t[0]` on a tuple a helper returned: one adjoint per item
        op = ops[id(s)]
        if op.kind == "getitem" and isinstance(op.node.value, gast.Name) and op.node.value.id in tuples:
            op.node.s2s_item_of_tuple = True
            if target_of(s) in useful:
                used_items[op.node.value.id].add(op.node.slice.value)
    for a in outputs:                   # a tuple returned whole: every item
        if isinstance(a, gast.Name) and a.id in tuples:
            used_items[a.id] = set(range(tuples[a.id]))
    # A parameter passed a container holds one on entry even where the function rebinds it (the private
    # copy `params = copy(params)` made for a write into it), which makes its kind UNKNOWN.
    passed = {p for p in core.params if _holds_container((param_kinds or {}).get(p))}
    containers = _containers(assigns, ops, kinds, passed)
    for s in assigns:                   # the items of a helper's nested tuple that are tuples: containers
        op = ops[id(s)]
        if op.kind == "helper" and target_of(s) in tuples:
            form = result_form(op.fn) or ()
            containers |= {f"{target_of(s)}[{k}]" for k, f in enumerate(form) if f is not None}
    for s in assigns:
        op = ops[id(s)]
        if op.kind == "getitem" and getattr(op.node, "s2s_item_of_tuple", False) \
                and f"{op.node.value.id}[{op.node.slice.value}]" in containers:
            containers.add(target_of(s))
    containers = _containers(assigns, ops, kinds, containers)
    check_activity(core, assigns, ops, varied, useful, containers,
                   {p for p in core.params if _holds_container(kinds.get(p))} | passed)
    info = Analysis(ops, varied, useful, active, kinds, set(), mutated, select, tuples,
                    {t: tuple(sorted(k)) for t, k in used_items.items()}, containers,
                    shapes=infer_shapes(core, [s for s in assigns if not is_setitem(s)], kinds, loops(core.body)))
    info.elements = loop_elements(core, assigns, mutated, info.shapes)
    info.retain = tuple(retain)

    def recorded(skipped):
        names = set()
        for s in assigns:
            if target_of(s) in active:
                names |= _reads(ops[id(s)], target_of(s), info.is_scalar, info.shape_of,
                                info.same_shape_as_part, set(info.elements) | set(skipped))
        return names
    info.recorded = recorded(())
    candidates = recomputable(core, assigns)
    while True:      # recomputed from a value the reverse sweep restores anyway (or a parameter it keeps)
        kept = {v: c for v, c in candidates.items() if v in info.recorded and
                (c[1] in info.recorded and c[1] not in candidates or c[1] in core.params and
                 c[1] not in {target_of(s) for s in assigns})}
        again = recorded(kept)
        if all(c[1] in again or c[1] in core.params for c in kept.values()):
            info.recomputed, info.recorded = kept, again
            return info
        candidates = {v: c for v, c in kept.items() if c[1] in again or c[1] in core.params}


def recomputable(core, assigns):
    """Values a rule may recompute instead of reading them saved: `v = math.sin(u)` (a function of math, of
    one name), v assigned once, read only by the statements after it in its block, none of which (up to
    the last reading v) assigns u. At each read u is what it was at v's assignment, and the reverse sweep,
    which restores every value it reads to what it was at that point, finds v as math.sin(u) there. Only
    in loops, where v would be saved each iteration (elsewhere it is read as it is, for nothing).
    Returns v -> (function, u)."""
    counts, reads = _assignments_and_reads(core, assigns)
    out = {}

    def block(stmts, in_loop):
        for k, s in enumerate(stmts):
            for field_name in ("body", "orelse"):
                block(getattr(s, field_name, None) or [], in_loop or isinstance(s, (gast.For, gast.While)))
            if not in_loop or not (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) and isinstance(s.value, gast.Call)
                    and len(s.value.args) == 1 and isinstance(s.value.args[0], gast.Name) and not s.value.keywords):
                continue
            v, u = s.targets[0].id, s.value.args[0].id
            f = core.source.resolve(s.value.func)
            if counts.get(v) != 1 or getattr(f, "__module__", None) != "math" or not callable(f) or u == v:
                continue
            later = stmts[k + 1:]
            readers = [m for m, t in enumerate(later) if any(
                isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load) and n.id == v for n in walk(t))]
            if not readers or sum(1 for t in later for n in walk(t) if isinstance(n, gast.Name)
                                  and isinstance(n.ctx, gast.Load) and n.id == v) != reads.get(v, 0):
                continue
            span = later[:readers[-1] + 1]
            if any(isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store) and n.id == u
                   or isinstance(n, gast.Subscript) and isinstance(n.value, gast.Name) and n.value.id == u
                   and isinstance(n.ctx, gast.Store) for t in span for n in walk(t)):
                continue
            out[v] = (f, u)
    block(core.body, False)
    return out


def check_activity(core, assigns, ops, varied, useful, containers=frozenset(), container_params=frozenset()):
    """The one place that decides, for every value depending on a wrt input (`varied`), that it is
    differentiated wherever it is read on the way to the result (`useful`), or refused at the user's line:
    as an argument a rule has no adjoint for, as an index, as a callee or an argument of a call with no
    rule. New constructs get their positions from `Op.underived`, so they cannot forget this check."""
    def carries(names):
        return sorted(n for n in names if n in varied)

    built = _built_containers(assigns, ops, container_params)

    for s in assigns:
        if target_of(s) not in useful:
            continue
        op = ops[id(s)]
        if op.kind == "norule":
            if carries(a.id for a in op.differentiable_inputs() if isinstance(a, gast.Name)):
                raise no_rule_error(core, op, varied)
            continue
        if op.kind == "rule" and isinstance(op.node, (gast.BinOp, gast.UnaryOp)):
            bad = carries(a.id for a in op.inputs.values() if isinstance(a, gast.Name) and a.id in built)
            bad = [n for n in bad if n in core.source.locals] or bad          # the user's names, not temporaries
            if bad:
                raise UnsupportedSyntaxError(
                    f"arithmetic on a list, tuple or dict that carries a derivative ({', '.join(map(repr, bad))}) "
                    "is not supported: '+' joins lists and '*' repeats them, it does not add their values; use "
                    "hs.append(x) or hs.extend(ys) to grow a list, np.stack(hs) for arithmetic on its items",
                    core.source.location(s))
        if op.kind == "getattr" and isinstance(op.node.value, gast.Name) and op.node.value.id not in containers:
            bad = carries([op.node.value.id])
            if bad:
                raise UnsupportedSyntaxError(
                    f"reading the attribute '.{op.node.attr}' of a value that depends on a differentiated input "
                    f"({', '.join(map(repr, bad))}) is not supported: s2sgrad differentiates arrays' .T, .shape, "
                    "..., and the fields of containers passed as arguments (a NamedTuple, a dataclass); compute "
                    "it outside the differentiated function", core.source.location(s))
            continue
        for what, names in op.underived():
            bad = carries(names)
            if not bad:
                continue
            text = gast.unparse(op.node).strip() if not isinstance(op.node, gast.Subscript) else None
            if what == "index":
                raise UnsupportedSyntaxError(_index_message(core, op, bad), core.source.location(s))
            label = _label(core, op.node.func) if isinstance(op.node, gast.Call) else _operator_label(op.fn, text)
            where = core.source.location(op.node)
            raise NoGradientRuleError(
                f"{where[0]}:{where[1]}:{where[2]}: cannot differentiate the call to {label}: its argument "
                f"'{what}' depends on a differentiated input ({', '.join(map(repr, bad))}), and the gradient "
                f"rule of {label} has no derivative with respect to '{what}'. Compute that argument from values "
                f"that carry no derivative.\n"
                f"    {where[3].strip()}")


def _index_message(core, op, names):
    base = op.node.value
    obj = core.source.resolve(base) if isinstance(base, (gast.Name, gast.Attribute)) else LOCAL
    text = core.source.line_text(op.node)
    if obj is not LOCAL and obj is not NOT_FOUND and not isinstance(obj, numpy.ndarray):
        return (f"indexing '{gast.unparse(base).strip()}' (not an array) with a value that depends on a "
                f"differentiated input ({', '.join(map(repr, names))}) is not supported: the index carries no "
                "derivative. For np.r_/np.c_ write np.concatenate([...]) or np.stack([...]) instead")
    return (f"an index that depends on a differentiated input ({', '.join(map(repr, names))}) is not supported: "
            f"an index carries no derivative; compute it from values that carry none (int(...), np.argmax(...)) "
            f"in '{text}'")


def _operator_label(fn, text):
    return getattr(fn, "__name__", None) or text or "this operation"


def _check_in_place_updates(core, assigns, ops, kinds):
    """`y[i] = v` and, on arrays, `y += w` change y's array in place; the generated code writes the
    first in place and rebinds for the second (`y = y + w`). Both are exact only where y's array is
    y's alone at that point (made by this function, not a parameter, not a view: checked in program
    order, so `s = s.copy()` first is fine) and no other name that may see the same memory (a slice
    `r = y[0]`, a view `y.T`, a copy `z = y`, a helper's result) is read after the change. Refuse the
    rest at the user's line rather than compute another function. Returns the arrays written by index
    and the names that may share their memory."""
    def in_place(s):
        return is_setitem(s) or ops[id(s)].kind == "update" or (
            getattr(s, "s2s_augmented", False) and kinds.get(target_of(s)) != SCALAR)

    def fresh(d, seen=()):
        op = ops[id(d)]
        if op.kind == "copy":          # from a name every assignment of which makes a new array (not a
            source = op.node.id        # parameter: the caller's); names sharing it are checked below
            defs = [t for t in assigns if not is_setitem(t) and target_of(t) == source]
            return source not in core.params and source not in seen and bool(defs) and all(
                fresh(t, seen + (source,)) for t in defs)
        if op.kind == "rule":
            return not rules.returns_view(op.fn)
        if op.kind == "norule" and _draws_random_numbers(op.fn):
            return True                # np.random.normal(...), rng.normal(...): always a new array
        return op.kind in ("const", "opaque", "pack")

    changed = sorted({target_of(s) for s in assigns if in_place(s)})
    for target in changed:
        _, bad = _shared_write(core.body, target, target in core.params, fresh, in_place)
        hint = _container_copy_hint(target, bad, assigns, ops, kinds) if bad is not None else None
        if hint is not None:
            raise UnsupportedSyntaxError(hint[0], core.source.location(hint[1]))
        if bad is not None and is_setitem(bad):
            raise UnsupportedSyntaxError(
                f"assigning into '{target}', which may share its array with the caller or another name, is "
                f"not supported: the change would be seen through that name too; make a new array first "
                f"('{target} = {target}.copy()' or 'np.zeros(...)') and assign into that",
                core.source.location(bad))
        if bad is not None:
            raise UnsupportedSyntaxError(
                f"an augmented assignment to '{target}', which may share its array with another name or "
                "the caller: on arrays it would change that array in place; write "
                f"'{target} = {target} {getattr(bad, 's2s_augmented', None) or '+'} ...' to make a new array "
                "instead", core.source.location(bad))
    aliases = _aliases(assigns, ops)
    holders = _aliases(assigns, ops, items=False)      # an append changes the list, never its items
    updated = {target_of(s) for s in assigns if ops[id(s)].kind == "update"}
    returned = {a.id for a in leaves(core.result) if isinstance(a, gast.Name)}
    for target in changed:
        for alias in sorted((holders if target in updated else aliases).get(target, ())):
            (stale, _), bad = _stale_read(core.body, alias, target, (False, True), in_place)
            if bad is None and stale and alias in returned:
                bad = next(s for s in reversed(assigns) if in_place(s) and target_of(s) == target)
            if bad is not None:
                raise UnsupportedSyntaxError(
                    f"'{alias}' may share memory with '{target}' (a slice, view, copy or result of a helper), "
                    f"and reading it after '{target}' was changed in place is not supported; copy it "
                    f"first ('{alias} = ... .copy()') or read it before the change", core.source.location(bad))
    written = {target_of(s) for s in assigns if is_setitem(s) or ops[id(s)].kind == "update"}
    return written | {a for w in written for a in aliases.get(w, ())}


def _draws_random_numbers(fn):
    """Whether `fn` is one of NumPy's random samplers (np.random.normal, a Generator's method)."""
    owner = getattr(fn, "__self__", None)
    module = getattr(fn, "__module__", None) or getattr(type(owner), "__module__", None) or ""
    return module.startswith("numpy.random") or isinstance(owner, (numpy.random.Generator,
                                                                   numpy.random.RandomState))


def _container_copy_hint(target, bad, assigns, ops, kinds):
    """The refusal of `out[k] = v` where out is a container parameter or holds one (`out = params`,
    `out = dict(params)`: the caller's items, or a dict s2sgrad has no rule for), naming a copy that
    works, and the statement to point at; else None (an array: the caller's message speaks of arrays)."""
    if not is_setitem(bad):
        return None
    source, made = (target, None) if kinds.get(target) == CONTAINER else (None, None)
    is_dict = isinstance(bad.targets[0].slice, gast.Constant) and isinstance(bad.targets[0].slice.value, str)
    for s in assigns:
        if source is not None or is_setitem(s) or target_of(s) != target:
            continue
        op = ops[id(s)]
        by_dict = isinstance(op.node, gast.Call) and op.fn is builtins.dict
        copied = op.node if op.kind == "copy" else (
            op.node.args[0] if by_dict and len(op.node.args) == 1 and not op.node.keywords else None)
        if isinstance(copied, gast.Name) and kinds.get(copied.id) == CONTAINER:
            source, made, is_dict = copied.id, s if by_dict else None, is_dict or by_dict
    if source is None:
        return None
    copies = (f"'{target} = copy.copy({source})' or '{target} = {{k: v for k, v in {source}.items()}}'" if is_dict
              else f"'{target} = copy.copy({source})' (for a list also 'list({source})')")
    if made is not None:
        return (f"'dict({source})' of a dict that carries a derivative is not supported; copy it with "
                f"{copies} instead, then assign into the copy", made)
    return (f"assigning an item of '{target}', which may be the caller's container '{source}' (the same "
            f"dict or list, not a copy of it), is not supported: the caller would see the change; make a new "
            f"container first ({copies}) and assign into that", bad)


def _shared_write(stmts, target, shared, fresh, in_place):
    """Walk in program order (loops twice, branches joined): (whether `target` may hold an array another
    name or the caller refers to, the first statement changing it in place then, or None)."""
    for s in stmts:
        if isinstance(s, gast.If):
            a, bad = _shared_write(s.body, target, shared, fresh, in_place)
            b, bad2 = (shared, None) if bad else _shared_write(s.orelse, target, shared, fresh, in_place)
            if bad or bad2:
                return True, bad or bad2
            shared = a or b
        elif isinstance(s, (gast.For, gast.While)):
            entry = shared
            for _ in range(2):
                end, bad = _shared_write(s.body, target, entry, fresh, in_place)
                if bad:
                    return True, bad
                entry = entry or end
            shared = entry
        elif isinstance(s, gast.Assign) and target_of(s) == target:
            if in_place(s):
                if shared:
                    return shared, s
            elif not is_setitem(s):
                shared = not fresh(s)
    return shared, None


def _stale_read(stmts, alias, target, state, in_place):
    """Walk in program order (loops twice, branches joined): (the state after, the first statement reading
    `alias` while it may hold memory changed in place through `target` since it was assigned, or None).
    The state is (stale, linked): whether alias may see such a change already, and whether alias may
    share target's present value; rebinding target to a new value unlinks them (`items = []` for the next
    row after `rows.append(items)`), and a statement making alias from target links them again."""
    for s in stmts:
        stale, linked = state
        if isinstance(s, (gast.If, gast.While, gast.For)):
            head = s.iter if isinstance(s, gast.For) else s.test
            if stale and alias in {n.id for n in walk(head) if isinstance(n, gast.Name)}:
                return state, s
            if isinstance(s, gast.If):
                a, bad = _stale_read(s.body, alias, target, state, in_place)
                b, bad2 = (state, None) if bad else _stale_read(s.orelse, alias, target, state, in_place)
                if bad or bad2:
                    return (True, True), bad or bad2
                state = (a[0] or b[0], a[1] or b[1])
                continue
            entry = state
            for _ in range(2):              # a second pass sees what the first iteration left behind
                end, bad = _stale_read(s.body, alias, target, entry, in_place)
                if bad:
                    return (True, True), bad
                entry = (entry[0] or end[0], entry[1] or end[1])
            state = entry
            continue
        if isinstance(s, gast.Assign):
            reads = _names_read(s)
            if stale and alias in reads:
                return state, s
            if in_place(s) and target_of(s) == target:
                state = (stale or linked, linked)
            elif not is_setitem(s) and target_of(s) == target:
                state = (stale, False)
            if target_of(s) == alias:
                if target in reads:
                    state = (state[0] if in_place(s) else False, True)
                elif not in_place(s):
                    state = (False, False)
    return state, None


def _aliases(assigns, ops, items=True):
    """array name -> names that may refer to (part of) the same memory; with `items` False, only the names
    that may hold the same container (not those holding one of its items)."""
    direct = {}
    for s in assigns:
        if is_setitem(s):
            continue
        op = ops[id(s)]
        sources = []
        if op.kind == "getitem" and items:
            sources = [op.node.value]
        elif op.kind in ("pack", "update"):         # a list holding x: x's memory, and a list put in it
            sources = [a for p, a in op.inputs.items() if p != "xs"]
        elif op.kind == "copy":
            sources = [op.node]
        elif op.kind == "rule" and rules.returns_view(op.fn):
            sources = [a for v in op.inputs.values() for a in elements(v)]
        elif op.kind in ("helper", "norule"):
            sources = [a for v in op.inputs.values() for a in elements(v)]
        for a in sources:
            if isinstance(a, gast.Name):
                direct.setdefault(a.id, set()).add(target_of(s))
    closed = {}
    for root in direct:
        seen, todo = set(), [root]
        while todo:
            for n in direct.get(todo.pop(), ()):
                if n not in seen and n != root:
                    seen.add(n)
                    todo.append(n)
        closed[root] = seen
    return closed


def _names_read(stmt):
    return {n.id for n in walk(stmt) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}


def _check_discarded_calls(core, stmts, varied):
    """A call whose result is thrown away is there for its effect, which may change an argument in
    place where no analysis can see it: refuse it when it is given a value that carries a derivative."""
    for s in stmts:
        for field_name in ("body", "orelse"):
            _check_discarded_calls(core, getattr(s, field_name, []) or [], varied)
        if not (isinstance(s, gast.Expr) and isinstance(s.value, gast.Call)):
            continue
        obj = core.source.resolve(s.value.func)
        if getattr(obj, "__module__", None) in ("warnings", "logging"):      # reporting: reads, never writes
            continue
        if obj is builtins.print or rules.is_nondifferentiable(obj) or rules.lookup(obj) \
                or (inspect.isfunction(unwrap(obj)) and not is_library(unwrap(obj))):
            continue
        args = list(s.value.args) + [k.value for k in s.value.keywords]
        receiver = s.value.func.value if isinstance(s.value.func, gast.Attribute) else None
        if isinstance(receiver, gast.Name) and receiver.id in varied and obj is LOCAL:
            raise UnsupportedSyntaxError(
                f"'{receiver.id}.{s.value.func.attr}(...)' may change '{receiver.id}', which carries a derivative, "
                "in place, which s2sgrad cannot follow; build a new value instead (hs = hs[::-1], "
                "sorted(...), a comprehension), or for a list use hs.append, hs.insert, hs.pop or hs.extend",
                core.source.location(s))
        if any(isinstance(n, gast.Name) and n.id in varied for a in args for n in walk(a)):
            raise UnsupportedSyntaxError(
                "a call whose result is not used, given a value that carries a derivative, may change its "
                "arguments in place, which s2sgrad cannot follow; assign the result to a variable "
                "(y = f(x)) instead", core.source.location(s))


def _fixpoint(marked, edges, forward):
    changed = True
    while changed:
        changed = False
        for target, inputs in edges:
            if forward and target not in marked and any(i in marked for i in inputs):
                marked.add(target)
                changed = True
            if not forward and target in marked:
                new = [i for i in inputs if i not in marked]
                if new:
                    marked.update(new)
                    changed = True


def template(op, is_scalar, shape_of=None):
    """The rule body of `op` as (adjoint parameter or None, statement) pairs, with
    `unbroadcast(g, x)` dropped where every other input is a scalar or x itself (so g has x's shape),
    and, given the inputs' known shapes (`shape_of`), specialised on them (rules.Specialise: no
    unbroadcast where shapes agree, a sum over the broadcast axes where they do not, helpers replaced
    by the plain expression for the ranks at hand)."""
    out = []
    for stmt in op.rule.body:
        param = rules.adjoint_of(stmt.targets[0])
        mine = op.inputs.get(param)
        others = [a for p, a in op.inputs.items() if p != param]
        if all(is_scalar(a) or _same_name(a, mine) for a in others):
            stmt = rules.DropUnbroadcast(op.rule.globals).visit(clone(stmt))
        if shape_of is not None:
            shapes = {p: shape_of(a) for p, a in op.inputs.items()}
            stmt = rules.Specialise(op.rule, op.fn, shapes).visit(clone(stmt))
        out.append((param, stmt))
    return out


def _assignments_and_reads(core, assigns):
    """(name -> how many assignments bind it, name -> how many times the function reads it)."""
    counts, reads = {}, {}
    for s in assigns:
        counts[target_of(s)] = counts.get(target_of(s), 0) + 1
    for node in [*core.body, core.result]:
        for n in walk(node):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load):
                reads[n.id] = reads.get(n.id, 0) + 1
    return counts, reads


def loop_elements(core, assigns, mutated, shapes):
    """Values that are element i of a whole array, in a loop over i: `v = x[i]` of a 1-d parameter x the
    function never changes, and `w = np.sin(v)` (a ufunc of one such), each assigned once, at the top of
    the body of the `for i` loop, and read only after that assignment in the same iteration. At each of
    those reads v is x[i] and w is np.sin(x)[i]: the reverse sweep reads them so, from x and from
    np.sin(x) computed once before its loop, instead of saving each element (see reverse.element_read).
    Returns name -> (what: ("x", x) or ("ufunc", f, what of its argument), i, loop)."""
    counts, reads = _assignments_and_reads(core, assigns)
    unchanged = {p for p in core.params if p not in counts and p not in mutated
                 and shapes.get(p) is not None and len(shapes.get(p)) == 1}
    out = {}
    for loop in loops(core.body):
        if not isinstance(loop.target, gast.Name) or loop.target.id in counts:
            continue
        i = loop.target.id
        for k, s in enumerate(loop.body):
            if not isinstance(s, gast.Assign) or not isinstance(s.targets[0], gast.Name):
                continue
            v, value, what = s.targets[0].id, s.value, None
            if counts.get(v) != 1:
                continue
            if isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name) \
                    and value.value.id in unchanged and isinstance(value.slice, gast.Name) and value.slice.id == i:
                what = ("x", value.value.id)
            elif isinstance(value, gast.Call) and len(value.args) == 1 and not value.keywords \
                    and isinstance(value.args[0], gast.Name) and value.args[0].id in out \
                    and out[value.args[0].id][2] is loop:
                f = core.source.resolve(value.func)
                if isinstance(f, numpy.ufunc) and f.nin == 1 and f.signature is None:
                    what = ("ufunc", f, out[value.args[0].id][0])
            if what is None:
                continue
            later = sum(1 for t in loop.body[k + 1:] for n in walk(t)
                        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load) and n.id == v)
            if later == reads.get(v, 0):
                out[v] = (what, i, loop)
    return out



def _same_name(a, b):
    return isinstance(a, gast.Name) and isinstance(b, gast.Name) and a.id == b.id


def _reads(op, target, is_scalar, shape_of=None, same_shape=None, element_names=()):
    """Primal names the adjoint of this operation reads (a rule reads an element of a whole array, one of
    `element_names`, back from that array: it is never saved)."""
    if op.kind == "rule":
        names = set()
        params = set(op.rule.inputs)
        for _, stmt in template(op, is_scalar, shape_of):
            adjoints = {id(n.slice) for n in walk(stmt.value) if rules.adjoint_of(n) is not None}
            for node in walk(stmt.value):
                if id(node) in adjoints:
                    continue
                if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
                    if node.id == op.rule.output and target not in element_names:
                        names.add(target)
                    elif node.id in params:
                        names |= {a.id for a in elements(op.inputs[node.id]) if isinstance(a, gast.Name)
                                  and a.id not in element_names}
        return names
    if op.kind == "helper":             # its pullback has what it needs in the helper's saved state
        return set()
    if op.kind in ("derivative", "jvpcall"):
        return {a.id for v in op.inputs.values() for a in elements(v) if isinstance(a, gast.Name)}
    if op.kind == "getattr":            # the adjoint adds into zeros shaped like x, at the field
        return {op.node.value.id} if isinstance(op.node.value, gast.Name) else set()
    if op.kind == "getitem":            # the adjoint scatters into zeros shaped like x, at the same index
        if getattr(op.node, "s2s_item_of_tuple", False):
            return set()
        return {op.node.value.id} | index_names(op.node.slice)
    if op.kind == "update":             # pop and insert are reversed at the same position
        return index_names(op.inputs["i"]) if "i" in op.inputs else set()
    if op.kind == "setitem":            # the adjoint gathers at the same index, shaped like the value
        value = op.inputs["value"]
        own = {value.id} if isinstance(value, gast.Name) and not is_scalar(value) else set()
        if own and same_shape is not None and same_shape(value, op.node.value, op.node.slice):
            own = set()
        return own | index_names(op.node.slice)
    return set()


def _kinds(core, assigns, param_kinds):
    """Names that only ever hold scalars (0-d values), given what the parameters hold."""
    kinds = {}
    args = core.source.node.args
    defaults = dict(zip([a.id for a in args.args][len(args.args) - len(args.defaults):], args.defaults))
    defaults.update({a.id: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
    for arg in args.args + args.kwonlyargs:
        ann, default = arg.annotation, defaults.get(arg.id)
        scalar = (isinstance(ann, gast.Name) and ann.id in ("float", "int")) or _is_number(default)
        annotated = ann.value if isinstance(ann, gast.Subscript) else ann         # dict, list[...], tuple
        container = isinstance(annotated, gast.Name) and annotated.id in ("dict", "list", "tuple")
        kinds[arg.id] = param_kinds.get(arg.id, SCALAR if scalar else CONTAINER if container else UNKNOWN)
    for arg in (args.vararg, args.kwarg):           # always a tuple and a dict
        if arg is not None:
            kinds[arg.id] = CONTAINER
    for loop in loops(core.body):
        kinds.setdefault(loop.target.id, SCALAR)
    assigns = [s for s in assigns if not is_setitem(s)]     # writing into an array keeps it an array
    targets = {s.targets[0].id for s in assigns}
    for t in targets:
        if kinds.get(t, SCALAR) != SCALAR:                   # an array's ndim is known only while not rebound
            kinds[t] = UNKNOWN
        kinds.setdefault(t, SCALAR)
    changed = True
    while changed:
        changed = False
        for s in assigns:
            t = s.targets[0].id
            if kinds[t] == SCALAR and _kind(core, s.value, kinds) != SCALAR:
                kinds[t] = UNKNOWN
                changed = True
    return kinds


def _holds_container(kind):
    """Whether a parameter of this kind holds a container: a list, tuple or dict passed, or an object (a
    model in wrt, `self` of a method) whose attributes are read as its fields."""
    return kind == CONTAINER or isinstance(kind, InstanceOf)


def _containers(assigns, ops, kinds, known=()):
    """Names that may hold a container: parameters passed one, what is read out of one (an item may be a
    container too: params[0] is a pair), copies of them."""
    def holds(op, names):
        source = op.node.value if op.kind in ("getitem", "getattr") else _copied(op)
        return isinstance(source, gast.Name) and source.id in names or _makes_container(op) or \
            op.kind == "helper" and _returns_container(op.fn, frozenset(
                p for p, a in op.inputs.items() if isinstance(a, gast.Name) and a.id in names))
    return _grown(assigns, ops, {n for n, k in kinds.items() if _holds_container(k)} | set(known), holds)


def _built_containers(assigns, ops, params):
    """Names that surely hold a list, tuple or dict: the parameters passed one, displays, list updates,
    what list(...) or np.split(...) made, and copies of them (an item of a container may be anything)."""
    def holds(op, names):
        copied = _copied(op)
        return _makes_container(op) or isinstance(copied, gast.Name) and copied.id in names
    return _grown(assigns, ops, set(params), holds)


def _makes_container(op):
    """Whether an operation makes a list, tuple or dict: a display, a list update, a primitive declared so."""
    return op.kind in ("pack", "update") or op.kind == "rule" and rules.returns_container(op.fn)


def _copied(op):
    """The atom an operation copies (`b = a`, `copy.copy(a)`), else None."""
    if op.kind == "copy":
        return op.node
    return next(iter(op.inputs.values())) if op.kind == "rule" and _hashable_in(op.fn, CONTAINER_COPIES) else None


def _grown(assigns, ops, names, holds):
    """`names` and every assignment target `holds(op, names)` says holds one too, to a fixed point."""
    changed = True
    while changed:
        changed = False
        for s in assigns:
            t = target_of(s)
            if t not in names and not is_setitem(s) and holds(ops[id(s)], names):
                names.add(t)
                changed = True
    return names


_RESULT_CONTAINERS = {}


def _returns_container(helper, container_params):
    """Whether a user helper returns a list or dict (a display, a list it appended to, one of its container
    parameters), given which of its parameters hold containers at this call: its adjoint is one too."""
    key = (helper, container_params)
    if key not in _RESULT_CONTAINERS:
        _RESULT_CONTAINERS[key] = False                  # recursion: not a container until shown one
        try:
            core = lower(check(parse(helper)))
            assigns = list(assignments(core.body))
            ops = {id(s): operation(core, s.value) for s in assigns if not is_setitem(s)}
            names = _containers([s for s in assigns if not is_setitem(s)], ops, _kinds(core, assigns, {}),
                                container_params)
        except Exception:                                # its own errors surface when it is derived
            return False
        _RESULT_CONTAINERS[key] = isinstance(core.result, gast.Name) and core.result.id in names
    return _RESULT_CONTAINERS[key]


def _rebind_scalars(core, assigns, kinds):
    """`t = in_place(t_plus_x, t)` (lowered `t += x`) is `t = t_plus_x` where t holds a scalar, which `+=`
    rebinds: only an array keeps its dtype through an update in place."""
    for s in assigns:
        value = s.value
        if (not is_setitem(s) and isinstance(value, gast.Call) and len(value.args) == 2
                and core.source.resolve(value.func) is runtime.in_place
                and isinstance(value.args[1], gast.Name) and kinds.get(value.args[1].id) == SCALAR):
            s.value = value.args[0]


def _is_number(node):
    """Whether `node` is a numeric literal such as `2`, `0.5` or `-0.5`."""
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, (gast.USub, gast.UAdd)):
        node = node.operand
    return isinstance(node, gast.Constant) and isinstance(node.value, (int, float)) \
        and not isinstance(node.value, bool)


def _kind(core, value, kinds):
    def atom_kind(a):
        if isinstance(a, gast.Constant):
            return SCALAR if isinstance(a.value, (int, float, bool)) else UNKNOWN
        if isinstance(a, gast.Name):
            return kinds.get(a.id, UNKNOWN)
        if isinstance(a, gast.Attribute):
            obj = core.source.resolve(a)
            return SCALAR if isinstance(obj, (int, float)) else UNKNOWN
        return _kind(core, a, kinds)

    if isinstance(value, (gast.Constant, gast.Name, gast.Attribute)):
        return atom_kind(value)
    if isinstance(value, gast.BinOp):
        return SCALAR if atom_kind(value.left) == atom_kind(value.right) == SCALAR else UNKNOWN
    if isinstance(value, gast.UnaryOp):
        return atom_kind(value.operand)
    if isinstance(value, gast.Compare):
        parts = [value.left] + list(value.comparators)
        return SCALAR if all(atom_kind(p) == SCALAR for p in parts) else UNKNOWN
    if isinstance(value, gast.BoolOp):
        return SCALAR if all(atom_kind(v) == SCALAR for v in value.values) else UNKNOWN
    if isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name):
        kind = kinds.get(value.value.id, UNKNOWN)           # v[0] of a 1-d array is a NumPy scalar
        parts = value.slice.elts if isinstance(value.slice, gast.Tuple) else [value.slice]
        if ndim_of(kind) == len(parts) and kind != SCALAR and all(_integer_index(p, kinds) for p in parts):
            return SCALAR
        return UNKNOWN
    if isinstance(value, gast.Call):
        obj = core.source.resolve(value.func)
        if getattr(obj, "__module__", None) == "math" or obj in (builtins.float, builtins.int, builtins.len,
                                                                  builtins.round, builtins.bool):
            return SCALAR
        if obj is runtime.in_place and len(value.args) == 2:
            return atom_kind(value.args[0]) if atom_kind(value.args[1]) == SCALAR else UNKNOWN
        if _hashable_in(obj, WHOLE_REDUCTIONS) and len(value.args) == 1 and all(
                k.arg in ("dtype", "ddof") or (k.arg == "axis" and isinstance(k.value, gast.Constant)
                                               and k.value.value is None) for k in value.keywords):
            return SCALAR                                   # np.sum(v): a NumPy scalar
        if isinstance(obj, numpy.ufunc) or any(obj is b for b in SCALAR_BUILTINS):     # np.tanh of scalars
            args = list(value.args) + [k.value for k in value.keywords]
            return SCALAR if all(atom_kind(a) == SCALAR for a in args) else UNKNOWN
        helper = unwrap(obj)
        if inspect.isfunction(helper) and not is_library(helper):
            return _helper_result_kind(helper, value, atom_kind)
    return UNKNOWN


WHOLE_REDUCTIONS = {numpy.sum, numpy.mean, numpy.prod, numpy.max, numpy.min, numpy.amax, numpy.amin, numpy.var,
                    numpy.std, numpy.linalg.norm, numpy.vdot, numpy.count_nonzero}


def _hashable_in(obj, table):
    try:
        return obj in table
    except TypeError:
        return False


def _integer_index(part, kinds):
    """Whether an index part picks one position (an int constant, or a name holding a scalar)."""
    if isinstance(part, gast.Constant):
        return type(part.value) is int
    if isinstance(part, gast.UnaryOp) and isinstance(part.operand, gast.Constant):
        return type(part.operand.value) is int
    return isinstance(part, gast.Name) and kinds.get(part.id) == SCALAR


def _tuple_length(core, stmt, op):
    """How many values `v = call(...)` holds when the call returns a tuple (0 when it does not): a jvp
    call gives (value, tangent), a gradient with respect to several parameters one per parameter, a
    helper of the user's what its return statements give (an item that is a tuple itself, as in a jvp's
    ((a, b), (a_dot, b_dot)), is a container)."""
    if op.kind == "jvpcall":
        return 2
    if op.kind == "derivative":
        gradient = op.fn.__s2sgrad_derivative__[1]
        return 0 if gradient.single else len(gradient.names)
    if op.kind != "helper":
        return getattr(stmt, "s2s_tuple", None) or 0
    form = result_form(op.fn)
    return len(form) if form else (getattr(stmt, "s2s_tuple", None) or 0)


_RESULT_FORMS = {}


def result_form(helper):
    """The form of what a user helper returns: None for one value, else a tuple of its items' forms."""
    if helper not in _RESULT_FORMS:
        _RESULT_FORMS[helper] = None
        try:
            core = lower(check(parse(helper)))
        except Exception:                                # its own errors surface when it is derived
            return None
        form = lambda node: tuple(form(e) for e in node.elts) if isinstance(node, gast.Tuple) else None  # noqa
        _RESULT_FORMS[helper] = form(core.result)
    return _RESULT_FORMS[helper]


_RESULT_KINDS = {}


def _helper_result_kind(helper, call, atom_kind):
    """What a user helper returns, given what this call passes it (UNKNOWN while being worked out)."""
    try:
        bound = bound_arguments(helper, call.args, [(k.arg, k.value) for k in call.keywords])
    except TypeError:
        return UNKNOWN
    params = tuple(sorted((p, atom_kind(a)) for p, a in bound.items()))
    key = (helper, params)
    if key not in _RESULT_KINDS:
        _RESULT_KINDS[key] = UNKNOWN                     # recursion: assume the worst until known
        try:
            core = lower(check(parse(helper)))
        except Exception:                                # its own errors surface when it is derived
            return UNKNOWN
        kinds = _kinds(core, list(assignments(core.body)), dict(params))
        result = core.result
        _RESULT_KINDS[key] = _kind(core, result, kinds) if not isinstance(result, gast.Name) \
            else kinds.get(result.id, UNKNOWN)
    return _RESULT_KINDS[key]



def star_parameter(arg):
    """The generated function's copy of a `*args` or `**kwargs` parameter (None for none): the same name,
    so its signature reads like the user's and takes the same calls."""
    return None if arg is None else gast.Name(id=arg.id, ctx=gast.Param(), annotation=None, type_comment=None)


def parameter_defaults(core, ns):
    """(defaults, keyword-only defaults) for a generated function's copy of the user's parameters: a
    literal as the user wrote it, any other default the value it had when the function was defined (a
    name bound to it), never its text evaluated again elsewhere (`def f(x, k=n)` in a factory)."""
    fn, args = core.source.fn, core.source.node.args
    values = list(getattr(fn, "__defaults__", None) or ())
    keyword_values = getattr(fn, "__kwdefaults__", None) or {}

    def default(param, node, value):
        if node is None:
            return None
        if _is_number(node) or (isinstance(node, gast.Constant) and not isinstance(node.value, (list, dict, set))):
            return copy.deepcopy(node)
        return gast.Name(id=ns.bind(f"{param}_default", value), ctx=gast.Load(), annotation=None, type_comment=None)

    positional = args.args[len(args.args) - len(args.defaults):]
    defaults = [default(a.id, d, v) for a, d, v in zip(positional, args.defaults, values)]
    kw_defaults = [default(a.id, d, keyword_values.get(a.id)) for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    return defaults, kw_defaults


def call_site_kinds(core, info, fn, op):
    """What each parameter of a helper holds at this call site: the helper is specialised on it (a
    scalar, or not known; a function passed, the function itself)."""
    kinds = []
    for p, param in inspect.signature(fn, follow_wrapped=False).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):      # a tuple and a dict, whatever is passed
            kinds.append((p, CONTAINER))
            continue
        if p in op.inputs:
            atom = op.inputs[p]
            if isinstance(atom, gast.Name) and atom.id in core.source.instance_of:     # generic code of methods
                kinds.append((p, core.source.object_kinds.get(atom.id) or InstanceOf(core.source.instance_of[atom.id])))
                continue
            obj = core.source.resolve(atom) if isinstance(atom, (gast.Name, gast.Attribute)) else NOT_FOUND
            if not unresolved(obj) and is_known(obj):
                kinds.append((p, Known(obj)))
                continue
            if isinstance(atom, gast.Name) and info.kinds.get(atom.id) == CONTAINER:     # a caller's container
                kinds.append((p, CONTAINER))
                continue
            scalar = info.is_scalar(atom)
        elif is_known(param.default):
            kinds.append((p, Known(param.default)))
            continue
        else:
            scalar = isinstance(param.default, (int, float))
        kinds.append((p, SCALAR if scalar else UNKNOWN))
    return tuple(kinds)


def _label(core, func):
    """How the user wrote a callee (`np.sin`), for messages."""
    return getattr(func, "s2s_label", None) or gast.unparse(func).strip()


def qualified_name(core, func, obj):
    """`scipy.special.erf`: the module the user reached `obj` through and its name there, else the
    object's own module and qualified name."""
    if isinstance(func, gast.Attribute):
        base = core.source.resolve(func.value)
        if inspect.ismodule(base):
            return f"{base.__name__}.{func.attr}"
    module = getattr(obj, "__module__", None) or type(obj).__module__
    owner = getattr(obj, "__self__", None)
    qual = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or type(obj).__name__
    if owner is not None and not inspect.ismodule(owner):      # a bound method: scipy.stats.norm.logpdf
        module = type(owner).__module__.partition("._")[0]
        qual = f"{getattr(owner, 'name', type(owner).__name__)}.{getattr(obj, '__name__', qual)}"
    return f"{module}.{qual}"


def no_rule_error(core, op, varied=frozenset()):
    """The NoGradientRuleError for an operation with no rule that binds, at the user's line."""
    node = op.node
    where = core.source.location(node)
    func = getattr(node, "func", None)
    label = _label(core, func) if func is not None else type(node).__name__
    fn = op.fn
    plain = fn.__func__ if inspect.ismethod(fn) else unwrap(fn)
    library = fn is not None and (is_library(plain) or not inspect.isfunction(plain))
    advice = ("Compute this value outside the differentiated function, or write it with supported "
              "operations.")
    if fn is None and op.callee is not None and op.callee.id in core.params:
        # Only generic code (s2sgrad.source, .source, `s2sgrad show`: no argument values) calls a parameter
        # it knows nothing of: a gradient called with the argument specialises on the function or object.
        why = (f"'{label}' is a parameter called as a function, and the generic code (s2sgrad.source, "
               f".source, 's2sgrad show': no argument values) cannot know what it holds: a function or an "
               f"object with __call__ is differentiated when the gradient is called with it "
               f"(s2sgrad.grad({core.source.node.name})(...) is specialised on it)")
        advice = ("To read generated code, show the function or the method it calls (s2sgrad.source of it, "
                  "or 's2sgrad show file.py:Class.__call__').")
    elif fn is None and op.callee is not None and op.callee.id in varied:
        why = (f"'{label}' is a function value computed from a differentiated input (a closure or lambda made "
               "from it), which s2sgrad does not differentiate through yet; call a function defined with "
               "'def' and pass the value to it as an argument")
    elif fn is None:
        why = (f"'{label}' is not a function s2sgrad can resolve (a local variable, or a name not "
               "defined when the gradient was first built)")
    elif getattr(fn, "__s2sgrad_refusal__", None):      # a helper that says why (custom.call_vjp, ...)
        why = fn.__s2sgrad_refusal__
    elif hasattr(fn, "__s2sgrad_derivative__"):
        why = (f"differentiating a call to a function made by s2sgrad.{fn.__s2sgrad_derivative__[0]} is not "
               "supported, except one made by s2sgrad.grad called with positional arguments")
    elif rules.lookup(fn):
        forms = ", ".join(f"{label}({', '.join(r.inputs)})" for r in rules.lookup(fn))
        why = f"the gradient rule of '{label}' covers only {forms}"
    elif inspect.ismethod(fn) and not library:
        why = (f"'{label}' is a method of an object of yours; calling methods of objects is not supported "
               "yet: call a function defined with 'def', passing the object's arrays as arguments")
    elif library:
        why = f"s2sgrad has no gradient rule for {qualified_name(core, func, fn)}"
    elif any(isinstance(a, (gast.List, gast.Tuple)) for a in op.inputs.values()):
        why = "lists of values passed to your own functions are not supported; pass the values one by one"
    else:
        why = f"the arguments of this call do not match the signature of {fn.__qualname__}"
    return NoGradientRuleError(
        f"{where[0]}:{where[1]}:{where[2]}: cannot differentiate the call to {label}: {why}. "
        f"{advice}\n    {where[3].strip()}")
