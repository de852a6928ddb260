"""Two answers to the same prompt side by side; a key says which is better, saved as a pair judgement.

A status says "good" or "bad"; a judgement says "A is better than B" (session.judge_pair), which the
preference exports use as it is, before the pairs they infer from statuses. The answers of the prompt
(same prompt_hash, failed ones left out) are paired in turn: 1 or ← prefers the left, 2 or → the
right, s skips to the next pair, escape closes. Reads and writes go through the session thread.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from studio.core.display import screen_text
from studio.tui.format import short_version, status_label
from studio.tui.guard import guarded


@guarded
class PairScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("1,left", "prefer(0)", "Left is better", id="pair.left"),
        Binding("2,right", "prefer(1)", "Right is better", id="pair.right"),
        Binding("s,tab", "next", "Skip pair", id="pair.skip"),
        Binding("escape,q", "dismiss", "Close", id="pair.close"),
    ]
    DEFAULT_CSS = """
    PairScreen { align: center middle; }
    PairScreen > Vertical { width: 100%; height: 100%; border: round $accent; padding: 0 1; }
    PairScreen #pair-prompt { height: auto; max-height: 5; }
    PairScreen #pair-sides { height: 1fr; }
    PairScreen .pair-side { width: 1fr; border: solid $panel; }
    PairScreen #pair-status { height: 1; }
    """

    def __init__(self, session: Any, io: Any, sample_id: int) -> None:
        super().__init__()
        self.session, self.io, self.sample_id = session, io, sample_id
        self.samples: dict[int, dict] = {}
        self.pairs: list[tuple[int, int]] = []
        self.judged: dict[frozenset, tuple[int, int]] = {}
        self.at = 0

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("loading the answers to this prompt…", id="pair-prompt", markup=False)
            with Horizontal(id="pair-sides"):
                with VerticalScroll(classes="pair-side"):
                    yield Static("", id="pair-left", markup=False)
                with VerticalScroll(classes="pair-side"):
                    yield Static("", id="pair-right", markup=False)
            yield Static("1/← left is better · 2/→ right is better · s next pair · esc close", id="pair-status",
                         markup=False)

    def on_mount(self) -> None:
        session, sid = self.session, self.sample_id

        def load() -> tuple[dict[int, dict], dict]:
            first = session.get(sid)
            ids = session.answers(first.get("prompt_hash"))
            found = {s["id"]: s for s in session.samples(ids)}
            judged = {frozenset((j["chosen"], j["rejected"])): (j["chosen"], j["rejected"])
                      for j in session.judgements() if j["chosen"] in found or j["rejected"] in found}
            return found, judged

        self.io.submit(load, done=self._loaded)

    def _loaded(self, result: tuple[dict[int, dict], dict]) -> None:
        found, self.judged = result
        self.samples = {i: s for i, s in found.items() if s.get("status") != "failed" and s.get("output")}
        ids = sorted(self.samples)
        # the selected sample's pairs first, then the rest; unjudged before judged
        pairs = sorted(combinations(ids, 2), key=lambda p: (self.sample_id not in p, frozenset(p) in self.judged, p))
        self.pairs = pairs
        self.at = 0
        self._show()

    def _show(self) -> None:
        prompt = self.query_one("#pair-prompt", Static)
        if not self.pairs:
            prompt.update(f"only {len(self.samples)} answer(s) to this prompt: nothing to compare — "
                          "the generate form's answers per prompt (ctrl+g) makes several")
            return
        a, b = self.pairs[self.at % len(self.pairs)]
        left, right = self.samples[a], self.samples[b]
        user = next((m["content"] for m in reversed(left.get("messages") or []) if m.get("role") == "user"), "")
        judged = self.judged.get(frozenset((a, b)))
        verdict = "" if judged is None else f" · judged: #{judged[0]} better than #{judged[1]}"
        prompt.update(Text(f"pair {self.at % len(self.pairs) + 1} of {len(self.pairs)}{verdict}\n{screen_text(str(user))}"))
        self.query_one("#pair-left", Static).update(self._side(left, "left (1)"))
        self.query_one("#pair-right", Static).update(self._side(right, "right (2)"))

    @staticmethod
    def _side(s: dict, label: str) -> Text:
        head = (f"{label} #{s['id']} {status_label(s.get('status', 'pending'))} · {s.get('model') or '-'} · "
                f"{short_version(s.get('template_version'))}")
        if s.get("flag"):
            head += f" · ⚑ {s['flag']}"
        return Text(screen_text(f"{head}\n\n{s.get('output') or ''}"))

    def action_prefer(self, side: int) -> None:
        if not self.pairs:
            return
        a, b = self.pairs[self.at % len(self.pairs)]
        chosen, rejected = (a, b) if side == 0 else (b, a)
        self.judged[frozenset((a, b))] = (chosen, rejected)
        session = self.session
        self.io.submit(lambda: session.judge_pair(chosen, rejected))
        self.notify(f"#{chosen} preferred over #{rejected}", markup=False)
        self.action_next()

    def action_next(self) -> None:
        if self.pairs:
            self.at = (self.at + 1) % len(self.pairs)
            self._show()

    async def action_dismiss(self, result: Any = None) -> None:
        self.dismiss(None)
