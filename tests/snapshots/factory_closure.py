def grad_factory_closure(a, x, *, dout=1.0):
    g_cells, make_scaler_cells_state = vjp_make_scaler_cells_of_0_1(a)
    g_a = g_cells[0]
    g_s = g_cells[1]
    scale_x, scale_state = vjp_scale(x, a=g_a, s=g_s)
    scale_1, scale_state_1 = vjp_scale_wrt_a_s(2.0, a=g_a, s=g_s)
    out = scale_x * scale_1
    # reverse sweep
    # snapshot_cases.py:209  return g(x) * g(2.0)
    dscale_x = unbroadcast(dout * scale_1, scale_x)
    dscale_1 = unbroadcast(dout * scale_x, scale_1)
    dg_a, dg_s = pullback_scale_wrt_a_s(scale_state_1, dscale_1)
    dx, da_scale, ds_scale = pullback_scale(scale_state, dscale_x)
    dg_a = dg_a + da_scale
    dg_s = dg_s + ds_scale
    # snapshot_cases.py:208  g = make_scaler(a)
    da = pullback_make_scaler_cells_of_0_1(make_scaler_cells_state, dg_a, dg_s)
    return (out, (0.0 if da is None else da, dx))


def vjp_make_scaler_cells_of_0_1(a):
    s = math.sin(a)
    return ((a, s), (a,))


def pullback_make_scaler_cells_of_0_1(saved, da, ds):
    a, = saved
    # snapshot_cases.py:201  s = math.sin(a)
    if ds is not None:
        da = ds * math.cos(a) if da is None else da + ds * math.cos(a)
    return da


def vjp_scale(x, *, a, s):
    x_times_s = x * s
    out = x_times_s + a
    return (out, (a, s, x, x_times_s))


def pullback_scale(saved, dout):
    a, s, x, x_times_s = saved
    # snapshot_cases.py:203  return x * s + a
    dx_times_s = unbroadcast(dout, x_times_s)
    da = unbroadcast(dout, a)
    dx = unbroadcast(dx_times_s * s, x)
    ds = dx_times_s * x
    return (dx, da, ds)


def vjp_scale_wrt_a_s(x, *, a, s):
    x_times_s = x * s
    out = x_times_s + a
    return (out, (a, x, x_times_s))


def pullback_scale_wrt_a_s(saved, dout):
    a, x, x_times_s = saved
    # snapshot_cases.py:203  return x * s + a
    dx_times_s = unbroadcast(dout, x_times_s)
    da = unbroadcast(dout, a)
    ds = dx_times_s * x
    return (da, ds)
