"""A recurrent network learns to predict the next value of sine waves: dict parameters, a Python loop
over time calling a cell function, and a gradient through all of it (backpropagation through time).

PyTorch: `nn.RNN(1, hidden)` plus `nn.Linear(hidden, 1)`, `loss.backward()`, `optim.Adam`. Here the loop
over time is plain Python calling a helper per step; the generated forward sweep keeps what each call of
the helper saved, and the reverse sweep runs the helper's pullbacks from the last step to the first.

Run it:  python examples/rnn.py
Show the generated derivative:  s2sgrad show examples/rnn.py:rnn_loss
"""

import numpy as np

import s2sgrad


def sine_batch(batch=16, steps=20, seed=0):
    """Inputs xs[t] and targets xs[t + 1] of shape (steps, batch, 1), for waves of random phase."""
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0.0, 2.0 * np.pi, size=batch)
    t = np.arange(steps + 1)[:, None] * 0.3 + phase
    wave = np.sin(t)[:, :, None]
    return wave[:-1], wave[1:]


def cell(params, x, h):
    """One step: the next hidden state from this input and the last state."""
    return np.tanh(x @ params["Wx"] + h @ params["Wh"] + params["b"])


def rnn_loss(params, xs, targets):
    """The mean squared error of the next-value predictions over all steps."""
    h = np.zeros((xs.shape[1], params["Wh"].shape[0]))
    total = 0.0
    for x, target in zip(xs, targets):
        h = cell(params, x, h)
        total = total + np.mean((h @ params["Wy"] + params["by"] - target) ** 2)
    return total / len(xs)


def init(hidden=16, seed=1):
    rng = np.random.default_rng(seed)
    return {"Wx": rng.normal(scale=0.5, size=(1, hidden)), "Wh": rng.normal(scale=0.3, size=(hidden, hidden)),
            "b": np.zeros(hidden), "Wy": rng.normal(scale=0.3, size=(hidden, 1)), "by": np.zeros(1)}


def main(steps=300, hidden=16, seq_len=20, lr=0.01, print_every=50):
    """Train with Adam (written out, one m and s per parameter); returns the losses."""
    params = init(hidden)
    xs, targets = sine_batch(steps=seq_len)
    step = s2sgrad.value_and_grad(rnn_loss)          # gradients: a dict with the keys of params
    m = {k: np.zeros_like(p) for k, p in params.items()}
    s = {k: np.zeros_like(p) for k, p in params.items()}
    losses = []
    for i in range(1, steps + 1):
        value, grads = step(params, xs, targets)
        for k in params:
            m[k] = 0.9 * m[k] + 0.1 * grads[k]
            s[k] = 0.999 * s[k] + 0.001 * grads[k] ** 2
            params[k] = params[k] - lr * (m[k] / (1 - 0.9 ** i)) / (np.sqrt(s[k] / (1 - 0.999 ** i)) + 1e-8)
        losses.append(value)
        if i % print_every == 0 or i == 1:
            print(f"step {i:4d}   loss {value:.6f}")
    return losses


if __name__ == "__main__":
    losses = main()
    assert losses[-1] < losses[0] / 20, "the RNN must learn to predict the next value"
