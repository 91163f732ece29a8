def grad_inplace_loop(x, w, *, dout=1.0):
    stack = []
    x_i = None
    w_i = None
    x_i_times_w_i = None
    i_minus_1 = None
    y_i_minus_1 = None
    y = np.zeros(len(x))
    i_range = range(len(x))
    for i in i_range:
        stack.append(x_i)
        x_i = x[i]
        stack.append(w_i)
        w_i = w[i]
        stack.append(x_i_times_w_i)
        x_i_times_w_i = x_i * w_i
        stack.append(y[i])
        y[i] = x_i_times_w_i
        if i > 0:
            stack.append(i_minus_1)
            i_minus_1 = i - 1
            stack.append(y_i_minus_1)
            y_i_minus_1 = y[i_minus_1]
            plus = y[i] + y_i_minus_1 * 0.5
            stack.append(y[i])
            y[i] = plus
            stack.append(True)
        else:
            stack.append(False)
    stack.append(i_range)
    y_times_y = y * y
    out = np.sum(y_times_y)
    # reverse sweep
    # snapshot_cases.py:118  return np.sum(y * y)
    dy_times_y = np.full_like(y_times_y, dout)
    dy = 2.0 * (dy_times_y * y)
    dw = np.zeros_like(w)
    dx = np.zeros_like(x)
    # snapshot_cases.py:114  for i in range(len(x)):
    for i in reversed(stack.pop()):
        # snapshot_cases.py:116  if i > 0:
        if stack.pop():
            # snapshot_cases.py:117  y[i] += y[i - 1] * 0.5
            dplus = dy[i]
            dy[i] = 0.0
            y[i] = stack.pop()
            dy_i_minus_1 = dplus * 0.5
            dy[i_minus_1] += dy_i_minus_1
            y_i_minus_1 = stack.pop()
            i_minus_1 = stack.pop()
            dy[i] += dplus
        # snapshot_cases.py:115  y[i] = x[i] * w[i]
        dx_i_times_w_i = unbroadcast(dy[i], x_i_times_w_i)
        dy[i] = 0.0
        y[i] = stack.pop()
        dx_i = unbroadcast(dx_i_times_w_i * w_i, x_i)
        dw_i = unbroadcast(dx_i_times_w_i * x_i, w_i)
        x_i_times_w_i = stack.pop()
        dw[i] += dw_i
        w_i = stack.pop()
        dx[i] += dx_i
        x_i = stack.pop()
    return (out, (dx, dw))
