"""Does the screen show what the store holds? Read from the screen's text (what a person reads), so the Pilot
tests and the tmux bench (bench/review.py) use the same check.

A stream row reads `▶✓ accepted     12 1a2b3c [tag,tag] first line`; the review pane's first line reads
`#12 ✓ accepted ...` and its tag line `1[x]label 2[-]label ...`; the status bar `✓3 ✗1 ·8 !0`.
"""

from __future__ import annotations

import re
from typing import Callable

GLYPH = {"pending": "·", "accepted": "✓", "rejected": "✗", "failed": "!"}
ROW = re.compile(r"(?P<cur>[▶ ])(?P<glyph>[·✓✗!]) (?P<status>pending|accepted|rejected|failed)\s+(?P<id>\d+) "
                 r"(?:v\d+ )?(?P<ver>\S+)(?: \[(?P<tags>[^\]▌▐│┃]*?)(?P<closed>\] |(?=[▌▐│┃]|\s*$)))?")
REVIEW = re.compile(r"#(?P<id>\d+) (?P<glyph>[·✓✗!]) (?P<status>pending|accepted|rejected|failed)\b")
TAGS = re.compile(r"(?P<n>[1-9])\[(?P<mark>[x-])\](?P<label>\S+)")
COUNTS = re.compile(r"✓(?P<accepted>\d+) ✗(?P<rejected>\d+) ·(?P<pending>\d+) !(?P<failed>\d+)")


def first_text(sample: dict) -> str:
    """The start of the text a reviewer judges (what must be visible for the selected sample)."""
    if sample.get("parsed") is not None:
        return ""
    for line in str(sample.get("output") or "").splitlines():
        if line.strip():
            return line.strip()[:30]
    return ""


def rows(lines: list[str]) -> list[dict]:
    """Every stream row on screen, top to bottom."""
    out = []
    for n, line in enumerate(lines):
        m = ROW.search(line)
        if m:
            # tags: None when the list is cut off (a notification over the row): not readable, not wrong
            tags = (m["tags"].split(",") if m["tags"] else []) if m["closed"] or m["tags"] is None else None
            out.append({"line": n, "id": int(m["id"]), "status": m["status"], "glyph": m["glyph"],
                        "cursor": m["cur"] == "▶", "tags": tags})
    return out


def mismatches(lines: list[str], get: Callable[[int], dict], counts: dict[str, int], labels: list[str],
               current: int | None = None) -> list[str]:
    """What on screen differs from the store: `get(id)` reads a sample, `counts` the store's status counts,
    `current` the selected id when the caller knows it. [] when everything matches."""
    bad = []
    shown = rows(lines)
    for r in shown:
        s = get(r["id"])
        if r["status"] != s.get("status", "pending") or r["glyph"] != GLYPH[r["status"]]:
            bad.append(f"row #{r['id']}: screen {r['status']}, store {s.get('status')}")
        if r["tags"] is not None and r["tags"] != list(s.get("tags") or []):
            bad.append(f"row #{r['id']}: screen tags {r['tags']}, store {s.get('tags')}")
    cursors = [r for r in shown if r["cursor"]]
    if len(cursors) > 1:
        bad.append(f"{len(cursors)} rows marked ▶: {[r['id'] for r in cursors]}")
    review = next((m for m in map(REVIEW.search, lines) if m), None)
    if review is not None:
        rid = int(review["id"])
        s = get(rid)
        if review["status"] != s.get("status"):
            bad.append(f"review pane #{rid}: screen {review['status']}, store {s.get('status')}")
        if cursors and cursors[0]["id"] != rid:
            bad.append(f"review pane shows #{rid} but the list's ▶ is on #{cursors[0]['id']}")
        if current is not None and rid != current:
            bad.append(f"review pane shows #{rid}, the selected sample is #{current}")
        marks = {}
        for line in lines[lines.index(next(li for li in lines if REVIEW.search(li))):]:
            found = list(TAGS.finditer(line))
            if found:
                marks = {int(t["n"]): t["mark"] == "x" for t in found}
                break
        start = lines.index(next(li for li in lines if REVIEW.search(li)))
        want = first_text(s)
        if want and not any(want in li for li in lines[start:]):
            bad.append(f"review pane #{rid}: its text {want!r} is not on screen")
        tags = set(s.get("tags") or [])
        for n, on in marks.items():
            if n <= len(labels) and on != (labels[n - 1] in tags):
                bad.append(f"review pane #{rid}: tag {n} {labels[n - 1]} shown {'on' if on else 'off'}")
    elif current is not None:
        bad.append("no review pane line for the selected sample")
    if current is not None and shown and not cursors:
        # the selected row must be on screen whenever rows are
        bad.append(f"the selected sample #{current} has no ▶ row on screen")
    bar = next((m for m in map(COUNTS.search, lines) if m), None)
    if bar is None:
        bad.append("no review counts in the status bar")
    else:
        for k in GLYPH:
            if int(bar[k]) != counts.get(k, 0):
                bad.append(f"status bar {k} {bar[k]}, store {counts.get(k, 0)}")
    return bad
