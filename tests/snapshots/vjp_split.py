def vjp_two_outputs(x, a):
    sin_x = np.sin(x)
    y = sin_x * a
    y_times_x = y * x
    out_1 = np.sum(y_times_x)
    return ((y, out_1), (a, sin_x, x, y, y_times_x))


def pullback_two_outputs(saved, dy, dout_1):
    a, sin_x, x, y, y_times_x = saved
    # snapshot_cases.py:137  return y, np.sum(y * x)
    if dout_1 is not None:
        dy_times_x = np.full_like(y_times_x, dout_1)
        dy = unbroadcast(dy_times_x * x, y) if dy is None else dy + unbroadcast(dy_times_x * x, y)
        dx = unbroadcast(dy_times_x * y, x)
    else:
        dx = None
    # snapshot_cases.py:136  y = np.sin(x) * a
    if dy is not None:
        dsin_x = dy * a
        da = unbroadcast(dy * sin_x, a)
        dx = dsin_x * np.cos(x) if dx is None else dx + dsin_x * np.cos(x)
    else:
        da = None
    return (dx, da)
