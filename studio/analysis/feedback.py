"""Production feedback into structured signals: read JSONL/CSV, structure each comment, group by category.

Bad rows are reported by line number and skipped, never silently; comments the model cannot
structure (after the engine's schema-validated retries) are kept and marked `unstructured`.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from studio.core.errors import Problem, StudioError
from studio.core.files import lines, read_user_text

FIELDS = ("prompt", "response", "comment", "rating")
ALIASES = {
    "prompt": ("prompt", "input", "question", "query"),
    "response": ("response", "output", "completion", "answer"),
    "comment": ("comment", "feedback", "comments"),
    "rating": ("rating", "score", "thumbs"),
}
THUMBS = {"up": "up", "down": "down", "thumbs_up": "up", "thumbs_down": "down", "👍": "up", "👎": "down",
          "good": "up", "bad": "down", "positive": "up", "negative": "down", "+1": "up", "-1": "down"}
HINT = "each row needs prompt and response, and a comment and/or a rating"

STRUCTURED, UNSTRUCTURED, RATING_ONLY = "structured", "unstructured", "rating-only"


@dataclass
class ParsedFeedback:
    rows: list[dict] = field(default_factory=list)  # prompt, response, comment, rating, source, line
    problems: list[Problem] = field(default_factory=list)  # one per skipped row


def _pick(obj: dict, name: str) -> Any:
    lowered = {str(k).strip().lower(): v for k, v in obj.items()}
    for alias in ALIASES[name]:
        if alias in lowered:
            return lowered[alias]
    return None


def _rating(value: Any) -> tuple[Any, str]:
    """A number, or 'up'/'down'; else an error message."""
    if value is None or value == "":
        return None, ""
    if isinstance(value, bool):
        return ("up" if value else "down"), ""
    if isinstance(value, (int, float)):
        return value, ""
    text = str(value).strip()
    if text.lower() in THUMBS:
        return THUMBS[text.lower()], ""
    try:
        number = float(text)
    except ValueError:
        return None, f"rating {text!r} is neither a number nor up/down"
    return (int(number) if number.is_integer() else number), ""


def _row(obj: Any, source: str, line: int, problems: list[Problem]) -> dict | None:
    if not isinstance(obj, dict):
        problems.append(Problem(source, line, f"expected an object with {', '.join(FIELDS)}, got "
                                              f"{type(obj).__name__}", HINT))
        return None
    row: dict[str, Any] = {"source": source, "line": line}
    for name in ("prompt", "response", "comment"):
        value = _pick(obj, name)
        if value is not None and not isinstance(value, str):
            problems.append(Problem(source, line, f"{name} must be text, got {type(value).__name__}", HINT))
            return None
        row[name] = (value or "").strip()
    rating, error = _rating(_pick(obj, "rating"))
    if error:
        problems.append(Problem(source, line, error, "use a number (e.g. 1-5) or up/down"))
        return None
    row["rating"] = rating
    missing = [n for n in ("prompt", "response") if not row[n]]
    if missing:
        problems.append(Problem(source, line, f"missing {' and '.join(missing)}", HINT))
        return None
    if not row["comment"] and rating is None:
        problems.append(Problem(source, line, "no comment and no rating", HINT))
        return None
    return row


def read_feedback(path: str | Path) -> ParsedFeedback:
    """Read a JSONL (one object a line) or CSV (with a header) file of production feedback."""
    p = Path(path)
    text = read_user_text(p, what="feedback file", missing_hint="give the path of a .jsonl or .csv file")
    is_csv = p.suffix.lower() in (".csv", ".tsv") or (p.suffix.lower() not in (".jsonl", ".json", ".ndjson")
                                                      and not text.lstrip().startswith("{"))
    out = ParsedFeedback()
    return _read_csv(text, str(p), out, "\t" if p.suffix.lower() == ".tsv" else ",") if is_csv \
        else _read_jsonl(text, str(p), out)


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
    if not ({"prompt", "response"} <= {n for n in ALIASES if any(a in names for a in ALIASES[n])}) or \
            not any(a in names for a in ALIASES["comment"] + ALIASES["rating"]):
        raise StudioError(f"the CSV header has {', '.join(h for h in names if h) or 'no columns'}", path=source,
                          line=1, hint="name the columns prompt, response, comment and/or rating"
                                       + ("" if set(names) & known else " (is the header row missing?)"))
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
        if len(cells) != len(names):
            out.problems.append(Problem(source, line, f"{len(cells)} columns, the header has {len(names)}",
                                        "quote values that contain the delimiter"))
            continue
        row = _row(dict(zip(names, cells)), source, line, out.problems)
        if row is not None:
            out.rows.append(row)
    return out


# -- structuring -------------------------------------------------------------------------------------------

def structuring_template(workspace=None):
    """The feedback-structuring template: the workspace's copy (it may be edited), else the shipped one."""
    from studio.core.template import load_template
    from studio.workspace import shipped_templates_dir

    if workspace is not None:
        candidate = workspace.templates_dir / "feedback-structuring.prompt"
        if candidate.is_file():
            return load_template(candidate)
    return load_template(shipped_templates_dir() / "feedback-structuring.prompt")


def structure(rows: list[dict], *, model: str, template=None, api_base: str | None = None,
              cache_dir: str | Path | None = None, concurrency: int = 16,
              engine_options: dict | None = None) -> list[dict]:
    """Feedback records: each row plus its structured form (or marked unstructured / rating-only)."""
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
    now = time.time()
    records = [_record(row, now) for row in rows]
    requests = [
        Request(messages=renderer.messages(empty, {"prompt": r["prompt"], "response": r["response"],
                                                   "comment": r["comment"]}),
                model=model, params=scrub_params(dict(template.params)), schema=template.schema, meta=i,
                secrets=secrets)
        for i, r in enumerate(records) if r["comment"]
    ]
    for result in run_requests(requests, cache_dir=cache_dir, api_base=api_base, concurrency=concurrency,
                               **(engine_options or {})):
        rec = records[result.request.meta]
        rec["model"] = model
        rec["cost"] = result.cost
        if result.ok and isinstance(result.parsed, dict) and result.parsed.get("category"):
            rec["structured"] = result.parsed
            rec["status"] = STRUCTURED
            rec["category"] = str(result.parsed["category"])
            rec["severity"] = result.parsed.get("severity")
        else:
            rec["status"] = UNSTRUCTURED
            rec["error"] = result.error or "the reply had no category"
    return records


def _record(row: dict, now: float) -> dict:
    rec = {k: row.get(k) for k in ("prompt", "response", "comment", "rating", "source", "line")}
    rec.update(structured=None, category=None, severity=None, error=None, imported=now,
               status=UNSTRUCTURED if row.get("comment") else RATING_ONLY)
    return rec


def _key(rec: dict) -> tuple:
    return rec.get("prompt"), rec.get("response"), rec.get("comment"), rec.get("rating")


@dataclass
class ImportResult:
    added: list[int]
    problems: list[Problem]
    duplicates: int
    status: dict[str, int]


def import_feedback(session, path: str | Path, *, model: str, api_base: str | None = None,
                    cache_dir: str | Path | None = None, workspace=None, concurrency: int = 16,
                    engine_options: dict | None = None) -> ImportResult:
    """Read, structure and store a feedback file; rows already in the session are not added twice."""
    parsed = read_feedback(path)
    seen = {_key(r) for r in session.feedback()}
    fresh, duplicates = [], 0
    for row in parsed.rows:
        k = _key(row)
        if k in seen:
            duplicates += 1
            continue
        seen.add(k)
        fresh.append(row)
    records = structure(fresh, model=model, template=structuring_template(workspace), api_base=api_base,
                        cache_dir=cache_dir, concurrency=concurrency, engine_options=engine_options)
    ids = session.add_feedback(records) if records else []
    return ImportResult(ids, parsed.problems, duplicates, dict(Counter(r["status"] for r in records)))


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
