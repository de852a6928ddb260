"""Every keymap.yaml problem is `path:line: what — what to do` (a tryout met raw PyYAML text with no useful
line, and `keymap.yaml: unknown binding id` without one): table of the kinds, on real files, and the
notification the studio shows for one."""

from __future__ import annotations

import pytest

from studio.tui.app import KEYMAP_FILE, StudioApp
from studio.tui.keymap import load_keymap
from tests.tui.conftest import ready

# (keymap.yaml text, [(line, what the problem says)], binding ids still applied)
KINDS = [
    pytest.param("review.accept: y\nreview.reject: r\nreview.note: [n\n\nreview.skip: s\n",
                 [(5, "not valid YAML")], [], id="yaml-syntax-unclosed-list"),
    pytest.param("review.accept: y\n  review.reject: r\n", [(2, "not valid YAML")], [], id="yaml-syntax-indent"),
    pytest.param("review.accept: {y\n", [(2, "not valid YAML")], [], id="yaml-syntax-unclosed-mapping"),
    pytest.param("review.accept: 'y\n", [(2, "not valid YAML")], [], id="yaml-syntax-unclosed-quote"),
    pytest.param("review.accept: y\nreview.bogus: q\n",
                 [(2, "unknown binding id 'review.bogus'")], ["review.accept"], id="unknown-id"),
    pytest.param("review.accept: y\n\nreview.acept: z\n",
                 [(3, "unknown binding id 'review.acept' (did you mean review.accept?)")], ["review.accept"],
                 id="misspelt-id"),
    pytest.param("review.accept: y\nreview.note: j\n", [(2, "review.note: j is already review.next")],
                 ["review.accept"], id="clashing-key"),
    pytest.param("review.accept: y\nreview.reject: [r]\n", [(2, "'review.reject': keys must be text, not a list")],
                 ["review.accept"], id="wrong-type-list"),
    pytest.param("review.reject: 3\nreview.accept: y\n", [(1, "keys must be text, not a number")],
                 ["review.accept"], id="wrong-type-number"),
    pytest.param("review.accept: y\nreview.reject:\n", [(2, "keys must be text, not empty")], ["review.accept"],
                 id="wrong-type-empty"),
    pytest.param("review.accept: y\n7: r\n", [(2, "binding id 7 must be text")], ["review.accept"],
                 id="wrong-type-id"),
    pytest.param("- review.accept: y\n", [(1, "must be a mapping of binding id to keys, not a list")], [],
                 id="wrong-type-file"),
    pytest.param("review.accept: y\nreview.reject: r\nreview.accept: z\n",
                 [(3, "binding id 'review.accept' is given twice: on line 1 and again on line 3")],
                 ["review.reject"], id="duplicate-key"),
    pytest.param("review.accept: y\nreview.nosuch: z\nreview.reject: a\nreview.reject: q\nreview.note: [1, 2]\n",
                 [(2, "unknown binding id 'review.nosuch'"), (4, "'review.reject' is given twice"),
                  (5, "keys must be text, not a list")], ["review.accept"], id="duplicate-among-others"),
    pytest.param("review.accept: y\nreview.bogus: q\nreview.note: j\nreview.reject: [r]\n",
                 [(2, "unknown binding id"), (3, "is already review.next"), (4, "keys must be text")],
                 ["review.accept"], id="several-at-once"),
]


@pytest.mark.parametrize("text,expected,applied", KINDS)
def test_each_keymap_problem_names_the_file_and_line_and_what_to_do(tmp_path, text, expected, applied):
    path = tmp_path / KEYMAP_FILE
    path.write_text(text, encoding="utf-8")
    good, problems = load_keymap(path)
    said = [str(p) for p in problems]
    assert len(problems) == len(expected), said
    for (line, what), shown in zip(expected, said):
        assert shown.startswith(f"{path}:{line}: ") and what in shown and " — " in shown, said
        assert "<unicode string>" not in shown and "^" not in shown, said
    assert sorted(good) == sorted(applied)


async def test_a_keymap_syntax_error_is_shown_with_its_file_and_line(seeded):
    (seeded.root / KEYMAP_FILE).write_text("review.accept: y\nreview.note: [n\n\nreview.skip: s\n")
    app = StudioApp(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        shown = [n for n in app._notifications if n.title == "Key map not used"]
        assert shown and f"{seeded.root / KEYMAP_FILE}:4: keymap.yaml is not valid YAML" in shown[0].message
        assert "flow sequence that started on line 2" in shown[0].message
        assert "<unicode string>" not in shown[0].message
