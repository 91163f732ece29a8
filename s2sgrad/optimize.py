"""Passes on generated code that make it read like hand-written code.

- `simplify`: no arithmetic on two constants (`y - 1` with y = 2 is `1`), no `e ** 1`,
  no `-(-e)`, `a + -b * c` is `a - b * c`; the meaning of every expression is unchanged.
- `drop_dead_stores`: an assignment to an adjoint that nothing reads afterwards is removed
  (primal statements are never touched: they may call user code).

Example:
    >>> simplify(parse_expr("dz * 2 * x ** (2 - 1)"))   # dz * 2 * x
"""

import operator

import gast

FOLD = {gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul}


class Simplify(gast.NodeTransformer):
    """Constant folding and the algebraic identities that templates leave behind."""

    def visit_BinOp(self, node):
        self.generic_visit(node)
        left, right = node.left, node.right
        if (isinstance(left, gast.Constant) and isinstance(right, gast.Constant) and type(node.op) in FOLD
                and _number(left.value) and _number(right.value)):
            return gast.Constant(value=FOLD[type(node.op)](left.value, right.value), kind=None)
        if isinstance(node.op, gast.Pow) and isinstance(right, gast.Constant) and right.value == 1 \
                and type(right.value) is int:
            return left
        if isinstance(node.op, (gast.Add, gast.Sub)):
            positive = _without_leading_minus(right)
            if positive is not None:
                node.op = gast.Sub() if isinstance(node.op, gast.Add) else gast.Add()
                node.right = positive
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


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def simplify(node):
    """Apply `Simplify` to a generated function (in place) and return it."""
    return Simplify().visit(node)


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
    return {n.id for n in gast.walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}


def _stores(node):
    return {n.id for n in gast.walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
