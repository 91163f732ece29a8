"""Representative functions whose generated code is pinned in tests/snapshots/.

Each entry of CASES is (snapshot name, function, wrt), or (snapshot name, function, wrt, mode)
for a mode other than "reverse". Parameters annotated `float` get the scalar code a user sees
when calling with Python floats.
"""

import math

import numpy as np


def straight_line(x: float, y: float):
    z = x * y + math.sin(x) / y
    return z * z


def if_else(x: float):
    if x > 0.0:
        y = x * x
    else:
        y = -3.0 * x
    return y * x


def for_loop(x: float, a: float, n: int = 1000):
    for i in range(n):
        x = math.sin(x) * a + 0.1 * x
    return x


def while_computed(x: float):
    while x > 0.1:
        x = x * 0.5 + 0.01 * x * x
    return x


def break_loop(x: float, n: int):
    s = 0.0
    for i in range(n):
        s = s + x * i
        if s > 5.0:
            break
        s = s * 1.1
    return s


def continue_loop(x: float, n: int):
    s = 0.0
    for i in range(n):
        if i % 2 == 0:
            continue
        s = s + math.sin(x * i)
    return s


def early_return(x: float):
    if x > 1.0:
        return x * x
    y = math.exp(x)
    for i in range(3):
        y = y * x
        if y > 100.0:
            return y
    return y + 1.0


def nested_loops(x: float, n: int, m: int):
    s = x
    for i in range(n):
        for j in range(m):
            s = s * 0.9 + math.cos(s) * x
    return s


def poly(u: float, k: float = 2.0):
    return u ** k + u


def helper_call(x: float, y: float):
    a = poly(x)
    b = poly(y, k=3.0)
    return a * b + poly(x * y)


def math_functions(x: float, y: float):
    t = math.tan(x) + math.atan2(x, y) + math.log(y, 3.0) + math.sqrt(y)
    return t * math.exp(-x) + math.hypot(x, y)


def array_function(x, w):
    h = np.tanh(x * w)
    return np.sum(h * h + np.sin(x))


def tuple_unpacking(x: float, y: float):
    a, b = x, y
    for i in range(3):
        a, b = b, a * b
    return a + b


def forward_loop(x: float, a: float, n: int = 10):
    s = 0.0
    for i in range(n):
        x = math.sin(x) * a + 0.1 * x
        if x > 0.5:
            s = s + poly(x, k=3.0)
    return s * x


def inplace_loop(x, w):
    y = np.zeros(len(x))
    for i in range(len(x)):
        y[i] = x[i] * w[i]
        if i > 0:
            y[i] += y[i - 1] * 0.5
    return np.sum(y * y)


def mlp_loss(x, W1, b1, W2, b2, target):
    h = np.tanh(W1 @ x + b1)
    out = W2 @ h + b2
    return np.sum((out - target) ** 2)


def second_order(x, w):
    h = np.tanh(x * w)
    s = 0.0
    for i in range(3):
        s = s + np.sum(h * x)
    return s


def two_outputs(x, a: float):
    y = np.sin(x) * a
    return y, np.sum(y * x)


def closure_in_a_loop(x: float, n: int):
    def step(v):
        return math.sin(v) * a + 0.1 * v
    a = x * 0.5
    y = x
    for i in range(n):
        y = step(y)
    return y


LAMBDA = lambda x, w: np.sum(np.tanh(x) * w)  # noqa: E731


class Linear:
    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        return np.tanh(self.W @ x + self.b)


LAYER = Linear(np.ones((2, 2)), np.zeros(2))


def method_call(x):
    return np.sum(LAYER.forward(x) ** 2)


def sums_and_extremes(x: float, y: float):
    return sum([x, y * y, 3.0]) + max(x, y, 0.5) * min([x, y])


def sum_of_a_list(ws: list, lam: float):
    total = sum(ws)
    return lam * np.sum(total * total) + max(ws[0])


def pairs_mlp(params: list, x, y):
    h = x
    for W, b in params:
        h = np.tanh(W @ h + b)
    penalty = sum([np.sum(W ** 2) for W, b in params])
    return np.sum((h - y) ** 2) + 1e-3 * penalty


def rnn_dict_params(params: dict, xs):
    h = np.zeros(params["U"].shape[0])
    hs = []
    for x in xs:
        h = np.tanh(params["U"] @ h + params["W"] * x)
        hs.append(h)
    return np.sum(np.stack(hs) ** 2)


def log_likelihood(X, w, sigma: float):
    n, d = X.shape
    r = X @ w
    return -0.5 * np.sum(r ** 2) / sigma ** 2 - n * math.log(sigma)


def make_scaler(a: float):
    s = math.sin(a)
    def scale(x):
        return x * s + a
    return scale


def factory_closure(a: float, x: float):
    g = make_scaler(a)
    return g(x) * g(2.0)


def polynomial(x: float, *coefficients):
    y = 0.0
    for c in coefficients:
        y = y * x + c
    return y


def star_arguments(x: float, *args, **kw):
    return polynomial(x, *args) * kw["scale"] + polynomial(x, 1.0, kw["shift"])


import s2sgrad  # noqa: E402  (here, not at the top: the snapshots print their cases' line numbers)


@s2sgrad.custom_vjp
def soft_clip(x):
    return np.tanh(x)


@soft_clip.defvjp
def soft_clip_vjp(g, ans, x):
    slope = 1.0 - ans * ans          # tanh' from the output, as a tape would keep it
    return np.clip(g * slope, -1.0, 1.0)


def custom_rule(W, x):
    return np.sum(soft_clip(W @ x) ** 2)


CASES = [
    ("straight_line", straight_line, (0, 1)),
    ("if_else", if_else, 0),
    ("for_loop", for_loop, ("x", "a")),
    ("while_computed", while_computed, 0),
    ("break_loop", break_loop, 0),
    ("continue_loop", continue_loop, 0),
    ("early_return", early_return, 0),
    ("nested_loops", nested_loops, 0),
    ("helper_call", helper_call, (0, 1)),
    ("math_functions", math_functions, (0, 1)),
    ("array_function", array_function, (0, 1)),
    ("tuple_unpacking", tuple_unpacking, (0, 1)),
    ("forward_loop", forward_loop, ("x", "a"), "forward"),
    ("inplace_loop", inplace_loop, (0, 1)),
    ("mlp_loss", mlp_loss, ("W1", "b1", "W2", "b2")),
    ("second_order", second_order, 0, "hvp"),
    ("vjp_split", two_outputs, (0, 1), "vjp"),
    ("closure", closure_in_a_loop, 0),
    ("lambda", LAMBDA, (0, 1)),
    ("method_call", method_call, 0),
    ("builtin_sequences", sums_and_extremes, (0, 1)),
    ("sum_of_a_list", sum_of_a_list, (0, 1)),
    ("pairs_mlp", pairs_mlp, 0),
    ("rnn_dict_params", rnn_dict_params, 0),
    ("shape_unpacking", log_likelihood, (1, 2)),
    ("factory_closure", factory_closure, (0, 1)),
    ("star_arguments", star_arguments, ("args", "kw")),
    ("star_arguments_forward", star_arguments, ("x", "kw"), "forward"),
    ("custom_rule", custom_rule, 0),
]
