"""The disk cache (s2sgrad/cache.py): a new process loads generated code from S2SGRAD_CACHE_DIR instead of
compiling it, and never uses an entry made from other source, other globals or another s2sgrad. Each
test runs fresh Python processes on a module written to a temporary directory, and counts how often the
compiler's stages after the fence (lowering) ran; gradients are compared with hand-derived values."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MODULE = '''
import math
import numpy as np

SCALE = 3.0
act = np.tanh


def helper(u, w):
    return act(u * w) * SCALE


def f(x, w, n=3):
    s = 0.0
    for i in range(n):
        s = s + math.sin(x) * helper(x, w)
    return s
'''

SCRIPT = '''
import json, sys
import numpy as np
import s2sgrad.pipeline as pipeline
lowered = []
real = pipeline.lower
pipeline.lower = lambda *a, **k: (lowered.append(1), real(*a, **k))[1]
import s2sgrad
import mod
dx, dw = s2sgrad.grad(mod.f, wrt=(0, 1))(0.7, 0.4)
y, pullback = s2sgrad.vjp(mod.f, 0.7, 0.4, wrt=(0, 1))
value, tangent = s2sgrad.jvp(mod.f, (0.7, 0.4), (1.0, 0.0), wrt=(0, 1))
print(json.dumps({"lowered": len(lowered), "grad": [dx, dw], "vjp": list(pullback(1.0)), "jvp": tangent}))
'''


def _run(tmp_path, cache, **env):
    environ = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), ROOT]), S2SGRAD_CACHE_DIR=cache, **env)
    if "S2SGRAD_NO_CACHE" not in env:
        environ.pop("S2SGRAD_NO_CACHE", None)
    out = subprocess.run([sys.executable, str(tmp_path / "script.py")], capture_output=True, text=True,
                         env=environ, cwd=str(tmp_path), timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


def _write(tmp_path, module=MODULE):
    (tmp_path / "mod.py").write_text(module)
    (tmp_path / "script.py").write_text(SCRIPT)


def _expected(x, w, scale=3.0, act="tanh", n=3):
    import math
    if act == "tanh":
        t = math.tanh(x * w)
        h, dh = t * scale, (1 - t * t) * scale
    else:
        h, dh = math.sin(x * w) * scale, math.cos(x * w) * scale
    dx = n * (math.cos(x) * h + math.sin(x) * dh * w)
    dw = n * math.sin(x) * dh * x
    return dx, dw


def _entries(cache):
    return [os.path.join(d, n) for d, _, names in os.walk(cache) for n in names if n.endswith(".json")]


def test_a_second_process_loads_the_code_and_runs_no_compiler_stage(tmp_path):
    _write(tmp_path)
    cache = str(tmp_path / "cache")
    first = _run(tmp_path, cache)
    second = _run(tmp_path, cache)
    assert first["lowered"] > 0 and second["lowered"] == 0
    assert _entries(cache)
    want = _expected(0.7, 0.4)
    for result in (first, second):
        assert result["grad"] == pytest.approx(want, rel=1e-12)
        assert result["vjp"] == pytest.approx(want, rel=1e-12)
        assert result["jvp"] == pytest.approx(want[0], rel=1e-12)
    assert {**second, "lowered": 0} == {**first, "lowered": 0}


@pytest.mark.parametrize("old, new, expected", [
    ("return act(u * w) * SCALE", "return act(u * w) * SCALE * 2.0", {"scale": 6.0}),    # an edited helper
    ("act = np.tanh", "act = np.sin", {"act": "sin"}),                                   # a global rebound
    ("SCALE = 3.0", "SCALE = 5.0", {"scale": 5.0}),                                      # a changed constant
])
def test_a_changed_source_is_compiled_again_in_the_next_process_and_then_cached(tmp_path, old, new, expected):
    _write(tmp_path)
    cache = str(tmp_path / "cache")
    _run(tmp_path, cache)
    _write(tmp_path, MODULE.replace(old, new))
    changed = _run(tmp_path, cache)
    assert changed["lowered"] > 0
    assert changed["grad"] == pytest.approx(_expected(0.7, 0.4, **expected), rel=1e-12)
    assert _run(tmp_path, cache)["lowered"] == 0


@pytest.mark.parametrize("env", [{"S2SGRAD_NO_CACHE": "1"}, {}])
def test_the_cache_is_off_when_asked(tmp_path, env):
    _write(tmp_path)
    cache = str(tmp_path / "cache") if env else ""
    for _ in range(2):
        assert _run(tmp_path, cache, **env)["lowered"] > 0
    assert not os.path.exists(str(tmp_path / "cache"))


def test_a_damaged_entry_is_ignored_and_written_again(tmp_path):
    _write(tmp_path)
    cache = str(tmp_path / "cache")
    _run(tmp_path, cache)
    for path in _entries(cache):
        with open(path, "w") as f:
            f.write("{not json")
    again = _run(tmp_path, cache)
    assert again["lowered"] > 0 and again["grad"] == pytest.approx(_expected(0.7, 0.4), rel=1e-12)
    assert _run(tmp_path, cache)["lowered"] == 0


def test_an_entry_for_another_s2sgrad_is_not_read(tmp_path, monkeypatch):
    # The key holds a fingerprint of s2sgrad's own files: another version (or an edited checkout) misses.
    from s2sgrad import cache
    monkeypatch.setattr(cache, "_FINGERPRINT", [])
    before = cache.fingerprint()
    monkeypatch.setattr(cache, "_FINGERPRINT", [])
    monkeypatch.setattr(cache, "FORMAT", cache.FORMAT + 1)
    assert cache.fingerprint() != before


def test_closures_and_code_typed_without_a_file_are_not_described():
    from s2sgrad import cache
    scale = 2.0

    def inner(x):
        return x * scale

    assert cache.describe(inner) is None
    namespace = {}
    exec(textwrap.dedent("def typed(x):\n    return x\n"), namespace)
    assert cache.describe(namespace["typed"]) is None
    assert cache.describe(3.0) != cache.describe(3.5)
    import numpy as np
    assert cache.describe(np.ones(3)) != cache.describe(np.ones(4))
    assert cache.describe(np.tanh) != cache.describe(np.sin)


def test_the_test_suite_runs_with_the_cache_off():
    from s2sgrad import cache
    assert cache.directory() is None


def test_code_loaded_from_disk_has_every_field_the_compiler_sets(tmp_path, monkeypatch):
    # A field a later change adds to Derived must be stored too, or code loaded from disk would lack it.
    import dataclasses
    import importlib.util
    from s2sgrad import pipeline
    _write(tmp_path)
    spec = importlib.util.spec_from_file_location("cached_mod", tmp_path / "mod.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setenv("S2SGRAD_CACHE_DIR", str(tmp_path / "cache"))
    for mode in ("reverse", "vjp", "forward"):
        kinds = (("x", "scalar"), ("w", "scalar"), ("n", "scalar"))
        compiled = pipeline.derive(mod.f, ("x", "w"), kinds, mode=mode)
        for key in [k for k in pipeline._CACHE if k[0] in (mod.f, mod.helper)]:
            monkeypatch.delitem(pipeline._CACHE, key)
        monkeypatch.setattr(pipeline, "lower", None)            # loading must not lower anything
        loaded = pipeline.derive(mod.f, ("x", "w"), kinds, mode=mode)
        monkeypatch.undo()
        monkeypatch.setenv("S2SGRAD_CACHE_DIR", str(tmp_path / "cache"))
        assert loaded is not compiled
        for f in dataclasses.fields(pipeline.Derived):
            if f.name in ("function", "pullback", "compiled", "compiled_pullback", "helpers", "source", "waiters"):
                continue
            assert getattr(loaded, f.name) == getattr(compiled, f.name), (mode, f.name)
        assert [h.text for h in loaded.helpers] == [h.text for h in compiled.helpers]
        assert (loaded.pullback is None) == (compiled.pullback is None)


def test_an_entry_missing_a_field_is_not_read(tmp_path, monkeypatch):
    from s2sgrad import cache
    monkeypatch.setenv("S2SGRAD_CACHE_DIR", str(tmp_path))
    whole = {k: [] for k in cache.ENTRY_KEYS} | {"values": {}, "helpers": []}
    cache.store("ab" * 32, whole)
    assert cache.load("ab" * 32) is not None
    cache.store("cd" * 32, {k: v for k, v in whole.items() if k != "origins"})
    assert cache.load("cd" * 32) is None
    cache.store("ef" * 32, {**whole, "helpers": [["source", "h"]]})
    assert cache.load("ef" * 32) is None
