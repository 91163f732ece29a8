"""Data-dependent control flow: a while loop that runs until convergence, and an if on the input.

In PyTorch the tape records whichever branch and however many iterations ran. s2sgrad generates code
that does the same explicitly: the forward sweep pushes each branch taken and the loop's trip count on
a plain-list stack, and the reverse sweep pops them to run the control flow backwards. The generated
code is printed below.

Run it:  python examples/control_flow.py
Show the generated derivative:  s2sgrad show examples/control_flow.py:sqrt_newton
"""

import math

import s2sgrad


def sqrt_newton(a: float, tol: float = 1e-12):
    """sqrt(a) by Newton's iteration, run until it has converged (how many steps depends on a)."""
    if a > 1.0:
        y = a
    else:
        y = 1.0
    while abs(y * y - a) > tol * a:
        y = 0.5 * (y + a / y)
    return y


def main(points=(0.25, 2.0, 9.0, 1e4), show=True):
    """Compare the gradient through the iterations with 1 / (2 sqrt(a)); returns [(a, grad, exact)]."""
    dsqrt = s2sgrad.grad(sqrt_newton)
    rows = []
    for a in points:
        rows.append((a, dsqrt(a), 0.5 / math.sqrt(a)))
        print(f"a = {a:8g}   d sqrt_newton/da = {rows[-1][1]:.12f}   1/(2 sqrt a) = {rows[-1][2]:.12f}")
    if show:
        print("\nThe generated gradient (s2sgrad show examples/control_flow.py:sqrt_newton):\n")
        print(s2sgrad.source(sqrt_newton))
    return rows


if __name__ == "__main__":
    for a, derivative, exact in main():
        assert abs(derivative - exact) <= 1e-9 * exact, (a, derivative, exact)
