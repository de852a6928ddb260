"""Rich renderables for the analysis (used by `studio report`/`verify`/`feedback` and the TUI screens).

Every state is a word or a glyph, never colour alone (NO_COLOR terminals see the same thing).
Every piece of data is shown as plain `Text` (`plain`, `PlainTable`): rich and Textual read `[...]` in a
string as markup, so a slot value like `[/INST]` would crash a screen and `[bold]x` would be restyled.
"""

from __future__ import annotations

from typing import Iterable

from rich import box
from rich._ratio import ratio_distribute, ratio_reduce
from rich.console import Group
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from studio.core.cost import Cost
from studio.core.cost import money as _money
from studio.core.display import printable


def plain(value: object, style: str = "") -> Text:
    """Data as text that is shown as it is: never read as markup, control characters made visible."""
    return Text(printable(value if isinstance(value, str) else str(value)), style=style)


class PlainTable(Table):
    """A rich Table whose string cells, headers, title and caption are data, never markup, and that fits the
    width it is given (an 80-column terminal): a long value folds onto more lines rather than being cut (a
    column that must not wrap says `no_wrap=True` and is abbreviated with a visible `…`), and no column is
    squeezed to nothing or pushed past the edge (`_calculate_column_widths`)."""

    def __setattr__(self, name: str, value) -> None:
        if name in ("title", "caption") and isinstance(value, str):   # rich styles only str titles itself
            value = plain(value, style=f"table.{name}")
        super().__setattr__(name, value)

    def add_column(self, header="", *args, **kwargs) -> None:
        if not kwargs.get("no_wrap"):
            kwargs.setdefault("overflow", "fold")     # a long word (URL, name, CJK run) folds, never cut
        super().add_column(plain(header) if isinstance(header, str) else header, *args, **kwargs)

    def add_row(self, *cells, **kwargs) -> None:
        super().add_row(*(plain(c) if isinstance(c, str) else c for c in cells), **kwargs)

    def _calculate_column_widths(self, console, options) -> list[int]:
        """Column widths (padding included) for `options.max_width`. When the table is wider than that,
        every column first gets its floor: a data column its `min_width` or 10 cells, a no-wrap column its
        widest cell and up to 7 cells of its header; what is left goes to the columns in proportion to what
        they still want. Floors that do not fit give way in this order: data columns down to 6 cells, long
        headers down to their column's widest cell (`…`), wide no-wrap columns down to 8 (`…`), data columns
        down to 3, then every column alike.
        (rich shrinks the wrappable data columns first, down to nothing, and keeps `min_width` even past the
        terminal's edge, where the console crops silently.)"""
        width = options.max_width
        columns = self.columns
        want = [max(self._measure_column(console, options, c).maximum, 1) for c in columns]
        if sum(want) <= width or self.expand or any(c.width is not None for c in columns):
            return super()._calculate_column_widths(console, options)
        pad = [self._get_padding_width(c._index) for c in columns]
        cell = [max((Measurement.get(console, options, x).maximum for x in c.cells), default=1) + p
                for c, p in zip(columns, pad)]
        head = [(Measurement.get(console, options, c.header).maximum if self.show_header else 0) + p
                for c, p in zip(columns, pad)]
        floor = [min(w, max(x, min(h, HEADER_FLOOR + p))) if c.no_wrap else min(w, (c.min_width or DATA_FLOOR) + p)
                 for c, w, p, x, h in zip(columns, want, pad, cell, head)]
        for least in (
                [6 + p if not c.no_wrap else f for c, f, p in zip(columns, floor, pad)],
                [min(f, x) if c.no_wrap else f for c, f, x in zip(columns, floor, cell)],
                [min(f, 8 + p) if c.no_wrap else f for c, f, p in zip(columns, floor, pad)],
                [3 + p if not c.no_wrap else f for c, f, p in zip(columns, floor, pad)],
                [1] * len(columns)):
            over = sum(floor) - width
            if over <= 0:
                break
            give = [max(f - m, 0) for f, m in zip(floor, least)]
            if any(give):
                floor = ratio_reduce(min(over, sum(give)), give, give, floor)
        widths = list(floor)
        spare = width - sum(widths)
        while spare > 0:
            hungry = [i for i, w in enumerate(widths) if w < want[i]]
            if not hungry:
                break
            share = ratio_distribute(spare, [want[i] - widths[i] for i in hungry])
            for i, extra in zip(hungry, share):
                extra = min(extra, want[i] - widths[i])
                widths[i] += extra
                spare -= extra
            if not any(share):
                break
        return widths


HEADER_FLOOR = 7  # cells of a no-wrap column's header kept when a table must shrink
DATA_FLOOR = 10   # cells a wrappable column keeps when a table must shrink (a word or two, a name's start)


def table(title: str = "") -> Table:
    return PlainTable(title=title or None, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                      collapse_padding=True)


def pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.0%}"


def money(x: float | None) -> str:
    """A cost as text by the one rule (core.cost.money): money when known, `unknown` when not."""
    return _money(x)


def per_accepted(c) -> str:
    """Counts' cost per accepted sample: `—` with none accepted, `unknown` when any cost is unknown."""
    return Cost(c.cost, unknown=c.cost_unknown).per(c.accepted)


def left_out(n: int, what: str, where: str = "") -> str:
    """What a table leaves out, counted: `… and 14 more values of tone` (never a silent cut)."""
    return f"… and {n:,} more {what}{'' if n == 1 else 's'}{where}"


def top_tags(tags: dict[str, int], k: int = 3) -> str:
    """The `k` commonest tags with their counts, and how many others there are (`+2 more`)."""
    shown = ", ".join(f"{t} {n}" for t, n in sorted(tags.items(), key=lambda kv: (-kv[1], kv[0]))[:k]) or "—"
    return shown + (f", +{len(tags) - k} more" if len(tags) > k else "")


def versions_table(report, title: str, labels: dict | None = None) -> Table:
    """Per template and version; `labels` {(template, version): "v3"} names the versions (hash beside)."""
    from studio.store.versions import display

    labels = labels or {}
    t = table(title)
    t.add_column("template", overflow="fold", min_width=8)
    t.add_column("version", no_wrap=True)
    for col in ("n", "acc", "rej", "fail", "pend", "acc %", "failure tags", "$ / acc"):
        t.add_column(col, justify="left" if col == "failure tags" else "right", no_wrap=col != "failure tags",
                     min_width=12 if col == "failure tags" else None)
    t.caption = "acc % = accepted / reviewed · $ / acc = all spend (rejected and failed too) per accepted sample"
    t.caption_justify = "left"
    for tr in report.templates:
        rows = [(tr.name, "all", tr.counts)] if len(tr.versions) > 1 else []
        rows += [(tr.name if len(tr.versions) == 1 else "", v, c) for v, c in tr.versions.items()]
        for label, version, c in rows:
            shown = version if version == "all" else display(labels.get((tr.name, version)), version, 8)
            t.add_row(label, shown, str(c.samples), str(c.accepted), str(c.rejected), str(c.failed),
                      str(c.pending), pct(c.accept_rate), top_tags(c.tags), per_accepted(c))
    return t


def flags_text(report) -> Text:
    flags = report.flags
    st = report.settings
    if not flags:
        tests = sum(tr.tests for tr in report.templates)
        return Text(f"no value stands out ({tests} tests, Holm-corrected, alpha {st.alpha}, values need "
                    f"{st.min_count} reviewed samples)")
    lines = [f"⚑ {len(flags)} value(s) stand out (Holm-corrected, alpha {st.alpha}):"]
    lines += [f"  ⚑ {f.template}: {f.describe()}" for f in flags]
    return plain("\n".join(lines))


def value_tables(tr, top: int = 8, more: str = "") -> list[Table]:
    """One table per slot / persona attribute of a template; flagged values always show. What is left out
    (values past `top`, tags past 4) is counted in the caption, followed by `more` (where to see it)."""
    out = []
    flagged = {(f.dimension, f.value) for f in tr.flags}
    tags = sorted(tr.counts.tags, key=lambda x: (-tr.counts.tags[x], x))[:4]
    for dim, values in tr.values.items():
        shown = values[:top] + [v for v in values[top:] if (dim, v.value) in flagged]
        t = table(f"{tr.name} · {dim} ({len(values)} values)")
        t.add_column("value", overflow="fold", max_width=40)
        for col in ("samples", "reviewed", "accept rate", *(f"{x} rate" for x in tags), "flag"):
            t.add_column(col, justify="right" if col != "flag" else "left")
        for v in shown:
            c = v.counts
            t.add_row(v.value, str(c.samples), str(c.reviewed), pct(c.accept_rate), *(pct(c.tag_rate(x)) for x in tags),
                      "⚑ stands out" if (dim, v.value) in flagged else "")
        hidden = [left_out(len(values) - len(shown), "value")] if len(values) > len(shown) else []
        if len(tr.counts.tags) > len(tags):
            hidden.append(left_out(len(tr.counts.tags) - len(tags), "failure tag", " (their rates)"))
        if hidden:
            t.caption = "; ".join(hidden) + (f" — {more}" if more else "")
            t.caption_justify = "left"
        out.append(t)
    return out


def agreement_table(agree: dict) -> Table:
    t = table("double-check verifier vs the person")
    for col in ("template", "agree", "disagree", "unsure", "not reviewed", "agreement", "kappa"):
        t.add_column(col, justify="left" if col == "template" else "right")
    for name, a in agree.items():
        t.add_row(name, str(a.agree), str(a.disagree), str(a.unsure), str(a.unreviewed), pct(a.rate),
                  "—" if a.kappa is None else f"{a.kappa:.2f}")
    return t


def disagreements_table(samples: list[dict], limit: int = 50, more: str = "") -> Table:
    """The samples where the verifier and the person disagree, the first `limit` (the rest counted in the
    caption, followed by `more`: where to see them)."""
    from studio.analysis.verify import verdict_of

    t = table(f"{len(samples)} disagreement(s)")
    if len(samples) > limit:
        t.caption = left_out(len(samples) - limit, "disagreement") + (f" — {more}" if more else "")
        t.caption_justify = "left"
    for col in ("id", "template", "you", "verifier", "output"):
        t.add_column(col, justify="right" if col == "id" else "left", overflow="ellipsis", no_wrap=col == "output")
    for s in samples[:limit]:
        t.add_row(str(s["id"]), s.get("template") or "", s.get("status") or "", verdict_of(s) or "",
                  " ".join(str(s.get("output") or "").split())[:200])
    return t


def comparison(cmp) -> Group:
    """Two versions side by side: the diff, their rates, and the same fills compared."""
    from studio.store.versions import display

    old, new = display(cmp.old_label, cmp.old, 12), display(cmp.new_label, cmp.new, 12)
    parts: list = [plain(f"{cmp.template}: {old} → {new}")]
    if cmp.diff:
        for line in cmp.diff:
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
            parts.append(plain(line, style=style))
    else:
        parts.append(Text("(the two versions have the same text)"))
    t = table()
    t.add_column("")
    t.add_column(f"old {display(cmp.old_label, cmp.old, 8)}", justify="right")
    t.add_column(f"new {display(cmp.new_label, cmp.new, 8)}", justify="right")
    o, n = cmp.old_counts, cmp.new_counts
    for label, a, b in (("samples", o.samples, n.samples), ("reviewed", o.reviewed, n.reviewed),
                        ("accept rate", pct(o.accept_rate), pct(n.accept_rate)), ("failed", o.failed, n.failed),
                        ("cost / accepted", per_accepted(o), per_accepted(n))):
        t.add_row(label, str(a), str(b))
    for tag in cmp.tags:
        t.add_row(f"{tag} rate", pct(o.tag_rate(tag)), pct(n.tag_rate(tag)))
    parts.append(t)
    p = cmp.pairs
    parts.append(Text(f"on the same {p.fills} fill(s): {p.improved} fixed (rejected/failed → accepted), "
                      f"{p.regressed} broken (accepted → rejected/failed), {p.kept} accepted in both, "
                      f"{p.still_failing} failing in both, {p.unreviewed} not reviewed in both; "
                      f"sign test p={p.p_better:.2g}"))
    return Group(*parts)


def feedback_table(groups: Iterable, examples: int = 2) -> Table:
    t = table("feedback by category")
    t.add_column("category")
    t.add_column("count", justify="right")
    t.add_column("polarity")
    t.add_column("severity")
    t.add_column("prompts", justify="right")
    t.add_column("what people said (how many) / asked for", overflow="fold")
    for g in groups:
        sev = ", ".join(f"{k} {v}" for k, v in sorted(g.severity.items()) if k != "-") or "—"
        pol = ", ".join(f"{k} {v}" for k, v in sorted(g.polarity.items(), key=lambda kv: -kv[1]) if k != "-") or "—"
        shown = [f'"{text}"' + (f" ({n})" if n > 1 else "") for text, n in g.said(examples)]
        desired = "; ".join(d for d, _ in g.desired(1))
        if desired and g.category not in ("praise", "app"):
            shown.append(f"asked for: {desired}")
        t.add_row(g.category, str(g.count), pol, sev, str(len(g.prompts)), plain("\n".join(shown)))
    return t
