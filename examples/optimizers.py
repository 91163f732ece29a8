"""SGD with momentum and Adam, written in a few lines over one flat vector, with gradient clipping.

PyTorch users reach for `optim.SGD(params, lr, momentum=0.9)`, `optim.Adam(params, lr)` and
`nn.utils.clip_grad_norm_(params, max_norm)`. With s2sgrad the parameters are a dict of arrays;
`s2sgrad.ravel` flattens it (and its gradient, which has the same keys) into one vector, so each
optimiser is a short loop over NumPy vectors and `unravel` turns the result back into the dict.

(`s2sgrad.grad(lambda v: loss(unravel(v), X, y))`, JAX's spelling with `ravel_pytree`, is refused:
`unravel` has no gradient rule. Ravel the gradient of the dict instead, as `flat_grad` does.)

Run it:  python examples/optimizers.py
"""

import numpy as np

import s2sgrad


def make_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2.0, 2.0, size=(n, 1))
    return X, np.sin(X[:, 0])


def loss(params, X, y):
    h = np.tanh(X @ params["W1"] + params["b1"])
    return np.mean((h @ params["w2"] + params["b2"] - y) ** 2)


def init(hidden=16, seed=1):
    rng = np.random.default_rng(seed)
    return {"W1": rng.normal(size=(1, hidden)), "b1": rng.normal(size=hidden),
            "w2": 0.1 * rng.normal(size=hidden), "b2": 0.0}


def clip_by_norm(g, max_norm):
    """`clip_grad_norm_`: scale the whole gradient down when its norm exceeds max_norm."""
    norm = np.linalg.norm(g)
    return g * (max_norm / norm) if norm > max_norm else g


def sgd_momentum(flat_grad, v, steps, lr=0.05, momentum=0.9, max_norm=1.0):
    velocity = np.zeros_like(v)
    for _ in range(steps):
        velocity = momentum * velocity + clip_by_norm(flat_grad(v), max_norm)
        v = v - lr * velocity
    return v


def adam(flat_grad, v, steps, lr=0.02, beta1=0.9, beta2=0.999, eps=1e-8, max_norm=1.0):
    m, s = np.zeros_like(v), np.zeros_like(v)
    for t in range(1, steps + 1):
        g = clip_by_norm(flat_grad(v), max_norm)
        m = beta1 * m + (1 - beta1) * g
        s = beta2 * s + (1 - beta2) * g * g
        v = v - lr * (m / (1 - beta1 ** t)) / (np.sqrt(s / (1 - beta2 ** t)) + eps)
    return v


def main(steps=500, n=64, hidden=16):
    """Train the same network with each optimiser; returns {name: (initial loss, final loss)}."""
    X, y = make_data(n)
    params = init(hidden)
    v0, unravel = s2sgrad.ravel(params)        # W1, b1, b2, w2 (keys sorted) in one vector
    dloss = s2sgrad.grad(loss)                   # a dict of gradients with params' keys

    def flat_grad(v):
        return s2sgrad.ravel(dloss(unravel(v), X, y))[0]     # lines up with v: same keys, same order

    results = {}
    start = loss(params, X, y)
    for name, optimiser in [("sgd+momentum", sgd_momentum), ("adam", adam)]:
        final = loss(unravel(optimiser(flat_grad, v0, steps)), X, y)
        results[name] = (start, final)
        print(f"{name:13s} loss {start:.4f} -> {final:.4f} after {steps} steps (gradient norm clipped at 1)")
    return results


if __name__ == "__main__":
    for name, (start, final) in main().items():
        assert final < start / 5, f"{name} must reduce the loss"
