def grad_if_else(x, *, dout=1.0):
    stack = []
    if x > 0.0:
        y = x * x
        stack.append(True)
    else:
        y = -3.0 * x
        stack.append(False)
    out = y * x
    # reverse sweep
    # snapshot_cases.py:23  return y * x
    dy = dout * x
    dx = dout * y
    # snapshot_cases.py:19  if x > 0.0:
    if stack.pop():
        # snapshot_cases.py:20  y = x * x
        dx = dx + 2.0 * (dy * x)
    else:
        # snapshot_cases.py:22  y = -3.0 * x
        dx = dx + dy * -3.0
    return (out, dx)
