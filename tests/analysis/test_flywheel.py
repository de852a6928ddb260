"""The whole flywheel against the fake server: production feedback -> structured signals -> a drafted
template -> generated samples -> review -> an exported dataset, and the report over the result."""

import asyncio
import json

from studio.analysis.attribution import analyse
from studio.analysis.drafting import draft_template, save_draft
from studio.analysis.feedback import find_group, import_feedback
from studio.export import ExportOptions, plan_export, write_export
from studio.runs.run import Run
from studio.core.workspace import Workspace
from tests.analysis.conftest import structuring_reply


def model(messages):
    """Structures feedback when asked to; otherwise answers briefly (the new template asks for concision)."""
    if "structured signal" in messages[0]["content"]:
        return structuring_reply(messages)
    return "In short: " + messages[-1]["content"][:40]


def test_feedback_to_template_to_data(fake_llm, tmp_path, session):
    fake_llm.set(reply=model)
    ws = Workspace(tmp_path).ensure()
    feedback = tmp_path / "production.jsonl"
    rows = [{"prompt": f"How do I reset the X{i} router?", "response": "Well, first, let me explain... " * 20,
             "comment": "way too wordy", "rating": 2} for i in range(4)]
    rows += [{"prompt": "Why is my bill high?", "response": "Read the manual.", "comment": "rude"}]
    feedback.write_text("\n".join(json.dumps(r) for r in rows) + "\n{broken\n")

    # 1. import and structure
    imported = import_feedback(session, feedback, model=fake_llm.model, api_base=fake_llm.base_url,
                               cache_dir=ws.cache_dir, workspace=ws)
    assert len(imported.added) == 5 and [p.line for p in imported.problems] == [6]

    # 2. a group drafts a targeted template, seeded with the real prompts behind the feedback
    group = find_group(session.feedback(), "verbosity")
    assert group.count == 4
    draft = save_draft(draft_template(group, templates_dir=ws.templates_dir), ws.templates_dir, session)
    assert draft.name == "concise-answers"

    # 3. generate with it
    before = fake_llm.count
    summary = asyncio.run(Run(ws, draft.name, session=session, model=fake_llm.model,
                              api_base=fake_llm.base_url).execute())
    assert summary.done == 4 and fake_llm.count == before + 4
    samples = list(session.iter_samples(template="concise-answers"))
    assert sorted(s["slots"]["request"] for s in samples) == sorted(r["prompt"] for r in rows[:4])
    assert all(s["template_version"] == draft.version for s in samples)

    # 4. review
    for s in samples[:3]:
        session.accept(s["id"])
    session.reject(samples[3]["id"])
    session.toggle_tag(samples[3]["id"], "wordy")

    # 5. export the accepted samples as a chat fine-tuning set
    plan = plan_export(session, ExportOptions(format="openai-chat", templates=("concise-answers",),
                                              val_fraction=0))
    report = write_export(plan, tmp_path / "out")
    lines = (tmp_path / "out" / "train.jsonl").read_text().splitlines()
    assert len(lines) == 3 and report.rows["train"] == 3
    first = json.loads(lines[0])["messages"]
    assert first[0]["role"] == "system" and "concisely" in first[0]["content"]
    assert first[-1]["role"] == "assistant" and first[-1]["content"].startswith("In short:")

    # 6. and the report sees the new template's version, decisions and tags
    t = analyse(session.iter_samples()).template("concise-answers")
    assert t.counts.accepted == 3 and t.counts.tags == {"wordy": 1}
    assert list(t.versions) == [draft.version]
