"""Mistakes a new user makes, as the `studio` command meets them: each KIND is a clear message, never a
traceback, a crash report or a silently ignored setting (real command in-process, fake server on 127.0.0.1)."""

from __future__ import annotations

import pytest

from studio.core.errors import TemplateError
from studio.core.params import KNOWN
from studio.core.template import parse_template


class Done:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, " ".join(stderr.split())


@pytest.fixture
def studio(monkeypatch, capsys):
    """The real `studio` entry point, in this process."""
    from studio.cli.main import main

    def call(tmp_path, *args):
        monkeypatch.setenv("STUDIO_HOME", str(tmp_path))
        monkeypatch.delenv("STUDIO_MODEL", raising=False)
        monkeypatch.setenv("COLUMNS", "400")
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return Done(code, " ".join(out.split()), err)
    return call


def _write(tmp_path, front: str, body: str = "hi {{ a }}") -> None:
    (tmp_path / "templates").mkdir(exist_ok=True)
    (tmp_path / "templates" / "t.prompt").write_text(f"---\nname: t\n{front}---\n{body}\n", encoding="utf-8")


# 1. Wrong-typed generation params: a file:line error at load (lint, run, the TUI's parse), never sent or crashed on.
WRONG_PARAMS = [
    ("max_tokens", "many"), ("max_tokens", "0"), ("max_tokens", "-5"), ("max_tokens", "1.5"), ("max_tokens", "true"),
    ("max_tokens", "[300]"), ("max_completion_tokens", "lots"), ("max_completion_tokens", "0"),
    ("n", "two"), ("n", "0"), ("seed", "abc"), ("seed", "1.5"), ("top_k", "-1"), ("top_k", "some"),
    ("top_logprobs", "21"), ("temperature", "hot"), ("temperature", "-0.1"), ("temperature", "true"),
    ("temperature", ".nan"), ("temperature", "{a: 1}"), ("top_p", "1.5"), ("top_p", "high"),
    ("presence_penalty", "3"), ("presence_penalty", "lots"), ("frequency_penalty", "-2.5"),
    ("frequency_penalty", "[1]"), ("stop", "5"), ("stop", "[END, 3]"), ("stop", "{a: b}"),
    ("response_format", "json"), ("response_format", "[json_object]"), ("logit_bias", "[1, 2]"),
    ("logprobs", "yes please"), ("tools", "lookup"), ("tool_choice", "[auto]"), ("reasoning_effort", "[low]"),
    ("timeout", "soon"),
]


@pytest.mark.parametrize("key,value", WRONG_PARAMS)
def test_a_wrong_typed_param_is_a_file_line_error_in_lint_and_run(studio, tmp_path, key, value):
    _write(tmp_path, f"params:\n  my_provider_knob: 1\n  {key}: {value}\nslots:\n  a: [x, y]\n")
    where = "t.prompt:5:"
    lint = studio(tmp_path, "lint", str(tmp_path / "templates"))
    assert lint.returncode == 2
    assert where in lint.stdout + lint.stderr and f"params.{key} must be" in lint.stdout + lint.stderr
    run = studio(tmp_path, "run", "t", "-n", "1", "--model", "render", "--session", "s")
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"params.{key} must be" in run.stderr and "—" in run.stderr
    assert "crash report" not in run.stderr and "Traceback" not in run.stderr
    with pytest.raises(TemplateError) as err:  # the TUI's editor parses with the same loader
        parse_template((tmp_path / "templates" / "t.prompt").read_text(), "t.prompt")
    assert err.value.line == int(where.split(":")[1])


@pytest.mark.parametrize("key,value", [
    ("max_tokens", "300"), ("max_completion_tokens", "1"), ("n", "2"), ("seed", "-3"), ("top_k", "0"),
    ("temperature", "0"), ("temperature", "1.3"), ("top_p", "1"), ("presence_penalty", "-2"),
    ("frequency_penalty", "0.5"), ("stop", "END"), ("stop", "['\\n\\n', END]"), ("response_format", "{type: json_object}"),
    ("logit_bias", "{'50256': -100}"), ("logprobs", "true"), ("tool_choice", "auto"), ("reasoning_effort", "low"),
    ("max_tokens", ""), ("my_provider_knob", "anything"), ("extra_body", "{top_k: 5}"),
])
def test_a_right_typed_or_unknown_param_loads(key, value):
    t = parse_template(f"---\nname: t\nparams:\n  {key}: {value}\n---\nhi\n", "t.prompt")
    assert key in t.params


def test_every_known_param_has_a_wrong_value_in_the_table():
    tested = {k for k, _ in WRONG_PARAMS}
    missing = set(KNOWN) - tested - {"max_output_tokens", "num_retries", "min_p", "repetition_penalty",
                                     "parallel_tool_calls", "user", "extra_body", "metadata"}
    assert not missing, missing


def test_a_wrong_typed_param_never_reaches_the_provider(studio, tmp_path, fake_llm):
    _write(tmp_path, "params: {temperature: hot}\nslots:\n  a: [x]\n")
    out = studio(tmp_path, "run", "t", "-n", "1", "--model", fake_llm.model, "--api-base", fake_llm.base_url,
                 "--session", "s")
    assert out.returncode == 2 and "t.prompt:3: params.temperature must be a number ≥ 0, not 'hot'" in out.stderr
    assert fake_llm.count == 0


# 2. An empty inline slot value renders as nothing ("hi "): refused at load, as the studio's slot editor refuses it.
@pytest.mark.parametrize("slot,line,nth", [
    ("a: ['', x]", 4, 1), ("a: [x, '   ']", 4, 2), ("a: [x, ~]", 4, 2), ("a: [x, null, y]", 4, 2),
    ("a:\n    - x\n    - ''", 6, 2), ("a: {'': 1, x: 2}", 4, 1), ("a:\n    values: [x, '']", 5, 2),
    ("a:\n    values: {x: 1, '': 3}", 5, 2), ("a:\n    values: [\"\\t\", x]\n    weights: [1, 2]", 5, 1),
])
def test_an_empty_inline_slot_value_is_refused_in_lint_render_and_run(studio, tmp_path, slot, line, nth):
    _write(tmp_path, f"slots:\n  {slot}\n")
    for args in (("lint", str(tmp_path / "templates")), ("render", "t"),
                 ("run", "t", "--model", "render", "--session", "s")):
        out = studio(tmp_path, *args)
        assert out.returncode == 2, args
        assert f"t.prompt:{line}: slot 'a': value {nth} is empty" in out.stdout + out.stderr, args
        assert "Traceback" not in out.stderr


# 3. `--api-base URL` is never silently ignored: it needs a model that calls a server.
@pytest.mark.parametrize("template,extra,says", [
    ("contrast-pairs", (), "needs --model: without one this run would use"),
    ("support-madlib", (), "template 'support-madlib' is render mode and calls no model"),
    ("contrast-pairs", ("--model", "render"), "--model render does not call a server"),
    ("contrast-pairs", ("--model", "local/smollm2"), "--model local/smollm2 does not call a server"),
])
def test_api_base_without_a_model_that_uses_it_is_refused(studio, tmp_path, template, extra, says):
    out = studio(tmp_path, "run", template, "-n", "1", "--api-base", "http://127.0.0.1:9/v1", *extra, "--session", "s")
    assert out.returncode == 2 and says in out.stderr and " — " in out.stderr, out.stderr
    assert not list((tmp_path / "sessions").glob("s*"))  # refused before a session is made


def test_api_base_goes_with_the_templates_model(studio, tmp_path, fake_llm):
    _write(tmp_path, f"model: {fake_llm.model}\nslots:\n  a: [x, y]\n")
    out = studio(tmp_path, "run", "t", "-n", "2", "--api-base", fake_llm.base_url, "--session", "s")
    assert out.returncode == 0, out.stderr
    assert fake_llm.count == 2


# 4. -n above the template's space is said on stderr, never a silent cap.
@pytest.mark.parametrize("extra,says", [
    ((), "asked for 3,000; the template has 2,880 combinations — running those 2,880 once each (add slot values "
         "to widen the space)"),          # render mode: more answers would be copies, never offered
    (("--strategy", "sample"), "asked for 3,000; the template has 2,880 combinations"),
    (("--json",), "asked for 3,000; the template has 2,880 combinations"),
])
def test_n_above_the_space_says_so(studio, tmp_path, extra, says):
    out = studio(tmp_path, "run", "support-madlib", "-n", "3000", "--model", "render", "--session", "s", *extra)
    assert out.returncode == 0, out.stderr
    assert says in out.stderr


@pytest.mark.parametrize("extra,says", [
    ((), "asked for 5; the template has 2 combinations — running those 2 once each (--answers 3 for 3 per prompt, "
         "6 samples"),
    (("--answers", "3"), "asked for 5; the template has 2 combinations — running those 2 with 3 answers each "
                         "(6 samples"),
])
def test_n_above_the_space_offers_more_answers_from_a_model(studio, tmp_path, fake_llm, extra, says):
    _write(tmp_path, "slots:\n  a: [x, y]\n")
    out = studio(tmp_path, "run", "t", "-n", "5", "--model", fake_llm.model, "--api-base", fake_llm.base_url,
                 "--session", "s", *extra)
    assert out.returncode == 0, out.stderr
    assert says in out.stderr


@pytest.mark.parametrize("args", [("-n", "2880"), ("-n", "5"), ()])
def test_n_within_the_space_says_nothing_about_it(studio, tmp_path, args):
    out = studio(tmp_path, "run", "support-madlib", *args, "--model", "render", "--session", "s", "--json")
    assert out.returncode == 0 and "combinations" not in out.stderr, out.stderr


# 5. Versions by name (v1, v2) wherever a version is taken; messages list them as "v1 4ecb5d".
@pytest.fixture
def two_versions(studio, tmp_path):
    _write(tmp_path, "mode: render\nslots:\n  a: [x, y, z]\n", "user:\nhi {{ a }}\nassistant:\nhello {{ a }}")
    assert studio(tmp_path, "run", "t", "--model", "render", "--session", "s", "--json").returncode == 0
    _write(tmp_path, "mode: render\nslots:\n  a: [x, y]\n", "user:\nhey {{ a }}\nassistant:\nhello {{ a }}")
    assert studio(tmp_path, "run", "t", "--model", "render", "--session", "s", "--json").returncode == 0
    from studio.store import Store

    with Store(tmp_path / "sessions").open("s", read_only=True) as s:
        return {label: v for (_t, v), label in s.version_labels().items()}


@pytest.mark.parametrize("given,rows", [("v1", 3), ("v2", 2), ("V2", 2), ("hash1", 3), ("hash2", 2)])
def test_export_and_verify_take_a_version_by_name_or_hash(studio, tmp_path, two_versions, given, rows):
    v = {"hash1": two_versions["v1"][:6], "hash2": two_versions["v2"][:6]}.get(given, given)
    out = studio(tmp_path, "export", "s", "-f", "raw", "--out", str(tmp_path / "out"), "--version", v,
                 "--status", "pending", "--dry-run", "--val-fraction", "0")
    assert out.returncode == 0, out.stderr
    assert f"{rows} of 5 samples selected" in out.stdout
    out = studio(tmp_path, "verify", "s", "--version", v, "--disagreements")
    assert out.returncode == 0, out.stderr


def test_the_tui_export_dialog_takes_a_version_name(studio, tmp_path, two_versions):
    from studio.store import Store
    from studio.tui.export_bridge import Form, options, plan

    with Store(tmp_path / "sessions").open("s", read_only=True) as s:
        p = plan(s, options(Form(format="raw", statuses="pending", versions="v2", val_fraction="0")))
    assert set(p.versions) == {two_versions["v2"]} and len(p.versions) == 2


def test_an_unknown_version_lists_the_versions_by_name(studio, tmp_path, two_versions):
    v1, v2 = two_versions["v1"][:6], two_versions["v2"][:6]
    out = studio(tmp_path, "export", "s", "-f", "raw", "--out", str(tmp_path / "out"), "--version", "v9")
    assert out.returncode == 2 and "no samples of template version 'v9'" in out.stderr
    assert f"t v1 {v1}, t v2 {v2}" in out.stderr
    out = studio(tmp_path, "verify", "s", "--version", "v9", "--disagreements")
    assert out.returncode == 2 and f"t v1 {v1}, t v2 {v2}" in out.stderr
    out = studio(tmp_path, "report", "s", "--compare", "t", "v1", "v9")
    assert out.returncode == 2 and f"v1 {v1}, v2 {v2}" in out.stderr, out.stderr


# 6. Messages that name the key, its example and its line; the right mistake first; nothing cut off silently.
MODELS = """model_list:
  - model_name: a
    litellm_params:
      model: openai/x
      api_key: os.environ/NOPE_STUDIO_KEY
  - model_name: b
    litellm_params:
      model: openai/y
      {key}: {value}
"""


@pytest.mark.parametrize("key,value,model,says", [
    ("rpm", "fast", "b", "m.yaml:9: model_list[1].litellm_params.rpm: 'fast' is not a whole number — e.g. rpm: 600"),
    ("tpm", "lots", "b", "m.yaml:9: model_list[1].litellm_params.tpm: 'lots' is not a whole number — e.g. tpm: 100000"),
    ("max_parallel_requests", "many", "b", "m.yaml:9: model_list[1].litellm_params.max_parallel_requests: 'many' is "
                                            "not a whole number — e.g. max_parallel_requests: 64"),
    ("rpm", "-3", "b", "m.yaml:9: model_list[1].litellm_params.rpm: -3 is not a whole number ≥ 0 — e.g. rpm: 600"),
    ("rpm", "1.5", "b", "rpm: 1.5 is not a whole number"),
    ("rpm", "60", "nosuch", "m.yaml: no model_name 'nosuch' — models there: a, b"),
    ("rpm", "fast", "nosuch", "m.yaml: no model_name 'nosuch' — models there: a, b"),
    ("rpm", "60", "a", "m.yaml:5: model_list[0].litellm_params.api_key: the environment variable NOPE_STUDIO_KEY is "
                       "not set — export NOPE_STUDIO_KEY=..."),
])
def test_models_file_mistakes_name_the_key_its_line_and_come_in_order(studio, tmp_path, monkeypatch, key, value,
                                                                      model, says):
    monkeypatch.delenv("NOPE_STUDIO_KEY", raising=False)
    (tmp_path / "m.yaml").write_text(MODELS.format(key=key, value=value))
    monkeypatch.chdir(tmp_path)
    out = studio(tmp_path, "run", "contrast-pairs", "-n", "1", "--models", "m.yaml", "--model", model)
    assert out.returncode == 2 and says in out.stderr, out.stderr


@pytest.mark.parametrize("shard,says", [
    ("1/0", "N (the number of machines) must be ≥ 1"), ("0/0", "N (the number of machines) must be ≥ 1"),
    ("4/3", "K must be 1..N"), ("0/3", "K must be 1..N"), ("a/3", "is not K/N"), ("3", "is not K/N"),
])
def test_a_bad_shard_says_which_part_is_wrong(studio, tmp_path, shard, says):
    out = studio(tmp_path, "run", "support-madlib", "--model", "render", "--shard", shard)
    assert out.returncode == 2 and says in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("count,tail", [(3, None), (10, None), (11, "… and 1 more"), (14, "… and 4 more")])
def test_session_not_found_says_how_many_more_there_are(studio, tmp_path, count, tail):
    from studio.store import Store

    store = Store(tmp_path / "sessions")
    for i in range(count):
        store.create(f"s{i:02d}").close()
    out = studio(tmp_path, "show", "nosuch")
    assert out.returncode == 2 and "no session named 'nosuch'" in out.stderr
    assert "s00" in out.stderr
    if tail:
        assert tail in out.stderr
    else:
        assert "more" not in out.stderr


def test_help_describes_every_sessions_option(capsys):
    from studio.cli.main import main

    with pytest.raises(SystemExit):
        main(["--help"])
    assert "list sessions (or rename, copy, delete, merge)" in capsys.readouterr().out


# 7. One cost, one text: the same total summed in another order reads the same everywhere.
@pytest.mark.parametrize("parts,text", [
    ([3.15e-05] * 3, "$0.000095"), ([1.2e-05, 8.25e-05], "$0.000095"), ([9.45e-05], "$0.000095"),
    ([0.1] * 3, "$0.3000"), ([0.0001] * 3, "$0.00030"), ([0.335, 0.33, 0.335], "$1.00"),
    ([0.005, 0.000025], "$0.0050"), ([1.005, 0.0], "$1.01"),
])
def test_a_total_reads_the_same_whatever_order_or_rounding_made_it(parts, text):
    from studio.core.cost import Cost, money

    totals = {sum(parts), sum(reversed(parts)), round(sum(parts), 8), float(f"{sum(parts):.10g}")}
    assert {money(t) for t in totals} == {text}, totals
    assert Cost(sum(parts)).text() == text


def test_the_run_summary_and_show_say_the_same_cost(studio, tmp_path, fake_llm):
    import re

    out = studio(tmp_path, "run", "contrast-pairs", "-n", "3", "--model", "openai/gpt-4o-mini", "--api-base",
                 fake_llm.base_url, "--session", "c")
    assert out.returncode == 0, out.stderr
    ran = re.search(r"cost (\$[\d.,]+)", out.stdout)
    shown = re.search(r"cost (\$[\d.,]+)", studio(tmp_path, "show", "c").stdout)
    assert ran and shown and ran.group(1) == shown.group(1) != "$0"
