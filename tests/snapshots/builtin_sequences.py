def grad_sums_and_extremes(x, y, *, dout=1.0):
    y_times_y = y * y
    sum_1 = sum([x, y_times_y, 3.0])
    max_x = max(x, y, 0.5)
    min_1 = min([x, y])
    max_x_times_min_1 = max_x * min_1
    out = sum_1 + max_x_times_min_1
    # reverse sweep
    # snapshot_cases.py:169  return sum([x, y * y, 3.0]) + max(x, y, 0.5) * min([x, y])
    dsum_1 = unbroadcast(dout, sum_1)
    dmax_x_times_min_1 = unbroadcast(dout, max_x_times_min_1)
    dmax_x = unbroadcast(dmax_x_times_min_1 * min_1, max_x)
    dmin_1 = dmax_x_times_min_1 * max_x
    dxs = chosen_adjoint(dmin_1, [x, y], first_min([x, y]))
    dx = dxs[0]
    dy = dxs[1]
    dxs_1 = chosen_adjoint(dmax_x, (x, y, 0.5), first_max((x, y, 0.5)))
    dx = dx + dxs_1[0]
    dy = dy + dxs_1[1]
    dxs_2 = items_adjoint(dsum_1, [x, y_times_y, 3.0])
    dx = dx + dxs_2[0]
    dy = dy + 2.0 * (dxs_2[1] * y)
    return (out, (dx, dy))
