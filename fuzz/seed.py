#!/usr/bin/env python3
"""Writes the starting corpus of each fuzz target from demo-vault/ and fuzz/seeds/.

Inputs are `[n][n choice bytes][note]` (see src/lib.rs); the choice bytes here are
deterministic pseudo-random. The committed corpus is this, grown by fuzzing and minimised
with `cargo fuzz cmin`; run this only to start over.
"""
import pathlib
import random
import re

here = pathlib.Path(__file__).resolve().parent
notes = sorted((here.parent / "demo-vault").rglob("*.md")) + sorted((here / "seeds").glob("*.md"))
texts = [p.read_bytes() for p in notes]
rng = random.Random(10)


def write(target, name, data):
    out = here / "corpus" / target
    out.mkdir(parents=True, exist_ok=True)
    (out / name).write_bytes(data)


def prefixed(choices, body):
    return bytes([len(choices)]) + choices + body


for i, text in enumerate(texts):
    write("parse_note", f"seed-{i}", text)
    for j in range(4):
        choices = bytes(rng.randrange(256) for _ in range(rng.randrange(8, 64)))
        write("edit", f"seed-{i}-{j}", prefixed(choices, text))
    m = re.match(rb"\xef\xbb\xbf?---\r?\n(.*?)\r?\n(---|\.\.\.)\r?\n", text, re.S)
    if m:
        for j in range(2):
            choices = bytes(rng.randrange(256) for _ in range(rng.randrange(4, 40)))
            write("frontmatter", f"seed-{i}-{j}", prefixed(choices, m.group(1) + b"\n"))
    choices = bytes(rng.randrange(256) for _ in range(255))
    write("rewrite_round_trip", f"seed-{i}", prefixed(choices, text))

for j in range(16):
    choices = bytes(rng.randrange(256) for _ in range(255))
    write("rewrite_round_trip", f"gen-{j}", prefixed(choices, b""))

yaml = [
    b"title: x\ntags: [a, b]\n",
    b"a: 1\nb:\n  - x\n  - y\nc: {k: v}\n",
    b"# comment\nkey: value # trailing\n\nother: 'q''uote'\n",
    b"\"quoted: key\": 1\n? complex\n: value\n",
    b"anchor: &a [1, 2]\nalias: *a\n",
    b"multi: |\n  one\n  two\nfolded: >-\n  x\n",
    b"dup: 1\ndup: 2\n",
    b"- not\n- a map\n",
    b"date: 2024-01-01\nnum: 0x1F\nbool: yes\nnull: ~\n",
    b"tags: \n  - a\n  -  b\naliases: x\n",
    b"k: v\n\n\n",
    b"",
    b"\t tab: 1\n",
]
for i, y in enumerate(yaml):
    for j in range(3):
        choices = bytes(rng.randrange(256) for _ in range(rng.randrange(4, 40)))
        write("frontmatter", f"yaml-{i}-{j}", prefixed(choices, y))

queries = [
    "knowledge graph", "\"exact phrase\" -excluded", "pre* fix*", "-\"neg phrase\" word",
    "café 東京", "\"unbalanced", "***", "- - -", "a* " * 40, "alpha -\"alpha gamma\"",
    "foo-bar baz_qux", "ÆØÅ ß ﬁ", "\"\"", "-", "weav* -notes", "Résumé naïve",
]
for i, q in enumerate(queries):
    write("search_query", f"q-{i}", prefixed(b"", q.encode()))
    choices = bytes(rng.randrange(256) for _ in range(rng.randrange(4, 60)))
    write("search_query", f"qf-{i}", prefixed(choices, q.encode()))
