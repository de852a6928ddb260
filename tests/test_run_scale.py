"""A run draws its fills lazily: a million-prompt run holds no list of fills or jobs, so its memory does not grow
with the prompt count (issue 15 §2; bench/scale.py measures the whole run)."""

from __future__ import annotations

import asyncio
import tracemalloc

import pytest

from studio.runs.run import Run
from studio.store import Store
from studio.core.workspace import Workspace


@pytest.fixture
def ws(tmp_path):
    ws = Workspace.from_env(tmp_path).ensure()
    (tmp_path / "a.txt").write_text("".join(f"topic {i}\n" for i in range(1000)))
    (tmp_path / "b.txt").write_text("".join(f"style {i}\n" for i in range(1000)))
    return ws


def write(ws, strategy="product", exclude="", mode="render"):
    (ws.templates_dir / "big.prompt").write_text(
        f"---\nname: big\nmode: {mode}\nslots:\n  topic: {{file: ../a.txt}}\n  style: {{file: ../b.txt}}\n"
        f"combine:\n  strategy: {strategy}\n{exclude}---\nuser:\nAbout {{{{ topic }}}} as {{{{ style }}}}.\n"
        "assistant:\nOK.\n")
    return "big"


@pytest.mark.parametrize("strategy,n,total", [("product", None, 1_000_000), ("product", 250_000, 250_000),
                                               ("sample", 200_000, 200_000)])
def test_a_million_prompt_run_is_set_up_without_holding_its_fills(ws, strategy, n, total):
    name = write(ws, strategy)
    tracemalloc.start()
    try:
        run = Run(ws, name, n=n)
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert run.total == total
    assert held < 4 << 20, f"{held >> 20} MB held after setting up a {total:,}-prompt run"   # a list of fills: >100 MB
    first = list(zip(range(3), run.jobs))
    again = list(zip(range(3), run.jobs))       # each pass draws afresh, the same fills and seeds
    assert [(f.fill_key, s, a) for _, (f, _x, s, a) in first] == [(f.fill_key, s, a) for _, (f, _x, s, a) in again]


def test_a_product_with_exclusions_is_counted_by_drawing(ws):
    name = write(ws, exclude="  exclude: [{topic: topic 0}]\n")
    assert Run(ws, name).total == 999_000


def test_lazy_fills_make_the_same_samples_as_before_with_answers(ws, fake_llm):
    """Seeds and answer indices per fill: answer a of fill i, in fill order, as the eager jobs were."""
    from studio.core.expand import expand, sample_seed
    from studio.core.template import load_template
    from studio.runs.run import answer_seed

    name = write(ws, "sample", mode="generate")    # several answers come from a model (render's are copies)
    t = load_template(ws.find_template(name))
    s = Store(ws.sessions_dir).open("x", create=True)
    run = Run(ws, name, session=s, n=5, answers=2, model=fake_llm.model, api_base=fake_llm.base_url)
    want = [(f.fill_key, answer_seed(sample_seed(t.combine.seed, f.fill_key), a), a)
            for f in expand(t, n=5, strategy="sample") for a in range(2)]
    assert run.total == 10
    assert [(f.fill_key, s, a) for f, _x, s, a in run.jobs] == want
    try:
        asyncio.run(run.execute())
        got = sorted((d["fill_key"], d["seed"], d["answer"]) for d in s.iter_samples())
    finally:
        s.close()
    assert got == sorted(want)
