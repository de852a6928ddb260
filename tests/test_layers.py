"""The layers are checked by import-linter (contracts and their reasons: [tool.importlinter] in pyproject.toml).

This runs `lint-imports` so the suite fails on an upward import or a cycle, including imports inside
functions (which a `sys.modules` check cannot see). What a static check cannot see stays here: that
importing the layers does not load litellm (it costs ~1 s; the engine imports it when a call is made).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
                           "lint_imports_command()"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def _modules_after_import(module: str) -> set[str]:
    code = f"import sys, {module}; print('\\n'.join(sys.modules))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    return set(out.split())


@pytest.mark.parametrize("module", ["studio.core.expand", "studio.engine", "studio.store", "studio.runs.run",
                                    "studio.analysis.attribution", "studio.export", "studio.cli.main",
                                    "studio.tui.app"])
def test_importing_a_layer_does_not_load_litellm(module):
    loaded = _modules_after_import(module)
    assert "litellm" not in loaded, f"{module} loads litellm at import time"
