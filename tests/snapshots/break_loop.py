def grad_break_loop(x, n, *, ds=1.0):
    stack = []
    s = 0.0
    exit_loop = False
    n_iter = 0
    for i in range(n):
        n_iter += 1
        stack.append(s)
        s = s + x * i
        if s > 5.0:
            exit_loop = True
            stack.append(True)
        else:
            stack.append(s)
            s = s * 1.1
            stack.append(False)
        if exit_loop:
            break
    stack.append(range(n)[:n_iter])
    s_value = s
    # reverse sweep
    dx = 0.0
    # snapshot_cases.py:40  for i in range(n):
    for i in reversed(stack.pop()):
        # snapshot_cases.py:42  if s > 5.0:
        if not stack.pop():
            # snapshot_cases.py:44  s = s * 1.1
            s = stack.pop()
            ds = ds * 1.1
        # snapshot_cases.py:41  s = s + x * i
        ds_plus_x_times_i = ds
        s = stack.pop()
        ds = ds_plus_x_times_i
        dx = dx + ds_plus_x_times_i * i
    return (s_value, dx)
