"""Generated code is a product surface: pinned here, reviewed like code when it changes.

Regenerate on purpose with:  pytest tests/test_snapshots.py --update-snapshots
"""

import pathlib

import pytest

import s2sgrad
from snapshot_cases import CASES

SNAPSHOTS = pathlib.Path(__file__).parent / "snapshots"


@pytest.mark.parametrize("case_name, fn, wrt, mode", [(*c, "reverse")[:4] for c in CASES], ids=[c[0] for c in CASES])
def test_generated_code_matches_snapshot(case_name, fn, wrt, mode, request):
    text = s2sgrad.source(fn, wrt=wrt, mode=mode)
    path = SNAPSHOTS / f"{case_name}.py"
    if request.config.getoption("--update-snapshots"):
        path.write_text(text)
    assert path.exists(), f"no snapshot {path.name}; run pytest tests/test_snapshots.py --update-snapshots"
    assert text == path.read_text(), f"generated code for {case_name} changed; review and update the snapshot"


def test_there_are_at_least_twelve_snapshots():
    assert len(CASES) >= 12 and len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case_name", [c[0] for c in CASES])
def test_snapshot_compiles_and_is_pure_python(case_name):
    compile((SNAPSHOTS / f"{case_name}.py").read_text(), case_name, "exec")
