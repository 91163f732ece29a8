"""The language fence: reject what the compiler does not differentiate, before any transformation.

After this pass the function uses only the supported subset; every rejection is an
`UnsupportedSyntaxError` at the user's file, line and column, saying what to write instead.

Example:
    >>> check(parse(f))   # raises UnsupportedSyntaxError for `try:` in f
"""

import gast

from .errors import UnsupportedSyntaxError

# Constructs with a known better spelling: what to say about each.
ADVICE = {
    gast.Try: ("'try' statements", "move the error handling outside the differentiated function"),
    gast.With: ("'with' statements", "move the context manager outside the differentiated function"),
    gast.Yield: ("generators ('yield')", "return a value (or build a list outside the function)"),
    gast.YieldFrom: ("generators ('yield from')", "return a value"),
    gast.Global: ("'global' declarations", "pass the value in as an argument and return the result"),
    gast.Nonlocal: ("'nonlocal' declarations", "pass the value in as an argument and return the result"),
    gast.Lambda: ("lambdas used as values (returned or stored in a container)",
                  "assign the lambda to a name and call it ('sq = lambda t: t * t'), or define it with 'def'"),
    gast.Delete: ("'del' statements", "let the variable go out of use instead"),
    gast.ClassDef: ("class definitions", "define the class at module level"),
    gast.FunctionDef: ("functions defined two levels deep", "define the inner one at the level of its caller"),
    gast.AsyncFunctionDef: ("async functions", "use a plain 'def' function"),
    gast.Await: ("'await'", "use a plain 'def' function"),
    gast.SetComp: ("set comprehensions", "write a 'for' loop"),
    gast.Import: ("imports inside the function", "import at module level"),
    gast.ImportFrom: ("imports inside the function", "import at module level"),
    gast.Starred: ("starred expressions ('*xs') outside calls and unpacking targets",
                   "write the items out one by one"),
    gast.NamedExpr: ("assignment expressions (':=')", "assign in a statement of its own"),
    gast.Set: ("set displays", "pass numbers or arrays, not sets"),
    gast.Match: ("'match' statements", "use if/elif/else"),
    gast.AsyncFor: ("'async for'", "use a plain 'for' loop"),
    gast.AsyncWith: ("'async with'", "move it outside the function"),
}

ALLOWED = (
    gast.Assign, gast.AugAssign, gast.AnnAssign, gast.Expr, gast.Return, gast.If, gast.For,
    gast.While, gast.Break, gast.Continue, gast.Pass, gast.Assert, gast.Raise,
    gast.BinOp, gast.UnaryOp, gast.BoolOp, gast.Compare, gast.Call, gast.IfExp, gast.Name,
    gast.Constant, gast.Attribute, gast.Tuple, gast.List, gast.Dict, gast.Subscript, gast.Slice, gast.keyword,
    gast.JoinedStr, gast.FormattedValue, gast.ListComp, gast.DictComp, gast.GeneratorExp, gast.comprehension,
    gast.Load, gast.Store, gast.operator, gast.unaryop, gast.boolop, gast.cmpop, gast.expr_context,
)


class Fence(gast.NodeVisitor):
    """Walks a function body and raises on the first construct outside the supported subset."""

    def __init__(self, source, nested=False):
        self.source = source
        self.nested = nested         # inside a function defined in the differentiated function

    def visit_FunctionDef(self, node):
        """A function defined inside the differentiated one (lowering lifts it: lower/lift.py)."""
        if self.nested:
            self.generic_visit(node)          # refused: one level of nesting
        if node.decorator_list:
            self.fail(node.decorator_list[0], "decorators on nested functions",
                      "define the decorated function at module level")
        inner = Fence(self.source, nested=True)
        for stmt in node.body:
            inner.visit(stmt)

    def fail(self, node, what, instead):
        msg = f"{what} are not supported in differentiated functions; {instead}"
        raise UnsupportedSyntaxError(msg, self.source.location(node))

    def generic_visit(self, node):
        kind = type(node)
        if kind in ADVICE:
            self.fail(node, *ADVICE[kind])
        if not isinstance(node, ALLOWED):
            self.fail(node, f"'{kind.__name__}' constructs", "rewrite it with assignments, if, for and while")
        super().generic_visit(node)

    def visit_For(self, node):
        self._check_target(node.target)
        it = node.iter
        if isinstance(it, gast.Call) and isinstance(it.func, gast.Name) and it.func.id == "range" \
                and not (1 <= len(it.args) <= 3 and not it.keywords):
            self.fail(it, "range(...) with keyword arguments", "write range(start, stop, step)")
        if node.orelse:
            self.fail(node, "'for ... else' clauses", "use a flag variable set before 'break'")
        for child in [node.iter] + node.body:          # the target was checked: starred names are fine there
            self.visit(child)

    def visit_comprehension(self, node):
        self._check_target(node.target)
        for child in [node.iter] + node.ifs:
            self.visit(child)

    def visit_While(self, node):
        if node.orelse:
            self.fail(node, "'while ... else' clauses", "use a flag variable set before 'break'")
        self.generic_visit(node)

    def visit_Assign(self, node):
        if isinstance(node.value, gast.Lambda) and len(node.targets) == 1 and isinstance(node.targets[0], gast.Name) \
                and not self.nested:                  # `sq = lambda t: t * t`: a nested function
            Fence(self.source, nested=True).visit(gast.Return(value=node.value.body))
            return
        for target in node.targets:
            self._check_target(target)
        if any(isinstance(t, gast.Tuple) for t in node.targets) and len(node.targets) > 1:
            self.fail(node, "chained tuple assignments", "assign each tuple in its own statement")
        for target in node.targets:
            if not isinstance(target, (gast.Tuple, gast.List)):
                self.visit(target)
        self.visit(node.value)

    def visit_AugAssign(self, node):
        self._check_target(node.target)
        self.generic_visit(node)

    def visit_AnnAssign(self, node):
        self._check_target(node.target)
        self.generic_visit(node)

    def _check_target(self, target):
        if isinstance(target, (gast.Tuple, gast.List)):        # a, (b, c), *rest = ...
            for elt in target.elts:
                inner = elt.value if isinstance(elt, gast.Starred) else elt
                if not isinstance(inner, (gast.Name, gast.Tuple, gast.List)):
                    self.fail(elt, "unpacking into anything but names", "unpack into plain names")
                self._check_target(inner)
        elif isinstance(target, gast.Attribute):
            self.fail(target, "assignments to attributes", "assign to a local variable and return it")
        elif not isinstance(target, (gast.Name, gast.Subscript)):
            self.fail(target, f"assignments to '{type(target).__name__}'", "assign to a plain name")

    def visit_Call(self, node):
        """`h(x, *xs, **d)`: a starred argument is bound to the callee's parameters by lowering
        (lower/bind.py), which refuses what it cannot bind exactly; starred items elsewhere are refused."""
        self.visit(node.func)
        for a in node.args:
            self.argument(a.value if isinstance(a, gast.Starred) else a)
        for k in node.keywords:
            if k.arg == "out" or not isinstance(k.value, gast.Lambda):
                self.visit(k)
            else:
                self.argument(k.value)

    def argument(self, value):
        """A call's argument; a lambda there (`odeint(lambda y, t: -k * y, ...)`) is a nested function that
        lowering lifts and names (lower/lift.py), refused there if it reads the enclosing function's variables."""
        if isinstance(value, gast.Lambda) and not self.nested:
            Fence(self.source, nested=True).visit(gast.Return(value=value.body))
        else:
            self.visit(value)

    def visit_keyword(self, node):
        if node.arg == "out":
            self.fail(node.value, "'out=' arguments (they write into an existing array in place)",
                      "assign the result instead: 'y = np.add(a, b)'")
        self.generic_visit(node)

    def visit_Return(self, node):
        if node.value is None:
            self.fail(node, "'return' statements without a value", "return the value to differentiate")
        self.generic_visit(node)


def check(source):
    """Raise UnsupportedSyntaxError on the first unsupported construct of `source` (a frontend.Source)."""
    fn = source.node
    fence = Fence(source)
    for stmt in fn.body:
        fence.visit(stmt)
    return source
