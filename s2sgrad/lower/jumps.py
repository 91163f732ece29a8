"""Jumps: `break`, `continue` and early `return` become flags, so the core is structured.

After this pass: no `continue`, no `return` before the end, `break` only as a loop's last
`if flag: break`; the function returns one atom (or a tuple display of them).

Example:
    >>> body, result = Jumps(source, namer).function(body)
"""

import gast

from ..errors import UnsupportedSyntaxError
from ..syntax import any_of, assign, const, leaves, located, map_leaves, name, not_any, walk


def nesting(value):
    """The nesting of a returned value: None for a single value, else a tuple of the elements' nestings."""
    return tuple(nesting(e) for e in value.elts) if isinstance(value, gast.Tuple) else None


class Jumps:
    """After this pass: no `continue`, no `return` before the end, `break` only as a loop's last `if flag: break`.

    A jump sets a flag; statements after it run under `if not flag:`. When one branch of
    an `if` always jumps and the other never does, the statements that follow move into
    the other branch instead, so the common `if c: return a` needs no flag at all.
    """

    def __init__(self, source, namer):
        self.source = source
        self.namer = namer
        self.result = None
        self.loops = []            # innermost last: dict(brk=flag name, cont=flag name)
        self.returned = None
        self.used_flags = set()
        self.flags = set()

    def function(self, body):
        last = body[-1] if body else None
        simple = (isinstance(last, gast.Return)
                  and not any(isinstance(n, gast.Return) for s in body[:-1] for n in walk(s)))
        if simple:
            stmts, _ = self.block(body[:-1])
            return _drop_unread_flags(stmts, self.flags - self.used_flags), last.value
        if not _always_returns(body):
            node = body[-1] if body else self.source.node
            raise UnsupportedSyntaxError(
                "not every path through the function ends in 'return'; a differentiated function "
                "must return a value on every path (add a final 'return')", self.source.location(node))
        returns = [r.value for s in body for r in walk(s) if isinstance(r, gast.Return)]
        forms = {nesting(v) for v in returns}
        if len(forms) > 1:
            raise UnsupportedSyntaxError(
                "returning a tuple on some paths and another value (or a tuple of another form) on others "
                "is not supported; return values of the same form on every path", self.source.location(body[-1]))
        form = forms.pop()
        counter = iter(range(1000))
        self.result = map_leaves(returns[0], lambda _: name(self.namer.fresh(f"out_{next(counter)}"))) \
            if form is not None else self.namer.fresh("out")
        self.returned = self.namer.fresh("returned")
        stmts, _ = self.block(body)
        stmts = _drop_unread_flags(stmts, (self.flags | {self.returned}) - self.used_flags)
        if self.returned in self.used_flags:
            stmts.insert(0, assign(self.returned, const(False)))
        if form is None:
            return stmts, name(self.result)
        return stmts, self.result

    def block(self, stmts):
        """Lower a block; returns (statements, flags that may be set when it ends early)."""
        out = []
        stmts = list(stmts)
        i = 0
        while i < len(stmts):
            s = stmts[i]
            rest = stmts[i + 1:]
            if isinstance(s, gast.If) and rest:
                if _always_jumps(s.body) and not _may_jump(s.orelse):
                    s.orelse = s.orelse + rest
                    rest = []
                elif _always_jumps(s.orelse) and not _may_jump(s.body):
                    s.body = s.body + rest
                    rest = []
            new, flags = self.stmt(s)
            out.extend(new)
            if flags:
                if rest:
                    tail, more = self.block(rest)
                    self.used_flags |= flags
                    if tail:
                        guard = located(gast.If(test=not_any(flags), body=tail, orelse=[]), rest[0])
                        guard.s2s_line = None       # not a line of the user's: no comment of its own
                        out.append(guard)
                    flags = flags | more
                return out, flags
            stmts = stmts[: i + 1] + rest
            i += 1
        return out, set()

    def stmt(self, s):
        if isinstance(s, gast.Break):
            flag = self.flag("brk", "exit_loop")
            return [assign(flag, const(True), like=s)], {flag}
        if isinstance(s, gast.Continue):
            flag = self.flag("cont", "skip_rest")
            return [assign(flag, const(True), like=s)], {flag}
        if isinstance(s, gast.Return):
            if isinstance(self.result, gast.Tuple):
                out = [assign(r.id, v, like=s) for r, v in zip(leaves(self.result), leaves(s.value))]
            else:
                out = [assign(self.result, s.value, like=s)]
            return out + [assign(self.returned, const(True), like=s)], {self.returned}
        if isinstance(s, gast.If):
            s.body, f1 = self.block(s.body)
            s.orelse, f2 = self.block(s.orelse)
            if not s.body:
                s.body = [located(gast.Pass(), s)]
            return [s], f1 | f2
        if isinstance(s, (gast.For, gast.While)):
            return self.loop(s)
        return [s], set()

    def flag(self, kind, base):
        """The innermost loop's flag of this kind, named on first use."""
        loop = self.loops[-1]
        if loop[kind] is None:
            loop[kind] = self.namer.fresh(base)
            self.flags.add(loop[kind])
        return loop[kind]

    def loop(self, s):
        flags = {"brk": None, "cont": None}
        self.loops.append(flags)
        body, inner = self.block(s.body)
        self.loops.pop()
        before = []
        if flags["cont"] in self.used_flags:
            body.insert(0, assign(flags["cont"], const(False), like=s))
        exits = inner & ({flags["brk"], self.returned} - {None})
        if exits:
            self.used_flags |= exits
            if flags["brk"] in exits:
                before.append(assign(flags["brk"], const(False), like=s))
            body.append(located(gast.If(test=any_of(exits), body=[located(gast.Break(), s)], orelse=[]), s))
        s.body = body or [located(gast.Pass(), s)]
        return before + [s], inner & {self.returned}


def _always_jumps(stmts):
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, (gast.Break, gast.Continue, gast.Return)):
        return True
    if isinstance(last, gast.If):
        return _always_jumps(last.body) and _always_jumps(last.orelse)
    return False


def _may_jump(stmts):
    for s in stmts:
        for node in _walk_no_loops(s):
            if isinstance(node, (gast.Break, gast.Continue, gast.Return)):
                return True
    return False


def _walk_no_loops(stmt):
    """Statements of `stmt` that a jump would leave `stmt` from (returns inside loops count)."""
    yield stmt
    if isinstance(stmt, gast.If):
        for s in stmt.body + stmt.orelse:
            yield from _walk_no_loops(s)
    elif isinstance(stmt, (gast.For, gast.While)):
        for s in stmt.body:
            for node in walk(s):
                if isinstance(node, gast.Return):
                    yield node


def _always_returns(stmts):
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, (gast.Return, gast.Raise)):       # a guard's `raise` leaves the function too
        return True
    if isinstance(last, gast.If):
        return _always_returns(last.body) and _always_returns(last.orelse)
    if isinstance(last, gast.While) and isinstance(last.test, gast.Constant) and last.test.value is True:
        return not any(isinstance(n, gast.Break) for s in last.body for n in _walk_no_loops(s))
    return False


def _drop_unread_flags(stmts, flags):
    """Remove `flag = True` assignments of flags nothing tests."""
    out = []
    for s in stmts:
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) and s.targets[0].id in flags:
            continue
        for field in ("body", "orelse"):
            if hasattr(s, field):
                setattr(s, field, _drop_unread_flags(getattr(s, field), flags) or
                        ([located(gast.Pass(), s)] if field == "body" else []))
        out.append(s)
    return out
