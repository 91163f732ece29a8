def grad_array_function(x, w, *, dout=1.0):
    h = np.tanh(x * w)
    h_times_h = h * h
    sin_x = np.sin(x)
    h_times_h_plus_sin_x = h_times_h + sin_x
    out = np.sum(h_times_h_plus_sin_x)
    # reverse sweep
    # snapshot_cases.py:93  return np.sum(h * h + np.sin(x))
    dh_times_h_plus_sin_x = np.full_like(h_times_h_plus_sin_x, dout)
    dh_times_h = unbroadcast(dh_times_h_plus_sin_x, h_times_h)
    dsin_x = unbroadcast(dh_times_h_plus_sin_x, sin_x)
    dx = dsin_x * np.cos(x)
    dh = 2.0 * (dh_times_h * h)
    # snapshot_cases.py:92  h = np.tanh(x * w)
    dx_times_w = dh * (1.0 - h * h)
    dx = dx + unbroadcast(dx_times_w * w, x)
    dw = unbroadcast(dx_times_w * x, w)
    return (out, (dx, dw))
