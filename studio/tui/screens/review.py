"""Review actions of the main screen: verdicts, tags, notes, undo, movement, detail, filters, bulk.

Each key changes the screen at once and queues the write on the session thread (SessionIO), so
accept-and-next costs one repaint, not a disk write.

The store's answers come back later, and keys typed meanwhile may have changed the same rows again: every
row a key changes is stamped with a sequence number (`_stamp`), and rows read by a job are shown only when no
key changed them after the job was queued (`_from_store`). Every write reads its row back, so the last key's
answer always lands: the screen ends equal to the store, whatever the keys' timing.
"""

from __future__ import annotations

import threading

from studio.tui.widgets.stream import SampleList
from studio.tui.guard import guarded

VERDICT_KEYS = {"accepted": "accept", "rejected": "reject"}
SHOWN_FIELDS = ("status", "tags", "note")  # what review keys change; a row read back equal in these is not repainted


def _hold_keys(app) -> None:
    if hasattr(app, "hold_keys_for_store"):
        app.hold_keys_for_store()


def _keys_go_on(app) -> None:
    if hasattr(app, "keys_go_on"):
        app.keys_go_on()


@guarded
class ReviewActions:
    """Mixed into MainScreen; needs self.session, self.io, self.stream, self.tagger, self.labels."""

    # -- verdicts ---------------------------------------------------------------------------------
    def action_accept(self) -> None:
        self._verdict("accepted")

    def action_reject(self) -> None:
        self._verdict("rejected")

    def action_accept_next(self) -> None:
        self._verdict("accepted", advance=True)

    def _verdict(self, status: str, advance: bool = False) -> None:
        sid = self.stream.current_id
        if sid is None or not self._writable():
            return
        row = self.stream.rows.get(sid)
        old = row.get("status") if row else None
        if row is not None and row.get("flag") == "preview":  # the prompt, not an answer: nothing to judge
            self.notify("a preview (the render model on a generate template) is a prompt, not an answer: it is "
                        "not reviewed — generate with a model for answers", markup=False)
        elif old != status:
            self._bump(old, status)
            self.stream.update_row(sid, status=status)
            self._bulk_undo = None  # a newer undo step than the bulk action
            self._write(sid, getattr(self.session, VERDICT_KEYS[status]), sid)
        if advance:
            self.stream.move(1)
        self._show_selected()  # now, so the list and the tagger change in the same frame

    # -- the store's answers against newer keys ---------------------------------------------------------
    _seq = 0  # bumped by every key that changes rows on screen

    def _stamp(self, ids) -> int:
        """These rows were just changed on screen: store answers read before now must not paint over them."""
        self._seq += 1
        stamps = self.__dict__.setdefault("_row_seq", {})
        for sid in ids:
            stamps[sid] = self._seq
        return self._seq

    def _from_store(self, rows: list[dict], since: int) -> None:
        """Rows a session job read, for a job queued at `_seq == since`: shown unless a later key changed them
        (that key's own write is queued after this job and its answer follows)."""
        stamps = self.__dict__.get("_row_seq", {})
        cached, changed = self.stream.rows, []
        for row in rows:
            sid = row["id"]
            if stamps.get(sid, 0) > since:
                continue
            mine = cached.get(sid)
            if mine is not None and all(mine.get(f) == row.get(f) for f in SHOWN_FIELDS):
                cached[sid] = row  # the same on screen: no repaint
            else:
                changed.append(row)
        if changed:
            self.stream.update_rows(changed)
            sid = self.stream.current_id
            if any(r["id"] == sid for r in changed):
                self._show_selected()

    def _write(self, sid: int, fn, *args) -> None:
        """Queue a key's write of one sample, stamped; the row read back after it corrects the screen."""
        since, session = self._stamp([sid]), self.session

        def write() -> list[dict]:
            fn(*args)
            return [session.get(sid)]

        self.io.submit(write, done=lambda rows: self._from_store(rows, since))

    def _bump(self, old: str | None, new: str) -> None:
        """Optimistic counts for the status bar; the store's recount follows."""
        if old is not None:
            self.counts[old] = max(0, self.counts.get(old, 0) - 1)
        self.counts[new] = self.counts.get(new, 0) + 1
        self._refresh_counts()

    def action_toggle_tag(self, number: int) -> None:
        sid = self.stream.current_id
        if sid is None or not self._writable():
            return
        if number > len(self.labels):
            self.notify(f"no tag label {number} — press L to edit the labels", severity="warning", markup=False)
            return
        label = self.labels[number - 1]
        row = self.stream.rows.get(sid)
        if row is not None:
            tags = list(row.get("tags") or [])
            tags.remove(label) if label in tags else tags.append(label)
            self.stream.update_row(sid, tags=tags)
        self._bulk_undo = None
        self._write(sid, self.session.toggle_tag, sid, label)
        self._show_selected()

    # The last undo step, when it is a bulk accept/reject made here: {"rows": {id: old status} of the rows on
    # hand, "before": {status: n} of the samples it changed, "status": what they became}. `u` then repaints at
    # once (the store's undo of 20,000 samples takes over a second) and the store's answer corrects it.
    _bulk_undo: dict | None = None

    def action_undo(self) -> None:
        if not self._writable():
            return
        session, cached = self.session, self.stream.rows
        bulk, self._bulk_undo = self._bulk_undo, None
        touched = list(bulk["rows"]) if bulk else []
        if bulk:  # what it will do is known: shown now, and keys go on
            self._undo_bulk_on_screen(bulk)
            since = self._stamp(touched)
        else:  # which sample it undoes is the store's to say (the cursor goes there): later keys wait for it
            since = self._seq
            _hold_keys(self.app)

        painted = threading.Event()

        def undo() -> tuple[list[int], list[dict], dict]:
            if bulk:  # shown already: the store's undo of thousands of samples starts once that frame is out
                painted.wait(0.5)
            ids = session.undo_step()  # every sample of the step: a bulk undo repaints them all (issue 16 §2)
            again = list(dict.fromkeys([*ids, *touched]))  # and the rows shown undone at once, whatever the store did
            return ids, [session.get(i) for i in again if i in cached], session.counts()

        show_counts = self._counts_shower()
        self.io.submit(undo, done=lambda result: self._undone(result, show_counts, since, bool(bulk)))
        if bulk:
            self.call_after_refresh(painted.set)

    def _undo_bulk_on_screen(self, bulk: dict) -> None:
        """What undoing the bulk action will do, shown now (the rows on hand and the counts)."""
        rows = self.stream.rows
        for sid, old in bulk["rows"].items():
            row = rows.get(sid)
            if row is not None:
                row["status"] = old
        self.stream.refresh()
        before, status = bulk["before"], bulk["status"]
        if before:
            self.counts[status] = max(0, self.counts.get(status, 0) - sum(before.values()))
            for old, n in before.items():
                self.counts[old] = self.counts.get(old, 0) + n
            self._refresh_counts()
        self._show_selected()

    def _undone(self, result: tuple[list[int], list[dict], dict], show_counts, since: int, bulk: bool) -> None:
        ids, rows, counts = result
        if not bulk:
            _keys_go_on(self.app)
        self._from_store(rows, since)
        if not ids:
            show_counts(counts)
            self._show_selected()
            self.notify("nothing to undo", markup=False)
            return
        if len(ids) == 1 and not bulk:  # one sample: go back to it; a bulk step keeps the reader where they are
            try:
                self.stream.cursor = self.stream.ids.index(ids[0])
            except ValueError:
                pass
        else:
            self.notify(f"undid the change to {len(ids):,} samples", markup=False)
        show_counts(counts)
        self._show_selected()

    def action_note(self) -> None:
        sid = self.stream.current_id
        if sid is None or not self._writable():
            return
        from studio.tui.screens.prompt import PromptScreen

        row = self.stream.rows.get(sid) or {}

        def done(text: str | None) -> None:
            if text is None:
                return
            self.stream.update_row(sid, note=text)
            self._bulk_undo = None
            self._write(sid, self.session.set_note, sid, text)
            self._show_selected()

        self.app.push_screen(PromptScreen(f"Note for sample #{sid}", row.get("note") or ""), done)

    # -- movement and detail ------------------------------------------------------------------------
    def action_move(self, delta: int) -> None:
        self.stream.move(delta)
        self._show_selected()

    def action_page(self, direction: int) -> None:
        """A page of the list up (-1) or down (1); the review pane follows in the same frame, as with j/k."""
        self.stream.action_page(direction)
        self._show_selected()

    def action_jump(self, index: int) -> None:
        """To the first (0) or the newest (-1) sample, the review pane with it."""
        self.stream.action_jump(index)
        self._show_selected()

    def on_sample_list_selected(self, event: SampleList.Selected) -> None:
        shown = self.tagger.sample
        if shown is None or shown.get("id") != event.sample_id or event.sample_id not in self.stream.rows:
            self._show_selected()

    def _show_selected(self) -> None:
        sid = self.stream.current_id
        row = self.stream.rows.get(sid) if sid is not None else None
        self.tagger.show(row, self.labels)
        detail = self.app.screen
        if detail is not self and hasattr(detail, "show_sample"):  # the detail screen follows the review keys
            detail.show_sample(row, self.labels)

    def action_toggle_prompt(self) -> None:
        self.tagger.toggle_view()

    def action_scroll_review(self, direction: int) -> None:
        self.tagger.scroll_body(direction)

    def on_sample_list_need_rows(self, event: SampleList.NeedRows) -> None:
        if self.io is None:
            return
        session, since = self.session, self._seq

        def fetch(ids: list[int]) -> list[dict]:
            return [session.get(i) for i in ids]

        self.io.submit(fetch, event.ids, done=lambda rows: self._from_store(rows, since))

    def action_detail(self) -> None:
        sid = self.stream.current_id
        if sid is None or self.io is None:
            return
        from studio.tui.screens.detail import DetailScreen

        self.io.submit(self.session.get, sid,
                       done=lambda s: self.app.push_screen(DetailScreen(s, self, self.labels)))

    # -- filters and bulk -------------------------------------------------------------------------
    def action_filter(self) -> None:
        if not self.ready:
            return

        def done(filters: dict | None) -> None:
            if filters is not None:
                self.filters = filters
                self._reload_ids()

        self.app.push_screen(self._filter_dialog(fill=True), done)

    def _filter_dialog(self, fill: bool = False):
        """The filter dialog: one, kept (installed) and filled again at each open — composing its fields anew
        took most of the time from `/` to the dialog on screen."""
        from studio.tui.screens.filter import FilterScreen

        versions = [v["version"] for v in self.session.template_versions()]
        screen = self.__dict__.get("_filter_screen")
        if screen is None:
            screen = self._filter_screen = FilterScreen(self.filters, self.labels, versions)
            self.app.install_screen(screen, f"filter-{id(self)}")
        elif fill:
            screen.fill(self.filters, self.labels, versions)
        return screen

    def prepare_filter_dialog(self) -> None:
        """Compose, style and lay out the filter dialog while nothing else happens (after the session opened), so
        that even the first `/` only shows it: pushed and popped in one go, before any frame is drawn."""
        if not self.ready or not self.is_attached or self.app.screen is not self:
            return
        screen = self._filter_dialog()
        if not screen.is_running:
            self.app.push_screen(screen)
            self.app.pop_screen()
            self.set_timer(0.3, self._draw_filter_dialog_unseen)

    def _draw_filter_dialog_unseen(self) -> None:
        """Draw the dialog once over this screen without showing it (Screen._compositor, textual pinned in
        pyproject.toml): the first frame of a screen costs ~10x a later one (every widget's first render)."""
        screen = self.__dict__.get("_filter_screen")
        if screen is not None and screen.is_running and self.app.screen is self:
            screen._refresh_layout(self.app.size)
            screen._compositor.render_update(full=True, screen_stack=[self])

    def _reload_ids(self, keep: int | None = None, follow: bool = False) -> None:
        """Read the ids the filters match again; the cursor stays on `keep` (default: the sample it is on), or
        with `follow` goes to the newest."""
        keep = None if follow else self.stream.current_id if keep is None else keep
        session, filters, cached, since = self.session, dict(self.filters), self.stream.rows, self._seq
        rows_around = max(1, self.stream.size.height) + 50

        def load() -> tuple[list[int], list[dict]]:
            """The matching ids and, in the same job, the rows the list will show first (around `keep`, else the
            newest): one frame for a filter, not one for the ids and another when their rows arrive."""
            ids = session.ids(**filters)
            try:
                at = ids.index(keep) if keep is not None else len(ids) - 1
            except ValueError:
                at = len(ids) - 1
            window = ids[max(0, at - rows_around): at + rows_around]
            return ids, [session.get(i) for i in window if i not in cached]

        def show(result: tuple[list[int], list[dict]]) -> None:
            ids, rows = result
            stamps = self.__dict__.get("_row_seq", {})
            self.stream.update_rows([r for r in rows if stamps.get(r["id"], 0) <= since])
            self.stream.set_ids(ids, keep=keep)
            self._update_stream_title()
            self._update_layout()
            self._show_selected()

        # in this frame when the store is free and has every write asked for (and a text filter needs no scan of
        # the file): the dialog closes on the filtered list, not on the old one with the new list a frame later
        if self.io.idle and (not filters.get("text") or getattr(session, "text_index_ready", False)):
            now = session.at_once(load)
            if now is not None:
                show(now)
                return
        self.io.submit(load, done=show)

    def action_bulk(self, status: str) -> None:
        """Accept/reject every sample shown, after a question that says exactly how many will change: the store
        counts them first (previews and samples already so are left out, and the question says so); keys typed
        meanwhile wait for the question (a `y` typed right after `X` answers it)."""
        if not self._writable():
            return
        ids = list(self.stream.ids)
        if not ids:
            self.notify("no samples shown", markup=False)
            return
        session = self.session

        def census() -> tuple[list[int], int, dict[str, int], set[int]]:
            previews = set(session.ids(flag="preview")).intersection(ids)
            judged = [i for i in ids if i not in previews] if previews else ids
            return judged, len(previews), session.status_counts(judged), set(judged)

        def counted(result: tuple[list[int], int, dict[str, int], set[int]]) -> None:
            try:
                self._confirm_bulk(status, len(ids), *result)
            finally:
                _keys_go_on(self.app)

        _hold_keys(self.app)
        self.io.submit(census, done=counted)

    def _confirm_bulk(self, status: str, shown: int, judged: list[int], previews: int,
                      counts: dict[str, int], judged_set: set[int]) -> None:
        word = "accept" if status == "accepted" else "reject"
        scope = "shown by the filter" if self.filters else "in the session"
        before = {old: n for old, n in counts.items() if old != status and n}  # what the changing samples are now
        change, already = sum(before.values()), counts.get(status, 0)
        left = [text for n, text in ((previews, f"{previews:,} preview{'s' if previews != 1 else ''} (prompts, not "
                                                "answers: not reviewed)"),
                                     (already, f"{already:,} already {status}")) if n]
        left_out = " and ".join(left)
        if not change:
            self.notify(f"nothing to {word}: of the {shown:,} samples {scope}, {left_out or 'none'}", markup=False)
            return
        from studio.tui.screens.confirm import ConfirmScreen

        session = self.session

        def done(yes: bool) -> None:
            if not yes:
                return
            # the rows on hand change now (a few hundred, not every sample judged); the rest are read when shown
            old: dict[int, str] = {}
            rows = self.stream.rows
            on_hand = [i for i in rows if i in judged_set]
            for sid in on_hand:
                row = rows[sid]
                if (row.get("status") or "pending") != status:
                    old[sid] = row.get("status") or "pending"
                    row["status"] = status
            self._stamp(old)
            self._bulk_undo = {"rows": old, "before": dict(before), "status": status}  # counts as bumped now
            self.stream.refresh()
            for was, n in before.items():
                self.counts[was] = max(0, self.counts.get(was, 0) - n)
            self.counts[status] = self.counts.get(status, 0) + change
            self._refresh_counts()

            painted = threading.Event()

            def write() -> tuple[int, dict]:
                # queued now (keys typed after it are written after it), started once this key's frame is out:
                # thousands of samples rewritten hold the GIL, and the frame must not wait for them
                painted.wait(0.5)
                return session.bulk_set_status(judged, status), session.counts()

            show_counts = self._counts_shower()

            def written(result: tuple[int, dict]) -> None:
                n, counts = result
                show_counts(counts)
                self.notify(f"{word}ed {n:,} sample{'s' if n != 1 else ''}" + (f"; left out: {left_out}"
                                                                                if left_out else ""), markup=False)

            self.io.submit(write, done=written)
            self._show_selected()
            self.call_after_refresh(painted.set)

        question = f"Mark {change:,} of the {shown:,} samples {scope} as {status}?"
        if left_out:
            question += f" Left out: {left_out}."
        self.app.push_screen(ConfirmScreen(question, yes=f"{word.capitalize()} {change:,}"), done)

    def action_bulk_tag(self) -> None:
        """Add one of the 1–9 tags to every sample shown (one undo step)."""
        if not self._writable():
            return
        ids = list(self.stream.ids)
        if not ids:
            self.notify("no samples shown", markup=False)
            return
        from studio.tui.screens.prompt import PromptScreen

        scope = "shown by the filter" if self.filters else "in the session"
        choices = " ".join(f"{i} {label}" for i, label in enumerate(self.labels[:9], start=1))
        session = self.session

        def done(text: str | None) -> None:
            if text is None:
                return
            text = text.strip()
            labels = self.labels[:9]
            named = [label for label in labels if label.casefold() == text.casefold()]   # its name works too
            if named:
                label = named[0]
            elif text.isdigit() and 1 <= int(text) <= len(labels):
                label = labels[int(text) - 1]
            else:
                self.notify(f"{text!r} is not a tag — type its number (1–{len(labels)}) or its name",
                            severity="warning", markup=False)
                return
            self._bulk_undo = None
            self._stamp(ids)
            for sid in ids:
                row = self.stream.rows.get(sid)
                if row is not None and label not in (row.get("tags") or []):
                    row["tags"] = list(row.get("tags") or []) + [label]
            self.stream.refresh()
            self._show_selected()
            self.io.submit(session.bulk_tag, ids, label,
                           done=lambda n: self.notify(f"tagged {n:,} samples {label} (u undoes it)", markup=False))

        self.app.push_screen(PromptScreen(f"Tag all {len(ids):,} samples {scope} with (number or name):", "",
                                          hint=choices), done)

    def action_edit_labels(self) -> None:
        if not self._writable():
            return
        from studio.tui.screens.prompt import PromptScreen

        def done(text: str | None) -> None:
            if text is None:
                return
            labels = [x.strip() for x in text.split(",") if x.strip()][:9]
            if not labels:
                self.notify("give at least one label", severity="warning", markup=False)
                return
            self.labels = labels
            self.io.submit(self.session.set_meta, labels=labels)
            self._show_selected()

        self.app.push_screen(PromptScreen("Failure tags for keys 1–9 (comma separated)", ", ".join(self.labels)),
                             done)
