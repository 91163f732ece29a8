def grad_straight_line(x, y, *, dout=1.0):
    sin_x_over_y = math.sin(x) / y
    z = x * y + sin_x_over_y
    out = z * z
    # reverse sweep
    # snapshot_cases.py:15  return z * z
    dz = 2.0 * (dout * z)
    # snapshot_cases.py:14  z = x * y + math.sin(x) / y
    dy = -(dz * sin_x_over_y / y)
    dx = dz / y * math.cos(x)
    dx = dx + dz * y
    dy = dy + dz * x
    return (out, (dx, dy))
