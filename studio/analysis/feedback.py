"""Production feedback into structured signals: read JSONL/CSV, structure each comment, group by category.

Bad rows are reported by line number and skipped, never silently; comments the model cannot
structure (after the engine's schema-validated retries) are kept and marked `unstructured`.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from studio.core.errors import Problem, StudioError
from studio.core.files import check_storable, lines, read_user_text
from studio.analysis.signals import POLARITIES

FIELDS = ("prompt", "response", "comment", "rating")
# Column / key names as exports name them (App Store Connect, Google Play, help desks, thumbs-down logs).
ALIASES = {
    "prompt": ("prompt", "input", "question", "query", "request", "user_message"),
    "response": ("response", "output", "completion", "answer", "reply", "assistant_message"),
    "comment": ("comment", "feedback", "comments", "review", "review text", "review_text", "text", "body",
                "content", "message", "note", "notes", "description", "complaint"),
    "title": ("title", "subject", "review title", "review_title", "headline"),
    "rating": ("rating", "score", "thumbs", "stars", "star rating", "star_rating", "vote"),
    "date": ("date", "created", "created_at", "timestamp", "time", "submitted", "submitted_at", "review date",
             "review submit date and time", "review_date"),
    "id": ("id", "review_id", "review id", "ticket_id", "ticket id", "feedback_id", "uuid"),
    "source": ("source", "channel", "platform", "store"),
    "sample": ("sample", "sample_id", "sample id"),
    "template": ("template",),
}
THUMBS = {"up": "up", "down": "down", "thumbs_up": "up", "thumbs_down": "down", "thumbs up": "up",
          "thumbs down": "down", "👍": "up", "👎": "down", "good": "up", "bad": "down", "positive": "up",
          "negative": "down", "+1": "up", "-1": "down", "like": "up", "dislike": "down"}
HINT = "each row needs a comment and/or a rating (prompt, response, date, id and source are optional)"

STRUCTURED, UNSTRUCTURED, RATING_ONLY = "structured", "unstructured", "rating-only"
RULES, HAND = "rules", "hand"           # structured_by: the offline rules, a correction by hand, or "model:NAME"


@dataclass
class ParsedFeedback:
    rows: list[dict] = field(default_factory=list)  # prompt, response, comment, rating, date, source, line, key
    problems: list[Problem] = field(default_factory=list)  # one per skipped row


def _pick(obj: dict, name: str) -> Any:
    lowered = {str(k).strip().lower(): v for k, v in obj.items()}
    for alias in ALIASES[name]:
        if alias in lowered:
            return lowered[alias]
    return None


def _rating(value: Any) -> tuple[Any, str]:
    """A number, or 'up'/'down' ("4 stars", "4/5", "★★★★☆" read too); else an error message."""
    if value is None or value == "":
        return None, ""
    if isinstance(value, bool):
        return ("up" if value else "down"), ""
    if isinstance(value, (int, float)):
        return value, ""
    text = str(value).strip()
    if text.lower() in THUMBS:
        return THUMBS[text.lower()], ""
    if text and set(text) <= set("★☆ "):
        return text.count("★"), ""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(?:/\s*(\d+)|stars?|★)?", text.lower())
    if m is None:
        return None, f"rating {text!r} is neither a number nor up/down"
    number = float(m.group(1))
    if m.group(2) and float(m.group(2)) not in (5.0, 0.0):
        number = number * 5 / float(m.group(2))        # "7/10" -> 3.5 stars
    return (int(number) if number.is_integer() else round(number, 2)), ""


def _text(obj: dict, name: str, source: str, line: int, problems: list[Problem]) -> str | None:
    value = _pick(obj, name)
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and name in ("id", "date", "sample"):
        return str(value)
    if not isinstance(value, str):
        problems.append(Problem(source, line, f"{name} must be text, got {type(value).__name__}", HINT))
        return None
    return value.strip()


def _row(obj: Any, source: str, line: int, problems: list[Problem]) -> dict | None:
    try:
        check_storable(obj, path=source, line=line, what="this row")
    except StudioError as exc:              # reported and skipped; the good rows are kept
        problems.append(exc.problem)
        return None
    if not isinstance(obj, dict):
        problems.append(Problem(source, line, f"expected an object with a comment and/or a rating, got "
                                              f"{type(obj).__name__}", HINT))
        return None
    row: dict[str, Any] = {"source": source, "line": line}
    for name in ("prompt", "response", "comment", "title", "date", "id", "sample", "template"):
        value = _text(obj, name, source, line, problems)
        if value is None:
            return None
        row[name] = value
    origin = _text(obj, "source", source, line, problems)
    if origin is None:
        return None
    rating, error = _rating(_pick(obj, "rating"))
    if error:
        problems.append(Problem(source, line, error, "use a number (e.g. 1-5, 4/5, 8/10) or up/down"))
        return None
    row["rating"] = rating
    title = row.pop("title")
    if title and title.lower() not in row["comment"].lower():
        row["comment"] = f"{title}. {row['comment']}" if row["comment"] else title
    if not row["comment"] and rating is None:
        problems.append(Problem(source, line, "no comment and no rating", HINT))
        return None
    ext = row.pop("id")
    row["channel"] = origin or None
    row["key"] = f"{Path(source).name}#{ext}" if ext else f"{Path(source).name}:{line}"
    row["ext_id"] = ext or None
    return row


def read_feedback(path: str | Path) -> ParsedFeedback:
    """Read feedback: JSONL (one object a line), a JSON list, CSV/TSV (with a header), or plain text
    (.txt: one comment per line). Each row is identified by its file and line, or by its own id column."""
    p = Path(path)
    text = read_user_text(p, what="feedback file",
                          missing_hint="give the path of a .jsonl, .csv or .txt file")
    suffix = p.suffix.lower()
    out = ParsedFeedback()
    stripped = text.lstrip()
    if suffix in (".txt", ".text", ".md") or (suffix not in (".jsonl", ".json", ".ndjson", ".csv", ".tsv")
                                               and not stripped.startswith(("{", "[")) and "," not in
                                               text.split("\n", 1)[0]):
        return _read_text(text, str(p), out)
    if suffix == ".json" or (suffix not in (".jsonl", ".ndjson", ".csv", ".tsv") and stripped.startswith("[")):
        return _read_json_list(text, str(p), out)
    if suffix in (".csv", ".tsv") or not stripped.startswith("{"):
        return _read_csv(text, str(p), out, "\t" if suffix == ".tsv" else ",")
    return _read_jsonl(text, str(p), out)


def _read_text(text: str, source: str, out: ParsedFeedback) -> ParsedFeedback:
    for number, line in enumerate(lines(text), 1):
        row = _row({"comment": line}, source, number, out.problems) if line.strip() else None
        if row is not None:
            out.rows.append(row)
    return out


def _read_json_list(text: str, source: str, out: ParsedFeedback) -> ParsedFeedback:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StudioError(f"not valid JSON: {exc.msg}", path=source, line=exc.lineno,
                          hint="a .json feedback file holds one list of objects; or use JSONL") from None
    if not isinstance(items, list):
        raise StudioError("a .json feedback file must hold a list of objects", path=source, line=1, hint=HINT)
    for number, obj in enumerate(items, 1):     # "line" is the item's position: stable across re-imports
        row = _row(obj, source, number, out.problems)
        if row is not None:
            out.rows.append(row)
    return out


def _read_jsonl(text: str, source: str, out: ParsedFeedback) -> ParsedFeedback:
    for number, line in enumerate(lines(text), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line, strict=False)
        except json.JSONDecodeError as exc:
            out.problems.append(Problem(source, number, f"not valid JSON: {exc.msg} (column {exc.colno})",
                                        "each line must be one JSON object"))
            continue
        row = _row(obj, source, number, out.problems)
        if row is not None:
            out.rows.append(row)
    return out


def _read_csv(text: str, source: str, out: ParsedFeedback, delimiter: str) -> ParsedFeedback:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise StudioError("the feedback file is empty", path=source, line=1, hint=HINT) from None
    except csv.Error as exc:
        raise StudioError(f"unreadable CSV header: {exc}", path=source, line=1, hint=HINT) from None
    names = [h.strip().lower() for h in header]
    known = {a for aliases in ALIASES.values() for a in aliases}
    if not any(a in names for a in ALIASES["comment"] + ALIASES["rating"] + ALIASES["title"]):
        raise StudioError(f"the CSV header has {', '.join(h for h in names if h) or 'no columns'}", path=source,
                          line=1, hint="name a column comment (or review, text) and/or rating; prompt and "
                                       "response are optional" + ("" if set(names) & known
                                                                  else " (is the header row missing?)"))
    start = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            out.problems.append(Problem(source, start, f"unreadable CSV row: {exc}", "check the quoting"))
            start = reader.line_num + 1
            continue
        line, start = start, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(names):
            out.problems.append(Problem(source, line, f"{len(cells)} columns, the header has {len(names)}",
                                        "quote values that contain the delimiter"))
            continue
        cells += [""] * (len(names) - len(cells))          # spreadsheets leave trailing empty cells out
        row = _row(dict(zip(names, cells)), source, line, out.problems)
        if row is not None:
            out.rows.append(row)
    return out


# -- structuring -------------------------------------------------------------------------------------------

def structuring_template(workspace=None):
    """The feedback-structuring template: the workspace's copy (it may be edited), else the shipped one."""
    from studio.core.template import load_template
    from studio.core.workspace import shipped_templates_dir

    if workspace is not None:
        candidate = workspace.templates_dir / "feedback-structuring.prompt"
        if candidate.is_file():
            return load_template(candidate)
    return load_template(shipped_templates_dir() / "feedback-structuring.prompt")


def structure(rows: list[dict], *, model: str | None = None, template=None, api_base: str | None = None,
              cache_dir: str | Path | None = None, concurrency: int = 16,
              engine_options: dict | None = None) -> list[dict]:
    """Feedback records: each row with its signal (category, polarity, severity, concerned part, desired
    behaviour) and `structured_by` saying which path made it.

    Every comment first goes through the offline rules (studio.analysis.signals); with a model, the
    feedback-structuring template then refines it (the model's category wins; a rating's polarity is kept).
    A comment neither path could structure stays `unstructured`, with the reason; `restructure` retries it.
    """
    now = time.time()
    records = [_record(row, now) for row in rows]
    for rec in records:
        _apply_rules(rec)
    if model is None:
        return records
    from studio.analysis.llm import run_requests
    from studio.core.expand import Fill
    from studio.core.record import scrub_params
    from studio.core.render import Renderer
    from studio.core.secrets import template_secrets
    from studio.engine import Request

    template = template or structuring_template()
    secrets = template_secrets(template)
    renderer = Renderer(template)
    empty = Fill.from_values({})
    requests = [
        Request(messages=renderer.messages(empty, {"prompt": r.get("prompt") or "(not given)",
                                                   "response": r.get("response") or "(not given)",
                                                   "comment": r["comment"], "rating": _rating_text(r)}),
                model=model, params=scrub_params(dict(template.params)), schema=template.schema, meta=i,
                secrets=secrets)
        for i, r in enumerate(records) if r["comment"]
    ]
    for result in run_requests(requests, cache_dir=cache_dir, api_base=api_base, concurrency=concurrency,
                               **(engine_options or {})):
        rec = records[result.request.meta]
        rec["model"] = model
        rec["cost"] = result.cost
        parsed = result.parsed if result.ok and isinstance(result.parsed, dict) else None
        category = str(parsed.get("category") or "").strip().lower() if parsed else ""
        if category:
            signal = {k: parsed.get(k) for k in ("category", "polarity", "severity", "concerned_part",
                                                 "desired_behaviour")}
            signal["category"] = category
            if rec.get("rating") is not None or signal.get("polarity") not in POLARITIES:
                signal["polarity"] = (rec.get("rules") or {}).get("polarity") or "neutral"
            _set_signal(rec, signal, f"model:{model}")
            rec["error"] = None
        else:
            why = result.error or "the reply had no category"
            if rec["status"] == STRUCTURED:      # the rules' signal stands; say the model did not answer
                rec["error"] = f"{model} could not structure it ({why}); the rules' signal is kept"
            else:
                rec["error"] = why
    return records


def _rating_text(rec: dict) -> str:
    r = rec.get("rating")
    return "not given" if r is None else f"thumbs {r}" if isinstance(r, str) else f"{r} of 5 stars"


def _set_signal(rec: dict, signal: dict, by: str) -> None:
    rec["structured"] = signal
    rec["category"] = signal["category"]
    rec["severity"] = signal.get("severity")
    rec["polarity"] = signal.get("polarity")
    rec["status"] = STRUCTURED
    rec["structured_by"] = by


def _apply_rules(rec: dict) -> None:
    from studio.analysis.signals import classify, stars

    if not rec.get("comment"):                  # a bare rating: its polarity, no category
        s = stars(rec.get("rating"))
        rec["polarity"] = None if s is None else "positive" if s >= 4 else "negative" if s <= 2 else "neutral"
        return
    sig = classify(rec["comment"], rec.get("rating"))
    rec["rules"] = {"category": sig.category, "polarity": sig.polarity}
    rec["polarity"] = sig.polarity
    if sig.category is None:
        rec["error"] = "no rule recognised the comment; structure it with a model (studio feedback restructure)"
        return
    _set_signal(rec, sig.as_dict(), RULES)


def _record(row: dict, now: float) -> dict:
    rec = {k: row.get(k) for k in ("prompt", "response", "comment", "rating", "date", "source", "line", "key",
                                   "ext_id", "channel", "sample", "template")}
    rec.update(structured=None, category=None, severity=None, polarity=None, error=None, imported=now,
               structured_by=None, rules=None, status=UNSTRUCTURED if row.get("comment") else RATING_ONLY)
    return rec


def _key(rec: dict) -> tuple:
    """Records imported before rows had keys are matched by their content."""
    return rec.get("prompt") or "", rec.get("response") or "", rec.get("comment") or "", rec.get("rating")


@dataclass
class ImportResult:
    added: list[int]
    problems: list[Problem]
    duplicates: int
    status: dict[str, int]
    by: dict[str, int] = field(default_factory=dict)      # structured_by -> records


def import_feedback(session, path: str | Path, *, model: str | None = None, api_base: str | None = None,
                    cache_dir: str | Path | None = None, workspace=None, concurrency: int = 16,
                    engine_options: dict | None = None) -> ImportResult:
    """Read, structure and store a feedback file. A row already imported (the same file and line, or the same
    id) is not added again; identical comments on different rows are all kept: they count how many said it."""
    parsed = read_feedback(path)
    stored = session.feedback()
    keys = {r["key"] for r in stored if r.get("key")}
    legacy = {_key(r) for r in stored if not r.get("key")}
    fresh, duplicates = [], 0
    for row in parsed.rows:
        if row["key"] in keys or (legacy and _key(row) in legacy):
            duplicates += 1
            continue
        keys.add(row["key"])
        fresh.append(row)
    records = structure(fresh, model=model, template=structuring_template(workspace) if model else None,
                        api_base=api_base, cache_dir=cache_dir, concurrency=concurrency,
                        engine_options=engine_options)
    ids = session.add_feedback(records) if records else []
    return ImportResult(ids, parsed.problems, duplicates, dict(Counter(r["status"] for r in records)),
                        dict(Counter(r["structured_by"] or "-" for r in records)))


def restructure(session, *, model: str | None = None, ids: Iterable[int] | None = None, everything: bool = False,
                api_base: str | None = None, cache_dir: str | Path | None = None, workspace=None,
                concurrency: int = 16, engine_options: dict | None = None) -> dict[str, int]:
    """Structure stored feedback again (another model, or the rules after they improved): the unstructured
    records, or with `everything` all but those corrected by hand. Returns {status: n} of those redone."""
    chosen = {int(i) for i in ids} if ids is not None else None
    todo = [r for r in session.feedback()
            if r.get("comment") and r.get("structured_by") != HAND
            and (chosen is None or r["id"] in chosen)
            and (everything or chosen is not None or r.get("status") == UNSTRUCTURED)]
    records = structure(todo, model=model, template=structuring_template(workspace) if model else None,
                        api_base=api_base, cache_dir=cache_dir, concurrency=concurrency,
                        engine_options=engine_options)
    for old, new in zip(todo, records):
        keep = ("imported", "created")
        session.update_feedback(old["id"], **{k: v for k, v in new.items() if k not in keep},
                                restructured=time.time())
    return dict(Counter(r["status"] for r in records))


def correct(session, feedback_id: int, category: str) -> dict:
    """A person's category for one record (kept by every later restructure)."""
    from studio.analysis.signals import CATEGORIES, CONCERNED, DESIRED

    if category not in CATEGORIES:
        raise StudioError(f"unknown feedback category {category!r}", hint=f"one of: {', '.join(CATEGORIES)}")
    rec = next((r for r in session.feedback() if r["id"] == int(feedback_id)), None)
    if rec is None:
        raise StudioError(f"no feedback record {feedback_id}", hint="see `studio feedback list --json`")
    old = rec.get("structured") or {}
    same = old.get("category") == category
    polarity = rec.get("polarity") or "neutral"
    if category == "praise":
        polarity = "positive"
    elif polarity == "positive":
        polarity = "mixed"
    signal = {"category": category, "polarity": polarity,
              "severity": (old.get("severity") or rec.get("severity") or "medium") if category != "praise" else "low",
              "concerned_part": old.get("concerned_part") if same else CONCERNED[category],
              "desired_behaviour": old.get("desired_behaviour") if same else DESIRED[category]}
    fields = {"structured": signal, "category": category, "severity": signal["severity"], "polarity": polarity,
              "status": STRUCTURED, "structured_by": HAND, "error": None,
              "was": {"category": rec.get("category"), "by": rec.get("structured_by")}}
    session.update_feedback(rec["id"], **fields)
    return {**rec, **fields}


# -- grouping ----------------------------------------------------------------------------------------------

_SEVERITY = {"high": 0, "medium": 1, "low": 2}


@dataclass
class FeedbackGroup:
    """Feedback of one category: how much, how bad, what people asked for, and the prompts behind it."""

    category: str
    records: list[dict]

    @property
    def count(self) -> int:
        return len(self.records)

    @property
    def severity(self) -> dict[str, int]:
        return dict(Counter(r.get("severity") or "-" for r in self.records))

    def examples(self, k: int = 3) -> list[dict]:
        """The most severe records, one per distinct comment."""
        out, seen = [], set()
        for r in sorted(self.records, key=lambda r: _SEVERITY.get(r.get("severity") or "", 3)):
            key = (r.get("comment") or "", r.get("rating"))
            if key not in seen:
                seen.add(key)
                out.append(r)
                if len(out) == k:
                    break
        return out

    @property
    def prompts(self) -> list[str]:
        """The distinct prompts behind the feedback, in order of first appearance."""
        return list(dict.fromkeys(r["prompt"] for r in self.records if r.get("prompt")))

    @property
    def polarity(self) -> dict[str, int]:
        """How many records are positive / negative / mixed / neutral (by the rating first)."""
        return dict(Counter(r.get("polarity") or "-" for r in self.records))

    @property
    def by(self) -> dict[str, int]:
        """Which path structured the group's records: rules, model:NAME, hand."""
        return dict(Counter(r.get("structured_by") or "-" for r in self.records))

    def said(self, k: int = 5) -> list[tuple[str, int]]:
        """The most repeated comments (case and spacing ignored) with how many people said each."""
        c: Counter = Counter()
        first: dict[str, str] = {}
        for r in self.records:
            text = " ".join(str(r.get("comment") or "").split())
            if text:
                key = text.lower()
                c[key] += 1
                first.setdefault(key, text)
        return [(first[key], n) for key, n in c.most_common(k)]

    def desired(self, k: int = 5) -> list[tuple[str, int]]:
        """The most asked-for behaviours (as the structuring model phrased them)."""
        c = Counter(" ".join(str((r.get("structured") or {}).get("desired_behaviour") or "").split())
                    for r in self.records)
        c.pop("", None)
        return c.most_common(k)


def group_feedback(records: Iterable[dict]) -> list[FeedbackGroup]:
    """Groups by category, largest first; unstructured and rating-only feedback get groups of their own."""
    groups: dict[str, list[dict]] = {}
    for r in records:
        status = r.get("status")
        name = r.get("category") if status == STRUCTURED else (status or UNSTRUCTURED)
        groups.setdefault(str(name), []).append(r)
    return sorted((FeedbackGroup(c, rs) for c, rs in groups.items()), key=lambda g: (-g.count, g.category))


def find_group(records: Iterable[dict], category: str) -> FeedbackGroup:
    groups = group_feedback(records)
    for g in groups:
        if g.category == category:
            return g
    raise StudioError(f"no feedback in category {category!r}",
                      hint=f"categories: {', '.join(f'{g.category} ({g.count})' for g in groups) or '(no feedback yet)'}")
