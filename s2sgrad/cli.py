"""The `s2sgrad` command.

Example:
    $ s2sgrad show examples/loop.py:f --wrt x,a
    $ s2sgrad show mypackage.model:loss
    $ s2sgrad show examples/loop.py:f --mode forward
    $ s2sgrad show examples/loop.py:f --side-by-side          # primal | derivative, block by block
    $ s2sgrad export model.py:loss --wrt W,b -o derivs/loss_grad.py
    $ s2sgrad export --check derivs/                          # non-zero if a kept file is stale (CI)
    $ s2sgrad diff model.py:loss derivs/loss_grad.py          # your edits against a fresh generation
"""

import argparse
import importlib
import importlib.util
import os
import sys

from . import api, side_by_side
from .export import check, diff, export     # the functions: s2sgrad.export is the function, not the module
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
    _target_options(show)
    show.add_argument("--side-by-side", action="store_true",
                      help="the primal and its derivative in two columns, each primal line next to the adjoint "
                      "code that reverses it (coloured by pygments, if installed, on a terminal)")
    show.add_argument("--html", metavar="OUT.html", help="write the two columns as an HTML page")
    exporting = commands.add_parser("export", help="write the derivative as a standalone module (NumPy and the "
                                 "standard library only) to keep, edit and ship")
    _target_options(exporting, required=False)
    exporting.add_argument("-o", "--output", metavar="OUT.py", help="file to write (default: print it)")
    exporting.add_argument("--check", nargs="+", metavar="PATH",
                        help="instead, check the exported files in these folders or files against their primal's "
                        "source: exit 1 if any is stale (for CI)")
    diffing = commands.add_parser("diff", help="what was edited in an exported file, against a fresh generation "
                               "(a unified diff; exit 1 if they differ)")
    diffing.add_argument("target", help="FILE.py:FUNCTION or MODULE:FUNCTION")
    diffing.add_argument("file", help="the exported file")
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (S2SGradError, ValueError, TypeError, OSError) as err:
        print(f"s2sgrad: {err}", file=sys.stderr)
        return 2 if args.command == "diff" else 1


def _target_options(parser, required=True):
    parser.add_argument("target", nargs=None if required else "?", help="FILE.py:FUNCTION or MODULE:FUNCTION")
    parser.add_argument("--mode", choices=api.MODES, default="reverse",
                        help="reverse: the gradient (default); forward: the Jacobian-vector product; vjp: the "
                        "forward sweep and the pullback apart; hvp: the Hessian-vector product (gradient of the jvp)")
    parser.add_argument("--wrt", help="parameters to differentiate with respect to, e.g. x,a (default: "
                        "the decorator's wrt, else the first parameter)")


def _function_and_wrt(args):
    fn = load_target(args.target)
    wrt = parse_wrt(args.wrt) if args.wrt else getattr(fn, "wrt", 1 if method_kinds(fn) else 0)  # not self
    return fn, wrt


def _show(args):
    fn, wrt = _function_and_wrt(args)
    text = api.source(fn, wrt=wrt, mode=args.mode)
    if args.html:
        with open(args.html, "w", encoding="utf-8") as fh:
            fh.write(side_by_side.to_html(api._plain(fn), text))
    if args.side_by_side:
        text = side_by_side.side_by_side(api._plain(fn), text, colour=sys.stdout.isatty())
    if args.side_by_side or not args.html:
        sys.stdout.write(text)
    return 0


def _export(args):
    if args.check:
        reports = check(args.check)
        for r in reports:
            print(f"stale: {r.message()}" if r.stale else f"current: {r.path}")
        if not reports:
            print(f"s2sgrad: no exported derivatives under {', '.join(args.check)}", file=sys.stderr)
        return 1 if any(r.stale for r in reports) else 0
    if args.target is None:
        raise SystemExit("s2sgrad export: give FILE.py:FUNCTION (or --check PATH)")
    fn, wrt = _function_and_wrt(args)
    # A path typed in a shell is the working directory's (the API's export takes it from fn's folder).
    text = export(fn, args.output and os.path.abspath(args.output), wrt=wrt, mode=args.mode)
    if args.output is None:
        sys.stdout.write(text)
    else:
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _diff(args):
    fn = load_target(args.target)
    text = diff(fn, args.file)
    sys.stdout.write(text)
    return 1 if text else 0


COMMANDS = {"show": _show, "export": _export, "diff": _diff}


if __name__ == "__main__":
    sys.exit(main())
