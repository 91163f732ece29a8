def grad_helper_call(x, y, *, dout=1.0):
    a, poly_state = vjp_poly_wrt_u(x)
    b, poly_state_1 = vjp_poly_wrt_u(y, k=3.0)
    a_times_b = a * b
    x_times_y = x * y
    poly_x_times_y, poly_state_2 = vjp_poly_wrt_u(x_times_y)
    out = a_times_b + poly_x_times_y
    # reverse sweep
    # snapshot_cases.py:83  return a * b + poly(x * y)
    dx_times_y = pullback_poly_wrt_u(poly_state_2, dout)
    dx = dx_times_y * y
    dy = dx_times_y * x
    da = dout * b
    db = dout * a
    # snapshot_cases.py:82  b = poly(y, k=3.0)
    du_poly = pullback_poly_wrt_u(poly_state_1, db)
    dy = dy + du_poly
    # snapshot_cases.py:81  a = poly(x)
    du_poly_1 = pullback_poly_wrt_u(poly_state, da)
    dx = dx + du_poly_1
    return (out, (dx, dy))


def vjp_poly_wrt_u(u, k=2.0):
    out = u ** k + u
    return (out, (k, u))


def pullback_poly_wrt_u(saved, dout):
    k, u = saved
    # snapshot_cases.py:77  return u ** k + u
    du = dout
    du = du + times_power(dout * k, u, k - 1)
    return du
