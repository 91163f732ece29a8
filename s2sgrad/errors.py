"""The exceptions users see. Each reads like a compiler's message: where, what, what instead.

Example:
    >>> try:
    ...     s2sgrad.grad(f)(1.0)
    ... except s2sgrad.S2SGradError as err:
    ...     print(err)
"""


class S2SGradError(Exception):
    """Base class of every error s2sgrad raises on purpose."""


class UnsupportedSyntaxError(S2SGradError, SyntaxError):
    """A construct the compiler does not differentiate (yet).

    Carries filename, lineno, offset and the source line like any SyntaxError,
    so editors and tracebacks point at the user's code.
    """

    def __init__(self, message, location):
        filename, lineno, offset, text = location
        SyntaxError.__init__(self, message, (filename, lineno, offset, text))

    def __str__(self):
        where = f"{self.filename}:{self.lineno}:{self.offset}"
        text = (self.text or "").rstrip("\n")
        caret = ""
        if text:
            caret = f"\n    {text}\n    {' ' * max((self.offset or 1) - 1, 0)}^"
        return f"{where}: {self.msg}{caret}"


class NoGradientRuleError(S2SGradError):
    """A call whose result needs a derivative, to a function with no rule and no Python source."""


class CustomRuleError(S2SGradError, TypeError):
    """A rule of the user's (custom_vjp, Function, register_vjp) is malformed or gave a value of the wrong
    form: the wrong number of cotangents, one whose shape differs from its argument's. Names the rule."""


class RecursionDepthError(S2SGradError, RecursionError):
    """A derivative went deeper than Python's recursion limit allows: the message names the function that
    recursed and its line (or the chain of helpers), and says what to do. A RecursionError too, as the
    function's own would be. (The compiler runs on a stack of its own and raises it only past 100,000 frames.)
    """


class SourceUnavailableError(S2SGradError):
    """The source of a function to differentiate cannot be found or parsed."""


class GradientCheckError(S2SGradError, AssertionError):
    """`check_grad` found s2sgrad's gradient and finite differences disagreeing.

    An AssertionError too, so pytest reports it as a failed check. The message lists, per
    differentiated argument, the worst element and the worst random direction.
    """


class StaleDerivativeWarning(UserWarning):
    """A derivative kept in a file (`derivative_file=`) was generated from a source that has changed since:
    the primal's, or a helper's. The message names both files and the command that regenerates it; the file
    keeps being used as it is, edits included."""
