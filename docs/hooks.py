"""MkDocs hook: the site's home page is README.md and each script in examples/ gets a page (its
docstring as the text, its commands as a shell block, then its code), generated when the site is
built so nothing is copied by hand."""

import ast
import pathlib
import re

from mkdocs.structure.files import File

ROOT = pathlib.Path(__file__).parent.parent
COMMAND = re.compile(r"^(Run it|Show [^:]*):\s+(\S.*)$")       # "Run it:  python examples/loop.py"


def example_page(path):
    source = path.read_text()
    module = ast.parse(source)
    doc = ast.get_docstring(module) or ""
    text, commands = [], []
    for line in doc.splitlines():
        found = COMMAND.match(line)
        if found:
            commands.append(f"# {found.group(1)}\n{found.group(2)}")
        else:
            text.append(line)
    code = source
    if module.body and isinstance(module.body[0], ast.Expr) and doc:     # the docstring is the text above
        code = "\n".join(source.splitlines()[module.body[0].end_lineno:]).lstrip("\n") + "\n"
    shell = f"```sh\n{chr(10).join(commands)}\n```\n\n" if commands else ""
    body = "\n".join(text).strip()
    return f"# {path.name}\n\n{body}\n\n{shell}```python title=\"examples/{path.name}\"\n{code}```\n"


def on_files(files, config):
    files.append(File.generated(config, "index.md", content=(ROOT / "README.md").read_text()))
    for path in sorted((ROOT / "examples").glob("*.py")):
        files.append(File.generated(config, f"examples/{path.stem}.md", content=example_page(path)))
    return files
