"""A checkbox whose mark is a glyph, not a colour: Textual draws an X in both states and tells them apart by
colour alone, so under NO_COLOR checked and unchecked looked the same (issue 16 §4)."""

from __future__ import annotations

from textual.widgets import Checkbox

from studio.tui.guard import guarded


@guarded
class MarkedCheckbox(Checkbox):
    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]  # noqa: N802 - Textual's name
        return "X" if self.value else " "
