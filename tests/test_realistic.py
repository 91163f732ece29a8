"""Realistic programs written the way a NumPy user writes them, each checked against float64 central
differences with `check_grad` (rtol 1e-5 unless stated) and, where one is short, a hand-derived gradient.

A test marked xfail(strict=True) fails today only because the compiler lacks the feature named in
its reason; it turns into a failure the day the feature lands, and must then be un-marked.
"""

import numpy as np
import pytest

import s2sgrad

RTOL = 1e-5

MEAN = "np.mean / x.mean() gradient rule"
MAX_AXIS = "np.max / x.max(axis=1, keepdims=True) gradient rule"
SUM_AXIS = "np.sum / x.sum(axis=..., keepdims=...) gradient rule"
TRANSPOSE = "x.T (np.transpose) gradient rule"
ARRAY = "np.array([...]) built from differentiated values"


def pending(*features):
    """xfail for a missing feature only: any other failure (a wrong gradient included) still fails."""
    return pytest.mark.xfail(reason=" and ".join(features) + " pending", strict=True,
                             raises=(s2sgrad.NoGradientRuleError, s2sgrad.UnsupportedSyntaxError))


# ---------------------------------------------------------------------------------------------
# Logistic regression: weights and bias, sigmoid, mean log-loss
# ---------------------------------------------------------------------------------------------

def logistic_loss(w, b, X, y):
    z = X @ w + b
    p = 1.0 / (1.0 + np.exp(-z))
    return -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))


def logistic_data():
    rng = np.random.default_rng(10)
    X = rng.normal(size=(8, 3))
    y = (rng.uniform(size=8) < 0.5).astype(float)
    return rng.normal(size=3) * 0.5, 0.1, X, y


def test_logistic_regression_gradient_matches_finite_differences_and_the_textbook_formula():
    w, b, X, y = logistic_data()
    assert s2sgrad.check_grad(logistic_loss, w, b, X, y, wrt=("w", "b"), rtol=RTOL)
    dw, db = s2sgrad.grad(logistic_loss, wrt=("w", "b"))(w, b, X, y)
    p = 1.0 / (1.0 + np.exp(-(X @ w + b)))
    np.testing.assert_allclose(dw, X.T @ (p - y) / len(y), rtol=1e-12)
    assert db == pytest.approx(np.mean(p - y), rel=1e-12)


# ---------------------------------------------------------------------------------------------
# Two-layer MLP with softmax cross-entropy (logsumexp shifted by the row maximum)
# ---------------------------------------------------------------------------------------------

def mlp_cross_entropy(W1, b1, W2, b2, X, Y):
    H = np.tanh(X @ W1 + b1)
    z = H @ W2 + b2
    m = np.max(z, axis=1, keepdims=True)
    logsumexp = m + np.log(np.sum(np.exp(z - m), axis=1, keepdims=True))
    return -np.mean(np.sum(Y * (z - logsumexp), axis=1))


def mlp_cross_entropy_methods(W1, b1, W2, b2, X, Y):
    H = np.tanh(X @ W1 + b1)
    z = H @ W2 + b2
    m = z.max(axis=1, keepdims=True)
    log_probs = z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))
    return -(Y * log_probs).sum(axis=1).mean()


def mlp_data():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(6, 4))
    Y = np.eye(3)[rng.integers(0, 3, size=6)]
    params = (rng.normal(size=(4, 5)) * 0.5, rng.normal(size=5) * 0.1,
              rng.normal(size=(5, 3)) * 0.5, rng.normal(size=3) * 0.1)
    return params, X, Y


def mlp_hand_gradient(W1, b1, W2, b2, X, Y):
    H = np.tanh(X @ W1 + b1)
    z = H @ W2 + b2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    dz = (e / e.sum(axis=1, keepdims=True) - Y) / len(X)
    dH = dz @ W2.T * (1.0 - H * H)
    return X.T @ dH, dH.sum(axis=0), H.T @ dz, dz.sum(axis=0)


@pytest.mark.parametrize("loss", [mlp_cross_entropy, mlp_cross_entropy_methods], ids=["functions", "methods"])
def test_mlp_softmax_cross_entropy_gradient_matches_finite_differences_and_backprop(loss):
    (W1, b1, W2, b2), X, Y = mlp_data()
    assert s2sgrad.check_grad(loss, W1, b1, W2, b2, X, Y, wrt=(0, 1, 2, 3), rtol=RTOL)
    grads = s2sgrad.grad(loss, wrt=(0, 1, 2, 3))(W1, b1, W2, b2, X, Y)
    for g, expected in zip(grads, mlp_hand_gradient(W1, b1, W2, b2, X, Y)):
        np.testing.assert_allclose(g, expected, rtol=1e-10, atol=1e-14)


# ---------------------------------------------------------------------------------------------
# A recurrent network over time steps
# ---------------------------------------------------------------------------------------------

def rnn_loss(W, U, h, X, T):
    for t in range(T):
        h = np.tanh(W @ h + U @ X[t])
    return np.sum(h * h)


def rnn_hand_gradient(W, U, h0, X, T):
    """Backpropagation through time, written out."""
    hs = [h0]
    for t in range(T):
        hs.append(np.tanh(W @ hs[-1] + U @ X[t]))
    dW, dU, dh = np.zeros_like(W), np.zeros_like(U), 2.0 * hs[-1]
    for t in reversed(range(T)):
        da = dh * (1.0 - hs[t + 1] ** 2)
        dW += np.outer(da, hs[t])
        dU += np.outer(da, X[t])
        dh = W.T @ da
    return dW, dU, dh


def test_rnn_over_time_steps_gradient_matches_finite_differences_and_backprop_through_time():
    rng = np.random.default_rng(12)
    T = 7
    W, U = rng.normal(size=(4, 4)) * 0.5, rng.normal(size=(4, 3)) * 0.5
    h0, X = rng.normal(size=4), rng.normal(size=(T, 3))
    assert s2sgrad.check_grad(rnn_loss, W, U, h0, X, T, wrt=("W", "U", "h", "X"), rtol=RTOL)
    grads = s2sgrad.grad(rnn_loss, wrt=("W", "U", "h"))(W, U, h0, X, T)
    for g, expected in zip(grads, rnn_hand_gradient(W, U, h0, X, T)):
        np.testing.assert_allclose(g, expected, rtol=1e-10, atol=1e-14)
    before = X.copy()
    s2sgrad.grad(rnn_loss, wrt="X")(W, U, h0, X, T)
    np.testing.assert_array_equal(X, before)


# ---------------------------------------------------------------------------------------------
# Polynomial evaluation by Horner's rule over a coefficient array
# ---------------------------------------------------------------------------------------------

def horner(c, x):
    n = len(c)
    acc = 0.0
    for i in range(n):
        acc = acc * x + c[i]
    return acc


def horner_sum_over_points(c, xs):
    return np.sum(horner(c, xs))


def test_horner_gradient_is_the_powers_of_x_and_the_derivative_polynomial():
    c = np.array([0.5, -1.0, 2.0, 0.25, -3.0])           # highest power first, as np.polyval
    x = 0.7
    assert horner(c, x) == pytest.approx(np.polyval(c, x), rel=1e-14)
    assert s2sgrad.check_grad(horner, c, x, wrt=(0, 1), rtol=RTOL)
    dc, dx = s2sgrad.grad(horner, wrt=(0, 1))(c, x)
    np.testing.assert_allclose(dc, x ** np.arange(len(c) - 1, -1, -1), rtol=1e-13)
    assert dx == pytest.approx(np.polyval(np.polyder(c), x), rel=1e-13)


def test_horner_at_many_points_through_a_helper():
    c = np.array([1.0, 0.0, -2.0, 0.5])
    xs = np.linspace(-1.5, 1.5, 7)
    assert s2sgrad.check_grad(horner_sum_over_points, c, xs, wrt=(0, 1), rtol=RTOL)
    dc, dxs = s2sgrad.grad(horner_sum_over_points, wrt=(0, 1))(c, xs)
    np.testing.assert_allclose(dxs, np.polyval(np.polyder(c), xs), rtol=1e-13)
    np.testing.assert_allclose(dc, [np.sum(xs ** k) for k in (3, 2, 1, 0)], rtol=1e-13)


# ---------------------------------------------------------------------------------------------
# Explicit Euler integration of a damped oscillator
# ---------------------------------------------------------------------------------------------

def euler_linear(state, A, dt, steps):
    for _ in range(steps):
        state = state + dt * (A @ state)
    return 0.5 * np.sum(state * state)


def euler_oscillator(state, k, c, dt, steps):
    for _ in range(steps):
        x, v = state[0], state[1]
        state = state + dt * np.array([v, -k * x - c * v])
    return state[0] ** 2 + state[1] ** 2


def oscillator_matrix(k, c):
    return np.array([[0.0, 1.0], [-k, -c]])


def test_euler_integration_of_a_damped_oscillator_matches_the_propagator_transpose():
    state0, A, dt, steps = np.array([1.0, 0.0]), oscillator_matrix(4.0, 0.3), 0.01, 300
    assert s2sgrad.check_grad(euler_linear, state0, A, dt, steps, wrt=("state", "A"), rtol=RTOL)
    # the final state is M^steps state0 with M = I + dt A, so d/dstate0 of |s|^2 / 2 is (M^steps)^T s
    power = np.linalg.matrix_power(np.eye(2) + dt * A, steps)
    final = power @ state0
    np.testing.assert_allclose(s2sgrad.grad(euler_linear)(state0, A, dt, steps), power.T @ final, rtol=1e-11)


def test_euler_oscillator_gradient_with_respect_to_stiffness_and_damping():
    state0, dt, steps = np.array([1.0, 0.0]), 0.01, 300
    assert s2sgrad.check_grad(euler_oscillator, state0, 4.0, 0.3, dt, steps, wrt=("state", "k", "c"), rtol=RTOL)
    np.testing.assert_allclose(s2sgrad.grad(euler_oscillator, wrt="state")(state0, 4.0, 0.3, dt, steps),
                               2.0 * s2sgrad.grad(euler_linear)(state0, oscillator_matrix(4.0, 0.3), dt, steps),
                               rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# Training loops with value_and_grad (SEED idioms 19 and 20)
# ---------------------------------------------------------------------------------------------

def linear_mse(W, b, X, Y):                    # nn.Linear(2, 1): W is (out, in)
    return np.mean((X @ W.T + b - Y) ** 2)


def test_sgd_on_a_linear_model_decreases_the_loss_every_step():
    X, Y = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.0], [1.0]])
    W, b = np.array([[0.3, -0.2]]), np.array([0.1])
    assert s2sgrad.check_grad(linear_mse, W, b, X, Y, wrt=(0, 1), rtol=RTOL)
    step = s2sgrad.value_and_grad(linear_mse, wrt=("W", "b"))
    losses = []
    for _ in range(20):
        loss, (dW, db) = step(W, b, X, Y)
        W, b = W - 0.01 * dW, b - 0.01 * db
        losses.append(loss)
    assert all(later < earlier for earlier, later in zip(losses, losses[1:]))
    err = X @ W.T + b - Y                       # the hand-derived gradient at the last point
    dW, db = s2sgrad.grad(linear_mse, wrt=("W", "b"))(W, b, X, Y)
    np.testing.assert_allclose(dW, 2.0 * err.T @ X / len(X), rtol=1e-12)
    np.testing.assert_allclose(db, 2.0 * err.sum(axis=0) / len(X), rtol=1e-12)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def xor_mse(W1, b1, W2, b2, X, Y):             # 2 -> 2 -> 1 with sigmoids
    hidden = sigmoid(X @ W1 + b1)
    out = sigmoid(hidden @ W2 + b2)
    return ((out - Y) ** 2).mean()


def test_sgd_on_a_small_sigmoid_network_decreases_the_loss_on_xor_data():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    Y = np.array([[0.0], [1.0], [1.0], [0.0]])
    rng = np.random.default_rng(13)
    params = [rng.normal(size=(2, 2)), np.zeros(2), rng.normal(size=(2, 1)), np.zeros(1)]
    assert s2sgrad.check_grad(xor_mse, *params, X, Y, wrt=(0, 1, 2, 3), rtol=RTOL)
    step = s2sgrad.value_and_grad(xor_mse, wrt=(0, 1, 2, 3))
    losses = []
    for _ in range(200):
        loss, grads = step(*params, X, Y)
        params = [p - 0.5 * g for p, g in zip(params, grads)]
        losses.append(loss)
    assert all(later <= earlier for earlier, later in zip(losses, losses[1:]))
    assert losses[-1] < losses[0]


# ---------------------------------------------------------------------------------------------
# An RNN whose parameters are a dict: hidden states appended to a list, outputs stacked
# ---------------------------------------------------------------------------------------------

def dict_rnn_loss(params, xs, targets):
    T, B, _ = xs.shape
    h = np.zeros((B, params["Wh"].shape[0]))
    hs = []
    for t in range(T):
        h = np.tanh(xs[t] @ params["Wx"] + h @ params["Wh"] + params["b"])
        hs.append(h)
    ys = np.stack([h @ params["Wy"] for h in hs])
    return np.mean((ys - targets) ** 2)


def dict_rnn_setup():
    rng = np.random.default_rng(21)
    T, B, D, H = 6, 4, 3, 5
    params = {"Wx": 0.4 * rng.normal(size=(D, H)), "Wh": 0.3 * rng.normal(size=(H, H)), "b": np.zeros(H),
              "Wy": 0.4 * rng.normal(size=(H, 1))}
    xs = rng.normal(size=(T, B, D))
    targets = np.sin(np.cumsum(xs[:, :, :1], axis=0))
    return params, xs, targets


def test_an_rnn_with_dict_params_and_appended_states_matches_finite_differences_and_trains():
    params, xs, targets = dict_rnn_setup()
    original, before = params, {k: v.copy() for k, v in params.items()}
    assert s2sgrad.check_grad(dict_rnn_loss, params, xs, targets, rtol=RTOL)
    assert s2sgrad.check_grad(dict_rnn_loss, params, xs, targets, wrt=1, rtol=RTOL)
    loss_and_grad = s2sgrad.value_and_grad(dict_rnn_loss)
    losses = []
    for _ in range(60):
        loss, grads = loss_and_grad(params, xs, targets)
        assert set(grads) == set(params)
        params = {k: params[k] - 0.5 * grads[k] for k in params}
        losses.append(loss)
    assert losses[-1] < 0.1 * losses[0]             # measured: 0.467 -> 0.0186 in 60 steps
    for k, v in original.items():
        np.testing.assert_array_equal(before[k], v)  # the caller's arrays were never written
