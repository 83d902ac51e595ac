"""Tests for agentsync.frontmatter: reading agent files exactly as Claude Code 2.1.330 does."""

from __future__ import annotations

import time

import pytest
import yaml

from agentsync.errors import ResolveError
from agentsync.frontmatter import (
    AgentFile,
    parse_agent,
    quote_for_fallback,
    rename_agent,
    split_tools,
)
from agentsync.yaml12 import dump_yaml_value, load_yaml, nesting_depth


def agent(frontmatter: str, body: str = "You are helpful.\n") -> bytes:
    return f"---\n{frontmatter}---\n\n{body}".encode()


def loads(frontmatter: str) -> AgentFile:
    return parse_agent(agent(frontmatter))


# --- fences ---------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"---\nname: a\ndescription: d\n---\nbody", True),
        (b"---  \nname: a\ndescription: d\n---\nbody", True),  # trailing space on the fence
        (b"---\r\nname: a\r\ndescription: d\r\n---\r\nbody", True),  # CRLF works
        (b"---\rname: a\rdescription: d\r---\rbody", False),  # CR-only does not
        (b"\n---\nname: a\ndescription: d\n---\nbody", False),  # leading blank line
        (b" ---\nname: a\ndescription: d\n---\nbody", False),  # leading space
        (b"--- yaml\nname: a\ndescription: d\n---\nbody", False),
        (b"---\nname: a\ndescription: d\n", False),  # no closing fence
        (b"---\nname: a\ndescription: d\n...\nbody", False),  # `...` does not close
        (b"\xef\xbb\xbf---\nname: a\ndescription: d\n---\n", True),  # BOM stripped (2.1.330)
        (b"---\nname: a\ndescription: d\n----\nbody", True),  # `----` closes too
        (b"no frontmatter at all", False),
        (b"", False),
    ],
)
def test_fence_rules(data: bytes, expected: bool) -> None:
    assert parse_agent(data).loads is expected


def test_first_dashes_anywhere_end_the_block() -> None:
    parsed = loads("name: a\ndescription: before --- after\ntools: Read\n")
    assert parsed.loads
    assert parsed.description == "before"
    assert parsed.tools is None  # `tools:` fell into the body
    assert "tools: Read" in parsed.body


def test_body_is_everything_after_the_fence() -> None:
    parsed = parse_agent(b"---\nname: a\ndescription: d\n---\n\nHello\n")
    assert parsed.body.strip() == "Hello"


# --- YAML typing --------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["yes", "no", "on", "off", "1_000", "2024-01-01", "1:20", "Yes", "0b11", "=", "0777x"]
)
def test_yaml_12_core_keeps_these_as_strings(value: str) -> None:
    parsed = loads(f"name: a\ndescription: {value}\nextra: {value}\n")
    assert parsed.loads
    assert parsed.description == value
    assert parsed.fields["extra"] == value


@pytest.mark.parametrize(
    "value", ["123", "1.5", "true", "null", "~", "0x1F", "1e3", ".inf", "-.INF", ".NaN", "0o17", ""]
)
def test_yaml_12_core_types_these_as_non_strings(value: str) -> None:
    parsed = loads(f"name: {value}\ndescription: d\n")
    assert not parsed.loads
    assert parsed.drop_reason == "name is missing, empty or not a string"


def test_pyyaml_safe_load_would_disagree() -> None:
    # The reason for CoreLoader: YAML 1.1 turns these into bool and date.
    assert yaml.safe_load("a: yes")["a"] is True
    assert load_yaml("a: yes\nb: 2024-01-01\nc: 1:20") == {
        "a": "yes",
        "b": "2024-01-01",
        "c": "1:20",
    }


def test_non_mapping_counts_as_empty() -> None:
    parsed = loads("- name: a\n- description: d\n")
    assert not parsed.loads
    assert parsed.parse == "strict"
    assert dict(parsed.fields) == {}


def test_flow_mapping_works() -> None:
    assert loads("{name: a, description: d}\n").name == "a"


def test_duplicate_keys_last_wins() -> None:
    parsed = loads("name: first\ndescription: d\nname: second\n")
    assert parsed.name == "second"


def test_anchors_aliases_and_merges() -> None:
    parsed = loads("base: &b {name: merged, description: from merge}\n<<: *b\ndescription: own\n")
    assert (parsed.name, parsed.description) == ("merged", "own")


@pytest.mark.parametrize("tag", ["!foo", "!!python/object", "!!timestamp", "!!binary"])
def test_unknown_tags_are_ignored(tag: str) -> None:
    parsed = loads(f"name: {tag} agent\ndescription: d\n")
    assert parsed.loads
    assert parsed.name == "agent"


def test_keys_are_case_sensitive() -> None:
    parsed = loads("Name: a\ndescription: d\n")
    assert not parsed.loads
    assert "Name" in parsed.fields


# --- the fallback -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ("description: Use when: x", "Use when: x"),
        ("description: [Draft] reviewer", "[Draft] reviewer"),
        ("description: *important* reviewer", "*important* reviewer"),
        ("description: @team reviewer", "@team reviewer"),
        ("description: %p reviewer", "%p reviewer"),
        ("description: `code` reviewer", "`code` reviewer"),
        ("description: > reviewer", "> reviewer"),
        (
            "description: Review. Examples:\\n\\n<example>\\nContext: x\\n</example>",
            "Review. Examples:\n\n<example>\nContext: x\n</example>",
        ),
    ],
)
def test_fallback_rescues(line: str, value: str) -> None:
    parsed = loads(f"name: a\n{line}\n")
    assert parsed.loads
    assert parsed.used_fallback
    assert parsed.description == value


def test_fallback_tools_star_and_model_with_colon() -> None:
    parsed = loads("name: a\ndescription: d\ntools: *\nmodel: sonnet: fast\n")
    assert parsed.used_fallback
    assert parsed.tools is None
    assert parsed.fields["model"] == "sonnet: fast"


@pytest.mark.parametrize(
    "frontmatter",
    [
        "name: a\ndescription: Use when: x\nkey2: Use when: y\n",  # offending key has a digit
        'name: a\ndescription: "Reviewer" for code\n',  # quote then more text
        "name: a\ndescription: - item\n",  # value starts with `- `
        "name: a\ndescription: Use when: x\n  and more\n",  # indented continuation
        "name: a\ndescription: |\n  Block: with colon\ntools: Use when: x\n",  # block scalar
        "name: a\ndescription: first line\nsecond line without colon\n",  # unindented
    ],
)
def test_fallback_does_not_rescue(frontmatter: str) -> None:
    parsed = loads(frontmatter)
    assert not parsed.loads
    assert parsed.parse == "failed"
    assert parsed.evident_name == "a"


def test_crlf_file_needing_the_fallback_is_dropped() -> None:
    data = b"---\r\nname: a\r\ndescription: Use when: x\r\n---\r\nbody\r\n"
    parsed = parse_agent(data)
    assert not parsed.loads
    assert (parsed.evident_name, parsed.evident_description) == ("a", "Use when: x")
    assert parse_agent(data.replace(b"\r\n", b"\n")).loads


def test_fallback_comments_leak_into_values() -> None:
    parsed = loads("name: a\ndescription: Use when: x\ntools: Read, Grep # search\n")
    assert parsed.tools == ("Read", "Grep", "#", "search")


def test_normal_path_strips_comments() -> None:
    parsed = loads("name: a\ndescription: Use it #1 choice\n")
    assert parsed.description == "Use it"
    assert parsed.parse == "strict"


def test_fallback_quoting_rules() -> None:
    text = 'k: a: b\nq: "already: quoted"\nl: [a, b]\nx: plain\n\tt: y\nback: a\\b "c" #'
    assert quote_for_fallback(text) == (
        'k: "a: b"\nq: "already: quoted"\nl: [a, b]\nx: plain\n  t: y\nback: "a\\\\b \\"c\\" #"'
    )


def test_fallback_line_pattern_uses_javascript_dot() -> None:
    # `.` in JavaScript does not match U+2028, so the line is left alone.
    assert quote_for_fallback("k: a: b\u2028c") == "k: a: b\u2028c"


# --- load rule ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frontmatter", "reason"),
    [
        ("description: d\n", "name is missing, empty or not a string"),
        ("name:\ndescription: d\n", "name is missing, empty or not a string"),
        ("name: ''\ndescription: d\n", "name is missing, empty or not a string"),
        ("name: [a]\ndescription: d\n", "name is missing, empty or not a string"),
        ("name: -a\ndescription: d\n", "name starts with '-'"),
        ("name: 'a:b'\ndescription: d\n", "name contains ':'"),
        ("name: a\uff1ab\ndescription: d\n", "name contains ':'"),  # NFKC folds to ':'
        (f"name: {'a' * 257}\ndescription: d\n", "name is longer than 256 characters"),
        (f"name: {'😀' * 129}\ndescription: d\n", "name is longer than 256 characters"),
        ("name: a\n", "description is missing, empty or not a string"),
        ("name: a\ndescription: ''\n", "description is missing, empty or not a string"),
        ("name: a\ndescription: 12\n", "description is missing, empty or not a string"),
        ("name: a\ndescription: d\nhooks: nonsense\n", "`hooks` must be a mapping"),
        ("name: a\ndescription: d\nhooks: []\n", "`hooks` must be a mapping"),
        ("name: a\ndescription: d\nPreToolUse: [x]\n", "PreToolUse/PermissionRequest"),
        ("name: a\ndescription: d\nhooks: {PreToolUse: x}\n", "`hooks.PreToolUse`"),
    ],
)
def test_dropped(frontmatter: str, reason: str) -> None:
    parsed = loads(frontmatter)
    assert not parsed.loads
    assert parsed.drop_reason is not None and reason in parsed.drop_reason, parsed.drop_reason
    assert parsed.drop_reason.startswith(reason)
    assert (parsed.name, parsed.description, parsed.tools) == (None, None, None)


@pytest.mark.parametrize(
    "frontmatter",
    [
        f"name: {'a' * 256}\ndescription: d\n",
        f"name: {'😀' * 128}\ndescription: d\n",
        "name: ' '\ndescription: ' '\n",  # whitespace-only counts as non-empty
        "name: a\ndescription: d\nhooks: {}\n",
        "name: a\ndescription: d\nhooks:\n",
        "name: a\ndescription: d\nhooks: {pre: x, post: y}\n",
        "name: a\ndescription: d\nhooks:\n  PreToolUse:\n    - matcher: Bash\n"
        "      hooks:\n        - type: command\n          command: echo\n",
        "name: a\ndescription: d\ncolor: nope\nmodel: 12\nmaxTurns: -1\n",
    ],
)
def test_loads(frontmatter: str) -> None:
    assert loads(frontmatter).loads


def test_name_is_exact() -> None:
    assert loads("name: ' Reviewer '\ndescription: d\n").name == " Reviewer "


def test_description_literal_backslash_n_becomes_newline() -> None:
    assert loads("name: a\ndescription: 'one\\ntwo'\n").description == "one\ntwo"
    assert loads('name: a\ndescription: "one\\\\ntwo"\n').description == "one\ntwo"


def test_block_scalar_keeps_final_newline() -> None:
    assert loads("name: a\ndescription: |\n  one\n  two\n").description == "one\ntwo\n"


def test_oversized_file_is_not_loaded() -> None:
    data = agent("name: a\ndescription: d\n", body="x" * 1_048_576)
    parsed = parse_agent(data)
    assert not parsed.loads
    assert parsed.too_large
    assert parsed.evident_name == "a"


def test_invalid_utf8_becomes_replacement_and_loads() -> None:
    parsed = parse_agent(b"---\nname: a\ndescription: caf\xe9\n---\nbody\xff")
    assert parsed.loads
    assert parsed.description == "caf\ufffd"
    assert parsed.invalid_utf8


# --- tools --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Read, Grep", ("Read", "Grep")),
        ("Read Grep", ("Read", "Grep")),
        ("Bash, Read, Run Terminal", ("Bash", "Read", "Run", "Terminal")),
        ("Bash(git diff:*), Read", ("Bash(git diff:*)", "Read")),
        ("Bash(git, Read", ("Bash(git, Read",)),  # unbalanced paren swallows the rest
        ("Read;Grep", ("Read;Grep",)),
        ("Read|Grep", ("Read|Grep",)),
        ("Read\tGrep", ("Read\tGrep",)),
        ("read, read", ("read", "read")),
        ("Read, *", None),
        ("*", None),
        (["Read", "*"], None),
        (["Read, Grep", "Edit", 3, None], ("Read", "Grep", "Edit")),
        ("Read\nGrep\n", ("Read\nGrep",)),
        (None, ()),
        ("", ()),
        (False, ()),
        (True, ()),
        (0, ()),
        (7, ()),
        ({"a": 1}, ()),
        ([], ()),
        (" , ,", ()),
    ],
)
def test_split_tools(value: object, expected: tuple[str, ...] | None) -> None:
    assert split_tools(value) == expected


def test_tools_absent_means_inherit_and_empty_means_none() -> None:
    assert loads("name: a\ndescription: d\n").tools is None
    assert loads("name: a\ndescription: d\ntools:\n").tools == ()
    assert loads("name: a\ndescription: d\ntools: []\n").tools == ()
    assert loads("name: a\ndescription: d\ntools: |\n  Read\n  Grep\n").tools == ("Read\nGrep",)
    assert loads("name: a\ndescription: d\ntools: [Read, Grep]\n").tools == ("Read", "Grep")


@pytest.mark.parametrize(
    ("frontmatter", "expected"),
    [
        ("memory: project\ntools: Glob\n", ("Glob", "Write", "Edit", "Read")),
        ("memory: local\ntools: []\n", ("Write", "Edit", "Read")),
        ("memory: user\ntools:\n", ("Write", "Edit", "Read")),
        ("memory: user\ntools: Edit, Grep\n", ("Edit", "Grep", "Write", "Read")),
        (
            "memory: user\ntools: Bash(git:*), write\n",
            ("Bash(git:*)", "write", "Write", "Edit", "Read"),
        ),
        ("memory: user\ntools: Read, *\n", None),  # still all tools
        ("memory: user\n", None),  # no `tools`: inherits all
        ("memory: Project\ntools: Glob\n", ("Glob",)),  # not a valid scope: nothing added
        ("memory: true\ntools: Glob\n", ("Glob",)),
        ("memory: [user]\ntools: Glob\n", ("Glob",)),
    ],
)
def test_memory_adds_write_edit_read_to_an_explicit_tools_list(
    frontmatter: str, expected: tuple[str, ...] | None
) -> None:
    # Observed on 2.1.330: a valid `memory` appends Write, Edit, Read (in that order, when
    # missing) to a `tools` list, even an empty one, so the agent can keep its memory.
    assert loads(f"name: a\ndescription: d\n{frontmatter}").tools == expected


# --- hostile input -----------------------------------------------------------------------


NOT_YAML = "the frontmatter is not valid YAML, even after the fallback"


def test_alias_bomb_is_bounded() -> None:
    lines = ["name: a", "description: d", "a0: [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    lines[2] = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"
    started = time.perf_counter()
    parsed = loads("\n".join(lines) + "\n")
    assert time.perf_counter() - started < 2
    # both parses refused to expand it (not parse_agent's catch-all for a crash)
    assert (parsed.loads, parsed.parse, parsed.drop_reason) == (False, "failed", NOT_YAML)


def test_deep_nesting_does_not_crash() -> None:
    for extra in ("x: " + "[" * 200_000, "x: " + "- " * 5_000 + "y"):
        parsed = loads(f"name: a\ndescription: d\n{extra}\n")
        assert (parsed.loads, parsed.parse, parsed.drop_reason) == (False, "failed", NOT_YAML)


@pytest.mark.parametrize(
    ("data", "parse", "reason"),
    [
        (b"\x00\xff\xfe", "none", "no frontmatter (the file must start with a `---` line)"),
        (b"---\n\x00\n---\n", "failed", NOT_YAML),
        (b"---\n: : :\n---\n", "failed", NOT_YAML),
        (b"---\n? [a]\n: b\n---\n", "strict", "name is missing, empty or not a string"),
    ],
)
def test_garbage_is_read_as_the_client_reads_it(data: bytes, parse: str, reason: str) -> None:
    """parse_agent never raises (it turns any failure into an unreadable file), so each case
    asserts the reading itself: the parser's own verdict, never that catch-all's."""
    parsed = parse_agent(data)
    assert (parsed.loads, parsed.parse, parsed.drop_reason) == (False, parse, reason)


# --- evident values and renaming -----------------------------------------------------------


def test_evident_values_of_a_dropped_file() -> None:
    parsed = parse_agent(b"\n---\nname: 'helper'\ndescription: Runs\ncontinued here\n---\n")
    assert not parsed.loads
    assert (parsed.evident_name, parsed.evident_description) == ("helper", "Runs continued here")


@pytest.mark.parametrize(
    ("frontmatter", "description"),
    [
        # example dialogue lines continue the description; a field line ends it
        (
            'description: Helps. Examples:\\n<example>\nuser: "hi: there"\nassistant: "ok"\n'
            "Context: more\n</example>\ncolor: blue\n",
            'Helps. Examples:\n<example> user: "hi: there" assistant: "ok" Context: more '
            "</example>",
        ),
        ("description: One\nrun on\nTools: Read\n", "One run on"),  # a key in the wrong case
        ("description: One\nrun on\nkey2: a: b\n", "One run on"),
        # folded like an indented plain scalar: a blank line is a line break
        (
            "description: First\nsame para\n\nSecond\n\n\nThird\nmodel: haiku\n",
            "First same para\nSecond\n\nThird",
        ),
    ],
)
def test_evident_description_of_a_run_on_value(frontmatter: str, description: str) -> None:
    parsed = loads(f"name: a\n{frontmatter}")
    assert not parsed.loads
    assert (parsed.evident_name, parsed.evident_description) == ("a", description)


@pytest.mark.parametrize(
    "data",
    [
        agent("name: old\ndescription: d\ntools: Read\n"),
        b"---\r\nname: old\r\ndescription: d\r\n---\r\nbody\r\n",
        agent("name: old\ndescription: Use when: x\n"),  # loads through the fallback
        agent("{name: old, description: d}\n"),
        agent("name: old\ndescription: d\nname: older\n"),
        b"\xef\xbb\xbf---\nname: old\ndescription: d\n---\nbody \xff\n",
        agent("description: d\nname: >\n  old\n"),
    ],
)
@pytest.mark.parametrize("new_name", ["new-name", "yes", "a #b", "#x", "x -"])
def test_rename_agent(data: bytes, new_name: str) -> None:
    renamed = rename_agent(data, new_name)
    parsed = parse_agent(renamed)
    assert parsed.loads
    assert parsed.name == new_name
    before = parse_agent(data)
    assert parsed.description == before.description
    assert parsed.tools == before.tools
    assert renamed.endswith(data[-8:])  # the body bytes are untouched


def test_rename_keeps_the_body_byte_for_byte() -> None:
    body = "\n# Title\n\nname: not-frontmatter\n---\n"
    data = agent("name: old\ndescription: d\n", body=body)
    renamed = rename_agent(data, "new")
    assert renamed == data.replace(b"name: old", b"name: new", 1)


def test_rename_without_frontmatter_returns_input() -> None:
    assert rename_agent(b"just text", "x") == b"just text"


# --- findings from the real client (2.1.330) beyond the summary page -------------------


@pytest.mark.parametrize(
    ("value", "is_string"),
    [
        ("-0x1F", False),  # Bun.YAML accepts a sign on hex and octal
        ("+0o17", False),
        ("0xFFFFFFFFFFFFFFFF", False),
        ("0x1FFFFFFFFFFFFFFFF", True),  # past 64 bits it stays text
        ("0o3777777777777777777777", True),
    ],
)
def test_bun_number_edges(value: str, is_string: bool) -> None:
    assert loads(f"name: a\ndescription: {value}\n").loads is is_string


def test_list_keys_become_text() -> None:
    parsed = loads("name: a\ndescription: d\n? [x, y]\n: z\n")
    assert parsed.loads
    assert parsed.fields["x,y"] == "z"


@pytest.mark.parametrize(
    ("hooks", "ok"),
    [
        ("{matcher: x, hooks: [{type: command, command: ls}]}", False),  # one bare matcher
        ("{PreToolUse: [{matcher: x, hooks: [{type: nope, command: ls}]}]}", False),
        ("{PreToolUse: [{matcher: x, hooks: [{type: command, command: ls}]}]}", True),
        ("{Stop: [{matcher: x, hooks: y}]}", True),  # bad entries of other events are dropped
        ("{Stop: x}", True),
        ("false", True),
        ("0", True),
    ],
)
def test_hooks_shapes(hooks: str, ok: bool) -> None:
    assert loads(f"name: a\ndescription: d\nhooks: {hooks}\n").loads is ok


def test_guarded_hooks_outside_hooks_drop_the_agent() -> None:
    nested = (
        "settings:\n  hooks:\n    - matcher: Bash\n      hooks: [{type: command, command: x}]\n"
    )
    assert not loads(f"name: a\ndescription: d\n{nested}").loads
    assert loads("name: a\ndescription: d\nPreToolUse: []\n").loads
    assert loads("name: a\ndescription: d\nmetadata: {PreToolUse: [x]}\n").loads


def test_anchor_defined_twice_takes_the_later_one() -> None:
    parsed = loads("name: a\ntools: &t Read\ndescription: &t later\nx: *t\n")
    assert parsed.parse == "strict"
    assert parsed.fields["x"] == "later"


def test_tab_between_words_of_a_plain_value() -> None:
    parsed = loads("name: a\ndescription: tab\there\n")
    assert (parsed.parse, parsed.description) == ("strict", "tab\there")


# --- tags, quoted CRLF breaks, NEL/LS/PS (measured against 2.1.330) ---------------------


@pytest.mark.parametrize(
    ("value", "description"),
    [
        ("!!int 12", None),  # a plain scalar that reads as the tag's kind keeps it
        ("!!int 2.5", None),  # ... any number for !!int / !!float
        ("!!float 3", None),
        ("!!bool false", None),
        ("!!null ~", None),
        ("!!int '12'", "12"),  # quoted: always text
        ('!!float "2.5"', "2.5"),
        ("!!bool 'false'", "false"),
        ("!!null 'n'", "n"),
        ("!!int word", "word"),  # plain, but not of the tag's kind: text
        ("!!int false", "false"),
        ("!!bool 0", "0"),
        ("!!bool on", "on"),
        ("!!null n", "n"),
        ("!!seq word", "word"),  # a collection tag on a scalar is ignored
        ("!!map word", "word"),
        ("!!str {k: v}", None),  # a scalar tag on a collection is ignored
        ("!!int [1]", None),
        ("!mine 12", "12"),  # unknown tags keep the text
        ("!!binary 12", "12"),
        ("! 12", "12"),  # the non-specific tag means text
        ("!<tag:yaml.org,2002:int> 12", "12"),  # verbatim: not the core int
    ],
)
def test_explicit_tags(value: str, description: str | None) -> None:
    parsed = loads(f"name: a\ndescription: {value}\n")
    assert parsed.parse == "strict"
    assert parsed.description == description
    assert parsed.loads is (description is not None)


@pytest.mark.parametrize(
    ("value", "description"),
    [
        ('"one\r\n  two"', "one\ntwo"),  # the first CRLF of a run counts as two breaks
        ("'one\r\n  two'", "one\ntwo"),
        ('"one\r\n\r\n  two"', "one\n\ntwo"),
        ('"one\r\n   \r\n  two\r\n  three"', "one\n\ntwo\nthree"),
        ('"one \\\r\n  two"', "one \ntwo"),  # an escaped break too
        ("one\r\n  two", "one two"),  # plain scalars fold as usual
        (">\r\n  one\r\n  two", "one two\n"),
    ],
)
def test_crlf_breaks_in_quoted_scalars(value: str, description: str) -> None:
    data = f"---\r\nname: a\r\ndescription: {value}\r\n---\r\nbody".encode()
    assert parse_agent(data).description == description


@pytest.mark.parametrize("char", ["\x85", "\u2028", "\u2029"])
def test_nel_ls_ps_are_not_line_breaks(char: str) -> None:
    assert loads(f"name: a\ndescription: x{char}y\n  z\n").description == f"x{char}y z"
    assert loads(f"name: a\ndescription: |\n  x{char}y\n").description == f"x{char}y\n"
    assert loads(f'name: a\ndescription: "x{char}y"\n').description == f"x{char}y"


@pytest.mark.parametrize(
    ("block", "description"),
    [
        ("|\n  cut --- here", "cut \n"),  # the cut last line ends as if a break followed
        ("|+\n  cut --- here", "cut \n"),
        ("|-\n  cut --- here", "cut "),
        (">\n  one\n  cut --- here", "one cut \n"),
        ("|\n  one\n  --- here", "one\n"),  # a last line of spaces only adds nothing
        (">+\n  one\n\n  --- here", "one\n\n"),
    ],
)
def test_block_scalar_cut_by_dashes(block: str, description: str) -> None:
    assert loads(f"name: a\ndescription: {block}\n").description == description


def test_dump_yaml_value_round_trips_nan() -> None:
    assert dump_yaml_value(float("nan")) == ".nan"
    assert dump_yaml_value(True) == "true"


def test_nesting_depth_is_measured_without_recursion() -> None:
    deep: list[object] = []
    for _ in range(5_000):
        deep = [deep]
    assert nesting_depth({"a": deep, "b": "x"}) == 5_002
    assert (nesting_depth("x"), nesting_depth([]), nesting_depth({"a": [1, {"b": 2}]})) == (0, 1, 3)


def test_rename_of_a_name_too_deep_to_rewrite_is_refused() -> None:
    data = agent("{name: old, description: d, deep: " + "[" * 990 + "]" * 990 + "}\n")
    assert parse_agent(data).name == "old"
    with pytest.raises(ResolveError, match="nested 991 levels deep, too deep to rewrite"):
        rename_agent(data, "new")


def test_deep_nesting_next_to_a_line_separator_still_loads() -> None:
    deep = "[" * 990 + "]" * 990
    parsed = loads(f"name: a\ndescription: one\u2028two\nk: {deep}\n")
    assert (parsed.loads, parsed.parse, parsed.description) == (True, "strict", "one\u2028two")
