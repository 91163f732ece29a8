def grad_straight_line(x, y, *, dout=1.0):
    x_times_y = x * y
    sin_x = math.sin(x)
    sin_x_over_y = sin_x / y
    z = x_times_y + sin_x_over_y
    out = z * z
    # reverse sweep
    # snapshot_cases.py:15  return z * z
    dz = 2.0 * (dout * z)
    # snapshot_cases.py:14  z = x * y + math.sin(x) / y
    dsin_x = dz / y
    dy = -(dz * sin_x_over_y / y)
    dx = dsin_x * math.cos(x)
    dx = dx + dz * y
    dy = dy + dz * x
    return (out, (dx, dy))
