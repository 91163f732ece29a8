"""Offline fuzzing of s2sgrad with generated programs: the harness that shows issue 8 closed.

    python tests/fuzz.py --count 5000 --seed 0 --jobs 2      # prints a summary; exit 1 on any failure
    python tests/fuzz.py --replay 1234                      # one program: its text and every finding
    python tests/fuzz.py --reduce 1234                      # what of it the first failure needs
    python tests/fuzz.py --count 500 --mix closure=0,float16=0.2

Each program comes from `program_generator.make_program(seed, mix)` (scalar programs f(x, y, n) and
array programs f(x, [W,] c, n)), is written to its own file and imported as a fresh module. At each
of a few points (drawn from the seed) it is checked:

- value: `value_and_grad`'s value is exactly f's value (same operations), random draws included:
  the generator of np.random is seeded the same way before every call;
- gradient: against float64 central differences (eps 1e-6, rtol 1e-5, atol 1e-6), where the program
  is smooth enough there for a finite difference to measure a derivative (the same kink detection
  as tests/test_random_programs.py); a NaN or inf where the difference is finite is a wrong gradient.
  float32 and float16 programs are run in that dtype: the gradient must have the dtype and shape of
  its argument and agree with the float64 differences of the same program at the same point within
  a tolerance suited to the dtype (LOW_PRECISION), where the program is smooth at that resolution;
- side effects: helpers that append to the module's CALLS list run as often in value_and_grad (and
  in jvp) as in f, and the caller's arrays are never changed;
- jvp: its value is f's, its tangent is the gradient dotted with a random direction;
- hessian (a share of the float64 programs without random draws): against central differences of
  s2sgrad's own gradient (h 1e-5, checked against h 1e-4 to skip kinks; rtol 1e-5, atol 1e-6
  relative to the Hessian's size);
- determinism: `s2sgrad.source` gives the same text for f and for a fresh import of the same text.

Outcomes, per program (the worst of its findings): ok; refused (an S2SGradError whose message starts
with a location in the program's file: a correct answer); WRONG (a value, gradient, tangent, Hessian,
dtype or side-effect count that disagrees); INTERNAL (any other exception, an S2SGradError with no
location in the program, a timeout, or generated code that changes between compilations); GENERATOR
(the program itself failed: a bug of the generator, not of s2sgrad). Two located refusals count as
INTERNAL too: "no gradient rule for s2sgrad.<one of its own runtime helpers>", and a Hessian refused
where value_and_grad and jvp accepted the program (second order differentiates generated code, which
must stay inside the language s2sgrad accepts). Each WRONG, INTERNAL and GENERATOR program is
written, with its seed, point, finding and traceback, to --out.

Not collected by pytest (the name does not start with test_); tests/test_random_programs.py imports
`check_program` from here for its derandomised slice.
"""

import argparse
import collections
import importlib.util
import itertools
import json
import math
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import s2sgrad  # noqa: E402
from program_generator import ARRAY_MIX, make_program  # noqa: E402

OK, REFUSED, WRONG, INTERNAL, GENERATOR = "ok", "refused", "WRONG", "INTERNAL", "GENERATOR"
FAILURES = (WRONG, INTERNAL, GENERATOR)
SEVERITY = {OK: 0, REFUSED: 1, WRONG: 2, INTERNAL: 3, GENERATOR: 4}

EPS = 1e-6                 # central differences, float64
RTOL, ATOL = 1e-5, 1e-6
# dtype -> (rtol, atol relative to 1 + the largest entry of the float64 gradient, resolution): the
# low-precision gradient against float64 differences; where the float64 central difference at
# `resolution` disagrees with the one at EPS, the program is not smooth at that dtype's rounding
# (a comparison may go the other way) and the entry is not compared.
LOW_PRECISION = {"float32": (2e-5, 2e-5, None), "float16": (1e-2, 1e-2, 1e-2)}
JVP_RTOL = {"float64": 1e-8, "float32": 1e-4, "float16": 3e-2}
HESSIAN_RTOL, HESSIAN_ATOL, HESSIAN_H = 1e-5, 1e-6, 1e-5
X_SHIFT, Y_SHIFT = 0.0123456789, -0.0234567891      # off the simple values (see test_random_programs)
RANDOM_CONSTRUCTS = ("helper-random", "random-in-f")


@dataclass
class Finding:
    outcome: str
    check: str          # value_and_grad, value, gradient, dtype, side effects, arguments, jvp, hessian, source, ...
    message: str
    kind: str = ""      # an exception's class, or a refusal's message class
    tags: tuple = ()    # constructs named on the program line a refusal points at
    trace: str = ""
    point: str = ""     # f's arguments where it was found


@dataclass
class Result:
    seed: int
    family: str
    dtype: str
    constructs: tuple
    outcome: str = OK
    findings: list = field(default_factory=list)
    points: int = 0      # points where the gradient could be compared
    skipped: int = 0     # gradient entries not compared there (not smooth enough for finite differences)
    seconds: float = 0.0
    text: str = ""
    point: str = ""

    def add(self, finding):
        finding.point = finding.point or self.point
        self.findings.append(finding)
        if SEVERITY[finding.outcome] > SEVERITY[self.outcome]:
            self.outcome = finding.outcome


class Stop(Exception):
    """Ends a program's checks (a generator mistake, or a timeout)."""


class Timeout(Exception):
    pass


# ----------------------------------------------------------------------------------------- loading

_counter = itertools.count()


def load(directory, text):
    """Write `text` to a fresh file and import it as a fresh module: (path, module)."""
    name = f"s2sgrad_fuzz_{os.getpid()}_{next(_counter)}"
    path = os.path.join(directory, f"{name}.py")
    with open(path, "w") as out:
        out.write(text)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return path, module


# -------------------------------------------------------------------------------------- arguments

def make_point(program, index):
    """f's arguments at point `index` of the program, in float64."""
    rng = np.random.default_rng([program.seed or 0, index])
    args = []
    for name, spec in program.params:
        if spec[0] == "int":
            args.append(int(rng.integers(0, 5 if program.family == "scalar" else 4)))
        elif spec[0] == "float":
            if program.family == "scalar":
                args.append(float(rng.uniform(-1.9, 1.9)) + (X_SHIFT if name == "x" else Y_SHIFT))
            else:
                args.append(float(rng.uniform(-1.5, 1.5)) + X_SHIFT)
        else:
            args.append(rng.uniform(-1.5 if name == "x" else -1.0, 1.5 if name == "x" else 1.0, size=spec[1]))
    return args


def in_dtype(program, args):
    """The arguments as the program's dtype gives them: arrays (and a scalar x) in that dtype; other
    floats stay Python floats, as a user passes them."""
    if program.dtype == "float64":
        return list(args)
    t = np.dtype(program.dtype).type
    out = []
    for (name, spec), a in zip(program.params, args):
        if spec[0] == "array":
            out.append(a.astype(program.dtype))
        elif spec[0] == "float" and name == "x":
            out.append(t(a))
        else:
            out.append(a)
    return out


def as_float64(args):
    return [a.astype(np.float64) if isinstance(a, np.ndarray) else float(a) if isinstance(a, np.floating) else a
            for a in args]


def copied(args):
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def same(a, b):
    """Exactly equal values (NaN equal to NaN), arrays or scalars, tuples of them."""
    if isinstance(a, tuple) or isinstance(b, tuple):
        return isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b) and all(map(same, a, b))
    return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True) and np.shape(a) == np.shape(b)


class Runner:
    """Runs f and s2sgrad's functions of one program the same way each time: fresh copies of the
    arguments, np.random seeded alike, the module's CALLS list emptied (and counted afterwards)."""

    def __init__(self, module, seed):
        self.module, self.seed = module, seed & 0xFFFFFFFF

    def __call__(self, fn, args):
        calls = getattr(self.module, "CALLS", None)
        if calls is not None:
            calls.clear()
        np.random.seed(self.seed)
        value = fn(*args)
        return value, (len(calls) if calls is not None else 0)

    def f(self, args):
        return self(self.module.f, copied(args))[0]


# ----------------------------------------------------------------------------- finite differences

def _replace(args, pos, index, t):
    out = list(args)
    if index is None:
        out[pos] = t
    else:
        x = out[pos].copy()
        x[index] = t
        out[pos] = x
    return out


def smooth_partial(fx, t0, f0, resolution=None):
    """The central difference of the scalar function fx at t0 (fx(t0) == f0), or NaN where fx is not
    smooth enough around t0 for a finite difference to measure its derivative: the difference at eps
    must agree with the one at 10 eps, and the second difference must scale with eps as a smooth
    function's does (a kink right on t0 leaves both differences equal, but not the second ones).
    With `resolution`, the difference at that step must agree too (within the low-precision
    tolerance checked by the caller: returned as the second value)."""
    hi6, lo6, hi5, lo5 = fx(t0 + EPS), fx(t0 - EPS), fx(t0 + 10 * EPS), fx(t0 - 10 * EPS)
    d6, d5 = (hi6 - lo6) / (2 * EPS), (hi5 - lo5) / (20 * EPS)
    coarse = None
    if resolution is not None:
        coarse = (fx(t0 + resolution) - fx(t0 - resolution)) / (2 * resolution)
    if not (math.isfinite(d6) and math.isfinite(d5)):
        return math.nan, coarse
    if abs(d6 - d5) > 1e-4 * max(abs(d6), abs(d5)) + 1e-7:
        return math.nan, coarse
    s6, s5 = (hi6 - 2 * f0 + lo6) / EPS, (hi5 - 2 * f0 + lo5) / (10 * EPS)
    if abs(s6 - s5 / 10) > ATOL + RTOL * abs(d6):
        return math.nan, coarse
    return d6, coarse


def fd_gradient(run, args, pos, f0, resolution=None):
    """(d f / d args[pos] by central differences, NaN where not smooth; the coarse differences at
    `resolution`, or None)."""
    x = args[pos]

    def along(index):
        return lambda t: float(run.f(_replace(args, pos, index, t)))

    if isinstance(x, np.ndarray):
        g, coarse = np.full(x.shape, np.nan), np.full(x.shape, np.nan)
        for index in np.ndindex(x.shape):
            g[index], c = smooth_partial(along(index), float(x[index]), f0, resolution)
            coarse[index] = np.nan if c is None else c
        return g, (coarse if resolution is not None else None)
    return smooth_partial(along(None), float(x), f0, resolution)


# ------------------------------------------------------------------------------------ classifying

_LOCATION = re.compile(r"^(?P<path>.+?):(?P<line>\d+)(?::\d+)?: ")


def message_class(text, path):
    """A refusal's message without its location, names and numbers: what the summary groups by."""
    first = text.split("\n", 1)[0]
    first = _LOCATION.sub("", first, count=1)
    first = first.replace(path, "<program>")
    first = re.sub(r"'[^']*'", "'…'", first)
    first = re.sub(r"`[^`]*`", "`…`", first)
    first = re.sub(r"\b\d+\b", "N", first)
    return first[:160]


def line_tags(program_text, lineno):
    lines = program_text.splitlines()
    if not 1 <= lineno <= len(lines):
        return ()
    m = re.search(r"# \[([^\]]*)\]\s*$", lines[lineno - 1])
    return tuple(t.strip() for t in m.group(1).split(",")) if m else ()


def classified(err, check, path, program):
    """The Finding an exception raised by s2sgrad (or its generated code) is."""
    trace = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    if isinstance(err, Timeout):
        return Finding(INTERNAL, check, "timed out", "Timeout", trace=trace)
    if isinstance(err, s2sgrad.S2SGradError):
        text = str(err)
        m = _LOCATION.match(text)
        if m and m.group("path") == path:
            if "rule for s2sgrad." in text:      # s2sgrad's own runtime helpers must be differentiable
                return Finding(INTERNAL, check, f"no rule for a helper of s2sgrad's own: {text}",
                               "no rule for an s2sgrad helper", trace=trace)
            tags = line_tags(program.text, int(m.group("line")))
            return Finding(REFUSED, check, text, f"{type(err).__name__}: {message_class(text, path)}", tags)
        return Finding(INTERNAL, check, f"an S2SGradError with no location in the program: {text}",
                       f"unlocated {type(err).__name__}", trace=trace)
    return Finding(INTERNAL, check, f"{type(err).__name__}: {err}", type(err).__name__, trace=trace)


def worst_mismatch(got, expected, rtol, atol, scale=False):
    """None, or (kind, description) of the worst entry where `got` disagrees with `expected` (NaN entries
    of `expected` are not compared; `scale` makes atol relative to 1 + max |expected|)."""
    g, e = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if g.shape != e.shape:
        return "shape", f"shape {g.shape}, expected {e.shape}"
    known = np.isfinite(e)
    if not known.any():
        return None
    if scale:
        atol = atol * (1.0 + np.max(np.abs(e[known])))
    bad_value = known & ~np.isfinite(g)
    if bad_value.any():
        index = tuple(np.argwhere(bad_value)[0]) if g.ndim else ()
        return "non-finite", f"{float(g[index])!r} where finite differences give {float(e[index])!r} (entry {_entry(index)})"
    err = np.where(known, np.abs(g - np.where(known, e, 0.0)) - (atol + rtol * np.abs(np.where(known, e, 0.0))), -1.0)
    if np.max(err) <= 0:
        return None
    index = np.unravel_index(np.argmax(err), err.shape) if g.ndim else ()
    return "mismatch", (f"{float(g[index])!r}, finite differences {float(e[index])!r} (entry {_entry(index)}; "
            f"rtol {rtol}, atol {atol:.3g})")


def _entry(index):
    return tuple(int(i) for i in index)


def describe(args):
    return ", ".join(f"{a!r}" if not isinstance(a, np.ndarray) else
                     f"np.array({np.array2string(a, precision=17, separator=', ', max_line_width=10**6)}, "
                     f"dtype=np.{a.dtype})".replace("\n", "") for a in args)


def type_problem(g, x):
    """None, or how the gradient `g` fails to have the type, shape and dtype of its argument `x`."""
    if type(x) is float:
        return None if type(g) is float else f"a {type(g).__name__} for a float argument"
    if isinstance(x, np.ndarray):
        if not isinstance(g, np.ndarray):
            return f"a {type(g).__name__} for an array argument"
        if g.shape != x.shape or g.dtype != x.dtype:
            return f"shape {g.shape} dtype {g.dtype} for an argument of shape {x.shape} dtype {x.dtype}"
        return None
    if isinstance(x, np.floating):
        return None if getattr(g, "dtype", None) == x.dtype else f"{type(g).__name__} for a {x.dtype} scalar"
    return None


# ---------------------------------------------------------------------------------------- checking

class Program_check:
    """The checks of one program (see the module docstring); findings go into `result`."""

    def __init__(self, program, directory, result, hessian):
        self.program, self.result, self.hessian = program, result, hessian
        self.directory = directory
        self.path, self.module = load(directory, program.text)
        self.f = self.module.f
        self.run = Runner(self.module, program.seed or 0)
        names = [n for n, _ in program.params]
        self.positions = [names.index(n) for n in program.wrt]
        self.refused = set()          # modes refused once: not tried again at other points
        self.vg = self.guarded("value_and_grad", lambda: s2sgrad.value_and_grad(self.f, wrt=tuple(program.wrt)))

    def guarded(self, check, thunk):
        """thunk(), or None after recording the exception it raised."""
        if check in self.refused:
            return None
        try:
            return thunk()
        except Timeout:
            raise
        except Exception as err:  # noqa: BLE001 - classifying every exception is the point
            finding = classified(err, check, self.path, self.program)
            if finding.outcome == REFUSED and check.startswith("hessian") and \
                    not {"value_and_grad", "jvp"} & self.refused:
                # Second order differentiates s2sgrad's own generated code, which must stay inside the
                # language it accepts: refusing it where first order accepted the program is a defect.
                finding = Finding(INTERNAL, check, f"second order refused what first order accepted: {finding.message}",
                                  f"second order refused: {finding.kind}", finding.tags,
                                  "".join(traceback.format_exception(type(err), err, err.__traceback__)))
            self.result.add(finding)
            self.refused.add(check)
            return None

    def point(self, index, at=None):
        program, run = self.program, self.run
        args_d = in_dtype(program, list(at) if at is not None else make_point(program, index))
        args = as_float64(args_d)
        self.result.point = describe(args_d)
        try:
            value64 = run.f(args)
        except Exception as err:  # noqa: BLE001
            self.result.add(Finding(GENERATOR, "program", f"f raised {type(err).__name__}: {err}",
                                    type(err).__name__, trace=traceback.format_exc()))
            raise Stop from err
        if np.ndim(value64) != 0:
            self.result.add(Finding(GENERATOR, "program", f"f returned shape {np.shape(value64)}"))
            raise Stop
        if not np.isfinite(value64):
            if "nan-overwrite" in program.constructs:     # the overwriting branch was not taken here
                return
            self.result.add(Finding(GENERATOR, "program", f"f returned {value64!r}"))
            raise Stop
        low = LOW_PRECISION.get(program.dtype)
        expected, coarse = [], []
        for pos in self.positions:
            e, c = fd_gradient(run, args, pos, float(value64), low[2] if low else None)
            expected.append(e)
            coarse.append(c)
            self.result.skipped += int(np.sum(~np.isfinite(np.asarray(e))))
        value_d, calls_f = run(self.f, copied(args_d))
        if not np.isfinite(value_d):
            return            # overflows in float16, or a NaN branch in low precision

        passed = copied(args_d)
        out = self.guarded("value_and_grad", lambda: run(self.vg, passed)) if self.vg else None
        grads = None
        if out is not None:
            (got_value, grads), calls_g = out
            for (name, _), before, after in zip(program.params, args_d, passed):
                if isinstance(before, np.ndarray) and not np.array_equal(before, after, equal_nan=True):
                    self.result.add(Finding(WRONG, "arguments", f"value_and_grad changed the caller's array {name}",
                                            "changed an argument"))
            if not same(got_value, value_d):
                self.result.add(Finding(WRONG, "value", f"value_and_grad's value {got_value!r} != f's {value_d!r}",
                                        "value differs"))
            if calls_g != calls_f:
                self.result.add(Finding(WRONG, "side effects", f"helpers with side effects ran {calls_g} times in "
                                        f"value_and_grad, {calls_f} times in f", "helpers ran again"))
            grads = grads if isinstance(grads, tuple) else (grads,)
            for name, pos, g, e, c in zip(program.wrt, self.positions, grads, expected, coarse):
                problem = type_problem(g, args_d[pos])
                if problem:
                    self.result.add(Finding(WRONG, "dtype", f"d/d{name}: {problem}", "gradient type"))
                    continue
                if low is None:
                    bad = worst_mismatch(g, e, RTOL, ATOL)
                else:
                    rtol, atol, resolution = low
                    if c is not None:           # not smooth at this dtype's rounding: not compared
                        e = np.where(np.abs(np.asarray(c) - e) <= atol * (1 + np.nanmax(np.abs(e), initial=0))
                                     + rtol * np.abs(e), e, np.nan)
                    bad = worst_mismatch(g, e, rtol, atol, scale=True)
                if bad:
                    self.result.add(Finding(WRONG, "gradient", f"d/d{name} ({program.dtype}): {bad[1]}",
                                            f"{bad[0]} {program.dtype} gradient"))
            self.result.points += 1
        self.jvp(index, args_d, value_d, calls_f, grads, expected)
        if self.hessian and grads is not None:
            self.check_hessian(index, args)

    def jvp(self, index, args_d, value_d, calls_f, grads, expected):
        program, run = self.program, self.run
        rng = np.random.default_rng([program.seed or 0, index, 7])
        tangents = []
        for pos in self.positions:
            x = args_d[pos]
            t = rng.normal(size=np.shape(x))
            tangents.append(t.astype(x.dtype) if isinstance(x, np.ndarray) else
                            x.dtype.type(t) if isinstance(x, np.floating) else float(t))
        tangent_arg = tuple(tangents)
        out = self.guarded("jvp", lambda: run(lambda *a: s2sgrad.jvp(self.f, a, tangent_arg, wrt=tuple(program.wrt)),
                                              copied(args_d)))
        if out is None:
            return
        (value, tangent), calls_j = out
        if not same(value, value_d):
            self.result.add(Finding(WRONG, "jvp", f"jvp's value {value!r} != f's {value_d!r}", "value differs"))
        if calls_j != calls_f:
            self.result.add(Finding(WRONG, "side effects", f"helpers with side effects ran {calls_j} times in jvp, "
                                    f"{calls_f} times in f", "helpers ran again"))
        ts = [np.asarray(t, dtype=np.float64) for t in tangents]
        size = sum(float(np.sum(np.abs(t))) for t in ts)
        tangent = float(np.asarray(tangent, dtype=np.float64))
        if not math.isfinite(tangent):
            if all(np.isfinite(e).all() for e in map(np.asarray, expected)):
                self.result.add(Finding(WRONG, "jvp", f"jvp's tangent is {tangent!r}; finite differences are finite",
                                        f"non-finite {program.dtype} tangent"))
            return
        rtol = JVP_RTOL[program.dtype]
        if grads is not None:
            gs = [np.asarray(g, dtype=np.float64) for g in grads]
            if all(np.isfinite(g).all() for g in gs):
                dot = sum(float(np.sum(g * t)) for g, t in zip(gs, ts))
                scale = sum(float(np.sum(np.abs(g * t))) for g, t in zip(gs, ts))
                if abs(tangent - dot) > rtol * (scale + 1.0):
                    self.result.add(Finding(WRONG, "jvp", f"jvp's tangent {tangent!r} != gradient . direction {dot!r}",
                                            f"tangent != gradient . direction ({program.dtype})"))
                return
        es = [np.asarray(e, dtype=np.float64) for e in expected]
        if all(np.isfinite(e).all() for e in es):     # no gradient to compare with: finite differences
            dot = sum(float(np.sum(e * t)) for e, t in zip(es, ts))
            tol = (RTOL if program.dtype == "float64" else LOW_PRECISION[program.dtype][0]) * \
                sum(float(np.sum(np.abs(e * t))) for e, t in zip(es, ts)) + \
                (ATOL if program.dtype == "float64" else LOW_PRECISION[program.dtype][1]) * (size + 1)
            if abs(tangent - dot) > tol:
                self.result.add(Finding(WRONG, "jvp", f"jvp's tangent {tangent!r}, finite differences {dot!r}",
                                        f"tangent mismatch ({program.dtype})"))

    def check_hessian(self, index, args):
        program, run = self.program, self.run   # f runs alike in the Hessian (seeded, CALLS emptied)
        rng = random.Random((program.seed or 0) * 31 + index)
        choices = [(n, p) for n, p in zip(program.wrt, self.positions) if np.size(args[p]) <= 6]
        if not choices:
            return
        name, pos = rng.choice(choices)
        hess = self.guarded("hessian", lambda: run(s2sgrad.hessian(self.f, wrt=name), copied(args))[0])
        if hess is None:
            return
        columns = self.guarded("hessian reference", lambda: self.hessian_columns(name, pos, args))
        if columns is None:
            return
        bad = worst_mismatch(np.asarray(hess, dtype=np.float64).reshape(columns.shape), columns,
                             HESSIAN_RTOL, HESSIAN_ATOL, scale=True)
        if bad:
            self.result.add(Finding(WRONG, "hessian", f"d2/d{name}2: {bad[1]}", f"{bad[0]} Hessian"))

    def hessian_columns(self, name, pos, args):
        """Central differences (step HESSIAN_H) of s2sgrad's gradient, column by column; NaN columns
        where the step 10 * HESSIAN_H disagrees (a kink nearby)."""
        run = self.run
        gradient = s2sgrad.grad(self.f, wrt=name)
        x = args[pos]
        n = int(np.size(x))
        columns = np.full((n, n), np.nan)
        for j in range(n):
            def g_at(step):
                xp, xm = np.array(x, dtype=np.float64).reshape(-1), np.array(x, dtype=np.float64).reshape(-1)
                xp[j] += step
                xm[j] -= step
                shape = np.shape(x)
                gp = run(gradient, _with(args, pos, xp.reshape(shape) if shape else float(xp[0])))[0]
                gm = run(gradient, _with(args, pos, xm.reshape(shape) if shape else float(xm[0])))[0]
                return (np.asarray(gp, dtype=np.float64) - np.asarray(gm, dtype=np.float64)).reshape(-1) / (2 * step)
            fine, rough = g_at(HESSIAN_H), g_at(10 * HESSIAN_H)
            if np.all(np.abs(fine - rough) <= 1e-6 * (1 + np.abs(fine))):
                columns[:, j] = fine
        return columns

    def determinism(self):
        texts = []
        _, again = load(self.directory, self.program.text)
        for fn in (self.f, again.f):      # two function objects: the second is compiled afresh
            try:
                texts.append(s2sgrad.source(fn, wrt=tuple(self.program.wrt)).replace(again.__file__, self.path)
                             .replace(again.__name__, self.module.__name__))
            except Timeout:
                raise
            except s2sgrad.S2SGradError as err:    # the generic code may refuse what a call's kinds allow
                texts.append(f"<{type(err).__name__}: {str(err).replace(again.__file__, self.path)}>")
            except Exception as err:  # noqa: BLE001
                self.result.add(classified(err, "source", self.path, self.program))
                return
        if texts[0] != texts[1]:
            self.result.add(Finding(INTERNAL, "determinism", "s2sgrad.source gave different texts:\n"
                                    + "\n-----\n".join(texts)))


def _with(args, pos, value):
    out = list(args)
    out[pos] = value
    return out


def _alarm(signum, frame):
    raise Timeout()


def check_program(program, directory, points=2, hessian=False, determinism=True, timeout=None, at=None):
    """Every check of the module docstring on `program` (its file written into `directory`): a Result.
    `at` gives the points instead (lists of f's arguments in float64, cast to the program's dtype).

    Example:
        >>> check_program(make_program(12), "/tmp").outcome
    """
    result = Result(program.seed, program.family, program.dtype, tuple(sorted(program.constructs)),
                    text=program.text)
    start = time.perf_counter()
    if timeout:
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            checker = Program_check(program, directory, result,
                                    hessian and program.dtype == "float64"
                                    and not set(RANDOM_CONSTRUCTS) & set(program.constructs))
            for index, point in enumerate(at if at is not None else [None] * points):
                checker.point(index, point)
            if determinism:
                checker.determinism()
    except Stop:
        pass
    except Timeout:
        result.add(Finding(INTERNAL, "timeout", f"no answer within {timeout} s", "Timeout"))
    except Exception as err:  # noqa: BLE001 - a harness failure must be seen, not crash the run
        result.add(Finding(GENERATOR, "harness", f"the harness raised {type(err).__name__}: {err}",
                           type(err).__name__, trace=traceback.format_exc()))
    finally:
        if timeout:
            signal.setitimer(signal.ITIMER_REAL, 0)
    result.seconds = time.perf_counter() - start
    return result


# ------------------------------------------------------------------------------------------ the run

_worker = {}


def _init_worker(directory, options):
    _worker["directory"] = tempfile.mkdtemp(prefix=f"w{os.getpid()}-", dir=directory)
    _worker["options"] = options


def _check_seed(seed):
    options = _worker["options"]
    program = make_program(seed, options["mix"])
    hessian = random.Random(seed * 2 + 2).random() < options["hessian_share"]
    result = check_program(program, _worker["directory"], options["points"], hessian,
                           options["determinism"], options["timeout"])
    if result.outcome not in FAILURES:
        result.text = ""
    return asdict(result)


def seeds_for(seed, count):
    return [seed * 10_000_000 + i for i in range(count)]


def summarise(results, seconds, args, out):
    counts = collections.Counter(r["outcome"] for r in results)
    total = len(results)
    lines = [f"s2sgrad fuzz: {total} programs (seed {args.seed}, {args.points} points each, "
             f"mix {args.mix_text or 'default'}) in {seconds:.0f} s", ""]
    lines.append(f"{'outcome':<12}{'programs':>9}{'share':>8}")
    for outcome in (OK, REFUSED, WRONG, INTERNAL, GENERATOR):
        lines.append(f"{outcome:<12}{counts[outcome]:>9}{100 * counts[outcome] / max(total, 1):>7.1f}%")
    refused = [r for r in results if r["outcome"] == REFUSED]
    by_mode = collections.Counter(f["check"] for r in refused for f in r["findings"] if f["outcome"] == REFUSED)
    lines += ["", f"refusal rate: {100 * len(refused) / max(total, 1):.1f}% of programs "
                  f"(refusals by function: {', '.join(f'{k} {v}' for k, v in by_mode.most_common())})"]
    by_family = collections.defaultdict(collections.Counter)
    for r in results:
        by_family[f"{r['family']}/{r['dtype']}"][r["outcome"]] += 1
    lines += ["", f"{'family/dtype':<18}{'programs':>9}{'refused':>9}{'rate':>7}{'WRONG':>7}{'INTERNAL':>9}"]
    for key in sorted(by_family):
        c = by_family[key]
        n = sum(c.values())
        lines.append(f"{key:<18}{n:>9}{c[REFUSED]:>9}{100 * c[REFUSED] / n:>6.1f}%{c[WRONG]:>7}{c[INTERNAL]:>9}")

    constructs = sorted(set(ARRAY_MIX) - {"scalar-family"} | {c for r in results for c in r["constructs"]})
    lines += ["", "per construct: programs using it; refused (rate); refusals pointing at a line that uses it; "
                  "WRONG; INTERNAL",
              f"{'construct':<18}{'programs':>9}{'refused':>9}{'rate':>7}{'at-line':>9}{'WRONG':>7}{'INTERNAL':>9}"]
    for c in constructs:
        having = [r for r in results if c in r["constructs"]]
        if not having:
            continue
        oc = collections.Counter(r["outcome"] for r in having)
        at_line = sum(1 for r in having if any(c in f["tags"] for f in r["findings"] if f["outcome"] == REFUSED))
        lines.append(f"{c:<18}{len(having):>9}{oc[REFUSED]:>9}{100 * oc[REFUSED] / len(having):>6.1f}%"
                     f"{at_line:>9}{oc[WRONG]:>7}{oc[INTERNAL]:>9}")

    messages = collections.Counter()
    example = {}
    for r in refused:
        for f in r["findings"]:
            if f["outcome"] == REFUSED:
                messages[f["kind"]] += 1
                example.setdefault(f["kind"], r["seed"])
    lines += ["", "top refusal messages (count, example seed):"]
    for kind, n in messages.most_common(args.top):
        lines.append(f"{n:>6}  {example[kind]:>10}  {kind}")

    failures = [r for r in results if r["outcome"] in FAILURES]
    if failures:
        kinds = collections.Counter((f["outcome"], f["check"], f["kind"] or f["message"][:80])
                                    for r in failures for f in r["findings"] if f["outcome"] in FAILURES)
        lines += ["", "failures by check (count, outcome, check, kind):"]
        for (outcome, check, kind), n in kinds.most_common():
            lines.append(f"{n:>6}  {outcome:<9} {check:<15} {kind}")
        lines += ["", f"{len(failures)} failing programs written to {out}; replay one with "
                      f"python tests/fuzz.py --replay SEED{' --mix ' + args.mix_text if args.mix_text else ''}"]
    else:
        lines += ["", "no WRONG, INTERNAL or GENERATOR outcome"]
    return "\n".join(lines)


def write_failure(out, r):
    path = os.path.join(out, f"{r['outcome']}-{r['seed']}.py")
    header = [f"seed {r['seed']} ({r['family']}, {r['dtype']}): {r['outcome']}",
              f"constructs: {', '.join(r['constructs'])}", f"point: f({r['point']})", ""]
    for f in r["findings"]:
        header += [f"{f['outcome']} in {f['check']}: {f['message']}", f"at f({f['point']})"]
        if f["trace"]:
            header += f["trace"].rstrip().splitlines()
        header.append("")
    with open(path, "w") as fh:
        fh.write("".join(f"# {line}\n" for line in header) + "\n" + r["text"])


def _block_end(lines, i):
    """The index after the statement starting at line i and the lines indented under it."""
    indent = len(lines[i]) - len(lines[i].lstrip())
    j = i + 1
    while j < len(lines) and (not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > indent):
        j += 1
    return j


def _simpler_expressions(text):
    """Texts with one expression replaced by a part of it: an operand of an operator, a branch of a
    conditional expression, an argument of a call, an operand of `and`/`or`/`not` (written back with
    ast.unparse, so trailing comments go)."""
    import ast
    import copy

    count = sum(1 for _ in ast.walk(ast.parse(text)))
    for index in range(count):
        tree = ast.parse(text)
        node = next(itertools.islice(ast.walk(tree), index, None))
        if isinstance(node, ast.BinOp):
            parts = [node.left, node.right]
        elif isinstance(node, ast.IfExp):
            parts = [node.body, node.orelse]
        elif isinstance(node, ast.BoolOp):
            parts = node.values
        elif isinstance(node, ast.UnaryOp):
            parts = [node.operand]
        elif isinstance(node, ast.Call):
            parts = [a for a in node.args if not isinstance(a, ast.Starred)]
        else:
            continue
        for k in range(len(parts)):
            tree = ast.parse(text)
            target = next(itertools.islice(ast.walk(tree), index, None))
            part = copy.deepcopy({ast.BinOp: lambda t: [t.left, t.right], ast.IfExp: lambda t: [t.body, t.orelse],
                                  ast.BoolOp: lambda t: t.values, ast.UnaryOp: lambda t: [t.operand],
                                  ast.Call: lambda t: [a for a in t.args if not isinstance(a, ast.Starred)]}
                                 [type(target)](target)[k])

            class Swap(ast.NodeTransformer):
                def visit(self, n):
                    return part if n is target else self.generic_visit(n)

            yield ast.unparse(Swap().visit(tree)) + "\n"


def finding_key(finding):
    """What a reduced program must keep of a finding: its outcome, check, kind and first message line
    (numbers aside)."""
    return (finding.outcome, finding.check, finding.kind,
            re.sub(r"\d+(\.\d+)?(e-?\d+)?", "N", finding.message.split("\n", 1)[0])[:200])


def reduce_program(program, target, directory, points=2, hessian=False, log=None):
    """The program with as many lines removed as keeps the finding `target` (a finding_key) at the
    same points: a statement with its body, a statement alone, or a statement replaced by
    `pass`; then expressions replaced by one of their parts (see _simpler_expressions); repeated
    until nothing more can go. Returns the reduced Program.

    Example:
        >>> r = check_program(make_program(23), "/tmp")
        >>> print(reduce_program(make_program(23), finding_key(r.findings[0]), "/tmp").text)
    """
    from dataclasses import replace

    lines = program.text.splitlines()
    tries = itertools.count(1)

    def still_fails(candidate):
        text = "\n".join(candidate) + "\n"
        try:
            compile(text, "<reduced>", "exec")
        except SyntaxError:
            return False
        reduced = replace(program, text=text, annotated=text)
        r = check_program(reduced, directory, points, hessian, determinism=target[1] == "determinism", timeout=60)
        n = next(tries)
        if log and n % 20 == 0:
            log(f"{n} tries, {len(candidate)} lines")
        return (any(finding_key(f) == tuple(target) for f in r.findings)
                and not any(f.outcome == GENERATOR for f in r.findings))

    changed = True
    while changed:
        changed = False
        for text in _simpler_expressions("\n".join(lines) + "\n"):
            if still_fails(text.splitlines()):
                lines, changed = text.splitlines(), True
                break
        if changed:
            continue
        i = 0
        while i < len(lines):
            if not lines[i].strip() or lines[i].lstrip().startswith(("import ", "def f(")):
                i += 1
                continue
            end = _block_end(lines, i)
            indent = lines[i][:len(lines[i]) - len(lines[i].lstrip())]
            candidates = [lines[:i] + lines[end:]]
            if end > i + 1:
                candidates.append(lines[:i] + lines[i + 1:end] if lines[i].rstrip().endswith(":") else None)
            candidates.append(lines[:i] + [indent + "pass"] + lines[end:] if lines[i].strip() != "pass" else None)
            for candidate in filter(None, candidates):
                if still_fails(candidate):
                    lines, changed = candidate, True
                    break
            else:
                i += 1
    text = "\n".join(lines) + "\n"
    return replace(program, text=text, annotated=text)


def parse_mix(text):
    mix = {}
    for item in filter(None, (text or "").split(",")):
        key, _, value = item.partition("=")
        if key not in ARRAY_MIX:
            raise SystemExit(f"unknown construct {key!r} in --mix; known: {', '.join(sorted(ARRAY_MIX))}")
        mix[key] = float(value)
    return mix


def replay(seed, args):
    program = make_program(seed, args.mix)
    print(f"--- program {seed} ({program.family}, {program.dtype}; constructs: {', '.join(sorted(program.constructs))})")
    print(program.text)
    directory = tempfile.mkdtemp(prefix="s2sgrad-fuzz-replay-")
    hessian = random.Random(seed * 2 + 2).random() < args.hessian_share
    r = check_program(program, directory, args.points, hessian, not args.no_determinism, args.timeout)
    print(f"--- outcome: {r.outcome} (gradient compared at {r.points} points; {r.seconds:.2f} s)")
    for f in r.findings:
        print(f"\n{f.outcome} in {f.check}: {f.message}\nat f({f.point})")
        if f.trace:
            print(f.trace)
    return 1 if r.outcome in FAILURES else 0


def reduce_command(seed, args):
    program = make_program(seed, args.mix)
    directory = tempfile.mkdtemp(prefix="s2sgrad-fuzz-reduce-")
    hessian = random.Random(seed * 2 + 2).random() < args.hessian_share
    r = check_program(program, directory, args.points, hessian, not args.no_determinism, args.timeout)
    failing = [f for f in r.findings if f.outcome in FAILURES]
    if not failing:
        print(f"program {seed} does not fail ({r.outcome})")
        return 0
    target = finding_key(failing[0])
    print(f"reducing program {seed} ({len(program.text.splitlines())} lines) keeping {target}", file=sys.stderr)
    reduced = reduce_program(program, target, directory, args.points, hessian,
                             log=lambda m: print(m, file=sys.stderr))
    print(reduced.text)
    r = check_program(reduced, directory, args.points, hessian, target[1] == "determinism", args.timeout)
    for f in r.findings:
        if f.outcome in FAILURES:
            print(f"{f.outcome} in {f.check}: {f.message}\nat f({f.point})")
    return 1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0, help="program i gets the seed SEED * 10**7 + i")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--points", type=int, default=2, help="points checked per program")
    parser.add_argument("--hessian-share", type=float, default=0.25, help="share of programs whose Hessian is checked")
    parser.add_argument("--mix", dest="mix_text", default="",
                        help="construct=probability,... overriding program_generator.ARRAY_MIX")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per program")
    parser.add_argument("--no-determinism", action="store_true", help="skip the source-twice check (faster)")
    parser.add_argument("--out", default="fuzz-failures", help="directory for failing programs")
    parser.add_argument("--top", type=int, default=15, help="refusal messages listed")
    parser.add_argument("--replay", type=int, help="check one program (its seed) and print every finding")
    parser.add_argument("--show", type=int, help="print one program (its seed)")
    parser.add_argument("--reduce", type=int, help="remove the lines of one program (its seed) that its first "
                                                    "failure does not need, and print what is left")
    parser.add_argument("--json", help="write one JSON line per program here")
    args = parser.parse_args(argv)
    args.mix = parse_mix(args.mix_text)
    if args.show is not None:
        print(make_program(args.show, args.mix).text)
        return 0
    if args.replay is not None:
        return replay(args.replay, args)
    if args.reduce is not None:
        return reduce_command(args.reduce, args)

    options = {"mix": args.mix, "points": args.points, "hessian_share": args.hessian_share,
               "determinism": not args.no_determinism, "timeout": args.timeout}
    work = tempfile.mkdtemp(prefix="s2sgrad-fuzz-")
    seeds = seeds_for(args.seed, args.count)
    start = time.perf_counter()
    results = []
    try:
        if args.jobs > 1:
            import multiprocessing
            with multiprocessing.get_context("fork").Pool(args.jobs, _init_worker, (work, options),
                                                          maxtasksperchild=250) as pool:
                for i, r in enumerate(pool.imap(_check_seed, seeds, chunksize=4)):
                    results.append(r)
                    _progress(i + 1, len(seeds), results, start)
        else:
            _init_worker(work, options)
            for i, seed in enumerate(seeds):
                results.append(_check_seed(seed))
                _progress(i + 1, len(seeds), results, start)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    seconds = time.perf_counter() - start
    if os.path.isdir(args.out):
        for name in os.listdir(args.out):
            if name.endswith(".py") and name.split("-")[0] in FAILURES:
                os.remove(os.path.join(args.out, name))
    failures = [r for r in results if r["outcome"] in FAILURES]
    if failures:
        os.makedirs(args.out, exist_ok=True)
        for r in failures:
            write_failure(args.out, r)
    if args.json:
        with open(args.json, "w") as fh:
            for r in results:
                fh.write(json.dumps({k: v for k, v in r.items() if k != "text"}) + "\n")
    print(summarise(results, seconds, args, args.out))
    return 1 if failures else 0


def _progress(done, total, results, start):
    if sys.stderr.isatty() and (done % 25 == 0 or done == total):
        bad = sum(r["outcome"] in FAILURES for r in results)
        sys.stderr.write(f"\r{done}/{total} programs, {bad} failing, {time.perf_counter() - start:.0f} s ")
        if done == total:
            sys.stderr.write("\n")


if __name__ == "__main__":
    sys.exit(main())
