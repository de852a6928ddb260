"""What a report leaves out is counted where it is left out (issue 16 tryout): the heat map's values past the
commonest 6 of a slot and its tags past 5, the value tables' values past --top and tags past 4, the versions
table's tags past 3, the disagreements past 50 — in `studio report`'s text and its HTML page alike, each
saying where to see the rest; never a silent cut."""

from __future__ import annotations

import json
import random

import pytest

from studio.cli.main import main
from studio.store import Store
from tests.analysis.planted import sample

TOPICS = [f"topic-{i:02d}" for i in range(20)]
TAGS = [f"tag{i}" for i in range(7)]


@pytest.fixture
def wide(tmp_path, monkeypatch):
    """200 samples: a slot of 20 values, one of 8, seven failure tags."""
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "140")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(tmp_path)
    rng = random.Random(5)
    samples = []
    for i in range(200):
        s = sample(rng, i, topic=TOPICS[i % 20])
        if i % 3 == 0:
            s["status"], s["tags"] = "rejected", [TAGS[i % 7]]
        s.pop("id")
        samples.append(s)
    with Store(tmp_path / "sessions").create("wide") as s:
        s.add_samples(samples)
    from studio.cli.console import console, error_console

    console.cache_clear()
    error_console.cache_clear()
    yield tmp_path
    console.cache_clear()
    error_console.cache_clear()


def report(capsys, *args) -> str:
    capsys.readouterr()
    assert main(["report", "wide", *args]) == 0
    return " ".join(capsys.readouterr().out.split())     # captions wrap: compare with the spaces folded


CASES = [   # report args, said (each must be in the text and the HTML page), not said
    ((), ["… and 14 more values of topic", "… and 2 more values of customer", "… and 2 more failure tags",
          "the tables below list up to 8 values a slot (--top N for more); --json lists every value and tag",
          "… and 12 more values", "… and 3 more failure tags (their rates)",
          "--top N shows more; --json lists every value and tag", "+4 more"], []),
    (("--top", "30"), ["… and 14 more values of topic", "the tables below list up to 30 values a slot",
                       "… and 3 more failure tags (their rates)"], ["… and 12 more values —", "… and 2 more values —"]),
    (("--top", "6"), ["… and 14 more values of topic", "… and 14 more values", "… and 2 more values"], []),
]


@pytest.mark.parametrize("args,said,unsaid", CASES)
def test_every_left_out_value_is_counted_in_the_text_and_the_html(wide, capsys, args, said, unsaid):
    text = report(capsys, *args, "--html", str(wide / "r.html"))
    page = " ".join((wide / "r.html").read_text().replace("&#x27;", "'").split())
    for words in said:
        assert words in text, f"{words!r} not in the text:\n{text}"
    for words in said:
        # the HTML page breaks lines into spans: compare its visible characters
        assert words.replace(" ", "") in _visible(page).replace(" ", ""), f"{words!r} not in the HTML page"
    for words in unsaid:
        assert words not in text, words


def _visible(page: str) -> str:
    import re
    from html import unescape

    return unescape(re.sub(r"<[^>]+>", "", page))


def test_json_holds_every_value_the_text_leaves_out(wide, capsys):
    capsys.readouterr()
    assert main(["report", "wide", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    (template,) = out["templates"]
    assert {v["value"] for v in template["values"]["slot.topic"]} == set(TOPICS)
    assert set(template["counts"]["tags"]) == set(TAGS)


def test_a_table_that_leaves_nothing_out_says_nothing(wide, capsys):
    text = report(capsys, "--top", "30", "--no-pictures")
    assert "more value" not in text and "… and 3 more failure tags" in text
