def grad_closure_in_a_loop(x, n, *, dy=1.0):
    stack = []
    step_state = None
    a = x * 0.5
    y = x
    for i in range(n):
        stack.append(step_state)
        step_y, step_state = vjp_step(y, a=a)
        y = step_y
    stack.append(range(n))
    # reverse sweep
    da = None
    # snapshot_cases.py:145  for i in range(n):
    for i in reversed(stack.pop()):
        # snapshot_cases.py:146  y = step(y)
        dy, da_step = pullback_step(step_state, dy)
        da = da_step if da is None else da + da_step
        step_state = stack.pop()
    # snapshot_cases.py:144  y = x
    dx = dy
    # snapshot_cases.py:143  a = x * 0.5
    if da is not None:
        dx = dx + da * 0.5
    return (y, dx)


def vjp_step(v, *, a):
    sin_v = math.sin(v)
    out = sin_v * a + 0.1 * v
    return (out, (a, sin_v, v))


def pullback_step(saved, dout):
    a, sin_v, v = saved
    # snapshot_cases.py:142  return math.sin(v) * a + 0.1 * v
    dv = dout * 0.1
    da = dout * sin_v
    dv = dv + dout * a * math.cos(v)
    return (dv, da)
