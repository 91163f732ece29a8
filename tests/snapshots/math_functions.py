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
    # return t * math.exp(-x) + math.hypot(x, y)
    dt_times_exp_neg_x = dout
    dhypot_x = dout
    dx = dhypot_x * x / hypot_x
    dy = dhypot_x * y / hypot_x
    dt = dt_times_exp_neg_x * exp_neg_x
    dexp_neg_x = dt_times_exp_neg_x * t
    dneg_x = dexp_neg_x * exp_neg_x
    dx = dx - dneg_x
    # t = math.tan(x) + math.atan2(x, y) + math.log(y, 3.0) + math.sqrt(y)
    dplus = dt
    dsqrt_y = dt
    dy = dy + dsqrt_y / (2.0 * sqrt_y)
    dtan_x_plus_atan2_x = dplus
    dlog_y = dplus
    dy = dy + dlog_y / (y * math.log(3.0))
    dtan_x = dtan_x_plus_atan2_x
    datan2_x = dtan_x_plus_atan2_x
    dx = dx + datan2_x * y / (y * y + x * x)
    dy = dy - datan2_x * x / (y * y + x * x)
    dx = dx + dtan_x * (1.0 + tan_x * tan_x)
    return (out, (dx, dy))
