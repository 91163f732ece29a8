"""The `s2sgrad` command.

Example:
    $ s2sgrad show examples/loop.py:f --wrt x,a
    $ s2sgrad show mypackage.model:loss
    $ s2sgrad show examples/loop.py:f --mode forward
"""

import argparse
import importlib
import importlib.util
import os
import sys

from . import api
from .errors import S2SGradError
from .frontend import method_kinds


def load_target(target):
    """The function named by 'path/to/file.py:func' or 'package.module:func'."""
    if ":" not in target:
        raise SystemExit(f"s2sgrad: expected FILE.py:FUNCTION or MODULE:FUNCTION, got {target!r}")
    where, _, attr = target.rpartition(":")
    if where.endswith(".py") or os.sep in where or "/" in where:
        path = os.path.abspath(where)
        if not os.path.exists(path):
            raise SystemExit(f"s2sgrad: no such file: {where}")
        modname = os.path.splitext(os.path.basename(path))[0]
        sys.path.insert(0, os.path.dirname(path))
        spec = importlib.util.spec_from_file_location(modname, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[modname] = module
        spec.loader.exec_module(module)
    else:
        sys.path.insert(0, os.getcwd())
        module = importlib.import_module(where)
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise SystemExit(f"s2sgrad: {where} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def parse_wrt(text):
    items = tuple(int(t) if t.strip().lstrip("-").isdigit() else t.strip() for t in text.split(","))
    return items[0] if len(items) == 1 else items


def main(argv=None):
    parser = argparse.ArgumentParser(prog="s2sgrad", description="Source-to-source automatic differentiation.")
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("show", help="print the generated derivative code of a function")
    show.add_argument("target", help="FILE.py:FUNCTION or MODULE:FUNCTION")
    show.add_argument("--mode", choices=api.MODES, default="reverse",
                      help="reverse: the gradient (default); forward: the Jacobian-vector product; vjp: the "
                      "forward sweep and the pullback apart; hvp: the Hessian-vector product (gradient of the jvp)")
    show.add_argument("--wrt", help="parameters to differentiate with respect to, e.g. x,a (default: "
                      "the decorator's wrt, else the first parameter)")
    args = parser.parse_args(argv)
    fn = load_target(args.target)
    wrt = parse_wrt(args.wrt) if args.wrt else getattr(fn, "wrt", 1 if method_kinds(fn) else 0)  # not self
    try:
        text = api.source(fn, wrt=wrt, mode=args.mode)
    except (S2SGradError, ValueError, TypeError) as err:
        print(f"s2sgrad: {err}", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
