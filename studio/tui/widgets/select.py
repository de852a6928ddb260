"""A Select whose open list stays inside its dialog and above the status bar (issue 16 §4).

Textual draws an open Select's list as an overlay of up to 12 rows under the field, over whatever is there:
at 80×24 the filter dialog's tag or version list ran past the dialog's border and over the status bar.
`FittedSelect` gives the list only the rows between the field and the bottom of its dialog (never the last
STATUS_ROWS rows of the terminal, where the status bar and the footer are); the list scrolls within them.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import Select
from textual.widgets._select import SelectOverlay

from studio.tui.guard import guarded

LIST_MAX = 12        # rows Textual gives an open list (its own default)
LIST_MIN = 3         # the list's border and one option: below this it opens anyway (and scrolls)
STATUS_ROWS = 2      # the status bar and the footer, at the bottom of the terminal


@guarded
class FittedSelect(Select):
    def _watch_expanded(self, expanded: bool) -> None:
        if expanded:
            self.query_one(SelectOverlay).styles.max_height = self.list_rows()
        super()._watch_expanded(expanded)

    def list_rows(self) -> int:
        """Rows the open list may take: from under the field to the dialog's inner bottom edge."""
        bottom = self.app.size.height - STATUS_ROWS
        box: Any = next((a for a in self.ancestors if "dialog" in getattr(a, "classes", ())), None)
        if box is not None:
            bottom = min(bottom, box.content_region.bottom)
        return max(LIST_MIN, min(LIST_MAX, bottom - self.region.bottom))
