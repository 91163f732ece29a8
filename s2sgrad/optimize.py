"""Passes on generated code that make it read like hand-written code.

- `simplify`: no arithmetic on two constants (`y - 1` with y = 2 is `1`), no `e ** 1`,
  no `-(-e)`, `a + -b * c` is `a - b * c`, `(a, b)[1]` is `b`; the meaning of every
  expression is unchanged.
- `drop_dead_stores`: an assignment to an adjoint that nothing reads afterwards is removed
  (primal statements are never touched: they may call user code).
- `propagate_copies`: `da = db` followed by reads of `da` becomes those reads of `db`, when
  neither changes in between and `da` is not read later.
- `tidy`: blocks left with nothing but comments get `pass`; a branch or loop left with no code
  keeps only its pop (`stack.pop()`), so the stack stays balanced.

Example:
    >>> simplify(parse_expr("dz * 2 * x ** (2 - 1)"))   # dz * 2 * x
"""

import math
import operator

import gast
import numpy

from .runtime import times_power
from .syntax import is_comment, walk

FOLD = {gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul}


class Simplify(gast.NodeTransformer):
    """Constant folding and the algebraic identities that templates leave behind; `values` (the generated
    code's globals) tells which helper a name calls."""

    def __init__(self, values=None):
        self.values = values or {}

    def visit_Call(self, node):
        self.generic_visit(node)       # times_power(c, x, 2) is c * x ** 2: x ** 2 is finite, 0 · it is 0
        func = node.func
        if (isinstance(func, gast.Name) and self.values.get(func.id) is times_power and len(node.args) == 3
                and not node.keywords and isinstance(node.args[2], gast.Constant) and _number(node.args[2].value)
                and node.args[2].value >= 0):
            c, x, e = node.args
            return self.visit(gast.BinOp(left=c, op=gast.Mult(), right=gast.BinOp(left=x, op=gast.Pow(), right=e)))
        return node

    def visit_BinOp(self, node):
        self.generic_visit(node)
        left, right = node.left, node.right
        if (isinstance(left, gast.Constant) and isinstance(right, gast.Constant) and type(node.op) in FOLD
                and _number(left.value) and _number(right.value)):
            return _number_node(FOLD[type(node.op)](left.value, right.value))
        if isinstance(node.op, gast.Pow) and isinstance(right, gast.Constant) and right.value == 1 \
                and type(right.value) is int:
            return left
        if isinstance(node.op, (gast.Add, gast.Sub)):
            positive = _without_leading_minus(right)
            if positive is not None:
                node.op = gast.Sub() if isinstance(node.op, gast.Add) else gast.Add()
                node.right = positive
        return node

    def visit_Subscript(self, node):
        self.generic_visit(node)      # `(da, db)[1]` is `db`
        if isinstance(node.value, gast.Tuple) and isinstance(node.slice, gast.Constant) \
                and type(node.slice.value) is int and -len(node.value.elts) <= node.slice.value < len(node.value.elts):
            return node.value.elts[node.slice.value]
        return node

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        inner = node.operand
        if isinstance(node.op, gast.USub) and isinstance(inner, gast.UnaryOp) and isinstance(inner.op, gast.USub):
            return inner.operand
        return node


def _without_leading_minus(node):
    """`e` for `-e`, `e * f` for `-e * f` (and through * / chains), else None."""
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
        return node.operand
    if isinstance(node, gast.BinOp) and isinstance(node.op, (gast.Mult, gast.Div)):
        left = _without_leading_minus(node.left)
        if left is not None:
            return gast.BinOp(left=left, op=node.op, right=node.right)
    return None


def _number_node(value):
    """A number as a node: a negative one is a minus on a constant, which `ast.unparse` parenthesizes
    where needed (a negative Constant would print `-1 ** x`, which is -(1 ** x))."""
    if value < 0:
        return gast.UnaryOp(op=gast.USub(), operand=gast.Constant(value=-value, kind=None))
    return gast.Constant(value=value, kind=None)


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def simplify(node, values=None):
    """Apply `Simplify` to a generated function (in place) and return it."""
    return Simplify(values).visit(node)


def drop_dead_stores(fn_def, removable):
    """Remove assignments to names in `removable` whose value is never read afterwards."""
    fn_def.body = _Liveness(set(removable)).block(fn_def.body, set(), remove=True)[0]
    return fn_def


class _Liveness:
    """Backward liveness over structured code (if, for, while), with loops iterated to a fixpoint."""

    def __init__(self, removable):
        self.removable = removable

    def block(self, stmts, live, remove):
        out = []
        for s in reversed(stmts):
            s.s2s_live_after = set(live)
            kept, live = self.stmt(s, live, remove)
            out = kept + out
        return out, live

    def stmt(self, s, live, remove):
        if isinstance(s, gast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], gast.Name):
            target = s.targets[0].id
            if target in self.removable and target not in live:
                return ([] if remove else [s]), live
            return [s], (live - {target}) | _reads(s.value)
        if isinstance(s, gast.If):
            body, live_b = self.block(s.body, set(live), remove)
            orelse, live_o = self.block(s.orelse, set(live), remove)
            if remove:
                s.body = body or [gast.Pass()]
                s.orelse = orelse
            return [s], live_b | live_o | _reads(s.test)
        if isinstance(s, (gast.For, gast.While)):
            header = _reads(s.iter if isinstance(s, gast.For) else s.test)
            loop_live = set(live)
            while True:
                _, body_in = self.block(s.body, set(loop_live), False)
                new = loop_live | body_in
                if new == loop_live:
                    break
                loop_live = new
            if remove:
                s.body = self.block(s.body, set(loop_live), True)[0] or [gast.Pass()]
            if isinstance(s, gast.For):
                stored = _stores(s.target)
                return [s], (loop_live - stored) | header | (live & stored)
            return [s], loop_live | header
        return [s], live | _reads(s)


def _reads(node):
    return {n.id for n in walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}


def _stores(node):
    return {n.id for n in walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}


def propagate_copies(fn_def, removable):
    """Forward-substitute copies between adjoints, `da = db`, where that is exact (see module doc)."""
    removable = set(removable)
    changed = True
    while changed:
        _Liveness(removable).block(fn_def.body, set(), remove=False)
        # Copies over names no substitution of this round touched still have exact liveness.
        changed = _propagate_in(fn_def, removable, touched=set())
    return fn_def


def _propagate_in(node, removable, touched):
    changed = False
    for field in ("body", "orelse"):
        stmts = getattr(node, field, None)
        if not stmts:
            continue
        for s in stmts:
            changed |= _propagate_in(s, removable, touched)
        i = 0
        while i < len(stmts):
            s = stmts[i]
            names = {s.targets[0].id, s.value.id} if _copy_between(s, removable) else set()
            if names and not names & touched and _substitute_copy(stmts, i):
                touched |= names
                changed = True
                continue
            i += 1
    return changed


def _copy_between(s, removable):
    return (isinstance(s, gast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], gast.Name)
            and isinstance(s.value, gast.Name) and s.targets[0].id in removable and s.value.id in removable
            and s.targets[0].id != s.value.id)


def _substitute_copy(stmts, i):
    target, source = stmts[i].targets[0].id, stmts[i].value.id
    readers = [k for k in range(i + 1, len(stmts)) if target in _reads(stmts[k])]
    if not readers or any(isinstance(stmts[k], gast.Return) for k in readers):
        return False     # the returned gradients keep the parameters' names
    last = readers[-1]
    if target in stmts[last].s2s_live_after:
        return False
    for k in range(i + 1, last + 1):
        stored = _stored_anywhere(stmts[k])
        simple = isinstance(stmts[k], gast.Assign)
        if (target in stored or source in stored) and not (k == last and simple):
            return False
    for k in range(i + 1, last + 1):
        _Rename(target, source).visit(stmts[k].value if isinstance(stmts[k], gast.Assign) else stmts[k])
    del stmts[i]
    return True


def _stored_anywhere(node):
    """Names rebound or changed in place (`dx[i] += g`, `np.add.at(dx, ...)` count as changing dx)."""
    out = {n.id for n in walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
    for n in walk(node):
        if isinstance(n, gast.Subscript) and isinstance(n.ctx, gast.Store) and isinstance(n.value, gast.Name):
            out.add(n.value.id)
        if isinstance(n, gast.Call) and isinstance(n.func, gast.Attribute) and n.func.attr == "at" \
                and n.args and isinstance(n.args[0], gast.Name):
            out.add(n.args[0].id)
    return out


class _Rename(gast.NodeTransformer):
    def __init__(self, old, new):
        self.old, self.new = old, new

    def visit_Name(self, node):
        if node.id == self.old and isinstance(node.ctx, gast.Load):
            node.id = self.new
        return node


def tidy(fn_def, is_comment):
    """Repair blocks the other passes emptied (see module doc); returns the function."""
    fn_def.body = _tidy_block(fn_def.body, is_comment) or [gast.Pass()]
    return fn_def


def _tidy_block(stmts, is_comment):
    out = []
    for s in stmts:
        out.extend(_tidy_stmt(s, is_comment))
    out = [s for s in out if not isinstance(s, gast.Pass)]
    if all(is_comment(s) for s in out):
        return []
    return out


def _tidy_stmt(s, is_comment):
    if isinstance(s, gast.If):
        body, orelse = _tidy_block(s.body, is_comment), _tidy_block(s.orelse, is_comment)
        if not body and not orelse:
            return [gast.Expr(value=s.test)] if _calls(s.test) else []
        if not body:
            return [gast.If(test=gast.UnaryOp(op=gast.Not(), operand=s.test), body=orelse, orelse=[])]
        s.body, s.orelse = body, orelse
        return [_copy_of_nullable(s) or s]
    if isinstance(s, gast.For):
        body = _tidy_block(s.body, is_comment)
        if not body:
            return [gast.Expr(value=s.iter)] if _calls(s.iter) else []
        s.body = body
        return [s]
    if isinstance(s, gast.While):
        s.body = _tidy_block(s.body, is_comment) or [gast.Pass()]
    return [s]


def _copy_of_nullable(s):
    """`if x is not None: y = x` `else: y = None` is `y = x`; None when `s` is not that."""
    if not (len(s.body) == len(s.orelse) == 1 and all(isinstance(b, gast.Assign) for b in s.body + s.orelse)):
        return None
    x = _none_test(s.test, positive=False)
    if x is None:
        return None
    body, orelse = s.body[0], s.orelse[0]
    if not (len(body.targets) == len(orelse.targets) == 1 and isinstance(body.targets[0], gast.Name)
            and isinstance(orelse.targets[0], gast.Name) and body.targets[0].id == orelse.targets[0].id
            and isinstance(body.value, gast.Name) and body.value.id == x
            and isinstance(orelse.value, gast.Constant) and orelse.value.value is None):
        return None
    return body


def _calls(node):
    return any(isinstance(n, gast.Call) for n in walk(node))


# ---------------------------------------------------------------------------------------------
# None adjoints (see reverse.State): a zero known only at run time is None where paths meet, so that no
# rule multiplies it by partials that may be inf or NaN. Where every use a `d = None` reaches only adds to
# d (`g if d is None else d + g`) or reads it as a value (`0.0 if d is None else d`), a zero is as exact:
# it becomes one, and the tests of None that are then decided are folded away.
# ---------------------------------------------------------------------------------------------

def settle_nones(fn_def, removable, is_comment=lambda stmt: False):
    """Replace `d = None` by d's zero where no rule can consume that None, then fold decided `is None`
    tests (conditional expressions and `if d is not None:` guards), and fuse guards that test what the
    one before them defined; returns the function."""
    removable = set(removable)
    while True:
        flow = _Nullness(removable)
        flow.block(fn_def.body, {p: {_EITHER} for p in getattr(fn_def, "s2s_nullable", ())})
        zeroed = {label for label in flow.none_defs if label not in flow.consumed}
        for label in zeroed:
            stmt = flow.none_defs[label]
            stmt.value = stmt.s2s_zero
            del stmt.s2s_zero
        folded = _Fold(flow, zeroed).block(fn_def.body)
        fn_def.body = folded[0] or [gast.Pass()]
        fused = _fuse_guards(fn_def, is_comment)
        if not zeroed and not folded[1] and not fused:
            return fn_def


def _fuse_guards(node, is_comment):
    """`if c: ...; t = e` `else: t = None` then `if t is not None: B` is one branch: B moves into the first
    (t is not None exactly when c held), with the comments between them. Returns whether anything moved."""
    changed = False
    for field in ("body", "orelse"):
        stmts = getattr(node, field, None)
        if not stmts:
            continue
        for s in stmts:
            changed |= _fuse_guards(s, is_comment)
        i = 0
        while i + 1 < len(stmts):
            j = i + 1
            while j < len(stmts) - 1 and is_comment(stmts[j]):
                j += 1
            first, second = stmts[i], stmts[j]
            tested = _guard_vars(second.test) if isinstance(second, gast.If) else None
            if isinstance(first, gast.If) and tested and all(
                    _last_value(first.body, v) is True and _last_value(first.orelse, v) is False for v in tested):
                first.body += stmts[i + 1:j] + second.body
                first.orelse += second.orelse
                del stmts[i + 1:j + 1]
                changed = True
                continue
            i += 1
    return changed


def _last_value(stmts, var):
    """True when the last write to `var` in a block (at its top level, none nested) is a value, False when
    it is `var = None`, else None."""
    verdict = None
    for s in stmts:
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) and s.targets[0].id == var:
            if var in getattr(s, "s2s_nullable", ()):      # a pullback's result: None or not, at run time
                return None
            value = s.value                                 # a copy carries the None of what it copies
            if isinstance(value, gast.Name) or isinstance(value, gast.IfExp) and isinstance(
                    value.body, gast.Constant) and value.body.value is None:
                return None
            verdict = not (isinstance(s.value, gast.Constant) and s.value.value is None)
        elif var in _stores(s):
            return None
    return verdict


_VALUE = "value"          # the label of a definition that is never None
_EITHER = "either"        # the label of a parameter a caller may pass None (a seed of several)


def _none_test(node, positive):
    """The variable of `v is None` (positive) or `v is not None`, else None."""
    if (isinstance(node, gast.Compare) and isinstance(node.left, gast.Name) and len(node.ops) == 1
            and isinstance(node.ops[0], gast.Is if positive else gast.IsNot)
            and isinstance(node.comparators[0], gast.Constant) and node.comparators[0].value is None):
        return node.left.id
    return None


def _guard_vars(test):
    """The variables of a guard `d1 is not None or d2 is not None`, else None."""
    parts = test.values if isinstance(test, gast.BoolOp) and isinstance(test.op, gast.Or) else [test]
    names = [_none_test(p, positive=False) for p in parts]
    return names if all(names) else None


class _Nullness:
    """Forward dataflow over generated code: which definitions of each adjoint reach each point (a
    definition is a statement `d = None`, or `_VALUE` for one that is never None), which `d = None`
    reach a use that consumes the None (a guard testing it, a plain read), and the labels reaching each
    decidable test (recorded by node id for `_Fold`)."""

    def __init__(self, removable):
        self.removable = removable
        self.none_defs = {}       # id(stmt) -> `d = None` statement
        self.consumed = set()     # ids of `d = None` reaching a consuming use
        self.reaching = {}        # id(test node) -> set of labels reaching its variable(s)
        self.made = set()         # ids of the `if d is None:` statements among them

    def labels(self, env, var):
        return env.get(var, {_VALUE})

    def use(self, env, node):
        """Record the reads in an expression: a test of None (a safe use) or any other read."""
        if isinstance(node, gast.IfExp):
            var = _none_test(node.test, positive=True)
            if var in self.removable:
                self.reaching[id(node)] = set(self.labels(env, var))
                self.use(env, node.body)
                self.use(dict(env, **{var: {_VALUE}}), node.orelse)      # read there only when not None
                return
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load) and node.id in self.removable:
            self.consumed |= self.labels(env, node.id)
            return
        for child in gast.iter_child_nodes(node):
            self.use(env, child)

    def block(self, stmts, env):
        for s in stmts:
            env = self.stmt(s, env)
        return env

    def stmt(self, s, env):
        if isinstance(s, gast.Assign):
            self.use(env, s.value)
            env = dict(env)
            target = s.targets[0]
            if isinstance(target, gast.Name) and target.id in self.removable:
                value = s.value
                if isinstance(value, gast.Constant) and value.value is None and hasattr(s, "s2s_zero"):
                    self.none_defs[id(s)] = s
                    env[target.id] = {id(s)}
                elif isinstance(value, gast.Constant) and value.value is None:
                    self.consumed.add(id(s))
                    self.none_defs.setdefault(id(s), s)
                    env[target.id] = {id(s)}
                elif isinstance(value, gast.Name) and value.id in self.removable:
                    env[target.id] = set(self.labels(env, value.id))       # a copy carries a None along
                elif (isinstance(value, gast.IfExp) and _none_test(value.test, positive=True) in self.removable
                      and isinstance(value.body, gast.Constant) and value.body.value is None):
                    env[target.id] = set(self.labels(env, _none_test(value.test, positive=True)))   # so does
                    # `None if d is None else np.copy(d)`
                else:
                    env[target.id] = {_EITHER} if target.id in getattr(s, "s2s_nullable", ()) else {_VALUE}
            else:
                for n in walk(target):
                    if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):     # a pullback's results:
                        env[n.id] = {_EITHER} if n.id in getattr(s, "s2s_nullable", ()) else {_VALUE}   # None?
                    elif isinstance(n, gast.Name):
                        self.use(env, n)
            return env
        if isinstance(s, gast.If):
            guarded = _guard_vars(s.test)
            made = _none_test(s.test, positive=True)
            if made in self.removable:            # `if d is None: d = np.zeros_like(x)`: no rule reads the None
                self.reaching[id(s)] = set(self.labels(env, made))
                self.made.add(id(s))
                return _merge(self.block(s.body, dict(env)), self.block(s.orelse, dict(env, **{made: {_VALUE}})))
            elif guarded and all(v in self.removable for v in guarded):
                self.reaching[id(s)] = set().union(*(self.labels(env, v) for v in guarded))
                for v in guarded:            # the rule under the guard consumes what reaches it
                    self.consumed |= self.labels(env, v) - {_VALUE, _EITHER}
            else:
                self.use(env, s.test)
            return _merge(self.block(s.body, dict(env)), self.block(s.orelse, dict(env)))
        if isinstance(s, (gast.For, gast.While)):
            self.use(env, s.iter if isinstance(s, gast.For) else s.test)
            head = dict(env)
            while True:
                end = self.block(s.body, dict(head))
                merged = _merge(head, end)
                if merged == head:
                    break
                head = merged
            return end if getattr(s, "s2s_runs", False) else head
        self.use(env, s)
        return env


def _merge(a, b):
    return {k: a.get(k, {_VALUE}) | b.get(k, {_VALUE}) for k in set(a) | set(b)}


class _Fold:
    """Fold the tests of None that the labels reaching them decide: never None (only values and zeroed
    definitions reach) or always None (only `d = None` definitions that stayed)."""

    def __init__(self, flow, zeroed):
        self.flow = flow
        self.zeroed = zeroed

    def decided(self, labels):
        """True: surely not None; False: surely None; None: either."""
        if _EITHER in labels:
            return None
        if all(label == _VALUE or label in self.zeroed for label in labels):
            return True
        if all(label != _VALUE and label not in self.zeroed for label in labels):
            return False
        return None

    def block(self, stmts):
        out, changed = [], False
        for s in stmts:
            new, c = self.stmt(s)
            out += new
            changed |= c
        return out, changed

    def stmt(self, s):
        changed = False
        if isinstance(s, gast.If) and id(s) in self.flow.reaching:
            verdict = self.decided(self.flow.reaching[id(s)])
            if verdict is not None:
                taken = verdict != (id(s) in self.flow.made)      # `is None` tests the other way round
                kept, _ = self.block(s.body if taken else s.orelse)
                return kept, True
        for field in ("body", "orelse"):
            if getattr(s, field, None):
                block, c = self.block(getattr(s, field))
                setattr(s, field, block or ([gast.Pass()] if field == "body" else []))
                changed |= c
        folder = _FoldExpressions(self)
        folder.visit(s)
        return [s], changed or folder.changed


class _FoldExpressions(gast.NodeTransformer):
    def __init__(self, fold):
        self.fold = fold
        self.changed = False

    def visit_IfExp(self, node):
        self.generic_visit(node)
        labels = self.fold.flow.reaching.get(id(node))
        verdict = self.fold.decided(labels) if labels is not None else None
        if verdict is None:
            return node
        self.changed = True
        return node.orelse if verdict else node.body


# ---------------------------------------------------------------------------------------------
# Accumulation in place: `dW = dW + g` allocates a new array each time (each loop step, in a loop);
# `dW += g` adds into dW's memory. That is the same only while no other name refers to dW's array, so
# it is done where dW is *owned*: on every path, its last write made a new value (arithmetic, a number)
# and nothing since read dW where its array could be kept (a copy `dx = dW`, a call, a push, a display).
# ---------------------------------------------------------------------------------------------

def accumulate_in_place(fn_def, removable):
    """Turn `d = d + g` (and `d = d - g`) into `d += g` where d is owned (see above); returns the
    function. Only names in `removable` (adjoints and rules' locals) are considered: never a parameter
    (a caller's cotangent) nor a value of the primal."""
    owned = _Owned(set(removable))
    owned.block(fn_def.body, set(), convert=False)
    owned.block(fn_def.body, set(), convert=True)
    return fn_def


class _Owned:
    """Forward dataflow over generated code: the set of adjoints owned at each point (see above); with
    `convert`, it rewrites the accumulations it finds owned (on the final walk, after loops settled)."""

    def __init__(self, removable):
        self.removable = removable

    def block(self, stmts, owned, convert):
        for k, s in enumerate(stmts):
            owned, new = self.stmt(s, owned, convert)
            if new is not None:
                stmts[k] = new
        return owned

    def stmt(self, s, owned, convert):
        """(owned after s, a statement to put in place of s or None)."""
        if isinstance(s, gast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], gast.Name):
            t = s.targets[0].id
            value = s.value
            accumulates = (t in self.removable and t in owned and isinstance(value, gast.BinOp)
                           and isinstance(value.op, (gast.Add, gast.Sub)) and isinstance(value.left, gast.Name)
                           and value.left.id == t)
            owned = owned - _escaping(value)
            if accumulates and t not in _escaping(value.right):
                new = None
                if convert:
                    new = gast.AugAssign(target=s.targets[0], op=value.op, value=value.right)
                    for attr in ("lineno", "s2s_line"):
                        if hasattr(s, attr):
                            setattr(new, attr, getattr(s, attr))
                return owned | {t}, new
            if t in self.removable and _fresh(value):
                return owned | {t}, None
            return owned - {t}, None
        if isinstance(s, gast.AugAssign) and isinstance(s.target, gast.Subscript):
            return owned - _escaping(s.target) - _escaping(s.value, operand=True), None    # `dx[i] += g` copies g
        if isinstance(s, gast.If):
            owned = owned - _escaping(s.test)
            body = self.block(s.body, set(owned), convert)
            orelse = self.block(s.orelse, set(owned), convert)
            return body & orelse, None
        if isinstance(s, (gast.For, gast.While)):
            head = set(owned) - _escaping(s.iter if isinstance(s, gast.For) else s.test)
            if isinstance(s, gast.For):
                head -= _stores(s.target)
            while True:
                end = self.block(s.body, set(head), convert=False)
                new = head & end
                if new == head:
                    break
                head = new
            if convert:
                self.block(s.body, set(head), convert=True)
            return head, None
        return owned - _escaping(s) - _stores(s), None


def _escaping(node, operand=False):
    """Names read where their value may be kept (anywhere but as an operand of arithmetic or a comparison,
    which makes a new value); with `operand`, a bare name at the top is such an operand."""
    if operand and isinstance(node, gast.Name):
        return set()
    out = set()
    operands = set()
    for n in walk(node):
        if isinstance(n, gast.BinOp):
            operands |= {id(n.left), id(n.right)}
        elif isinstance(n, gast.UnaryOp):
            operands.add(id(n.operand))
        elif isinstance(n, gast.Compare):
            operands |= {id(n.left)} | {id(c) for c in n.comparators}
    for n in walk(node):
        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load) and id(n) not in operands:
            out.add(n.id)
    return out


def _fresh(value):
    """Whether a value is surely a new object no other name holds: arithmetic makes one, a number is
    immutable (`d += g` rebinds it)."""
    if isinstance(value, (gast.BinOp, gast.UnaryOp)):
        return True
    return isinstance(value, gast.Constant) and _number(value.value)


# ---------------------------------------------------------------------------------------------
# Temporaries the lowering named for one operation each (`sin_x = math.sin(x)`, `sin_x_times_a =
# sin_x * a`) that nothing but one later statement of the same block reads go back into it: the forward
# sweep then reads as the user wrote it (`x = math.sin(x) * a + 0.1 * x`) and stores nothing it does not
# need. The expression tree is the same, so every value is the same to the last bit.
# ---------------------------------------------------------------------------------------------

def inline_temporaries(fn_def, temporaries, values, adjoints=()):
    """Put each pure temporary read once, by a later assignment or return of its own block, into that
    reader; `temporaries` are the names the compiler made (never the user's), `values` what names mean in
    the generated code (to know np.sin and math.sin are pure). The `adjoints` of temporaries go into
    arithmetic only (`dx = dx + dz * a * math.cos(x)`): in a call (`matmul_adjoint_left(dz, W, x)`, a
    rule of the user's) a named adjoint reads better. Returns the function.

    Example:
        >>> inline_temporaries(parse("def f(x, a):\\n    s = np.sin(x)\\n    y = s * a\\n    return y"),
        ...                    {"s"}, {"np": numpy}).body[0]               # y = np.sin(x) * a
    """
    counts = {}
    for n in walk(fn_def):
        if isinstance(n, gast.Name):
            stores, loads = counts.get(n.id, (0, 0))
            counts[n.id] = (stores + isinstance(n.ctx, gast.Store), loads + isinstance(n.ctx, gast.Load))
    once = {t: t in adjoints for t in set(temporaries) | set(adjoints) if counts.get(t) == (1, 1)}
    stacks = {s.targets[0].id for s in fn_def.body if isinstance(s, gast.Assign) and isinstance(s.value, gast.List)
              and not s.value.elts and isinstance(s.targets[0], gast.Name)}
    _inline_in(fn_def, once, values, stacks)
    return fn_def


def _inline_in(node, once, values, stacks):
    for field in ("body", "orelse"):
        stmts = getattr(node, field, None)
        if not stmts:
            continue
        for s in stmts:
            _inline_in(s, once, values, stacks)
        i = 0
        while i < len(stmts):
            if _inline_from(stmts, i, once, values, stacks):
                del stmts[i]
                continue
            i += 1


def _inline_from(stmts, i, once, values, stacks):
    s = stmts[i]
    if not (isinstance(s, gast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], gast.Name)
            and s.targets[0].id in once and _pure(s.value, values)):
        return False
    target, reads = s.targets[0].id, _reads(s.value)
    for later in stmts[i + 1:]:
        if isinstance(later, (gast.Assign, gast.Return)) and target in _reads(later):
            if isinstance(later, gast.Assign) and not all(isinstance(t, gast.Name) for t in later.targets):
                return False                     # x[i] = t: the index is evaluated first; keep it apart
            if isinstance(later, gast.Return) or once[target] and not isinstance(later.value, (gast.BinOp, gast.UnaryOp)):
                return False                     # the returned value keeps its name; see the docstring
            _Substitute(target, s.value).visit(later)
            return True
        # Moving past a statement is exact when it changes nothing the value reads: a pure assignment of
        # other names, a push or pop of the stack, or a comment.
        if _stack_call(later, stacks) or is_comment(later):
            if reads & _stored_anywhere(later):
                return False
            continue
        if not (isinstance(later, gast.Assign) and all(isinstance(t, gast.Name) for t in later.targets)
                and (_pure(later.value, values) or _stack_call(later, stacks))) or reads & _stored_anywhere(later):
            return False
    return False


def _pure(node, values):
    """Whether evaluating `node` has no effect and can move past statements that change none of its names:
    names, constants, arithmetic, element reads, and calls of NumPy ufuncs or the math module."""
    for n in walk(node):
        if isinstance(n, gast.Call):
            fn = _meaning(n.func, values)
            if not (isinstance(fn, numpy.ufunc) and len(n.args) <= fn.nin or getattr(fn, "__module__", None) == "math") \
                    or n.keywords:
                return False                     # a ufunc's positional `out` (np.add(a, b, a)) writes into a
        elif not isinstance(n, (gast.Name, gast.Constant, gast.BinOp, gast.UnaryOp, gast.Subscript, gast.Attribute,
                                gast.Slice, gast.Tuple, gast.expr_context, gast.operator, gast.unaryop)):
            return False
        elif isinstance(n, gast.Attribute) and not isinstance(_meaning(n, values), (numpy.ufunc, type(math.sin))):
            return False                         # x.attr may run code; np.sin and math.sin are what they are
    return True


def _meaning(node, values):
    if isinstance(node, gast.Name):
        return values.get(node.id)
    if isinstance(node, gast.Attribute):
        base = _meaning(node.value, values)
        return getattr(base, node.attr, None) if base is numpy or base is math else None
    return None


def _stack_call(s, stacks):
    value = s.value if isinstance(s, (gast.Expr, gast.Assign)) else None
    return (isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute)
            and value.func.attr in ("append", "pop") and isinstance(value.func.value, gast.Name)
            and value.func.value.id in stacks)


class _Substitute(gast.NodeTransformer):
    def __init__(self, old, value):
        self.old, self.value = old, value

    def visit_Name(self, node):
        return self.value if node.id == self.old and isinstance(node.ctx, gast.Load) else node
