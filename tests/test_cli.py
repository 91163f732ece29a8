"""`s2sgrad show` on a file path and on a module path, as a user runs it."""

import os
import pathlib
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
