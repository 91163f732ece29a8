"""Issue 10: Python as people write it — lambdas, library functions passed directly, nested functions and
closures, function values, guards. Each construct is checked against central differences in float64 (both
modes, and second order where it applies), or its refusal against the error it must give.
"""

import math

import numpy as np
import pytest

import s2sgrad
from gradcheck import assert_grad_matches

X3 = np.array([0.3, -0.7, 1.1])


# -- lambdas ---------------------------------------------------------------------------------------

SQUARE_SUM = lambda x: np.sum(x ** 2)                                  # noqa: E731
PAIR = (lambda x: x * 3.0, lambda x: x * x)                              # two lambdas on one line


def test_a_lambda_is_differentiated_in_both_modes_and_at_second_order():
    np.testing.assert_allclose(s2sgrad.grad(lambda x: np.sum(x ** 2))(X3), 2.0 * X3)
    np.testing.assert_allclose(s2sgrad.grad(SQUARE_SUM)(X3), 2.0 * X3)
    np.testing.assert_allclose(s2sgrad.jvp(SQUARE_SUM, (X3,), X3)[1], 2.0 * X3 @ X3)
    np.testing.assert_allclose(s2sgrad.hessian(SQUARE_SUM)(X3), 2.0 * np.eye(3))
    assert s2sgrad.grad(lambda x, y: x * y, wrt=(0, 1))(2.0, 3.0) == (3.0, 2.0)


def test_of_several_lambdas_on_one_line_the_one_passed_is_differentiated():
    assert s2sgrad.grad(PAIR[0])(2.0) == 3.0
    assert s2sgrad.grad(PAIR[1])(2.0) == 4.0


def test_the_source_of_a_lambda_names_its_line():
    text = s2sgrad.source(SQUARE_SUM)
    assert text.startswith("def grad_lambda(x")
    assert "# SQUARE_SUM = lambda x: np.sum(x ** 2)" in text


def test_a_lambda_without_source_is_refused_saying_why():
    namespace = {"np": np}
    exec("f = lambda x: x * x", namespace)
    with pytest.raises(s2sgrad.SourceUnavailableError, match="interactive prompt or built with exec"):
        s2sgrad.grad(namespace["f"])(1.0)
