"""`studio import`: Prompty and Dotprompt files (written per each format's documented features) become studio
templates that lint clean and render; what cannot be mapped is said with its line; what cannot be converted
is refused with its line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio.core.errors import TemplateError
from studio.core.expand import expand
from studio.core.importers import DOTPROMPT, PROMPTY, STUDIO, detect, handlebars_to_jinja, import_file
from studio.core.lint import lint_text
from studio.core.render import Renderer
from studio.core.template import parse_template

DATA = Path(__file__).parent / "data" / "import"
ROOT = Path(__file__).resolve().parents[2]


def _render(text: str, name: str) -> list[dict]:
    t = parse_template(text, f"{name}.prompt")
    return Renderer(t).messages(next(iter(expand(t))))


# (file, kind, template name, model, mode, params, slots, the rendered messages, notes that must be said)
CASES = [
    ("basic.prompty", PROMPTY, "basic-prompt", "azure/gpt-4o-mini", "generate",
     {"max_tokens": 3000, "temperature": 0.2},
     {"firstName": ["Jane"], "lastName": ["Doe"], "question": ["What can you tell me about your tents?"]},
     [("system", "You are an AI assistant who helps people find information.\n\n# Customer\nYou are helping Jane "
                 "Doe to find answers to their questions.\n- they own a tent\n- they own a stove"),
      ("user", "What can you tell me about your tents?")],
     ["basic.prompty:15: model.parameters.response_format", "model.configuration.azure_endpoint: pass it with "
      "--api-base", "basic.prompty:24: input items: its sample is a list"]),
    ("chat.prompty", PROMPTY, "chat-with-history", "openai/gpt-4o", "structured",
     {"temperature": 0.5, "top_p": 0.9, "stop": ["###"]},
     {"customer": ["Sam"], "topic": ["return policy"]},
     [("system", "You are a support agent for Contoso. Answer as JSON with answer and escalate."),
      ("user", "Hi, I'm Sam. I have a question about return policy."),
      ("assistant", "Of course, Sam! What would you like to know about return policy?"),
      ("user", "Can I still return order unknown?")],
     ["chat.prompty:11: model.parameters.tools: not mapped", "api_key: read from the environment",
      "chat.prompty:16: input(s) order_id have no sample value"]),
    ("agent.prompty", PROMPTY, "summarise", "openai/gpt-4o-mini", "generate",
     {"temperature": 0.1, "max_tokens": 200},
     {"article": ["The city council voted to extend the tram line to the airport by 2028."],
      "style": ["one sentence"]},
     [("system", "Summarise the article in the style asked for."),
      ("user", "Style: one sentence\nArticle: The city council voted to extend the tram line to the airport by "
               "2028.")], []),
    ("greeting.prompt", DOTPROMPT, "greeting", "gemini/gemini-1.5-flash", "generate", {"temperature": 0.9},
     {"location": ["a restaurant"]},
     [("user", "You are the world's most welcoming AI assistant and are currently working at a restaurant.\n\n"
               "Greet a guest.")],
     ["greeting.prompt:2: model googleai/gemini-1.5-flash: written as gemini/gemini-1.5-flash"]),
    ("recipe.prompt", DOTPROMPT, "recipe-formal", "vertex_ai/gemini-1.5-pro", "structured",
     {"temperature": 0.4, "max_tokens": 400, "top_k": 20, "top_p": 0.8, "stop": ["STOP"]},
     {"dish": ["risotto"], "guests": [4], "units": ["metric"]},
     [("system", "You are a chef who writes precise recipes."),
      ("user", "Write a metric recipe for risotto for 4 people.\nNo dietary restrictions.\nUse these ingredients:\n"
               "0. rice (the main one)\n1. stock\n2. parmesan\nUse grams.\n"
               'Known facts: ["rice", "stock", "parmesan"]')],
     ["recipe.prompt:6: config.version", "recipe.prompt:13: tools: not mapped", "recipe.prompt:33: metadata",
      "recipe.prompt:49: {{history}} dropped"]),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_each_documented_feature_maps_to_a_template_that_lints_clean_and_renders(case):
    file, kind, name, model, mode, params, slots, messages, notes = case
    imported = import_file(DATA / file)
    assert (imported.kind, imported.name) == (kind, name)
    assert [p for p in lint_text(imported.text, f"{name}.prompt") if p.severity == "error"] == []
    t = parse_template(imported.text, f"{name}.prompt")
    assert (t.model, t.mode, dict(t.params)) == (model, mode, params)
    assert {n: s.values for n, s in t.slots.items()} == slots
    assert [(m["role"], m["content"]) for m in _render(imported.text, name)] == messages
    said = [n.render(DATA / file) for n in imported.notes]
    for want in notes:
        assert any(want in s for s in said), (want, said)
    assert imported.text.startswith(f"# Imported from {file} (")


def test_an_output_schema_becomes_structured_mode_with_a_json_schema():
    t = parse_template(import_file(DATA / "recipe.prompt").text, "recipe-formal.prompt")
    assert t.schema["required"] == ["title", "steps"]
    assert t.schema["properties"]["steps"] == {"type": "array", "items": {"type": "string",
                                                                           "description": "one step each"}}
    chat = parse_template(import_file(DATA / "chat.prompty").text, "c.prompt")
    assert chat.schema["properties"]["escalate"] == {"type": "boolean"}


@pytest.mark.parametrize("file, line, says", [
    ("footer.prompt", 12, "partial {{> signature}}: partials live in other files"),
    ("photo.prompt", 11, "{{media}} sends an image or file"),
])
def test_what_cannot_be_converted_is_refused_with_its_line(file, line, says):
    with pytest.raises(TemplateError) as e:
        import_file(DATA / file)
    assert f"{file}:{line}: {says}" in str(e.value) and " — " in str(e.value)


@pytest.mark.parametrize("source, jinja", [
    ("{{name}}", "{{ name }}"),
    ("{{{raw}}}", "{{ raw }}"),
    ("{{person.name}}", "{{ person.name }}"),
    ("a{{#if x}}b{{else}}c{{/if}}", "a{% if x %}b{% else %}c{% endif %}"),
    ("{{#unless x}}b{{/unless}}", "{% if not x %}b{% endif %}"),
    ("{{#if a}}1{{else if b}}2{{else}}3{{/if}}", "{% if a %}1{% elif b %}2{% else %}3{% endif %}"),
    ("{{#each xs}}{{this}},{{/each}}", "{% for item in xs %}{{ item }},{% endfor %}"),
    ("{{#each xs as |x|}}{{x}}{{/each}}", "{% for x in xs %}{{ x }}{% endfor %}"),
    ("{{#each m}}{{@key}}={{this}}{{/each}}", "{% for key, item in (m).items() %}{{ key }}={{ item }}{% endfor %}"),
    ("{{#each xs}}{{../top}}{{/each}}", "{% for item in xs %}{{ top }}{% endfor %}"),
    ("{{#each xs}}{{else}}none{{/each}}", "{% for item in xs %}{% else %}none{% endfor %}"),
    ('{{#ifEquals a "b"}}y{{/ifEquals}}', '{% if a == "b" %}y{% endif %}'),
    ("{{json x indent=2}}", "{{ x | tojson(indent=2) }}"),
    ("{{! note }}x", "{# note #}x"),
    ("{{!-- long note --}}x", "{# long note #}x"),
    ("{{~name~}}", "{{- name -}}"),
    ("100% {% raw %}", "100% {{ '{%' }} raw %}"),
])
def test_handlebars_becomes_jinja2(source, jinja):
    assert handlebars_to_jinja(source, "t.prompt", 1)[0] == jinja


@pytest.mark.parametrize("source, line, says", [
    ("a\n{{#with person}}{{name}}{{else}}x{{/with}}", 2, "{{else}} inside {{#with}}"),
    ("a\n{{this}}", 2, "this outside {{#each}} or {{#with}}"),
    ("a\n\n{{#if x}}b", 3, "{{#if}} is never closed"),
    ("{{#if x}}b{{/each}}", 1, "{{/each}} closes the {{#if}} of line 1"),
    ("x\n{{/if}}", 2, "{{/if}} closes nothing"),
    ("{{upper name}}", 1, "helper {{upper name}} is not one the import knows"),
    ("{{#custom x}}{{/custom}}", 1, "block helper {{#custom}}"),
    ("{{@index}}", 1, "@index outside {{#each}}"),
    ("{{#each a}}{{else if b}}{{/each}}", 1, "{{else if b}} is not converted"),
    ('{{#if a}}{{role "user"}}{{/if}}', 1, "{{role}} inside a block"),
])
def test_handlebars_that_has_no_conversion_is_refused_with_its_line(source, line, says):
    with pytest.raises(TemplateError) as e:
        handlebars_to_jinja(source, "t.prompt", 1)
    assert f"t.prompt:{line}: {says}" in str(e.value)


# Handlebars' lookup inside each/with: block params as is; else the current item; a name that is also a
# top-level name (slot, input, fixed value) reads the item's field when it has one, else the outer name.
@pytest.mark.parametrize("source, jinja", [
    ("{{#each cs}}{{role}}{{/each}}", "{% for item in cs %}{{ item.role }}{% endfor %}"),
    ("{{#each cs}}{{role.title}}{{/each}}", "{% for item in cs %}{{ item.role.title }}{% endfor %}"),
    ("{{#each cs}}{{#if role}}r{{/if}}{{/each}}", "{% for item in cs %}{% if item.role %}r{% endif %}{% endfor %}"),
    ("{{#each cs}}{{tone}}{{/each}}", "{% for item in cs %}{{ (item.tone if item.tone is defined else tone) }}"
                                      "{% endfor %}"),
    ("{{#each cs}}{{../tone}}{{/each}}", "{% for item in cs %}{{ tone }}{% endfor %}"),
    ("{{#each cs as |c|}}{{c.name}}{{c}}{{/each}}", "{% for c in cs %}{{ c.name }}{{ c }}{% endfor %}"),
    ("{{#each gs}}{{#each members}}{{name}}/{{../label}}/{{../../tone}}{{/each}}{{/each}}",
     "{% for item in gs %}{% for item2 in item.members %}{{ item2.name }}/{{ item.label }}/{{ tone }}"
     "{% endfor %}{% endfor %}"),
    ("{{#with person}}{{name}} {{this.age}}{{/with}}",
     "{% if person %}{% with ctx = person %}{{ ctx.name }} {{ ctx.age }}{% endwith %}{% endif %}"),
    ("{{#with person as |p|}}{{p.name}}{{/with}}",
     "{% if person %}{% with p = person %}{{ p.name }}{% endwith %}{% endif %}"),
])
def test_bare_names_inside_each_and_with_read_the_current_item(source, jinja):
    assert handlebars_to_jinja(source, "t.prompt", 1, {"cs", "gs", "tone", "person"})[0] == jinja


STORY = """---
model: googleai/gemini-1.5-flash
input:
  schema:
    tone: string
    characters(array):
      name: string
      role: string
    teams(array):
      label: string
      members(array):
        name: string
    lead(object):
      name: string
  default:
    tone: grim
    characters:
      - {name: Ann, role: knight}
      - {name: Bo, role: thief, tone: jolly}
    teams:
      - {label: red, members: [{name: Cy}, {name: Di}]}
    lead: {name: Eve}
---
{{#each characters}}
- {{@index}}: {{this.name}} the {{role}} ({{tone}}){{#unless @last}},{{/unless}}
{{/each}}
{{#each teams}}{{#each members}}{{name}} of {{../label}} ({{../../tone}}); {{/each}}{{/each}}
{{#with lead}}led by {{name}}{{/with}}
"""


def test_a_dotprompt_each_over_records_with_bare_field_names_imports_lints_and_renders(tmp_path):
    f = tmp_path / "story.prompt"
    f.write_text(STORY)
    imported = import_file(f)
    assert [p for p in lint_text(imported.text, tmp_path / "out" / "story.prompt") if p.severity == "error"] == []
    [(role, text)] = [(m["role"], m["content"]) for m in _render(imported.text, "story")]
    assert role == "user"
    assert text.strip() == ("- 0: Ann the knight (grim),\n- 1: Bo the thief (jolly)\n"
                            "Cy of red (grim); Di of red (grim); \nled by Eve")


@pytest.mark.parametrize("old, new, says", [
    ("led by {{name}}{{/with}}", "led by {{name}}{{/with}}\n\n{{nowhere}}", "{{ nowhere }} is not a slot"),
    ("led by {{name}}{{/with}}", "led by {{name}}\n\n{{nowhere}}{{/with}}", "has no attribute 'nowhere'"),
])
def test_a_converted_template_that_does_not_lint_is_refused_with_the_source_files_line(tmp_path, old, new, says):
    f = tmp_path / "bad.prompt"
    f.write_text(STORY.replace(old, new))
    env = {**os.environ, "STUDIO_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT), "NO_COLOR": "1",
           "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "studio", "import", str(f), "--out", str(tmp_path / "out")],
                          env=env, capture_output=True, text=True, timeout=120)
    said = " ".join(done.stderr.split())
    line = STORY.count("\n") + 2
    assert done.returncode == 2 and f"refused {f}:{line}: the converted template has a problem: " in said, said
    assert says in said and str(tmp_path / "out") not in said and "Traceback" not in said
    assert not (tmp_path / "out").exists()


def test_the_studios_own_prompt_files_are_told_apart_from_dotprompt():
    for f in (ROOT / "templates").glob("*.prompt"):
        assert detect(f, f.read_text()) == STUDIO, f.name
    for f in ("greeting.prompt", "recipe.prompt", "footer.prompt", "photo.prompt"):
        assert detect(DATA / f, (DATA / f).read_text()) == DOTPROMPT
    with pytest.raises(TemplateError, match="already a studio template"):
        import_file(ROOT / "templates" / "contrast-pairs.prompt")


def test_studio_import_writes_templates_lint_accepts_and_render_shows(tmp_path):
    env = {**os.environ, "STUDIO_HOME": str(tmp_path), "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "COLUMNS": "200"}

    def studio(*args):
        return subprocess.run([sys.executable, "-m", "studio", *args], env=env, cwd=tmp_path, capture_output=True,
                              text=True, timeout=120)

    files = [str(DATA / f) for f in ("basic.prompty", "chat.prompty", "agent.prompty", "greeting.prompt",
                                     "recipe.prompt", "footer.prompt")]
    done = studio("import", *files)
    assert done.returncode == 2, done.stderr                          # one file was refused
    assert "footer.prompt:12: partial" in " ".join(done.stderr.split()) and "Traceback" not in done.stderr
    assert "basic.prompty:24: input items" in done.stdout
    names = ["basic-prompt", "chat-with-history", "summarise", "greeting", "recipe-formal"]
    assert all((tmp_path / "templates" / f"{n}.prompt").is_file() for n in names)
    lint = studio("lint", *(str(tmp_path / "templates" / f"{n}.prompt") for n in names))
    assert lint.returncode == 0 and "no problems" in lint.stdout, lint.stdout
    for n in names:
        shown = studio("render", n, "-n", "1")
        assert shown.returncode == 0, shown.stderr
    again = studio("import", str(DATA / "greeting.prompt"))
    assert again.returncode == 2 and "exists already" in again.stderr
    assert studio("import", str(DATA / "greeting.prompt"), "--force").returncode == 0


def test_lint_on_a_prompty_or_dotprompt_file_says_to_import_it():
    from studio.core.lint import lint_paths

    problems = lint_paths([DATA / "basic.prompty", DATA / "greeting.prompt", ROOT / "templates" / "contrast-pairs.prompt"])
    assert [(Path(p.path).name, p.line, p.message) for p in problems] == [
        ("basic.prompty", 1, "this is a Prompty file, not a studio template"),
        ("greeting.prompt", 1, "this is a Dotprompt file, not a studio template")]
    assert all("studio import" in p.hint for p in problems)


@pytest.mark.parametrize("text", [
    "---\nname: x\nmodel: openai/gpt-4o\nslots:\n  history: [a]\n---\nuser:\n{{ history }}\n",
    "---\nname: x\nmodel: openai/gpt-4o\n---\n{{ role }} and {{ json }} and {{ media }}\n",
    "---\nname: x\n---\n{% if a %}{{ a }}{% else %}b{% endif %}\n",
    "---\nname: broken\nslots: [\n",
])
def test_studio_templates_that_look_a_little_like_dotprompt_stay_studio_templates(text):
    assert detect("t.prompt", text) == STUDIO
