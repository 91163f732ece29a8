def grad_nested_loops(x, n, m, *, ds=1.0):
    stack = []
    s = x
    for i in range(n):
        for j in range(m):
            stack.append(s)
            s = s * 0.9 + math.cos(s) * x
        stack.append(range(m))
    stack.append(range(n))
    s_value = s
    # reverse sweep
    dx = 0.0
    # snapshot_cases.py:70  for i in range(n):
    for i in reversed(stack.pop()):
        # snapshot_cases.py:71  for j in range(m):
        for j in reversed(stack.pop()):
            # snapshot_cases.py:72  s = s * 0.9 + math.cos(s) * x
            ds_times = ds
            s = stack.pop()
            dx = dx + ds * math.cos(s)
            ds = -(ds * x) * math.sin(s)
            ds = ds + ds_times * 0.9
    # snapshot_cases.py:69  s = x
    dx = dx + ds
    return (s_value, dx)
