"""Every key, read from the live bindings of the screen, its panes and the app (so remaps show up)."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static
from studio.tui.guard import guarded


def binding_rows(app, screen) -> list[tuple[str, str, str]]:
    """(where, keys, what) for every described binding of the screen, its widgets and the app."""
    merged: dict[tuple[str, str], list[str]] = {}
    ids: dict[tuple[str, str], str] = {}
    for node in [screen, *screen.query("*"), app]:
        where = getattr(node, "HELP_GROUP", None) or type(node).__name__
        for bindings in node._bindings.key_to_bindings.values():
            for b in bindings:
                if b.description:
                    merged.setdefault((where, b.description), []).append(app.get_key_display(b))
                    if b.id:
                        ids[(where, b.description)] = b.id
    return [(where, " ".join(dict.fromkeys(keys)), what + (f"  ({ids[(where, what)]})" if (where, what) in ids
                                                              else ""))
            for (where, what), keys in merged.items()]


@guarded
class HelpScreen(ModalScreen[None]):
    AUTO_FOCUS = "#help"  # focused as the screen opens: keys typed at once land there, not in the first field
    BINDINGS = [Binding("escape,q,f1", "dismiss", "Close help", id="help.close")]

    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def _extend_compose(self, widgets: list) -> None:
        """No toast rack: the key table is read whole at 80×24 (a toast covered its 'what' column). The app
        keeps the notifications; the screen under help shows those still due when help closes."""
        from textual.widgets._toast import ToastRack

        super()._extend_compose(widgets)
        widgets[:] = [w for w in widgets if not isinstance(w, ToastRack)]

    def compose(self) -> ComposeResult:
        table = Table(title="Keys (escape closes)", expand=True, show_edge=False)
        table.add_column("where")
        table.add_column("key")
        table.add_column("what")
        for where, key, what in self.rows:
            table.add_row(where, key, what)
        with VerticalScroll(classes="dialog wide", id="help"):
            yield Static(table)

    def on_mount(self) -> None:
        self.query_one("#help").focus()
