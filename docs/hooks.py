"""MkDocs hook: the site's home page is README.md and each script in examples/ gets a page (its
docstring, then its source), generated when the site is built so nothing is copied by hand."""

import ast
import pathlib

from mkdocs.structure.files import File

ROOT = pathlib.Path(__file__).parent.parent


def example_page(path):
    source = path.read_text()
    doc = ast.get_docstring(ast.parse(source)) or ""
    summary, _, rest = doc.partition("\n")
    return (f"# {path.name}\n\n{summary}\n{rest}\n\n"
            f"```python title=\"examples/{path.name}\"\n{source}```\n")


def on_files(files, config):
    files.append(File.generated(config, "index.md", content=(ROOT / "README.md").read_text()))
    for path in sorted((ROOT / "examples").glob("*.py")):
        files.append(File.generated(config, f"examples/{path.stem}.md", content=example_page(path)))
    return files
