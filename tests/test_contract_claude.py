"""Contract: `check` and `check --fix` predict what the real Claude Code client loads.

Runs the pinned client (env CLAUDE_BIN, else `claude` on PATH) offline against a loopback
stand-in of the Messages API, once on a batch of tricky files and once on their fixed
copies, and compares the agent list it sends with checker's JSON. Skipped without a client.
"""

from __future__ import annotations

import random
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentsync.checker import check_paths, render_json
from agentsync.fixer import fix_agent
from agentsync.frontmatter import parse_agent, split_tools
from tests.contract_claude import BUILT_INS, ClientRun, find_client, run_client, shown_tools

CLIENT = find_client()
pytestmark = [
    pytest.mark.contract,
    pytest.mark.slow,  # runs the real client on dozens of files
    pytest.mark.skipif(CLIENT is None, reason="Claude Code client not found (set CLAUDE_BIN)"),
]

EXAMPLES = (
    "Use this agent for reviews. Examples:\\n\\n<example>\\nContext: a PR\\nuser: "
    '"Review it"\\nassistant: "I\'ll use the reviewer"\\n</example>'
)


def _cases() -> Iterator[tuple[str, str]]:
    """(unique name, frontmatter text) pairs; the name is also the evident name."""
    yield "plain", "description: Reviews code.\ntools: Read, Grep, Glob\n"
    yield "list-tools", "description: Builds APIs.\ntools: [Read, Write, MultiEdit, Task]\n"
    yield "run-terminal", "description: Runs.\ntools: Bash, Read, Run Terminal\nmodel: sonnet\n"
    yield "examples", f"description: {EXAMPLES}\ntools: Read\ncolor: yellow\nloop: inner\n"
    yield "use-when", "description: Use when: the build breaks\n"
    yield "leaky", "description: Use when: x\ntools: Read, Grep # search\nmodel: haiku # cheap\n"
    yield "stripped", "description: Use it #1 choice\n"
    yield "mcp", "description: d\ntools: Read, mcp__github__*, mcp__x__y\n"
    yield "star", "description: d\ntools: Read, *\n"
    yield "star-fallback", "description: d\ntools: *\n"
    yield "empty-tools", "description: d\ntools: []\n"
    yield "null-tools", "description: d\ntools:\n"
    yield "bash-spec", "description: d\ntools: Bash(git diff:*), Bash(npm *), Read\n"
    yield "unbalanced", "description: d\ntools: Bash(git, Read\n"
    yield "semicolon", "description: d\ntools: Read;Grep, Edit|Write\n"
    yield "pipe-block", "description: d\ntools: |\n  Read\n  Grep\n"
    yield "yes", "description: yes\nextra: 2024-01-01\n"
    yield "numeric", "description: 123\n"
    yield "hex", "description: -0x1F\n"
    yield "quoted", "description: 'It''s \"quoted\"'\n"
    yield "block", "description: |\n  Multi\n  line\n"
    yield "folded", "description: >-\n  Folded\n  text\n"
    yield "midfence", "description: before --- after\ntools: Read\n"
    yield "hooks-bad", "description: d\nhooks: nonsense\n"
    yield "hooks-ok", "description: d\nhooks: {}\n"
    yield "hooks-guarded", "description: d\nhooks: {PreToolUse: x}\n"
    yield "flow-continued", "description: Use when: x\n  and more\n"
    yield "unindented", "description: First line\nsecond line of it\ntools: Read\n"
    yield "quote-then-text", 'description: "Reviewer" for code\n'
    yield "digit-key", "description: Use when: x\nkey2: a: b\n"
    yield "Mixed Case", "description: d\n"
    yield "dash-leading-desc", "description: - item\n"
    yield "tab-indented", "description: Use when: x\nmeta:\n\tk: v\n"
    yield "anchor", "description: &d Anchored\nalias: *d\n"
    yield "dup-key", "description: first\ndescription: second\n"
    yield "disallowed", "description: d\ntools: Read, Edit\ndisallowedTools: Edit\n"
    yield "disallowed-all", "description: d\ndisallowedTools: Edit, Write\n"
    yield "emoji-😀", "description: d\n"
    yield "memory-tools", "description: d\nmemory: project\ntools: Glob\n"  # + Write, Edit, Read
    yield "tag-quoted", "description: !!int '12'\n"  # text
    yield "tag-mismatch", "description: !!bool 0\n"  # text
    yield "tag-number", "description: !!float 12\n"  # a number: dropped
    yield "line-separator", "description: a\u2028b\n"  # not a line break in YAML 1.2
    yield "cut-block", "description: |\n  cut --- here\n"  # reads "cut \n"


def _file(name: str, rest: str, *, crlf: bool = False) -> bytes:
    text = f"---\nname: {name}\n{rest}---\n\nYou are {name}.\n"
    return (text.replace("\n", "\r\n") if crlf else text).encode()


def _files() -> dict[str, bytes]:
    files = {f"{index:02d}.md": _file(name, rest) for index, (name, rest) in enumerate(_cases())}
    files["crlf-ok.md"] = _file("crlf-ok", "description: Fine.\n", crlf=True)
    files["crlf-fallback.md"] = _file("crlf-fallback", "description: Use when: x\n", crlf=True)
    files["crlf-quoted.md"] = _file("crlf-quoted", 'description: "one\n  two"\n', crlf=True)
    files["bom.md"] = b"\xef\xbb\xbf" + _file("bom", "description: d\n")
    files["blank-first.md"] = b"\n" + _file("blank-first", "description: d\n")
    files["no-close.md"] = b"---\nname: no-close\ndescription: d\n"
    files["bad-utf8.md"] = _file("bad-utf8", "description: caf\xe9\n").replace(b"\xc3\xa9", b"\xe9")
    files[".hidden.md"] = _file("hidden", "description: d\n")
    files["sub/deeper.md"] = _file("deeper", "description: d\n")
    files["ignored.MD"] = _file("ignored-upper", "description: d\n")
    files["notes.md.bak"] = _file("ignored-bak", "description: d\n")
    return files


def _project(root: Path, files: dict[str, bytes]) -> Path:
    agents = root / ".claude" / "agents"
    for rel, data in files.items():
        (agents / rel).parent.mkdir(parents=True, exist_ok=True)
        (agents / rel).write_bytes(data)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return agents


def _disallowed(data: bytes) -> tuple[str, ...]:
    fields = parse_agent(data).fields
    return split_tools(fields["disallowedTools"]) or () if "disallowedTools" in fields else ()


def _shown(entry: dict[str, object]) -> str:
    """The listing's tools text for a JSON entry (the listing subtracts disallowedTools)."""
    tools = entry["tools"]
    assert tools is None or isinstance(tools, list)
    return shown_tools(tools, _disallowed(Path(str(entry["path"])).read_bytes()))


def _listed(run: ClientRun) -> dict[str, tuple[str, str]]:
    return {
        name: (run.listed[name].description, run.listed[name].tools)
        for name in run.names
        if name not in BUILT_INS
    }


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> tuple[ClientRun, list[dict[str, object]]]:
    assert CLIENT is not None
    root = tmp_path_factory.mktemp("contract-original")
    agents = _project(root, _files())
    report = render_json(check_paths([str(agents)]))
    return run_client(CLIENT, root), report


def test_check_predicts_what_the_client_lists(
    original: tuple[ClientRun, list[dict[str, object]]],
) -> None:
    run, report = original
    predicted = {
        str(entry["name"]): (str(entry["description"]), _shown(entry))
        for entry in report
        if entry["loads"]
    }
    listed = _listed(run)
    assert set(predicted) == set(listed)
    assert predicted == listed
    dropped = {e["path"] for e in report if not e["loads"]}
    assert len(dropped) >= 10  # the batch really exercises dropped files


def test_fixed_files_read_the_same(tmp_path: Path) -> None:
    assert CLIENT is not None
    originals = _files()
    fixed = {rel: fix_agent(data) for rel, data in originals.items()}
    _project(tmp_path, fixed)
    listed = _listed(run_client(CLIENT, tmp_path))
    expected: dict[str, tuple[str, str]] = {}
    for rel, data in fixed.items():
        before, after = parse_agent(originals[rel]), parse_agent(data)
        assert after.loads or not before.loads, f"--fix broke {rel}"
        if not rel.endswith(".md") or not after.loads:
            continue
        if before.loads:
            assert (after.name, after.description, after.tools) == (
                before.name,
                before.description,
                before.tools,
            ), rel
        else:  # repaired: the evident values
            assert (after.name, after.description) == (
                before.evident_name,
                before.evident_description,
            ), rel
        assert after.name is not None and after.description is not None
        expected[after.name] = (after.description, shown_tools(after.tools, _disallowed(data)))
    assert listed == expected
    repaired = {"crlf-fallback", "unindented", "quote-then-text", "flow-continued", "digit-key"}
    assert repaired <= set(listed)


_VALUES = (
    "Use when: x",
    "plain text",
    "'quoted: x'",
    '"dq \\n x"',
    "[a, b]",
    "[Draft] x",
    "*bold*",
    "@team",
    "%p",
    "`code`",
    "> quoted",
    "yes",
    "123",
    "0x1F",
    "1:20",
    "a #comment",
    "x: y: z",
    "- item",
    '"Reviewer" for code',
    "{a: 1}",
    "&anc val",
    "!tag val",
    "|",
    "before --- after",
    "tab\there",
    "a\\nb",
    "~",
    "",
    "null",
    "true",
    "Read, Grep # s",
    "Bash(git *), Read",
    "Read;Grep",
    "*",
    "Read, *",
    "[Read, '*']",
    "MultiEdit Task",
)
_KEYS = ("description", "tools", "model", "color", "x-key", "key2", "hooks", "disallowedTools")


def _generated(count: int, seed: int) -> dict[str, bytes]:
    """Random mixes of awkward values and keys (fixed seed): the rules' interactions."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    files = {}
    for index in range(count):
        lines = [f"name: gen{index}"]
        for _ in range(rng.randint(1, 4)):
            key, value = rng.choice(_KEYS), rng.choice(_VALUES)
            lines.append(f"{key}: {value}".rstrip() if rng.random() < 0.9 else f"{key}:\n  {value}")
        if rng.random() < 0.3:
            lines.insert(rng.randint(1, len(lines)), f"description: {rng.choice(_VALUES)}")
        if rng.random() < 0.15:
            lines.append(f"\tindented: {rng.choice(_VALUES)}")
        if rng.random() < 0.1:
            lines.append(f"continuation line {rng.choice(_VALUES)}")
        text = "---\n" + "\n".join(lines) + "\n---\nbody\n"
        if rng.random() < 0.1:
            text = text.replace("\n", "\r\n")
        files[f"gen{index}.md"] = text.encode()
    return files


def test_generated_mix_agrees(tmp_path: Path) -> None:
    assert CLIENT is not None
    agents = _project(tmp_path, _generated(300, seed=20261121))
    report = render_json(check_paths([str(agents)]))
    predicted = {
        str(entry["name"]): (str(entry["description"]), _shown(entry))
        for entry in report
        if entry["loads"]
    }
    assert predicted == _listed(run_client(CLIENT, tmp_path))
    assert 20 < len(predicted) < 300  # both loaded and dropped files were exercised


def test_generated_mix_fixed_agrees(tmp_path: Path) -> None:
    assert CLIENT is not None
    originals = _generated(300, seed=20261121)
    fixed = {rel: fix_agent(data) for rel, data in originals.items()}
    for rel, data in fixed.items():
        before, after = parse_agent(originals[rel]), parse_agent(data)
        if before.loads:
            assert (after.name, after.description, after.tools) == (
                before.name,
                before.description,
                before.tools,
            ), rel
            assert after.parse == "strict", rel
    agents = _project(tmp_path, fixed)
    report = render_json(check_paths([str(agents)]))
    predicted = {
        str(entry["name"]): (str(entry["description"]), _shown(entry))
        for entry in report
        if entry["loads"]
    }
    assert predicted == _listed(run_client(CLIENT, tmp_path))
