"""One settings object for the STUDIO_* environment variables: read in one module, every one in the README."""

import re
from pathlib import Path

import pytest

from studio.core.errors import StudioError
from studio.core.settings import VARIABLES, settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_variable_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for name in VARIABLES:
        assert f"| `{name}` |" in readme, name


def test_no_other_module_reads_a_studio_variable():
    reads = re.compile(r"environ(?:\.get\(|\[)\s*[\"']STUDIO_|getenv\(\s*[\"']STUDIO_")
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "studio").rglob("*.py")
                 if p.name != "settings.py" and reads.search(p.read_text())]
    assert offenders == []


@pytest.mark.parametrize("env,field,expected", [
    ({}, "home", None),
    ({"STUDIO_HOME": "~/w"}, "home", Path("~/w").expanduser()),
    ({"STUDIO_MODEL": " openai/gpt-4o-mini "}, "model", "openai/gpt-4o-mini"),
    ({"STUDIO_MODELS": "a, ,b,"}, "models", ("a", "b")),
    ({"STUDIO_ENGINE_PATH": "LiteLLM"}, "engine_path", "litellm"),
    ({"STUDIO_LOCAL_THREADS": "3"}, "local_threads", 3),
    ({"STUDIO_LOCAL_THREADS": ""}, "local_threads", None),
])
def test_values_are_read_as_documented(env, field, expected):
    assert getattr(settings(env), field) == expected


@pytest.mark.parametrize("bad", ["0", "-1", "two", "1.5"])
def test_an_unusable_thread_count_is_a_clear_error(bad):
    with pytest.raises(StudioError, match="STUDIO_LOCAL_THREADS"):
        settings({"STUDIO_LOCAL_THREADS": bad})
