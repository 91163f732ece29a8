"""Lift: functions defined inside the differentiated function become functions of their own.

After this pass: the body holds no `def` and no `name = lambda ...`. Each nested function `g` is a
Python function of its own, whose free variables from the enclosing function are keyword-only
parameters; every call passes them (`g(t)` becomes `g(t, a=a)`). A closure reads its cells when it is
called, so passing their values at the call is the same. `g` then means that function in the enclosing
function's namespace, and the compiler differentiates it as a helper (split mode, both transforms).

Example:
    >>> body = Lift(source).block(body)      # `def step(h): return np.tanh(W @ h + b)` lifted
"""

import ast
import copy
import types

import gast

from ..errors import UnsupportedSyntaxError
from ..syntax import name, walk


class Lift:
    """Lifts the nested functions of one function (one level deep; see the module docstring)."""

    def __init__(self, source):
        self.source = source
        self.lambdas = set()

    def block(self, body):
        defs = {}
        taken = set(self.source.locals) | set(self.source.namespace)
        self.lambdas = set(taken)
        body = _named_lambdas(body, taken)
        self.lambdas = taken - self.lambdas             # the names given to lambdas passed as arguments
        body = self.collect(body, defs)
        if not defs:
            return body
        outer = set(self.source.locals) - set(defs)
        extras = {g: sorted(_free(node) & outer) for g, node in defs.items()}
        changed = True
        while changed:                  # g calls h: g must pass h's free variables too, so it needs them
            changed = False
            for g, node in defs.items():
                for h in _called(node) & set(defs):
                    missing = set(extras[h]) - set(extras[g]) - _own_names(node)
                    if missing:
                        extras[g] = sorted(set(extras[g]) | missing)
                        changed = True
        for node in defs.values():
            _pass_extras(node.body, extras)
        _pass_extras(body, extras)
        for g, node in defs.items():
            self.refuse_other_uses(g, node, defs, body)
        lifted = {g: self.make(node, extras[g]) for g, node in defs.items()}
        for g, fn in lifted.items():
            fn.__s2sgrad_lifted__["namespace"].update(lifted)    # nested functions calling each other
        self.source.namespace.update(lifted)
        self.source.locals = frozenset(set(self.source.locals) - set(defs))
        return body

    def collect(self, stmts, defs):
        """The statements without their nested function definitions, which go into `defs`."""
        out = []
        for s in stmts:
            node = _as_def(s)
            if node is not None:
                if node.name in defs:
                    self.fail(s, f"defining the nested function '{node.name}' twice",
                              "give each nested function its own name")
                defs[node.name] = node
                continue
            for field in ("body", "orelse"):
                if getattr(s, field, None):
                    setattr(s, field, self.collect(getattr(s, field), defs) or [gast.Pass()] * (field == "body"))
            out.append(s)
        return out

    def refuse_other_uses(self, g, node, defs, body):
        """A nested function that reads the enclosing function's variables may only be called: as a value
        (passed to a function, returned, stored) it would need them with it."""
        for tree in [body] + [d.body for d in defs.values()]:
            for stmt in tree:
                for n in walk(stmt):
                    if isinstance(n, gast.Name) and n.id == g and not getattr(n, "s2s_callee", False):
                        if isinstance(n.ctx, gast.Store):
                            self.fail(n, f"assigning to '{g}', the name of a nested function",
                                      "give the nested function a name of its own")
                        free = sorted(_free(node) & (set(self.source.locals) - set(defs)))
                        if free and g in self.lambdas:
                            self.fail(n, f"passing a lambda that reads variables of the enclosing function "
                                      f"({', '.join(map(repr, free))})", "pass those values as arguments (for "
                                      "odeint and solve_ivp, args=(...)), or define the function at module level")
                        if free:
                            self.fail(n, f"using the nested function '{g}' as a value (it reads variables of "
                                      "the enclosing function)", "call it where it is defined, or define it at "
                                      "module level and pass those values as arguments")

    def make(self, node, extras):
        """A function object for the nested `node`, with `extras` as keyword-only parameters."""
        for default in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
            if not isinstance(default, gast.Constant):
                self.fail(default, "defaults of nested functions other than literals",
                          "pass the value as an argument")
        lifted = copy.deepcopy(node)
        lifted.decorator_list = []
        lifted.args.kwonlyargs += [name(e) for e in extras]
        lifted.args.kw_defaults += [None] * len(extras)
        for a in lifted.args.args + lifted.args.kwonlyargs:
            a.ctx = gast.Param()
        module = gast.gast_to_ast(gast.Module(body=[copy.deepcopy(lifted)], type_ignores=[]))
        code = compile(ast.fix_missing_locations(module), self.source.filename, "exec")
        fn_code = next(c for c in code.co_consts if isinstance(c, types.CodeType))
        fn = types.FunctionType(fn_code, self.source.fn.__globals__, lifted.name)
        fn.__defaults__ = tuple(d.value for d in lifted.args.defaults) or None
        fn.__kwdefaults__ = {a.id: d.value for a, d in zip(lifted.args.kwonlyargs, lifted.args.kw_defaults)
                             if d is not None} or None
        fn.__qualname__ = f"{self.source.fn.__qualname__}.<locals>.{lifted.name}"
        fn.__s2sgrad_lifted__ = {
            "node": lifted, "filename": self.source.filename, "line_offset": self.source.line_offset,
            "col_offset": self.source.col_offset,
            "namespace": {k: v for k, v in self.source.namespace.items() if k not in self.source.locals}}
        return fn

    def fail(self, node, what, instead):
        raise UnsupportedSyntaxError(f"{what} is not supported; {instead}", self.source.location(node))


def _named_lambdas(stmts, taken):
    """`odeint(lambda y, t: -y, y0, t)` -> `fn = lambda y, t: -y` before the statement, `odeint(fn, y0, t)`:
    a lambda passed as a call's argument becomes a nested function of its own (named `fn`, `fn_1`, ...)."""
    out = []
    for s in stmts:
        for field in ("body", "orelse"):
            if getattr(s, field, None):
                setattr(s, field, _named_lambdas(getattr(s, field), taken))
        if _as_def(s) is None and not isinstance(s, gast.FunctionDef):
            for node in _calls_outside_functions(s):
                for holder, key in [(node.args, k) for k in range(len(node.args))] + \
                        [(node.keywords[k], "value") for k in range(len(node.keywords))]:
                    lam = holder[key] if isinstance(holder, list) else getattr(holder, key)
                    if not isinstance(lam, gast.Lambda):
                        continue
                    fn = next(f"fn_{i}" if i else "fn" for i in range(len(taken) + 1)
                              if (f"fn_{i}" if i else "fn") not in taken)
                    taken.add(fn)
                    made = gast.Assign(targets=[name(fn, store=True)], value=lam, type_comment=None)
                    out.append(gast.copy_location(made, s))
                    for tag in ("s2s_line", "s2s_origin"):
                        if hasattr(s, tag):
                            setattr(out[-1], tag, getattr(s, tag))
                    used = gast.copy_location(name(fn), lam)
                    if isinstance(holder, list):
                        holder[key] = used
                    else:
                        setattr(holder, key, used)
        out.append(s)
    return out


def _calls_outside_functions(node):
    """The calls in a statement in the order they are written, not those inside a lambda or nested function."""
    todo = [node]
    while todo:
        n = todo.pop()
        if isinstance(n, gast.Call):
            yield n
        children = [c for c in gast.iter_child_nodes(n) if not isinstance(c, (gast.Lambda, gast.FunctionDef))]
        todo.extend(reversed(children))


def _as_def(stmt):
    """The FunctionDef of `def g(...)` or of `g = lambda ...: ...`, else None."""
    if isinstance(stmt, gast.FunctionDef):
        return stmt
    if (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name)
            and isinstance(stmt.value, gast.Lambda)):
        lam = stmt.value
        body = gast.copy_location(gast.Return(value=lam.body), lam.body)
        node = gast.FunctionDef(name=stmt.targets[0].id, args=lam.args, body=[body], decorator_list=[],
                                returns=None, type_comment=None, type_params=[])
        return gast.copy_location(node, stmt)
    return None


def _own_names(node):
    """The parameters of a function and the names it assigns."""
    args = node.args
    names = {a.id for a in args.posonlyargs + args.args + args.kwonlyargs}
    names |= {a.id for a in (args.vararg, args.kwarg) if a is not None}
    for stmt in node.body:
        for n in walk(stmt):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
                names.add(n.id)
    return names


def _free(node):
    """The names a function reads that it does not define."""
    loads = {n.id for stmt in node.body for n in walk(stmt) if isinstance(n, gast.Name)
             and isinstance(n.ctx, gast.Load)}
    return loads - _own_names(node)


def _called(node):
    return {n.func.id for stmt in node.body for n in walk(stmt)
            if isinstance(n, gast.Call) and isinstance(n.func, gast.Name)}


def _pass_extras(stmts, extras):
    """`g(t)` -> `g(t, a=a)` for each call of a lifted function, in place; callees are marked."""
    for stmt in stmts:
        for n in walk(stmt):
            if isinstance(n, gast.Call) and isinstance(n.func, gast.Name) and n.func.id in extras:
                n.func.s2s_callee = True
                given = {k.arg for k in n.keywords}
                n.keywords += [gast.keyword(arg=e, value=name(e)) for e in extras[n.func.id] if e not in given]
