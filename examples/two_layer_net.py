"""A 2 -> 2 -> 1 network with sigmoids learns XOR: the PyTorch tutorial's training loop, in NumPy.

The tutorial's model is `nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid())`
trained with `nn.MSELoss()` and `optim.SGD` for 5000 epochs, printing the loss every 500, then printing
`model[0].weight.grad`. Here the parameters are a dict of arrays, `s2sgrad.value_and_grad(loss)` returns
a dict of gradients with the same keys, and the SGD step is one line. (A PyTorch-style class works too:
with `model(X)` in the loss, through `__call__`, `s2sgrad.grad(loss)(model, X, Y)` is an object of the
model's class holding the gradients.)

A run whose loss stalls near 0.25 has not found a bug: with four XOR points, predicting 0.5 everywhere
costs exactly 0.25, a saddle/local minimum that small learning rates and unlucky initial weights get
stuck in (the tutorial's printed run does). A larger step and this seed get past it.

Run it:  python examples/two_layer_net.py
Show the generated derivative:  s2sgrad show examples/two_layer_net.py:loss
"""

import numpy as np

import s2sgrad

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = np.array([[0.0], [1.0], [1.0], [0.0]])


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def forward(params, X):
    h = sigmoid(X @ params["W1"] + params["b1"])
    return sigmoid(h @ params["W2"] + params["b2"])


def loss(params, X, Y):
    return np.mean((forward(params, X) - Y) ** 2)


def init(seed=0):
    rng = np.random.default_rng(seed)
    return {"W1": rng.normal(size=(2, 2)), "b1": np.zeros(2), "W2": rng.normal(size=(2, 1)), "b2": np.zeros(1)}


def main(epochs=5000, lr=2.0, print_every=500, seed=0):
    """Train; returns (losses, params, grads) with grads the gradient at the last step."""
    params = init(seed)
    step = s2sgrad.value_and_grad(loss)
    losses = []
    for epoch in range(epochs):
        value, grads = step(params, X, Y)
        params = {k: params[k] - lr * grads[k] for k in params}
        losses.append(value)
        if epoch % print_every == 0:
            print(f"epoch {epoch:5d}   loss {value:.6f}")
    print(f"final loss {losses[-1]:.6f}   predictions {np.round(forward(params, X).ravel(), 3)}")
    # PyTorch: model[0].weight.grad, the first layer's gradient at the last step (its transpose:
    # nn.Linear stores weights as (out, in) and computes x @ W.T; here X @ W1 with W1 (in, out)).
    print("gradient of the first layer's weights, dloss/dW1 =")
    print(grads["W1"])
    return losses, params, grads


if __name__ == "__main__":
    losses, params, grads = main()
    assert losses[-1] < losses[0] / 10, "training must reduce the loss"
