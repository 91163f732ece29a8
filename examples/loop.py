"""A scalar loop, differentiated with respect to its starting point and its gain.

Run it:  python examples/loop.py
Show the generated derivative:  s2sgrad show examples/loop.py:f
"""

import math

import s2sgrad


@s2sgrad.differentiate(wrt=("x", "a"))
def f(x: float, a: float, n: int = 1000):
    for i in range(n):
        x = math.sin(x) * a + 0.1 * x
    return x


if __name__ == "__main__":
    value, (dx, da) = f.value_and_grad(0.5, 0.9)
    print(f"f(0.5, 0.9) = {value:.6f}   df/dx = {dx:.6f}   df/da = {da:.6f}")
