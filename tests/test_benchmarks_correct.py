"""The benchmarks' hand-written gradients are right: each equals s2sgrad's at tiny sizes (a ratio
against a wrong reference would mean nothing). Nothing is timed here; benchmarks/run.py times."""

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import workloads  # noqa: E402


@pytest.mark.parametrize("name", [w.name for w in workloads.WORKLOADS])
def test_hand_written_gradient_equals_s2sgrad_to_rtol_1e_9(name):
    w = workloads.get(name)
    args = w.make(np.random.default_rng(0), tiny=True)
    workloads.check(w, w.s2sgrad(), args)


def test_check_catches_a_wrong_hand_written_gradient():
    w = workloads.get("mlp")
    args = w.make(np.random.default_rng(0), tiny=True)
    wrong = workloads.Workload(w.name, w.title, w.fn, w.wrt,
                               lambda *a: (w.by_hand(*a)[0], tuple(g * 1.001 for g in w.by_hand(*a)[1])), w.make)
    with pytest.raises(AssertionError):
        workloads.check(wrong, w.s2sgrad(), args)


def test_hand_written_gradients_match_finite_differences_at_rtol_1e_6():
    # The reference itself against float64 central differences (step 1e-6), not only against s2sgrad.
    rng = np.random.default_rng(1)
    for name in ("scalar_loop", "rnn", "element_writes"):
        w = workloads.get(name)
        args = list(w.make(rng, tiny=True))
        value, grads = w.by_hand(*args)
        grads = grads if isinstance(grads, tuple) else (grads,)
        positions = w.wrt if isinstance(w.wrt, tuple) else (w.wrt,)
        for k, g in zip(positions, grads):
            x = np.asarray(args[k], dtype=float)
            fd = np.zeros(x.shape)
            for i in np.ndindex(x.shape):
                up, down = x.copy(), x.copy()
                up[i] += 1e-6
                down[i] -= 1e-6
                fd[i] = (w.fn(*_put(args, k, up)) - w.fn(*_put(args, k, down))) / 2e-6
            np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-7, err_msg=f"{name}: gradient {k}")


def _put(args, k, x):
    args = list(args)
    args[k] = float(x) if x.ndim == 0 else x
    return args
