"""A template's slot files are part of its version once they change: an edit of the data (in the studio or
in a text editor) makes the samples made after it v2, beside the text's hash, as a text edit does; the same
text and data keep the version they had (sessions made before the rule keep their hashes and names).
The real `studio` command, the fake OpenAI-compatible server, real session files."""

from __future__ import annotations

import hashlib
import json

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


def _run(studio, home, fake_llm, session="s"):
    return json.loads(studio(home, "run", "contrast-pairs", "--strategy", "product", "--model", fake_llm.model,
                             "--api-base", fake_llm.base_url, "--session", session, "--json"))


def _csv(home):
    return home / "templates" / "data" / "contrast-pairs.csv"


def _samples(home, session="s"):
    with Store(home / "sessions").open(session, read_only=True) as s:
        samples = list(s.iter_samples())
        labels = {x["template_version"]: s.version_label("contrast-pairs", x["template_version"]) for x in samples}
        versions = [d["version"] for d in s.template_versions("contrast-pairs")]
    return samples, labels, versions


def _text_hash(home):
    text = (home / "templates" / "contrast-pairs.prompt").read_text(encoding="utf-8")
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@pytest.mark.parametrize("command", ["regenerate", "run"])
def test_a_data_file_edited_outside_the_studio_makes_the_new_samples_v2(studio, tmp_path, fake_llm, command):
    _run(studio, tmp_path, fake_llm)
    first, labels, _ = _samples(tmp_path)
    (v1,) = {s["template_version"] for s in first}
    assert v1 == _text_hash(tmp_path) and labels[v1] == "v1"
    with Store(tmp_path / "sessions").open("s") as session:   # decisions on every old sample
        for i, s in enumerate(first):
            session.update_sample(s["id"], status="accepted" if i % 2 else "rejected")
    csv = _csv(tmp_path)
    original = csv.read_text(encoding="utf-8")
    assert "inflation,deflation" in original
    csv.write_text(original.replace("inflation,deflation", "inflation,disinflation"), encoding="utf-8")
    fake_llm.reset()
    if command == "run":
        _run(studio, tmp_path, fake_llm)
    else:
        out = " ".join(studio(tmp_path, "regenerate", "contrast-pairs", "--session", "s",
                              "--api-base", fake_llm.base_url).split())
        assert "v1 " in out and "→ v2 " in out and "compare: studio report s --compare contrast-pairs v1 v2" in out
    changed = [s for s in first if s["slots"]["pair"] == "inflation"]
    assert changed and fake_llm.count == len(changed)   # only the fills that read the changed row
    assert all("disinflation" in p for p in fake_llm.prompts())
    now, labels, versions = _samples(tmp_path)
    old = {s["id"]: s for s in now if s["id"] in {x["id"] for x in first}}
    assert all(old[i]["template_version"] == v1 and old[i]["status"] == ("accepted" if k % 2 else "rejected")
               for k, i in enumerate(x["id"] for x in first))
    new = [s for s in now if s["id"] not in old]
    assert len(new) == len(changed) and {s["slots"]["pair"] for s in new} == {"inflation"}
    (v2,) = {s["template_version"] for s in new}
    assert v2 != v1 and labels[v2] == "v2" and versions == [v1, v2]
    assert {s["model"] for s in new} == {s["model"] for s in changed}
    report = studio(tmp_path, "report", "s", "--compare", "contrast-pairs", "v1", "v2")
    assert "v1" in report and "v2" in report
    assert studio(tmp_path, "report", "s", "--compare", "contrast-pairs") == report   # the last two: v1, v2
    show = studio(tmp_path, "show", "s")
    assert "v2" in show

    # the data as it was: the text's own version again, nothing new to ask
    csv.write_text(original, encoding="utf-8")
    fake_llm.reset()
    _run(studio, tmp_path, fake_llm)
    assert fake_llm.count == 0
    _, _, versions = _samples(tmp_path)
    assert versions == [v1, v2]


def test_an_unchanged_template_keeps_its_version_and_hash(studio, tmp_path, fake_llm):
    """Sessions made before data was part of the version keep their hashes and names: the text's hash is
    the version while its data is the data it first ran with (here: no record of it at all yet)."""
    _run(studio, tmp_path, fake_llm)
    first, _, versions = _samples(tmp_path)
    assert versions == [_text_hash(tmp_path)]
    (tmp_path / "sessions" / ".version_data.json").unlink()   # a workspace from before the rule
    _run(studio, tmp_path, fake_llm)
    _run(studio, tmp_path, fake_llm, session="other")
    now, labels, versions = _samples(tmp_path)
    assert versions == [_text_hash(tmp_path)] and set(labels.values()) == {"v1"} and len(now) == len(first)
    other, labels, versions = _samples(tmp_path, "other")
    assert versions == [_text_hash(tmp_path)] and set(labels.values()) == {"v1"}
    dry = json.loads(studio(tmp_path, "regenerate", "contrast-pairs", "--session", "s", "--dry-run", "--json"))
    assert dry["new"] == _text_hash(tmp_path) and dry["changed"] == 0
