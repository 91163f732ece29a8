def grad_log_likelihood(X, w, sigma, *, dout=1.0):
    n_d_pair = np.shape(X)
    n = n_d_pair[0]
    d = n_d_pair[1]
    r = X @ w
    r_pow_2 = r ** 2
    sum_r_pow_2 = np.sum(r_pow_2)
    sigma_pow_2 = sigma ** 2
    over = -0.5 * sum_r_pow_2 / sigma_pow_2
    log_sigma = math.log(sigma)
    out = over - n * log_sigma
    # reverse sweep
    # snapshot_cases.py:197  return -0.5 * np.sum(r ** 2) / sigma ** 2 - n * math.log(sigma)
    dover = unbroadcast(dout, over)
    dn_times_log_sigma = -dout
    dlog_sigma = unbroadcast(dn_times_log_sigma * n, log_sigma)
    dsigma = dlog_sigma / sigma
    dsigma = dsigma + -(dover * over / sigma_pow_2) * 2 * sigma
    dsum_r_pow_2 = dover / sigma_pow_2 * -0.5
    dr_pow_2 = np.full_like(r_pow_2, dsum_r_pow_2)
    dr = dr_pow_2 * 2 * r
    # snapshot_cases.py:196  r = X @ w
    dw = matmul_adjoint_right(dr, X, w)
    return (out, (dw, dsigma))
