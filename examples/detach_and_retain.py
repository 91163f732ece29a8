"""Stopping and keeping gradients: PyTorch's `detach`, `torch.no_grad()` and `retain_grad()`.

- `s2sgrad.stop_gradient(c)` is `c.detach()`: the value of c, through which no derivative flows.
- `with s2sgrad.no_grad():` inside a differentiated function is `with torch.no_grad():`; what the block
  assigns is a constant to the derivative. (Calling a function yourself never records anything: there is no
  tape, so there is nothing to switch off outside a gradient.)
- `retain=("b",)` is `b.retain_grad()`: the gradient also returns the adjoint of the local `b`.

Each value PyTorch prints for the same program is in a comment beside ours.

Run it:  python examples/detach_and_retain.py
Show the generated code of the no_grad block:  s2sgrad show examples/detach_and_retain.py:scaled_by_constant_copy
"""

import numpy as np

import s2sgrad


def detached(a, b):
    c = a + b
    d = b * s2sgrad.stop_gradient(c)       # PyTorch: d = b * c.detach()
    return np.sum(d)


def scaled_by_constant_copy(x):
    with s2sgrad.no_grad():                 # PyTorch: with torch.no_grad(): y = x * 2
        y = x * 2
    return np.sum(y * x)


def shifted_mean(a):
    b = a + 3                               # PyTorch: b.retain_grad()
    c = np.mean(b)
    return c


def main():
    """Print and return the gradients of the three idioms, at a = [1, 2, 3], b = [4, 5, 6]."""
    a, b = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])
    results = {}

    # detach: a reaches d only through c, which is detached, so da = 0; db = c = a + b.
    # PyTorch: a.grad is None (no path), b.grad = tensor([5., 7., 9.]) (a tutorial prints [1, 1, 1]: wrong)
    results["da"], results["db"] = s2sgrad.grad(detached, wrt=("a", "b"))(a, b)
    print("stop_gradient: da =", results["da"], " db =", results["db"])

    # no_grad: y = 2x is a constant, so d/dx sum(y * x) = y = 2x, not 4x.
    # PyTorch: y.requires_grad is False; (y * x).sum().backward() gives x.grad = tensor([2., 4., 6.])
    results["no_grad"] = s2sgrad.grad(scaled_by_constant_copy)(a)
    print("no_grad:       dx =", results["no_grad"])
    results["no_grad_source"] = s2sgrad.source(scaled_by_constant_copy)    # the block has no adjoint code
    print(results["no_grad_source"])

    # retain: (gradients, {name: adjoint}); c = mean(b), so db = 1/3 each, and da = db as b = a + 3.
    # PyTorch: b.grad = a.grad = tensor([0.3333, 0.3333, 0.3333])
    results["da_retain"], kept = s2sgrad.grad(shifted_mean, retain=("b",))(a)
    results["db_retain"] = kept["b"]
    print("retain:        da =", results["da_retain"], " db =", results["db_retain"])

    assert np.array_equal(results["da"], [0.0, 0.0, 0.0]) and np.array_equal(results["db"], [5.0, 7.0, 9.0])
    assert np.array_equal(results["no_grad"], 2 * a)
    assert np.allclose(results["da_retain"], 1 / 3, rtol=1e-15) and np.allclose(results["db_retain"], 1 / 3, rtol=1e-15)
    return results


if __name__ == "__main__":
    main()
