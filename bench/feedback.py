"""Feedback structuring accuracy: each path on the labelled set's held-out half (tests/analysis/data).

    python bench/feedback.py [--split heldout|tune] [--no-local]

Paths: the offline rules (studio.analysis.signals); the embedded model local/smollm2 (when the `local`
extra is installed; ~2-3 s a comment on one core); a "real model" through the fake OpenAI-compatible server,
whose scripted replies are the labels: it measures the pipeline (prompt, schema, parse, store), not a model,
so anything under 100% there is lost between a model's JSON and the stored signal. Prints category and
polarity accuracy and the confusion of each path's misses.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def load(split: str) -> list[dict]:
    return [json.loads(x) for x in (ROOT / f"tests/analysis/data/feedback_{split}.jsonl").read_text().splitlines()]


def rows(labelled: list[dict]) -> list[dict]:
    return [{"comment": r["comment"], "rating": r["rating"], "prompt": "", "response": "", "source": "bench",
             "line": i + 1, "key": r["id"]} for i, r in enumerate(labelled)]


def score(name: str, labelled: list[dict], records: list[dict], seconds: float) -> None:
    n = len(labelled)
    cat = sum(r["category"] == x.get("category") for r, x in zip(labelled, records))
    anyof = sum(x.get("category") in [r["category"], *r["also"]] for r, x in zip(labelled, records))
    pol = sum(r["polarity"] == x.get("polarity") for r, x in zip(labelled, records))
    unstructured = sum(x.get("status") != "structured" for x in records)
    misses = Counter(f"{r['category']}->{x.get('category')}" for r, x in zip(labelled, records)
                     if r["category"] != x.get("category"))
    print(f"{name:<28} category {cat}/{n} = {cat / n:6.1%}  (main or a secondary label {anyof / n:6.1%})  "
          f"polarity {pol / n:6.1%}  unstructured {unstructured}  {seconds:6.1f} s")
    print(f"{'':<28} misses: {', '.join(f'{k} {v}' for k, v in misses.most_common(8)) or 'none'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", default="heldout", choices=["heldout", "tune"])
    ap.add_argument("--no-local", action="store_true", help="skip the embedded model (minutes)")
    ap.add_argument("--local-limit", type=int, default=None, metavar="N",
                    help="the embedded model on the first N comments only (it takes ~5-15 s a comment here)")
    args = ap.parse_args()

    from studio.analysis.feedback import structure

    labelled = load(args.split)
    print(f"{len(labelled)} labelled comments ({args.split} half); categories: "
          + ", ".join(f"{k} {v}" for k, v in Counter(r["category"] for r in labelled).most_common()))
    t = time.perf_counter()
    score("offline rules", labelled, structure(rows(labelled)), time.perf_counter() - t)

    from tests.support.fake_llm import FakeLLM

    truth = {r["comment"]: r for r in labelled}

    def reply(messages):
        text = messages[-1]["content"]
        comment = text.split('The user\'s comment: "', 1)[-1].rsplit('"\n', 1)[0]
        r = truth.get(comment, {"category": "other", "polarity": "neutral"})
        return json.dumps({"category": r["category"], "polarity": r["polarity"], "severity": "medium",
                           "concerned_part": "the answer", "desired_behaviour": "do better"})

    with tempfile.TemporaryDirectory() as tmp, FakeLLM() as fake:
        fake.set(reply=reply)
        t = time.perf_counter()
        records = structure(rows(labelled), model=fake.model, api_base=fake.base_url, cache_dir=Path(tmp))
        score("model via fake server", labelled, records, time.perf_counter() - t)
        print(f"{'':<28} (scripted replies = the labels: a pipeline check; requests seen {fake.count})")

    from studio.engine import local

    if args.no_local or not local.available():
        print("embedded model: skipped" + ("" if args.no_local else " (the local extra is not installed)"))
        return
    part = labelled[:args.local_limit] if args.local_limit else labelled
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        records = structure(rows(part), model=local.MODEL, cache_dir=Path(tmp), concurrency=1)
        score(f"embedded local/smollm2 ({len(part)})", part, records, time.perf_counter() - t)
        score(f"offline rules, same {len(part)}", part, structure(rows(part)), 0.0)
        by_model = [x for x in records if str(x.get("structured_by", "")).startswith("model:")]
        print(f"{'':<28} the model gave a category for {len(by_model)} of {len(records)}; the rest kept the rules'")


if __name__ == "__main__":
    main()
