"""Generated gradients against hand-written ones, in one process. Prints time ratios.

Run:  python benchmarks/bench_core.py
A ratio of 1.00 means as fast as the hand-written gradient; timing lives here, not in tests.
"""

import math
import timeit

import numpy as np

import s2sgrad


def loop(x, a, n=1000):
    for i in range(n):
        x = math.sin(x) * a + 0.1 * x
    return x


def loop_by_hand(x, a, n=1000):
    xs = []
    for i in range(n):
        xs.append(x)
        x = math.sin(x) * a + 0.1 * x
    value = x
    dx, da = 1.0, 0.0
    for x in reversed(xs):
        da += dx * math.sin(x)
        dx = dx * (math.cos(x) * a + 0.1)
    return value, (dx, da)


def layer(x, w):
    h = np.tanh(x * w)
    return np.sum(h * h + np.sin(x))


def layer_by_hand(x, w):
    xw = x * w
    h = np.tanh(xw)
    value = np.sum(h * h + np.sin(x))
    dh = 2.0 * h
    dxw = dh * (1.0 - h * h)
    return value, (dxw * w + np.cos(x), dxw * x)


def bench(name, generated, by_hand, args, number):
    v1, g1 = generated(*args)
    v2, g2 = by_hand(*args)
    np.testing.assert_allclose(v1, v2, rtol=1e-12)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a, b, rtol=1e-9)
    t_gen = min(timeit.repeat(lambda: generated(*args), number=number, repeat=5))
    t_hand = min(timeit.repeat(lambda: by_hand(*args), number=number, repeat=5))
    print(f"{name:28s} generated {t_gen / number * 1e6:9.1f} us   by hand {t_hand / number * 1e6:9.1f} us"
          f"   ratio {t_gen / t_hand:5.2f}")


def main():
    vg = s2sgrad.value_and_grad(loop, wrt=(0, 1))
    bench("scalar loop, n=1000", vg, loop_by_hand, (0.5, 0.9), 20)
    rng = np.random.default_rng(0)
    for size in (10, 10_000):
        x, w = rng.normal(size=size), rng.normal(size=size)
        bench(f"array layer, size={size}", s2sgrad.value_and_grad(layer, wrt=(0, 1)), layer_by_hand, (x, w), 200)
    start = timeit.default_timer()
    s2sgrad.grad(loop_for_first_call, wrt=(0, 1))(0.5, 0.9)
    print(f"first call of grad (compile + run) on a 20-line function: "
          f"{(timeit.default_timer() - start) * 1e3:.1f} ms")


def loop_for_first_call(x, y, n=10):
    s = 0.0
    for i in range(n):
        if x > y:
            t = math.sin(x) * y
        else:
            t = math.cos(y) * x
        s = s + t * t
        k = 0
        while s > 10.0 and k < 5:
            s = s * 0.5
            k = k + 1
        if s < 0.01:
            break
        x = x * 0.9 + 0.1 * math.tanh(s)
        y = y + 0.01 * x
        u, v = x, y
        x, y = v, u
    return s + x * y


if __name__ == "__main__":
    main()
