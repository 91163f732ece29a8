"""Small builders and queries for gast nodes, shared by the compiler stages.

Example:
    >>> assign("y", call(name("sin"), [name("x")]))   # the statement `y = sin(x)`
"""

import builtins
import collections
import re

import gast


def name(ident, store=False):
    return gast.Name(id=ident, ctx=gast.Store() if store else gast.Load(), annotation=None, type_comment=None)


def const(value):
    return gast.Constant(value=value, kind=None)


def assign(target, value, like=None):
    """`target = value`; `target` is a name (str) or a node. Copies the position of `like`."""
    if isinstance(target, str):
        target = name(target, store=True)
    node = gast.Assign(targets=[target], value=value, type_comment=None)
    return located(node, like)


def call(func, args=(), keywords=()):
    if isinstance(func, str):
        func = parse_expr(func)
    kws = [gast.keyword(arg=k, value=v) for k, v in keywords]
    return gast.Call(func=func, args=list(args), keywords=kws)


def expr_stmt(value, like=None):
    return located(gast.Expr(value=value), like)


def method_call(obj, method, args=()):
    """`obj.method(*args)`: `hs.append(h)`, `dhs.pop()`."""
    owner = name(obj) if isinstance(obj, str) else obj
    return call(gast.Attribute(value=owner, attr=method, ctx=gast.Load()), args)


def list_update(stmt):
    """A core list update (`hs = append(hs, x)`, see lower/desugar.py) as the statement a person writes:
    `hs.append(x)`, `hs.insert(i, x)`, `hs.pop(i)`."""
    xs, *args = stmt.value.args
    return located(gast.Expr(value=method_call(clone(xs), stmt.s2s_list_update, [clone(a) for a in args])), stmt)


def not_any(flags):
    """The condition `not (f1 or f2 ...)` over flag names."""
    names = [name(f) for f in sorted(flags)]
    inner = names[0] if len(names) == 1 else gast.BoolOp(op=gast.Or(), values=names)
    return gast.UnaryOp(op=gast.Not(), operand=inner)


def any_of(flags):
    names = [name(f) for f in sorted(flags)]
    return names[0] if len(names) == 1 else gast.BoolOp(op=gast.Or(), values=names)


def parse_expr(text):
    return gast.parse(text).body[0].value


def located(node, like):
    if like is not None:
        for attr in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
            if hasattr(like, attr):
                setattr(node, attr, getattr(like, attr))
        if hasattr(like, "s2s_line"):
            node.s2s_line = like.s2s_line
        if hasattr(like, "s2s_origin"):
            node.s2s_origin = like.s2s_origin
    return node


def adopt(stmts, like):
    """Give every statement of `stmts` (nested ones too) that has no origin the origin of `like`, the
    user's statement they were generated from (so errors about generated code name the user's line)."""
    origin = getattr(like, "s2s_origin", None)
    if origin is not None:
        for stmt in stmts:
            for node in walk(stmt):
                if isinstance(node, gast.stmt) and not hasattr(node, "s2s_origin"):
                    node.s2s_origin = origin
    return stmts


def is_atom(node):
    return isinstance(node, (gast.Name, gast.Constant))


def assigned_names(stmts):
    """Names stored anywhere in a list of statements (loop targets included)."""
    out = set()
    for stmt in stmts:
        for sub in walk(stmt):
            if isinstance(sub, gast.Name) and isinstance(sub.ctx, gast.Store):
                out.add(sub.id)
    return out


def leaves(node):
    """The atoms of a (possibly nested) tuple display, left to right; a non-tuple is its own leaf."""
    if isinstance(node, gast.Tuple):
        return [leaf for e in node.elts for leaf in leaves(e)]
    return [node]


def map_leaves(node, fn):
    """A tuple display of the same nesting as `node` with `fn(leaf)` for each leaf."""
    if isinstance(node, gast.Tuple):
        return gast.Tuple(elts=[map_leaves(e, fn) for e in node.elts], ctx=gast.Load())
    return fn(node)


def walk(node):
    """Every node under `node`, itself first, in the order of ast.walk (breadth first, fields in order):
    the same walk at twice its speed, for the compiler's passes that walk every statement again.

    Example:
        >>> [type(n).__name__ for n in walk(gast.parse("y = x").body[0])][:3]
        ['Assign', 'Name', 'Name']
    """
    todo = collections.deque([node])
    pop, push = todo.popleft, todo.append
    while todo:
        node = pop()
        for key in node._fields:
            value = getattr(node, key, None)
            if value.__class__ is list:
                for v in value:
                    if isinstance(v, gast.AST):
                        push(v)
            elif isinstance(value, gast.AST):
                push(value)
        yield node


def clone(node):
    """A deep copy of an AST: every node and list of nodes new, other attributes shared (the compiler's own
    s2s_* notes are never mutated in place). Five times faster than copy.deepcopy, which the compiler spent
    a third of a first gradient in, copying rule templates.

    Example:
        >>> tree = gast.parse("y = x * 2.0")
        >>> clone(tree) is not tree and gast.dump(clone(tree)) == gast.dump(tree)
        True
    """
    cls = node.__class__
    new = cls.__new__(cls)
    fields = new.__dict__
    for key, value in node.__dict__.items():
        if value.__class__ is list:
            fields[key] = [clone(v) if isinstance(v, gast.AST) else v for v in value]
        elif isinstance(value, gast.AST):
            fields[key] = clone(value)
        else:
            fields[key] = value
    return new


def identifier(text, fallback="t"):
    """A valid Python identifier made from `text` (used to name temporaries)."""
    text = re.sub(r"\W+", "_", str(text)).strip("_")
    if not text or text[0].isdigit():
        text = f"{fallback}_{text}" if text else fallback
    return text


class Namer:
    """Hands out unique, deterministic names: `base`, then `base_1`, `base_2`, ... A fresh name is never a
    builtin's (generated code may call range, len, slice, ...: `Namespace.bind` gives those)."""

    def __init__(self, taken=()):
        self.taken = set(taken)

    def fresh(self, base):
        base = identifier(base)
        if base not in self.taken and base not in _BUILTINS:
            self.taken.add(base)
            return base
        i = 1
        while f"{base}_{i}" in self.taken:
            i += 1
        self.taken.add(f"{base}_{i}")
        return f"{base}_{i}"

    def reserve(self, ident):
        self.taken.add(ident)
        return ident

    def bind(self, source, preferred, obj):
        """A name meaning `obj` in the function `source` is lowered from: the name its namespace already
        has for it (not a local), else a fresh one added to the namespace.

        Example:
            >>> namer.bind(source, "r_", runtime.r_)      # 'r_', now in source.namespace
        """
        for key, value in source.namespace.items():
            if value is obj and key not in source.locals:
                return key
        key = self.fresh(preferred)
        source.namespace[key] = obj
        return key


_BUILTINS = frozenset(dir(builtins))


class Namespace:
    """The globals of generated code: a name for every object it refers to.

    `bind` returns a name that means `obj` in the generated code, reusing the user's own
    spelling when it already means that object and never shadowing a local name.

    Example:
        >>> ns.bind("math", math)   # 'math' (or 'math_1' if 'math' means something else)
    """

    def __init__(self, values, namer):
        self.values = dict(values)
        self.namer = namer

    def bind(self, preferred, obj):
        candidate, i = preferred, 0
        while True:
            if self.values.get(candidate, _UNSET) is obj:
                return candidate
            if candidate not in self.values and candidate not in self.namer.taken:
                self.values[candidate] = obj
                self.namer.reserve(candidate)
                return candidate
            i += 1
            candidate = f"{preferred}_{i}"


_UNSET = object()


# -- comments -----------------------------------------------------------------------------------
# `ast.unparse` prints no comments, so generated code carries them as marker statements, which
# emit.py turns into `# ...` lines: the emitter owns how a comment reads.

COMMENT = "__comment__"


def comment(text, origin=None):
    """A marker statement that emit.py prints as a comment line: `# text`, or with `origin`, the
    (filename, lineno, ...) of the user's line `text` is, `# model.py:12  text`.

    Example:
        >>> comment("h = np.tanh(W @ x)", ("/src/model.py", 12, 5))    # # model.py:12  h = np.tanh(W @ x)
    """
    args = [const(text)]
    if origin is not None:
        args += [const(str(origin[0])), const(int(origin[1]))]
    return gast.Expr(value=call(name(COMMENT), args))


def is_comment(stmt):
    """Whether `stmt` is a comment marker (see `comment`)."""
    return (isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call)
            and isinstance(stmt.value.func, gast.Name) and stmt.value.func.id == COMMENT)
