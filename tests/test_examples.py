"""Every script in examples/ runs, and what each one computes is right: small sizes, checked against
finite differences (check_grad: float64 central differences) or against values worked out by hand
(the SEED_IDIOMS table's: dz/dx = 24 at x = 1, a float16 gradient [2, 2, 2], a Jacobian 2 I)."""

import ast
import importlib.util
import os
import pathlib
import runpy
import subprocess
import sys

import numpy as np
import pytest

import s2sgrad

ROOT = pathlib.Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def run_example(path, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, str(path)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def example(name):
    """The example module examples/<name>.py, imported under its own name (its functions have source)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_script_runs_and_passes_its_own_checks(path, tmp_path):
    # Run from a scratch directory: physics.py saves its plot into the current directory.
    result = run_example(path, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_loop_example_gradient_matches_finite_differences():
    module = runpy.run_path(str(ROOT / "examples" / "loop.py"))
    f = module["f"]
    eps = 1e-6
    dx, da = f.grad(0.5, 0.9)
    assert abs(dx - (f(0.5 + eps, 0.9) - f(0.5 - eps, 0.9)) / (2 * eps)) < 1e-6
    assert abs(da - (f(0.5, 0.9 + eps) - f(0.5, 0.9 - eps)) / (2 * eps)) < 1e-5


def test_readme_shows_what_s2sgrad_show_prints_for_the_example():
    readme = (ROOT / "README.md").read_text()
    marker = "What `s2sgrad show examples/loop.py:f` prints:\n\n```python\n"
    start = readme.index(marker) + len(marker)
    shown = readme[start:readme.index("```", start)]
    module = runpy.run_path(str(ROOT / "examples" / "loop.py"))
    assert shown == s2sgrad.source(module["f"], wrt=("x", "a"))


def test_linear_regression_recovers_the_true_weights_by_sgd():
    ex = example("linear_regression")
    X, y = ex.make_data(50)
    assert s2sgrad.check_grad(ex.mse, np.ones(3), 0.5, X, y, wrt=("w", "b"), rtol=1e-6, atol=1e-8)
    losses, w, b = ex.main(steps=150, n=50)
    assert all(later <= earlier for earlier, later in zip(losses, losses[1:]))
    assert np.allclose(w, ex.TRUE_W, atol=0.1) and abs(b - ex.TRUE_B) < 0.1      # noise 0.1, 50 points


def test_two_layer_net_prints_the_loss_every_500_epochs_and_the_first_layers_gradient(capsys):
    ex = example("two_layer_net")
    assert s2sgrad.check_grad(ex.loss, ex.init(), ex.X, ex.Y, rtol=1e-6, atol=1e-9)
    losses, params, grads = ex.main(epochs=1500)
    out = capsys.readouterr().out
    assert [line.split()[1] for line in out.splitlines() if line.startswith("epoch")] == ["0", "500", "1000"]
    assert "dloss/dW1" in out and grads["W1"].shape == (2, 2)
    # Past the 0.25 plateau (predicting 0.5 everywhere) and onto the XOR solution.
    assert losses[-1] < 0.01 < 0.24 < losses[0]
    assert np.array_equal(ex.forward(params, ex.X) > 0.5, ex.Y > 0.5)


def test_optimizers_clip_by_norm_keeps_the_direction_and_both_optimisers_train():
    ex = example("optimizers")
    g = np.array([3.0, 4.0])
    assert np.allclose(ex.clip_by_norm(g, 1.0), [0.6, 0.8]) and ex.clip_by_norm(g, 10.0) is g
    X, y = ex.make_data(16)
    assert s2sgrad.check_grad(ex.loss, ex.init(hidden=4), X, y, rtol=1e-6, atol=1e-9)
    results = ex.main(steps=150, n=32, hidden=8)
    assert set(results) == {"sgd+momentum", "adam"}
    for start, final in results.values():
        assert final < start / 5


def test_higher_order_gives_the_seed_values_and_newton_cg_converges():
    ex = example("higher_order")
    results = ex.main(n=3)
    assert results["dy/dx"] == 2.0 and results["d2y/dx2"] == 2.0
    assert results["dz/dx"] == 24.0                   # 24 x^2 at x = 1; the tutorial's 12 is wrong
    assert np.array_equal(results["jacobian"], 2.0 * np.eye(3))
    # The Hessian against central differences of the gradient, and H @ ones against hvp.
    x0, eps = np.array([1.2, 1.0, 0.8]), 1e-6
    grad = s2sgrad.grad(ex.rosen)
    columns = [(grad(x0 + eps * e) - grad(x0 - eps * e)) / (2 * eps) for e in np.eye(3)]
    assert np.allclose(results["hessian"], np.array(columns).T, rtol=1e-6, atol=1e-4)
    assert np.allclose(results["hvp"], results["hessian"].sum(axis=1), rtol=1e-12)
    assert results["newton_cg"].success and np.allclose(results["newton_cg"].x, 1.0, atol=1e-6)


def test_control_flow_gradient_through_a_convergence_loop_is_the_exact_derivative(capsys):
    ex = example("control_flow")
    rows = ex.main(points=(0.25, 3.0, 100.0), show=True)
    for a, derivative, exact in rows:
        assert derivative == pytest.approx(exact, rel=1e-9)
    printed = capsys.readouterr().out
    assert "def grad_sqrt_newton(" in printed and "while abs(y * y - a) > tol * a:" in printed
    assert printed.count("stack.pop()") >= 2            # the branch taken and the trip count


def test_mixed_precision_gives_float16_gradients_of_a_float32_loss():
    ex = example("mixed_precision")
    g, losses, w16 = ex.main(steps=60)
    assert g.dtype == np.float16 and np.array_equal(g, [2.0, 2.0, 2.0])
    assert w16.dtype == np.float16 and losses[-1] < losses[0] / 100
    X = np.random.default_rng(1).normal(size=(8, 4)).astype(np.float32)
    assert s2sgrad.check_grad(ex.loss, np.full(4, 0.5, np.float16), np.ones(1, np.float16), X, np.ones(8, np.float32),
                              wrt=("w16", "b16"), rtol=1e-2, atol=1e-2)          # float16 gradients: ~3 digits


def test_rnn_gradient_through_time_matches_finite_differences_and_trains():
    ex = example("rnn")
    xs, targets = ex.sine_batch(batch=3, steps=5)
    assert s2sgrad.check_grad(ex.rnn_loss, ex.init(hidden=4), xs, targets, rtol=1e-6, atol=1e-9)
    losses = ex.main(steps=80, hidden=8, seq_len=10)
    assert losses[-1] < losses[0] / 10


def test_gaussian_process_fit_reaches_a_stationary_point_of_the_marginal_likelihood():
    ex = example("gaussian_process")
    X, y = ex.make_data(12)
    assert s2sgrad.check_grad(ex.neg_log_marginal_likelihood, np.array([0.1, -0.2, -1.0]), X, y,
                              rtol=1e-6, atol=1e-8)
    start, fit, (ell, sf2, sn2) = ex.main(n=12)
    assert fit.success and fit.fun < start
    assert np.linalg.norm(s2sgrad.grad(ex.neg_log_marginal_likelihood)(fit.x, X, y)) < 1e-3
    assert 0.0 < sn2 < 0.5 * sf2


def test_physics_fit_recovers_the_stiffness_through_the_euler_loop(tmp_path, capsys):
    ex = example("physics")
    observed = ex.observations()
    assert s2sgrad.check_grad(ex.loss, 3.0, observed, rtol=1e-6, atol=1e-9)
    plot = tmp_path / "fit.png"
    k, losses = ex.main(iterations=20, plot=str(plot))
    assert abs(k - 4.0) < 0.05 and losses[-1] < losses[0] / 10
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert not plot.exists() and "matplotlib is not installed" in capsys.readouterr().out
    else:
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def readme_block_after(marker):
    readme = (ROOT / "README.md").read_text()
    start = readme.index("```python\n", readme.index(marker)) + len("```python\n")
    return readme[start:readme.index("```", start)]


def idiom_cell(row):
    """The code of the s2sgrad column of row `row` of the README's PyTorch table (its first code span)."""
    readme = (ROOT / "README.md").read_text()
    line = next(l for l in readme.splitlines() if l.startswith(f"| {row} | "))
    return line.split(" | ")[2].split("`")[1]


def run_as_file(code, tmp_path, name="snippet"):
    # s2sgrad reads the source of what it differentiates, so the snippet runs from a file of its own.
    path = tmp_path / f"{name}.py"
    path.write_text("import numpy as np\nimport s2sgrad\n" + code)
    return runpy.run_path(str(path))


def test_readme_quick_start_snippet_runs_and_gives_the_gradient_it_states(tmp_path, capsys):
    scope = run_as_file(readme_block_after("Without the decorator"), tmp_path)
    assert np.allclose(scope["dW"], -2.0 / 3.0) and scope["db"] == -2.0      # d mean((W + b - 1)^2) at 0
    assert "def grad_loss(W, b, X, y" in capsys.readouterr().out


def test_readme_pytorch_table_rows_give_the_values_they_state(tmp_path):
    # Each row's code runs as written, on the table's a = [1, 2, 3], b = [4, 5, 6] and x.
    setup = "a, b, x = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0]), np.array([1.0, 2.0, 3.0])\n"
    scope = run_as_file(setup + f"row1 = {idiom_cell(1)}\n", tmp_path, "row1")
    assert np.array_equal(scope["row1"][0], [4, 5, 6]) and np.array_equal(scope["row1"][1], [9, 12, 15])
    scope = run_as_file(setup + idiom_cell(2).replace("; pullback(", "\nrow2 = pullback(") + "\n", tmp_path, "row2")
    assert np.array_equal(scope["row2"], [2, 2, 2])
    with pytest.raises(ValueError, match=r"\(3,\).*vjp"):
        run_as_file(setup + idiom_cell(3) + "\n", tmp_path, "row3")
    scope = run_as_file(setup + f"def f(a, b):\n    c = a + b\n    {idiom_cell(5)}\n    return np.sum(d)\n"
                        "row5 = s2sgrad.grad(f, wrt=(0, 1))(a, b)\n", tmp_path, "row5")
    assert np.array_equal(scope["row5"][0], [0, 0, 0]) and np.array_equal(scope["row5"][1], [5, 7, 9])
    scope = run_as_file(setup + f"def g(x):\n    {idiom_cell(6)}\n    return np.sum(y * x)\n"
                        "row6 = s2sgrad.grad(g)(x)\n", tmp_path, "row6")
    assert np.array_equal(scope["row6"], 2 * scope["x"])     # y = 2x is a constant: d/dx sum(y x) = y
    scope = run_as_file(setup + f"def f(a):\n    b = a + 3\n    return np.mean(b)\n\nrow7 = {idiom_cell(7)}\n",
                        tmp_path, "row7")
    assert np.allclose(scope["row7"][0], 1 / 3) and np.allclose(scope["row7"][1]["b"], 1 / 3)
    scope = run_as_file(f"def f(x):\n    return x ** 2\n\n{idiom_cell(8)}\n\nrow8 = s2sgrad.grad(g)(1.0)\n", tmp_path, "row8")
    assert scope["row8"] == 24.0                          # 24 x^2 at x = 1 (a tutorial's 12 is wrong)
    scope = run_as_file(setup + idiom_cell(9) + "\nrow9 = [pullback(1.0), pullback(1.0)]\n", tmp_path, "row9")
    assert scope["row9"] == [2.0, 2.0]
    scope = run_as_file(setup + f"row14 = {idiom_cell(14)}\n", tmp_path, "row14")
    assert scope["row14"].dtype == np.float16 and np.array_equal(scope["row14"], [2, 2, 2])
    scope = run_as_file(setup + f"row15 = {idiom_cell(15)}\n", tmp_path, "row15")
    assert np.array_equal(scope["row15"], 2 * np.eye(3))


def shown_commands():
    """(example, argv) for each `s2sgrad show ...` an example's docstring tells the reader to run."""
    for path in EXAMPLES:
        for line in (ast.get_docstring(ast.parse(path.read_text())) or "").splitlines():
            if "s2sgrad show " in line:
                yield path.name, line.split("s2sgrad show ", 1)[1].split()


@pytest.mark.parametrize("name, argv", list(shown_commands()), ids=[n for n, _ in shown_commands()])
def test_the_show_command_an_example_gives_prints_its_generated_code(name, argv, monkeypatch, capsys):
    from s2sgrad import cli
    monkeypatch.chdir(ROOT)                     # the commands name examples/NAME.py from the checkout
    assert cli.main(["show", *argv]) == 0
    assert capsys.readouterr().out.startswith("def ")


def test_readme_refusal_example_raises_the_error_it_shows(tmp_path):
    code = readme_block_after("What s2sgrad cannot differentiate")
    readme = (ROOT / "README.md").read_text()
    start = readme.index("```text\n", readme.index("What s2sgrad cannot differentiate")) + len("```text\n")
    shown = readme[start:readme.index("```", start)].rstrip("\n")
    path = tmp_path / "model.py"
    path.write_text(code)                               # the snippet alone: line numbers as shown
    with pytest.raises(s2sgrad.S2SGradError) as err:
        runpy.run_path(str(path), init_globals={"np": np, "s2sgrad": s2sgrad})
    assert f"{type(err.value).__module__}.{type(err.value).__name__}: {err.value}".replace(str(path), "model.py") == shown
