def grad_helper_call(x, y, *, dout=1.0):
    a = poly(x)
    b = poly(y, k=3.0)
    a_times_b = a * b
    x_times_y = x * y
    poly_x_times_y = poly(x_times_y)
    out = a_times_b + poly_x_times_y
    # reverse sweep
    # return a * b + poly(x * y)
    _, dx_times_y = grad_poly_wrt_u(x_times_y, dout=dout)
    dx = dx_times_y * y
    dy = dx_times_y * x
    da = dout * b
    db = dout * a
    # b = poly(y, k=3.0)
    _, du_poly = grad_poly_wrt_u(y, k=3.0, dout=db)
    dy = dy + du_poly
    # a = poly(x)
    _, du_poly_1 = grad_poly_wrt_u(x, dout=da)
    dx = dx + du_poly_1
    return (out, (dx, dy))


def grad_poly_wrt_u(u, k=2.0, *, dout=1.0):
    u_pow_k = u ** k
    out = u_pow_k + u
    # reverse sweep
    # return u ** k + u
    du = dout
    du = du + dout * k * u ** (k - 1)
    return (out, du)
