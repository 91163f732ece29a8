"""NumPy programs: generated gradients against hand-written ones, in one process. Prints time ratios.

Run:  python benchmarks/bench_numpy.py
A ratio of 1.00 means as fast as the hand-written gradient; timing lives here, not in tests.
"""

import timeit

import numpy as np

import s2sgrad


def mlp(W1, b1, W2, b2, X, Y):
    h = np.tanh(X @ W1 + b1)
    z = h @ W2 + b2
    m = np.max(z, axis=1, keepdims=True)
    lse = np.log(np.sum(np.exp(z - m), axis=1, keepdims=True)) + m
    return -np.mean(np.sum(Y * (z - lse), axis=1))


def mlp_by_hand(W1, b1, W2, b2, X, Y):
    a = X @ W1 + b1
    h = np.tanh(a)
    z = h @ W2 + b2
    m = np.max(z, axis=1, keepdims=True)
    e = np.exp(z - m)
    s = np.sum(e, axis=1, keepdims=True)
    lse = np.log(s) + m
    value = -np.mean(np.sum(Y * (z - lse), axis=1))
    n = X.shape[0]
    dz = (e / s * np.sum(Y, axis=1, keepdims=True) - Y) / n
    dW2 = h.T @ dz
    db2 = dz.sum(axis=0)
    da = (dz @ W2.T) * (1.0 - h * h)
    return value, (X.T @ da, da.sum(axis=0), dW2, db2)


def rnn(W, U, h0, X):
    h = h0
    for t in range(X.shape[0]):
        h = np.tanh(W @ h + U @ X[t])
    return np.sum(h * h)


def rnn_by_hand(W, U, h0, X):
    hs = [h0]
    h = h0
    for t in range(X.shape[0]):
        h = np.tanh(W @ h + U @ X[t])
        hs.append(h)
    value = np.sum(h * h)
    dh = 2.0 * h
    dW, dU = np.zeros_like(W), np.zeros_like(U)
    for t in reversed(range(X.shape[0])):
        da = dh * (1.0 - hs[t + 1] ** 2)
        dW += np.outer(da, hs[t])
        dU += np.outer(da, X[t])
        dh = W.T @ da
    return value, (dW, dU)


def prefix_products(x):
    y = np.zeros(x.shape[0])
    y[0] = x[0]
    for i in range(1, x.shape[0]):
        y[i] = y[i - 1] * 0.9 + x[i] * x[i]
    return np.sum(y)


def prefix_products_by_hand(x):
    n = x.shape[0]
    y = np.zeros(n)
    y[0] = x[0]
    for i in range(1, n):
        y[i] = y[i - 1] * 0.9 + x[i] * x[i]
    value = np.sum(y)
    dy = np.ones(n)
    dx = np.zeros(n)
    for i in range(n - 1, 0, -1):
        dx[i] += dy[i] * 2.0 * x[i]
        dy[i - 1] += dy[i] * 0.9
    dx[0] += dy[0]
    return value, dx


A_HVP = np.random.default_rng(1).normal(size=(200, 100)) * 0.1


def energy(x):
    return np.sum(np.tanh(A_HVP @ x) ** 2)


def energy_hvp_by_hand(x, v):
    t = np.tanh(A_HVP @ x)
    return energy(x), A_HVP.T @ ((2.0 - 6.0 * t * t) * (1.0 - t * t) * (A_HVP @ v))


def bench(name, generated, by_hand, args, number):
    v1, g1 = generated(*args)
    v2, g2 = by_hand(*args)
    np.testing.assert_allclose(v1, v2, rtol=1e-12)
    for a, b in zip(g1 if isinstance(g1, tuple) else (g1,), g2 if isinstance(g2, tuple) else (g2,)):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    t_gen = min(timeit.repeat(lambda: generated(*args), number=number, repeat=5))
    t_hand = min(timeit.repeat(lambda: by_hand(*args), number=number, repeat=5))
    print(f"{name:34s} generated {t_gen / number * 1e6:9.1f} us   by hand {t_hand / number * 1e6:9.1f} us"
          f"   ratio {t_gen / t_hand:5.2f}")


def main():
    rng = np.random.default_rng(0)
    for n, d, k, c in ((16, 4, 8, 3), (512, 64, 128, 10)):
        X, W1, b1 = rng.normal(size=(n, d)), rng.normal(size=(d, k)) * 0.3, rng.normal(size=k) * 0.1
        W2, b2 = rng.normal(size=(k, c)) * 0.3, rng.normal(size=c) * 0.1
        Y = np.eye(c)[rng.integers(0, c, size=n)]
        bench(f"MLP softmax CE, batch {n}, {d}-{k}-{c}", s2sgrad.value_and_grad(mlp, wrt=(0, 1, 2, 3)), mlp_by_hand,
              (W1, b1, W2, b2, X, Y), 20)
    H, T = 32, 50
    W, U, h0, X = rng.normal(size=(H, H)) * 0.2, rng.normal(size=(H, 8)) * 0.2, np.zeros(H), rng.normal(size=(T, 8))
    bench(f"RNN, {T} steps, hidden {H}", s2sgrad.value_and_grad(rnn, wrt=(0, 1)), rnn_by_hand, (W, U, h0, X), 20)
    x = rng.normal(size=1000)
    bench("element writes y[i] = ..., n=1000", s2sgrad.value_and_grad(prefix_products), prefix_products_by_hand,
          (x,), 20)
    x, v = rng.normal(size=100), rng.normal(size=100)
    bench("hvp, tanh energy, 200x100", lambda x, v: (energy(x), s2sgrad.hvp(energy, (x,), v)), energy_hvp_by_hand,
          (x, v), 200)
    start = timeit.default_timer()
    s2sgrad.hessian(energy)(rng.normal(size=100))
    print(f"hessian of the 100-input energy, first call (code for forward and reverse-over-forward, then "
          f"100 hvps): {(timeit.default_timer() - start) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
