def grad_star_arguments(x, *args, dout=1.0, **kw):
    polynomial_x, polynomial_state = vjp_polynomial_wrt_coefficients(x, *args)
    kw_scale = kw['scale']
    times = polynomial_x * kw_scale
    polynomial_coefficients = (1.0, kw['shift'])
    polynomial_x_1, polynomial_state_1 = vjp_polynomial_wrt_coefficients(x, *polynomial_coefficients)
    out = times + polynomial_x_1
    # reverse sweep
    # snapshot_cases.py:220  return polynomial(x, *args) * kw["scale"] + polynomial(x, 1.0, kw["shift"])
    dtimes = unbroadcast(dout, times)
    dpolynomial_x_1 = unbroadcast(dout, polynomial_x_1)
    dpolynomial_coefficients = pullback_polynomial_wrt_coefficients(polynomial_state_1, dpolynomial_x_1)
    if dpolynomial_coefficients is not None:
        _, dkw_shift = dpolynomial_coefficients
    else:
        dkw_shift = None
    if dkw_shift is not None:
        dkw = zeros_of(kw)
        add_at(dkw, 'shift', dkw_shift)
    else:
        dkw = zeros_of(kw)
    dpolynomial_x = unbroadcast(dtimes * kw_scale, polynomial_x)
    dkw_scale = unbroadcast(dtimes * polynomial_x, kw_scale)
    add_at(dkw, 'scale', dkw_scale)
    dargs = pullback_polynomial_wrt_coefficients(polynomial_state, dpolynomial_x)
    return (out, (0.0 if dargs is None else dargs, dkw))


def vjp_polynomial_wrt_coefficients(x, *coefficients):
    stack = []
    c = None
    y_times_x = None
    c_index = None
    y = 0.0
    c_index_range = range(len(coefficients))
    for c_index in c_index_range:
        stack.append(c)
        c = coefficients[c_index]
        stack.append(y_times_x)
        y_times_x = y * x
        stack.append(y)
        y = y_times_x + c
    stack.append(c_index_range)
    y_value = y
    return (y_value, (c, c_index, coefficients, stack, x, y_times_x))


def pullback_polynomial_wrt_coefficients(saved, dy):
    c, c_index, coefficients, stack, x, y_times_x = saved
    stack = stack.copy()
    dcoefficients = None
    # snapshot_cases.py:214  for c in coefficients:
    for c_index in reversed(stack.pop()):
        # snapshot_cases.py:215  y = y * x + c
        dy_times_x = unbroadcast(dy, y_times_x)
        dc = unbroadcast(dy, c)
        y = stack.pop()
        dy = dy_times_x * x
        y_times_x = stack.pop()
        # snapshot_cases.py:214  for c in coefficients:
        if dcoefficients is None:
            dcoefficients = zeros_of(coefficients)
        add_at(dcoefficients, c_index, dc)
        c = stack.pop()
    return dcoefficients
