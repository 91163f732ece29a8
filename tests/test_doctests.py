"""The examples in the public API's docstrings run and print what they say (doctest), so the help a
user reads never goes stale. Each public name of s2sgrad (its __all__) and the package docstring is
checked; a function carries an example unless it is an exception class."""

import doctest
import inspect
import math
import pathlib

import numpy as np
import pytest

import s2sgrad

ROOT = pathlib.Path(__file__).parent.parent
PUBLIC = sorted(s2sgrad.__all__)
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def globs():
    """What an example may use without importing it: NumPy, math, s2sgrad and its public names, as
    in a session that ran `import math, numpy as np, s2sgrad; from s2sgrad import *`."""
    names = {name: getattr(s2sgrad, name) for name in s2sgrad.__all__}
    return dict(names, np=np, math=math, s2sgrad=s2sgrad)


def run(obj, name):
    finder = doctest.DocTestFinder(recurse=inspect.isclass(obj))
    tests = [t for t in finder.find(obj, name, globs=globs()) if t.examples]
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    for test in tests:
        runner.run(test)
    return tests, runner.summarize(verbose=False)


@pytest.mark.parametrize("name", PUBLIC)
def test_public_docstring_examples_run_as_written(name, capsys):
    obj = getattr(s2sgrad, name)
    tests, results = run(obj, f"s2sgrad.{name}")
    report = capsys.readouterr().out
    assert results.failed == 0, report
    if not (inspect.isclass(obj) and issubclass(obj, BaseException)):
        assert results.attempted > 0, f"s2sgrad.{name}'s docstring has no example"


def test_package_docstring_example_runs(capsys):
    test = doctest.DocTestParser().get_doctest(s2sgrad.__doc__, globs(), "s2sgrad", s2sgrad.__file__, 0)
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.attempted > 0 and results.failed == 0, capsys.readouterr().out


def test_a_wrong_docstring_output_fails_the_doctest(capsys):
    # The check above can fail: an example printing something else than written is reported.
    test = doctest.DocTestParser().get_doctest(">>> s2sgrad.grad(lambda x: x * x)(3.0)\n5.0\n", globs(),
                                               "wrong", None, 0)
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 1
    assert "6.0" in capsys.readouterr().out


def test_every_public_name_has_a_place_in_the_api_reference():
    # docs/api.md lists the names one by one (in an order a reader follows), so a new export must
    # be added there too; mkdocs build --strict (in CI) then checks each one resolves.
    listed = (ROOT / "docs" / "api.md").read_text()
    missing = [name for name in PUBLIC if f"::: s2sgrad.{name}\n" not in listed]
    assert not missing, f"add to docs/api.md: {missing}"
