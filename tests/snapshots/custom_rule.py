def grad_custom_rule(W, x, *, dout=1.0):
    W_matmul_x = W @ x
    soft_clip_W_matmul_x = soft_clip(W_matmul_x)
    pow_1 = soft_clip_W_matmul_x ** 2
    out = np.sum(pow_1)
    # reverse sweep
    # snapshot_cases.py:238  return np.sum(soft_clip(W @ x) ** 2)
    dpow_1 = np.full_like(pow_1, dout)
    dsoft_clip_W_matmul_x = dpow_1 * 2 * soft_clip_W_matmul_x
    slope = 1.0 - soft_clip_W_matmul_x * soft_clip_W_matmul_x
    dW_matmul_x = checked(np.clip(dsoft_clip_W_matmul_x * slope, -1.0, 1.0), W_matmul_x, "soft_clip's VJP (cotangent of x)")
    dW = matmul_adjoint_left(dW_matmul_x, W, x)
    return (out, dW)
