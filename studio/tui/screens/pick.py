"""Pick one item from a list (which template to edit)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from studio.tui.guard import guarded

from studio.analysis.tables import plain


@guarded
class PickScreen(ModalScreen[str | None]):
    # a long list scrolls inside the dialog, and the dialog keeps off the status bar and the footer
    DEFAULT_CSS = """
    PickScreen { padding-bottom: 2; }
    PickScreen #pick { height: auto; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="pick.cancel")]

    def __init__(self, title: str, items: list[tuple[str, str]], current: str | None = None) -> None:
        """`items`: (value, label) pairs; `current`: the value highlighted first (what is in use now)."""
        super().__init__()
        self.title_text, self.items, self.current = title, items, current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, markup=False, classes="dialog-title")
            yield OptionList(*[Option(plain(label), id=value) for value, label in self.items], id="pick")

    def on_mount(self) -> None:
        self._fit()
        values = [value for value, _ in self.items]
        if self.current in values:
            self.query_one("#pick", OptionList).highlighted = values.index(self.current)

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """The list gets the rows the dialog has below its title: the screen less the status bar and footer
        (padding), the dialog's border and the title."""
        title = self.query_one(".dialog-title")
        rows = self.size.height - 2 - 2 - (title.outer_size.height or 2)
        self.query_one("#pick", OptionList).styles.max_height = max(3, rows)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
