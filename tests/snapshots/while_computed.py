def grad_while_computed(x, *, dx=1.0):
    stack = []
    times_x = None
    n_iter = 0
    while x > 0.1:
        n_iter += 1
        stack.append(times_x)
        times_x = 0.01 * x
        stack.append(x)
        x = x * 0.5 + times_x * x
    stack.append(n_iter)
    x_value = x
    # reverse sweep
    # snapshot_cases.py:33  while x > 0.1:
    for _ in range(stack.pop()):
        # snapshot_cases.py:34  x = x * 0.5 + 0.01 * x * x
        dx_times = dx
        x = stack.pop()
        dtimes_x = dx * x
        dx = dx * times_x
        dx = dx + dtimes_x * 0.01
        times_x = stack.pop()
        dx = dx + dx_times * 0.5
    return (x_value, dx)
