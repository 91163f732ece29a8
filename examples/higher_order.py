"""Higher derivatives: a gradient is generated Python, so s2sgrad differentiates it again.

PyTorch spells these `torch.autograd.grad(y, x, create_graph=True)` followed by another `backward()`,
`torch.autograd.functional.hessian`, `jacobian` and `hvp`. Here they are functions of functions:
`grad(grad(f))`, `hessian(f)`, `jacobian(f)`, `hvp(f, args, v)`.

Run it:  python examples/higher_order.py
Show the generated Hessian-vector product:  s2sgrad show examples/higher_order.py:rosen --mode hvp
"""

import numpy as np
from scipy.optimize import minimize

import s2sgrad


def square(x):
    return x ** 2


dsquare = s2sgrad.grad(square)


def cube_of_slope(x):
    return s2sgrad.grad(square)(x) ** 3      # z = (dy/dx)^3 = (2x)^3: a gradient inside differentiated code


def cube_of_slope_made_outside(x):
    return dsquare(x) ** 3                   # the same, with the gradient made once at module level


def double(x):
    return 2.0 * x


def rosen(x):
    """The Rosenbrock function, minimum 0 at x = (1, ..., 1)."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def main(n=5, x=1.0):
    """Print and return the derivatives; n is the dimension of the Newton-CG problem."""
    results = {}
    # y = x^2: dy/dx = 2x = 2 at x = 1; d2y/dx2 = 2.
    results["dy/dx"] = dsquare(x)
    results["d2y/dx2"] = s2sgrad.grad(dsquare)(x)
    # z = (dy/dx)^3 = 8x^3, dz/dx = 24x^2 = 24 at x = 1 (a popular tutorial prints 12: wrong).
    results["dz/dx"] = s2sgrad.grad(cube_of_slope)(x)
    assert s2sgrad.grad(cube_of_slope_made_outside)(x) == results["dz/dx"]
    for name, value in results.items():
        print(f"{name:8s} at x = {x}: {value}")

    # Jacobian of y = 2x: 2 I, without looping autograd.grad over the rows.
    results["jacobian"] = s2sgrad.jacobian(double)(np.arange(3.0))
    print("Jacobian of 2x:\n", results["jacobian"])

    x0 = np.array([1.2, 1.0, 0.8])
    results["hessian"] = s2sgrad.hessian(rosen)(x0)
    print("Hessian of rosen at", x0, ":\n", results["hessian"])
    results["hvp"] = s2sgrad.hvp(rosen, (x0,), np.ones(3))     # H @ v without forming H
    print("Hessian @ ones:", results["hvp"])

    # Newton-CG only needs Hessian-vector products.
    fit = minimize(rosen, np.zeros(n), method="Newton-CG", jac=s2sgrad.grad(rosen),
                   hessp=lambda x, p: s2sgrad.hvp(rosen, (x,), p), options={"xtol": 1e-10})
    print(f"Newton-CG from 0 in {n} dimensions: x = {np.round(fit.x, 6)} after {fit.nit} iterations")
    results["newton_cg"] = fit
    return results


if __name__ == "__main__":
    results = main()
    assert results["dy/dx"] == 2.0 and results["d2y/dx2"] == 2.0 and results["dz/dx"] == 24.0
    assert np.allclose(results["jacobian"], 2.0 * np.eye(3))
    assert np.allclose(results["hessian"] @ np.ones(3), results["hvp"])
    assert results["newton_cg"].success and np.allclose(results["newton_cg"].x, 1.0, atol=1e-6)
