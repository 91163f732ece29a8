def grad_mlp_loss(x, W1, b1, W2, b2, target, *, dout_1=1.0):
    W1_matmul_x = W1 @ x
    h = np.tanh(W1_matmul_x + b1)
    W2_matmul_h = W2 @ h
    out = W2_matmul_h + b2
    out_minus_target = out - target
    out_minus_target_pow_2 = out_minus_target ** 2
    out_1 = np.sum(out_minus_target_pow_2)
    # reverse sweep
    # snapshot_cases.py:124  return np.sum((out - target) ** 2)
    dout_minus_target_pow_2 = np.full_like(out_minus_target_pow_2, dout_1)
    dout_minus_target = dout_minus_target_pow_2 * 2 * out_minus_target
    dout = unbroadcast(dout_minus_target, out)
    # snapshot_cases.py:123  out = W2 @ h + b2
    dW2_matmul_h = unbroadcast(dout, W2_matmul_h)
    db2 = unbroadcast(dout, b2)
    dW2 = matmul_adjoint_left(dW2_matmul_h, W2, h)
    dh = matmul_adjoint_right(dW2_matmul_h, W2, h)
    # snapshot_cases.py:122  h = np.tanh(W1 @ x + b1)
    dW1_matmul_x_plus_b1 = dh * (1.0 - h * h)
    dW1_matmul_x = unbroadcast(dW1_matmul_x_plus_b1, W1_matmul_x)
    db1 = unbroadcast(dW1_matmul_x_plus_b1, b1)
    dW1 = matmul_adjoint_left(dW1_matmul_x, W1, x)
    return (out_1, (dW1, db1, dW2, db2))
