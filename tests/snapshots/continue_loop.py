def grad_continue_loop(x, n, *, ds=1.0):
    stack = []
    x_times_i = None
    s = 0.0
    for i in range(n):
        if i % 2 == 0:
            stack.append(True)
        else:
            stack.append(x_times_i)
            x_times_i = x * i
            s = s + math.sin(x_times_i)
            stack.append(False)
    stack.append(range(n))
    # reverse sweep
    dx = 0.0
    # snapshot_cases.py:50  for i in range(n):
    for i in reversed(stack.pop()):
        # snapshot_cases.py:51  if i % 2 == 0:
        if not stack.pop():
            # snapshot_cases.py:53  s = s + math.sin(x * i)
            ds_plus_sin_x_times_i = ds
            ds = ds_plus_sin_x_times_i
            dx = dx + ds_plus_sin_x_times_i * math.cos(x_times_i) * i
            x_times_i = stack.pop()
    return (s, dx)
