"""Start-up stays cheap: importing s2sgrad parses no gradient template and imports nothing heavy it does
not need (SciPy, importlib.metadata and the email package it pulls in); templates are parsed when the
compiler first reads them, so every one must parse and split then (checked here, not at import).
Nothing is timed (benchmarks/run.py measures the import and the first gradient)."""

import inspect
import json
import os
import subprocess
import sys
import textwrap

import gast

from s2sgrad import rules
from s2sgrad.rules import tangents

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_import_parses_no_template_and_imports_no_heavy_module():
    script = ("import json, sys, numpy, s2sgrad\n"
              "from s2sgrad import rules\n"
              "from s2sgrad.rules import tangents\n"
              "parsed = sum(r.parsed is not None for rs in rules.RULES.values() for r in rs)\n"
              "parsed += sum(r.parsed is not None for rs in tangents.TANGENTS.values() if isinstance(rs, list) "
              "for r in rs)\n"
              "heavy = [m for m in ('scipy', 'importlib.metadata', 'email', 'importlib.abc') if m in sys.modules]\n"
              "print(json.dumps([parsed, heavy]))\n")
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [0, []]


def test_every_adjoint_template_parses_to_a_body_that_writes_adjoints():
    seen = set()
    for primitive, found in rules.RULES.items():
        for rule in found:
            if id(rule) in seen:
                continue
            seen.add(id(rule))
            assert rule.body, rule.template
            assert set(rule.differentiable()) <= set(rule.inputs), rule.template


def test_every_template_body_is_the_one_inspect_getsource_gives():
    # template_body reads the lines a template's code spans, faster than getsource; both must agree.
    templates = {id(r.template): r.template for rs in rules.RULES.values() for r in rs}
    templates.update((id(r.template), r.template) for rs in tangents.TANGENTS.values() if isinstance(rs, list)
                     for r in rs)
    for template in templates.values():
        slow = gast.parse(textwrap.dedent(inspect.getsource(template))).body[0].body
        assert gast.dump(gast.Module(body=rules.template_body(template), type_ignores=[])) == \
            gast.dump(gast.Module(body=slow, type_ignores=[])), template


def test_every_explicit_tangent_template_splits_into_local_statements_and_terms():
    for primitive, entry in tangents.TANGENTS.items():
        if isinstance(entry, list):
            for rule in entry:
                local, terms = tangents._split_template(rule)
                assert terms, rule.template
