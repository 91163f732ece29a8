def grad_pairs_mlp(params, x, y, *, dout=1.0):
    stack = []
    W_b_pair = None
    W = None
    b = None
    W_matmul_h = None
    W_1_b_1_pair = None
    W_1 = None
    W_1_pow_2 = None
    h = x
    W_b_index_range = range(len(params))
    for W_b_index in W_b_index_range:
        stack.append(W_b_pair)
        W_b_pair = params[W_b_index]
        stack.append(W)
        W = W_b_pair[0]
        stack.append(b)
        b = W_b_pair[1]
        stack.append(W_matmul_h)
        W_matmul_h = W @ h
        stack.append(h)
        h = np.tanh(W_matmul_h + b)
    stack.append(W_b_index_range)
    items = []
    W_1_b_1_index_range = range(len(params))
    for W_1_b_1_index in W_1_b_1_index_range:
        stack.append(W_1_b_1_pair)
        W_1_b_1_pair = params[W_1_b_1_index]
        stack.append(W_1)
        W_1 = W_1_b_1_pair[0]
        b_1 = W_1_b_1_pair[1]
        stack.append(W_1_pow_2)
        W_1_pow_2 = W_1 ** 2
        sum_W_1_pow_2 = np.sum(W_1_pow_2)
        items.append(sum_W_1_pow_2)
    stack.append(W_1_b_1_index_range)
    penalty = sum(items)
    h_minus_y = h - y
    h_minus_y_pow_2 = h_minus_y ** 2
    sum_h_minus_y_pow_2 = np.sum(h_minus_y_pow_2)
    out = sum_h_minus_y_pow_2 + 0.001 * penalty
    # reverse sweep
    # snapshot_cases.py:182  return np.sum((h - y) ** 2) + 1e-3 * penalty
    dsum_h_minus_y_pow_2 = unbroadcast(dout, sum_h_minus_y_pow_2)
    dpenalty = dout * 0.001
    dh_minus_y_pow_2 = np.full_like(h_minus_y_pow_2, dsum_h_minus_y_pow_2)
    dh_minus_y = dh_minus_y_pow_2 * 2 * h_minus_y
    dh = unbroadcast(dh_minus_y, h)
    # snapshot_cases.py:181  penalty = sum([np.sum(W ** 2) for W, b in params])
    ditems = list_of(items_adjoint(dpenalty, items))
    dparams = zeros_of(params)
    for W_1_b_1_index in reversed(stack.pop()):
        # snapshot_cases.py:181  penalty = sum([np.sum(W ** 2) for W, b in params])
        dsum_W_1_pow_2 = ditems.pop()
        items.pop()
        if dsum_W_1_pow_2 is not None:
            dW_1_pow_2 = np.full_like(W_1_pow_2, dsum_W_1_pow_2)
            dW_1 = dW_1_pow_2 * 2 * W_1
        else:
            dW_1 = None
        W_1_pow_2 = stack.pop()
        if dW_1 is not None:
            dW_1_b_1_pair = zeros_of(W_1_b_1_pair)
            add_at(dW_1_b_1_pair, 0, dW_1)
        else:
            dW_1_b_1_pair = None
        W_1 = stack.pop()
        if dW_1_b_1_pair is not None:
            add_at(dparams, W_1_b_1_index, dW_1_b_1_pair)
        W_1_b_1_pair = stack.pop()
    # snapshot_cases.py:179  for W, b in params:
    for W_b_index in reversed(stack.pop()):
        # snapshot_cases.py:180  h = np.tanh(W @ h + b)
        dW_matmul_h_plus_b = dh * (1.0 - h * h)
        h = stack.pop()
        dW_matmul_h = unbroadcast(dW_matmul_h_plus_b, W_matmul_h)
        db = unbroadcast(dW_matmul_h_plus_b, b)
        dW = matmul_adjoint_left(dW_matmul_h, W, h)
        dh = matmul_adjoint_right(dW_matmul_h, W, h)
        W_matmul_h = stack.pop()
        # snapshot_cases.py:179  for W, b in params:
        dW_b_pair = zeros_of(W_b_pair)
        add_at(dW_b_pair, 1, db)
        b = stack.pop()
        add_at(dW_b_pair, 0, dW)
        W = stack.pop()
        add_at(dparams, W_b_index, dW_b_pair)
        W_b_pair = stack.pop()
    return (out, dparams)
