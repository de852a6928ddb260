"""Edit a template or its data file, run the same `studio run` again: only the prompts the session does
not hold yet are asked for, and the session never holds two samples of one (prompt, model, answer).
The real `studio` command, the fake OpenAI-compatible server, a real session file."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from studio.store import Store


@pytest.fixture
def studio(monkeypatch, capsys):
    from studio.cli.main import main

    def call(tmp_path, *args):
        monkeypatch.setenv("STUDIO_HOME", str(tmp_path))
        monkeypatch.delenv("STUDIO_MODEL", raising=False)
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        assert code == 0, err
        return out
    return call


def _edit(path, fn):
    path.write_text(fn(path.read_text(encoding="utf-8")), encoding="utf-8")


def _csv(fn):
    return lambda home: _edit(home / "templates" / "data" / "contrast-pairs.csv", fn)


def _prompt(fn):
    return lambda home: _edit(home / "templates" / "contrast-pairs.prompt", fn)


def _drop_row(text):
    return "".join(line for line in text.splitlines(True) if not line.startswith("inflation"))


def _add_row(text):
    return text.rstrip("\n") + "\nsupply,demand\n"


def _reorder_rows(text):
    head, *rows = text.strip("\n").splitlines()
    return "\n".join([head, *reversed(rows)]) + "\n"


EDITS = {
    "delete a data row": _csv(_drop_row),
    "add a data row": _csv(_add_row),
    "reorder data rows": _csv(_reorder_rows),
    "change a list value": _prompt(lambda t: t.replace("n: [2, 3, 4]", "n: [2, 3, 6]")),
    "add a list value": _prompt(lambda t: t.replace("n: [2, 3, 4]", "n: [2, 3, 4, 5]")),
    "reorder list values": _prompt(lambda t: t.replace("n: [2, 3, 4]", "n: [4, 2, 3]")),
    "change a param (prompts the same, answers not)": _prompt(lambda t: t.replace("temperature: 0.7",
                                                                                  "temperature: 0.3")),
    "change the system text (every prompt new)": _prompt(lambda t: t.replace("patient teacher", "calm teacher")),
}


def _rendered(studio, home) -> list[str]:
    out = studio(home, "render", "contrast-pairs", "--strategy", "product", "--json")
    return ["\n".join(m["content"] for m in json.loads(line)["messages"]) for line in out.splitlines() if line]


@pytest.mark.parametrize("edit", list(EDITS), ids=[re.sub(r"\W+", "-", k) for k in EDITS])
@pytest.mark.parametrize("answers", [1, 2])
def test_a_rerun_after_an_edit_asks_only_for_prompts_not_held(studio, tmp_path, fake_llm, edit, answers):
    cmd = ["run", "contrast-pairs", "--strategy", "product", "--model", fake_llm.model, "--api-base",
           fake_llm.base_url, "--session", "s", "--no-cache", "--json", "--answers", str(answers)]
    studio(tmp_path, *cmd)
    before = _rendered(studio, tmp_path)
    assert fake_llm.count == len(before) * answers and len(set(before)) == len(before)
    EDITS[edit](tmp_path)
    after = _rendered(studio, tmp_path)
    fake_llm.reset()
    second = json.loads(studio(tmp_path, *cmd))
    asked = Counter(fake_llm.prompts())
    held = set() if "change a param" in edit else set(before)   # an answer at another temperature is new
    want = Counter({p: answers for p in after if p not in held})
    assert asked == want                      # exactly the prompts not held, each answer once
    assert second["held"] == sum(p in held for p in after) * answers
    with Store(tmp_path / "sessions").open("s", read_only=True) as session:
        samples = list(session.iter_samples())
    idents = Counter((s["prompt_hash"], s["model"], s["answer"], s["params"].get("temperature")) for s in samples)
    assert max(idents.values()) == 1          # no (prompt, model, answer, parameters) twice
    assert len(samples) == (len(before) + len(after) if not held else len(set(before) | set(after))) * answers
    # the same command a third time asks nothing
    fake_llm.reset()
    third = json.loads(studio(tmp_path, *cmd))
    assert (fake_llm.count, third["done"], third["held"]) == (0, 0, len(after) * answers)


def test_the_seed_follows_the_fill_not_its_position(studio, tmp_path, fake_llm):
    """Deleting a data row leaves every other fill's seed as it was (the cache then serves them too)."""
    cmd = ["run", "contrast-pairs", "--strategy", "product", "--model", fake_llm.model, "--api-base",
           fake_llm.base_url, "--session", "a", "--json"]
    studio(tmp_path, *cmd)
    _csv(_drop_row)(tmp_path)
    studio(tmp_path, *cmd[:-2], "b", "--json")    # a new session: only the request cache knows them
    store = Store(tmp_path / "sessions")
    seeds = {}
    for name in ("a", "b"):
        with store.open(name, read_only=True) as session:
            seeds[name] = {s["fill_key"]: s["seed"] for s in session.iter_samples()}
    assert seeds["b"] and all(seeds["a"][k] == v for k, v in seeds["b"].items())
    with store.open("b", read_only=True) as session:
        assert all(s["cached"] for s in session.iter_samples())


def test_after_a_regeneration_more_answers_add_only_the_new_answers(studio, tmp_path, fake_llm):
    """ctrl+r / `studio regenerate` then `studio run --answers 3`: answer 0 of every prompt is held
    (whichever version made it); only answers 1 and 2 are asked, once each."""
    cmd = ["run", "contrast-pairs", "--strategy", "product", "--model", fake_llm.model, "--api-base",
           fake_llm.base_url, "--session", "s", "--no-cache", "--json"]
    studio(tmp_path, *cmd)
    prompts = _rendered(studio, tmp_path)
    _prompt(lambda t: t.replace("n: [2, 3, 4]", "n: [2, 3, 6]"))(tmp_path)
    dry = json.loads(studio(tmp_path, "regenerate", "contrast-pairs", "--session", "s", "--dry-run", "--json"))
    assert (dry["changed"], dry["unchanged"]) == (len(prompts) // 3, 2 * len(prompts) // 3)
    studio(tmp_path, "regenerate", "contrast-pairs", "--session", "s", "--api-base", fake_llm.base_url)
    now = _rendered(studio, tmp_path)
    assert len(set(now) - set(prompts)) == len(prompts) // 3
    fake_llm.reset()
    more = json.loads(studio(tmp_path, *cmd, "--answers", "3"))
    assert Counter(fake_llm.prompts()) == Counter(dict.fromkeys(now, 2))
    assert (more["held"], more["done"]) == (len(now), 2 * len(now))
    with Store(tmp_path / "sessions").open("s", read_only=True) as session:
        samples = list(session.iter_samples())
    current = {s["prompt_hash"] for s in samples if s["template_version"] == samples[-1]["template_version"]}
    idents = Counter((s["prompt_hash"], s["model"], s["answer"]) for s in samples)
    assert max(idents.values()) == 1 and len(current) == len(now)


def test_a_rerun_after_the_edit_leaves_regenerate_nothing_to_do(studio, tmp_path, fake_llm):
    cmd = ["run", "contrast-pairs", "--strategy", "product", "--model", fake_llm.model, "--api-base",
           fake_llm.base_url, "--session", "s", "--no-cache", "--json"]
    studio(tmp_path, *cmd)
    _prompt(lambda t: t.replace("n: [2, 3, 4]", "n: [2, 3, 6]"))(tmp_path)
    fake_llm.reset()
    studio(tmp_path, *cmd)
    assert fake_llm.count == 8   # the fills with n=6, one per data row
    dry = json.loads(studio(tmp_path, "regenerate", "contrast-pairs", "--session", "s", "--dry-run", "--json"))
    assert dry["changed"] == 0
    fake_llm.reset()
    studio(tmp_path, "regenerate", "contrast-pairs", "--session", "s", "--api-base", fake_llm.base_url)
    assert fake_llm.count == 0


REGEN_EDITS = {   # edit of the data file in a one-version session -> (changed, retired) per answer
    "delete a data row": (_drop_row, 0, 3),
    "change a row's other field": (lambda t: t.replace("inflation,deflation", "inflation,disinflation"), 3, 0),
    "add a data row": (_add_row, 0, 0),
}


@pytest.mark.parametrize("edit", list(REGEN_EDITS), ids=[re.sub(r"\W+", "-", k) for k in REGEN_EDITS])
def test_regenerate_after_a_data_file_edit_in_a_one_version_session(studio, tmp_path, fake_llm, edit):
    """No "no older version made samples": retired fills are reported, changed ones regenerated, and a
    second dry run finds nothing to do and counts each held prompt once."""
    fn, changed, retired = REGEN_EDITS[edit]
    studio(tmp_path, "run", "contrast-pairs", "--strategy", "product", "--model", fake_llm.model, "--api-base",
           fake_llm.base_url, "--session", "s", "--json")
    total = fake_llm.count
    _csv(fn)(tmp_path)
    dry = json.loads(studio(tmp_path, "regenerate", "contrast-pairs", "--session", "s", "--dry-run", "--json"))
    assert (dry["changed"], dry["retired"], dry["unchanged"]) == (changed, retired, total - changed - retired)
    text = studio(tmp_path, "regenerate", "contrast-pairs", "--session", "s", "--dry-run")
    assert f"{changed} changed prompt(s) to generate" in " ".join(text.split())
    assert (f"{retired} retired" in text) == bool(retired)
    fake_llm.reset()
    studio(tmp_path, "regenerate", "contrast-pairs", "--session", "s", "--api-base", fake_llm.base_url)
    assert fake_llm.count == changed
    again = json.loads(studio(tmp_path, "regenerate", "contrast-pairs", "--session", "s", "--dry-run", "--json"))
    # the regenerated fills are v2's now (the data edit is a new version): their v1 samples count as done
    assert (again["changed"], again["unchanged"], again["retired"], again["done"]) == \
        (0, total - retired - changed, retired, changed)
