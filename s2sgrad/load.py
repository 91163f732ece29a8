"""Load: compile generated text into a function and register it with linecache.

The text is registered under a stable pseudo-filename, so tracebacks, `pdb` and
`inspect.getsource` show the generated lines.

Example:
    >>> fn = load(text, "grad_f", namespace, "<s2sgrad grad_f of mymod.f>")
"""

import builtins
import linecache


def load(text, fname, namespace, filename):
    """Compile `text`, run it in a fresh globals dict built from `namespace`, return `fname` from it."""
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    code = compile(text, filename, "exec")
    env = {"__builtins__": builtins, "__name__": "s2sgrad.generated"}
    env.update(namespace)
    exec(code, env)
    fn = env[fname]
    fn.__s2sgrad_source__ = text
    return fn
