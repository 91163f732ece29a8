"""Errors raised inside generated code say where they are: the generated line and the user's line it
comes from (the line it runs, in the forward sweep, or reverses, in the reverse sweep).

Generated code is registered with `linecache` (load.py), so a traceback already prints its lines; what it
cannot print is which of the user's lines a generated line comes from. `locate` adds that, as a note
(`add_note`, Python 3.11 and later) or, on 3.10, at the end of the message.

Example:
    >>> try:
    ...     s2sgrad.grad(f)(-1.0)
    ... except ValueError as err:
    ...     print(err.__notes__)
    ['in generated code grad_f, line 9: dh = dout / h\\n  from model.py:12: h = math.sqrt(x)']
"""

import linecache
import sys
import traceback

from .frontend import ORIGINS


def locate(err):
    """Add to `err` the innermost generated line it passed through and the user's line that comes from
    (once: an error passing several entries gets one note)."""
    if getattr(err, "__s2sgrad_located__", False):
        return
    generated = [(frame, lineno) for frame, lineno in traceback.walk_tb(err.__traceback__)
                 if frame.f_code.co_filename in ORIGINS]
    if not generated:
        return
    frame, lineno = generated[-1]
    filename = frame.f_code.co_filename
    note = f"in generated code {frame.f_code.co_name}, line {lineno}: {linecache.getline(filename, lineno).strip()}"
    origin = ORIGINS[filename].get(lineno)
    if origin is not None:
        user_file, user_line = origin[0], origin[1]
        note += f"\n  from {user_file}:{user_line}: {linecache.getline(user_file, user_line).strip()}"
    try:
        err.__s2sgrad_located__ = True
    except AttributeError:                      # an exception type without a __dict__: leave it as it is
        return
    if sys.version_info >= (3, 11):
        err.add_note(note)
    elif len(err.args) == 1 and isinstance(err.args[0], str):
        err.args = (f"{err.args[0]}\n{note}",)
