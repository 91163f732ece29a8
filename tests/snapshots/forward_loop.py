def jvp_forward_loop(x, a, n=10, *, x_dot, a_dot):
    s = 0.0
    s_dot = 0.0
    for i in range(n):
        sin_x = math.sin(x)
        sin_x_dot = x_dot * math.cos(x)
        sin_x_times_a_dot = sin_x_dot * a + sin_x * a_dot
        times_x_dot = 0.1 * x_dot
        x = sin_x * a + 0.1 * x
        x_dot = sin_x_times_a_dot + times_x_dot
        if x > 0.5:
            poly_x, poly_x_dot = jvp_poly_wrt_u(x, k=3.0, u_dot=x_dot)
            s_plus_poly_x_dot = s_dot + poly_x_dot
            s = s + poly_x
            s_dot = s_plus_poly_x_dot
    out = s * x
    out_dot = s_dot * x + s * x_dot
    return (out, out_dot)


def jvp_poly_wrt_u(u, k=2.0, *, u_dot):
    u_pow_k = u ** k
    u_pow_k_dot = times_power(u_dot * k, u, k - 1)
    out = u_pow_k + u
    out_dot = u_pow_k_dot + u_dot
    return (out, out_dot)
