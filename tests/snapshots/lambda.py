def grad_lambda(x, w, *, dout=1.0):
    tanh_x = np.tanh(x)
    tanh_x_times_w = tanh_x * w
    out = np.sum(tanh_x_times_w)
    # reverse sweep
    # snapshot_cases.py:150  LAMBDA = lambda x, w: np.sum(np.tanh(x) * w)
    dtanh_x_times_w = np.full_like(tanh_x_times_w, dout)
    dtanh_x = unbroadcast(dtanh_x_times_w * w, tanh_x)
    dw = unbroadcast(dtanh_x_times_w * tanh_x, w)
    dx = dtanh_x * (1.0 - tanh_x * tanh_x)
    return (out, (dx, dw))
