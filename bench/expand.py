"""Expansion speed: prompts rendered per second, and drawing 1,000,000 combinations from a 10^15 space.

Run: python bench/expand.py
"""

from __future__ import annotations

import resource
import time

from studio.core.expand import Space, expand
from studio.core.render import Renderer
from studio.core.template import load_template, parse_template
from studio.core.workspace import shipped_templates_dir


def render_rate(seconds: float = 3.0) -> float:
    template = load_template(shipped_templates_dir() / "support-madlib.prompt")
    renderer = Renderer(template)
    fills = list(expand(template, strategy="product"))
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for fill in fills:
            renderer.messages(fill)
        done += len(fills)
    return done / (time.perf_counter() - start)


def draw_million() -> tuple[float, float, int]:
    slots = "".join(f"  s{i}: {{file: v{i}.txt}}\n" for i in range(5))
    template = parse_template(f"---\nname: big\nmode: render\nslots:\n{slots}---\n"
                              + " ".join(f"{{{{ s{i} }}}}" for i in range(5)))
    from studio.core.slots import ValueSource

    sources = {f"s{i}": ValueSource([f"value-{i}-{j}" for j in range(1000)]) for i in range(5)}
    space = Space(template, sources)
    assert space.size == 10**15
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    count = 0
    for _fill in space.sample(1_000_000, seed=1):
        count += 1
    elapsed = time.perf_counter() - start
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before  # KiB on Linux
    return elapsed, grown / 1024, count


if __name__ == "__main__":
    elapsed, peak_mb, count = draw_million()  # first, while the process is small
    print(f"sample: {count:,} distinct combinations from a 10^15 space in {elapsed:.2f} s, "
          f"peak resident memory grew {peak_mb:.0f} MB (goal < 5 s, < 200 MB)")
    rate = render_rate()
    print(f"render: {rate:,.0f} prompts/s (support-madlib, one core; goal >= 30,000/s)")
