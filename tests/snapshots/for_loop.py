def grad_for_loop(x, a, n=1000, *, dx=1.0):
    stack = []
    for i in range(n):
        stack.append(x)
        x = math.sin(x) * a + 0.1 * x
    stack.append(range(n))
    x_value = x
    # reverse sweep
    da = 0.0
    # snapshot_cases.py:27  for i in range(n):
    for i in reversed(stack.pop()):
        # snapshot_cases.py:28  x = math.sin(x) * a + 0.1 * x
        dsin_x_times_a = dx
        x = stack.pop()
        dx = dx * 0.1
        da = da + dsin_x_times_a * math.sin(x)
        dx = dx + dsin_x_times_a * a * math.cos(x)
    return (x_value, (dx, da))
