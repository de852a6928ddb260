"""Version names a person can say (v1, v2, ...): one name per hash in a workspace, kept by copies."""

import multiprocessing

from studio.store import Store


def test_names_follow_the_workspace_order_and_every_session_agrees(tmp_path):
    store = Store(tmp_path / "sessions")
    a, b = store.create("a"), store.create("b")
    va1 = a.save_template_version("t", "one")
    va2 = a.save_template_version("t", "two")
    assert (a.version_label("t", va1), a.version_label("t", va2)) == ("v1", "v2")
    vx = a.save_template_version("other", "x")
    assert a.version_label("other", vx) == "v1"  # per template
    # another session of the workspace: the same text is the same name, a new text the next one
    vb3 = b.save_template_version("t", "three")
    b.save_template_version("t", "two")
    assert b.version_label("t", vb3) == "v3" and b.version_label("t", va2) == "v2"
    assert b.version_display("t", vb3) == f"v3 {vb3[:6]}"
    assert a.version_labels()[("t", va1)] == "v1"
    a.close()
    b.close()
    # a copy (and a session moved to another workspace) keeps the names it was reviewed under
    store.copy("a", "c")
    other = Store(tmp_path / "elsewhere" / "sessions")
    (tmp_path / "elsewhere" / "sessions").mkdir(parents=True)
    import shutil

    shutil.copy(store.dir / "a.json", other.dir / "a.json")
    with store.open("c") as c, other.open("a") as moved:
        assert c.version_label("t", va2) == "v2"
        assert moved.version_label("t", va2) == "v2"
        # the other workspace names its own new versions after them, never reusing a kept name
        v4 = moved.save_template_version("t", "four, made elsewhere")
        assert [d.get("label") for d in moved.template_versions("t")] == ["v1", "v2", "v3"]
        assert moved.version_label("t", v4) == "v3"


def _save_many(args):
    folder, name, texts = args
    s = Store(folder).open(name, create=True)
    out = [(text, s.version_label("t", s.save_template_version("t", text))) for text in texts]
    s.close()
    return out


def test_two_processes_naming_versions_at_once_never_give_one_name_two_hashes(tmp_path):
    folder = tmp_path / "sessions"
    Store(folder).create("p1").close()
    Store(folder).create("p2").close()
    texts = [f"text {i}" for i in range(20)]
    with multiprocessing.get_context("fork").Pool(2) as pool:
        got = pool.map(_save_many, [(folder, "p1", texts), (folder, "p2", texts[::-1])])
    by_text = {}
    for text, label in got[0] + got[1]:
        by_text.setdefault(text, set()).add(label)
    assert all(len(labels) == 1 for labels in by_text.values())  # one name per text in both sessions
    names = [next(iter(v)) for v in by_text.values()]
    assert sorted(names, key=lambda n: int(n[1:])) == [f"v{i}" for i in range(1, 21)]  # no name given twice
