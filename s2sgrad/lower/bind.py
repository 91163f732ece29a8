"""Calls to the user's own functions with `*args` and `**kwargs`, bound as Python binds them.

After `canonical_call`, a call of a function of the user's is in one form: plain positional arguments for
its positional parameters, in order; then, only when its `*args` receives something, one starred value
(`h(x, *h_args)` after `h_args = (a, b)`, or `h(x, *xs)` passing the caller's `xs` on); keywords for its
named parameters; then, only when its `**kwargs` receives something, one `**` value. `bound_arguments`
reads back which atom each parameter gets, the starred value being the whole `*args` tuple and the `**`
value the whole `**kwargs` dict: containers, whose adjoints and tangents come back as containers.

Where Python's binding depends on values seen only at run time, it is done only where it can be done
exactly: a `*xs` filling parameters without defaults, then the `*args` (a guard raises Python's TypeError
when `len(xs)` does not fit); a `**d` filling parameters without defaults, or the whole `**kwargs`. The
rest is refused at the user's line, saying what to write instead.

Example:
    >>> canonical_call(call, h, spell)   # h(x, *xs) with `def h(x, a, b)` -> guard, h(x, xs[0], xs[1])
"""

import inspect

import gast

from ..errors import UnsupportedSyntaxError
from ..syntax import const, located, name, parse_expr

POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def has_star_parameters(fn):
    """Whether `fn` takes `*args` or `**kwargs`."""
    return any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in _parameters(fn))


def has_star_arguments(call):
    """Whether a call passes `*xs` or `**d`."""
    return any(isinstance(a, gast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords)


def _parameters(fn):
    try:
        return list(inspect.signature(fn, follow_wrapped=False).parameters.values())
    except (TypeError, ValueError):
        return []


def spread_displays(call):
    """`h(*(a, b))` is `h(a, b)` and `h(**{'k': v})` is `h(k=v)`: a display's items are known, so they
    are passed one by one (in place)."""
    args = []
    for a in call.args:
        if isinstance(a, gast.Starred) and isinstance(a.value, (gast.Tuple, gast.List)) \
                and not any(isinstance(e, gast.Starred) for e in a.value.elts):
            args.extend(a.value.elts)
        else:
            args.append(a)
    keywords = []
    for k in call.keywords:
        d = k.value
        if k.arg is None and isinstance(d, gast.Dict) and all(
                isinstance(key, gast.Constant) and isinstance(key.value, str) and key.value.isidentifier()
                for key in d.keys):
            keywords.extend(gast.keyword(arg=key.value, value=v) for key, v in zip(d.keys, d.values))
        else:
            keywords.append(k)
    call.args, call.keywords = args, keywords
    return call


def canonical_call(call, fn, label, location, absent=frozenset()):
    """(guard statements, the call in canonical form; see the module docstring) for a call of the user's
    function `fn` whose starred and `**` values are atoms. `label` is how the user wrote the callee,
    `location(node)` where a node is in the user's file, `absent` the keys the `**` value cannot hold (the
    caller's own named parameters, when it passes its own **kwargs on: no guard is needed for them). A call Python could
    never bind (a missing argument) is returned as it is: it raises when it runs, as the user's would."""
    params = _parameters(fn)
    positional = [p for p in params if p.kind in POSITIONAL]
    var = next((p for p in params if p.kind is p.VAR_POSITIONAL), None)
    varkw = next((p for p in params if p.kind is p.VAR_KEYWORD), None)
    named = {p.name: p for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}

    def refuse(node, what, instead):
        raise UnsupportedSyntaxError(f"{what} are not supported; {instead}", location(node))

    stars = [k for k, a in enumerate(call.args) if isinstance(a, gast.Starred)]
    if len(stars) > 1:
        refuse(call.args[stars[1]], f"calls of {label} with more than one '*' argument",
               "join the sequences into one tuple first, or pass the values one by one")
    if stars and stars[0] != len(call.args) - 1:
        refuse(call.args[stars[0]], f"calls of {label} with positional arguments after a '*' argument",
               "pass the '*' argument last, or pass the values one by one")
    doubles = [k.value for k in call.keywords if k.arg is None]
    if len(doubles) > 1:
        refuse(doubles[1], f"calls of {label} with more than one '**' argument",
               "merge the dicts into one first, or pass the values by name")
    plain = call.args[:stars[0]] if stars else list(call.args)
    star = call.args[stars[0]] if stars else None           # where errors about it point: at the '*'
    starred = star.value if stars else None
    double = doubles[0] if doubles else None
    explicit = [k for k in call.keywords if k.arg is not None]
    given = {k.arg for k in explicit}

    guards = []
    args = list(plain[:len(positional)])
    extra = list(plain[len(positional):])                # what *args receives from plain arguments
    if extra and var is None:
        return [], call                                   # too many arguments: Python's TypeError at run time
    var_value = gast.Tuple(elts=extra, ctx=gast.Load()) if extra else None
    if starred is not None:
        spelled, held = _spelled(starred), starred.id
        free = positional[len(plain):]
        filled = 0                                        # the free parameters the starred value fills
        while filled < len(free) and free[filled].default is free[filled].empty and free[filled].name not in given:
            filled += 1
        rest = free[filled:]
        if rest and rest[0].name not in given:            # it has a default: filled or not, by len(xs)
            example = [_spelled(a) for a in plain] + [f"{spelled}[{k}]" for k in range(filled)]
            example.append(f"{rest[0].name}={spelled}[{filled}]")
            refuse(star, f"'*' arguments that may or may not reach a parameter with a default ('*{spelled}' passed to "
                   f"{label}, whose parameter '{rest[0].name}' has one: how many of the items {label}'s parameters "
                   f"take depends on len({spelled}))",
                   f"pass the values one by one or by name, e.g. {label}({', '.join(example)})")
        if extra:
            refuse(star, f"'*' arguments after more positional arguments than the function names ('*{spelled}' "
                   f"passed to {label})", "build the tuple of the extra values first and pass it as one '*' argument")
        args += [_item(starred, k) for k in range(filled)]
        if var is not None and not rest:                  # the remaining items: the whole of *args
            var_value = starred if filled == 0 else _tail(starred, filled)
            if filled:
                guards.append(_guard(f"len({held}) < {filled}", f"{_braces(label)}() takes at least {filled} "
                                     f"positional arguments from *{_braces(spelled)}, but {{len({held})}} were given", call))
        else:                                             # exactly as many as the parameters it fills
            guards.append(_guard(f"len({held}) != {filled}", f"{_braces(label)}() takes {filled} positional arguments "
                                 f"from *{_braces(spelled)}, but {{len({held})}} were given", call))
        positional_filled = {p.name for p in positional[:len(plain) + filled]}
    else:
        positional_filled = {p.name for p in positional[:len(plain)]}
    keywords, kw_items = [], []
    for k in explicit:
        if k.arg in named and k.arg not in positional_filled:
            keywords.append(k)
        elif k.arg not in named and varkw is not None:
            kw_items.append(k)
        else:
            return [], call                               # a keyword Python refuses: its TypeError at run time
    varkw_value = None
    if double is not None:
        spelled, held = _spelled(double), double.id
        taken = positional_filled | given
        wanted = [p for p in named.values() if p.name not in taken]
        defaulted = [p.name for p in wanted if p.default is not p.empty]
        if defaulted:
            refuse(double, f"'**' arguments that may or may not give a parameter with a default ('**{spelled}' "
                   f"passed to {label}, whose parameter '{defaulted[0]}' has one: whether {spelled} holds it is known "
                   f"only at run time)", f"pass it by name: {label}(..., {defaulted[0]}={spelled}['{defaulted[0]}'])")
        if varkw is not None and wanted:
            refuse(double, f"'**' arguments split between named parameters and **kwargs ('**{spelled}' passed to "
                   f"{label}, which takes both its parameter '{wanted[0].name}' and its **{varkw.name} from it)",
                   f"pass '{wanted[0].name}' by name: {label}(..., {wanted[0].name}={spelled}['{wanted[0].name}'], "
                   f"**rest) with rest the other items")
        if varkw is not None and kw_items:
            refuse(double, f"'**' arguments joined with other keywords into one **kwargs ('**{spelled}' passed to "
                   f"{label} with {', '.join(k.arg for k in kw_items)}, all for its **{varkw.name})",
                   "put every one of them into the dict first")
        keywords += [gast.keyword(arg=p.name, value=_item(double, p.name)) for p in wanted]
        if varkw is None:                                 # exactly the keys of the parameters it fills
            guards.append(_guard(f"len({held}) != {len(wanted)}", f"{_braces(label)}() takes {len(wanted)} keyword "
                                 f"arguments from **{_braces(spelled)}, but {{len({held})}} were given", call))
        else:
            varkw_value = double
            for p in sorted(taken & set(named) - set(absent)):
                guards.append(_guard(f"{p!r} in {held}", f"{_braces(label)}() got multiple values for argument {p!r}", call))
    elif kw_items:
        varkw_value = gast.Dict(keys=[const(k.arg) for k in kw_items], values=[k.value for k in kw_items])
    if var_value is not None:
        args.append(gast.Starred(value=var_value, ctx=gast.Load()))
    if varkw_value is not None:
        keywords.append(gast.keyword(arg=None, value=varkw_value))
    return guards, located(gast.Call(func=call.func, args=args, keywords=keywords), call)


def bound_arguments(fn, args, keywords):
    """Parameter name -> atom for a call in canonical form (`args` its positional atoms, `keywords` its
    (name, atom) pairs, None naming the `**` one): the starred atom is the whole `*args`, the `**` atom the
    whole `**kwargs`. Raises TypeError where Python's binding would."""
    plain = [a for a in args if not isinstance(a, gast.Starred)]
    starred = [a.value for a in args if isinstance(a, gast.Starred)]
    double = [v for k, v in keywords if k is None]
    bound = dict(inspect.signature(fn, follow_wrapped=False).bind(*plain, **{k: v for k, v in keywords if k is not None}).arguments)
    params = _parameters(fn)
    for values, kind in ((starred, inspect.Parameter.VAR_POSITIONAL), (double, inspect.Parameter.VAR_KEYWORD)):
        if values:
            param = next((p for p in params if p.kind is kind), None)
            if param is None or param.name in bound or len(values) > 1:
                raise TypeError(f"not a canonical call of {fn.__qualname__}")
            bound[param.name] = values[0]
    return bound


def _spelled(atom):
    """How the user wrote the value an atom holds (ANF records it as `s2s_label`)."""
    return getattr(atom, "s2s_label", None) or gast.unparse(atom).strip()


def _braces(text):
    """`text` as it reads inside an f-string."""
    return text.replace("{", "{{").replace("}", "}}")


def _item(atom, key):
    return gast.Subscript(value=name(atom.id), slice=const(key), ctx=gast.Load())


def _tail(atom, start):
    return gast.Subscript(value=name(atom.id), slice=gast.Slice(lower=const(start), upper=None, step=None),
                          ctx=gast.Load())


def _guard(condition, message, like):
    """`if <condition>: raise TypeError(f'<message>')`: what Python raises for a call that does not bind."""
    test = parse_expr(condition)
    text = parse_expr(("f" if "{len(" in message else "") + repr(message))
    raise_ = gast.Raise(exc=gast.Call(func=name("TypeError"), args=[text], keywords=[]), cause=None)
    return located(gast.If(test=test, body=[located(raise_, like)], orelse=[]), like)
