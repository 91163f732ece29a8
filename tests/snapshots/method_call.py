def grad_method_call(x, *, dout=1.0):
    forward_LAYER, forward_state = vjp_forward_wrt_x(LAYER, x)
    forward_LAYER_pow_2 = forward_LAYER ** 2
    out = np.sum(forward_LAYER_pow_2)
    # reverse sweep
    # snapshot_cases.py:165  return np.sum(LAYER.forward(x) ** 2)
    dforward_LAYER_pow_2 = np.full_like(forward_LAYER_pow_2, dout)
    dforward_LAYER = dforward_LAYER_pow_2 * 2 * forward_LAYER
    dx = pullback_forward_wrt_x(forward_state, dforward_LAYER)
    return (out, dx)


def vjp_forward_wrt_x(self, x):
    matmul_x = self.W @ x
    matmul_x_plus = matmul_x + self.b
    out = np.tanh(matmul_x_plus)
    return (out, (out, x))


def pullback_forward_wrt_x(saved, dout):
    out, x = saved
    # snapshot_cases.py:158  return np.tanh(self.W @ x + self.b)
    dmatmul_x_plus = dout * (1.0 - out * out)
    dx = matmul_adjoint_right(dmatmul_x_plus, self.W, x)
    return dx
