"""Central finite differences in float64, the yardstick every gradient test uses."""

import numpy as np

import s2sgrad

EPS = 1e-6


def numeric_grad(fn, args, index, eps=EPS):
    """d fn / d args[index] by central differences (scalar or array argument)."""
    args = list(args)
    x = args[index]
    if isinstance(x, np.ndarray):
        g = np.zeros_like(x, dtype=float)
        for i in np.ndindex(x.shape):
            xp, xm = x.astype(float), x.astype(float)
            xp[i] += eps
            xm[i] -= eps
            g[i] = (fn(*args[:index], xp, *args[index + 1:]) - fn(*args[:index], xm, *args[index + 1:])) / (2 * eps)
        return g
    hi = fn(*args[:index], x + eps, *args[index + 1:])
    lo = fn(*args[:index], x - eps, *args[index + 1:])
    return (hi - lo) / (2 * eps)


def assert_grad_matches(fn, *args, wrt=0, rtol=1e-5, atol=1e-6):
    """s2sgrad's gradient of fn at args equals central differences (tolerance stated by the caller)."""
    positions = wrt if isinstance(wrt, tuple) else (wrt,)
    grads = s2sgrad.grad(fn, wrt=tuple(positions))(*args)
    for pos, g in zip(positions, grads):
        expected = numeric_grad(fn, args, pos)
        np.testing.assert_allclose(g, expected, rtol=rtol, atol=atol,
                                   err_msg=f"d{fn.__name__}/d(arg {pos}) at {args}")
    return grads


def uncovered(table, wanted):
    """Registered rules (of primitives `wanted` selects) with no entry of their arity in `table`, whose
    entries start (primitive, arity, ...): the walk that makes a rule without a test fail the suite."""
    from s2sgrad.rules import RULES
    covered = {(id(prim), arity) for prim, arity, *_ in table}
    missing = []
    for prim, rules in RULES.items():
        if not wanted(prim):
            continue
        for rule in rules:
            if (id(prim), len(rule.inputs)) not in covered:
                missing.append(f"{prim!r} with {len(rule.inputs)} argument(s)")
    return missing
