def grad_math_functions(x, y, *, dout=1.0):
    tan_x = math.tan(x)
    atan2_x = math.atan2(x, y)
    tan_x_plus_atan2_x = tan_x + atan2_x
    log_y = math.log(y, 3.0)
    plus = tan_x_plus_atan2_x + log_y
    sqrt_y = math.sqrt(y)
    t = plus + sqrt_y
    neg_x = -x
    exp_neg_x = math.exp(neg_x)
    t_times_exp_neg_x = t * exp_neg_x
    hypot_x = math.hypot(x, y)
    out = t_times_exp_neg_x + hypot_x
    # reverse sweep
    # snapshot_cases.py:88  return t * math.exp(-x) + math.hypot(x, y)
    dx = dout * (x / hypot_x if hypot_x else 0.0)
    dy = dout * (y / hypot_x if hypot_x else 0.0)
    dt = dout * exp_neg_x
    dexp_neg_x = dout * t
    dneg_x = dexp_neg_x * exp_neg_x
    dx = dx - dneg_x
    # snapshot_cases.py:87  t = math.tan(x) + math.atan2(x, y) + math.log(y, 3.0) + math.sqrt(y)
    dy = dy + dt * (0.5 / sqrt_y if sqrt_y else math.inf)
    dy = dy + dt / (y * math.log(3.0))
    r = math.hypot(y, x)
    dx = dx + dt * (y / r / r if r else math.nan)
    dy = dy - dt * (x / r / r if r else math.nan)
    dx = dx + dt * (1.0 + tan_x * tan_x)
    return (out, (dx, dy))
