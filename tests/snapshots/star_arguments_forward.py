def jvp_star_arguments(x, *args, x_dot, kw_dot, **kw):
    polynomial_x, polynomial_x_dot = jvp_polynomial_wrt_x(x, *args, x_dot=x_dot)
    kw_scale = kw['scale']
    kw_scale_dot = kw_dot['scale']
    times = polynomial_x * kw_scale
    times_dot = polynomial_x_dot * kw_scale + polynomial_x * kw_scale_dot
    kw_shift_dot = kw_dot['shift']
    polynomial_coefficients = (1.0, kw['shift'])
    polynomial_coefficients_dot = (0.0, kw_shift_dot)
    polynomial_x_1, polynomial_x_1_dot = jvp_polynomial(x, *polynomial_coefficients, x_dot=x_dot, coefficients_dot=polynomial_coefficients_dot)
    out = times + polynomial_x_1
    out_dot = broadcast_like(times_dot + polynomial_x_1_dot, out)
    return (out, out_dot)


def jvp_polynomial_wrt_x(x, *coefficients, x_dot):
    y = 0.0
    y_dot = 0.0
    c_index_range = range(len(coefficients))
    for c_index in c_index_range:
        c = coefficients[c_index]
        y_times_x_dot = y_dot * x + y * x_dot
        y = y * x + c
        y_dot = broadcast_like(y_times_x_dot, y)
    return (y, y_dot)


def jvp_polynomial(x, *coefficients, x_dot, coefficients_dot):
    y = 0.0
    y_dot = 0.0
    c_index_range = range(len(coefficients))
    for c_index in c_index_range:
        c = coefficients[c_index]
        c_dot = coefficients_dot[c_index]
        y_times_x_dot = y_dot * x + y * x_dot
        y = y * x + c
        y_dot = broadcast_like(y_times_x_dot + c_dot, y)
    return (y, y_dot)
