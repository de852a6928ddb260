"""Template actions of the main screen: save a version, switch template, and slot edits."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from studio.core.errors import StudioError
from studio.tui.guard import guarded, said


@guarded
class EditingActions:
    """Mixed into MainScreen; needs self.editor, self.session, self.io, self.workspace."""

    # -- save -------------------------------------------------------------------------------------
    def action_save_template(self) -> None:
        editor = self.editor
        if not self._writable() or editor.path is None:
            return
        text = editor.text
        analysis = editor.analysis
        if analysis is None or analysis.text != text or analysis.template is None:
            from studio.core.template import parse_template

            try:
                template = parse_template(text, editor.path)
            except StudioError as exc:
                self.notify(f"not saved: {exc}", title="Template has an error", severity="error", markup=False)
                return
        else:
            template = analysis.template
        from studio.core.render import render_problem

        path, name, session = Path(editor.path), template.name, self.session
        problem = render_problem(template)  # a version that cannot render is never made: runs would pick it

        def save() -> str | None:
            from studio.core.files import atomic_write_text

            atomic_write_text(path, text)
            if problem is not None:
                return None
            from studio.tui.format import set_version_labels

            version = session.save_template_version(name, text)
            set_version_labels(session)  # a plain dict swap; rows drawn after this show the new name
            return session.version_display(name, version, 12)

        def saved(version: str | None) -> None:
            if editor.text == text:
                editor.mark_saved()
                editor.draft = version is None  # the title says draft, as the toast does
            editor.name_label = name
            self._update_saved_state()
            if version is None:
                self.notify(f"saved {path.name} as a draft, not as a version: {problem}", title="Cannot render",
                            severity="error", markup=False)
            else:
                self.notify(f"saved {path.name} as version {version}", markup=False)

        self.io.submit(save, done=saved)

    # -- switch template ----------------------------------------------------------------------------
    def action_choose_template(self) -> None:
        if not self.ready:
            return
        from studio.tui.screens.pick import PickScreen

        items = [(str(p), p.stem) for p in self.workspace.template_paths()]

        def picked(value: str | None) -> None:
            if value:
                self._confirm_discard(lambda: self._open_template(Path(value)))

        current = str(self.editor.path) if self.editor.path else None
        self.app.push_screen(PickScreen("Edit which template?", items, current=current), picked)

    def _confirm_discard(self, then: Callable[[], None]) -> None:
        if not self.editor.dirty:
            then()
            return
        from studio.tui.screens.confirm import ConfirmScreen

        self.app.push_screen(ConfirmScreen("The template has unsaved changes. Throw them away?", yes="Discard"),
                             lambda yes: then() if yes else None)

    def _open_template(self, path: Path) -> None:
        from studio.core.errors import StudioError
        from studio.core.files import read_user_text

        try:
            text = read_user_text(path, what="template file")  # a BOM dropped; not UTF-8: said, with the line
        except StudioError as exc:
            self.notify(said(exc), severity="error", markup=False)
            return
        self.editor.load(path.stem, path, text)
        self.io.submit(self.session.set_meta, template=path.name)
        self._update_saved_state()

    # -- slot edits (new text goes into the editor, unsaved) -----------------------------------------
    def _slot_target(self) -> tuple[Any, str, int | None] | None:
        analysis = self.editor.analysis
        node = self.query_one("#slot-tree").cursor_node
        if analysis is None or analysis.template is None:
            self.notify("fix the template's errors first (see the editor)", severity="warning", markup=False)
            return None
        if node is None or node.data is None:
            self.notify("pick a slot or value first", severity="warning", markup=False)
            return None
        from studio.core.template import parse_template

        fresh = parse_template(analysis.text, analysis.template.path)  # edit a copy, never the shown one
        return fresh, node.data[0], node.data[1]

    def _apply_slot_edit(self, fn: Callable[..., str], *args: Any) -> None:
        try:
            text = fn(*args)
        except StudioError as exc:
            self.notify(said(exc), title="Slot not changed", severity="error", markup=False)
            return
        self.editor.replace_text(text)

    def _ask(self, title: str, value: str, then: Callable[[str], None], hint: str = "") -> None:
        from studio.tui.screens.prompt import PromptScreen

        self.app.push_screen(PromptScreen(title, value, hint=hint), lambda v: then(v) if v is not None else None)

    # -- file-based slots: the edit goes into the data file, after a preview ------------------------
    def _is_file_slot(self, template: Any, slot: str) -> bool:
        spec = template.slots.get(slot)
        return spec is not None and spec.values is None and bool(spec.file)

    def _file_edit(self, make: Callable[[], Any], slot: str) -> None:
        """Work out the edit, count the samples it touches, show what changes, write on yes."""
        try:
            edit = make()
        except StudioError as exc:
            self.notify(said(exc), title="Slot not changed", severity="error", markup=False)
            return
        session, name = self.session, self.editor.analysis.template.name

        def count() -> dict[str, int]:
            return {old: session.count(slot=(slot, old)) for old in edit.changes}

        def ask(counts: dict[str, int]) -> None:
            from studio.tui.screens.confirm import ConfirmScreen

            lines = [f"{edit.path.name} changes:", *edit.diff()[:8]]
            for old, new in edit.changes.items():
                fate = "retired on ctrl+r" if new is None else f"regenerated with {new!r} on ctrl+r"
                lines.append(f"{counts.get(old, 0)} sample(s) used {old!r}: {fate}")
            if edit.note:
                lines.append(edit.note)

            def answer(yes: Any) -> None:
                if yes:
                    self.io.submit(write, done=written)

            self.app.push_screen(ConfirmScreen("\n".join(lines), yes="Write the file"), answer)

        def write() -> None:
            from studio.analysis.regenerate import record_file_changes

            edit.write()
            record_file_changes(session, name, slot, edit.changes)

        def written(_: Any) -> None:
            self.editor.analyse()  # the slot's values (and the space) are read again
            self.notify(f"wrote {edit.path.name}", markup=False)

        self.io.submit(count, done=ask)

    def action_slot_add(self) -> None:
        target = self._slot_target()
        if target and self._is_file_slot(target[0], target[1]):
            from studio.core import slot_files

            template, slot, _ = target
            self._ask(f"New value for slot {slot} (added to its file)", "", lambda v: self._file_edit(
                lambda: slot_files.add_file_value(template, slot, v), slot))
            return
        if target:
            from studio.core import slot_edit

            template, slot, _ = target
            self._ask(f"New value for slot {slot}", "", lambda v: self._apply_slot_edit(
                slot_edit.add_value, template, slot, v))

    def action_slot_edit(self) -> None:
        target = self._slot_target()
        if not target:
            return
        from studio.core import slot_edit

        template, slot, index = target
        if index is None:
            self.notify("pick a value (not the slot) to edit it", severity="warning", markup=False)
            return
        if self._is_file_slot(template, slot):
            from studio.core import slot_files

            try:
                current = slot_files.file_values(template, slot)[index]
            except (StudioError, IndexError):
                self.notify("the file changed: pick the value again", severity="warning", markup=False)
                return
            self._ask(f"Edit value of slot {slot} (in its file)", current, lambda v: self._file_edit(
                lambda: slot_files.edit_file_value(template, slot, index, v), slot))
            return
        value = str(template.slots[slot].values[index])
        self._ask(f"Edit value of slot {slot}", value, lambda v: self._apply_slot_edit(
            slot_edit.edit_value, template, slot, index, v))

    def action_slot_weight(self) -> None:
        target = self._slot_target()
        if not target:
            return
        from studio.core import slot_edit

        template, slot, index = target
        if index is None:
            self.notify("pick a value to weight it", severity="warning", markup=False)
            return
        if template.slots[slot].values is None:
            self.notify("weights are for inline values; a data file's values count once each", severity="warning",
                        markup=False)
            return

        def apply(text: str) -> None:
            try:
                weight = float(text)
            except ValueError:
                self.notify(f"{text!r} is not a number — write e.g. 2 or 0.5", severity="error", markup=False)
                return
            self._apply_slot_edit(slot_edit.set_weight, template, slot, index, weight)

        spec = template.slots[slot]
        self._ask(f"Weight of {slot} = {spec.values[index]}", f"{spec.weights[index]:g}" if spec.weights else "1",
                  apply)

    def action_slot_delete(self) -> None:
        target = self._slot_target()
        if not target:
            return
        from studio.core import slot_edit
        from studio.tui.screens.confirm import ConfirmScreen

        template, slot, index = target
        if index is None:
            self.notify("pick a value to delete it", severity="warning", markup=False)
            return
        if self._is_file_slot(template, slot):
            from studio.core import slot_files

            self._file_edit(lambda: slot_files.delete_file_value(template, slot, index), slot)
            return
        value = template.slots[slot].values[index]
        self.app.push_screen(ConfirmScreen(f"Delete value {value!r} from slot {slot}?", yes="Delete"),
                             lambda yes: self._apply_slot_edit(slot_edit.delete_value, template, slot, index)
                             if yes else None)

    def action_slot_import(self) -> None:
        target = self._slot_target()
        if not target:
            return
        from studio.core import slot_edit

        template, slot, _ = target

        def apply(text: str) -> None:
            path, _, field = text.partition("#")
            self._apply_slot_edit(slot_edit.import_values, template, slot, path.strip(), field.strip() or None)

        self._ask(f"Import values for slot {slot} from a file", "",
                  apply, hint="path (relative to the template), add #field for csv/jsonl; enter: import")
