"""Training a linear model with plain NumPy and s2sgrad: MSE loss, hand-written SGD steps.

The PyTorch version is `nn.Linear(2, 1)`, `MSELoss`, `optim.SGD(lr=0.01)`; here the model is
two arrays and the gradient is generated code.

Run it:  python examples/train_linear.py
Show the generated derivative:  s2sgrad show examples/train_linear.py:loss --wrt W,b
"""

import numpy as np

import s2sgrad

X = np.array([[1.0, 2.0], [3.0, 4.0]])
Y = np.array([[0.0], [1.0]])


def loss(W, b, X, Y):
    err = X @ W + b - Y
    return np.sum(err * err) / 2.0


def train(steps=200, lr=0.01):
    rng = np.random.default_rng(0)
    W, b = rng.normal(size=(2, 1)), np.zeros(1)
    step = s2sgrad.value_and_grad(loss, wrt=("W", "b"))
    history = []
    for i in range(steps):
        value, (dW, db) = step(W, b, X, Y)
        W, b = W - lr * dW, b - lr * db
        history.append(value)
    return history


if __name__ == "__main__":
    history = train()
    for i in range(0, len(history), 40):
        print(f"step {i:3d}   loss {history[i]:.6f}")
    assert all(later < earlier for earlier, later in zip(history, history[1:])), "loss must decrease"
    print(f"final loss {history[-1]:.6f}")
