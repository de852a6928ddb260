"""Templates run in Jinja2's sandbox: injection payloads are refused with a clear error."""

import pytest

from studio.core.errors import TemplateError
from studio.core.expand import Fill
from studio.core.lint import lint_text
from studio.core.render import Renderer
from studio.core.template import parse_template

PAYLOADS = [
    "{{ x.__class__ }}",
    "{{ x.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__['sys'] }}",
    "{{ x['__class__'] }}",
    "{{ self.__init__.__globals__ }}",
    "{{ x|attr('__class__') }}",
    "{{ x.format.__globals__ }}",
]


def _template(body: str):
    return parse_template(f"---\nname: evil\nmode: render\nslots:\n  x: [hello]\n---\n{body}\n", "evil.prompt")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_attribute_access_to_internals_is_refused(payload):
    t = _template(payload)
    with pytest.raises(TemplateError) as err:
        Renderer(t).messages(Fill.from_values({"x": "hello"}))
    assert err.value.path == "evil.prompt"
    assert err.value.line == 7
    problems = lint_text(t.text, "evil.prompt")
    assert any(p.severity == "error" for p in problems)


@pytest.mark.parametrize("payload", ["{% include '/etc/passwd' %}", "{% import '/etc/hosts' as h %}",
                                     "{% extends '/etc/passwd' %}"])
def test_templates_cannot_read_files(payload):
    t = _template(payload)
    with pytest.raises(TemplateError):
        Renderer(t).messages(Fill.from_values({"x": "hello"}))


def test_an_unknown_name_is_an_error_not_silence():
    t = _template("{{ x }} {{ y }}")
    with pytest.raises(TemplateError, match="'y' is undefined"):
        Renderer(t).messages(Fill.from_values({"x": "hello"}))


def test_ordinary_jinja_still_works():
    t = _template("{{ x|upper }} {% for i in range(2) %}{{ i }}{% endfor %} {{ x ~ '!' }}")
    assert Renderer(t).text(Fill.from_values({"x": "hi"})) == "HI 01 hi!"
