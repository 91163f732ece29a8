def grad_jvp_second_order(x, w, *, x_dot, ds_dot=1.0):
    stack = []
    h_dot_times_x = None
    h_times_x_dot_1 = None
    h_times_x_dot = None
    x_times_w_dot = x_dot * w
    h = np.tanh(x * w)
    minus_h_times_h = 1.0 - h * h
    h_dot = x_times_w_dot * minus_h_times_h
    s = 0.0
    s_dot = 0.0
    for i in range(3):
        stack.append(h_dot_times_x)
        h_dot_times_x = h_dot * x
        stack.append(h_times_x_dot_1)
        h_times_x_dot_1 = h * x_dot
        stack.append(h_times_x_dot)
        h_times_x_dot = h_dot_times_x + h_times_x_dot_1
        sum_h_times_x = np.sum(h * x)
        sum_h_times_x_dot = np.sum(h_times_x_dot)
        s_plus_sum_h_times_x_dot = s_dot + sum_h_times_x_dot
        s = s + sum_h_times_x
        s_dot = s_plus_sum_h_times_x_dot
    stack.append(range(3))
    # reverse sweep
    dh = 0.0
    dh_dot = 0.0
    dx = 0.0
    # snapshot_cases.py:130  for i in range(3):
    for i in reversed(stack.pop()):
        # snapshot_cases.py:131  s = s + np.sum(h * x)
        ds_plus_sum_h_times_x_dot = ds_dot
        ds_dot = ds_plus_sum_h_times_x_dot
        dh_times_x_dot = np.full_like(h_times_x_dot, ds_plus_sum_h_times_x_dot)
        dh_dot_times_x = unbroadcast(dh_times_x_dot, h_dot_times_x)
        dh_times_x_dot_1 = unbroadcast(dh_times_x_dot, h_times_x_dot_1)
        h_times_x_dot = stack.pop()
        dh = dh + unbroadcast(dh_times_x_dot_1 * x_dot, h)
        h_times_x_dot_1 = stack.pop()
        dh_dot = dh_dot + unbroadcast(dh_dot_times_x * x, h_dot)
        dx = dx + unbroadcast(dh_dot_times_x * h_dot, x)
        h_dot_times_x = stack.pop()
    # snapshot_cases.py:128  h = np.tanh(x * w)
    dminus_h_times_h = unbroadcast(dh_dot * x_times_w_dot, minus_h_times_h)
    dh = dh + 2.0 * (-dminus_h_times_h * h)
    dx = dx + unbroadcast(dh * (1.0 - h * h) * w, x)
    return ((s, s_dot), dx)


def jvp_second_order(x, w, *, x_dot):
    x_times_w_dot = x_dot * w
    h = np.tanh(x * w)
    h_dot = x_times_w_dot * (1.0 - h * h)
    s = 0.0
    s_dot = 0.0
    for i in range(3):
        h_times_x_dot = h_dot * x + h * x_dot
        sum_h_times_x = np.sum(h * x)
        sum_h_times_x_dot = np.sum(h_times_x_dot)
        s_plus_sum_h_times_x_dot = s_dot + sum_h_times_x_dot
        s = s + sum_h_times_x
        s_dot = s_plus_sum_h_times_x_dot
    return (s, s_dot)
