"""Exported derivatives (issue 13): a standalone module to keep, edit and ship; loaded back with
`derivative_file=`, edits included; told stale when the primal's source or a helper's changes."""

import ast
import importlib.metadata
import importlib.util
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import s2sgrad
from s2sgrad.export import ExportError, Exported, header

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from snapshot_cases import CASES  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent

MODEL = textwrap.dedent("""\
    import math

    import numpy as np


    def layer(W, x):
        return np.tanh(W @ x)


    def loss(W, b, x):
        h = layer(W, x) + b
        return np.sum(h ** 2)


    def looped(x, a, n=5):
        for i in range(n):
            x = math.sin(x) * a + 0.1 * x
        return x


    def listed(params, x):
        hs = []
        for W in params:
            x = np.tanh(W @ x)
            hs.append(x)
        return np.sum(np.stack(hs) ** 2)
    """)

W = np.array([[0.5, -0.2, 0.3], [0.1, 0.3, -0.4]])
B = np.array([0.1, -0.1])
X = np.array([1.0, 2.0, -0.5])
PARAMS = [np.array([[0.2, -0.1, 0.4], [0.3, 0.1, -0.2], [0.0, 0.5, 0.1]]), np.eye(3) * 0.7]


def write_model(folder, text=MODEL, name="model"):
    """The model file in `folder`, imported afresh (a new module object each time, as a new process
    would import an edited file)."""
    path = pathlib.Path(folder) / f"{name}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(f"{name}_{abs(hash((str(path), text)))}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run_without_s2sgrad(path, call):
    """Exec the exported file in a fresh interpreter in which `import s2sgrad` fails, evaluate `call` there
    and return its value (JSON: arrays as lists)."""
    script = textwrap.dedent(f"""\
        import json, sys
        sys.modules["s2sgrad"] = None            # any import of s2sgrad (or a part of it) now fails
        import numpy as np
        namespace = {{"__name__": "exported"}}
        exec(compile(open({str(path)!r}).read(), {str(path)!r}, "exec"), namespace)
        globals().update(namespace)
        def plain(v):
            if isinstance(v, (tuple, list)):
                return [plain(u) for u in v]
            return np.asarray(v).tolist()
        print(json.dumps(plain({call})))
        """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                            cwd=str(path.parent))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def plain(v):
    if isinstance(v, (tuple, list)):
        return [plain(u) for u in v]
    return np.asarray(v).tolist()


@pytest.mark.parametrize("name, wrt, args, call", [
    ("loss", ("W", "b"), (W, B, X), "grad_loss(W, B, X)"),
    ("looped", ("x", "a"), (0.5, 0.9), "grad_looped(0.5, 0.9)"),
    ("listed", "params", (PARAMS, X), "grad_listed(PARAMS, X)"),
])
def test_an_exported_module_runs_without_s2sgrad_and_gives_s2sgrad_s_gradient(tmp_path, name, wrt, args, call):
    model = write_model(tmp_path)
    out = tmp_path / "derivs" / f"{name}_grad.py"
    s2sgrad.export(getattr(model, name), out, wrt=wrt)
    setup = f"W = np.array({W.tolist()}); B = np.array({B.tolist()}); X = np.array({X.tolist()}); " \
            f"PARAMS = [np.array(p) for p in {[p.tolist() for p in PARAMS]}]"
    got = run_without_s2sgrad(out, f"(exec({setup!r}, globals()), {call})[1]")
    expected = s2sgrad.value_and_grad(getattr(model, name), wrt=wrt)(*args)
    np.testing.assert_allclose(np.asarray(got[0], dtype=float), np.asarray(plain(expected[0]), dtype=float),
                               rtol=1e-14, atol=0)
    for g, e in zip(got[1] if isinstance(wrt, tuple) else [got[1]],
                    expected[1] if isinstance(wrt, tuple) else [expected[1]]):
        np.testing.assert_allclose(np.asarray(g, dtype=float), np.asarray(plain(e), dtype=float), rtol=1e-14,
                                   atol=0)       # the same code, run elsewhere: the same numbers


def _exportable_cases():
    out = []
    for case in CASES:
        name, fn, wrt, mode = (*case, "reverse")[:4]
        if name == "method_call":                       # refused: see the refusal test below
            continue
        out.append((name, fn, wrt, mode))
    return out


def _imported_modules(text):
    found = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found.update(a.name.partition(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.add(node.module.partition(".")[0])
    return found


@pytest.mark.parametrize("name, fn, wrt, mode", _exportable_cases(), ids=[c[0] for c in _exportable_cases()])
def test_an_exported_module_imports_only_numpy_and_the_standard_library(name, fn, wrt, mode):
    text = s2sgrad.export(fn, wrt=wrt, mode=mode)
    assert _imported_modules(text) <= set(sys.stdlib_module_names) | {"numpy"}
    assert "s2sgrad" not in _imported_modules(text)
    compile(text, name, "exec")


def _ruff():
    beside = pathlib.Path(sys.executable).parent / "ruff"
    return str(beside) if beside.exists() else shutil.which("ruff")


@pytest.mark.skipif(_ruff() is None, reason="ruff is not installed (pip install ruff)")
def test_exported_modules_pass_ruff_with_its_default_rules(tmp_path):
    for name, fn, wrt, mode in _exportable_cases():
        s2sgrad.export(fn, tmp_path / f"{name}_{mode}.py", wrt=wrt, mode=mode)
    (tmp_path / "model").mkdir()
    model = write_model(tmp_path / "model")
    s2sgrad.export(model.loss, tmp_path / "loss_grad.py", wrt=("W", "b"))
    s2sgrad.export(model.listed, tmp_path / "listed_grad.py", wrt="params")
    result = subprocess.run([_ruff(), "check", "--isolated", "--no-cache", str(tmp_path)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_header_names_the_primal_the_options_the_version_and_a_hash_of_the_sources(tmp_path):
    model = write_model(tmp_path)
    text = s2sgrad.export(model.loss, wrt=("W", "b"))
    fields = header(text)
    assert fields["qualname"] == "loss" and fields["module"] == model.__name__
    assert fields["file"] == str(tmp_path / "model.py")
    assert fields["mode"] == "reverse" and fields["wrt"] == "W, b" and fields["entry"] == "grad_loss"
    assert fields["s2sgrad"] == importlib.metadata.version("s2sgrad")
    assert fields["hashed"] == "loss, layer"               # the primal and the helper it calls
    assert fields["hash"].startswith("sha256:")
    assert fields["regenerate"].startswith("s2sgrad export ") and "--wrt W,b" in fields["regenerate"]
    assert text.index("# reverse sweep") > text.index("def grad_loss")
    assert "\n\n    # reverse sweep" in text                  # a blank line between the sweeps
    assert text == s2sgrad.export(model.loss, wrt=("W", "b"))      # deterministic


def test_the_hash_changes_with_the_source_of_a_helper_and_not_with_other_code(tmp_path):
    first = header(s2sgrad.export(write_model(tmp_path).loss, wrt="W"))["hash"]
    other = MODEL.replace("x = math.sin(x) * a + 0.1 * x", "x = math.cos(x) * a + 0.1 * x")
    assert header(s2sgrad.export(write_model(tmp_path, other).loss, wrt="W"))["hash"] == first
    edited = MODEL.replace("return np.tanh(W @ x)", "return np.tanh(W @ x) * 1.0")
    assert header(s2sgrad.export(write_model(tmp_path, edited).loss, wrt="W"))["hash"] != first


def test_only_the_runtime_helpers_the_code_calls_are_copied_in(tmp_path):
    text = s2sgrad.export(write_model(tmp_path).loss, wrt=("W", "b"))
    defined = {n.name for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)}
    assert {"unbroadcast", "sum_to_shape", "matmul_adjoint_left"} <= defined
    assert "zeros_of" not in defined and "einsum_adjoints" not in defined


def test_a_value_a_standalone_module_cannot_hold_is_refused_naming_it(tmp_path):
    method_call = next(c for c in CASES if c[0] == "method_call")
    with pytest.raises(ExportError, match="'LAYER', a Linear of snapshot_cases"):
        s2sgrad.export(method_call[1], wrt=method_call[2])


def test_a_custom_rule_is_exported_inlined_with_the_functions_own_body_and_its_rule_hashed(tmp_path):
    case = next(c for c in CASES if c[0] == "custom_rule")
    path = tmp_path / "custom_rule_grad.py"
    text = s2sgrad.export(case[1], path, wrt=case[2])
    assert header(text)["hashed"] == "custom_rule, soft_clip, soft_clip_vjp"     # an edited rule: stale
    assert "\n\n\ndef soft_clip(x):\n    return np.tanh(x)\n" in text and "@s2sgrad.custom_vjp" not in text
    W, x = np.array([[0.5, -2.0], [1.5, 0.3]]), np.array([1.0, 2.0])
    got = run_without_s2sgrad(path, f"grad_custom_rule(np.array({W.tolist()}), np.array({x.tolist()}))[1]")
    np.testing.assert_allclose(got, s2sgrad.grad(case[1])(W, x), rtol=1e-15)


def test_an_exported_hvp_and_vjp_run_without_s2sgrad(tmp_path):
    model = write_model(tmp_path)
    s2sgrad.export(model.looped, tmp_path / "hvp.py", wrt="x", mode="hvp")
    s2sgrad.export(model.looped, tmp_path / "vjp.py", wrt="x", mode="vjp")
    (value, _), hv = run_without_s2sgrad(tmp_path / "hvp.py", "grad_jvp_looped(0.5, 0.9, x_dot=1.0)")
    assert hv == pytest.approx(s2sgrad.hvp(model.looped, (0.5, 0.9), 1.0), rel=1e-14)
    value, dx = run_without_s2sgrad(tmp_path / "vjp.py", "(lambda r: (r[0], pullback_looped(r[1], 1.0)))"
                                    "(vjp_looped(0.5, 0.9))")
    assert dx == pytest.approx(s2sgrad.grad(model.looped)(0.5, 0.9), rel=1e-14)


# -- derivative_file: the round trip ------------------------------------------------------------

def clip_db(path):
    """Edit the kept file by hand: clip the gradient of b to [-0.5, 0.5]."""
    text = path.read_text()
    assert "    db = unbroadcast(dh, b)\n" in text
    path.write_text(text.replace("    db = unbroadcast(dh, b)\n", "    db = np.clip(unbroadcast(dh, b), -0.5, 0.5)\n"))


def test_export_edit_load_and_the_staleness_warning_through_the_api(tmp_path):
    model = write_model(tmp_path)
    kept = tmp_path / "derivs" / "loss_grad.py"
    exact = s2sgrad.grad(model.loss, wrt=("W", "b"))(W, B, X)
    assert np.max(np.abs(exact[1])) > 0.5                   # the clip below changes it

    with warnings.catch_warnings():
        warnings.simplefilter("error")                       # a fresh file is current: no warning
        first = s2sgrad.grad(model.loss, wrt=("W", "b"), derivative_file="derivs/loss_grad.py")(W, B, X)
    assert kept.exists()                                     # relative to model.py's folder
    np.testing.assert_allclose(first[0], exact[0], rtol=1e-15)
    np.testing.assert_allclose(first[1], exact[1], rtol=1e-15)

    clip_db(kept)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = s2sgrad.differentiate(model.loss, wrt=("W", "b"), derivative_file=str(kept))
        edited = f.grad(W, B, X)
    np.testing.assert_allclose(edited[1], np.clip(exact[1], -0.5, 0.5), rtol=1e-15)     # the edit runs
    np.testing.assert_allclose(edited[0], exact[0], rtol=1e-15)
    assert f.source == kept.read_text() and "np.clip" in f.source
    assert f.adjoint.__code__.co_filename == str(kept)       # tracebacks and pdb show the file itself

    changed = write_model(tmp_path, MODEL.replace("return np.tanh(W @ x)", "return np.tanh(2.0 * (W @ x))"))
    with pytest.warns(s2sgrad.StaleDerivativeWarning) as caught:
        stale = s2sgrad.grad(changed.loss, wrt=("W", "b"), derivative_file="derivs/loss_grad.py")(W, B, X)
    message = str(caught[0].message)
    assert str(kept) in message and str(tmp_path / "model.py") in message                  # both files
    assert f"s2sgrad export {tmp_path / 'model.py'}:loss --wrt W,b -o {kept}" in message    # the command
    assert "layer" in message                                # which sources are hashed
    assert caught[0].filename == __file__                    # it points at the caller's line
    np.testing.assert_allclose(stale[1], edited[1], rtol=1e-15)     # the edited file keeps being used


def test_a_relative_path_is_the_same_file_for_export_and_derivative_file_wherever_python_started(tmp_path,
                                                                                                monkeypatch):
    # Exported from another working directory, edited, then loaded by the same relative path: the edit runs
    # (export took the path from the working directory while derivative_file took it from the primal's folder,
    # so the edited file was silently never loaded).
    model = write_model(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    exact = s2sgrad.grad(model.loss, wrt=("W", "b"))(W, B, X)
    s2sgrad.export(model.loss, "derivs/loss_grad.py", wrt=("W", "b"))
    kept = tmp_path / "derivs" / "loss_grad.py"
    assert kept.exists() and not (elsewhere / "derivs").exists()
    clip_db(kept)
    edited = s2sgrad.grad(model.loss, wrt=("W", "b"), derivative_file="derivs/loss_grad.py")(W, B, X)
    np.testing.assert_allclose(edited[1], np.clip(exact[1], -0.5, 0.5), rtol=1e-15)


def test_a_derivative_file_for_other_parameters_is_refused_saying_which(tmp_path):
    model = write_model(tmp_path)
    s2sgrad.export(model.loss, tmp_path / "loss_grad.py", wrt=("W", "b"))
    with pytest.raises(ValueError, match="with respect to W, b, not the reverse derivative with respect to W"):
        s2sgrad.grad(model.loss, wrt="W", derivative_file=tmp_path / "loss_grad.py")(W, B, X)


def test_diff_shows_the_hand_edit_against_a_fresh_generation(tmp_path):
    from s2sgrad.export import diff
    model = write_model(tmp_path)
    kept = tmp_path / "loss_grad.py"
    s2sgrad.export(model.loss, kept, wrt=("W", "b"))
    assert diff(model.loss, kept) == ""
    clip_db(kept)
    text = diff(model.loss, kept)
    assert "-    db = unbroadcast(dh, b)\n+    db = np.clip(unbroadcast(dh, b), -0.5, 0.5)\n" in text
    changed = [line for line in text.splitlines()[2:] if line[:1] in "+-"]
    assert len(changed) == 2                               # that line, and nothing else


def test_an_exported_derivative_is_current_in_the_same_process_it_was_made(tmp_path):
    from s2sgrad.export import staleness
    model = write_model(tmp_path)
    s2sgrad.export(model.loss, tmp_path / "g.py", wrt=("W", "b"))
    assert not staleness(str(tmp_path / "g.py"), model.loss).stale
    assert isinstance(Exported(model.loss, ("W", "b")).digest, str)
    assert os.path.exists(tmp_path / "g.py")


def test_the_readme_walkthrough_shows_what_export_writes(tmp_path):
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Editing a derivative"):]
    blocks = section.split("```python\n")
    (tmp_path / "model.py").write_text(blocks[1][:blocks[1].index("```")])
    shown = blocks[2][:blocks[2].index("```")]
    text = s2sgrad.export(write_model(tmp_path, (tmp_path / "model.py").read_text()).loss, wrt=("W", "b"))
    function = text[text.index("def grad_loss"):text.index("# -- helpers")]
    assert function in shown                                # the generated function, exactly
    fields = [line.split(":")[0] for line in shown.splitlines() if re.match(r"# \w+: ", line)]
    assert fields == ["# " + f for f in header(text)]       # every header field, in order
    assert header(text)["hash"] in shown                      # the same source, the same hash


def test_exported_code_lines_fit_in_99_columns_broken_inside_a_calls_parentheses(tmp_path):
    from s2sgrad.export import LINE_LENGTH
    case = next(c for c in CASES if c[0] == "custom_rule")
    text = s2sgrad.export(case[1], wrt=case[2])
    assert '    dW_matmul_x = checked(\n        np.clip(dsoft_clip_W_matmul_x * slope, -1.0, 1.0),\n' in text
    for name, fn, wrt, mode in _exportable_cases():
        text = s2sgrad.export(fn, wrt=wrt, mode=mode)
        generated = text[:text.find("# -- helpers")] if "# -- helpers" in text else text
        long = [line for line in generated.splitlines()
                if len(line) > LINE_LENGTH and not line.lstrip().startswith("#")]
        assert not long, (name, long)


def test_a_kept_file_keeps_running_when_its_primal_no_longer_differentiates(tmp_path):
    model = write_model(tmp_path)
    kept = tmp_path / "loss_grad.py"
    exact = s2sgrad.grad(model.loss, wrt=("W", "b"), derivative_file=kept)(W, B, X)
    clip_db(kept)
    broken = MODEL.replace("    h = layer(W, x) + b\n",
                           "    try:\n        h = layer(W, x) + b\n    except ValueError:\n        h = b\n")   # refused
    changed = write_model(tmp_path, broken)
    with pytest.raises(s2sgrad.UnsupportedSyntaxError):
        s2sgrad.grad(changed.loss, wrt=("W", "b"))(W, B, X)
    with pytest.warns(s2sgrad.StaleDerivativeWarning, match="could not be checked .*'try' statements"):
        kept_grad = s2sgrad.grad(changed.loss, wrt=("W", "b"), derivative_file=kept)(W, B, X)
    np.testing.assert_allclose(kept_grad[0], exact[0], rtol=1e-15)
    np.testing.assert_allclose(kept_grad[1], np.clip(exact[1], -0.5, 0.5), rtol=1e-15)
