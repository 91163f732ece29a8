"""Generated text is the same on every supported Python (3.10 to 3.13).

`ast.unparse` spells some trees differently from one version to the next; emit settles on one
spelling. Every expected text here is pinned, so each test asserts the same thing on each
interpreter, and every rewrite is checked to keep the tree (`ast.dump` of the parsed text).
"""

import ast
import pathlib
import sys

import gast
import numpy as np
import pytest

import s2sgrad

from s2sgrad.emit import comments, emit, respell, unparse

ROOT = pathlib.Path(__file__).resolve().parent.parent


def load(name):
    return ast.Name(id=name, ctx=ast.Load())


def store(name):
    return ast.Name(id=name, ctx=ast.Store())


def tup(*elts, ctx=ast.Load):
    return ast.Tuple(elts=list(elts), ctx=ctx())


def const(value):
    return ast.Constant(value=value)


def call(fn, *args, **keywords):
    return ast.Call(func=load(fn), args=list(args), keywords=[ast.keyword(arg=k, value=v) for k, v in keywords.items()])


def assign(targets, value):
    return ast.Assign(targets=targets, value=value, lineno=1)


def fstring(*parts):
    """An f-string from strings (literal parts) and (expression, conversion, format spec) triples."""
    values = []
    for p in parts:
        if isinstance(p, str):
            values.append(const(p))
        else:
            value, conversion, spec = p
            values.append(ast.FormattedValue(value=value, conversion=ord(conversion) if conversion else -1,
                                             format_spec=spec))
    return ast.JoinedStr(values=values)


def module(*body):
    tree = ast.Module(body=list(body), type_ignores=[])
    return ast.fix_missing_locations(tree)


def expression(node):
    return module(ast.Expr(value=node))


def same_tree(text, other):
    return ast.dump(ast.parse(text)) == ast.dump(ast.parse(other))


def test_emit_prints_tuple_targets_fstrings_and_starred_indices_one_way():
    fn = ast.parse("def grad_f(x, t, n):\n    pass\n").body[0]
    fn.body = [
        assign([tup(store("_"), store("dx"), ctx=ast.Store)], call("grad_h", load("x"), dout=load("dout"))),
        ast.Expr(value=call("__comment__", const("(a, b) = h(x)"))),
        assign([store("s")], const("(a, b) = c")),
        assign([tup(tup(store("p"), store("q"), ctx=ast.Store), store("r"), ctx=ast.Store)], load("t")),
        assign([tup(store("p"), ctx=ast.Store)], load("t")),
        assign([store("u"), tup(store("v"), store("w"), ctx=ast.Store)], load("t")),
        ast.For(target=tup(store("i"), tup(store("j"), store("k"), ctx=ast.Store), ctx=ast.Store), iter=load("t"),
                body=[assign([ast.Subscript(value=load("y"), slice=tup(load("i"), load("j")), ctx=ast.Store())],
                             tup(load("j"), load("k")))],
                orelse=[], lineno=1),
        ast.Assert(test=ast.Compare(left=load("x"), ops=[ast.Gt()], comparators=[const(0)]),
                   msg=fstring("bad ", (load("x"), "r", None), " ", (const("q"), None, None))),
        assign([store("label")], fstring((ast.Subscript(value=load("t"), slice=const("k"), ctx=ast.Load()), None,
                                          fstring(">", (load("n"), None, None))))),
        assign([store("z")], ast.Subscript(value=load("t"), slice=tup(ast.Starred(value=load("n"), ctx=ast.Load()),
                                                                      const(0)), ctx=ast.Load())),
        ast.Return(value=tup(load("x"), tup(load("dx")))),
    ]
    ast.fix_missing_locations(fn)
    assert emit(gast.ast_to_gast(fn)) == (
        "def grad_f(x, t, n):\n"
        "    _, dx = grad_h(x, dout=dout)\n"
        "    # (a, b) = h(x)\n"
        "    s = '(a, b) = c'\n"
        "    (p, q), r = t\n"
        "    p, = t\n"
        "    u = v, w = t\n"
        "    for i, (j, k) in t:\n"
        "        y[i, j] = (j, k)\n"
        "    assert x > 0, f\"bad {x!r} {'q'}\"\n"
        "    label = f\"{t['k']:>{n}}\"\n"
        "    z = t[(*n, 0)]\n"
        "    return (x, (dx,))\n"
    )


UNPARSED = [
    # Python 3.10's ast.unparse parenthesises tuple targets; 3.11+ do not
    (module(assign([tup(store("a"), store("b"), ctx=ast.Store)], tup(load("b"), load("a")))), "a, b = (b, a)"),
    (module(assign([tup(store("a"), ctx=ast.Store)], load("b"))), "a, = b"),
    (module(assign([tup(tup(store("a"), store("b"), ctx=ast.Store), tup(store("c"), store("d"), ctx=ast.Store),
                        ctx=ast.Store)], load("e"))), "(a, b), (c, d) = e"),
    (module(assign([tup(ast.Starred(value=store("a"), ctx=ast.Store()), store("b"), ctx=ast.Store)], load("c"))),
     "*a, b = c"),
    (module(ast.For(target=tup(store("i"), store("j"), ctx=ast.Store), iter=load("pairs"),
                    body=[ast.Pass()], orelse=[])), "for i, j in pairs:\n    pass"),
    (expression(ast.ListComp(elt=load("a"), generators=[ast.comprehension(
        target=tup(store("a"), store("b"), ctx=ast.Store), iter=load("c"), ifs=[], is_async=0)])),
     "[a for a, b in c]"),
    (expression(ast.Lambda(args=ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[],
                                              kwarg=None, defaults=[]), body=const(0))), "lambda: 0"),
    # the same everywhere: kept as it is
    (module(ast.Delete(targets=[store("a"), store("b")])), "del a, b"),
    (module(ast.Delete(targets=[tup(store("a"), store("b"), ctx=ast.Store)])), "del (a, b)"),
    (expression(ast.Subscript(value=load("x"), slice=tup(tup(const(1), const(2)), const(3)), ctx=ast.Load())),
     "x[(1, 2), 3]"),
    (expression(ast.Subscript(value=load("x"), slice=tup(), ctx=ast.Load())), "x[()]"),
    (module(assign([store("s")], const("lambda : (a, b) = c"))), "s = 'lambda : (a, b) = c'"),
    (module(assign([store("s")], const('it\'s "q"'))), "s = 'it\\'s \"q\"'"),
    # 3.11+ write x[*a, b], which 3.10 cannot read
    (expression(ast.Subscript(value=load("x"), slice=tup(ast.Starred(value=load("a"), ctx=ast.Load()), load("b")),
                              ctx=ast.Load())), "x[(*a, b)]"),
    # 3.12+ may reuse the f-string's quote inside its braces, which 3.10 and 3.11 cannot read
    (expression(fstring((ast.Subscript(value=load("d"), slice=const("k"), ctx=ast.Load()), None, None))),
     "f\"{d['k']}\""),
    (expression(fstring((ast.IfExp(test=load("n"), body=const("a"), orelse=const("b")), None, None))),
     "f\"{('a' if n else 'b')}\""),
    (expression(fstring("it's ", (load("x"), None, None))), "f\"it's {x}\""),
    (expression(fstring('say "', (load("x"), None, None), "\" it's")), "f'''say \"{x}\" it's'''"),
    (expression(fstring((load("x"), None, None), "\n\t")), "f'{x}\\n\\t'"),
    (expression(fstring((load("x"), "r", fstring(">", (load("w"), None, None), ".", (load("p"), None, None))))),
     "f'{x!r:>{w}.{p}}'"),
    (expression(fstring((load("x"), None, fstring("\n")))), 'f"""{x:\n}"""'),
    (expression(fstring("{}", (ast.Dict(keys=[const(1)], values=[const(2)]), None, None))), "f'{{}}{ {1: 2}}'"),
    (expression(fstring((fstring((ast.Subscript(value=load("d"), slice=const("k"), ctx=ast.Load()), None, None)),
                         None, None))), 'f"""{f"{d[\'k\']}"}"""'),
    (expression(fstring((const("\n"), None, None))), "f'''{\"\"\"\n\"\"\"}'''"),
    # no quote fits every part: the literal parts are escaped, not the expressions (as 3.12+ do)
    (expression(fstring("'''\"\"\"", (const("q"), None, None))), "f'''\\'\\'\\'\"\"\"{'q'}'''"),
]


@pytest.mark.parametrize("tree, text", UNPARSED, ids=[t for _, t in UNPARSED])
def test_unparse_spells_each_tree_one_way_and_keeps_it(tree, text):
    assert unparse(tree) == text
    try:
        standard = ast.parse(ast.unparse(tree))
    except SyntaxError:     # 3.10 and 3.11 print an f-string that no quote fits as no version parses
        standard = tree
    assert ast.dump(ast.parse(text)) == ast.dump(standard)


def test_fstring_with_a_backslash_inside_braces_keeps_the_standard_spelling():
    tree = expression(fstring((const("\\"), None, None)))     # `f"{'\\'}"`, written only since 3.12
    if sys.version_info >= (3, 12):
        assert unparse(tree) == ast.unparse(tree) == "f'{'\\\\'}'"
    else:
        with pytest.raises(ValueError, match="backslash"):
            unparse(tree)


RESPELLED = [
    ("(a, b) = c", "a, b = c"),
    ("(a,) = b", "a, = b"),
    ("((a, b), c) = d", "(a, b), c = d"),
    ("((a, b), (c, d)) = e", "(a, b), (c, d) = e"),
    ("a = (b, c) = d", "a = b, c = d"),
    ("(x[0], y.z) = (1, 2)", "x[0], y.z = (1, 2)"),
    ("for (i, (j, k)) in pairs:\n    (a, b) = (j, k)", "for i, (j, k) in pairs:\n    a, b = (j, k)"),
    ("y = [a for (a, b) in c if a]", "y = [a for a, b in c if a]"),
    ("y = {k: v for (k, (v, w)) in c}", "y = {k: v for k, (v, w) in c}"),
    ("f = lambda : 0", "f = lambda: 0"),
    ("async def f():\n    async for (a, b) in c:\n        pass", "async def f():\n    async for a, b in c:\n        pass"),
]


@pytest.mark.parametrize("old, new", RESPELLED, ids=[old for old, _ in RESPELLED])
def test_respell_writes_python_3_10_spellings_as_3_11_does(old, new):
    assert respell(old) == new
    assert same_tree(old, new)
    assert respell(new) == new
    # the pairs are what the interpreters print: 3.10 the left column, 3.11 and later the right
    assert ast.unparse(ast.parse(new)) == (old if sys.version_info < (3, 11) else new)


def test_respell_leaves_strings_comments_and_non_ascii_text_alone():
    old = "s = '(x, y) = z'\n(é, b) = (s, ')')  # (c, d) = e\nt = 'lambda : 0'"
    assert respell(old) == "s = '(x, y) = z'\né, b = (s, ')')  # (c, d) = e\nt = 'lambda : 0'"


@pytest.mark.parametrize("text", [
    "(a, b), (c, d) = e", "x = (a, b)", "del (a, b)", "with a as (b, c):\n    pass", "x[(1, 2), 3] = v",
    "for x in (a, b):\n    pass", "f = lambda x: (x, x)", "return_ = ((a, b), c)",
])
def test_respell_leaves_text_that_has_one_spelling_alone(text):
    assert respell(text) == text


def test_comment_markers_become_comments_with_their_text_unchanged():
    assert comments("x = 1\n    __comment__('(a, b) = f(x)')") == "x = 1\n    # (a, b) = f(x)"
    line = 's = "café\\n" + \'\U0001fae8\''          # a source line: a backslash, accents, a new emoji
    assert comments(unparse(module(ast.Expr(value=call("__comment__", const(line)))))) == f"# {line}"


def test_a_located_comment_marker_names_the_file_by_its_base_name_then_the_line():
    marker = ast.Expr(value=call("__comment__", const("h = np.tanh(W @ x)"), const("/src/pkg/model.py"), const(12)))
    assert comments("    " + unparse(module(marker))) == "    # model.py:12  h = np.tanh(W @ x)"


def test_comment_markers_are_made_in_syntax_and_read_by_emit_not_by_reverse():
    from s2sgrad import emit as emit_module, syntax
    assert emit_module.COMMENT is syntax.COMMENT
    marker = syntax.comment("y = x * x", ("/a/b/f.py", 3, 5))
    assert syntax.is_comment(marker) and not syntax.is_comment(gast.Expr(value=syntax.name("x")))
    assert "from .reverse" not in pathlib.Path(emit_module.__file__).read_text()


def test_strings_outside_ascii_are_written_the_same_by_every_unicode_database():
    # U+1FAE8 is in Unicode 15 (3.12's repr writes it as itself, 3.10's escapes it); U+1F600 is
    # printable everywhere but newer than Unicode 3.2; U+2028 is never printable
    text = "s = 'é π 中 \\U0001fae8 \\U0001f600 \\u2028 \\x85 \\\\ \\' \"'"
    tree = module(assign([store("s")], const("é π 中 \U0001fae8 \U0001f600 \u2028 \x85 \\ ' \"")))
    assert unparse(tree) == text
    assert same_tree(text, ast.unparse(tree))
    doc = ast.parse('def f():\n    """\\u00e9t\\u00e9 \\U0001fae8"""\n    return 1')
    assert unparse(doc) == 'def f():\n    """été \\U0001fae8"""\n    return 1'
    assert same_tree(unparse(doc), ast.unparse(doc))


@pytest.mark.parametrize("string", ["", "'", '"', "'\"", "a\tb\nc\rd\x00\x7f\\", "naïve café", "Ω≈ç√∫",
                                    "日本語", "\u200b\ufeff", "\U00020000"])
def test_strings_are_written_as_repr_writes_them_where_unicode_databases_agree(string):
    assert unparse(module(assign([store("s")], const(string)))) == f"s = {string!r}"


def spelled_as_3_11(text):
    """Whether no assignment, loop or comprehension target is a tuple in parentheses of its own,
    and no lambda without parameters has a space before its colon (checked without emit)."""
    lines = text.encode().splitlines()

    def segment(node):      # ast.get_source_segment, without splitting the text at each call
        assert node.lineno == node.end_lineno
        return lines[node.lineno - 1][node.col_offset:node.end_col_offset].decode()

    for node in ast.walk(ast.parse(text)):
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)) else []
        for t in targets:
            if isinstance(t, ast.Tuple) and segment(t).startswith("("):
                try:
                    inner = ast.parse(segment(t)[1:-1], mode="eval").body
                except SyntaxError:
                    continue                       # `(a, b), (c, d)`: the parentheses are the items'
                if ast.dump(inner) == ast.dump(ast.parse(segment(t), mode="eval").body):
                    return False
        if isinstance(node, ast.Lambda) and segment(node).startswith("lambda :"):
            return False
    return True


CORPUS = sorted([*ROOT.glob("s2sgrad/**/*.py"), *ROOT.glob("tests/snapshots/*.py")])


@pytest.mark.parametrize("path", CORPUS, ids=[str(p.relative_to(ROOT)) for p in CORPUS])
def test_unparse_of_the_compiler_sources_keeps_their_trees_in_one_spelling(path):
    tree = ast.parse(path.read_text())
    text = unparse(tree)
    assert same_tree(text, ast.unparse(tree))
    assert spelled_as_3_11(text)
    assert respell(text) == text


@pytest.mark.parametrize("path", sorted(ROOT.glob("tests/snapshots/*.py")), ids=lambda p: p.name)
def test_snapshots_are_in_the_one_spelling(path):
    text = path.read_text()
    assert respell(text) == text and spelled_as_3_11(text)


def sine_times(u):
    return np.sin(u) * u


def one_helper_on_a_float_and_an_array(x, v):
    return sine_times(x) + np.sum(sine_times(v))


def test_two_specialisations_of_one_helper_have_names_of_their_own_and_matching_pullbacks():
    from s2sgrad import compose
    from s2sgrad.pipeline import derive
    text = derive(one_helper_on_a_float_and_an_array, ("x", "v"),
                  compose.kinds_of({"x": 0.5, "v": np.ones(2)})).full_text
    assert "sine_times_x, sine_times_state = vjp_sine_times(x)" in text
    assert "sine_times_v, sine_times_state_1 = vjp_sine_times_1(v)" in text
    assert "pullback_sine_times_1(sine_times_state_1," in text and "pullback_sine_times(sine_times_state," in text
    assert text.count("def vjp_sine_times(") == text.count("def vjp_sine_times_1(") == 1
    g = s2sgrad.grad(one_helper_on_a_float_and_an_array, wrt=(0, 1))(0.5, np.ones(2))
    assert g[0] == pytest.approx(np.cos(0.5) * 0.5 + np.sin(0.5), rel=1e-12)
    np.testing.assert_allclose(g[1], np.cos(1.0) + np.sin(1.0), rtol=1e-12)
