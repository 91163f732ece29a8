"""`s2sgrad show` on a file path and on a module path, as a user runs it."""

import html
import os
import pathlib
import re
import subprocess
import sys

import pytest

import s2sgrad
from s2sgrad.cli import main

ROOT = pathlib.Path(__file__).parent.parent
FIXTURES = pathlib.Path(__file__).parent / "cli_fixtures"


def run_cli(*args, cwd=ROOT):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(FIXTURES)]))
    return subprocess.run([sys.executable, "-m", "s2sgrad.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_show_on_a_file_path_prints_the_generated_code_of_the_decorated_wrt():
    result = run_cli("show", "examples/loop.py:f")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("def grad_f(x, a, n=1000, *, dx=1.0):")
    assert "return (x_value, (dx, da))" in result.stdout


def test_show_prints_the_same_text_twice_in_fresh_processes():
    first, second = run_cli("show", "examples/loop.py:f"), run_cli("show", "examples/loop.py:f")
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout


def test_show_on_a_module_path_with_wrt_option():
    result = run_cli("show", "pkg_for_cli.model:loss", "--wrt", "x,w")
    assert result.returncode == 0, result.stderr
    assert "def grad_loss(x, w, *, dout=1.0):" in result.stdout
    assert "return (out, (dx, dw))" in result.stdout


def test_show_matches_the_api_source(capsys):
    sys.path.insert(0, str(FIXTURES))
    try:
        from pkg_for_cli import model
        assert main(["show", "pkg_for_cli.model:loss", "--wrt", "1"]) == 0
        assert capsys.readouterr().out == s2sgrad.source(model.loss, wrt=1)
    finally:
        sys.path.remove(str(FIXTURES))


def test_show_reports_unsupported_syntax_at_the_users_line_without_a_traceback():
    result = run_cli("show", "pkg_for_cli.model:broken")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "model.py:10:" in result.stderr and "'try' statements are not supported" in result.stderr


@pytest.mark.parametrize("target, message", [
    ("examples/nope.py:f", "no such file"),
    ("examples/loop.py:nope", "has no attribute"),
    ("examples/loop.py", "expected FILE.py:FUNCTION"),
])
def test_show_rejects_bad_targets_with_a_message(target, message):
    result = run_cli("show", target)
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr


def test_show_prints_a_methods_derivative_with_respect_to_its_first_parameter_after_self(capsys):
    from s2sgrad.cli import main
    assert main(["show", os.path.join(os.path.dirname(__file__), "cli_fixtures", "linear_model.py") + ":Linear.loss"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("def grad_loss(self, x, y, *, dout=1.0):")
    assert "vjp_forward_wrt_x(self, x)" in out and "W = self.W" in out


# -- export, check, diff; show side by side (issue 13) -------------------------------------------

MODEL = """\
import numpy as np


def layer(W, x):
    return np.tanh(W @ x)


def loss(W, b, x):
    h = layer(W, x) + b
    return np.sum(h ** 2)
"""

USE = """\
import numpy as np
import s2sgrad
import model

W = np.array([[0.5, -0.2, 0.3], [0.1, 0.3, -0.4]])
g = s2sgrad.grad(model.loss, wrt=("W", "b"), derivative_file="derivs/loss_grad.py")
print(repr(g(W, np.array([0.1, -0.1]), np.array([1.0, 2.0, -0.5]))[1].tolist()))
"""

CLIP = ("    db = unbroadcast(dh, b)\n", "    db = np.clip(unbroadcast(dh, b), -0.5, 0.5)\n")


def test_export_edit_check_and_diff_round_trip_through_the_command_line(tmp_path):
    (tmp_path / "model.py").write_text(MODEL)
    (tmp_path / "use.py").write_text(USE)
    kept = tmp_path / "derivs" / "loss_grad.py"
    result = run_cli("export", "model.py:loss", "--wrt", "W,b", "-o", "derivs/loss_grad.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = kept.read_text()
    assert "# regenerate: s2sgrad export model.py:loss --wrt W,b -o derivs/loss_grad.py\n" in text
    check = run_cli("export", "--check", "derivs", cwd=tmp_path)
    assert check.returncode == 0 and "current: derivs/loss_grad.py" in check.stdout, check.stdout + check.stderr

    kept.write_text(text.replace(*CLIP))                     # the hand edit: clip the gradient of b
    run = subprocess.run([sys.executable, "use.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert run.returncode == 0, run.stderr
    db = eval(run.stdout)
    assert max(abs(v) for v in db) == 0.5 and "StaleDerivativeWarning" not in run.stderr     # the edit runs
    shown = run_cli("diff", "model.py:loss", "derivs/loss_grad.py", cwd=tmp_path)
    assert shown.returncode == 1, shown.stderr                                # they differ, as diff(1) says
    assert f"-{CLIP[0]}+{CLIP[1]}" in shown.stdout

    (tmp_path / "model.py").write_text(MODEL.replace("np.tanh(W @ x)", "np.tanh(2.0 * (W @ x))"))   # the helper
    check = run_cli("export", "--check", "derivs", cwd=tmp_path)
    assert check.returncode == 1 and check.stdout.startswith("stale: derivs/loss_grad.py"), check.stdout
    assert "s2sgrad export model.py:loss --wrt W,b -o derivs/loss_grad.py" in check.stdout
    run = subprocess.run([sys.executable, "use.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert run.returncode == 0, run.stderr
    assert "StaleDerivativeWarning" in run.stderr
    assert str(kept) in run.stderr and str(tmp_path / "model.py") in run.stderr          # both files
    assert eval(run.stdout) == db                            # the edited file keeps being used


def test_export_without_output_prints_the_module(tmp_path):
    (tmp_path / "model.py").write_text(MODEL)
    result = run_cli("export", "model.py:loss", "--wrt", "W", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('"""The gradient of loss with respect to W, generated by s2sgrad.')
    assert "\ndef grad_loss(W, b, x, *, dout=1.0):\n" in result.stdout
    compile(result.stdout, "exported", "exec")


def test_export_check_of_a_folder_without_exports_says_so(tmp_path):
    result = run_cli("export", "--check", str(tmp_path))
    assert result.returncode == 0 and "no exported derivatives" in result.stderr


def test_show_side_by_side_puts_each_primal_line_next_to_its_adjoint_block_in_plain_text_when_piped(tmp_path):
    (tmp_path / "model.py").write_text(MODEL)
    result = run_cli("show", "model.py:loss", "--wrt", "W,b", "--side-by-side", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "\x1b[" not in result.stdout                     # piped: no colour
    rows = result.stdout.splitlines()
    row = next(r for r in rows if r.startswith("model.py:9  h = layer(W, x) + b "))
    assert row.split(" | ")[1].strip() == "dlayer_W = unbroadcast(dh, layer_W)"     # the code reversing it
    assert any(r.startswith("model.py:5  return np.tanh(W @ x) ") and "dW_matmul_x = dout * (1.0 - out * out)" in r
               for r in rows)                             # a helper's line, next to its pullback's block


def test_show_html_writes_the_two_columns_as_a_page(tmp_path):
    (tmp_path / "model.py").write_text(MODEL)
    result = run_cli("show", "model.py:loss", "--wrt", "W,b", "--html", "out.html", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout == "", result.stderr
    page = (tmp_path / "out.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("<tr>") >= 4
    cells = html.unescape(re.sub(r"<[^>]+>", "", page))      # pygments, if installed, colours the cells
    assert "model.py:9  h = layer(W, x) + b\n" in cells and "dlayer_W = unbroadcast(dh, layer_W)" in cells


def test_side_by_side_is_coloured_for_a_terminal_when_pygments_is_installed():
    pytest.importorskip("pygments")
    from s2sgrad.side_by_side import side_by_side
    sys.path.insert(0, str(FIXTURES))
    try:
        from pkg_for_cli import model
        text = s2sgrad.source(model.loss, wrt=1)
        assert "\x1b[" in side_by_side(model.loss, text, colour=True)
        assert "\x1b[" not in side_by_side(model.loss, text, colour=False)
    finally:
        sys.path.remove(str(FIXTURES))
