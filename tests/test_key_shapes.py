"""Key-shaped text never reaches a session file from any source (issue 14): the template's text (comments,
front matter, body), its params under ordinary names, and the stored messages. One pattern, shared with
the export (`record.KEY_SHAPE`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.cli.main import main
from studio.core import record
from studio.core.record import KEY_SHAPE, new_sample, redact_keys, scrub_params
from studio.core.secrets import redact_template_text
from studio.store import Store
from studio.core.workspace import Workspace

# one member of each shape KEY_SHAPE knows
KEYS = {
    "openai": "sk-test-ABCDEFGHIJKLMNOPQRSTUV",
    "openai-project": "sk-proj-ABCDEFGHIJKLMNOPQRSTUV12",
    "anthropic": "sk-ant-api03-ABCDEFGHIJKLMNOPQRST",
    "aws": "AKIAABCDEFGHIJKLMNOP",
    "github-pat": "ghp_" + "A1" * 18,
    "github-oauth": "gho_" + "B2" * 18,
    "huggingface": "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH",
    "slack": "xoxb-1234567890-abcdef",
    "bearer": "Bearer abcdefghijklmnopqrstuvwxyz012345",
}
# where in a template a key can be written (each a whole, valid template)
PLACES = {
    "comment-before": "# old key: {k}\n---\nname: t\nmode: render\nslots: {{s: [x]}}\n---\n{{{{ s }}}}\n",
    "params-user": "---\nname: t\nmode: render\nparams:\n  user: '{k}'\nslots: {{s: [x]}}\n---\n{{{{ s }}}}\n",
    "params-flow": "---\nname: t\nmode: render\nparams:\n  metadata: {{k: \"{k}\"}}\nslots: {{s: [x]}}\n---\nhi\n",
    "yaml-comment": "---\nname: t\nmode: render\nparams:\n  # api_key: {k}\nslots: {{s: [x]}}\n---\nhi\n",
    "slot-value": "---\nname: t\nmode: render\nslots: {{s: ['{k}']}}\n---\n{{{{ s }}}}\n",
    "body": "---\nname: t\nmode: render\nslots: {{s: [x]}}\n---\nsystem:\nKey for demo: {k}\nuser:\n{{{{ s }}}}\n",
    "not-a-template": "just notes, key {k} here\n",
}


@pytest.mark.parametrize("place", sorted(PLACES))
@pytest.mark.parametrize("kind", sorted(KEYS))
def test_a_key_anywhere_in_a_template_is_redacted_before_a_session_stores_it(tmp_path, kind, place):
    key = KEYS[kind]
    text = PLACES[place].format(k=key)
    assert KEY_SHAPE.search(text), "the table's key must have a key's shape"
    redacted = redact_template_text(text)
    assert key not in redacted and "[redacted]" in redacted
    assert redacted.count("\n") == text.count("\n")  # lines kept: errors still name the right line
    with Store(tmp_path).open("s", create=True) as session:
        version = session.save_template_version("t", text)
        assert key not in session.template_text("t", version)
    assert key.encode() not in b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())


@pytest.mark.parametrize("params,stored", [
    ({"user": KEYS["openai"], "temperature": 0.1}, {"user": "[redacted]", "temperature": 0.1}),
    ({"metadata": {"k": KEYS["huggingface"], "team": "research"}}, {"metadata": {"k": "[redacted]", "team": "research"}}),
    ({"stop": ["END", f"x {KEYS['aws']} y"]}, {"stop": ["END", "x [redacted] y"]}),
    ({"extra_body": {"deep": {"deeper": KEYS["bearer"]}}}, {"extra_body": {"deep": {"deeper": "[redacted]"}}}),
    ({"api_key": "anything", "user": "alice"}, {"user": "alice"}),   # secret names dropped, plain values kept
    ({"user": "sk-short", "tag": "task-list", "n": 3}, {"user": "sk-short", "tag": "task-list", "n": 3}),
])
def test_key_shaped_params_under_ordinary_names_are_redacted(params, stored):
    assert scrub_params(params) == stored
    assert new_sample({"params": params}, 0.0)["params"] == stored


@pytest.mark.parametrize("kind", sorted(KEYS))
def test_a_stored_sample_never_holds_a_key_in_its_messages_or_output_but_keeps_the_hash_of_what_was_sent(kind):
    key = KEYS[kind]
    messages = [{"role": "system", "content": f"Key for demo: {key}"}, {"role": "user", "content": "hi"}]
    s = new_sample({"messages": messages, "output": f"echo {key}", "reasoning": key, "slots": {"s": key},
                    "persona": {"text": f"a dev with {key}"}, "inputs": {"q": [key]}}, 0.0)
    assert key not in repr(s) and s["messages"][1] == {"role": "user", "content": "hi"}
    assert s["slots"] == {"s": "[redacted]"} and s["inputs"] == {"q": ["[redacted]"]}
    assert s["prompt_hash"] == record.prompt_hash(messages)  # of the text as sent: caching unchanged
    assert messages[0]["content"].endswith(key)  # the caller's messages are not changed in place


def test_text_without_a_key_is_returned_as_is():
    for text in ("", "task-list hf_short sk-tiny", "AKIA123", "Bearer x", "ghp_short"):
        assert redact_keys(text) is text


def test_export_and_store_share_one_key_pattern():
    from studio.export import scrub

    assert scrub._KEY_SHAPE is KEY_SHAPE
    root = Path(__file__).resolve().parent.parent / "studio"
    defined = [p for p in root.rglob("*.py") if "sk-(?:proj-" in p.read_text()]
    assert defined == [root / "core" / "record.py"]


def test_the_issue_14_template_leaves_no_key_in_the_session_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path))
    monkeypatch.setenv("NO_COLOR", "1")
    ws = Workspace.from_env(tmp_path).ensure()
    keys = ["sk-test-COMMENTKEYXXXXXXXXXXXXXX", "sk-test-USERFIELDXXXXXXXXXXXXXXX", "sk-test-METAXXXXXXXXXXXXXXXXXXX",
            "sk-test-YAMLCOMMENTXXXXXXXXXXXX", "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH", "sk-test-SLOTVALUEXXXXXXXXXXXXXXX"]
    (ws.templates_dir / "kc.prompt").write_text(
        f"# old key: {keys[0]}\n---\nname: kc\nparams:\n  temperature: 0.1\n  user: {keys[1]}\n"
        f"  metadata: {{k: \"{keys[2]}\"}}\n  # api_key: {keys[3]}\nslots: {{a: [x], b: ['{keys[5]}']}}\n---\n"
        f"system:\nKey for demo: {keys[4]}\nuser:\nhi {{{{ a }}}} {{{{ b }}}}\nassistant:\nok\n")
    assert main(["run", "kc", "--model", "render", "-n", "1", "--session", "keys2"]) == 0
    written = b"".join(p.read_bytes() for p in sorted(ws.sessions_dir.rglob("*")) if p.is_file())
    assert b"[redacted]" in written
    assert [k for k in keys if k.encode() in written] == []
    out, err = capsys.readouterr()
    assert [k for k in keys if k in out + err] == []
