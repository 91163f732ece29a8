"""Mixed precision: parameters stored in float16, the loss computed in float32, float16 gradients back.

PyTorch: `x16 = torch.ones(3, dtype=torch.half, requires_grad=True); (x16.float() * 2).sum().backward()`
gives `x16.grad == [2, 2, 2]` of dtype float16. s2sgrad does the same on NumPy code: `astype(np.float32)`
inside the function is differentiated, and a gradient always has its argument's dtype, so a float16
parameter gets a float16 gradient (the cast's adjoint casts back).

Run it:  python examples/mixed_precision.py
"""

import numpy as np

import s2sgrad


def doubled_sum(x16):
    return (x16.astype(np.float32) * 2).sum()


def loss(w16, b16, X, y):
    """Linear regression whose parameters live in float16 and whose arithmetic runs in float32."""
    w, b = w16.astype(np.float32), b16.astype(np.float32)
    residual = X @ w + b - y
    return np.mean(residual * residual)


def main(steps=200, lr=0.1, n=128, seed=0):
    """Returns (gradient of doubled_sum, losses, w16)."""
    g = s2sgrad.grad(doubled_sum)(np.ones(3, dtype=np.float16))
    print(f"d/dx sum(2 * float32(x16)) = {g}, dtype {g.dtype}")     # [2. 2. 2.] float16

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    true_w = np.array([0.5, -1.0, 2.0, 0.25], dtype=np.float32)
    y = X @ true_w + np.float32(0.3)
    w16, b16 = np.zeros(4, dtype=np.float16), np.zeros(1, dtype=np.float16)
    step = s2sgrad.value_and_grad(loss, wrt=("w16", "b16"))
    losses = []
    for i in range(steps):
        value, (dw16, db16) = step(w16, b16, X, y)
        assert dw16.dtype == np.float16 and db16.dtype == np.float16
        w16, b16 = w16 - np.float16(lr) * dw16, b16 - np.float16(lr) * db16   # the update stays float16
        losses.append(float(value))
        if i % 50 == 0:
            print(f"step {i:4d}   loss {value:.5f} ({np.asarray(value).dtype})   gradient dtype {dw16.dtype}")
    print(f"w16 = {w16} ({w16.dtype}), true w = {true_w}")
    return g, losses, w16


if __name__ == "__main__":
    g, losses, w16 = main()
    assert g.dtype == np.float16 and np.array_equal(g, [2.0, 2.0, 2.0])
    assert losses[-1] < losses[0] / 100
