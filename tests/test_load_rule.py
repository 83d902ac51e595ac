"""The load rule is written once: frontmatter says every reason a file is dropped, compat
turns each reason into its diagnostic and finds no drop of its own."""

from __future__ import annotations

from typing import get_args

import pytest

from agentsync.compat import diagnose
from agentsync.frontmatter import DropRule, parse_agent

# One file per rule the client drops an agent for, and the code that describes it.
BREAKS: dict[str, tuple[bytes, str]] = {
    "size": (b"---\nname: a\ndescription: d\n---\n" + b"x" * 1_048_576, "AS002"),
    "fence": (b"name: a\ndescription: d\n", "AS003"),
    "yaml": (b"---\nname: a\ndescription: [unclosed\n  : {\n---\nbody\n", "AS006"),
    "name": (b"---\nname: [a]\ndescription: d\n---\nbody\n", "AS007"),
    "description": (b"---\nname: a\ndescription: 12\n---\nbody\n", "AS008"),
    "name-dash": (b"---\nname: -a\ndescription: d\n---\nbody\n", "AS009"),
    "name-colon": (b"---\nname: 'a:b'\ndescription: d\n---\nbody\n", "AS010"),
    "name-length": (b"---\nname: " + b"a" * 257 + b"\ndescription: d\n---\nbody\n", "AS011"),
    "hooks": (b"---\nname: a\ndescription: d\nhooks: nonsense\n---\nbody\n", "AS012"),
}
DROP_CODES = {code for _, code in BREAKS.values()} | {"AS004", "AS005", "AS013"}


@pytest.mark.parametrize("rule", sorted(BREAKS))
def test_each_rule_is_found_by_frontmatter_and_described_by_compat(rule: str) -> None:
    data, code = BREAKS[rule]
    agent, found = diagnose(data, "a.md")
    assert [reason.rule for reason in agent.drop_reasons] == [rule]
    assert [d.code for d in found if d.code in DROP_CODES] == [code]


def test_every_rule_has_a_case() -> None:
    assert set(get_args(DropRule)) - set(BREAKS) == {"unreadable"}  # the parser cannot fail


def test_every_broken_rule_is_kept_in_the_clients_order() -> None:
    data = b"---\nname: '-a:b'\ndescription: ''\nhooks: []\n---\nbody\n"
    agent, found = diagnose(data, "a.md")
    rules = [reason.rule for reason in agent.drop_reasons]
    assert rules == ["name-dash", "name-colon", "description", "hooks"]
    assert agent.drop_reason == "name starts with '-'"  # the first one the client meets
    assert sorted(d.code for d in found if d.code in DROP_CODES) == [
        "AS008",
        "AS009",
        "AS010",
        "AS012",
    ]


# Observed on the real client: an unknown event is skipped with a warning unless guarding
# hooks (PreToolUse, PermissionRequest) sit somewhere inside it, up to four levels down.
UNKNOWN_EVENTS: list[tuple[str, bool]] = [
    (
        "pre:\n    PreToolUse:\n      - matcher: Bash\n"
        "        hooks: [{type: command, command: x}]",
        False,
    ),
    ("pre: {PreToolUse: x}", False),
    ("pre: {PermissionRequest: [1]}", False),
    ("pre: {x: {PreToolUse: y}}", False),
    ("pre: [{x: {PreToolUse: y}}]", False),
    ("pre: {a: {b: {c: {PreToolUse: y}}}}", False),
    ("pre: {mcpServers: {PreToolUse: y}}", False),  # no key is passed over inside `hooks`
    ("pre: {a: {b: {c: {d: {PreToolUse: y}}}}}", True),  # too deep to be looked at
    ("pre: [[[[{PreToolUse: y}]]]]", True),
    ("pre: [{matcher: Bash, hooks: [{type: command, command: x}]}]", True),
    ("pre: {PostToolUse: [{matcher: Bash, hooks: [{type: command, command: x}]}]}", True),
    ("pre: {PreToolUse: []}", True),
    ("pre: {PreToolUse: null}", True),
    ("pre: x", True),
    ("pre: []", True),
    # a known event whose entry holds guarding hooks where a matcher belongs
    ("PostToolUse: [{pre: {PreToolUse: y}}]", False),
    ("PostToolUse: [[{PreToolUse: y}]]", False),
    (
        "PostToolUse: [{matcher: x, hooks: [{type: command, command: c}], extra: {PreToolUse: y}}]",
        False,
    ),
    ("PostToolUse: [{matcher: x, hooks: [{type: command, command: c}]}]", True),
]


@pytest.mark.parametrize(("hooks", "loads"), UNKNOWN_EVENTS)
def test_guarding_hooks_inside_an_unknown_event_drop_the_agent(hooks: str, loads: bool) -> None:
    data = f"---\nname: a\ndescription: d\nhooks:\n  {hooks}\n---\nbody\n".encode()
    agent, found = diagnose(data, "a.md")
    assert agent.loads is loads
    if not loads:
        assert [reason.rule for reason in agent.drop_reasons] == ["hooks"]
        assert [d.code for d in found if d.code in DROP_CODES] == ["AS012"]
        assert "PreToolUse/PermissionRequest" in found[0].message


def test_a_file_that_loads_breaks_no_rule() -> None:
    agent = parse_agent(b"---\nname: a\ndescription: d\n---\nbody\n")
    assert (agent.loads, agent.drop_reasons, agent.drop_reason) == (True, (), None)
