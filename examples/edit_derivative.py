"""Edit a generated derivative by hand, run your version, and be told when the function changes.

PyTorch clamps a gradient after `backward()` (`W.grad.clamp_(-0.05, 0.05)`). With s2sgrad the derivative
is a Python module you can keep and edit: `s2sgrad.export` writes it, `derivative_file=` runs that file
as it is (edits included), and once the function it was generated from has changed, a
`StaleDerivativeWarning` says so and names the command that regenerates it (`s2sgrad diff` shows your
edits first, to re-apply them). Everything happens in a scratch directory: the model is written to a
module file there so that its source can be changed and imported again.

Run it:  python examples/edit_derivative.py
"""

import importlib.util
import pathlib
import tempfile
import warnings

import numpy as np

import s2sgrad

MODEL = '''import numpy as np


def loss(W, b, x, y):
    h = np.tanh(W @ x + b)
    return np.sum((h - y) ** 2)
'''

# The line of the exported module that computes dW, and the edit: the same, clipped to [-0.05, 0.05].
GENERATED = "    dW = matmul_adjoint_left(dW_matmul_x, W, x)\n"
EDITED = "    dW = np.clip(matmul_adjoint_left(dW_matmul_x, W, x), -0.05, 0.05)   # clipped by hand\n"


def import_file(path, name="model"):
    """Import path as a module (again, after it has been edited)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(workdir, seed=0):
    workdir = pathlib.Path(workdir)
    (workdir / "model.py").write_text(MODEL)
    model = import_file(workdir / "model.py")
    rng = np.random.default_rng(seed)
    W, b, x, y = rng.normal(size=(3, 4)), rng.normal(size=3), rng.normal(size=4), rng.normal(size=3)
    results = {"fresh": s2sgrad.grad(model.loss, wrt=("W", "b"))(W, b, x, y)}

    # 1. Export: a standalone module (NumPy and the standard library only) with a header s2sgrad reads back.
    path = workdir / "derivs" / "loss_grad.py"
    text = s2sgrad.export(model.loss, path, wrt=("W", "b"))
    print(text.split('"""\n', 1)[1].split("\n\n")[0])      # the header after the docstring: its origin, its hash

    # 2. Edit it, as you would in an editor: clip the gradient of W.
    assert text.count(GENERATED) == 1
    path.write_text(text.replace(GENERATED, EDITED))

    # 3. Load it back. A relative derivative_file (and a relative export path) is taken from the folder of the
    #    function's own file, wherever Python started; a missing one is generated there.
    dloss = s2sgrad.grad(model.loss, wrt=("W", "b"), derivative_file="derivs/loss_grad.py")
    results["edited"] = dloss(W, b, x, y)
    print("largest |dW|: generated", np.abs(results["fresh"][0]).max(), " edited", np.abs(results["edited"][0]).max())

    # 4. Change the primal and import it again: the file no longer matches it. s2sgrad keeps running the
    #    edited file and warns (once, when the new gradient first loads it).
    (workdir / "model.py").write_text(MODEL.replace("h = np.tanh(W @ x + b)", "h = np.tanh(W @ x + b) * 2.0"))
    model = import_file(workdir / "model.py")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results["stale"] = s2sgrad.grad(model.loss, wrt=("W", "b"), derivative_file="derivs/loss_grad.py")(W, b, x, y)
    results["warnings"] = [w for w in caught if issubclass(w.category, s2sgrad.StaleDerivativeWarning)]
    for w in results["warnings"]:
        print(f"{w.category.__name__}: {w.message}")
    return results


def main(workdir=None):
    """Export, edit, load and go stale in `workdir` (a temporary directory if None); returns the gradients."""
    if workdir is None:
        with tempfile.TemporaryDirectory() as scratch:
            results = run(scratch)
    else:
        results = run(workdir)
    (dW, db), (dW_edited, db_edited) = results["fresh"], results["edited"]
    assert np.array_equal(dW_edited, np.clip(dW, -0.05, 0.05)) and np.allclose(db_edited, db, rtol=1e-15)
    assert np.array_equal(results["stale"][0], dW_edited)      # still the edited file, not the new primal's
    assert len(results["warnings"]) == 1 and "Regenerate it with: s2sgrad export" in str(results["warnings"][0].message)
    return results


if __name__ == "__main__":
    main()
