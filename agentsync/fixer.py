"""`check --fix`: rewrite only an agent's frontmatter as strict YAML the client reads the same."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agentsync.agenttools import RETIRED_TOOLS, split_tools
from agentsync.frontmatter import (
    AgentFile,
    agent_tools,
    parse_agent,
    replace_frontmatter,
    starts_field,
)
from agentsync.textsafe import inline
from agentsync.textscan import conflict_marker_line
from agentsync.yaml12 import (
    MAX_REWRITE_DEPTH,
    dump_yaml_mapping,
    dump_yaml_value,
    load_yaml,
    nesting_depth,
    strict_load,
)

_KEY_LINE = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:(?:[ \t]|$)")


@dataclass(frozen=True)
class _Block:
    """One top-level entry of the frontmatter: its key (None for comments) and raw lines."""

    key: str | None
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def raw_value(self) -> str:
        first = self.lines[0].split(":", 1)[1].strip()
        rest = " ".join(line.strip() for line in self.lines[1:] if line.strip())
        return f"{first} {rest}".strip() if rest else first


@dataclass(frozen=True)
class _Target:
    """What the fixed file must make the client read."""

    name: str
    description: str
    tools: tuple[str, ...] | None
    values: Mapping[str, Any]  # value per key to write when a block must be rewritten


@dataclass(frozen=True)
class Fix:
    """What `check --fix` makes of one file: the new bytes, or why it left the file alone."""

    after: bytes
    skipped: str | None = None  # set when the file may need a fix that was not attempted


def fix_agent(data: bytes, *, fix_tools: bool = False) -> bytes:
    """The file with its frontmatter rewritten as strict YAML; `data` itself when not fixable.

    The client reads the same name, description and tools as before, or, for a file it
    drops only because of how a value was written, the evident ones. The body is never
    touched. `fix_tools` also replaces retired tool names by their successors.
    """
    return plan_fix(data, fix_tools=fix_tools).after


def plan_fix(data: bytes, *, fix_tools: bool = False) -> Fix:
    """`fix_agent`, saying why when it left a file alone that it did not rule out."""
    agent = parse_agent(data)
    target = _target(agent, fix_tools)
    if target is None or agent.frontmatter is None:
        return Fix(data)
    conflict = conflict_marker_line(data)
    if conflict is not None:  # a rewrite would pick one side of the conflict silently
        return Fix(data, f"not rewritten: resolve the merge conflict at line {conflict} first")
    depth = nesting_depth(target.values)
    if depth > MAX_REWRITE_DEPTH:
        return Fix(
            data,
            f"not rewritten: its frontmatter nests {depth} levels deep, and `check --fix` "
            f"rewrites at most {MAX_REWRITE_DEPTH}",
        )
    newline = "\r\n" if "\r\n" in agent.frontmatter else "\n"
    blocks = _blocks(agent.frontmatter.replace("\r\n", "\n"))
    rewritten = _rewrite_blocks(blocks, target)
    for candidate_text in (rewritten, dump_yaml_mapping(target.values)):
        text = candidate_text if candidate_text.endswith("\n") else candidate_text + "\n"
        candidate = replace_frontmatter(data, text.replace("\n", newline))
        if candidate is not None and _reads_as(candidate, target):
            return Fix(candidate)
    return Fix(data)


def _target(agent: AgentFile, fix_tools: bool) -> _Target | None:
    if agent.loads:
        values = dict(agent.fields)
    elif agent.parse == "failed" and agent.evident_name and agent.evident_description:
        values = _evident_values(agent)
    else:
        return None  # dropped for a reason no rewrite of the same values can cure
    if fix_tools and "tools" in values:
        values["tools"] = _successors(values["tools"])
    # The client turns every literal `\n` of a description into a newline; the fixed file
    # says so itself, so strict YAML readers see the same text (escapes made real).
    description = values["description"].replace("\\n", "\n")
    values["description"] = description
    return _Target(
        name=values["name"],
        description=description,
        tools=agent_tools(values),
        values=values,
    )


def _evident_values(agent: AgentFile) -> dict[str, Any]:
    """Keys as a reader sees them in a file the client cannot parse."""
    values: dict[str, Any] = {}
    for block in _field_blocks((agent.frontmatter or "").replace("\r\n", "\n")):
        if block.key is None:
            continue
        values[block.key] = _read_alone(block)
    values["name"] = agent.evident_name
    values["description"] = agent.evident_description
    return values


def _read_alone(block: _Block) -> Any:
    """A block's value as the client would read it on its own, else its text."""
    try:
        parsed = load_yaml(block.text)
    except Exception:  # not YAML on its own: keep what is written
        return block.raw_value
    if isinstance(parsed, dict) and block.key in parsed:
        return parsed[block.key]
    return block.raw_value


def _successors(value: Any) -> Any:
    pieces = split_tools(value)
    if not pieces:
        return value
    mapped: list[str] = []
    for piece in pieces:
        new = RETIRED_TOOLS.get(piece, piece)
        if new not in mapped:
            mapped.append(new)
    return mapped if isinstance(value, list) else ", ".join(mapped)


def _blocks(frontmatter: str) -> list[_Block]:
    blocks: list[_Block] = []
    current: list[str] = []
    key: str | None = None
    for line in frontmatter.removesuffix("\n").split("\n"):
        found = _KEY_LINE.match(line)
        if found is not None:
            if current:
                blocks.append(_Block(key, tuple(current)))
            key, current = found.group(1), [line]
        else:
            current.append(line)
    if current:
        blocks.append(_Block(key, tuple(current)))
    return blocks


def _field_blocks(frontmatter: str) -> list[_Block]:
    """Blocks as a reader sees them: a dialogue line (`user: ...`) continues the value above."""
    merged: list[_Block] = []
    for block in _blocks(frontmatter):
        if block.key is not None and merged and not starts_field(block.key):
            above = merged[-1]
            merged[-1] = _Block(above.key, above.lines + block.lines)
        else:
            merged.append(block)
    return merged


def _rewrite_blocks(blocks: list[_Block], target: _Target) -> str:
    last = {block.key: index for index, block in enumerate(blocks) if block.key is not None}
    out: list[str] = []
    for index, block in enumerate(blocks):
        if block.key is None:
            out.extend(block.lines)
            continue
        if last[block.key] != index or block.key not in target.values:
            continue  # an earlier duplicate: the client never read it
        value = target.values[block.key]
        if _parse_alone(block.text) == {block.key: value}:
            out.extend(block.lines)
        else:
            out.append(f"{block.key}: {dump_yaml_value(value)}")
            out.extend(_trailing_comments(block.lines))
    return "\n".join(out)


def _trailing_comments(lines: tuple[str, ...]) -> list[str]:
    """Comment and blank lines that end a block: kept when its value is rewritten."""
    kept: list[str] = []
    for line in reversed(lines[1:]):
        if line.strip() and not line.lstrip().startswith("#"):
            break
        kept.insert(0, line)
    return kept


def _parse_alone(text: str) -> dict[str, Any] | None:
    """The block read by both the client's typing and `yaml.safe_load`, if they agree."""
    try:
        core, strict = load_yaml(text), strict_load(text)
    except Exception:  # any parse failure means "rewrite this block"
        return None
    if not isinstance(core, dict) or core != strict:
        return None
    return core


def _reads_as(candidate: bytes, target: _Target) -> bool:
    after = parse_agent(candidate)
    if not after.loads or after.parse != "strict" or after.frontmatter is None:
        return False
    try:
        if not isinstance(strict_load(after.frontmatter), dict):
            return False
    except Exception:  # strict YAML must accept it
        return False
    return (after.name, after.description, after.tools) == (
        target.name,
        target.description,
        target.tools,
    )


def unified_diff(before: bytes, after: bytes, path: str) -> str:
    """A unified diff of the change `check --fix` is about to write."""
    from agentsync.patch import unified

    shown = inline(path)  # a file name with a newline must not split the header
    return unified(before, after, f"a/{shown}", f"b/{shown}")
