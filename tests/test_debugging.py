"""Reading and debugging generated code (issue 13): comments naming the user's file and line, errors that
say which generated line and which user line they come from, pdb and inspect on generated code."""

import importlib.util
import inspect
import io
import linecache
import math
import pathlib
import pdb
import re
import sys
import textwrap

import numpy as np
import pytest

import s2sgrad

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from snapshot_cases import CASES  # noqa: E402

LOCATED = re.compile(r"^\s*# (\S+):(\d+)  (.*)$")
HERE = pathlib.Path(__file__).parent


def located_comments(text):
    return [m.groups() for m in map(LOCATED.match, text.splitlines()) if m]


def code_of(line):
    """A source line without its trailing comment, as the generated comment quotes it."""
    return re.sub(r"\s+#.*$", "", line.strip()) if "#" in line else line.strip()


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_every_located_comment_quotes_the_line_of_the_file_it_names_after_optimisation(case):
    name, fn, wrt, mode = (*case, "reverse")[:4]
    text = s2sgrad.source(fn, wrt=wrt, mode=mode)
    comments = located_comments(text)
    if mode != "forward":
        assert comments, f"no located comment in the reverse code of {name}"
    for filename, lineno, quoted in comments:
        assert filename == "snapshot_cases.py"
        assert code_of(linecache.getline(str(HERE / filename), int(lineno))) == quoted, (name, lineno)


MODULE = textwrap.dedent("""\
    import numpy as np


    def f(x, w):
        h = np.tanh(w * x)
        s = 0.0
        for i in range(3):
            s = s + np.sum(h * x)  # a comment of the user's is not quoted
        return s * 2.0
    """)


def test_comments_follow_the_code_when_it_moves_in_its_file(tmp_path):
    path = tmp_path / "moved.py"
    path.write_text(MODULE)
    before = located_comments(s2sgrad.source(load_module(path, "moved_before").f, wrt=(0, 1)))
    path.write_text("# four lines\n# pushed in\n# above the\n# function\n" + MODULE)
    linecache.checkcache(str(path))
    after = located_comments(s2sgrad.source(load_module(path, "moved_after").f, wrt=(0, 1)))
    assert [(f, int(n) + 4, q) for f, n, q in before] == [(f, int(n), q) for f, n, q in after]
    assert ("moved.py", "8", "s = s + np.sum(h * x)") in before
    for filename, lineno, quoted in after:
        assert code_of(linecache.getline(str(path), int(lineno))) == quoted


def sqrt_then_scale(x):
    h = math.sqrt(x)
    return h * x


SQRT_LINE = inspect.getsourcelines(sqrt_then_scale)[1] + 1


def test_an_error_in_generated_code_names_the_generated_line_and_the_users_line():
    with pytest.raises(ValueError, match="math domain error") as caught:
        s2sgrad.grad(sqrt_then_scale)(-1.0)
    err = caught.value
    said = "\n".join(getattr(err, "__notes__", [])) if sys.version_info >= (3, 11) else str(err)
    assert "in generated code grad_sqrt_then_scale, line 2: h = math.sqrt(x)" in said
    assert f"from {__file__}:{SQRT_LINE}: h = math.sqrt(x)" in said
    assert said.count("in generated code") == 1          # once, however many entries it passed


def reverse_fails(x):
    y = np.log(x)
    return np.sum(y)


def test_an_error_in_the_reverse_sweep_names_the_line_it_reverses():
    code = s2sgrad.differentiate(reverse_fails).adjoint
    env = inspect.unwrap(code).__globals__            # the generated code's globals: np there fails on purpose
    numpy = env["np"]

    class FailingInReverse:
        def __getattr__(self, attr):
            return getattr(numpy, attr)

        @staticmethod
        def full_like(*args, **kwargs):               # the first rule of the reverse sweep (of np.sum)
            raise FloatingPointError("reverse failed")

    env["np"] = FailingInReverse()
    try:
        with pytest.raises(FloatingPointError) as caught:
            code(np.ones(2))
    finally:
        env["np"] = numpy
    said = "\n".join(getattr(caught.value, "__notes__", [])) if sys.version_info >= (3, 11) else str(caught.value)
    text = s2sgrad.source(reverse_fails)
    line, failing = next((k, t.strip()) for k, t in enumerate(text.splitlines(), 1) if "np.full_like(" in t)
    assert f"in generated code grad_reverse_fails, line {line}: {failing}" in said
    assert f"from {__file__}:{inspect.getsourcelines(reverse_fails)[1] + 2}: return np.sum(y)" in said


@s2sgrad.differentiate(wrt=("x", "w"))
def stepped(x, w):
    h = math.tanh(w * x)
    return h * x


def test_inspect_getsource_of_the_adjoint_is_its_generated_text():
    assert inspect.getsource(stepped.adjoint) == stepped.source.split("\n\n\n")[0].rstrip("\n") + "\n"


def test_pdb_steps_through_generated_code_and_reads_its_values():
    out = io.StringIO()
    commands = ["step", "step", "step", "next", "next", "p h", "list", "continue"]   # entry, into grad_stepped
    debugger = pdb.Pdb(stdin=io.StringIO("\n".join(commands) + "\n"), stdout=out, nosigint=True)
    debugger.use_rawinput = False
    value, grads = debugger.runcall(stepped.adjoint, 0.5, 2.0)
    shown = out.getvalue()
    assert "grad_stepped()" in shown and "-> h = math.tanh(w * x)" in shown        # stepped into it
    assert f"{math.tanh(1.0)!r}" in shown                     # `p h` after the line ran
    assert "# reverse sweep" in shown                          # `list` shows the generated lines, comments too
    assert value == pytest.approx(math.tanh(1.0) * 0.5, rel=1e-15)
    assert grads[0] == pytest.approx(s2sgrad.grad(stepped, wrt=(0, 1))(0.5, 2.0)[0], rel=1e-15)
