def grad_rnn_dict_params(params, xs, *, dout=1.0):
    stack = []
    x = None
    params_U = None
    params_U_matmul_h = None
    params_W = None
    params_W_times_x = None
    h = np.zeros(params['U'].shape[0])
    hs = []
    x_index_range = range(len(xs))
    for x_index in x_index_range:
        stack.append(x)
        x = xs[x_index]
        stack.append(params_U)
        params_U = params['U']
        stack.append(params_U_matmul_h)
        params_U_matmul_h = params_U @ h
        stack.append(params_W)
        params_W = params['W']
        stack.append(params_W_times_x)
        params_W_times_x = params_W * x
        stack.append(h)
        h = np.tanh(params_U_matmul_h + params_W_times_x)
        hs.append(h)
    stack.append(x_index_range)
    stack_hs = np.stack(hs)
    stack_hs_pow_2 = stack_hs ** 2
    out = np.sum(stack_hs_pow_2)
    # reverse sweep
    # snapshot_cases.py:191  return np.sum(np.stack(hs) ** 2)
    dstack_hs_pow_2 = np.full_like(stack_hs_pow_2, dout)
    dstack_hs = dstack_hs_pow_2 * 2 * stack_hs
    dhs = list_of(np.unstack(dstack_hs, axis=0))
    dh = None
    dparams = zeros_of(params)
    # snapshot_cases.py:188  for x in xs:
    for x_index in reversed(stack.pop()):
        # snapshot_cases.py:190  hs.append(h)
        dh_part = dhs.pop()
        if dh_part is not None:
            dh = dh_part if dh is None else dh + dh_part
        # snapshot_cases.py:189  h = np.tanh(params["U"] @ h + params["W"] * x)
        if dh is not None:
            dplus = dh * (1.0 - h * h)
        else:
            dplus = None
        h = stack.pop()
        if dplus is not None:
            dparams_U_matmul_h = unbroadcast(dplus, params_U_matmul_h)
            dparams_W_times_x = unbroadcast(dplus, params_W_times_x)
            dparams_W = unbroadcast(dparams_W_times_x * x, params_W)
        else:
            dparams_U_matmul_h = None
            dparams_W = None
        params_W_times_x = stack.pop()
        if dparams_W is not None:
            add_at(dparams, 'W', dparams_W)
        params_W = stack.pop()
        if dparams_U_matmul_h is not None:
            dparams_U = matmul_adjoint_left(dparams_U_matmul_h, params_U, h)
            dh = matmul_adjoint_right(dparams_U_matmul_h, params_U, h)
        else:
            dh = None
            dparams_U = None
        params_U_matmul_h = stack.pop()
        if dparams_U is not None:
            add_at(dparams, 'U', dparams_U)
        params_U = stack.pop()
        # snapshot_cases.py:188  for x in xs:
        x = stack.pop()
    return (out, dparams)
