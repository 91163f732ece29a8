def vjp_two_outputs(x, a):
    sin_x = np.sin(x)
    y = sin_x * a
    y_times_x = y * x
    out_1 = np.sum(y_times_x)
    return ((y, out_1), (a, sin_x, x, y, y_times_x))


def pullback_two_outputs(saved, dy, dout_1):
    a, sin_x, x, y, y_times_x = saved
    # return y, np.sum(y * x)
    dy_times_x = np.full_like(y_times_x, dout_1)
    dy = dy + unbroadcast(dy_times_x * x, y)
    dx = unbroadcast(dy_times_x * y, x)
    # y = np.sin(x) * a
    dsin_x = dy * a
    da = unbroadcast(dy * sin_x, a)
    dx = dx + dsin_x * np.cos(x)
    return (dx, da)
