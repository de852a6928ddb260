"""Pictures a curator reads at a glance: accept rate per template version over time, failure tags per slot
value as a heat map (stand-out values marked), cost per accepted sample per template, review pace.

Computed from the store's index columns (status, template, version, cost, created, reviewed: no sample is
parsed) plus the attribution report; drawn as rich renderables with block glyphs, so `studio report`, its
HTML page and the TUI's analysis screen show the same pictures, and every level is a glyph (▁▂▃▄▅▆▇█,
░▒▓█) and a number, never a colour alone.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone

from rich.console import Group
from rich.table import Table
from rich.text import Text

from studio.analysis.tables import left_out, money, pct, plain, table

FIELDS = ("status", "template", "template_version", "cost", "created", "reviewed")
SPARK = "▁▂▃▄▅▆▇█"
SHADE = " ░▒▓█"
BUCKETS = 12
SITTING_GAP = 10 * 60          # a pause longer than this starts a new sitting (seconds)


@dataclass
class Series:
    template: str
    version: str
    buckets: list[tuple[int, int]]      # (accepted, reviewed) per time bucket
    accepted: int
    reviewed: int

    @property
    def rate(self) -> float | None:
        return self.accepted / self.reviewed if self.reviewed else None


@dataclass
class Sitting:
    start: float
    end: float
    reviewed: int

    @property
    def minutes(self) -> float:
        return max((self.end - self.start) / 60, 1.0)     # one decision alone counts as a minute

    @property
    def pace(self) -> float:
        return self.reviewed / self.minutes


@dataclass
class Pictures:
    series: list[Series] = field(default_factory=list)
    span: tuple[float, float] | None = None              # first and last decision
    cost: list[tuple[str, float | None, int, int]] = field(default_factory=list)  # template, $/acc, acc, unknown
    sittings: list[Sitting] = field(default_factory=list)
    heat: list = field(default_factory=list)             # TemplateReports (attribution) to draw

    @property
    def pace(self) -> float | None:
        """Median samples per minute over the sittings."""
        return statistics.median(s.pace for s in self.sittings) if self.sittings else None


def collect(rows, report=None) -> Pictures:
    """Pictures from index rows (dicts with FIELDS) and, for the heat map, an attribution Report."""
    decided: list[tuple[float, str, str, bool]] = []
    cost: dict[str, list] = defaultdict(lambda: [0.0, 0, 0, 0])       # spend, accepted, unknown, samples
    for r in rows:
        t, v, status = r.get("template") or "?", r.get("template_version") or "?", r.get("status")
        c = cost[t]
        c[3] += 1
        if r.get("cost") is None:
            c[2] += 1
        else:
            c[0] += r["cost"]
        if status == "accepted":
            c[1] += 1
        if status in ("accepted", "rejected"):
            when = r.get("reviewed") or r.get("created")
            if when:
                decided.append((float(when), t, v, status == "accepted"))
    out = Pictures(heat=list(report.templates) if report is not None else [])
    for t in sorted(cost):
        spend, acc, unknown, _ = cost[t]
        out.cost.append((t, spend / acc if acc and not unknown else None, acc, unknown))
    if not decided:
        return out
    decided.sort()
    out.span = (decided[0][0], decided[-1][0])
    # time spent reviewing: pauses longer than a sitting gap are left out, so two sittings a day apart
    # do not leave the picture empty in between
    active, prev, clock = [], decided[0][0], 0.0
    for when, *_ in decided:
        gap = when - prev
        clock += gap if gap <= SITTING_GAP else 0.0
        active.append(clock)
        prev = when
    width = clock / BUCKETS or 1.0
    acc: dict[tuple[str, str], list[list[int]]] = {}
    for at, (_, t, v, ok) in zip(active, decided):
        b = min(int(at / width), BUCKETS - 1)
        cells = acc.setdefault((t, v), [[0, 0] for _ in range(BUCKETS)])
        cells[b][0] += ok
        cells[b][1] += 1
    for (t, v), cells in acc.items():
        out.series.append(Series(t, v, [tuple(c) for c in cells], sum(c[0] for c in cells),
                                 sum(c[1] for c in cells)))
    out.series.sort(key=lambda s: (s.template, min((i for i, c in enumerate(s.buckets) if c[1]), default=0)))
    times = [d[0] for d in decided if d[0]]
    start = prev = times[0]
    n = 0
    for when in times:
        if when - prev > SITTING_GAP:
            out.sittings.append(Sitting(start, prev, n))
            start, n = when, 0
        n += 1
        prev = when
    out.sittings.append(Sitting(start, prev, n))
    return out


def from_session(session, report=None) -> Pictures:
    """The pictures of an open session (index columns only; pass the attribution report for the heat map)."""
    return collect(session.iter_samples(fields=FIELDS), report)


# -- drawing ------------------------------------------------------------------------------------------------

def _when(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")


def spark(buckets: list[tuple[int, int]]) -> str:
    """One glyph per bucket: the accept rate as ▁..█, · where nothing was decided."""
    out = []
    for a, n in buckets:
        out.append("·" if not n else SPARK[min(int(a / n * len(SPARK)), len(SPARK) - 1)])
    return "".join(out)


def accept_over_time(p: Pictures, labels: dict | None = None) -> Table | Text:
    if not p.series:
        return Text("accept rate over time: no decisions yet")
    t = table("accept rate per template version over time")
    t.add_column("template", overflow="fold")
    t.add_column("version", ident=True)
    t.add_column("▁ 0% … █ 100%, · none", no_wrap=True)
    t.add_column("acc %", justify="right", no_wrap=True)
    t.add_column("reviewed", justify="right", no_wrap=True)
    last = None
    for s in p.series:
        version = (labels or {}).get((s.template, s.version)) or s.version[:8]
        t.add_row(s.template if s.template != last else "", version, Text(spark(s.buckets), style="cyan"),
                  pct(s.rate), str(s.reviewed))
        last = s.template
    if p.span:
        t.caption = (f"{BUCKETS} equal spans of review time, {_when(p.span[0])} to {_when(p.span[1])} UTC "
                     f"(pauses over {SITTING_GAP // 60} minutes left out)")
        t.caption_justify = "left"
    return t


def _shade(rate: float | None, top: float) -> str:
    if rate is None:
        return "·"
    if rate <= 0:
        return SHADE[0]
    return SHADE[min(1 + int(rate / (top or 1) * (len(SHADE) - 1)), len(SHADE) - 1)]


def heat_maps(p: Pictures, top: int = 6, max_tags: int = 5, more: str = "") -> list:
    """Per template: slot values (rows) x rejected and the commonest failure tags (columns), each cell the
    rate as a shade and a number; ⚑ marks the values and cells that stand out. What is left out (values past
    the `top` of a slot, tags past `max_tags`) is counted in the caption, followed by `more` (where to see it)."""
    out: list = []
    for tr in p.heat:
        tags = sorted(tr.counts.tags, key=lambda k: (-tr.counts.tags[k], k))[:max_tags]
        metrics = ["rejected", *tags]
        flagged = {(f.dimension, f.value, f.metric) for f in tr.flags}
        rows = []
        hidden: list[str] = []
        for dim, stats in tr.values.items():
            if not dim.startswith(("slot.", "persona.")):
                continue
            keep = list(stats[:top]) + [s for s in stats[top:] if any(
                (dim, s.value, m) in flagged for m in ("rejected", "failed", *(f"tag:{x}" for x in tags)))]
            rows += [(dim, s) for s in keep]
            if len(stats) > len(keep):
                hidden.append(left_out(len(stats) - len(keep), "value", f" of {dim.split('.', 1)[1]}"))
        if not rows:
            continue
        rates: dict[tuple[int, str], float | None] = {}
        for i, (_, s) in enumerate(rows):
            c = s.counts
            rates[(i, "rejected")] = c.rejected / c.reviewed if c.reviewed else None
            for tag in tags:
                rates[(i, tag)] = c.tag_rate(tag)
        t = table(f"{tr.name}: failures per slot value (shade = rate, ⚑ stands out)")
        t.add_column("value", overflow="fold", min_width=10)
        t.add_column("reviewed", justify="right", no_wrap=True)   # the rate's denominator, not samples made
        for m in metrics:
            t.add_column(m, justify="left", no_wrap=True, overflow="ellipsis", max_width=max(6, len(m)))
        for i, (dim, s) in enumerate(rows):
            cells = []
            any_flag = False
            for m in metrics:
                key = "rejected" if m == "rejected" else f"tag:{m}"
                r = rates[(i, m)]
                top_rate = max((rates[(j, m)] or 0) for j in range(len(rows)))
                flag = (dim, s.value, key) in flagged
                any_flag |= flag
                glyph = "⚑" if flag else _shade(r, top_rate)
                cells.append(Text(f"{glyph}{glyph if not flag else ' '}{pct(r):>4}",
                                  style="bold red" if flag else ""))
            label = f"{'⚑ ' if any_flag else '  '}{dim.split('.', 1)[1]}={s.value}"
            t.add_row(plain(label, style="bold" if any_flag else ""), str(s.counts.reviewed), *cells)
        if len(tr.counts.tags) > len(tags):
            hidden.append(left_out(len(tr.counts.tags) - len(tags), "failure tag"))
        if hidden:
            t.caption = "; ".join(hidden) + (f" — {more}" if more else "")
            t.caption_justify = "left"
        out.append(t)
    return out


def _bar(x: float, top: float, width: int = 24) -> str:
    n = x / top * width if top else 0
    full = int(n)
    return "█" * full + ("▌" if n - full >= 0.5 else "")


def cost_bars(p: Pictures) -> Table | Text:
    if not p.cost:
        return Text("cost per accepted sample: no samples")
    t = table("cost per accepted sample, per template (all spend / accepted)")
    t.add_column("template", overflow="fold")
    t.add_column("", no_wrap=True, min_width=4)
    t.add_column("$ / acc", justify="right", no_wrap=True)
    t.add_column("accepted", justify="right", no_wrap=True)
    top = max((c for _, c, _, _ in p.cost if c), default=0.0)
    for name, c, acc, unknown in p.cost:
        bar = "no accepted sample" if not acc else "" if c is None else _bar(c, top)
        shown = "—" if not acc else money(c)   # c is None with any unknown cost: never a partial sum
        note = f" ({unknown} without a price)" if unknown else ""
        t.add_row(name, Text(bar, style="magenta"), shown + note, str(acc))
    return t


def pace_bars(p: Pictures) -> Table | Text:
    if not p.sittings:
        return Text("review pace: nothing reviewed yet")
    t = table(f"review pace: median {p.pace:.1f} samples/minute over {len(p.sittings)} sitting(s)")
    t.add_column("sitting (UTC)", no_wrap=True)
    t.add_column("reviewed", justify="right", no_wrap=True)
    t.add_column("min", justify="right", no_wrap=True)
    t.add_column("", no_wrap=True, min_width=4)
    t.add_column("per min", justify="right", no_wrap=True)
    top = max(s.pace for s in p.sittings)
    for s in p.sittings[-8:]:
        t.add_row(_when(s.start), str(s.reviewed), f"{s.minutes:.0f}", Text(_bar(s.pace, top, 20), style="green"),
                  f"{s.pace:.1f}")
    t.caption = f"a pause over {SITTING_GAP // 60} minutes starts a new sitting" + (
        f"; the last 8 of {len(p.sittings)} shown" if len(p.sittings) > 8 else "")
    t.caption_justify = "left"
    return t


def pictures(p: Pictures, labels: dict | None = None, more: str = "") -> Group:
    """Every picture, in the order a curator asks: how it goes, where it fails, what it costs, how fast.
    `labels`: (template, version) -> a name for the version (session.version_labels()); `more`: where the
    front end shows what a picture leaves out (said after its count)."""
    parts: list = [accept_over_time(p, labels), Text("")]
    parts += heat_maps(p, more=more)
    parts += [Text(""), cost_bars(p), Text(""), pace_bars(p)]
    return Group(*parts)


def html_page(renderables: list, title: str, width: int = 120) -> str:
    """A self-contained HTML page of rich renderables (inline styles, no external files)."""
    import io

    from rich.console import Console

    console = Console(record=True, width=width, file=io.StringIO(), force_terminal=True, color_system="truecolor",
                      legacy_windows=False)
    for r in renderables:
        console.print(r)
    page = console.export_html(inline_styles=True)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    from html import escape

    return page.replace("<head>", f"<head>\n<title>{escape(title)}</title>", 1).replace(
        "<body>", f"<body>\n<h1 style=\"font-family: sans-serif\">{escape(title)}</h1>\n"
                  f"<p style=\"font-family: sans-serif\">made by studio report, {stamp}</p>", 1)
