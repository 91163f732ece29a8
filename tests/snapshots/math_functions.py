def grad_math_functions(x, y, *, dout=1.0):
    tan_x = math.tan(x)
    sqrt_y = math.sqrt(y)
    t = tan_x + math.atan2(x, y) + math.log(y, 3.0) + sqrt_y
    exp_neg_x = math.exp(-x)
    hypot_x = math.hypot(x, y)
    out = t * exp_neg_x + hypot_x
    # reverse sweep
    # snapshot_cases.py:88  return t * math.exp(-x) + math.hypot(x, y)
    dx = dout * (x / hypot_x if hypot_x else 0.0)
    dy = dout * (y / hypot_x if hypot_x else 0.0)
    dt = dout * exp_neg_x
    dx = dx - dout * t * exp_neg_x
    # snapshot_cases.py:87  t = math.tan(x) + math.atan2(x, y) + math.log(y, 3.0) + math.sqrt(y)
    dy = dy + dt * (0.5 / sqrt_y if sqrt_y else math.inf)
    dy = dy + dt / (y * math.log(3.0))
    r = math.hypot(y, x)
    dx = dx + dt * (y / r / r if r else math.nan)
    dy = dy - dt * (x / r / r if r else math.nan)
    dx = dx + dt * (1.0 + tan_x * tan_x)
    return (out, (dx, dy))
