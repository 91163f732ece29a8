"""The benchmark workloads: each a function s2sgrad differentiates, a careful hand-written NumPy
gradient of it (the 1.00 of every ratio), its inputs, and, where written, the same function for
HIPS autograd, PyTorch and JAX.

A workload's `by_hand(*args)` returns `(value, grads)` as `s2sgrad.value_and_grad(fn, wrt)` does
(grads a tuple when `wrt` is a tuple), so the two are compared entry by entry (`check`). Inputs are
made by `make(rng, tiny)`: the issue's sizes, or tiny ones for the unit test that checks the
hand-written gradients (tests/test_benchmarks_correct.py; nothing is timed there).

Example:
    >>> import numpy as np
    >>> from benchmarks import workloads
    >>> w = workloads.get("mlp")
    >>> args = w.make(np.random.default_rng(0), tiny=True)
    >>> workloads.check(w, w.s2sgrad(), args)          # raises AssertionError when they differ

Timing lives in benchmarks/run.py; this module only defines what is measured.
"""

import math
import types
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import s2sgrad


@dataclass
class Workload:
    """One row of the benchmark table.

    fn, wrt: what s2sgrad differentiates (value_and_grad unless `build` says otherwise).
    by_hand: the hand-written value and gradient, same arguments, same result structure.
    make: (rng, tiny) -> the argument tuple.
    peers: peer name ("autograd", "torch", "jax") -> a function of the arguments returning a callable
        that computes value and gradient with that library (made once, outside the timing).
    build: () -> the s2sgrad callable, where it is not value_and_grad(fn, wrt) (an hvp).
    kept: (*args) -> the bytes the gradient must keep, for the saved-state figure (tracemalloc peak / kept).
    """
    name: str
    title: str
    fn: Callable
    wrt: int | tuple
    by_hand: Callable
    make: Callable
    build: Callable | None = None
    peers: dict = field(default_factory=dict)
    kept: Callable | None = None
    rtol: float = 1e-9

    def s2sgrad(self):
        """The s2sgrad callable measured for this workload."""
        return self.build() if self.build is not None else s2sgrad.value_and_grad(self.fn, wrt=self.wrt)


def check(workload, generated, args):
    """Assert that `generated(*args)` and the hand-written gradient agree (value and every gradient)."""
    v1, g1 = generated(*args)
    v2, g2 = workload.by_hand(*args)
    np.testing.assert_allclose(v1, v2, rtol=workload.rtol, atol=1e-12, err_msg=f"{workload.name}: value")
    g1 = g1 if isinstance(g1, tuple) else (g1,)
    g2 = g2 if isinstance(g2, tuple) else (g2,)
    assert len(g1) == len(g2), f"{workload.name}: {len(g1)} gradients, {len(g2)} by hand"
    for k, (a, b) in enumerate(zip(g1, g2)):
        assert np.shape(a) == np.shape(b), f"{workload.name}: gradient {k} has shape {np.shape(a)}, {np.shape(b)} by hand"
        np.testing.assert_allclose(a, b, rtol=workload.rtol, atol=1e-12, err_msg=f"{workload.name}: gradient {k}")


def _with_module(fn, **names):
    """`fn` with some of its globals rebound (np -> autograd.numpy): the same code for a peer that
    mirrors NumPy's API."""
    return types.FunctionType(fn.__code__, {**fn.__globals__, **names}, fn.__name__, fn.__defaults__)


def _autograd(fn, wrt, **names):
    """An autograd value-and-gradient of `fn` (NumPy code run with autograd.numpy)."""
    def make(*args):
        import autograd
        import autograd.numpy as anp
        return autograd.value_and_grad(_with_module(fn, np=anp, math=anp, **names), wrt)
    return make


def _jax(fn, wrt, static=()):
    """A jitted JAX value-and-gradient of `fn` (NumPy code run with jax.numpy); `static` the positions
    of arguments the code branches or loops on (a trip count)."""
    def make(*args):
        import jax
        import jax.numpy as jnp
        jax.config.update("jax_enable_x64", True)
        compiled = jax.jit(jax.value_and_grad(_with_module(fn, np=jnp, math=jnp), wrt), static_argnums=static)

        def run(*args):
            value, grads = compiled(*args)
            return jax.block_until_ready(value), jax.block_until_ready(grads)
        return run
    return make


def _torch(fn, wrt):
    """A PyTorch value-and-gradient of `fn` (written with torch functions) in the positions `wrt`."""
    def make(*args):
        import torch
        torch.set_num_threads(1)
        positions = wrt if isinstance(wrt, tuple) else (wrt,)
        held = [torch.from_numpy(np.array(a)) if isinstance(a, np.ndarray) else a for a in args]

        def run(*_):
            leaves = list(held)
            for k in positions:
                leaves[k] = (held[k].detach().requires_grad_() if isinstance(held[k], torch.Tensor)
                             else torch.tensor(float(held[k]), dtype=torch.float64, requires_grad=True))
            value = fn(*leaves)
            grads = torch.autograd.grad(value, [leaves[k] for k in positions])
            grads = tuple(g.numpy() for g in grads)
            return value.item(), (grads if isinstance(wrt, tuple) else grads[0])
        return run
    return make


# --- scalar loop: x = sin(x) * a + 0.1 * x, 1000 steps ---------------------------------------------

def scalar_loop(x, a, n=1000):
    for i in range(n):
        x = math.sin(x) * a + 0.1 * x
    return x


def scalar_loop_by_hand(x, a, n=1000):
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


def scalar_loop_torch(x, a, n=1000):
    import torch
    for i in range(n):
        x = torch.sin(x) * a + 0.1 * x
    return x


def _scalar_loop_args(rng, tiny):
    return (0.5, 0.9, 10 if tiny else 1000)


# --- MLP with softmax cross-entropy, one or two tanh layers ---------------------------------------

def mlp(W1, b1, W2, b2, X, Y):
    h = np.tanh(X @ W1 + b1)
    z = h @ W2 + b2
    m = np.max(z, axis=1, keepdims=True)
    lse = np.log(np.sum(np.exp(z - m), axis=1, keepdims=True)) + m
    return -np.mean(np.sum(Y * (z - lse), axis=1))


def _cross_entropy_by_hand(z, Y):
    """Value and dloss/dz of -mean(sum(Y * log_softmax(z), axis=1))."""
    m = np.max(z, axis=1, keepdims=True)
    e = np.exp(z - m)
    s = np.sum(e, axis=1, keepdims=True)
    lse = np.log(s) + m
    value = -np.mean(np.sum(Y * (z - lse), axis=1))
    dz = (e / s * np.sum(Y, axis=1, keepdims=True) - Y) / z.shape[0]
    return value, dz


def mlp_by_hand(W1, b1, W2, b2, X, Y):
    h = np.tanh(X @ W1 + b1)
    z = h @ W2 + b2
    value, dz = _cross_entropy_by_hand(z, Y)
    da = (dz @ W2.T) * (1.0 - h * h)
    return value, (X.T @ da, da.sum(axis=0), h.T @ dz, dz.sum(axis=0))


def mlp_torch(W1, b1, W2, b2, X, Y):
    import torch
    h = torch.tanh(X @ W1 + b1)
    z = h @ W2 + b2
    return -torch.mean(torch.sum(Y * torch.log_softmax(z, dim=1), dim=1))


def _mlp_args(sizes):
    def make(rng, tiny):
        n, d, k, c = (5, 7, 6, 3) if tiny else sizes
        X, W1, b1 = rng.normal(size=(n, d)), rng.normal(size=(d, k)) / math.sqrt(d), rng.normal(size=k) * 0.1
        W2, b2 = rng.normal(size=(k, c)) / math.sqrt(k), rng.normal(size=c) * 0.1
        Y = np.eye(c)[rng.integers(0, c, size=n)]
        return (W1, b1, W2, b2, X, Y)
    return make


def mlp2(W1, b1, W2, b2, W3, b3, X, Y):
    h1 = np.tanh(X @ W1 + b1)
    h2 = np.tanh(h1 @ W2 + b2)
    z = h2 @ W3 + b3
    m = np.max(z, axis=1, keepdims=True)
    lse = np.log(np.sum(np.exp(z - m), axis=1, keepdims=True)) + m
    return -np.mean(np.sum(Y * (z - lse), axis=1))


def mlp2_by_hand(W1, b1, W2, b2, W3, b3, X, Y):
    h1 = np.tanh(X @ W1 + b1)
    h2 = np.tanh(h1 @ W2 + b2)
    z = h2 @ W3 + b3
    value, dz = _cross_entropy_by_hand(z, Y)
    da2 = (dz @ W3.T) * (1.0 - h2 * h2)
    da1 = (da2 @ W2.T) * (1.0 - h1 * h1)
    return value, (X.T @ da1, da1.sum(axis=0), h1.T @ da2, da2.sum(axis=0), h2.T @ dz, dz.sum(axis=0))


def mlp2_torch(W1, b1, W2, b2, W3, b3, X, Y):
    import torch
    h1 = torch.tanh(X @ W1 + b1)
    h2 = torch.tanh(h1 @ W2 + b2)
    z = h2 @ W3 + b3
    return -torch.mean(torch.sum(Y * torch.log_softmax(z, dim=1), dim=1))


def _mlp2_args(rng, tiny):
    n, d, k, c = (5, 7, 6, 3) if tiny else (512, 784, 1024, 10)
    X = rng.normal(size=(n, d))
    W1, b1 = rng.normal(size=(d, k)) / math.sqrt(d), rng.normal(size=k) * 0.1
    W2, b2 = rng.normal(size=(k, k)) / math.sqrt(k), rng.normal(size=k) * 0.1
    W3, b3 = rng.normal(size=(k, c)) / math.sqrt(k), rng.normal(size=c) * 0.1
    Y = np.eye(c)[rng.integers(0, c, size=n)]
    return (W1, b1, W2, b2, W3, b3, X, Y)


# --- RNN over a batch: h = tanh(xs[t] @ U + h @ W + b) ---------------------------------------------

def rnn(W, U, b, h0, xs):
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ U + h @ W + b)
    return np.sum(h * h)


def rnn_by_hand(W, U, b, h0, xs):
    hs = [h0]
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ U + h @ W + b)
        hs.append(h)
    value = np.sum(h * h)
    dh = 2.0 * h
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b)
    for t in reversed(range(xs.shape[0])):
        h = hs[t + 1]
        dplus = dh * (1.0 - h * h)
        dW += hs[t].T @ dplus
        dU += xs[t].T @ dplus
        db += dplus.sum(axis=0)
        dh = dplus @ W.T
    return value, (dW, dU, db)


def rnn_torch(W, U, b, h0, xs):
    import torch
    h = h0
    for t in range(xs.shape[0]):
        h = torch.tanh(xs[t] @ U + h @ W + b)
    return torch.sum(h * h)


def _rnn_args(rng, tiny):
    T, B, D, H = (4, 3, 5, 6) if tiny else (50, 32, 64, 128)
    W, U = rng.normal(size=(H, H)) / math.sqrt(H), rng.normal(size=(D, H)) / math.sqrt(D)
    return (W, U, rng.normal(size=H) * 0.1, np.zeros((B, H)), rng.normal(size=(T, B, D)))


def _rnn_kept(W, U, b, h0, xs):
    """The bytes of the hidden states a reverse sweep must keep: one (batch, hidden) array per step."""
    return xs.shape[0] * h0.nbytes


# --- element writes: y[i] = sin(x[i]) * y[i-1] + x[i] ----------------------------------------------

def element_writes(x):
    n = x.shape[0]
    y = np.zeros(n)
    y[0] = x[0]
    for i in range(1, n):
        y[i] = np.sin(x[i]) * y[i - 1] + x[i]
    return np.sum(y)


def element_writes_by_hand(x):
    n = x.shape[0]
    y = np.empty(n)
    previous = y[0] = x[0]              # the last element written, kept in a local
    for i in range(1, n):
        previous = y[i] = np.sin(x[i]) * previous + x[i]
    value = np.sum(y)
    # The reverse recurrence is sequential in dy only; the sines and cosines are whole-array work.
    s, c = np.sin(x), np.cos(x)
    dy = np.ones(n)
    dx = np.empty(n)
    for i in range(n - 1, 0, -1):
        dx[i] = dy[i] * (c[i] * y[i - 1] + 1.0)
        dy[i - 1] += dy[i] * s[i]
    dx[0] = dy[0]
    return value, dx


def element_writes_jax(x):
    import jax
    import jax.numpy as jnp
    n = x.shape[0]

    def body(i, y):
        return y.at[i].set(jnp.sin(x[i]) * y[i - 1] + x[i])
    y = jax.lax.fori_loop(1, n, body, jnp.zeros(n).at[0].set(x[0]))
    return jnp.sum(y)


def element_writes_torch(x):
    import torch
    n = x.shape[0]
    ys = [x[0]]
    for i in range(1, n):                     # in-place writes into a leaf's copy would serialise the graph
        ys.append(torch.sin(x[i]) * ys[i - 1] + x[i])
    return torch.sum(torch.stack(ys))


def _element_args(rng, tiny):
    return (rng.normal(size=8 if tiny else 1000),)


# --- the earlier benchmarks (once bench_core.py and bench_numpy.py) ------------------------------

def layer(x, w):
    h = np.tanh(x * w)
    return np.sum(h * h + np.sin(x))


def layer_by_hand(x, w):
    h = np.tanh(x * w)
    value = np.sum(h * h + np.sin(x))
    dxw = 2.0 * h * (1.0 - h * h)
    return value, (dxw * w + np.cos(x), dxw * x)


def _layer_args(size):
    def make(rng, tiny):
        n = 4 if tiny else size
        return (rng.normal(size=n), rng.normal(size=n))
    return make


def rnn_vector(W, U, h0, X):
    h = h0
    for t in range(X.shape[0]):
        h = np.tanh(W @ h + U @ X[t])
    return np.sum(h * h)


def rnn_vector_by_hand(W, U, h0, X):
    hs = [h0]
    h = h0
    for t in range(X.shape[0]):
        h = np.tanh(W @ h + U @ X[t])
        hs.append(h)
    value = np.sum(h * h)
    dh = 2.0 * h
    dW, dU = np.zeros_like(W), np.zeros_like(U)
    for t in reversed(range(X.shape[0])):
        h = hs[t + 1]
        da = dh * (1.0 - h * h)
        dW += np.outer(da, hs[t])
        dU += np.outer(da, X[t])
        dh = W.T @ da
    return value, (dW, dU)


def _rnn_vector_args(rng, tiny):
    H, T, D = (5, 3, 4) if tiny else (32, 50, 8)
    return (rng.normal(size=(H, H)) * 0.2, rng.normal(size=(H, D)) * 0.2, np.zeros(H), rng.normal(size=(T, D)))


def prefix_products(x):
    y = np.zeros(x.shape[0])
    y[0] = x[0]
    for i in range(1, x.shape[0]):
        y[i] = y[i - 1] * 0.9 + x[i] * x[i]
    return np.sum(y)


def prefix_products_by_hand(x):
    n = x.shape[0]
    y = np.zeros(n)
    y[0] = x[0]
    for i in range(1, n):
        y[i] = y[i - 1] * 0.9 + x[i] * x[i]
    value = np.sum(y)
    dy = np.ones(n)
    dx = 2.0 * x
    for i in range(n - 1, 0, -1):
        dx[i] *= dy[i]
        dy[i - 1] += dy[i] * 0.9
    dx[0] = dy[0]
    return value, dx


A_HVP = np.random.default_rng(1).normal(size=(200, 100)) * 0.1


def energy(x):
    return np.sum(np.tanh(A_HVP @ x) ** 2)


def energy_hvp_by_hand(x, v):
    t = np.tanh(A_HVP @ x)
    return energy(x), A_HVP.T @ ((2.0 - 6.0 * t * t) * (1.0 - t * t) * (A_HVP @ v))


def _energy_hvp():
    return lambda x, v: (energy(x), s2sgrad.hvp(energy, (x,), v))


def _energy_args(rng, tiny):
    return (rng.normal(size=100), rng.normal(size=100))


WORKLOADS = [
    Workload("scalar_loop", "scalar loop x = sin(x)*a + 0.1*x, 1000 steps", scalar_loop, (0, 1),
             scalar_loop_by_hand, _scalar_loop_args,
             peers={"autograd": _autograd(scalar_loop, (0, 1)), "torch": _torch(scalar_loop_torch, (0, 1)),
                    "jax": _jax(scalar_loop, (0, 1), static=(2,))}),
    Workload("mlp", "MLP 64x784->256->10, softmax cross-entropy", mlp, (0, 1, 2, 3), mlp_by_hand,
             _mlp_args((64, 784, 256, 10)),
             peers={"autograd": _autograd(mlp, (0, 1, 2, 3)), "torch": _torch(mlp_torch, (0, 1, 2, 3)),
                    "jax": _jax(mlp, (0, 1, 2, 3))}),
    Workload("rnn", "RNN T=50, batch 32, hidden 128", rnn, (0, 1, 2), rnn_by_hand, _rnn_args,
             peers={"autograd": _autograd(rnn, (0, 1, 2)), "torch": _torch(rnn_torch, (0, 1, 2)),
                    "jax": _jax(rnn, (0, 1, 2))},
             kept=_rnn_kept),
    Workload("element_writes", "element writes y[i] = sin(x[i])*y[i-1] + x[i], n=1000", element_writes, 0,
             element_writes_by_hand, _element_args,
             peers={"torch": _torch(element_writes_torch, 0), "jax": _jax(element_writes_jax, 0)}),
    Workload("mlp_large", "MLP 512x784->1024->1024->10", mlp2, (0, 1, 2, 3, 4, 5), mlp2_by_hand, _mlp2_args,
             peers={"autograd": _autograd(mlp2, (0, 1, 2, 3, 4, 5)), "torch": _torch(mlp2_torch, (0, 1, 2, 3, 4, 5)),
                    "jax": _jax(mlp2, (0, 1, 2, 3, 4, 5))}),
    Workload("layer_10", "array layer tanh(x*w), size 10", layer, (0, 1), layer_by_hand, _layer_args(10),
             peers={"autograd": _autograd(layer, (0, 1))}),
    Workload("layer_10000", "array layer tanh(x*w), size 10000", layer, (0, 1), layer_by_hand, _layer_args(10_000),
             peers={"autograd": _autograd(layer, (0, 1))}),
    Workload("mlp_tiny", "MLP 16x4->8->3, softmax cross-entropy", mlp, (0, 1, 2, 3), mlp_by_hand,
             _mlp_args((16, 4, 8, 3)), peers={"autograd": _autograd(mlp, (0, 1, 2, 3))}),
    Workload("mlp_medium", "MLP 512x64->128->10, softmax cross-entropy", mlp, (0, 1, 2, 3), mlp_by_hand,
             _mlp_args((512, 64, 128, 10)), peers={"autograd": _autograd(mlp, (0, 1, 2, 3))}),
    Workload("rnn_vector", "RNN on vectors, T=50, hidden 32", rnn_vector, (0, 1), rnn_vector_by_hand,
             _rnn_vector_args, peers={"autograd": _autograd(rnn_vector, (0, 1))}),
    Workload("prefix_products", "element writes y[i] = 0.9*y[i-1] + x[i]**2, n=1000", prefix_products, 0,
             prefix_products_by_hand, _element_args),
    Workload("hvp", "Hessian-vector product, tanh energy 200x100", energy, 0, energy_hvp_by_hand,
             _energy_args, build=_energy_hvp),
]

BY_NAME = {w.name: w for w in WORKLOADS}


def get(name):
    """The workload called `name` (see WORKLOADS)."""
    return BY_NAME[name]
