"""Fit a damped oscillator's stiffness to observed positions, differentiating through its simulation.

x'' = -k x - c x' is integrated by explicit Euler in a plain Python loop that writes each position
into an array; s2sgrad differentiates the loss through every step of the loop (what a PyTorch user
gets by building the trajectory from tensors and calling `loss.backward()`). Gradient descent on k
recovers the stiffness that produced the data. With matplotlib installed, `main(plot="fit.png")`
saves a plot of the fit against the data (run as a script: physics_fit.png in the current directory).

Run it:  python examples/physics.py
Show the generated derivative:  s2sgrad show examples/physics.py:loss
"""

import numpy as np

import s2sgrad

DT, STEPS, DAMPING = 0.02, 250, 0.3


def simulate(k, c, x0, v0, dt, steps):
    positions = np.zeros(steps)
    x, v = x0, v0
    for i in range(steps):
        a = -k * x - c * v
        x = x + dt * v
        v = v + dt * a
        positions[i] = x
    return positions


def loss(k, observed):
    return np.mean((simulate(k, DAMPING, 1.0, 0.0, DT, STEPS) - observed) ** 2)


def observations(k_true=4.0, noise=0.02, seed=0):
    rng = np.random.default_rng(seed)
    return simulate(k_true, DAMPING, 1.0, 0.0, DT, STEPS) + noise * rng.normal(size=STEPS)


def main(iterations=60, k=2.5, lr=4.0, plot=None):
    """Gradient descent on k from a wrong guess; returns (k, losses). plot: a PNG path, or None."""
    observed = observations()
    step = s2sgrad.value_and_grad(loss)
    losses = []
    for i in range(iterations):
        value, dk = step(k, observed)
        k = k - lr * dk
        losses.append(value)
        if i % 10 == 0:
            print(f"iteration {i:3d}   k {k:.4f}   loss {value:.6f}   dloss/dk {dk:+.6f}")
    print(f"fitted stiffness k = {k:.4f} (the data was made with k = 4)")
    if plot is not None:
        try:
            import matplotlib
        except ImportError:
            print("matplotlib is not installed: no plot")
        else:
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
            t = DT * np.arange(1, STEPS + 1)
            plt.plot(t, observed, ".", markersize=3, label="observed")
            plt.plot(t, simulate(k, DAMPING, 1.0, 0.0, DT, STEPS), label=f"fit, k = {k:.3f}")
            plt.xlabel("t")
            plt.ylabel("x")
            plt.legend()
            plt.savefig(plot, dpi=100)
            plt.close()
            print(f"saved {plot}")
    return k, losses


if __name__ == "__main__":
    k, losses = main(plot="physics_fit.png")
    assert abs(k - 4.0) < 0.05 and losses[-1] < losses[0] / 10
