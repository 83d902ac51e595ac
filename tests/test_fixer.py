"""Tests for agentsync.fixer: strict-YAML frontmatter the client reads the same; body untouched."""

from __future__ import annotations

import pytest
import yaml

from agentsync.fixer import fix_agent, plan_fix, unified_diff
from agentsync.frontmatter import parse_agent

BODY = b"\n# Role\n\nname: not-a-key\n---\nbody text \xff\n"


def agent(frontmatter: str, *, crlf: bool = False) -> bytes:
    head = f"---\n{frontmatter}---\n"
    if crlf:
        head = head.replace("\n", "\r\n")
    return head.encode() + BODY


def strict_frontmatter(data: bytes) -> dict[str, object]:
    parsed = parse_agent(data)
    assert parsed.frontmatter is not None
    loaded = yaml.safe_load(parsed.frontmatter)
    assert isinstance(loaded, dict)
    return loaded


LOADING = [
    "name: a\ndescription: Use when: x\n",
    "name: a\ndescription: Review.\\n\\n<example>\\nuser: x\\n</example>\ntools: Read, Task\n",
    "name: a\ndescription: Use when: x\ntools: Read, Grep # search\nmodel: haiku # cheap\n",
    "name: a\ndescription: d\ntools: *\n",
    "name: a\ndescription: '[Draft] x'\ntools: [Read, MultiEdit]\n",
    "name: a\ndescription: yes\nextra: 2024-01-01\ntime: 1:20\n",
    "name: a\ndescription: 0o17x\nweird: 0o17\n",
    "name: first\ndescription: d\nname: second\n",
    "name: a\ndescription: |\n  Block\n  text\ncolor: blue\n",
    "{name: a, description: 'Use when: x'}\n",
    "b: &b {name: merged, description: m}\n<<: *b\n",
    "name: a\ndescription: `code` reviewer\n# a comment\ntools: Read\n",
    "name: a\ndescription: \\tTabbed: x\n",
    "name:\ta\ndescription:\td\n",  # libyaml takes tabs here, yaml.safe_load does not
    "name: a\ndescription: Use when: x\ndisallowedTools: .nan\n",  # NaN must round-trip
    "name: a\ndescription: a\tb\ttabbed\ntools: Read\tGrep\n",
    "name: a\ndescription: Use when: x\nmemory: project\ntools: Glob\n",  # + memory tools
    "name: a\ndescription: Use when: x\nmemory: user\ntools: []\n",
]


@pytest.mark.parametrize("frontmatter", LOADING)
@pytest.mark.parametrize("crlf", [False, True])
def test_fix_keeps_what_the_client_reads(frontmatter: str, crlf: bool) -> None:
    data = agent(frontmatter, crlf=crlf)
    before = parse_agent(data)
    fixed = fix_agent(data)
    after = parse_agent(fixed)
    assert after.loads
    assert after.parse == "strict"
    if before.loads:
        expected = (before.name, before.description, before.tools)
    else:  # a CRLF file that needed the fallback: repaired to its evident values
        assert crlf
        expected = (before.evident_name, before.evident_description, after.tools)
    assert (after.name, after.description, after.tools) == expected
    strict_frontmatter(fixed)
    assert fixed.endswith(BODY)


@pytest.mark.parametrize(
    ("frontmatter", "name", "description"),
    [
        (
            "name: a\ndescription: First line\nsecond line\ntools: Read\n",
            "a",
            "First line second line",
        ),
        ('name: "Reviewer" for code\ndescription: d\n', '"Reviewer" for code', "d"),
        ("name: a\ndescription: Use when: x\n  and more\n", "a", "Use when: x and more"),
        ("name: a\ndescription: Use when: x\nkey2: a: b\n", "a", "Use when: x"),
        ('name: a\ndescription: "Reviewer" for code\n', "a", '"Reviewer" for code'),
        (
            'name: a\ndescription: Helps:\\n<example>\nuser: "x"\nassistant: "y"\n</example>\n'
            "tools: Read\n",
            "a",
            'Helps:\n<example> user: "x" assistant: "y" </example>',
        ),
    ],
)
def test_fix_repairs_dropped_files_with_evident_values(
    frontmatter: str, name: str, description: str
) -> None:
    data = agent(frontmatter)
    assert not parse_agent(data).loads
    fixed = fix_agent(data)
    after = parse_agent(fixed)
    assert (after.loads, after.name, after.description) == (True, name, description)
    strict_frontmatter(fixed)
    assert fixed.endswith(BODY)


def test_dialogue_lines_of_a_run_on_description_do_not_become_keys() -> None:
    data = agent('name: a\ndescription: Helps\nrun on\nuser: "x"\nassistant: y\ntools: Read\n')
    assert not parse_agent(data).loads
    fixed = strict_frontmatter(fix_agent(data))
    assert set(fixed) == {"name", "description", "tools"}
    assert fixed["description"] == 'Helps run on user: "x" assistant: y'


def test_repaired_values_keep_the_clients_typing() -> None:
    # dropped (`with:` at the end of a line); 0o17 reads as 15 in the client, not "0o17"
    data = agent("name: a\ndescription: ends with:\ndisallowedTools: 0o17\nmodel: yes\n")
    assert not parse_agent(data).loads
    fixed = strict_frontmatter(fix_agent(data))
    assert (fixed["disallowedTools"], fixed["model"]) == (15, "yes")


def test_crlf_file_needing_the_fallback_is_repaired_and_stays_crlf() -> None:
    data = agent("name: a\ndescription: Use when: x\ntools: Read\n", crlf=True)
    fixed = fix_agent(data)
    after = parse_agent(fixed)
    assert (after.loads, after.description, after.tools) == (True, "Use when: x", ("Read",))
    head = fixed[: fixed.index(BODY)]
    assert b"\n" not in head.replace(b"\r\n", b"")


@pytest.mark.parametrize(
    "data",
    [
        b"no frontmatter\n",
        b"\n---\nname: a\ndescription: d\n---\n",
        agent("name: a\ndescription: 5\n"),
        agent("name: -a\ndescription: d\n"),
        agent("name: a\ndescription: d\nhooks: nonsense\n"),
    ],
)
def test_unfixable_files_are_returned_as_is(data: bytes) -> None:
    assert fix_agent(data) == data


def test_already_strict_files_are_unchanged() -> None:
    data = agent("name: a\ndescription: 'Use when: x'\ntools: Read, Grep\n# note\nloop: inner\n")
    assert fix_agent(data) == data


def test_fix_touches_only_the_lines_that_need_it() -> None:
    data = agent("name: a\n# keep me\ndescription: Use when: x\ncolor: blue\nloop: inner\n")
    fixed = fix_agent(data).decode("utf-8", errors="replace")
    assert "# keep me\ndescription: 'Use when: x'\ncolor: blue\nloop: inner\n" in fixed


@pytest.mark.parametrize(
    ("tools", "expected"),
    [
        ("[Read, MultiEdit, Edit, Task]", ("Read", "Edit", "Agent")),
        ("Read, LS, NotebookRead, KillShell", ("Read", "Glob", "TaskStop")),
        ("Bash(git *), BashOutput", ("Bash(git *)", "TaskOutput")),
    ],
)
def test_fix_tools_maps_retired_names(tools: str, expected: tuple[str, ...]) -> None:
    data = agent(f"name: a\ndescription: d\ntools: {tools}\n")
    assert parse_agent(fix_agent(data)).tools == parse_agent(data).tools  # not without the flag
    assert parse_agent(fix_agent(data, fix_tools=True)).tools == expected


def test_fix_tools_keeps_inherit_all() -> None:
    data = agent("name: a\ndescription: d\n")
    assert fix_agent(data, fix_tools=True) == data


def test_unified_diff() -> None:
    before = agent("name: a\ndescription: Use when: x\n")
    diff = unified_diff(before, fix_agent(before), ".claude/agents/a.md")
    assert diff.startswith("--- a/.claude/agents/a.md\n+++ b/.claude/agents/a.md\n")
    assert "-description: Use when: x\n+description: 'Use when: x'\n" in diff
    assert unified_diff(before, before, "x.md") == ""


def test_literal_backslash_n_in_a_description_becomes_a_real_newline() -> None:
    import yaml

    data = b"---\nname: escn\ndescription: line one\\nline two\ntools: Read\n---\nBody\n"
    fixed = fix_agent(data)
    front = fixed.decode().split("---")[1]
    assert yaml.safe_load(front)["description"] == "line one\nline two"
    assert parse_agent(fixed).description == parse_agent(data).description
    assert fixed.endswith(b"---\nBody\n")


def nested(depth: int, *, block: bool) -> str:
    """A `deep:` key holding lists (flow style) or mappings (block style) `depth` levels deep."""
    if not block:
        return "deep: " + "[" * depth + "]" * depth + "\n"
    return "deep:\n" + "".join("  " * level + f"k{level}:\n" for level in range(1, depth))


@pytest.mark.slow
@pytest.mark.parametrize("block", [False, True])
@pytest.mark.parametrize("description", ["d", "Use when: x"])  # strict, and needing a fix
def test_a_frontmatter_too_deep_to_rewrite_is_left_alone_with_a_reason(
    block: bool, description: str
) -> None:
    data = agent(f"name: a\ndescription: {description}\n" + nested(999, block=block))
    assert parse_agent(data).loads  # the client loads it, and so do we
    fix = plan_fix(data)
    assert fix.after == data
    assert fix.skipped is not None
    assert f"nests {999 + (not block)} levels deep" in fix.skipped
    assert fix_agent(data) == data


def test_moderate_nesting_is_still_fixed() -> None:
    data = agent("name: a\ndescription: Use when: x\n" + nested(60, block=False))
    fix = plan_fix(data)
    assert fix.skipped is None
    assert parse_agent(fix.after).parse == "strict"


def test_a_conflict_is_never_resolved_by_a_rewrite() -> None:
    data = agent(
        "name: a\n<<<<<<< ours\ndescription: mine\n=======\ndescription: theirs\n"
        ">>>>>>> upstream\ntools: Read\n"
    )
    fix = plan_fix(data)
    assert (fix.after, fix.skipped) == (
        data,
        "not rewritten: resolve the merge conflict at line 3 first",
    )
