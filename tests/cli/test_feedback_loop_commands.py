"""`studio report`, `studio feedback` and `studio verify`, run as the real command against the fake server."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.analysis.conftest import structuring_reply
from tests.analysis.planted import session_with_bad_value


def studio(*args, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "STUDIO_HOME": str(cwd), "NO_COLOR": "1", "COLUMNS": "120"}
    return subprocess.run([sys.executable, "-m", "studio", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=180)


def _planted_session(ws: Path, name="demo"):
    from studio.store import Store
    from studio.core.workspace import Workspace

    Workspace(ws).ensure()
    session = Store(ws / "sessions").create(name)
    samples = session_with_bad_value()
    for s in samples:
        s.pop("id")
    session.add_samples(samples)
    return session


def test_report_points_at_the_planted_cause(tmp_path):
    _planted_session(tmp_path).close()
    result = studio("report", "demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "⚑ support: slot.product=e-bike makes 59% of the rejected" in result.stdout
    assert "⚑ stands out" in result.stdout  # a word next to the glyph, never colour alone
    data = json.loads(studio("report", "demo", "--json", cwd=tmp_path).stdout)
    assert {(f["dimension"], f["value"]) for f in data["templates"][0]["flags"]} == {("slot.product", "e-bike")}


def test_report_mistakes_are_clear_messages_not_tracebacks(tmp_path):
    _planted_session(tmp_path).close()
    missing = studio("report", "nosuch", cwd=tmp_path)
    assert missing.returncode == 2 and "no session named 'nosuch'" in missing.stderr
    assert "Traceback" not in missing.stderr
    compare = studio("report", "demo", "--compare", "support", cwd=tmp_path)
    assert compare.returncode == 2 and "0 saved version(s)" in compare.stderr


def test_feedback_import_list_and_draft(fake_llm, tmp_path):
    fake_llm.set(reply=structuring_reply)
    f = tmp_path / "fb.jsonl"
    f.write_text("\n".join([json.dumps({"prompt": f"q{i}", "response": "long", "comment": "too wordy"})
                            for i in range(3)] + ["{oops", json.dumps({"prompt": "q", "response": "r",
                                                                       "comment": "rude"})]) + "\n")
    result = studio("feedback", "import", str(f), "--session", "prod", "--model", fake_llm.model,
                    "--api-base", fake_llm.base_url, cwd=tmp_path)
    assert result.returncode == 1, result.stderr  # a bad row was skipped: scripts can tell
    assert f"skipped {f}:4: not valid JSON" in result.stderr
    assert "added 4 feedback record(s) (4 structured; 4 by model:openai/fake)" in result.stdout
    assert "verbosity" in result.stdout and "draft a template from a group" in result.stdout

    groups = json.loads(studio("feedback", "list", "--session", "prod", "--json", cwd=tmp_path).stdout)
    assert [(g["category"], g["count"]) for g in groups] == [("verbosity", 3), ("tone", 1)]

    draft = studio("feedback", "draft", "verbosity", "--session", "prod", cwd=tmp_path)
    assert draft.returncode == 0, draft.stderr
    path = tmp_path / "templates" / "concise-answers.prompt"
    assert path.is_file() and "q2" in path.read_text()
    assert "next: studio run concise-answers --session prod" in draft.stdout
    unknown = studio("feedback", "draft", "safety", "--session", "prod", cwd=tmp_path)
    assert unknown.returncode == 2 and "categories: verbosity (3), tone (1)" in unknown.stderr


def test_verify_stores_verdicts_and_lists_disagreements(fake_llm, tmp_path):
    fake_llm.set(reply=lambda m: "VERDICT: correct" if "Answer: 4" in m[-1]["content"] else "VERDICT: incorrect")
    session = _planted_session(tmp_path, "math")
    ids = session.add_samples([{"template": "math", "template_version": "v", "fill_key": str(i), "output": out,
                                "messages": [{"role": "user", "content": "2+2?"}]}
                               for i, out in enumerate(["Answer: 4", "Answer: 5", "Answer: 4"])])
    session.accept(ids[0])
    session.accept(ids[1])
    session.reject(ids[2])
    session.close()
    result = studio("verify", "math", "--template", "math", "--model", fake_llm.model, "--api-base",
                    fake_llm.base_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "verified 3 sample(s) (2 correct, 1 incorrect)" in result.stdout
    assert "2 disagreement(s)" in result.stdout
    assert fake_llm.count == 3
    listed = json.loads(studio("verify", "math", "--disagreements", "--json", cwd=tmp_path).stdout)
    assert listed["disagreements"] == [ids[1], ids[2]] and listed["agreement"]["math"]["rate"] == 1 / 3
    assert fake_llm.count == 3  # --disagreements runs nothing


def test_regenerate_after_an_edit_requests_only_the_changed_prompts(fake_llm, tmp_path):
    from studio.core.workspace import Workspace

    Workspace(tmp_path).ensure()
    path = tmp_path / "templates" / "explain.prompt"
    head = ("---\nname: explain\nmode: generate\nslots:\n  product: [router, phone, tablet]\n"
            "combine:\n  strategy: product\n---\n")
    path.write_text(head + "Explain the {{ product }}.\n")
    run = studio("run", "explain", "--session", "s", "--model", fake_llm.model, "--api-base", fake_llm.base_url,
                 "--json", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert fake_llm.count == 3
    path.write_text(head + "Explain the {{ product }}.{% if product == 'phone' %} Mention the battery.{% endif %}\n")
    dry = json.loads(studio("regenerate", "explain", "--session", "s", "--dry-run", "--json", cwd=tmp_path).stdout)
    assert (dry["changed"], dry["unchanged"], dry["summary"]) == (1, 2, None)
    result = studio("regenerate", "explain", "--session", "s", "--api-base", fake_llm.base_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 changed prompt(s) to generate, 2 unchanged kept" in result.stdout
    assert fake_llm.count == 4 and "battery" in fake_llm.prompts()[-1]
    compare = studio("report", "s", "--compare", "explain", cwd=tmp_path)
    assert compare.returncode == 0, compare.stderr
    assert "on the same 1 fill(s)" in compare.stdout and "+Explain the {{ product }}.{% if" in compare.stdout
    # versions have names a person can say, with the hash beside, everywhere they are shown
    assert "explain: v1 " in compare.stdout and " → v2 " in compare.stdout
    by_name = studio("report", "s", "--compare", "explain", "v1", "v2", "--json", cwd=tmp_path)
    named = json.loads(by_name.stdout)
    assert (named["old_label"], named["new_label"]) == ("v1", "v2")
    shown = studio("show", "s", cwd=tmp_path).stdout
    assert f"v1 {named['old'][:12]}" in shown and f"v2 {named['new'][:12]}" in shown
    report = studio("report", "s", cwd=tmp_path).stdout
    assert f"v1 {named['old'][:8]}" in report and f"v2 {named['new'][:8]}" in report
    again = studio("regenerate", "explain", "--session", "s", "--from", "zzzz", cwd=tmp_path)
    assert again.returncode == 2 and "no version of 'explain' with samples starts with 'zzzz'" in again.stderr


def test_app_reviews_import_offline_completely_and_a_draft_takes_given_prompts(tmp_path):
    import csv

    rows = [json.loads(x) for part in ("tune", "heldout")
            for x in (Path(__file__).parents[1] / "analysis" / "data" / f"feedback_{part}.jsonl").read_text().splitlines()]
    f = tmp_path / "reviews.csv"
    with open(f, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Review Text", "Star Rating"])
        for r in rows:
            w.writerow([r["comment"], "" if r["rating"] is None else r["rating"]])
    done = studio("feedback", "import", str(f), "--session", "reviews", cwd=tmp_path)     # no model: offline
    assert done.returncode == 0, done.stderr
    assert f"added {len(rows)} feedback record(s)" in done.stdout and "0 bad row(s) skipped" in done.stdout
    groups = json.loads(studio("feedback", "list", "--session", "reviews", "--json", cwd=tmp_path).stdout)
    by = {g["category"]: g for g in groups}
    assert by["praise"]["polarity"].get("positive", 0) > 30 and by["verbosity"]["polarity"].get("negative", 0) > 15
    assert sum(g["count"] for g in groups) == len(rows)
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("Explain DNS.\nWhat is a VPN?\n")
    draft = studio("feedback", "draft", "verbosity", "--session", "reviews", "--prompts", str(prompts), cwd=tmp_path)
    assert draft.returncode == 0, draft.stderr
    assert "2 prompt(s) from the prompts given" in " ".join(draft.stdout.split())
    text = (tmp_path / "templates" / "concise-answers.prompt").read_text()
    assert "What is a VPN?" in text and "concisely" in text
    fid = by["verbosity"]["examples"][0]["id"]
    fixed = studio("feedback", "set", str(fid), "depth", "--session", "reviews", cwd=tmp_path)
    assert fixed.returncode == 0 and "-> depth (by hand)" in fixed.stdout
    bad = studio("feedback", "set", str(fid), "wordy", "--session", "reviews", cwd=tmp_path)
    assert bad.returncode == 2 and "unknown feedback category 'wordy'" in bad.stderr
