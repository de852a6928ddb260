"""Slots and personas pane: each slot, its source and values (with weights), the combination-space size
and the prompt count of the chosen strategy. Edits go through the screen into the template text."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static, Tree

from studio.analysis.tables import plain

from studio.tui.preview import prompt_count
from studio.tui.guard import guarded


@guarded
class SlotTree(Tree):
    """Slots as branches, inline values as leaves; node.data = (slot, value index or None)."""

    BINDINGS = [
        Binding("a", "screen.slot_add", "Add value", id="slots.add"),
        Binding("e", "screen.slot_edit", "Edit", id="slots.edit"),
        Binding("d,delete", "screen.slot_delete", "Delete", id="slots.delete"),
        Binding("w", "screen.slot_weight", "Weight", id="slots.weight"),
        Binding("i", "screen.slot_import", "Import file", id="slots.import"),
        Binding("ctrl+s", "screen.save_template", "Save version", id="slots.save"),
    ]


@guarded
class SlotsPane(Vertical):
    """Empty until `build()` (after the first frame, like the editor): nothing to show before a template."""

    ALLOW_MAXIMIZE = True

    built = False
    stats: dict = {}          # (slot, value text) -> studio.tui.values.ValueStats, from the main screen
    _last: tuple | None = None

    def set_stats(self, stats: list) -> None:
        """Each value's sample count and accept rate beside it (issue 16 §4); redraws the tree once."""
        self.stats = {(v.name, v.value): v for v in stats if v.kind == "slot"}
        if self._last is not None and self.built:
            self.show(*self._last)

    async def build(self) -> None:
        if self.built:
            return
        self.built = True
        tree = SlotTree("slots", id="slot-tree")
        tree.show_root = False
        await self.mount_all([tree, Static("", id="space", markup=False)])

    @property
    def tree(self) -> SlotTree:
        return self.query_one(SlotTree)

    def show(self, template: Any, plan: Any, file_values: dict[str, Any] | None = None) -> None:
        """Redraw from a parsed template, its space plan and its data-file slots' values (read in the analysis
        worker: preview.read_file_values), keeping the cursor where it was."""
        self._last = (template, plan, file_values)
        tree = self.tree
        selected = tree.cursor_node.data if tree.cursor_node is not None else None
        open_slots = {n.data[0] for n in tree.root.children if n.is_expanded}
        first = not tree.root.children
        tree.clear()
        sizes = {name: size for name, size, _src in (plan.slots if plan else [])}
        target_line = None
        for name, spec in template.slots.items():
            count = sizes.get(name, len(spec.values or []))
            branch = tree.root.add(plain(f"{name}  ({spec.source}, {count:,} values)"), data=(name, None),
                                   expand=first or name in open_slots)
            if (name, None) == selected:
                target_line = branch
            if spec.values is not None:
                for i, value in enumerate(spec.values):
                    weight = f"  ×{spec.weights[i]:g}" if spec.weights else ""
                    leaf = branch.add_leaf(plain(f"{value}{weight}{self._seen(name, value)}"), data=(name, i))
                    if (name, i) == selected:
                        target_line = leaf
            elif spec.file:  # a data file's values, editable in the file (studio.core.slot_files)
                self._file_leaves(branch, name, (file_values or {}).get(name, []))
            elif spec.personas:
                branch.add_leaf(plain("persona source: " + ("built-in generator" if spec.personas == "builtin"
                                                            else str(spec.personas))), data=(name, None))
        if target_line is not None:
            self.call_after_refresh(tree.move_cursor, target_line)
        strategy = template.combine.strategy
        if plan is None:
            self.query_one("#space", Static).update("space: ?")
            return
        count = prompt_count(plan, strategy)
        others = ", ".join(f"{k} {v:,}" for k, v in plan.counts.items() if k != strategy and v is not None)
        self.query_one("#space", Static).update(
            f"space {plan.size:,} combinations · {strategy} → {count:,} prompts\n({others})")

    FILE_ROWS = 200  # values of a data file listed (its size is in the branch label)

    def _seen(self, name: str, value: Any) -> str:
        """`  · N samples, accept R` for a value samples used (inline or from a data file), else ""."""
        st = self.stats.get((name, str(value)))
        return f"  · {st.samples:,} sample{'' if st.samples == 1 else 's'}, accept {st.rate}" if st else ""

    def _file_leaves(self, branch: Any, name: str, values: Any) -> None:
        if isinstance(values, Exception):  # a StudioError: why the file's values cannot be listed
            branch.add_leaf(plain(f"(not editable here: {values.problem.message})"), data=(name, None))
            return
        for i, value in enumerate(values[: self.FILE_ROWS]):
            branch.add_leaf(plain(f"{value}{self._seen(name, value)}"), data=(name, i))
        if len(values) > self.FILE_ROWS:
            branch.add_leaf(f"… {len(values) - self.FILE_ROWS:,} more in the file", data=(name, None))

    def show_error(self, message: str) -> None:
        self.query_one("#space", Static).update(plain(f"✗ {message}"))
