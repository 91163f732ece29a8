"""A tiny two-layer network learns XOR-like data: plain NumPy, hand-written SGD, generated gradients.

The PyTorch version is `nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1), nn.Sigmoid())`,
`MSELoss` and `optim.SGD`; here the model is four arrays and `loss.value_and_grad` is generated code.

Run it:  python examples/mlp.py
Show the generated derivative:  s2sgrad show examples/mlp.py:loss
"""

import numpy as np

import s2sgrad


def xor_data(n=64, noise=0.15, seed=0):
    """Points scattered around the four corners of the unit square, labelled by XOR of the corner."""
    rng = np.random.default_rng(seed)
    corners = rng.integers(0, 2, size=(n, 2))
    X = corners + noise * rng.normal(size=(n, 2))
    y = (corners[:, :1] != corners[:, 1:]).astype(float)
    return X, y


@s2sgrad.differentiate(wrt=("W1", "b1", "W2", "b2"))
def loss(W1, b1, W2, b2, X, y):
    h = np.tanh(X @ W1 + b1)
    p = 1.0 / (1.0 + np.exp(-(h @ W2 + b2)))
    return np.mean((p - y) ** 2)


def predict(W1, b1, W2, b2, X):
    h = np.tanh(X @ W1 + b1)
    return 1.0 / (1.0 + np.exp(-(h @ W2 + b2)))


def train(steps=500, lr=2.0, hidden=8, seed=1):
    X, y = xor_data()
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=(2, hidden)), np.zeros(hidden), rng.normal(size=(hidden, 1)), np.zeros(1)]
    history = []
    for step in range(steps):
        value, grads = loss.value_and_grad(*params, X, y)
        params = [p - lr * g for p, g in zip(params, grads)]
        history.append(value)
        if step % 100 == 0:
            print(f"step {step:4d}   loss {value:.6f}")
    accuracy = np.mean((predict(*params, X) > 0.5) == (y > 0.5))
    return history, accuracy


if __name__ == "__main__":
    history, accuracy = train()
    print(f"final loss {history[-1]:.6f}   accuracy {accuracy:.0%}")
    assert history[-1] < history[0] / 4, "training must reduce the loss"
