"""Passes on generated code that make it read like hand-written code.

After `simplify`: no arithmetic on two constants (`y - 1` with y = 2 is `1`), no `e ** 1`,
no `-(-e)`; the meaning of every expression is unchanged.

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
        return node

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        inner = node.operand
        if isinstance(node.op, gast.USub) and isinstance(inner, gast.UnaryOp) and isinstance(inner.op, gast.USub):
            return inner.operand
        return node


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def simplify(node):
    """Apply `Simplify` to a generated function (in place) and return it."""
    return Simplify().visit(node)
