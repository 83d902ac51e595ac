"""Terminal injection: text from a source never reaches the terminal as control sequences.

A hostile source puts escape sequences (window title and clipboard OSC, line erase, cursor
moves, the one-byte C1 CSI), bidi overrides, lone carriage returns and newlines followed by
a forged finding into every field agentsync prints: names, descriptions, tool names, file
paths, tag names and file bodies. Every text command must show them escaped, keep the
AS203/AS205 review flags intact on their own lines, and let no newline forge a line;
`--json` must still carry the exact strings.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agentsync.textsafe import inline, json_text, printable
from tests.fixtures import Cli, CliResult, GitRepo, MakeRepo

# Window title, clipboard write (OSC 52), erase line + carriage return, C1 CSI, RLO.
SEQUENCES = "\x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x07\x1b[2K\r\x9b2K\u202e"
FORGED = "reviewed.md:9: info AS205 forged"
HOSTILE = SEQUENCES + "\n" + FORGED
ERASE_UP = "\x1b[1A\x1b[2K\r"  # cursor up, erase the line: hides the line before

HOSTILE_NAME = "h" + HOSTILE  # cannot be installed (control characters), but is listed
C1_NAME = "c1\x9b2K\u202e"  # installable under a safe key
DESCRIPTION = "desc " + HOSTILE
TOOL = ERASE_UP + "Glob" + HOSTILE
NEW_TOOL = ERASE_UP + "Grep" + SEQUENCES
# Paths with C0 controls are skipped (with a warning naming them); C1 and bidi controls
# are allowed in a path, and must be shown escaped wherever the path is printed.
HOSTILE_PATH = "agents/p\x9b2K\u202e.md"
ESC_PATH = "agents/e" + SEQUENCES.replace("\r", "") + ".md"
TWIN_PATH = "agents/p" + HOSTILE + ".md"
TAG = "v2\x9b2K\u202e"  # git refuses C0 in ref names, not C1 or bidi controls
BODY = f"body {HOSTILE}\r\nlast {SEQUENCES}\n"

# Anything that would act on a terminal or reorder text: C0 other than tab and newline,
# DEL, C1, bidi controls, line/paragraph separators, and a carriage return not before \n.
UNSAFE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]|\r(?!\n)"
)

REVIEWED = """\
---
name: reviewed
description: Reviewed.
permissionMode: bypassPermissions
hooks:
  PreToolUse:
    - matcher: Bash
      hooks:
        - type: command
          command: echo hi
---

Body.
"""


def agent_file(name: str, description: str, tools: list[str], body: str) -> bytes:
    # JSON strings are YAML double-quoted scalars: escapes carry the control characters.
    return (
        f"---\nname: {json.dumps(name)}\ndescription: {json.dumps(description)}\n"
        f"tools: {json.dumps(tools)}\n---\n\n{body}"
    ).encode()


def assert_safe(result: CliResult) -> None:
    for stream in (result.out, result.err):
        found = UNSAFE.search(stream)
        assert found is None, (found, result)
        lines = stream.split("\n")
        assert not any(line.startswith(FORGED) for line in lines), result
        assert not any(line.startswith("warning: " + FORGED) for line in lines), result


@pytest.fixture
def hostile(make_repo: MakeRepo, project_dir: Path) -> GitRepo:
    evil = make_repo("evil")
    evil.write("agents/reviewed.md", REVIEWED)
    evil.write(HOSTILE_PATH, agent_file("tooly", DESCRIPTION, ["Read", TOOL], BODY))
    evil.write("agents/named.md", agent_file(HOSTILE_NAME, DESCRIPTION, ["Read"], "x\n"))
    evil.write("agents/c1.md", agent_file(C1_NAME, "C1 name.", ["Read"], "x\n"))
    evil.write(ESC_PATH, agent_file("skipped", DESCRIPTION, ["Read"], "x\n"))
    evil.commit("agents")
    twin = make_repo("twin")
    twin.write("agents/twin.md", agent_file(HOSTILE_NAME, DESCRIPTION, ["Read"], "y\n"))
    twin.write(TWIN_PATH, agent_file("skipped-too", DESCRIPTION, ["Read"], "y\n"))
    twin.commit("twin")
    (project_dir / "agentsync.toml").write_text(
        f"[sources.evil]\nurl = {json.dumps(evil.url)}\n\n"
        f'[sources.twin]\nurl = {json.dumps(twin.url)}\ninclude = ["h*"]\n\n'
        '[agents]\nreviewed = { source = "evil" }\ntooly = { source = "evil" }\n'
        f'safe = {{ source = "evil", agent = {json.dumps(C1_NAME)} }}\n'
    )
    return evil


@pytest.mark.slow
def test_every_text_command_escapes_source_text(
    cli: Cli, project_dir: Path, hostile: GitRepo
) -> None:
    def run(*args: str, code: int | None = 0) -> CliResult:
        result = cli(*args, cwd=project_dir)
        if code is not None:
            assert result.code == code, result
        assert_safe(result)
        return result

    installed = run("install")
    review = [line for line in installed.err.split("\n") if line.startswith("warning: reviewed.md")]
    assert any(" info AS203 the agent declares hooks" in line for line in review), installed
    assert any(" info AS205 `permissionMode: bypassPermissions`" in line for line in review)
    assert "\\x1b]0;pwned\\x07" in installed.err  # shown, escaped: the tool name's warning
    assert "\\u202e" in installed.err
    assert "skipped agents/p\\x1b]0;pwned" in installed.err  # twin's unsafe name

    for args in (
        ("status",),
        ("list",),
        ("source", "list"),
        ("search",),
        ("show", "tooly"),
        ("show", "safe"),
        ("check",),
        ("check", ".claude/agents/tooly.md"),
    ):
        run(*args, code=None)
    described = run("show", "tooly")
    assert "\\ndescription" not in described.out
    assert "description: desc \\x1b]0;pwned\\x07" in described.out

    # A reference holding control characters is refused, and the refusal echoes it escaped.
    for reference in (HOSTILE_NAME, "nope" + HOSTILE, "evil/" + C1_NAME):
        refused = run("show", reference, code=2)
        assert "holds control or invisible characters" in refused.err

    # A local edit for `diff`, an upstream change (new tool, tag) for update and outdated.
    target = project_dir / ".claude/agents/tooly.md"
    target.write_bytes(target.read_bytes() + f"edit {SEQUENCES}\r\n".encode())
    edited = run("diff", "tooly")
    assert "\n+edit \\x1b]0;pwned\\x07\\x1b]52;c;ZXZpbA==\\x07\\x1b[2K\\r\\x9b2K" in edited.out
    assert "\r\n" in edited.out  # CRLF lines stay readable; a lone CR is shown, not a break
    hostile.write(HOSTILE_PATH, agent_file("tooly", DESCRIPTION, ["Read", TOOL, NEW_TOOL], BODY))
    hostile.commit("widen")
    hostile.tag(TAG)
    run("outdated", code=1)
    run("diff", "--upstream", "tooly")
    updated = run("update")
    assert " tools: +\\x1b[1A\\x1b[2K\\rGrep" in updated.out, updated  # the grant
    assert "-> v2\\x9b2K\\u202e" in updated.out  # the tag
    run("update", "--dry-run")

    (project_dir / "loose").mkdir()
    (project_dir / "loose" / f"n{SEQUENCES}\n{FORGED}.md").write_bytes(
        agent_file("loose", DESCRIPTION, ["Read", TOOL], BODY)
    )
    run("check", "loose", code=None)
    (project_dir / "loose" / f"f{SEQUENCES}\n{FORGED}.md").write_bytes(
        f"---\nname: fixme\ndescription: Use when: x\n---\n{BODY}".encode()
    )
    fixed = run("check", "--fix", "loose", code=None)
    assert "\n+description: 'Use when: x'\n" in fixed.out  # the diff, escaped, still readable


@pytest.mark.slow
def test_json_keeps_the_exact_strings(cli: Cli, project_dir: Path, hostile: GitRepo) -> None:
    def run_json(*args: str) -> object:
        result = cli("--json", *args, cwd=project_dir)
        assert UNSAFE.search(result.out) is None, result  # escaped as \\uXXXX in the text
        return json.loads(result.out)

    found = run_json("search")
    assert isinstance(found, dict)
    by_path = {(r["source"], r["path"]): r for r in found["agents"]}
    assert by_path[("evil", HOSTILE_PATH)]["description"] == DESCRIPTION
    assert by_path[("evil", "agents/named.md")]["agent"] == HOSTILE_NAME
    shown = run_json("show", "tooly")
    assert isinstance(shown, dict)
    # Claude Code splits tool entries at spaces too: the pieces carry the exact characters.
    assert " ".join(shown["tools"]) == "Read " + TOOL and shown["path"] == HOSTILE_PATH
    assert cli("install", cwd=project_dir).code == 0
    checked = run_json("check", ".claude/agents/tooly.md")
    assert isinstance(checked, list) and " ".join(checked[0]["tools"]) == "Read " + TOOL
    hostile.write(HOSTILE_PATH, agent_file("tooly", DESCRIPTION, ["Read", TOOL, NEW_TOOL], BODY))
    hostile.commit("widen")
    hostile.tag(TAG)
    outdated = run_json("outdated")
    assert isinstance(outdated, dict)
    tooly = next(r for r in outdated["agents"] if r["agent"] == "tooly")
    assert tooly["new"]["tag"] == TAG
    assert any(g["detail"] == "+" + NEW_TOOL for g in tooly["grants"])
    upstream = run_json("diff", "--upstream", "tooly")
    assert isinstance(upstream, dict) and upstream["to"] == TAG
    assert "\n body \x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x07" in upstream["diff"]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain text, tabs\tand\nnewlines", "plain text, tabs\tand\nnewlines"),
        ("\x1b]0;t\x07", "\\x1b]0;t\\x07"),
        ("a\rb", "a\\rb"),
        ("crlf\r\nline\r", "crlf\r\nline\\r"),
        ("\x9b2K\x7f\x00", "\\x9b2K\\x7f\\x00"),
        ("\u202eabc\u2066\u200f\u061c\u2028", "\\u202eabc\\u2066\\u200f\\u061c\\u2028"),
        ("caf\u00e9 \u4e2d \U0001f600", "caf\u00e9 \u4e2d \U0001f600"),
        ("bad\udcff", "bad\\udcff"),
    ],
)
def test_printable(text: str, shown: str) -> None:
    assert printable(text) == shown
    assert printable(shown) == shown  # escaping is idempotent: printed twice, shown once


def test_inline_keeps_one_line() -> None:
    assert inline("a\nb\r\nc\td") == "a\\nb\\r\\nc\td"
    assert printable("a\nb", newlines=False) == "a\\nb"


def test_json_text_escapes_what_json_dumps_leaves_raw() -> None:
    data = {"k\u202e": ["\x9b\x7f\u2028", "\x1b\n", "caf\u00e9"]}
    text = json_text(json.dumps(data, indent=2, ensure_ascii=False))
    assert UNSAFE.search(text) is None
    assert "caf\u00e9" in text
    assert json.loads(text) == data


def test_output_helpers_escape_and_keep_records_on_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from agentsync import cli

    cli.warn(f"x: {HOSTILE}")
    cli.echo(f"a {SEQUENCES}\r\nb")
    cli.emit_json({"v": HOSTILE})
    out, err = capsys.readouterr()
    assert err == "warning: " + inline(f"x: {HOSTILE}") + "\n"
    assert out.startswith(f"a {printable(SEQUENCES)}\r\nb\n")
    shown = "\\x1b]0;pwned\\x07\\x1b]52;c;ZXZpbA==\\x07\\x1b[2K\\r\\x9b2K\\u202e"
    assert printable(SEQUENCES) == shown
    assert json.loads(out.split("\n", 2)[2]) == {"v": HOSTILE}
