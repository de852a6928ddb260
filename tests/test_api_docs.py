"""Every public function and method of core, engine, store and export has a docstring (issue 17 §6).

What it takes and returns can only be read by a person; this keeps the next public function from arriving
without one. Protocol stubs (a body of `...`) are described by their class.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "studio"


def _undocumented() -> list[str]:
    out = []
    for pkg in ("core", "engine", "store", "export"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            def walk(body, prefix, path=path):
                for node in body:
                    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        stub = len(node.body) == 1 and isinstance(node.body[0], ast.Expr) \
                            and getattr(node.body[0].value, "value", None) is Ellipsis
                        if not node.name.startswith("_") and not stub and ast.get_docstring(node) is None:
                            out.append(f"{path.relative_to(ROOT.parent)}:{node.lineno}: {prefix}{node.name}")
                    elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                        walk(node.body, prefix + node.name + ".", path)
            walk(ast.parse(path.read_text()).body, "")
    return out


def test_every_public_function_of_the_lower_layers_says_what_it_does():
    assert _undocumented() == []
