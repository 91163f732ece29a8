"""Every script in examples/ runs, and what it prints agrees with finite differences."""

import os
import pathlib
import runpy
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def run_example(path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, str(path)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_script_runs(path):
    result = run_example(path)
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
    import s2sgrad
    readme = (ROOT / "README.md").read_text()
    marker = "What `s2sgrad show examples/loop.py:f` prints:\n\n```python\n"
    start = readme.index(marker) + len(marker)
    shown = readme[start:readme.index("```", start)]
    module = runpy.run_path(str(ROOT / "examples" / "loop.py"))
    assert shown == s2sgrad.source(module["f"], wrt=("x", "a"))
