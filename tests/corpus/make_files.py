"""Writes the awkward-files corpus (tests/corpus/files/) byte for byte: `python tests/corpus/make_files.py`.

Each file is one thing people really hand the studio: a spreadsheet's "CSV UTF-8" (with its byte-order mark
and CRLF line ends), cells and JSON strings holding line breaks or Unicode separators, hashtags, trailing
spaces, Latin-1 bytes, empty files, and rows whose fields are named like methods of a Python dict. The
files are committed; this script documents how they were made and re-makes them.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent / "files"
TEMPLATES = Path(__file__).resolve().parent / "templates"
BOM = "\ufeff"
# Characters str.splitlines() splits at that are not line ends in a CSV, JSONL or text file.
SEPARATORS = {"LS": "\u2028", "PS": "\u2029", "FF": "\x0c", "VT": "\x0b", "FS": "\x1c", "GS": "\x1d", "RS": "\x1e",
              "NEL": "\x85"}


def jsonl(rows: list[dict]) -> str:
    # ensure_ascii=False keeps the separators raw in the file, as many tools write them
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def feedback_rows(comments: list[str]) -> list[dict]:
    return [{"prompt": f"question {i}", "response": f"answer {i}", "comment": c} for i, c in enumerate(comments)]


SURROGATE = ["good one", "bad \ud83d surrogate", "good two"]

FILES: dict[str, bytes] = {
    # byte-order marks, in every format
    "bom.txt": (BOM + "alpha\nbeta\n").encode(),
    "bom.csv": (BOM + "prompt,response,comment\r\nq1,a1,too wordy\r\nq2,a2,wrong date\r\n").encode(),
    "bom.jsonl": (BOM + jsonl(feedback_rows(["too wordy", "wrong date"]))).encode(),
    "bom.json": (BOM + json.dumps(feedback_rows(["too wordy", "wrong date"]))).encode(),
    # a spreadsheet's "CSV UTF-8": BOM, CRLF rows, a quoted cell with line breaks, commas and quotes
    "spreadsheet.csv": (BOM + 'prompt,response,comment\r\n'
                        'q1,a1,"My router drops Wi-Fi.\nI restarted it twice."\r\n'
                        'q2,a2,"She said ""fine, whatever"", then left"\r\n'
                        'q3,a3,"two\r\nlines"\r\n').encode(),
    "crlf.txt": b"alpha\r\nbeta\r\n\r\ngamma\r\n",
    "crlf.jsonl": jsonl(feedback_rows(["one", "two"])).replace("\n", "\r\n").encode(),
    # separators inside values: read whole, never split
    "separators.jsonl": jsonl(feedback_rows([f"before{c}after ({n})" for n, c in SEPARATORS.items()])).encode(),
    "separators.csv": ("prompt,response,comment\n" + "".join(
        f'q,a,"before{c}after ({n})"\n' if n in ("FF", "VT") else f"q,a,before{c}after ({n})\n"
        for n, c in SEPARATORS.items())).encode(),
    "separators.txt": "".join(f"before{c}after ({n})\n" for n, c in SEPARATORS.items()).encode(),
    # `#`: comment lines in .txt, and values that start with `#` (written with a backslash)
    "hashtags.txt": b"# a comment line\n\\#hashtag\n\\#include <stdio.h>\n  # an indented comment\n"
                    b"C# is a language\n\\\\#starts with a backslash\n",
    "hashtags.csv": b"prompt,response,comment\nq,a,#hashtag\nq,a,# not a comment in a CSV\n",
    "hashtags.jsonl": jsonl(feedback_rows(["#hashtag", "# not a comment in JSONL"])).encode(),
    # trailing spaces: kept in CSV and JSONL cells, removed around .txt lines (documented)
    "trailing-spaces.txt": b"alpha  \n\tbeta\t\n",
    "trailing-spaces.csv": b"prompt,response,comment\nq,a,alpha  \nq,a,\"  beta\"\n",
    "trailing-spaces.jsonl": jsonl(feedback_rows(["alpha  ", "  beta"])).encode(),
    # not UTF-8: refused with the file and line
    "latin1.txt": b"caf\xc3\xa9\nna\xefve\n",
    "latin1.csv": b"prompt,response,comment\nq,a,ok\nq,a,d\xe9j\xe0 vu\n",
    "latin1.jsonl": b'{"prompt": "q", "response": "a", "comment": "ok"}\n{"prompt": "q", "response": "a", "comment": "d\xe9j\xe0"}\n',
    # empty files
    "empty.txt": b"",
    "empty.csv": b"",
    "empty.jsonl": b"",
    "header-only.csv": b"prompt,response,comment\r\n",
    "only-comments.txt": b"# nothing here\n\n",
    # rows whose fields are named like dict methods: `{{ row.values }}` is the field
    "method-names.jsonl": jsonl([{"prompt": "q", "response": "a", "comment": "c0", "values": "V0", "items": "I0",
                                  "keys": "K0", "get": "G0", "count": "C0", "index": "X0", "copy": "P0",
                                  "pop": "O0", "update": "U0", "text": "T0"}]).encode(),
    "method-names.csv": b"prompt,response,comment,values,items,keys,get,count,index,copy,pop,update,text\n"
                        b"q,a,c0,V0,I0,K0,G0,C0,X0,P0,O0,U0,T0\n",
    # a lone surrogate: valid JSON (`"\\ud83d"`), but not text UTF-8 can store; refused at its line (a slot),
    # reported and skipped (feedback). The same in a CSV is the surrogate's bytes: not UTF-8 at all.
    "surrogate.jsonl": "".join(json.dumps(r) + "\n" for r in feedback_rows(SURROGATE)).encode(),
    "surrogate.json": ("[\n" + ",\n".join(json.dumps(r) for r in feedback_rows(SURROGATE)) + "\n]\n").encode(),
    "surrogate.csv": b"prompt,response,comment\nq,a,good one\nq,a,bad \xed\xa0\xbd surrogate\nq,a,good two\n",
    # UTF-16 with its byte-order mark (Excel's "Unicode text"): read as text
    "utf16.txt": "alpha\r\nbeta\r\n".encode("utf-16"),
}


def _bomb() -> str:
    lines = ["a0: &a0 [lol]"] + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    return "---\nname: alias-bomb\n" + "\n".join(lines) + "\nslots:\n  s: *a8\n---\n{{ s }}\n"


# Template files people write (each `studio render`s to the text after `->`, or fails on the line named in
# tests/corpus/test_readers.py). All render mode, so no model is needed.
_HEAD = "---\nname: {name}\nmode: render\nslots:\n  s: [one]\n---\n"
TEMPLATE_FILES: dict[str, bytes] = {
    "bom.prompt": (BOM + _HEAD.format(name="bom") + "user:\nSay {{ s }}.\n").encode(),
    "crlf.prompt": (_HEAD.format(name="crlf") + "system:\nBe brief.\nuser:\nSay {{ s }}.\n").replace(
        "\n", "\r\n").encode(),
    "bom-crlf.prompt": (BOM + _HEAD.format(name="bom-crlf") + "user:\nSay {{ s }}.\n").replace("\n", "\r\n").encode(),
    "duplicate-slot.prompt": b"---\nname: duplicate-slot\nmode: render\nslots:\n  s: [one]\n  t: [x]\n  s: [two]\n"
                             b"---\n{{ s }} {{ t }}\n",
    "duplicate-name.prompt": b"---\nname: a\nmode: render\nname: b\nslots:\n  s: [one]\n---\n{{ s }}\n",
    "alias-bomb.prompt": _bomb().encode(),
    "wrong-type-inputs.prompt": b"---\nname: wrong-type-inputs\nmode: render\ninputs: 5\n---\nhi\n",
    "wrong-type-slots.prompt": b"---\nname: wrong-type-slots\nmode: render\nslots: [a, b]\n---\nhi\n",
    "wrong-type-file.prompt": b"---\nname: wrong-type-file\nmode: render\nslots:\n  s: {file: [a.txt]}\n---\n{{ s }}\n",
    "wrong-type-weights.prompt": b"---\nname: wrong-type-weights\nmode: render\nslots:\n  s:\n    values: [a, b]\n"
                                 b"    weights: [1, heavy]\n---\n{{ s }}\n",
    "latin1.prompt": b"---\nname: latin1\nmode: render\nslots:\n  s: [caf\xe9]\n---\n{{ s }}\n",
    "include.prompt": (_HEAD.format(name="include") + "user:\n{{ s }}\n{% include 'bom.prompt' %}\n").encode(),
    "extends.prompt": (_HEAD.format(name="extends") + "{% extends 'bom.prompt' %}\n").encode(),
    "runtime-error.prompt": (_HEAD.format(name="runtime-error") + "user:\nfirst {{ s }}\nsecond {{ s | int + 'x' }}\n"
                             ).encode(),
    "missing-field.prompt": b"---\nname: missing-field\nmode: render\nslots:\n  r: {file: ../files/method-names.jsonl}\n"
                            b"---\n{{ r }} {{ r.values }} {{ r.nope }}\n",
    "method-fields.prompt": b"---\nname: method-fields\nmode: render\nslots:\n  r: {file: ../files/method-names.csv,"
                            b" field: comment}\n---\n{{ r }} {{ r.values }} {{ r.items }} {{ r.keys }} {{ r.get }}\n",
    "literal-key.prompt": (_HEAD.format(name="literal-key").replace("slots:", "params:\n  api_key: sk-live-0123456789abcdef"
                                                                     "\nslots:") + "{{ s }}\n").encode(),
    "empty.prompt": b"",
    "surrogate.prompt": b'---\nname: surrogate\nmode: render\nslots:\n  s: ["bad \\ud83d"]\n---\n{{ s }}\n',
}


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    for name, data in FILES.items():
        (HERE / name).write_bytes(data)
    TEMPLATES.mkdir(parents=True, exist_ok=True)
    for name, data in TEMPLATE_FILES.items():
        (TEMPLATES / name).write_bytes(data)
    print(f"{len(FILES)} files in {HERE}, {len(TEMPLATE_FILES)} in {TEMPLATES}")


if __name__ == "__main__":
    main()
