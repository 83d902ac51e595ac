"""Generate awkward agent files (fixed seed) for benchmarks/contract_corpus.py.

Usage: python benchmarks/synthetic_agents.py OUT_DIR [--count N] [--seed S]

Writes a hand-picked set of edge cases for the loader rules (fences, BOM and line
endings, YAML 1.2 typing, the quoting fallback, block scalars, tabs, comments, names,
hooks shapes, tools splitting, anchors and merges, duplicate keys) and then N random
mixes of them. Every file gets a name of its own where the case allows it, so that
the files can share one project. Not a test.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterator
from pathlib import Path

# (value text as written after `key: `) — awkward scalars of every kind.
SCALARS = (
    "plain words",
    "Use when: the build breaks",
    "x: y: z",
    "'single: quoted'",
    '"double \\"escaped\\" text"',
    "'it''s'",
    '"tab\\there"',
    '"line\\nbreak"',
    "'literal\\nbackslash-n'",
    "with \\n escape",
    "[Draft] title",
    "[a, b]",
    "[a, [b]",
    "{k: v}",
    "{broken",
    "*star start",
    "&anchor-like text",
    "!bang start",
    "%percent",
    "@at start",
    "`tick` start",
    "> quoted line",
    "| pipe line",
    "- dash start",
    "-dash-nospace",
    "? question",
    "a # comment",
    "a#nocomment",
    "# only comment",
    "trailing colon:",
    "yes",
    "No",
    "on",
    "~",
    "null",
    "Null",
    "true",
    "FALSE",
    "123",
    "-0",
    "+12",
    "0x1F",
    "-0x10",
    "0o17",
    "0b101",
    "1_000",
    "1e3",
    "1.5e-3",
    ".inf",
    "-.Inf",
    ".nan",
    "2024-01-01",
    "2024-01-01T10:00:00Z",
    "12:30:00",
    "1:20",
    "''",
    '""',
    "' '",
    "'   padded   '",
    '"\\u00e9t\\u00e9"',
    '"\\x41"',
    "ünïcödé ✓ 漢字",
    "emoji 😀 inside",
    "a\tb tab inside",
    "ends with space ",
    "before --- after",
    "'quoted' then more",
    '"dq" then more',
    "<example>tag</example>",
    "%{not: flow}",
    "a: b, c: d",
    "!!str 42",
    "!!int 42",
    "!custom thing",
    "!!binary aGVsbG8=",
    "&a anchored",
    "*undefined_alias",
    'Use this agent for X. Examples:\\n\\n<example>\\nContext: y\\nuser: "do it"\\n'
    'assistant: "I\'ll call the helper"\\n</example>',
    "Use PROACTIVELY for: builds, tests, and deploys",
    'Knows "quotes": well',
    "Ends with a backslash \\",
    "line one\nuser: continued dialogue\nassistant: more",
    "text\n\nsecond paragraph",
    "x\n  indented continuation: here",
)

TOOLS = (
    "Read",
    "Read, Grep",
    "Read,Grep,Glob",
    "Read Grep",
    "Read  ,  Grep ,",
    "Bash(git:*)",
    "Bash(git diff, git log), Read",
    "Bash(git *) Read",
    "Bash(unbalanced, Read",
    "Read) Grep",
    "Bash(a(b), c), Read",
    "*",
    "Read, *",
    "Read,*",
    "**",
    "'*'",
    '["*"]',
    "[Read, '*']",
    "[]",
    "[Read, Grep]",
    "[Read, 42, true, null]",
    "[Read, [Grep]]",
    "[{a: b}, Read]",
    "['Read, Grep', Glob]",
    "''",
    "~",
    "0",
    "1",
    "false",
    "true",
    "{Read: 1}",
    "Read;Grep",
    "Read|Grep",
    "Read\tGrep",
    "Read,\u00a0Grep",
    "Read\u00a0Grep",
    "Read\u3000Grep",
    "Read，Grep",
    "read, grep",
    "MultiEdit, LS, NotebookRead, Task",
    "mcp__github__create_issue, mcp__x",
    "Read # trailing comment",
    "Read, Grep # Use when: x",
    "All tools",
)

KEYS = (
    "model",
    "color",
    "memory",
    "permissionMode",
    "effort",
    "maxTurns",
    "background",
    "isolation",
    "skills",
    "initialPrompt",
    "x-custom",
    "key2",
    "Name",
    "Tools",
    "allowed-tools",
    "disallowedTools",
    "type",
    "hooks",
    "mcpServers",
    "memory",
)

NAMES = (
    "plain",
    "Mixed-Case",
    "with space",
    "under_score",
    "dot.name",
    "ünïcödé",
    "漢字",
    "emoji😀",
    "tab\there",
    "trailing-space ",
    " leading-space",
    "a/b",
    "a\\b",
    "semi;colon",
    "hash#tag",
    "quote'q",
    "percent%",
    "at@",
    "fullwidth：colon",
    "small﹕colon",
    "ratio∶colon",
    "zero\u200bwidth",
    "rtl\u202eflip",
    "nfkc-ﬁ",
)


def _fm(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def _file(frontmatter: str, body: str = "You are a test agent.\n") -> str:
    return f"---\n{frontmatter}---\n\n{body}"


def handpicked() -> Iterator[tuple[str, bytes]]:
    """Deterministic edge cases, one rule each (the name says which)."""
    n = 0

    def nm(tag: str) -> str:
        nonlocal n
        n += 1
        return f"h{n:03d}-{tag}"

    def text(tag: str, frontmatter: str, body: str = "Body.\n") -> tuple[str, bytes]:
        name = nm(tag)
        return name, _file(frontmatter.replace("NAME", name), body).encode()

    # fences
    name = nm("bom")
    yield name, b"\xef\xbb\xbf" + _file(f"name: {name}\ndescription: d\n").encode()
    name = nm("double-bom")
    yield name, b"\xef\xbb\xbf\xef\xbb\xbf" + _file(f"name: {name}\ndescription: d\n").encode()
    name = nm("crlf")
    yield name, _file(f"name: {name}\ndescription: d\ntools: Read\n").replace("\n", "\r\n").encode()
    name = nm("cr-only")
    yield name, _file(f"name: {name}\ndescription: d\n").replace("\n", "\r").encode()
    name = nm("mixed-eol")
    yield name, f"---\r\nname: {name}\ndescription: d\r\n---\nbody".encode()
    name = nm("crlf-fallback")
    yield name, _file(f"name: {name}\ndescription: Use when: x\n").replace("\n", "\r\n").encode()
    name = nm("crlf-block")
    yield (
        name,
        _file(f"name: {name}\ndescription: |\n  two\n  lines\n").replace("\n", "\r\n").encode(),
    )
    name = nm("crlf-quoted-multiline")
    yield (
        name,
        _file(f'name: {name}\ndescription: "one\n  two"\n').replace("\n", "\r\n").encode(),
    )
    name = nm("blank-first")
    yield name, ("\n" + _file(f"name: {name}\ndescription: d\n")).encode()
    name = nm("space-first")
    yield name, (" " + _file(f"name: {name}\ndescription: d\n")).encode()
    name = nm("tab-after-fence")
    yield name, f"---\t\nname: {name}\ndescription: d\n---\nbody".encode()
    name = nm("fence-word")
    yield name, f"--- yaml\nname: {name}\ndescription: d\n---\nbody".encode()
    name = nm("blank-lines-after-fence")
    yield name, f"---\n\n\nname: {name}\ndescription: d\n---\nbody".encode()
    name = nm("four-dash-close")
    yield name, f"---\nname: {name}\ndescription: d\n----\nbody".encode()
    name = nm("four-dash-open")
    yield name, f"----\nname: {name}\ndescription: d\n---\nbody".encode()
    name = nm("dots-close")
    yield name, f"---\nname: {name}\ndescription: d\n...\nbody".encode()
    name = nm("no-close")
    yield name, f"---\nname: {name}\ndescription: d\n".encode()
    name = nm("close-no-newline")
    yield name, f"---\nname: {name}\ndescription: d\n---".encode()
    name = nm("close-mid-line")
    yield name, f"---\nname: {name}\ndescription: d\n---body on fence line\n".encode()
    name = nm("close-trailing-space")
    yield name, f"---\nname: {name}\ndescription: d\n---   \nbody".encode()
    name = nm("dash-in-value")
    yield name, f"---\nname: {name}\ndescription: a---b\ntools: Read\n---\nbody".encode()
    name = nm("dash-in-name")
    yield name, f"---\nname: {name}---x\ndescription: d\n---\nbody".encode()
    name = nm("dash-in-quoted")
    yield name, f"---\nname: {name}\ndescription: 'x --- y'\n---\nbody".encode()
    yield text("dash-in-comment", "name: NAME\n# --- note\ndescription: d\n")
    yield text("doc-end-marker", "name: NAME\ndescription: d\n...\ntools: Read\n")
    yield text("directive", "%YAML 1.2\nname: NAME\ndescription: d\n")
    name = nm("empty-frontmatter")
    yield name, b"---\n---\nbody"
    name = nm("invalid-utf8")
    yield name, f"---\nname: {name}\ndescription: caf".encode() + b"\xe9\xff\n---\nbody"
    name = nm("invalid-utf8-name")
    yield name, f"---\nname: {name}".encode() + b"\xc3\n" + b"description: d\n---\nbody"
    name = nm("nul-byte")
    yield name, f"---\nname: {name}\ndescription: a\x00b\n---\nbody".encode()
    name = nm("big-body")
    yield name, _file(f"name: {name}\ndescription: d\n", "x" * 1_048_400).encode()
    name = nm("too-big")
    yield name, _file(f"name: {name}\ndescription: d\n", "x" * 1_048_600).encode()

    # typing and keys
    yield text("flow-map", "{name: NAME, description: 'flow: map', tools: [Read]}\n")
    yield text("flow-map-multiline", "{name: NAME,\n description: d,\n tools: Read}\n")
    yield text("list-doc", "- name: NAME\n- description: d\n")
    yield text("scalar-doc", "just a scalar\n")
    yield text("space-before-colon", "name : NAME\ndescription : d\n")
    yield text("quoted-keys", "'name': NAME\n\"description\": d\n")
    yield text("explicit-key", "? name\n: NAME\ndescription: d\n")
    yield text("dup-name", "name: first-NAME\ndescription: d\nname: NAME\n")
    yield text("dup-desc", "name: NAME\ndescription: one\ndescription: two\n")
    yield text("dup-tools", "name: NAME\ndescription: d\ntools: Read\ntools: Grep\n")
    yield text("anchor-alias", "name: &n NAME\ndescription: *n\n")
    yield text("merge", "base: &b {description: merged, tools: Read}\nname: NAME\n<<: *b\n")
    yield text(
        "merge-list",
        "a: &a {description: first}\nb: &b {description: second, tools: Grep}\n"
        "name: NAME\n<<: [*a, *b]\n",
    )
    yield text(
        "merge-override", "base: &b {description: base}\n<<: *b\nname: NAME\ndescription: own\n"
    )
    yield text("anchor-redefined", "x: &a one\ny: &a two\nname: NAME\ndescription: *a\n")
    yield text("undefined-alias", "name: NAME\ndescription: *nope\n")
    yield text("tagged-str", "name: NAME\ndescription: !!str 123\n")
    yield text("tagged-int", "name: NAME\ndescription: !!int '7'\n")
    yield text("tagged-custom", "name: !thing NAME\ndescription: !other d\n")
    yield text("tagged-python", "name: NAME\ndescription: !!python/name:os.system d\n")
    yield text("tagged-set", "name: NAME\ndescription: d\ntools: !!set {Read: null, Grep: null}\n")
    yield text("tagged-omap", "name: NAME\ndescription: d\ntools: !!omap [{Read: 1}]\n")
    yield text("bool-key", "true: x\nname: NAME\ndescription: d\n")
    yield text("null-key", "~: x\nname: NAME\ndescription: d\n")
    yield text("int-key", "1: x\nname: NAME\ndescription: d\n")
    yield text("list-key", "[a, b]: x\nname: NAME\ndescription: d\n")
    yield text(
        "case-keys", "Name: other\nNAME_KEY: y\nname: NAME\nDescription: no\ndescription: d\n"
    )
    yield text("name-number", "name: 12345\ndescription: d\n")
    yield text("name-bool", "name: true\ndescription: d\n")
    yield text("name-list", "name: [NAME]\ndescription: d\n")
    yield text("name-map", "name: {a: NAME}\ndescription: d\n")
    yield text("desc-number", "name: NAME\ndescription: 42\n")
    yield text("desc-list", "name: NAME\ndescription: [a, b]\n")
    yield text("desc-null", "name: NAME\ndescription:\n")
    yield text("desc-empty", "name: NAME\ndescription: ''\n")
    yield text("desc-space", "name: NAME\ndescription: ' '\n")
    yield text("desc-tab-only", 'name: NAME\ndescription: "\\t"\n')
    yield text("desc-newline-only", 'name: NAME\ndescription: "\\n"\n')
    yield text("desc-literal-bs-n", "name: NAME\ndescription: 'a\\nb\\\\nc'\n")
    yield text("desc-dq-bs-bs-n", 'name: NAME\ndescription: "a\\\\nb"\n')
    yield text("desc-bs-r", 'name: NAME\ndescription: "a\\rb"\n')
    yield text("desc-bs-t-literal", "name: NAME\ndescription: a\\tb\n")
    yield text("desc-unicode-escape", 'name: NAME\ndescription: "\\U0001F600 \\u2028 x"\n')
    yield text("desc-ls", "name: NAME\ndescription: a\u2028b\n")
    yield text("desc-ps-fallback", "name: NAME\ndescription: Use when: a\u2029b\n")
    yield text("desc-nel", "name: NAME\ndescription: a\u0085b\n")
    yield text("desc-long", "name: NAME\ndescription: " + "long words " * 5000 + "\n")
    yield text("yaml11-yes", "name: NAME\ndescription: yes\nbackground: yes\n")
    yield text("yaml11-sexagesimal", "name: NAME\ndescription: 1:30\nmaxTurns: 1:30\n")
    yield text("octal-legacy", "name: NAME\ndescription: 0777\n")
    yield text("hex-big", "name: NAME\ndescription: 0x1FFFFFFFFFFFFFFFFF\n")
    yield text("int-huge", "name: NAME\ndescription: 123456789012345678901234567890\n")
    yield text("float-forms", "name: NAME\ndescription: 1.\ntools: .5\n")
    yield text("nan-desc", "name: NAME\ndescription: .NaN\n")

    # block scalars, folding, tabs, comments
    yield text("literal", "name: NAME\ndescription: |\n  one\n  two\n")
    yield text("literal-strip", "name: NAME\ndescription: |-\n  one\n  two\n")
    yield text("literal-keep", "name: NAME\ndescription: |+\n  one\n\n\ntools: Read\n")
    yield text("folded", "name: NAME\ndescription: >\n  one\n  two\n\n  three\n")
    yield text("folded-more-indented", "name: NAME\ndescription: >\n  one\n    indented\n  two\n")
    yield text("indent-indicator", "name: NAME\ndescription: |2\n    deep\n  shallow\n")
    yield text("block-then-fallback", "name: NAME\ndescription: |\n  one\nmodel: sonnet: fast\n")
    yield text("block-empty", "name: NAME\ndescription: |\ntools: Read\n")
    yield text("block-tab-indented", "name: NAME\ndescription: |\n\tone\n\ttwo\n")
    yield text("plain-multiline", "name: NAME\ndescription: one\n  two\n  three\n")
    yield text("plain-multiline-blank", "name: NAME\ndescription: one\n\n  two\n")
    yield text("dq-multiline", 'name: NAME\ndescription: "one\n  two\n\n  three"\n')
    yield text("sq-multiline", "name: NAME\ndescription: 'one\n  two'\n")
    yield text("unindented-continuation", "name: NAME\ndescription: one\ntwo three\ntools: Read\n")
    yield text("continuation-with-colon", "name: NAME\ndescription: Use when: x\n  more: here\n")
    yield text("tab-indented-key", "name: NAME\ndescription: d\nmeta:\n\tk: v\n")
    yield text("tab-before-value", "name:\tNAME\ndescription:\td\n")
    yield text("tab-in-fallback", "name: NAME\ndescription: Use when: x\n\tnested: y\n")
    yield text("tab-inside-plain", "name: NAME\ndescription: a\tb\tc\n")
    yield text("trailing-tab", "name: NAME\t\ndescription: d\t\n")
    yield text("comment-strips", "name: NAME # the name\ndescription: Use it #1 choice\n")
    yield text("comment-leaks", "name: NAME\ndescription: Use when: x # note\ntools: Read # t\n")
    yield text(
        "comment-lines", "# leading comment\nname: NAME\n  # indented comment\ndescription: d\n"
    )
    yield text("hash-no-space", "name: NAME\ndescription: C#sharp and F#\n")

    # the fallback's line rule
    yield text("fb-digit-key", "name: NAME\ndescription: Use when: x\nkey2: a: b\n")
    yield text("fb-dot-key", "name: NAME\ndescription: Use when: x\nkey.x: a: b\n")
    yield text("fb-indented-key", "name: NAME\ndescription: d\nmeta:\n  inner: a: b\n")
    yield text("fb-quote-then-text", 'name: NAME\ndescription: "Reviewer" for: code\n')
    yield text("fb-already-quoted", "name: NAME\ndescription: 'a: b'\nx: c: d\n")
    yield text("fb-flow-list-ok", "name: NAME\ndescription: Use when: x\ntools: [Read, Grep]\n")
    yield text("fb-flow-list-bad", "name: NAME\ndescription: Use when: x\ntools: [Read, Grep\n")
    yield text("fb-backslash", "name: NAME\ndescription: Use when: C:\\path\\to\n")
    yield text("fb-quotes-inside", 'name: NAME\ndescription: Say "hi": now\n')
    yield text("fb-star-tools", "name: NAME\ndescription: d\ntools: *\n")
    yield text("fb-star-desc", "name: NAME\ndescription: *important* agent\n")
    yield text("fb-at", "name: NAME\ndescription: @team owns this\n")
    yield text("fb-percent", "name: NAME\ndescription: %d items\n")
    yield text("fb-backtick", "name: NAME\ndescription: `code` helper\n")
    yield text("fb-gt", "name: NAME\ndescription: > not folded really\n")
    yield text("fb-pipe-mid", "name: NAME\ndescription: a | b: c\n")
    yield text("fb-bang", "name: NAME\ndescription: !important: x\n")
    yield text("fb-amp", "name: NAME\ndescription: R&D: x\n")
    yield text("fb-brace", "name: NAME\ndescription: {x} and: y\n")
    yield text("fb-dash-value", "name: NAME\ndescription: Use when: x\nlist: - a: b\n")
    yield text("fb-name-needs-it", "name: NAME: the agent\ndescription: d\n")
    yield text("fb-no-space-after-colon", "name: NAME\ndescription:Use when: x\n")
    yield text("fb-two-spaces", "name: NAME\ndescription:  Use when: x\n")
    yield text("fb-uppercase-key", "name: NAME\nDescription: Use when: x\ndescription: d\n")
    yield text("fb-underscore-key", "name: NAME\ndescription: d\n_x: a: b\n")
    yield text("fb-dash-key", "name: NAME\ndescription: d\n-x: a: b\n")
    yield text("fb-empty-value-line", "name: NAME\ndescription: Use when: x\ntools:\n")
    yield text("fb-trailing-spaces", "name: NAME\ndescription: Use when: x   \n")

    # names and the load rule
    for tag, value in (
        ("name-dash", "-NAME"),
        ("name-colon", "NAME:x"),
        ("name-fullwidth-colon", "NAME：x"),
        ("name-small-colon", "NAME﹕x"),
        ("name-ratio", "NAME∶x"),
        ("name-space-dash", "' -NAME'"),
        ("name-trailing-space", "'NAME '"),
        ("name-leading-space", "' NAME'"),
        ("name-newline", '"NAME\\nx"'),
        ("name-tab", '"NAME\\tx"'),
        ("name-space-only", "' '"),
        ("name-empty", "''"),
        ("name-null", "~"),
        ("name-nbsp", '"NAME\\u00a0x"'),
        ("name-zwsp", '"NAME\\u200b"'),
        ("name-combining", '"NAMEe\\u0301"'),
        ("name-emoji", "NAME-😀"),
        ("name-cjk", "NAME-漢字"),
        ("name-rtl", "NAME-שלום"),
        ("name-bs-n", "'NAME\\nx'"),
    ):
        name = nm(tag)
        yield name, _file(f"name: {value.replace('NAME', name)}\ndescription: d\n").encode()
    for length in (255, 256, 257):
        base = nm(f"len{length}")
        name = base + "x" * (length - len(base))
        yield base, _file(f"name: {name}\ndescription: d\n").encode()
    for length in (255, 256, 257):
        base = nm(f"emoji-len{length}")
        # the emoji is 2 UTF-16 units: put it at the very end
        name = base + "x" * (length - len(base) - 2) + "😀"
        yield base, _file(f"name: {name}\ndescription: d\n").encode()
    base = nm("nfkc-long")
    yield base, _file(f"name: {base + 'ﬁ' * (256 - len(base))}\ndescription: d\n").encode()

    # hooks
    for tag, hooks in (
        ("hooks-string", "hooks: nonsense"),
        ("hooks-list", "hooks: []"),
        ("hooks-empty-map", "hooks: {}"),
        ("hooks-null", "hooks:"),
        ("hooks-false", "hooks: false"),
        ("hooks-zero", "hooks: 0"),
        ("hooks-true", "hooks: true"),
        ("hooks-empty-string", "hooks: ''"),
        ("hooks-unknown-event", "hooks:\n  pre:\n    - x"),
        ("hooks-stop-string", "hooks:\n  Stop: run"),
        ("hooks-pre-string", "hooks:\n  PreToolUse: run"),
        ("hooks-pre-empty", "hooks:\n  PreToolUse: []"),
        ("hooks-pre-null", "hooks:\n  PreToolUse:"),
        (
            "hooks-pre-valid",
            "hooks:\n  PreToolUse:\n    - matcher: Bash\n      hooks:\n"
            "        - type: command\n          command: echo hi",
        ),
        (
            "hooks-pre-no-command",
            "hooks:\n  PreToolUse:\n    - matcher: Bash\n      hooks:\n        - type: command",
        ),
        (
            "hooks-pre-bad-type",
            "hooks:\n  PreToolUse:\n    - hooks:\n        - type: shell\n          command: x",
        ),
        ("hooks-pre-matcher-number", "hooks:\n  PreToolUse:\n    - matcher: 5\n      hooks: []"),
        (
            "hooks-permission-request",
            "hooks:\n  PermissionRequest:\n    - hooks:\n"
            "        - type: prompt\n          prompt: ok",
        ),
        (
            "hooks-post-invalid",
            "hooks:\n  PostToolUse:\n    - hooks:\n        - type: nope",
        ),
        (
            "hooks-matcher-shape",
            "hooks:\n  matcher: Bash\n  hooks:\n    - type: command\n      command: x",
        ),
        (
            "top-level-pretooluse",
            "PreToolUse:\n  - hooks:\n      - type: command\n        command: x",
        ),
        (
            "nested-pretooluse",
            "meta:\n  PreToolUse:\n    - hooks:\n        - type: command\n          command: x",
        ),
        ("hooks-flow", "hooks: {Stop: [{hooks: [{type: command, command: x}]}]}"),
    ):
        yield text(tag, f"name: NAME\ndescription: d\n{hooks}\n")

    # tools, disallowedTools, memory
    for index, tools in enumerate(TOOLS):
        yield text(f"tools{index:02d}", f"name: NAME\ndescription: d\ntools: {tools}\n")
    for index, tools in enumerate(TOOLS[:12]):
        yield text(
            f"tools-list-item{index:02d}", f"name: NAME\ndescription: d\ntools:\n  - {tools}\n"
        )
    yield text("tools-block-literal", "name: NAME\ndescription: d\ntools: |\n  Read\n  Grep\n")
    yield text("tools-block-folded", "name: NAME\ndescription: d\ntools: >\n  Read\n  Grep\n")
    yield text("tools-multiline-plain", "name: NAME\ndescription: d\ntools: Read,\n  Grep\n")
    with_denied: tuple[tuple[str | None, str], ...] = (
        ("Read, Edit", "Edit"),
        ("Read", "Read"),
        ("Read, Grep", "Read, Grep"),
        (None, "Edit, Write"),
        ("[]", "Edit"),
        ("*", "Edit"),
        ("Read", "[]"),
        ("Read", "~"),
        ("Read, Edit", "edit"),
        ("Bash(git:*), Read", "Bash"),
    )
    for index, (listed, denied) in enumerate(with_denied):
        line = f"tools: {listed}\n" if listed is not None else ""
        yield text(
            f"disallowed{index}", f"name: NAME\ndescription: d\n{line}disallowedTools: {denied}\n"
        )
    with_memory: tuple[tuple[str, str | None], ...] = (
        ("project", "Read"),
        ("user", "Write, Edit, Read"),
        ("local", "read"),
        ("project", "*"),
        ("project", None),
        ("' project'", "Read"),
        ("USER", "Read"),
        ("project", "[]"),
    )
    for index, (memory, listed) in enumerate(with_memory):
        line = f"tools: {listed}\n" if listed is not None else ""
        yield text(f"memory{index}", f"name: NAME\ndescription: d\nmemory: {memory}\n{line}")
    yield text(
        "memory-disallowed",
        "name: NAME\ndescription: d\nmemory: user\ntools: Glob\ndisallowedTools: Write, Read\n",
    )


def random_mix(index: int, rng: random.Random) -> bytes:
    """A random combination of awkward keys, values, names and layouts."""
    name = f"r{index:04d}-{rng.choice(NAMES)}" if rng.random() < 0.3 else f"r{index:04d}"
    name_text = name
    if rng.random() < 0.2:
        name_text = f"'{name}'" if "'" not in name else f'"{name}"'
    lines = [f"name: {name_text}"]
    description = rng.choice(SCALARS)
    style = rng.random()
    if style < 0.1:
        lines.append(f"description: |\n  {description}\n  second line")
    elif style < 0.15:
        lines.append(f"description: >-\n  {description}\n  second line")
    elif style < 0.25:
        lines.append(f"description: {description}\n  continued: {rng.choice(SCALARS)}")
    else:
        lines.append(f"description: {description}")
    for _ in range(rng.randint(0, 4)):
        if rng.random() < 0.4:
            lines.append(f"tools: {rng.choice(TOOLS)}")
        else:
            lines.append(f"{rng.choice(KEYS)}: {rng.choice(SCALARS)}")
    if rng.random() < 0.1:
        lines.insert(rng.randrange(len(lines) + 1), f"# {rng.choice(SCALARS)}")
    if rng.random() < 0.1:
        lines.append(f"continuation {rng.choice(SCALARS)}")
    if rng.random() < 0.08:
        lines.append(f"\tindented: {rng.choice(SCALARS)}")
    if rng.random() < 0.1:
        rng.shuffle(lines)
    text = "---\n" + "\n".join(lines) + "\n---\n\nbody\n"
    if rng.random() < 0.15:
        text = text.replace("\n", "\r\n")
    data = text.encode()
    if rng.random() < 0.05:
        data = b"\xef\xbb\xbf" + data
    return data


def generate(folder: Path, count: int, seed: int) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for tag, data in handpicked():
        (folder / f"{tag[:60]}.md").write_bytes(data)
        written += 1
    rng = random.Random(seed)  # noqa: S311 - reproducible test data
    for index in range(count):
        (folder / f"r{index:04d}.md").write_bytes(random_mix(index, rng))
        written += 1
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--seed", type=int, default=20261122)
    args = parser.parse_args()
    print(f"{generate(args.out, args.count, args.seed)} files written to {args.out}")


if __name__ == "__main__":
    main()
