"""SciPy's rules, registered when the program imports SciPy (an optional dependency:
`pip install 's2sgrad[scipy]'`).

s2sgrad never imports SciPy itself: `import scipy.stats` alone takes seconds. The rules of a SciPy
module are registered right after that module is first imported, by whoever imports it (a post-import
hook: a finder on `sys.meta_path` that lets the normal machinery find the module, then runs the rule
module once the SciPy module has run), or at once when it was imported before s2sgrad. A user's
function can only name `scipy.special.erf` after `scipy.special` has been imported, so every rule it
may need is in the table by the time the compiler looks it up.

Example:
    >>> import s2sgrad.rules, scipy.special
    >>> scipy.special.erf in s2sgrad.rules.RULES
    True
"""

import importlib
import importlib.util
import sys
import threading
import warnings

# SciPy module -> the rule module registering its rules
MODULES = {
    "scipy.special": "s2sgrad.rules.scipy_special",
    "scipy.stats": "s2sgrad.rules.scipy_stats",
    "scipy.signal": "s2sgrad.rules.scipy_signal",
    "scipy.linalg": "s2sgrad.rules.scipy_linalg",
    "scipy.integrate": "s2sgrad.rules.scipy_integrate",
}

_searching = threading.local()


def _register(scipy_module):
    """Import the rule module of a SciPy module. Never breaks the program's own import of SciPy: a SciPy
    too old or too new for a rule module leaves its functions without rules (calls to them are refused
    as having none) and says so in a warning."""
    try:
        importlib.import_module(MODULES[scipy_module])
    except Exception as err:                          # noqa: BLE001  (any failure: the import must go on)
        warnings.warn(f"s2sgrad could not register its gradient rules for {scipy_module} "
                      f"({type(err).__name__}: {err}); its functions are differentiated as having no rule",
                      RuntimeWarning, stacklevel=2)


class RegisterAfterImport:        # a finder by protocol (find_spec): importlib.abc costs ~10 ms to import
    """Finds nothing itself: for a SciPy module with rules, asks the other finders for its spec and makes
    the module's loader run the rule module after the SciPy module has run."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MODULES or fullname in getattr(_searching, "names", ()):
            return None
        _searching.names = getattr(_searching, "names", set()) | {fullname}
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            _searching.names = _searching.names - {fullname}
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_then_register(module):
            run(module)
            del spec.loader.exec_module          # the loader's own method again
            _register(fullname)

        spec.loader.exec_module = exec_then_register
        return spec


def install():
    """Register the rules of the SciPy modules imported already, and those of the others when they are."""
    if not any(isinstance(f, RegisterAfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, RegisterAfterImport())
    for scipy_module in MODULES:
        if scipy_module in sys.modules:
            _register(scipy_module)
