"""The pictures: accept rate per template version over time, failures per slot value as a heat map (stand-out
values marked), cost per accepted sample per template, review pace; in `studio report`, its HTML page (opened
in a real headless Chromium) and the analysis screen (snapshots in tests/tui/test_snapshots.py)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from rich.console import Console

from studio.analysis.attribution import analyse_session
from studio.analysis.pictures import (SITTING_GAP, accept_over_time, collect, cost_bars, from_session, heat_maps,
                                      pace_bars, spark)
from studio.cli.main import main
from studio.store import Store
from tests.analysis.timeline import T0, timeline_samples


def _text(renderable, width=120) -> str:
    c = Console(width=width, record=True, color_system=None, file=open(os.devnull, "w"))
    c.print(renderable)
    return c.export_text()


@pytest.fixture
def timeline(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path))
    s = Store(tmp_path / "sessions").create("timeline")
    s.add_samples(timeline_samples())
    yield s
    s.close()


def test_accept_rate_per_version_over_time_shows_the_new_version_doing_better(timeline):
    p = from_session(timeline)
    by = {(s.template, s.version[:4]): s for s in p.series}
    old, new = by[("support", "aaaa")], by[("support", "bbbb")]
    assert old.reviewed == new.reviewed == 160 and new.rate > old.rate
    # the old version was reviewed in the first sitting, the new one in the second: their buckets do not overlap
    assert spark(old.buckets).endswith("·") and spark(new.buckets).startswith("·")
    text = _text(accept_over_time(p))
    assert "aaaaaaaa" in text and "bbbbbbbb" in text and "91%" in text and "78%" in text


def test_spark_levels_are_glyphs():
    assert spark([(0, 4), (2, 4), (4, 4), (0, 0)]) == "▁▅█·"


def test_the_heat_map_marks_the_values_that_stand_out(timeline):
    report = analyse_session(timeline)
    text = _text(heat_maps(from_session(timeline, report))[1])        # support
    row = next(line for line in text.splitlines() if "product=e-bike" in line)
    assert row.lstrip().startswith("⚑") and "⚑  57%" in row
    calm = next(line for line in text.splitlines() if "product=phone" in line)
    assert "⚑" not in calm


def test_cost_per_accepted_sample_per_template(timeline):
    p = from_session(timeline)
    cost = {t: (c, acc) for t, c, acc, _ in p.cost}
    assert cost["support"][1] == 271 and cost["support"][0] == pytest.approx(320 * 0.002 / 271)
    text = _text(cost_bars(p))
    assert "$0.0024" in text and "█" * 24 in text                       # the dearest template has the longest bar


def test_review_pace_by_sitting():
    rows = [{"template": "t", "template_version": "v", "status": "accepted", "cost": 0.0, "reviewed": T0 + i * 10}
            for i in range(60)]                                          # 60 in ~10 minutes: 6 a minute
    rows += [{"template": "t", "template_version": "v", "status": "rejected", "cost": None,
              "reviewed": T0 + 3600 + i * 3} for i in range(20)]          # later, 20 a minute
    p = collect(rows)
    assert [s.reviewed for s in p.sittings] == [60, 20]
    assert p.sittings[0].pace == pytest.approx(60 / (590 / 60)) and p.sittings[1].pace == pytest.approx(20)
    assert "samples/minute over 2 sitting(s)" in _text(pace_bars(p))
    assert p.cost == [("t", None, 60, 20)]      # 20 costs unknown: per accepted unknown, never a partial sum
    assert SITTING_GAP == 600


def test_nothing_decided_yet_says_so():
    p = collect([{"template": "t", "template_version": "v", "status": "pending", "cost": None}])
    assert "no decisions yet" in _text(accept_over_time(p)) and "nothing reviewed yet" in _text(pace_bars(p))


def test_studio_report_prints_the_pictures_and_writes_a_self_contained_page(timeline, tmp_path, capsys):
    page = tmp_path / "report.html"
    assert main(["report", "timeline", "--html", str(page)]) == 0
    out = capsys.readouterr().out
    for title in ("accept rate per template version over time", "failures per slot value", "cost per accepted",
                  "review pace"):
        assert title in out
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<title>studio report: timeline</title>" in html
    assert "src=" not in html and "<link" not in html and "http" not in html.split("<body>")[1]   # self-contained
    assert main(["report", "timeline", "--html", str(tmp_path)]) == 2                          # a folder: an error


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def test_the_html_report_opens_in_headless_chromium(timeline, tmp_path):
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is missing: .ci/run installs it (apt-get install chromium)")
        pytest.skip("Chromium is not installed here (apt-get install chromium); CI fails instead")
    page = tmp_path / "report.html"
    assert main(["report", "timeline", "--html", str(page)]) == 0
    args = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*args, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    text = dom.stdout
    assert "<title>studio report: timeline</title>" in text
    assert "accept rate per template version over time" in text and "review pace" in text and "⚑" in text
    shot = tmp_path / "report.png"
    done = subprocess.run([*args, "--window-size=1200,2000", f"--screenshot={shot}", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and shot.stat().st_size > 20_000, done.stderr[-2000:]   # something was drawn
