"""Every public function, method and class of core, engine, store and export has a docstring (issue 17 §6).

What it takes and returns can only be read by a person; this keeps the next public function from arriving
without one. Walked from the source (ast), so a definition inside `if`/`try`/`with` at module or class level
counts too, as do properties, static and class methods; a public class documents its constructor (its
`__init__` is private by name). Protocol stubs and `@overload`s (a body of `...`) are described by their
class or implementation. Not walked: names starting with `_`, and functions nested in functions.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "studio"
PACKAGES = ("core", "engine", "store", "export")


def _stub(node: ast.AST) -> bool:
    body = getattr(node, "body", [])
    return len(body) == 1 and isinstance(body[0], ast.Expr) and getattr(body[0].value, "value", None) is Ellipsis


def _blocks(body: list[ast.stmt]):
    """The statements of `body`, with those inside if/try/with blocks (not functions) flattened in."""
    for node in body:
        if isinstance(node, ast.If):
            yield from _blocks(node.body)
            yield from _blocks(node.orelse)
        elif isinstance(node, ast.Try):
            for part in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _blocks(part)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            yield from _blocks(node.body)
        else:
            yield node


def undocumented(source: str, where: str) -> list[str]:
    """`where:line: name` of every public definition in `source` without a docstring."""
    out = []

    def walk(body, prefix):
        for node in _blocks(body):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if node.name.startswith("_") or _stub(node):
                    continue
                if ast.get_docstring(node) is None:
                    out.append(f"{where}:{node.lineno}: {prefix}{node.name}")
                if isinstance(node, ast.ClassDef):
                    walk(node.body, prefix + node.name + ".")
    walk(ast.parse(source).body, "")
    return out


def _undocumented() -> list[str]:
    out = []
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            out += undocumented(path.read_text(), str(path.relative_to(ROOT.parent)))
    return out


def test_every_public_function_of_the_lower_layers_says_what_it_does():
    missing = _undocumented()
    assert missing == [], f"{len(missing)} public definitions without a docstring:\n" + "\n".join(missing)


def test_the_walk_covers_every_module_of_the_four_packages():
    """Each package is a folder of modules the walk reads (a package moved or renamed fails here, not silently)."""
    for pkg in PACKAGES:
        assert len(list((ROOT / pkg).rglob("*.py"))) >= 5, pkg


GAPS = '''
def plain(x): return x

class Public:
    def method(self): pass

    @property
    def size(self): return 1

    @staticmethod
    def make(): pass

    def _private(self): pass

try:
    import fast
except ImportError:
    def fallback(): pass

if True:
    class Inside:
        """documented"""
        async def run(self): pass

def outer():
    """documented"""
    def inner(): pass

class Proto:
    """documented"""
    def stub(self) -> int: ...
'''


@pytest.mark.parametrize("name", ["plain", "Public", "Public.method", "Public.size", "Public.make", "fallback",
                                  "Inside.run"])
def test_the_walk_finds_every_kind_of_gap(name):
    found = [line.split(": ", 1)[1] for line in undocumented(GAPS, "x.py")]
    assert name in found
    assert not {"Public._private", "outer", "inner", "Proto", "Proto.stub", "Inside"} & set(found)
