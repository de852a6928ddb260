"""Lower layers never import upper ones; the core stays free of Textual and litellm."""

import subprocess
import sys

import pytest

LOWER = ["studio.core.template", "studio.core.expand", "studio.core.render", "studio.core.lint",
         "studio.core.slots", "studio.core.personas", "studio.workspace"]


def _modules_after_import(module: str) -> set[str]:
    code = f"import sys, {module}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


@pytest.mark.parametrize("module", LOWER)
def test_core_imports_neither_textual_nor_litellm_nor_upper_layers(module):
    loaded = _modules_after_import(module)
    assert "textual" not in loaded
    assert "litellm" not in loaded
    assert not any(m.startswith(("studio.tui", "studio.cli", "studio.engine", "studio.store", "studio.export"))
                   for m in loaded)


@pytest.mark.parametrize("module,forbidden", [
    ("studio.engine", ("textual", "studio.tui", "studio.cli", "studio.store", "litellm")),
    ("studio.store", ("textual", "studio.tui", "studio.cli", "studio.engine", "litellm")),
    ("studio.export", ("textual", "studio.tui", "studio.cli", "litellm")),
    ("studio.analysis", ("textual", "studio.tui", "studio.cli")),
])
def test_middle_layers_stay_below_the_front_ends(module, forbidden):
    try:
        loaded = _modules_after_import(module)
    except subprocess.CalledProcessError:
        pytest.fail(f"{module} does not import cleanly")
    for name in forbidden:
        assert not any(m == name or m.startswith(name + ".") for m in loaded), f"{module} imports {name}"
