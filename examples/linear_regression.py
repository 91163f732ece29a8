"""Linear regression by plain SGD: a NumPy model, a mean-squared-error loss, generated gradients.

The PyTorch version is `nn.Linear(3, 1)`, `nn.MSELoss()`, `optim.SGD(model.parameters(), lr=0.1)` and
`optimizer.zero_grad(); loss.backward(); optimizer.step()` in the loop. Here the model is two arrays,
`s2sgrad.value_and_grad` generates the gradient, and there is nothing to zero: every call returns fresh
gradients (PyTorch accumulates them in `.grad`).

Run it:  python examples/linear_regression.py
Show the generated derivative:  s2sgrad show examples/linear_regression.py:mse --wrt w,b
"""

import numpy as np

import s2sgrad

TRUE_W = np.array([2.0, -3.0, 0.5])
TRUE_B = 1.0


def make_data(n=200, noise=0.1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, TRUE_W.size))
    y = X @ TRUE_W + TRUE_B + noise * rng.normal(size=n)
    return X, y


def mse(w, b, X, y):
    residual = X @ w + b - y
    return np.mean(residual ** 2)


def main(steps=300, lr=0.1, n=200, print_every=50):
    """Fit w and b by SGD; returns (losses, w, b)."""
    X, y = make_data(n)
    w, b = np.zeros(X.shape[1]), 0.0
    step = s2sgrad.value_and_grad(mse, wrt=("w", "b"))
    losses = []
    for i in range(steps):
        loss, (dw, db) = step(w, b, X, y)       # b is a float, so db is a float
        w, b = w - lr * dw, b - lr * db
        losses.append(loss)
        if i % print_every == 0:
            print(f"step {i:4d}   loss {loss:.6f}")
    print(f"fitted w = {np.round(w, 3)}, b = {b:.3f}   (true w = {TRUE_W}, b = {TRUE_B})")
    return losses, w, b


if __name__ == "__main__":
    losses, w, b = main()
    assert np.allclose(w, TRUE_W, atol=0.05) and abs(b - TRUE_B) < 0.05, "SGD must recover the weights"
