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

from . import rules
from .check import check
from .errors import UnsupportedSyntaxError
from .frontend import LOCAL, NOT_FOUND, is_library, parse, unwrap
from .lower import BINOPS, UNARYOPS, lower
from .runtime import unbroadcast
from .syntax import leaves

SCALAR, UNKNOWN = "scalar", "unknown"
SCALAR_BUILTINS = {builtins.float, builtins.int, builtins.len, builtins.round, builtins.abs,
                   builtins.min, builtins.max, builtins.bool}


@dataclass
class Op:
    """What one right-hand side computes."""

    kind: str                       # copy | const | opaque | rule | helper | norule | getitem | setitem
    node: gast.expr
    inputs: dict = field(default_factory=dict)   # parameter name -> atom (rule or helper)
    rule: object = None
    fn: object = None               # the primitive or the helper function

    def differentiable_inputs(self):
        """Atoms through which a derivative flows."""
        if self.kind in ("copy", "getitem"):
            return [self.node if self.kind == "copy" else self.node.value]
        if self.kind == "rule":
            return [a for p in self.rule.differentiable() for a in elements(self.inputs[p])]
        if self.kind in ("helper", "norule", "setitem", "derivative"):
            return [a for v in self.inputs.values() for a in elements(v)]
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
    return {n.id for n in gast.walk(index) if isinstance(n, gast.Name)}


def operation(core, value):
    """Classify the right-hand side of a core assignment."""
    if getattr(value, "s2s_opaque", False):
        return Op("opaque", value)
    if isinstance(value, gast.Name):
        return Op("copy", value)
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
            return Op("norule", value, _positional(value), fn=None)
        if rules.lookup(obj):
            return _primitive(obj, value, value.args, keywords)
        if hasattr(obj, "__s2sgrad_derivative__") and not keywords:     # df(x) with df = grad(f)
            return Op("derivative", value, {str(i): a for i, a in enumerate(value.args)}, fn=obj)
        helper = unwrap(obj)
        if inspect.isfunction(helper) and not is_library(helper):
            if any(isinstance(a, (gast.List, gast.Tuple)) for a in list(value.args) + [k for _, k in keywords]):
                return Op("norule", value, _positional(value), fn=obj)
            try:
                bound = inspect.signature(helper).bind(*value.args, **dict(keywords))
            except TypeError:
                return Op("norule", value, _positional(value), fn=obj)
            return Op("helper", value, dict(bound.arguments), fn=helper)
        return Op("norule", value, _positional(value), fn=obj)
    return Op("opaque", value)


def _positional(call):
    out = {str(i): a for i, a in enumerate(call.args)}
    out.update({k.arg: k.value for k in call.keywords})
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

    def op(self, stmt):
        return self.ops[id(stmt)]

    def is_scalar(self, atom):
        if isinstance(atom, gast.Constant):
            return isinstance(atom.value, (int, float))
        if isinstance(atom, gast.Attribute):
            return True
        if isinstance(atom, gast.Name):
            return self.kinds.get(atom.id) == SCALAR
        return False


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


def analyze(core, wrt, param_kinds=None, select=None):
    """Run every analysis the reverse transform needs.

    `select` names the returned values (positions among the leaves of a returned tuple) whose
    derivative is wanted; None means all of them.

    `param_kinds` maps parameters to SCALAR or UNKNOWN (arrays); parameters it does not
    name are SCALAR when annotated `float` or `int`, else UNKNOWN.
    """
    assigns = list(assignments(core.body))
    ops = {id(s): (Op("setitem", s.targets[0], {"value": s.value}) if is_setitem(s) else operation(core, s.value))
           for s in assigns}
    edges = []     # (target, input names)
    for s in assigns:
        inputs = [a.id for a in ops[id(s)].differentiable_inputs() if isinstance(a, gast.Name)]
        edges.append((target_of(s), inputs))

    varied = set(wrt)
    _fixpoint(varied, [(t, ins) for t, ins in edges], forward=True)
    outputs = [a for k, a in enumerate(leaves(core.result)) if select is None or k in select]
    useful = {a.id for a in outputs if isinstance(a, gast.Name)}
    _fixpoint(useful, edges, forward=False)
    active = varied & useful

    _check_discarded_calls(core, core.body, varied)
    kinds = _kinds(core, assigns, param_kinds or {})
    _check_in_place_updates(core, assigns, ops, kinds)
    mutated = _check_writes_into_arrays(core, assigns, ops)
    tuples = {s.targets[0].id: s.s2s_tuple for s in assigns if getattr(s, "s2s_tuple", None)}
    for op in ops.values():             # `a = t[0]` on a tuple a helper returned: one adjoint per item
        if op.kind == "getitem" and isinstance(op.node.value, gast.Name) and op.node.value.id in tuples:
            op.node.s2s_item_of_tuple = True
    info = Analysis(ops, varied, useful, active, kinds, set(), mutated, select, tuples)
    for s in assigns:
        if target_of(s) in active:
            info.recorded |= _reads(ops[id(s)], target_of(s), info.is_scalar)
    return info


def _check_in_place_updates(core, assigns, ops, kinds):
    """`y += w` changes an array in place, `y = y + w` rebinds: the same only when nothing else
    refers to y's array. Accept it for scalars and for arrays y itself created (never a parameter,
    never copied to another name); refuse the rest rather than compute another function."""
    for s in assigns:
        target = target_of(s)
        if not getattr(s, "s2s_augmented", False) or kinds.get(target) == SCALAR:
            continue
        if not _made_here(core, assigns, ops, target):
            raise UnsupportedSyntaxError(
                f"an augmented assignment to '{target}', which may share its array with another name or "
                "the caller: on arrays it would change that array in place; write "
                f"'{target} = {target} + ...' to make a new array instead", core.source.location(s))


def _made_here(core, assigns, ops, target):
    """Whether every array `target` holds was made by this function and is referred to by no other name:
    not a parameter, never copied to another name, never a view of another array."""
    copied = {ops[id(s)].node.id for s in assigns if ops[id(s)].kind == "copy"}
    if target in core.params or target in copied:
        return False

    def made(d):
        op = ops[id(d)]
        if op.kind == "copy":          # from a temporary of the lowering, which holds a new value
            return op.node.id not in core.source.locals and _made_here(core, assigns, ops, op.node.id)
        if op.kind == "rule":
            return not rules.returns_view(op.fn)
        return op.kind in ("const", "opaque")

    return all(made(d) for d in assigns
               if not is_setitem(d) and target_of(d) == target and not getattr(d, "s2s_augmented", False))


def _check_writes_into_arrays(core, assigns, ops):
    """`y[i] = v` changes y's array in place. Exact only when that array is y's alone (made here, see
    `_made_here`) and no other name that may see the same memory (a slice `r = y[0]`, a view `y.T`, a
    helper's result) is read after the write; refuse everything else at the user's line."""
    for s in assigns:
        if not is_setitem(s):
            continue
        target = target_of(s)
        if not _made_here(core, assigns, ops, target):
            raise UnsupportedSyntaxError(
                f"assigning into '{target}', which may share its array with the caller or another name, is "
                f"not supported: the change would be seen through that name too; make a new array first "
                f"('{target} = {target}.copy()' or 'np.zeros(...)') and assign into that",
                core.source.location(s))
    aliases = _aliases(assigns, ops)
    written = {target_of(s) for s in assigns if is_setitem(s)}
    returned = {a.id for a in leaves(core.result) if isinstance(a, gast.Name)}
    for target in sorted(written):
        for alias in sorted(aliases.get(target, ())):
            stale, bad = _stale_read(core.body, alias, target, False)
            if bad is None and stale and alias in returned:
                bad = next(s for s in reversed(assigns) if is_setitem(s) and target_of(s) == target)
            if bad is not None:
                raise UnsupportedSyntaxError(
                    f"'{alias}' may share memory with '{target}' (a slice, view or result of a helper), and "
                    f"reading it after an assignment into '{target}' changed it is not supported; copy it "
                    f"first ('{alias} = ... .copy()') or read it before the assignment", core.source.location(bad))
    return written | {a for w in written for a in aliases.get(w, ())}


def _stale_read(stmts, alias, target, stale):
    """Walk in program order (loops twice, branches joined): (whether `alias` may hold memory changed by a
    write into `target` since it was assigned, the first statement reading it then, or None)."""
    for s in stmts:
        if isinstance(s, (gast.If, gast.While, gast.For)):
            head = s.iter if isinstance(s, gast.For) else s.test
            if stale and alias in {n.id for n in gast.walk(head) if isinstance(n, gast.Name)}:
                return stale, s
            if isinstance(s, gast.If):
                a, bad = _stale_read(s.body, alias, target, stale)
                b, bad2 = (stale, None) if bad else _stale_read(s.orelse, alias, target, stale)
                if bad or bad2:
                    return True, bad or bad2
                stale = a or b
                continue
            entry = stale
            for _ in range(2):              # a second pass sees what the first iteration left behind
                end, bad = _stale_read(s.body, alias, target, entry)
                if bad:
                    return True, bad
                entry = entry or end
            stale = entry
            continue
        if isinstance(s, gast.Assign):
            if stale and alias in _names_read(s):
                return stale, s
            if is_setitem(s) and target_of(s) == target:
                stale = True
            elif not is_setitem(s) and target_of(s) == alias:
                stale = False
    return stale, None


def _aliases(assigns, ops):
    """array name -> names that may refer to (part of) the same memory."""
    direct = {}
    for s in assigns:
        if is_setitem(s):
            continue
        op = ops[id(s)]
        sources = []
        if op.kind == "getitem":
            sources = [op.node.value]
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
    return {n.id for n in gast.walk(stmt) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}


def _check_discarded_calls(core, stmts, varied):
    """A call whose result is thrown away is there for its effect, which may change an argument in
    place where no analysis can see it: refuse it when it is given a value that carries a derivative."""
    for s in stmts:
        for field_name in ("body", "orelse"):
            _check_discarded_calls(core, getattr(s, field_name, []) or [], varied)
        if not (isinstance(s, gast.Expr) and isinstance(s.value, gast.Call)):
            continue
        obj = core.source.resolve(s.value.func)
        if obj is builtins.print or rules.is_nondifferentiable(obj) or rules.lookup(obj) \
                or (inspect.isfunction(unwrap(obj)) and not is_library(unwrap(obj))):
            continue
        args = list(s.value.args) + [k.value for k in s.value.keywords]
        if any(isinstance(n, gast.Name) and n.id in varied for a in args for n in gast.walk(a)):
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


def template(op, is_scalar):
    """The rule body of `op` as (adjoint parameter or None, statement) pairs, with
    `unbroadcast(g, x)` dropped where every other input is a scalar or x itself (so g has x's shape)."""
    out = []
    for stmt in op.rule.body:
        param = rules.adjoint_of(stmt.targets[0])
        mine = op.inputs.get(param)
        others = [a for p, a in op.inputs.items() if p != param]
        if all(is_scalar(a) or _same_name(a, mine) for a in others):
            stmt = _DropUnbroadcast(op.rule.globals).visit(copy.deepcopy(stmt))
        out.append((param, stmt))
    return out


def _same_name(a, b):
    return isinstance(a, gast.Name) and isinstance(b, gast.Name) and a.id == b.id


class _DropUnbroadcast(gast.NodeTransformer):
    def __init__(self, globals_):
        self.globals = globals_

    def visit_Call(self, node):
        self.generic_visit(node)
        func = node.func
        if isinstance(func, gast.Name) and self.globals.get(func.id) is unbroadcast and len(node.args) == 2:
            return node.args[0]
        return node


def _reads(op, target, is_scalar):
    """Primal names the adjoint of this operation reads."""
    if op.kind == "rule":
        names = set()
        params = set(op.rule.inputs)
        for _, stmt in template(op, is_scalar):
            adjoints = {id(n.slice) for n in gast.walk(stmt.value) if rules.adjoint_of(n) is not None}
            for node in gast.walk(stmt.value):
                if id(node) in adjoints:
                    continue
                if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
                    if node.id == op.rule.output:
                        names.add(target)
                    elif node.id in params:
                        names |= {a.id for a in elements(op.inputs[node.id]) if isinstance(a, gast.Name)}
        return names
    if op.kind in ("helper", "derivative"):
        return {a.id for a in op.inputs.values() if isinstance(a, gast.Name)}
    if op.kind == "getitem":            # the adjoint scatters into zeros shaped like x, at the same index
        if getattr(op.node, "s2s_item_of_tuple", False):
            return set()
        return {op.node.value.id} | index_names(op.node.slice)
    if op.kind == "setitem":            # the adjoint gathers at the same index, shaped like the value
        value = op.inputs["value"]
        own = {value.id} if isinstance(value, gast.Name) and not is_scalar(value) else set()
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
        kinds[arg.id] = param_kinds.get(arg.id, SCALAR if scalar else UNKNOWN)
    for loop in loops(core.body):
        kinds.setdefault(loop.target.id, SCALAR)
    assigns = [s for s in assigns if not is_setitem(s)]     # writing into an array keeps it an array
    targets = {s.targets[0].id for s in assigns}
    for t in targets:
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
    if isinstance(value, gast.Call):
        obj = core.source.resolve(value.func)
        if getattr(obj, "__module__", None) == "math" or obj in (builtins.float, builtins.int, builtins.len,
                                                                  builtins.round, builtins.bool):
            return SCALAR
        if any(obj is b for b in SCALAR_BUILTINS):
            args = list(value.args) + [k.value for k in value.keywords]
            return SCALAR if all(atom_kind(a) == SCALAR for a in args) else UNKNOWN
        helper = unwrap(obj)
        if inspect.isfunction(helper) and not is_library(helper):
            return _helper_result_kind(helper, value, atom_kind)
    return UNKNOWN


_RESULT_KINDS = {}


def _helper_result_kind(helper, call, atom_kind):
    """What a user helper returns, given what this call passes it (UNKNOWN while being worked out)."""
    try:
        bound = inspect.signature(helper).bind(*call.args, **{k.arg: k.value for k in call.keywords})
    except TypeError:
        return UNKNOWN
    params = tuple(sorted((p, atom_kind(a)) for p, a in bound.arguments.items()))
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

