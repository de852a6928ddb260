"""Feedback import: bad rows named by line, comments structured through the engine, groups by category."""

import json

import pytest

from studio.analysis.feedback import (RATING_ONLY, STRUCTURED, UNSTRUCTURED, group_feedback, import_feedback,
                                      read_feedback, structure)
from studio.core.errors import StudioError
from tests.analysis.conftest import structuring_reply


def _jsonl(path, rows):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_jsonl_bad_rows_are_reported_by_line_and_skipped(tmp_path):
    f = _jsonl(tmp_path / "fb.jsonl", [
        {"prompt": "p1", "response": "r1", "comment": "too wordy"},
        "{not json",
        {"prompt": "p3", "comment": "no response"},
        "",
        {"prompt": "p5", "response": "r5"},
        {"prompt": "p6", "response": "r6", "rating": "meh"},
        [1, 2],
        {"input": "p8", "output": "r8", "rating": 2},
        {"prompt": "p9", "response": "r9", "rating": "👎"},
    ])
    parsed = read_feedback(f)
    assert [r["line"] for r in parsed.rows] == [1, 3, 8, 9]        # a comment without a response is feedback
    assert parsed.rows[2]["rating"] == 2 and parsed.rows[3]["rating"] == "down"
    assert [p.line for p in parsed.problems] == [2, 5, 6, 7]
    text = [str(p) for p in parsed.problems]
    assert text[0].startswith(f"{f}:2: not valid JSON")
    assert "no comment and no rating" in text[1]
    assert all(" — " in t for t in text)  # every problem says what to do


def test_csv_with_quoted_newlines_reports_the_right_lines(tmp_path):
    f = tmp_path / "fb.csv"
    f.write_text('prompt,response,comment,rating\n'
                 'p1,"a long\nanswer",too wordy,1\n'
                 'p2,r2,a,1,extra\n'
                 'p3,r3,,\n'
                 'p4,r4,rude,\n')
    parsed = read_feedback(f)
    assert [(r["prompt"], r["line"]) for r in parsed.rows] == [("p1", 2), ("p4", 6)]
    assert [r["key"] for r in parsed.rows] == ["fb.csv:2", "fb.csv:6"]
    assert parsed.rows[0]["response"] == "a long\nanswer" and parsed.rows[0]["rating"] == 1
    assert [(p.line, p.message) for p in parsed.problems] == [(4, "5 columns, the header has 4"),
                                                                (5, "no comment and no rating")]


def test_a_csv_without_the_needed_columns_is_refused_whole(tmp_path):
    f = tmp_path / "fb.csv"
    f.write_text("question,answer\nq,t\n")
    with pytest.raises(StudioError, match=r"fb.csv:1: the CSV header has question, answer"):
        read_feedback(f)
    with pytest.raises(StudioError, match="no such feedback file"):
        read_feedback(tmp_path / "missing.jsonl")


def test_comments_are_structured_by_the_template_through_the_engine(fake_llm, tmp_path):
    fake_llm.set(reply=structuring_reply)
    rows = [{"prompt": "What is DNS?", "response": "Long text", "comment": "way too wordy", "rating": None},
            {"prompt": "Hi", "response": "Go away", "comment": "very rude", "rating": 1},
            {"prompt": "2+2?", "response": "5", "comment": "", "rating": "down"}]
    records = structure(rows, model=fake_llm.model, api_base=fake_llm.base_url, cache_dir=tmp_path / "cache")
    assert [r["status"] for r in records] == [STRUCTURED, STRUCTURED, RATING_ONLY]
    assert records[0]["structured"]["category"] == "verbosity"
    assert records[1]["category"] == "tone" and records[1]["severity"] == "high"
    assert fake_llm.count == 2  # a rating without a comment has nothing to structure
    seen = fake_llm.requests[0]
    assert "way too wordy" in seen.prompt and "What is DNS?" in seen.prompt
    assert seen.body.get("response_format")  # structured mode asks for JSON


def test_unstructurable_comments_are_kept_and_marked(fake_llm, tmp_path):
    fake_llm.set(reply=structuring_reply)
    rows = [{"prompt": "p", "response": "r", "comment": "xyzzy plugh", "rating": None},
            {"prompt": "p", "response": "r", "comment": "garbage, way too long", "rating": None}]
    rec, kept = structure(rows, model=fake_llm.model, api_base=fake_llm.base_url)
    assert rec["status"] == UNSTRUCTURED and rec["structured"] is None      # neither path could
    assert rec["comment"] == "xyzzy plugh" and "JSON" in rec["error"]
    assert kept["status"] == STRUCTURED and kept["structured_by"] == "rules" and kept["category"] == "verbosity"
    assert "could not structure it" in kept["error"]                        # the model's failure is said


def test_import_stores_feedback_in_the_session_once_and_groups_it(fake_llm, tmp_path, session):
    fake_llm.set(reply=structuring_reply)
    f = _jsonl(tmp_path / "fb.jsonl", [
        {"prompt": f"question {i}", "response": "a very long answer", "comment": "too wordy"} for i in range(4)
    ] + [{"prompt": "q", "response": "r", "comment": "rude"}, {"prompt": "q", "response": "r"},
         {"prompt": "x", "response": "y", "comment": "xyzzy"}])
    result = import_feedback(session, f, model=fake_llm.model, api_base=fake_llm.base_url)
    assert len(result.added) == 6 and [p.line for p in result.problems] == [6]
    assert result.status == {STRUCTURED: 5, UNSTRUCTURED: 1}
    again = import_feedback(session, f, model=fake_llm.model, api_base=fake_llm.base_url)
    assert again.added == [] and again.duplicates == 6
    stored = session.feedback()
    assert len(stored) == 6 and stored[0]["source"] == str(f) and stored[0]["line"] == 1
    groups = group_feedback(stored)
    assert [(g.category, g.count) for g in groups] == [("verbosity", 4), ("tone", 1), (UNSTRUCTURED, 1)]
    verbosity = groups[0]
    assert verbosity.prompts == [f"question {i}" for i in range(4)]
    assert verbosity.desired() == [("Answer in two sentences.", 4)]
    assert [e["comment"] for e in verbosity.examples(2)] == ["too wordy"]  # one per distinct comment
