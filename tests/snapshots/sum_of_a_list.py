def grad_sum_of_a_list(ws, lam, *, dout=1.0):
    total = sum(ws)
    total_times_total = total * total
    sum_total_times_total = np.sum(total_times_total)
    times = lam * sum_total_times_total
    ws_0 = ws[0]
    max_ws_0 = max(ws_0)
    out = times + max_ws_0
    # reverse sweep
    # snapshot_cases.py:174  return lam * np.sum(total * total) + max(ws[0])
    dtimes = unbroadcast(dout, times)
    dws_0 = chosen_adjoint(dout, ws_0, first_max(ws_0))
    dws = zeros_of(ws)
    add_at(dws, 0, dws_0)
    dlam = dtimes * sum_total_times_total
    dsum_total_times_total = dtimes * lam
    dtotal_times_total = np.full_like(total_times_total, dsum_total_times_total)
    dtotal = 2.0 * (dtotal_times_total * total)
    # snapshot_cases.py:173  total = sum(ws)
    dws = tree_add(dws, items_adjoint(dtotal, ws))
    return (out, (dws, dlam))
