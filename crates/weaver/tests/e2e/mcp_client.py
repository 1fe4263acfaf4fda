#!/usr/bin/env python3
"""End-to-end tests of Weaver's MCP server with the official MCP Python SDK (PyPI `mcp`), a
client nobody in this project wrote.

    python mcp_client.py target/debug/weaver [--vault demo-vault]

For each mode, a fresh copy of the demo vault is served and one client session exercises every
tool, failures included, and checks the answers against the files of that copy (read here,
with no help from Weaver):

- stdio:    `weaver --vault COPY --no-cache mcp`, started by the SDK;
- http:     `weaver serve --vault COPY --listen 127.0.0.1:0`, its address read from the JSON log
            line `listening`, the client on `/mcp`;
- upstream: the same server plus `weaver mcp --http --listen 127.0.0.1:0 --upstream URL` (the
            stateless MCP service, which opens no vault and calls the REST API);
- gateway:  both of those behind `weaver gateway` (the api-gateway: its gateway.toml and keys
            file written in a temporary folder, keys made by `weaver gateway keys create`), the
            client on the gateway's `/mcp` with `Authorization: Bearer KEY` of a write key.

Each mode runs twice: with the SDK's `auto` negotiation (`server/discover`, the 2026-07-28
protocol) and `legacy` (the `initialize` handshake). Then, in both negotiations, the gateway's
refusals as the SDK meets them: no key or a wrong key (HTTP 401: connecting fails); a read-only
key (the read tools work, only they are listed, and every write tool call is refused with HTTP
403, whose body is a JSON-RPC error that the SDK raises as `MCPError(-32000, "[forbidden] ...")`
with `data.code` the gateway's stable code; the session goes on); a key for another vault (HTTP
403 on `/mcp/default` and `/mcp`). Every such call is bounded by CALL_TIMEOUT, so a client that hung on
a refusal would fail a check instead of the run.

The last line is `E2E: N passed, M failed`; the exit status is 1 when anything failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import anyio
import httpx2  # the SDK's own HTTP client library (a dependency of `mcp`)
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

READ_TOOLS = {
    "search_notes",
    "find_similar",
    "unlinked_mentions",
    "read_note",
    "list_notes",
    "get_backlinks",
    "get_links",
    "graph_neighbors",
    "find_path",
    "list_tags",
    "vault_stats",
    "find_orphans",
    "find_unresolved_links",
    "recent_changes",
}
WRITE_TOOLS = {"write_note", "edit_note", "move_note", "delete_note"}

# How long any one mode may take, any wait for a process, and one refused call or connection.
MODE_TIMEOUT = 180
START_TIMEOUT = 30
CALL_TIMEOUT = 20

# The gateway's keys: name -> (role, vaults). `weaver serve --vault PATH` names its vault
# `default`, which is also the gateway's `upstreams.default_vault` (what `/mcp` means).
GATEWAY_KEYS = {
    "writer": ("write", "default"),
    "reader": ("read", "default"),
    "stranger": ("write", "elsewhere"),
}

# The marker `read_note` appends to a cut text.
TRUNCATED = "\n\n[… truncated:"


class Checks:
    """Named checks: every one runs, failures are listed at the end."""

    def __init__(self) -> None:
        self.passed = 0
        self.failures: list[str] = []
        self.prefix = ""

    def check(self, name: str, ok: bool, detail: Any = "") -> bool:
        if ok:
            self.passed += 1
        else:
            text = f"{self.prefix}{name}"
            if detail != "":
                text += f": {detail}"
            self.failures.append(text)
            print(f"FAIL {text}", flush=True)
        return ok

    def equal(self, name: str, got: Any, expected: Any) -> bool:
        return self.check(name, got == expected, f"got {got!r}, expected {expected!r}")


# ---------------------------------------------------------------------------------------------
# The vault as files: the ground truth.


def hidden(rel: str) -> bool:
    return any(part.startswith(".") for part in rel.split("/"))


def vault_files(root: Path) -> list[str]:
    """Every file Weaver indexes (dot-folders and dot-files left out), as vault paths."""
    found = []
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not hidden(rel):
            found.append(rel)
    return sorted(found)


def notes_of(root: Path) -> list[str]:
    return [p for p in vault_files(root) if p.endswith(".md")]


def text_of(root: Path, rel: str) -> str:
    return (root / rel).read_bytes().decode("utf-8")


def line_of(root: Path, rel: str, line: int) -> str:
    lines = text_of(root, rel).split("\n")
    return lines[line - 1] if 0 < line <= len(lines) else ""


# `[[target#fragment|display]]`; in a table the pipe is written `\|`.
WIKILINK = re.compile(r"!?\[\[([^\]|#^\\]*)(?:[#^][^\]|\\]*)?(?:\\?\|[^\]]*)?\]\]")
MDLINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def resolve(root: Path, source: str, target: str) -> str | None:
    """Where a link from `source` points, the simple way (enough for the demo vault): a vault
    path with or without `.md`, a path relative to the source, or else a unique file name."""
    files = vault_files(root)
    folder = source.rsplit("/", 1)[0] if "/" in source else ""
    target = urllib.parse.unquote(target).strip()
    if not target or re.match(r"^[a-z]+://", target):
        return None
    candidates = [target, target + ".md"]
    if folder:
        relative = os.path.normpath(f"{folder}/{target}").replace(os.sep, "/")
        candidates += [relative, relative + ".md"]
    for candidate in candidates:
        for f in files:
            if f.lower() == candidate.lower():
                return f
    name = target.rsplit("/", 1)[-1].lower()
    by_name = [f for f in files if f.lower().rsplit("/", 1)[-1] in (name, name + ".md")]
    by_name.sort(key=lambda p: (len(p), p))
    return by_name[0] if by_name else None


def links_of(root: Path, rel: str) -> list[tuple[int, str, str | None]]:
    """(line, target as written, resolved path) for every link of a note, outside code."""
    found = []
    in_fence = False
    for number, line in enumerate(text_of(root, rel).split("\n"), start=1):
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        line = re.sub(r"`[^`]*`", "", line)
        for match in WIKILINK.finditer(line):
            found.append((number, match.group(1), resolve(root, rel, match.group(1))))
        for match in MDLINK.finditer(line):
            if not re.match(r"^[a-z]+:", match.group(1)):
                found.append((number, match.group(1), resolve(root, rel, match.group(1))))
    return found


def graph_of(root: Path) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Links between notes: out-links and in-links by note."""
    out: dict[str, set[str]] = {n: set() for n in notes_of(root)}
    into: dict[str, set[str]] = {n: set() for n in notes_of(root)}
    for note in out:
        for _, _, resolved in links_of(root, note):
            if resolved:
                out[note].add(resolved)
                if resolved in into:
                    into[resolved].add(note)
    return out, into


def rfc3339_ms(ns: int) -> str:
    ms = ns // 1_000_000
    moment = datetime.fromtimestamp(ms // 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


# ---------------------------------------------------------------------------------------------
# One client session.


async def call(client: Client, tool: str, arguments: dict[str, Any]) -> tuple[bool, Any, str]:
    """(failed, structured result, text) of a tool call."""
    result = await client.call_tool(tool, arguments)
    text = "".join(getattr(c, "text", "") for c in result.content)
    return bool(result.is_error), result.structured_content, text


async def expect_ok(checks: Checks, client: Client, tool: str, arguments: dict[str, Any]) -> Any:
    failed, structured, text = await call(client, tool, arguments)
    checks.check(
        f"{tool} {json.dumps(arguments)[:80]} succeeds",
        not failed and structured is not None,
        text[:300],
    )
    return structured or {}


async def expect_error(
    checks: Checks, client: Client, tool: str, arguments: dict[str, Any], code: str
) -> str:
    failed, structured, text = await call(client, tool, arguments)
    checks.check(
        f"{tool} {json.dumps(arguments)[:80]} fails with {code}",
        failed and text.startswith(f"[{code}] ") and structured is None,
        text[:300],
    )
    return text


async def read_whole(client: Client, note: str, max_chars: int | None = None) -> tuple[str, int]:
    """A note's text read page by page through `next_offset`; and the number of pages."""
    text, offset, pages = "", 0, 0
    while True:
        arguments: dict[str, Any] = {"note": note, "offset": offset}
        if max_chars:
            arguments["max_chars"] = max_chars
        _, page, _ = await call(client, "read_note", arguments)
        pages += 1
        content = page["content"]
        if page["truncated"]:
            content = content[: content.index(TRUNCATED)]
        text += content
        if not page["truncated"] or pages > 1000:
            return text, pages
        offset = page["next_offset"]


async def exercise(checks: Checks, client: Client, root: Path) -> None:
    # The session.
    checks.equal("server name", client.server_info.name if client.server_info else None, "weaver")
    checks.check("instructions", "read_note" in (client.instructions or ""), client.instructions)
    checks.check("protocol version", bool(client.protocol_version), client.protocol_version)
    listed = await client.list_tools()
    names = {t.name for t in listed.tools}
    checks.equal("tools/list names", names, READ_TOOLS | WRITE_TOOLS)
    for tool in listed.tools:
        checks.check(
            f"{tool.name} has input and output schemas",
            bool(tool.input_schema) and bool(tool.output_schema),
        )
        checks.check(f"{tool.name} has a description", bool(tool.description))
        hints = tool.annotations
        read_only = bool(hints and hints.read_only_hint)
        checks.equal(f"{tool.name} read-only hint", read_only, tool.name in READ_TOOLS)
    size = len(json.dumps(listed.model_dump(mode="json", by_alias=True, exclude_none=True)))
    print(f"  tools/list: {len(listed.tools)} tools, {size} bytes of JSON", flush=True)

    notes = notes_of(root)
    files = vault_files(root)

    # Whole-vault counts against the files.
    stats = await expect_ok(checks, client, "vault_stats", {})
    checks.equal("stats: notes", stats.get("notes"), len(notes))
    checks.equal("stats: attachments", stats.get("attachments"), len(files) - len(notes))
    task = re.compile(r"^\s*[-*+] \[(.)\] ")
    statuses = [
        m.group(1)
        for n in notes
        for line in text_of(root, n).split("\n")
        if (m := task.match(line))
    ]
    checks.equal("stats: done tasks", stats.get("tasks_done"), sum(s in "xX" for s in statuses))
    checks.equal(
        "stats: all tasks", stats.get("tasks_open", 0) + stats.get("tasks_done", 0), len(statuses)
    )

    # Lists.
    listed_notes = await expect_ok(checks, client, "list_notes", {"limit": 200})
    checks.equal(
        "list_notes: every note by path", [n["path"] for n in listed_notes.get("items", [])], notes
    )
    checks.equal("list_notes: total", listed_notes.get("total"), len(notes))
    concepts = await expect_ok(checks, client, "list_notes", {"folder": "Concepts"})
    checks.equal(
        "list_notes in a folder",
        [n["path"] for n in concepts.get("items", [])],
        [n for n in notes if n.startswith("Concepts/")],
    )
    page = await expect_ok(checks, client, "list_notes", {"limit": 2, "offset": 1})
    checks.equal("list_notes page", [n["path"] for n in page.get("items", [])], notes[1:3])
    checks.equal("list_notes page: next_offset", page.get("next_offset"), 3)

    recent = await expect_ok(checks, client, "recent_changes", {"limit": 200})
    by_time = sorted(notes, key=lambda n: (-(root / n).stat().st_mtime_ns, n))
    checks.equal(
        "recent_changes: newest first", [n["path"] for n in recent.get("items", [])], by_time
    )
    checks.equal(
        "recent_changes: times",
        [n["modified"] for n in recent.get("items", [])],
        [rfc3339_ms((root / n).stat().st_mtime_ns) for n in by_time],
    )

    # Every note read in full, as it is on disk.
    for note in notes:
        read = await expect_ok(checks, client, "read_note", {"note": note})
        text = text_of(root, note)
        checks.equal(f"read_note {note}: content", read.get("content"), text)
        checks.equal(f"read_note {note}: chars", read.get("chars"), len(text))
        checks.equal(f"read_note {note}: path", read.get("path"), note)
        checks.check(
            f"read_note {note}: hash",
            re.fullmatch(r"[0-9a-f]{64}", read.get("hash", "")) is not None,
            read.get("hash"),
        )
        checks.equal(
            f"read_note {note}: modified",
            read.get("modified"),
            rfc3339_ms((root / note).stat().st_mtime_ns),
        )
        links = await expect_ok(checks, client, "get_links", {"note": note, "limit": 100})
        checks.equal(
            f"get_links {note}: total", links.get("total"), read.get("links", {}).get("outgoing")
        )
        expected = links_of(root, note)
        checks.equal(
            f"get_links {note}: lines and resolution",
            sorted((l["line"], l.get("resolved")) for l in links.get("items", [])),
            sorted((line, resolved) for line, _, resolved in expected),
        )
        for link in links.get("items", []):
            if link["kind"] in ("wikilink", "embed"):
                checks.check(
                    f"get_links {note}: `{link['target']}` is on line {link['line']}",
                    f"[[{link['target']}" in line_of(root, note, link["line"]),
                    line_of(root, note, link["line"]),
                )

    # By title and by alias, with a section, an outline, and a cut.
    welcome = text_of(root, "Welcome.md")
    by_alias = await expect_ok(checks, client, "read_note", {"note": "Start here"})
    checks.equal("read_note by alias", by_alias.get("path"), "Welcome.md")
    checks.equal(
        "read_note: aliases from the frontmatter", by_alias.get("aliases"), ["Start here", "Home"]
    )
    checks.equal(
        "read_note: frontmatter title",
        (by_alias.get("frontmatter") or {}).get("title"),
        "Welcome to the demo vault",
    )
    section = await expect_ok(
        checks, client, "read_note", {"note": "Weaver", "section": "features"}
    )
    weaver = text_of(root, "Weaver.md")
    start = weaver.index("## Features")
    checks.equal(
        "read_note section", section.get("content"), weaver[start : weaver.index("## Non-goals")]
    )
    outline = await expect_ok(
        checks, client, "read_note", {"note": "Weaver.md", "outline_only": True}
    )
    headings = [
        (len(m.group(1)), m.group(2)) for m in re.finditer(r"^(#{1,6}) (.+)$", weaver, re.M)
    ]
    checks.equal(
        "read_note outline", [(h["level"], h["text"]) for h in outline.get("outline", [])], headings
    )
    checks.check("read_note outline has no content", outline.get("content") is None)
    cut = await expect_ok(checks, client, "read_note", {"note": "Welcome.md", "max_chars": 100})
    checks.check(
        "read_note max_chars: truncated",
        cut.get("truncated") is True and cut.get("next_offset", 0) > 0,
        cut,
    )
    checks.check(
        "read_note max_chars: a prefix of the file",
        welcome.startswith(cut.get("content", "?").split(TRUNCATED)[0]),
    )
    checks.check(
        "read_note max_chars: the marker says how to go on",
        f"offset={cut.get('next_offset')}" in cut.get("content", ""),
    )
    whole, pages = await read_whole(client, "Welcome.md", max_chars=100)
    checks.equal("read_note pages join up to the file", whole, welcome)
    checks.check("read_note pages", pages >= len(welcome) // 100, pages)
    await expect_error(
        checks, client, "read_note", {"note": "Weaver", "section": "Nowhere"}, "heading_not_found"
    )
    missing = await expect_error(
        checks, client, "read_note", {"note": "Concepts/Zettelkastn"}, "note_not_found"
    )
    checks.check(
        "note_not_found suggests the close match", "Concepts/Zettelkasten.md" in missing, missing
    )

    # Backlinks against the files.
    _, into = graph_of(root)
    for note in ("Weaver.md", "Welcome.md"):
        backlinks = await expect_ok(checks, client, "get_backlinks", {"note": note, "limit": 100})
        checks.equal(f"get_backlinks {note}: note", backlinks.get("note"), note)
        checks.equal(
            f"get_backlinks {note}: sources",
            {b["source"] for b in backlinks.get("items", [])},
            into[note],
        )
        for b in backlinks.get("items", []):
            checks.equal(
                f"get_backlinks {note}: context of {b['source']}:{b['line']}",
                b["context"],
                line_of(root, b["source"], b["line"]).strip(),
            )
    await expect_error(
        checks, client, "get_backlinks", {"note": "Nowhere at all"}, "note_not_found"
    )

    # The graph.
    out, _ = graph_of(root)
    near = await expect_ok(
        checks, client, "graph_neighbors", {"note": "Welcome", "direction": "out"}
    )
    checks.equal(
        "graph_neighbors out",
        {n["path"] for n in near.get("items", [])},
        {p for p in out["Welcome.md"] if p.endswith(".md")},
    )
    checks.check(
        "graph_neighbors: distance 1", all(n["distance"] == 1 for n in near.get("items", []))
    )
    both = await expect_ok(checks, client, "graph_neighbors", {"note": "Welcome", "depth": 2})
    checks.check(
        "graph_neighbors depth 2 reaches further",
        len(both.get("items", [])) >= len(near.get("items", [])),
    )
    path = await expect_ok(checks, client, "find_path", {"from": "Welcome", "to": "Weaver"})
    checks.equal(
        "find_path",
        (path.get("found"), path.get("hops"), [n["path"] for n in path.get("path", [])]),
        (True, 1, ["Welcome.md", "Weaver.md"]),
    )
    await expect_error(
        checks, client, "find_path", {"from": "Welcome", "to": "Nowhere at all"}, "note_not_found"
    )

    orphans = await expect_ok(checks, client, "find_orphans", {})
    expected_orphans = sorted(n for n in notes if not out[n] and not into[n])
    checks.equal(
        "find_orphans", sorted(n["path"] for n in orphans.get("items", [])), expected_orphans
    )
    unresolved = await expect_ok(checks, client, "find_unresolved_links", {})
    expected_unresolved = sorted(
        (n, line, target)
        for n in notes
        for line, target, resolved in links_of(root, n)
        if resolved is None
    )
    checks.equal(
        "find_unresolved_links",
        sorted((u["source"], u["line"], u["target"]) for u in unresolved.get("items", [])),
        expected_unresolved,
    )

    tags = await expect_ok(checks, client, "list_tags", {})
    everything = "\n".join(text_of(root, n) for n in notes).lower()
    for t in tags.get("items", []):
        checks.check(f"list_tags: `{t['name']}` is in the notes", t["name"].lower() in everything)
    counts = [t["notes"] for t in tags.get("items", [])]
    checks.equal("list_tags: most used first", counts, sorted(counts, reverse=True))
    project = await expect_ok(checks, client, "list_tags", {"prefix": "#project"})
    checks.check(
        "list_tags prefix",
        all(t["name"].startswith("project") for t in project.get("items", []))
        and project.get("items"),
        project,
    )

    hits = await expect_ok(checks, client, "search_notes", {"query": "zettelkasten"})
    checks.check(
        "search_notes finds the note",
        "Concepts/Zettelkasten.md" in [h["path"] for h in hits.get("items", [])],
        hits,
    )
    for h in hits.get("items", []):
        checks.check(
            f"search hit {h['path']} mentions the word",
            "zettelkasten" in text_of(root, h["path"]).lower(),
        )
    phrase = await expect_ok(checks, client, "search_notes", {"query": '"knowledge graph"'})
    checks.equal(
        "search_notes phrase",
        sorted(h["path"] for h in phrase.get("items", [])),
        sorted(n for n in notes if "knowledge graph" in text_of(root, n).lower()),
    )
    await expect_error(
        checks, client, "search_notes", {"query": "x", "limit": "ten"}, "invalid_argument"
    )
    # No embedding model here: keyword ranking, and the modes that need one say so.
    checks.equal("search_notes mode", hits.get("mode"), "keyword")
    await expect_error(
        checks, client, "search_notes", {"query": "x", "mode": "semantic"}, "semantic_unavailable"
    )
    mentions = await expect_ok(checks, client, "unlinked_mentions", {"note": "Zettelkasten"})
    checks.equal("unlinked_mentions note", mentions.get("note"), "Concepts/Zettelkasten.md")
    for m in mentions.get("items", []):
        checks.check(
            f"unlinked mention in {m['source']} names the note",
            m["name"].lower() in text_of(root, m["source"]).lower(),
            m,
        )

    # Resources and prompts.
    resources = await client.list_resources()
    checks.equal("resources/list", sorted(r.name for r in resources.resources), notes)
    uri = next(
        (str(r.uri) for r in resources.resources if r.name == "Concepts/Café culture.md"), ""
    )
    read = await client.read_resource(uri)
    checks.equal(
        "resources/read",
        read.contents[0].text if read.contents else None,
        text_of(root, "Concepts/Café culture.md"),
    )
    prompts = await client.list_prompts()
    checks.equal(
        "prompts/list", sorted(p.name for p in prompts.prompts), ["connect_notes", "summarize_note"]
    )
    summary = await client.get_prompt("summarize_note", {"note": "Weaver"})
    prompt_text = summary.messages[0].content.text
    checks.check("summarize_note holds the note", weaver.strip() in prompt_text, prompt_text[:200])

    # Writes, each checked on disk.
    new = "Inbox/E2E note.md"
    body = "# E2E note\n\nWritten by the Python SDK about [[Weaver]].\n\n## Tasks\n- [ ] first\n"
    created = await expect_ok(
        checks, client, "write_note", {"path": new, "content": body, "create_only": True}
    )
    checks.equal(
        "write_note: created",
        (created.get("created"), created.get("size")),
        (True, len(body.encode())),
    )
    checks.equal("write_note: on disk", text_of(root, new), body)
    read = await expect_ok(checks, client, "read_note", {"note": new})
    checks.equal("write_note: hash is read_note's", read.get("hash"), created.get("hash"))
    await expect_error(
        checks,
        client,
        "write_note",
        {"path": new, "content": "again", "create_only": True},
        "note_already_exists",
    )
    checks.equal("note_already_exists: file unchanged", text_of(root, new), body)
    backlinks = await expect_ok(checks, client, "get_backlinks", {"note": "Weaver", "limit": 100})
    checks.check(
        "a new link is a backlink at once", new in {b["source"] for b in backlinks.get("items", [])}
    )

    replaced_body = body.replace("## Tasks", "More text.\n\n## Tasks")
    replaced = await expect_ok(
        checks,
        client,
        "write_note",
        {"path": new, "content": replaced_body, "if_match": created.get("hash")},
    )
    checks.equal("write_note if_match: replaced", replaced.get("created"), False)
    checks.equal("write_note if_match: on disk", text_of(root, new), replaced_body)
    conflict = await expect_error(
        checks,
        client,
        "write_note",
        {"path": new, "content": "lost", "if_match": created.get("hash")},
        "conflict",
    )
    checks.check("conflict names the note", new in conflict, conflict)
    checks.equal("conflict: file unchanged", text_of(root, new), replaced_body)

    edited = await expect_ok(
        checks,
        client,
        "edit_note",
        {
            "path": new,
            "ops": [
                {"op": "append_to_section", "heading": "Tasks", "text": "- [ ] second"},
                {"op": "set_frontmatter", "key": "status", "value": "draft"},
            ],
            "if_match": replaced.get("hash"),
        },
    )
    on_disk = text_of(root, new)
    checks.check("edit_note: section appended", "- [ ] first\n- [ ] second" in on_disk, on_disk)
    checks.check(
        "edit_note: frontmatter set", on_disk.startswith("---\nstatus: draft\n---\n"), on_disk
    )
    checks.equal("edit_note: size", edited.get("size"), len(on_disk.encode()))
    await expect_error(
        checks,
        client,
        "edit_note",
        {"path": new, "ops": [{"op": "append", "text": "x"}], "if_match": replaced.get("hash")},
        "conflict",
    )
    await expect_error(
        checks,
        client,
        "edit_note",
        {
            "path": new,
            "ops": [{"op": "find_replace", "find": "second", "replace": "2", "expected": 3}],
        },
        "match_count_mismatch",
    )
    await expect_error(
        checks,
        client,
        "edit_note",
        {"path": "Inbox/Nowhere.md", "ops": [{"op": "append", "text": "x"}]},
        "note_not_found",
    )
    await expect_error(checks, client, "edit_note", {"path": new, "ops": []}, "invalid_argument")
    checks.equal("failed edits: file unchanged", text_of(root, new), on_disk)

    moved = await expect_ok(
        checks,
        client,
        "move_note",
        {"from": "Projects/Knowledge garden.md", "to": "Garden/Knowledge garden.md"},
    )
    checks.equal(
        "move_note: moved",
        moved.get("moved"),
        [{"from": "Projects/Knowledge garden.md", "to": "Garden/Knowledge garden.md"}],
    )
    checks.check(
        "move_note: on disk",
        (root / "Garden/Knowledge garden.md").exists()
        and not (root / "Projects/Knowledge garden.md").exists(),
    )
    checks.check(
        "move_note: Welcome.md rewritten",
        "Welcome.md" in {r["path"] for r in moved.get("rewritten", [])},
        moved,
    )
    checks.check(
        "move_note: the link on disk",
        "[[Garden/Knowledge garden|the garden project]]" in text_of(root, "Welcome.md"),
    )
    checks.equal(
        "move_note: links_rewritten",
        moved.get("links_rewritten"),
        sum(r["links"] for r in moved.get("rewritten", [])),
    )
    await expect_error(
        checks,
        client,
        "move_note",
        {"from": "Projects/Nowhere.md", "to": "Garden/Nowhere.md"},
        "note_not_found",
    )
    await expect_error(
        checks, client, "move_note", {"from": "Weaver.md", "to": "Welcome.md"}, "destination_exists"
    )
    await expect_error(
        checks,
        client,
        "move_note",
        {"from": new, "to": "Archive/E2E.md", "if_match": created.get("hash")},
        "conflict",
    )

    deleted = await expect_ok(
        checks, client, "delete_note", {"path": new, "if_match": edited.get("hash")}
    )
    checks.equal(
        "delete_note: into the trash", deleted, {"path": new, "trashed_to": ".trash/" + new}
    )
    checks.check(
        "delete_note: on disk",
        not (root / new).exists() and (root / ".trash" / new).read_text() == on_disk,
    )
    await expect_error(checks, client, "delete_note", {"path": new}, "note_not_found")

    # A path out of the vault is refused, and nothing is written outside it.
    outside = root.parent / "escape.md"
    await expect_error(
        checks, client, "write_note", {"path": "../escape.md", "content": "x"}, "path_escapes_vault"
    )
    await expect_error(
        checks,
        client,
        "write_note",
        {"path": "Inbox/../../escape.md", "content": "x"},
        "path_escapes_vault",
    )
    await expect_error(
        checks,
        client,
        "move_note",
        {"from": "Weaver.md", "to": "../escape.md"},
        "path_escapes_vault",
    )
    await expect_error(
        checks, client, "delete_note", {"path": "../Weaver.md"}, "path_escapes_vault"
    )
    checks.check("nothing written outside the vault", not outside.exists())
    await expect_error(
        checks, client, "write_note", {"path": "notes.txt", "content": "x"}, "not_a_note"
    )

    # An oversized result is cut to the output budget and can be read on.
    big_body = "# Big\n\n" + "".join(
        f"Line {i:05d}: the quick brown fox jumps over the lazy dog.\n" for i in range(3000)
    )
    await expect_ok(checks, client, "write_note", {"path": "Big.md", "content": big_body})
    failed, first, text = await call(client, "read_note", {"note": "Big"})
    checks.check(
        "big read: truncated",
        not failed and first["truncated"] and first["next_offset"] > 1000,
        text[:200],
    )
    checks.check(
        "big read: text result within 32 KiB", len(text.encode()) <= 32 * 1024, len(text.encode())
    )
    checks.check(
        "big read: structured result within 32 KiB",
        len(json.dumps(first, ensure_ascii=False).encode()) <= 32 * 1024,
    )
    whole, pages = await read_whole(client, "Big")
    checks.equal("big read: pages join up to the file", whole, big_body)
    checks.check("big read: several pages", pages >= 4, pages)
    small = await expect_ok(checks, client, "read_note", {"note": "Big", "max_chars": 50})
    checks.check(
        "read_note max_chars on a big note",
        small.get("content", "").startswith(big_body[:40]) and small.get("next_offset", 999) <= 50,
        small.get("content"),
    )

    after = await expect_ok(checks, client, "vault_stats", {})
    checks.equal("stats after the writes", after.get("notes"), len(notes_of(root)))


# ---------------------------------------------------------------------------------------------
# Servers.


def clean_env() -> dict[str, str]:
    """This process's environment without Weaver's settings, which would change the servers'."""
    return {k: v for k, v in os.environ.items() if not k.startswith("WEAVER") and k != "RUST_LOG"}


class Process:
    """A child process whose stderr is read line by line in the background."""

    def __init__(self, args: list[str]) -> None:
        self.args = args
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=clean_env(),
            text=True,
        )
        self.lines: list[str] = []
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()

    def wait_line(self, pick: Callable[[str], str | None]) -> str:
        """The first non-None `pick(line)`, waiting at most START_TIMEOUT."""
        deadline = time.monotonic() + START_TIMEOUT
        with self.changed:
            while True:
                for line in self.lines:
                    found = pick(line)
                    if found is not None:
                        return found
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{' '.join(self.args)}: no start-up line; stderr:\n"
                        + "\n".join(self.lines)
                    )
                self.changed.wait(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def listening(line: str) -> str | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    fields = record.get("fields", {}) if isinstance(record, dict) else {}
    return fields.get("addr") if fields.get("message") == "listening" else None


def wait_ready(base: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{base} did not become ready")
        time.sleep(0.1)


@contextmanager
def weaver_serve(weaver: str, vault: Path) -> Iterator[str]:
    """`weaver serve` on a free port; yields its base URL once every vault is ready."""
    server = Process(
        [weaver, "serve", "--vault", str(vault), "--listen", "127.0.0.1:0", "--log-json"]
    )
    try:
        base = "http://" + server.wait_line(listening)
        wait_ready(base)
        yield base
    finally:
        server.stop()


@contextmanager
def weaver_mcp_upstream(weaver: str, base: str) -> Iterator[str]:
    """`weaver mcp --http --upstream BASE` on a free port; yields its MCP URL."""
    prefix = "MCP (Streamable HTTP) on "
    server = Process([weaver, "mcp", "--http", "--listen", "127.0.0.1:0", "--upstream", base])
    try:
        yield server.wait_line(
            lambda line: line[len(prefix) :].strip() if line.startswith(prefix) else None
        )
    finally:
        server.stop()


def create_key(weaver: str, keys_file: Path, name: str, role: str, vaults: str) -> str:
    """`weaver gateway keys create ... --file KEYS_FILE`: the key it prints once on stdout."""
    args = [weaver, "gateway", "keys", "create", "--name", name, "--role", role]
    args += ["--vaults", vaults, "--file", str(keys_file)]
    done = subprocess.run(
        args, capture_output=True, text=True, env=clean_env(), timeout=START_TIMEOUT, check=False
    )
    found = re.search(r"^key: (\S+)$", done.stdout, re.M)
    if done.returncode != 0 or not found:
        raise RuntimeError(f"{' '.join(args)}: exit {done.returncode}\n{done.stderr}")
    return found.group(1)


@dataclass
class Gateway:
    """A running `weaver gateway`: its base URL and a key for every GATEWAY_KEYS name."""

    url: str
    keys: dict[str, str]


@contextmanager
def weaver_gateway(weaver: str, api: str, mcp: str, folder: Path) -> Iterator[Gateway]:
    """`weaver gateway` in front of `api` (weaver serve) and `mcp` (mcp --http), configured by a
    gateway.toml in `folder` whose keys file holds GATEWAY_KEYS; yields it once it is ready."""
    keys_file = folder / "gateway-keys.toml"
    keys = {
        name: create_key(weaver, keys_file, name, role, vaults)
        for name, (role, vaults) in GATEWAY_KEYS.items()
    }
    config = folder / "gateway.toml"
    # `listen` comes from --listen. The rate limits are off: one client calling tools as fast as
    # it can is what this script does (limits are the Rust gateway tests' business). A short
    # drain, so that stopping the gateway never waits long.
    config.write_text(
        "[server]\n"
        "shutdown_timeout_secs = 5\n\n"
        "[upstreams]\n"
        f"api = {json.dumps(api)}\n"
        f"mcp = {json.dumps(mcp)}\n"
        'default_vault = "default"\n\n'
        "[limits]\n"
        "identity_per_second = 0\n"
        "address_per_second = 0\n\n"
        "[auth]\n"
        f"api_keys_file = {json.dumps(str(keys_file))}\n\n"
        "[log]\n"
        'level = "info"\n'
        'format = "json"\n'
    )
    server = Process(
        [weaver, "gateway", "--config", str(config), "--listen", "127.0.0.1:0", "--log-json"]
    )
    try:
        base = "http://" + server.wait_line(listening)
        wait_ready(base)
        yield Gateway(base, keys)
    finally:
        server.stop()


@contextmanager
def gateway_stack(weaver: str, vault: Path) -> Iterator[Gateway]:
    """`weaver serve` on `vault`, `weaver mcp --http --upstream` on it, the gateway in front."""
    with (
        weaver_serve(weaver, vault) as base,
        weaver_mcp_upstream(weaver, base) as mcp_url,
        tempfile.TemporaryDirectory(prefix="weaver-e2e-gateway-") as folder,
        weaver_gateway(weaver, base, mcp_url.removesuffix("/mcp"), Path(folder)) as gateway,
    ):
        yield gateway


@asynccontextmanager
async def gateway_client(
    url: str, key: str | None, mode: str, statuses: list[int] | None = None
) -> AsyncIterator[Client]:
    """The SDK's client on `url` with `Authorization: Bearer KEY` (no header when `key` is None):
    headers go on an HTTP client handed to the SDK's Streamable HTTP transport, as its
    documentation says. The status of every HTTP response is appended to `statuses`."""

    async def record(response: httpx2.Response) -> None:
        if statuses is not None:
            statuses.append(response.status_code)

    headers = {"Authorization": f"Bearer {key}"} if key else {}
    # The SDK's default time-outs (30 s, and 300 s to read a stream).
    timeout = httpx2.Timeout(30.0, read=300.0)
    async with httpx2.AsyncClient(
        headers=headers, timeout=timeout, event_hooks={"response": [record]}
    ) as http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
            yield client


@asynccontextmanager
async def connect(weaver: str, transport: str, vault: Path, mode: str) -> AsyncIterator[Client]:
    if transport == "gateway":
        with gateway_stack(weaver, vault) as gateway:
            async with gateway_client(f"{gateway.url}/mcp", gateway.keys["writer"], mode) as client:
                yield client
        return
    if transport == "stdio":
        params = StdioServerParameters(
            command=weaver, args=["--vault", str(vault), "--no-cache", "mcp"]
        )
        async with Client(params, mode=mode) as client:
            yield client
        return
    with weaver_serve(weaver, vault) as base:
        if transport == "http":
            async with Client(f"{base}/mcp", mode=mode) as client:
                yield client
            return
        with weaver_mcp_upstream(weaver, base) as url:
            async with Client(url, mode=mode) as client:
                yield client


async def run_mode(checks: Checks, weaver: str, demo: Path, transport: str, mode: str) -> None:
    checks.prefix = f"[{transport}/{mode}] "
    before = len(checks.failures)
    with tempfile.TemporaryDirectory(prefix="weaver-e2e-") as tmp:
        vault = Path(tmp) / "vault"
        shutil.copytree(demo, vault, ignore=shutil.ignore_patterns(".weaver", ".trash"))
        print(f"== {transport} ({mode})", flush=True)
        try:
            with anyio.fail_after(MODE_TIMEOUT):
                async with connect(weaver, transport, vault, mode) as client:
                    print(f"  protocol {client.protocol_version}", flush=True)
                    await exercise(checks, client, vault)
        except (
            Exception
        ) as err:  # noqa: BLE001 - any failure of a mode is reported, then the next runs
            detail = "".join(traceback.format_exception(err))
            checks.check("the session runs to the end", False, detail)
    print(f"  {'ok' if len(checks.failures) == before else 'FAILED'}", flush=True)


# ---------------------------------------------------------------------------------------------
# The gateway's refusals, as the SDK meets them.


def innermost(err: BaseException) -> BaseException:
    """The first exception inside the task groups the SDK raises through."""
    while getattr(err, "exceptions", None):
        err = err.exceptions[0]  # type: ignore[attr-defined]
    return err


async def attempt(awaitable: Awaitable[Any]) -> Any:
    """What `awaitable` returns, or the exception it ends with; a wait beyond CALL_TIMEOUT ends
    it with TimeoutError, so a client that hangs on a refusal fails a check, not the run."""
    try:
        with anyio.fail_after(CALL_TIMEOUT):
            return await awaitable
    except Exception as err:  # noqa: BLE001 - the caller checks what it was
        return innermost(err)


async def session_of(url: str, key: str | None, mode: str, statuses: list[int]) -> str | None:
    """Connects and disconnects: the negotiated protocol version."""
    async with gateway_client(url, key, mode, statuses) as client:
        return client.protocol_version


REFUSED = -32000  # the gateway's JSON-RPC error code for every refusal


def is_refusal(outcome: Any, code: str) -> bool:
    """The gateway's refusal as the SDK raises it: its JSON-RPC error, reason included."""
    return (
        isinstance(outcome, MCPError)
        and outcome.error.code == REFUSED
        and outcome.error.message.startswith(f"[{code}] ")
        and (outcome.error.data or {}).get("code") == code
    )


def check_refused_session(
    checks: Checks, name: str, outcome: Any, statuses: list[int], status: int
) -> None:
    code = {401: "unauthorized", 403: "forbidden"}[status]
    checks.check(
        f"{name}: connecting fails with the gateway's reason ({code})",
        is_refusal(outcome, code),
        repr(outcome),
    )
    checks.check(
        f"{name}: every answer is HTTP {status}",
        bool(statuses) and set(statuses) == {status},
        statuses,
    )


async def refusals(checks: Checks, gateway: Gateway, root: Path, mode: str) -> None:
    mcp = f"{gateway.url}/mcp"

    # No credential, or a wrong one: 401 on the first message, so no session.
    for name, key in (("no key", None), ("a wrong key", "wvr_" + "x" * 43)):
        statuses: list[int] = []
        outcome = await attempt(session_of(mcp, key, mode, statuses))
        check_refused_session(checks, name, outcome, statuses, 401)
    request = urllib.request.Request(
        mcp,
        data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).encode(),
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        },
    )
    try:
        urllib.request.urlopen(request, timeout=CALL_TIMEOUT).close()
        checks.check("no key: HTTP 401", False, "the request was answered")
    except urllib.error.HTTPError as err:
        checks.equal("no key: HTTP 401", err.code, 401)
        checks.check(
            "no key: WWW-Authenticate names Bearer",
            (err.headers.get("WWW-Authenticate") or "").startswith("Bearer "),
            err.headers.get("WWW-Authenticate"),
        )
        body = json.loads(err.read())
        checks.equal("no key: JSON-RPC error code", body.get("error", {}).get("code"), REFUSED)
        checks.equal(
            "no key: stable error code",
            body.get("error", {}).get("data", {}).get("code"),
            "unauthorized",
        )

    # A read-only key: reads work, writes are refused with 403 and change nothing.
    before = {rel: text_of(root, rel) for rel in vault_files(root) if rel.endswith(".md")}
    statuses = []
    async with gateway_client(mcp, gateway.keys["reader"], mode, statuses) as client:
        listed = await client.list_tools()
        checks.equal(
            "read-only key: tools/list shows the read tools only",
            {t.name for t in listed.tools},
            READ_TOOLS,
        )
        stats = await expect_ok(checks, client, "vault_stats", {})
        checks.equal("read-only key: vault_stats", stats.get("notes"), len(notes_of(root)))
        read = await expect_ok(checks, client, "read_note", {"note": "Welcome.md"})
        checks.equal("read-only key: read_note", read.get("content"), before["Welcome.md"])
        hits = await expect_ok(checks, client, "search_notes", {"query": "zettelkasten"})
        checks.check("read-only key: search_notes finds notes", bool(hits.get("items")), hits)
        for tool, arguments in (
            ("write_note", {"path": "Inbox/Refused.md", "content": "# Refused\n"}),
            ("edit_note", {"path": "Welcome.md", "ops": [{"op": "append", "text": "x"}]}),
            ("move_note", {"from": "Weaver.md", "to": "Archive/Weaver.md"}),
            ("delete_note", {"path": "Welcome.md"}),
        ):
            seen = len(statuses)
            outcome = await attempt(client.call_tool(tool, arguments))
            checks.check(
                f"read-only key: {tool} is refused with the gateway's reason",
                is_refusal(outcome, "forbidden") and "needs `write`" in outcome.error.message,
                repr(outcome),
            )
            checks.equal(f"read-only key: {tool} is HTTP 403", statuses[seen:], [403])
            if tool == "write_note" and isinstance(outcome, MCPError):
                print(
                    f"  a refused write: HTTP {statuses[seen:]} -> {type(outcome).__name__}"
                    f"({outcome.error.code}, {outcome.error.message!r})",
                    flush=True,
                )
        after = {rel: text_of(root, rel) for rel in vault_files(root) if rel.endswith(".md")}
        checks.check("read-only key: the refused writes changed nothing", after == before)
        again = await expect_ok(checks, client, "vault_stats", {})
        checks.equal("read-only key: the session goes on", again.get("notes"), len(before))

    # A key for another vault: 403 on this vault, named or implied by `/mcp`.
    for path in ("/mcp/default", "/mcp"):
        statuses = []
        stranger = gateway.keys["stranger"]
        outcome = await attempt(session_of(gateway.url + path, stranger, mode, statuses))
        check_refused_session(checks, f"another vault's key on {path}", outcome, statuses, 403)
    statuses = []
    outcome = await attempt(session_of(f"{mcp}/default", gateway.keys["writer"], mode, statuses))
    checks.check(
        "this vault's key on /mcp/default connects", isinstance(outcome, str), repr(outcome)
    )


async def run_refusals(checks: Checks, weaver: str, demo: Path, mode: str) -> None:
    checks.prefix = f"[gateway refusals/{mode}] "
    before = len(checks.failures)
    with tempfile.TemporaryDirectory(prefix="weaver-e2e-") as tmp:
        vault = Path(tmp) / "vault"
        shutil.copytree(demo, vault, ignore=shutil.ignore_patterns(".weaver", ".trash"))
        print(f"== gateway refusals ({mode})", flush=True)
        try:
            with anyio.fail_after(MODE_TIMEOUT), gateway_stack(weaver, vault) as gateway:
                await refusals(checks, gateway, vault, mode)
        except (
            Exception
        ) as err:  # noqa: BLE001 - any failure of a mode is reported, then the next runs
            detail = "".join(traceback.format_exception(err))
            checks.check("the checks run to the end", False, detail)
    print(f"  {'ok' if len(checks.failures) == before else 'FAILED'}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("weaver", help="the built weaver binary, e.g. target/debug/weaver")
    parser.add_argument(
        "--vault",
        default=str(Path(__file__).resolve().parents[4] / "demo-vault"),
        help="the vault to copy (default: the repository's demo-vault)",
    )
    args = parser.parse_args()
    weaver = str(Path(args.weaver).resolve())
    demo = Path(args.vault).resolve()
    if not os.access(weaver, os.X_OK) or not (demo / "Welcome.md").exists():
        print(
            f"error: need an executable weaver (`{weaver}`) and the demo vault (`{demo}`)",
            file=sys.stderr,
        )
        return 2
    checks = Checks()

    async def everything() -> None:
        for transport in ("stdio", "http", "upstream", "gateway"):
            for mode in ("auto", "legacy"):
                await run_mode(checks, weaver, demo, transport, mode)
        for mode in ("auto", "legacy"):
            await run_refusals(checks, weaver, demo, mode)

    anyio.run(everything)
    print(f"E2E: {checks.passed} passed, {len(checks.failures)} failed")
    return 1 if checks.failures else 0


if __name__ == "__main__":
    sys.exit(main())
