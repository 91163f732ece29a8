"""The idiom examples give the values of ../shared/SEED_IDIOMS.md (rows 5-7, 10-12, 17): examples/custom_backward.py,
detach_and_retain.py and edit_derivative.py, imported and run in-process (tests/test_examples.py runs each as a
script too). Exact where the math is exact (multiplications by 2, zeros, a clip); finite-differenced gradients in
float64 to rtol 1e-6 (central differences, step 1e-6)."""

import warnings

import numpy as np
import pytest

import s2sgrad
from gradcheck import numeric_grad
from test_examples import example


def test_custom_backward_gives_the_seed_values_in_both_spellings(capsys):
    ex = example("custom_backward")
    results = ex.main(batch=2)
    # Row 10: forward x * 2, backward grad * 2, seeded with ones: 2 everywhere, either spelling.
    np.testing.assert_array_equal(results["double"], [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(results["Double.apply"], [2.0, 2.0, 2.0])
    # Row 11: the rule zeroes x < 0 only, so x = 0 keeps its gradient: [0, 1, 1] (not the tutorial's [0, 0, 1]).
    np.testing.assert_array_equal(results["relu"], [0.0, 1.0, 1.0])
    np.testing.assert_array_equal(results["MyReLU.apply"], [0.0, 1.0, 1.0])
    # The rules appear in the printed generated code, inlined where the functions are called.
    printed = capsys.readouterr().out
    assert "np.where(double_x < 0, 0.0, drelu_double_x)" in printed and "ddouble_x * 2" in printed
    assert "2 * dapply_linear_weight * linear_weight" in printed
    assert "backward_of(MyReLU" in s2sgrad.source(lambda x: np.sum(ex.MyReLU.apply(x)))    # its in-place rule is called


def test_custom_square_after_a_linear_layer_matches_finite_differences():
    # Row 12, against our own central differences rather than only the example's check_grad.
    ex = example("custom_backward")
    rng = np.random.default_rng(3)
    args = (rng.normal(size=(5, 10)), rng.normal(size=5), rng.normal(size=(2, 10)))
    dweight, dbias = s2sgrad.grad(ex.model_loss, wrt=(0, 1))(*args)
    np.testing.assert_allclose(dweight, numeric_grad(ex.model_loss, args, 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dbias, numeric_grad(ex.model_loss, args, 1), rtol=1e-6, atol=1e-8)


def test_custom_square_with_a_wrong_backward_fails_check_grad():
    # The example's check_grad must be able to fail: the same model with the factor 2 dropped does.
    ex = example("custom_backward")

    class WrongSquare(ex.Square):                 # the example's forward, a backward missing its factor 2
        @staticmethod
        def backward(ctx, grad_output):
            input, = ctx.saved_tensors
            return grad_output * input

    def wrong_loss(weight, bias, x):
        return np.sum(WrongSquare.apply(ex.linear(weight, bias, x)))

    rng = np.random.default_rng(4)
    with pytest.raises(s2sgrad.GradientCheckError):
        s2sgrad.check_grad(wrong_loss, rng.normal(size=(5, 10)), rng.normal(size=5), rng.normal(size=(2, 10)),
                           wrt=(0, 1))


def test_detach_no_grad_and_retain_give_the_seed_values():
    results = example("detach_and_retain").main()
    # Row 5: d = b * stop_gradient(a + b): da = 0 (no path), db = c = a + b = [5, 7, 9] (not [1, 1, 1]).
    np.testing.assert_array_equal(results["da"], [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(results["db"], [5.0, 7.0, 9.0])
    # Row 6: y = 2x under no_grad is a constant: d/dx sum(y x) = y = [2, 4, 6] (4x = [4, 8, 12] if it leaked).
    np.testing.assert_array_equal(results["no_grad"], [2.0, 4.0, 6.0])
    assert "stop_gradient(x * 2)" in results["no_grad_source"]
    # Row 7: b = a + 3, c = mean(b): db = da = [1/3, 1/3, 1/3].
    np.testing.assert_allclose(results["db_retain"], [1 / 3] * 3, rtol=1e-15)
    np.testing.assert_allclose(results["da_retain"], [1 / 3] * 3, rtol=1e-15)


def test_edit_derivative_runs_the_clipped_file_and_warns_once_the_primal_changes(tmp_path):
    ex = example("edit_derivative")
    results = ex.main(workdir=tmp_path)
    exported = (tmp_path / "derivs" / "loss_grad.py").read_text()
    assert ex.EDITED in exported and ex.GENERATED not in exported          # the file run is the edited one
    # The generated gradient is right (finite differences), and the edit is exactly a clip of dW.
    rng = np.random.default_rng(0)
    args = (rng.normal(size=(3, 4)), rng.normal(size=3), rng.normal(size=4), rng.normal(size=3))
    model = ex.import_file(tmp_path / "model.py")                          # now the edited primal (* 2.0)
    original = lambda W, b, x, y: np.sum((np.tanh(W @ x + b) - y) ** 2)    # the primal as exported
    dW, db = results["fresh"]
    np.testing.assert_allclose(dW, numeric_grad(original, args, 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(db, numeric_grad(original, args, 1), rtol=1e-6, atol=1e-8)
    assert np.abs(dW).max() > 0.05                                         # so the clip changed something
    np.testing.assert_array_equal(results["edited"][0], np.clip(dW, -0.05, 0.05))
    # After the primal changed, the kept file still runs (not the new primal's gradient), with one warning
    # naming the file, the primal's file and the command that regenerates it.
    np.testing.assert_array_equal(results["stale"][0], results["edited"][0])
    assert not np.allclose(s2sgrad.grad(model.loss, wrt=("W", "b"))(*args)[1], db)
    (warning,) = results["warnings"]
    message = str(warning.message)
    assert str(tmp_path / "derivs" / "loss_grad.py") in message and str(tmp_path / "model.py") in message
    assert "Regenerate it with: s2sgrad export" in message and issubclass(warning.category, UserWarning)


def test_edit_derivative_gives_no_warning_while_the_primal_is_unchanged(tmp_path):
    ex = example("edit_derivative")
    (tmp_path / "model.py").write_text(ex.MODEL)
    model = ex.import_file(tmp_path / "model.py")
    s2sgrad.export(model.loss, tmp_path / "derivs" / "loss_grad.py", wrt=("W", "b"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", s2sgrad.StaleDerivativeWarning)
        s2sgrad.grad(model.loss, wrt=("W", "b"), derivative_file="derivs/loss_grad.py")(
            np.eye(2), np.zeros(2), np.ones(2), np.ones(2))
