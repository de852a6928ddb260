"""Double-check: verdicts stored with the sample, disagreements found, agreement per template."""

from studio.analysis.verify import (FOLLOWUP, agreement, disagreements, is_disagreement, parse_verdict,
                                    verify_samples)


def checker_reply(messages):
    """The fake verifier: calls '4' correct, anything with 'maybe' unsure, the rest incorrect."""
    text = messages[-1]["content"]
    solution = text.split("Here is a proposed solution:", 1)[1].split("Is this solution correct?", 1)[0]
    verdict = "unsure" if "maybe" in solution else "correct" if "4" in solution else "incorrect"
    return f"Checked by counting on fingers.\nVERDICT: {verdict}"


def test_the_last_verdict_line_wins_and_none_means_unsure():
    assert parse_verdict("VERDICT: incorrect\n...on second thought\nVERDICT: Correct") == "correct"
    assert parse_verdict("**VERDICT:** incorrect") == "incorrect"
    assert parse_verdict("looks fine to me") == "unsure"
    assert parse_verdict(None) == "unsure"


def _add(session, template, output, status):
    [sid] = session.add_samples([{"template": template, "template_version": "v1", "fill_key": "k",
                                  "messages": [{"role": "system", "content": "be exact"},
                                               {"role": "user", "content": "What is 2+2?"}],
                                  "output": output, "mode": "generate", "model": "openai/fake"}])
    if status != "pending":
        session.set_status(sid, status)
    return sid


def test_verdicts_are_stored_with_the_sample_and_compared_with_the_person(fake_llm, tmp_path, session):
    fake_llm.set(reply=checker_reply)
    ids = [_add(session, "math", "4", "accepted"),      # agree
           _add(session, "math", "5", "rejected"),      # agree
           _add(session, "math", "5", "accepted"),      # disagree: verifier says incorrect
           _add(session, "math", "4", "rejected"),      # disagree: verifier says correct
           _add(session, "math", "maybe 4", "accepted"),  # unsure
           _add(session, "math", "4", "pending"),       # not reviewed yet
           _add(session, "poem", "4", "accepted")]
    empty = _add(session, "math", "", "failed")
    result = verify_samples(session, ids + [empty], model=fake_llm.model, api_base=fake_llm.base_url,
                            cache_dir=tmp_path / "cache")
    assert result.verified == 7 and result.skipped == 1 and not result.failed
    assert result.verdicts == {"correct": 4, "incorrect": 2, "unsure": 1}
    first = session.get(ids[0])["followups"][FOLLOWUP]
    assert first["verdict"] == "correct" and "VERDICT: correct" in first["output"] and first["model"] == "openai/fake"
    assert "What is 2+2?" in fake_llm.requests[0].prompt and "be exact" not in fake_llm.requests[0].prompt

    samples = list(session.iter_samples())
    assert [s["id"] for s in disagreements(samples)] == [ids[2], ids[3]]
    assert is_disagreement(session.get(ids[2])) and not is_disagreement(session.get(ids[4]))
    a = agreement(samples)
    math = a["math"]
    assert (math.agree, math.disagree, math.unsure, math.unreviewed) == (2, 2, 1, 1)
    assert math.rate == 0.5 and abs(math.kappa) < 1e-9  # no better than chance
    assert a["poem"].rate == 1.0


def test_existing_followups_are_kept(fake_llm, session):
    fake_llm.set(reply=checker_reply)
    sid = _add(session, "math", "4", "accepted")
    session.update_sample(sid, followups={"other": {"output": "x"}})
    verify_samples(session, [sid], model=fake_llm.model, api_base=fake_llm.base_url)
    assert set(session.get(sid)["followups"]) == {"other", FOLLOWUP}


def test_a_failed_check_is_reported_not_stored(fake_llm, session):
    fake_llm.set(script=["500"] * 20)
    sid = _add(session, "math", "4", "accepted")
    result = verify_samples(session, [sid], model=fake_llm.model, api_base=fake_llm.base_url,
                            engine_options={"max_tries": 2})
    assert sid in result.failed and result.verified == 0
    assert FOLLOWUP not in (session.get(sid).get("followups") or {})


def test_studio_verify_and_a_runs_followup_read_verdicts_the_same(tmp_path, fake_llm):
    """The verdict table through both paths that make verdicts: a declared follow-up during a run, and verify."""
    import asyncio

    from studio.runs.run import Run
    from studio.store import Store
    from studio.core.workspace import Workspace
    from tests.core.test_record import VERDICT_TABLE

    ws = Workspace.from_env(tmp_path).ensure()
    replies = [t for t, _ in VERDICT_TABLE if t]
    session = Store(ws.sessions_dir).create("both")
    # the run: cross-dataset-mixing declares the double-check follow-up; each check gets the next phrasing
    it = iter(replies * 4)
    fake_llm.set(reply=lambda m: next(it) if "proposed solution" in m[-1]["content"] else "an answer")
    asyncio.run(Run(ws, "cross-dataset-mixing", session=session, model=fake_llm.model, api_base=fake_llm.base_url,
                    n=len(replies), cache=False).execute())
    by_run = {}
    for s in session.iter_samples():
        fu = s["followups"]["double-check"]
        by_run[fu["output"]] = fu["verdict"]
    # verify: the same phrasings as the verifier's replies
    it2 = iter(replies * 4)
    fake_llm.set(reply=lambda m: next(it2))
    ids = session.ids()
    verify_samples(session, ids, model=fake_llm.model, api_base=fake_llm.base_url)
    by_verify = {s["followups"][FOLLOWUP]["output"]: s["followups"][FOLLOWUP]["verdict"] for s in session.iter_samples()}
    expected = dict(VERDICT_TABLE)
    assert by_run and by_verify
    for text, verdict in {**by_run, **by_verify}.items():
        assert verdict == expected[text], text
    session.close()
