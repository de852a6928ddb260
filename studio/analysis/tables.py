"""Rich renderables for the analysis (used by `studio report`/`verify`/`feedback` and the TUI screens).

Every state is a word or a glyph, never colour alone (NO_COLOR terminals see the same thing).
Every piece of data is shown as plain `Text` (`plain`, `PlainTable`): rich and Textual read `[...]` in a
string as markup, so a slot value like `[/INST]` would crash a screen and `[bold]x` would be restyled.
"""

from __future__ import annotations

import os
from typing import Iterable

from rich import box
from rich.cells import cell_len
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
    width it is given (an 80-column terminal) losing as little as it can: text wraps at word boundaries (rich's
    wrapping) and a column keeps its longest word whole while the table can afford it, so a word is split
    (folded onto the next line, nothing lost) only when it is longer than any width the column can have; a
    no-wrap column's header wraps at its words too; an identifier column (`add_column(..., ident=True)`: run
    ids, hashes) is shortened to a prefix that still tells its values apart, with a visible `…`, before any
    other column gives up a word (`_calculate_column_widths`)."""

    def __setattr__(self, name: str, value) -> None:
        if name in ("title", "caption") and isinstance(value, str):   # rich styles only str titles itself
            value = plain(value, style=f"table.{name}")
        super().__setattr__(name, value)

    def add_column(self, header="", *args, ident: bool = False, **kwargs) -> None:
        """rich's add_column; `ident`: a column of identifiers, cut to a unique prefix + `…` when it must
        shrink (never wrapped)."""
        if ident:
            kwargs.update(no_wrap=True, overflow="ellipsis")
        if not kwargs.get("no_wrap"):
            kwargs.setdefault("overflow", "fold")     # a word longer than the column folds, never cut
        if isinstance(header, str):
            # a header wraps at its words ("accept rate" over "100%": two lines, not "accept r…"); a header
            # word longer than its column is abbreviated ("accept…"), never folded like data
            header = plain(header)
            header.no_wrap, header.overflow = False, "ellipsis"
        super().add_column(header, *args, **kwargs)
        if ident:
            self.idents = getattr(self, "idents", set()) | {len(self.columns) - 1}

    def add_row(self, *cells, **kwargs) -> None:
        super().add_row(*(plain(c) if isinstance(c, str) else c for c in cells), **kwargs)

    def _calculate_column_widths(self, console, options) -> list[int]:
        """Column widths (padding included) for `options.max_width`. When the table is wider than that, each
        column first gets what loses nothing: a wrappable column its longest word (and its `min_width`), a
        no-wrap column its widest cell, and each its header's longest word — save a word too long to be whole
        even beside the other columns at their narrowest without losing data (a 70-character name): it folds
        anyway, and its column keeps the longest of its words that can be whole (10 cells at least). What is
        left is shared out evenly, no column taking more than it wants. When even that does not fit, columns
        give way in this order, the one with most to give first at each step (rich's `_collapse_widths`):
        identifier columns down to a unique prefix of 7 or more + `…`; header words down to 7 cells, then 5
        (`…`; the data still whole); identifier columns down to their shortest unique prefix; wrappable
        columns down to 10 cells, then 6 (their long words fold); no-wrap columns down to their widest cell,
        then 8 (`…`); wrappable columns down to 3; then every column alike. Last, cells move to a column whose
        split word they make whole from one that loses no whole word by it (`_whole_words`).
        (rich shrinks the wrappable columns first, words or not, down to nothing, and keeps `min_width` even
        past the terminal's edge, where the console crops silently.)"""
        width = options.max_width
        columns = self.columns
        want = [max(self._measure_column(console, options, c).maximum, 1) for c in columns]
        if sum(want) <= width or self.expand or any(c.width is not None for c in columns):
            return super()._calculate_column_widths(console, options)
        pad = [self._get_padding_width(c._index) for c in columns]
        measured = [[Measurement.get(console, options, x) for x in c.cells] for c in columns]
        cell = [max((m.maximum for m in ms), default=1) + p for ms, p in zip(measured, pad)]
        word = [max({m.minimum for x, m in zip(c.cells, ms) if not isinstance(x, Text)} | _word_widths(c, False),
                    default=1) + p for c, ms, p in zip(columns, measured, pad)]
        head = [(Measurement.get(console, options, c.header) if self.show_header else Measurement(0, 0))
                for c in columns]
        idents = getattr(self, "idents", set())
        keep = [x if c.no_wrap else min(w, max(wd, (c.min_width or 0) + p))    # the data whole
                for c, w, p, x, wd in zip(columns, want, pad, cell, word)]
        floor = [min(w, max(k, h.minimum + p)) for w, k, p, h in zip(want, keep, pad, head)]
        data = [(c.min_width or DATA_FLOOR) + p for c, p in zip(columns, pad)]

        def squeezed(j: int) -> int:   # column j losing no data: header words cut to 5 (…), ids to a prefix
            if j in idents:
                return min(floor[j], _unique_prefix(columns[j], 2) + pad[j])
            return min(floor[j], max(keep[j], min(head[j].minimum, 5) + pad[j]))

        while True:   # a word that cannot be whole even beside the others squeezed folds anyway: its column
            # keeps its longest word that can be whole (at least its data floor), and no other column gives
            # anything up for the word that cannot
            squeeze = [squeezed(j) for j in range(len(columns))]
            room = [width - (sum(squeeze) - squeeze[i]) for i in range(len(columns))]
            over = [i for i, c in enumerate(columns) if not c.no_wrap and keep[i] > data[i] and keep[i] > room[i]]
            if not over:
                break
            i = max(over, key=lambda k: keep[k])
            keep[i] = max(data[i], max((w + pad[i] for w in _word_widths(columns[i], False)
                                        if w + pad[i] <= room[i]), default=0))
            floor[i] = min(want[i], max(keep[i], head[i].minimum + pad[i]))
        word = [k if not c.no_wrap else w for c, k, w in zip(columns, keep, word)]

        def headers(cells: int) -> list[int]:        # header words cut to `cells` (…), the data kept whole
            return [f if i in idents else min(f, max(x if c.no_wrap else max(wd, (c.min_width or 0) + p),
                                                     min(h.minimum + p, cells + p)))
                    for i, (c, f, p, x, wd, h) in enumerate(zip(columns, floor, pad, cell, word, head))]

        for least in (
                [min(f, _unique_prefix(c) + p) if i in idents else f
                 for i, (c, f, p) in enumerate(zip(columns, floor, pad))],
                headers(HEADER_FLOOR),
                headers(5),
                [min(f, _unique_prefix(c, 2) + p) if i in idents else f
                 for i, (c, f, p) in enumerate(zip(columns, floor, pad))],
                [min(f, d) if not c.no_wrap else f for c, f, d in zip(columns, floor, data)],
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
                kept = Table._collapse_widths(give, [g > 0 for g in give], max(sum(give) - over, 0))
                floor = [min(f, m + k) for f, m, k in zip(floor, least, kept)]
        widths = list(floor)
        left = max(width - sum(widths), 0)   # shared out evenly, a column taking no more than it wants: the
        hungry = sorted((i for i, w in enumerate(widths) if w < want[i]), key=lambda i: want[i] - widths[i])
        for k, i in enumerate(hungry):       # short ones are made whole, long ones (which wrap) share the rest
            extra = min(want[i] - widths[i], left // (len(hungry) - k))
            widths[i] += extra
            left -= extra
        for i in reversed(hungry):           # what integer shares left over
            extra = min(want[i] - widths[i], left)
            widths[i] += extra
            left -= extra
        return _whole_words(columns, widths, pad, head, cell, idents)


def _whole_words(columns, widths: list[int], pad: list[int], head: list, cell: list[int],
                 idents: set[int]) -> list[int]:
    """Cells moved to a wrappable column whose shortest split word could then be whole, from columns that can
    spare them without losing a word they show whole now: a column whose long words fold anyway, an
    identifier down to its shortest unique prefix, a header word down to 5 cells (…)."""
    wrap = [i for i, c in enumerate(columns) if not c.no_wrap]
    words = {i: sorted(w + pad[i] for w in _word_widths(columns[i], False)) for i in wrap}

    def spare(j: int) -> int:
        if j in idents:
            return widths[j] - min(widths[j], _unique_prefix(columns[j], 2) + pad[j])
        if columns[j].no_wrap:
            return max(widths[j] - max(cell[j], min(head[j].minimum, 5) + pad[j]), 0)
        whole = max((w for w in words[j] if w <= widths[j]), default=0)
        return max(widths[j] - max(whole, min(head[j].minimum, 5) + pad[j], 3 + pad[j]), 0)

    for _ in range(4 * len(wrap)):
        moved = False
        for i in wrap:
            split = [w for w in words[i] if w > widths[i]]
            donors = sorted((j for j in range(len(columns)) if j != i and spare(j) > 0), key=spare, reverse=True)
            if not split or sum(spare(j) for j in donors) < split[0] - widths[i]:
                continue
            need = split[0] - widths[i]
            for j in donors:
                take = min(spare(j), need)
                widths[j] -= take
                widths[i] += take
                need -= take
                if not need:
                    break
            moved = True
        if not moved:
            break
    return widths


def _word_widths(column, header: bool = True) -> set[int]:
    """The widths of the words in a column's text cells (and header), as rich wraps them: the whitespace that
    starts a line belongs to its first word (`  issue=x` needs 9 cells, not 7)."""
    texts = [c.plain for c in ((column.header,) if header else ()) + tuple(column.cells) if isinstance(c, Text)]
    out: set[int] = set()
    for t in texts:
        for line in t.split("\n"):
            words = line.split()
            if words:
                out.update(cell_len(w) for w in words)
                out.add(cell_len(line[:len(line) - len(line.lstrip())]) + cell_len(words[0]))
    return out


def _unique_prefix(column, least: int = 7) -> int:
    """Cells an identifier column needs: the shortest prefix telling its values apart (at least `least`
    characters: 7 as git shortens hashes, fewer when the table cannot afford it), and the `…` after it; its
    widest value when that is no shorter."""
    values = sorted({c.plain if isinstance(c, Text) else str(c) for c in column.cells})
    if not values:
        return 1
    longest = max(cell_len(v) for v in values)
    common = max((len(os.path.commonprefix([a, b])) for a, b in zip(values, values[1:])), default=0)
    need = max(common + 1, least) + 1
    return longest if need >= longest else need


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
    t.add_column("version", ident=True)
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
