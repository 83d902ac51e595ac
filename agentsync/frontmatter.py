"""Agent-file frontmatter, read exactly as Claude Code 2.1.330 reads it: loads or not, and why."""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from agentsync._fs import read_regular
from agentsync.agenttools import listed_tools, split_tools  # noqa: F401 - callers split here too
from agentsync.errors import ResolveError, StorageError
from agentsync.hookrules import hooks_problem
from agentsync.js import JS_LINE_END, JS_WS, js_key, utf16_len

if TYPE_CHECKING:
    from agentsync import yaml12
else:
    from agentsync.lazy import OnFirstUse

    yaml12 = OnFirstUse("agentsync.yaml12")  # PyYAML: only for files that are parsed

CLIENT_VERSION = "2.1.330"  # the client whose rules these are
# The oldest and newest clients these rules were checked against: they behave alike.
VERIFIED_CLIENTS = ("2.1.330", "2.1.332")
MAX_FILE_BYTES = 1_048_576  # the client skips larger files
MAX_NAME_UTF16 = 256

# `^---\s*\n([\s\S]*?)---\s*\n?`: the block ends at the first `---` anywhere.
_FENCE = re.compile(rf"---[{JS_WS}]*\n(.*?)---[{JS_WS}]*\n?", re.DOTALL)
# The one-shot fallback's line pattern, `^([a-zA-Z_-]+):\s+(\S.*)$` in JavaScript.
_FALLBACK_LINE = re.compile(rf"([a-zA-Z_-]+):[{JS_WS}]+([^{JS_WS}][^{JS_LINE_END}]*)\Z")
_NEEDS_QUOTES = re.compile(r"[{}\[\]*&#!|>%@`]|: ")
_LEADING_TABS = re.compile(rf"(?:^|(?<=[{JS_LINE_END}]))\t+")
_KEY_LINE = re.compile(r"^([^\s#:][^:\n]*?)[ \t]*:(?:[ \t]|$)", re.MULTILINE)
# A lenient fence used only to find the evident name of a file the client drops.
_LENIENT_FENCE = re.compile(r"\A\s*---[ \t]*\r?\n(.*?)(?:\r?\n---[ \t]*(?:\r?\n|\Z)|\Z)", re.DOTALL)


ParseMode = Literal["none", "strict", "fallback", "failed"]
# The rules an agent file can break, each of which makes the client drop it.
DropRule = Literal[
    "unreadable",  # the reader itself failed on the bytes
    "size",  # larger than MAX_FILE_BYTES
    "fence",  # no `---` block at the top
    "yaml",  # the block is not YAML, even after the client's fallback
    "name",  # `name` missing, empty or not a string
    "name-dash",  # `name` starts with '-'
    "name-length",  # `name` longer than MAX_NAME_UTF16
    "name-colon",  # `name` holds ':' (after NFKC folding)
    "description",  # `description` missing, empty or not a string
    "hooks",  # the hooks rule (see hookrules)
]


@dataclass(frozen=True)
class DropReason:
    """One rule an agent file breaks, and what it means in words."""

    rule: DropRule
    text: str


_TOO_LARGE = DropReason("size", "the file is larger than 1 MiB")
_NO_FENCE = DropReason("fence", "no frontmatter (the file must start with a `---` line)")
_NOT_YAML = DropReason("yaml", "the frontmatter is not valid YAML, even after the fallback")


@dataclass(frozen=True)
class AgentFile:
    """What Claude Code reads from one agent file, plus what a checker needs to explain it."""

    name: str | None
    description: str | None
    tools: tuple[str, ...] | None
    evident_name: str | None
    evident_description: str | None
    # Every rule the file breaks, in the order the client checks them; empty when it loads.
    drop_reasons: tuple[DropReason, ...] = ()
    fields: Mapping[str, Any] = field(default_factory=dict)  # the parsed frontmatter
    parse: ParseMode = "none"
    strict_error: str | None = None  # why the first (normal) YAML parse failed
    frontmatter: str | None = None  # the raw text between the fences
    frontmatter_line: int = 2  # 1-based line where the frontmatter text starts
    closing_fence_at: int = -1  # offset in `text` of the `---` that ended the block
    body: str = ""  # everything after the closing fence, as in the file
    key_lines: Mapping[str, int] = field(default_factory=dict)
    has_bom: bool = False
    invalid_utf8: bool = False
    text: str = ""  # the decoded file

    @property
    def loads(self) -> bool:
        return not self.drop_reasons

    @property
    def drop_reason(self) -> str | None:
        """Why the client drops it: the first rule it breaks (None when it loads)."""
        return self.drop_reasons[0].text if self.drop_reasons else None

    @property
    def too_large(self) -> bool:
        return any(reason.rule == "size" for reason in self.drop_reasons)

    @property
    def used_fallback(self) -> bool:
        return self.parse == "fallback"

    def line_of(self, key: str) -> int:
        """The line of `key:` in the frontmatter, else the opening fence line."""
        return self.key_lines.get(key, 1)


# --- the client's steps ----------------------------------------------------------------


def quote_for_fallback(text: str) -> str:
    """The client's one-shot rescue: quote risky one-line values, then untab indentation."""
    out = []
    for line in text.split("\n"):
        match = _FALLBACK_LINE.match(line)
        if match is None:
            out.append(line)
            continue
        key, value = match.groups()
        if _is_quoted(value) or _is_flow_list(value) or not _NEEDS_QUOTES.search(value):
            out.append(line)
            continue
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        out.append(f'{key}: "{escaped}"')
    joined = "\n".join(out)
    return _LEADING_TABS.sub(lambda m: "  " * len(m.group(0)), joined)


def _is_quoted(value: str) -> bool:
    return (value.startswith('"') and value.endswith('"')) or (
        value.startswith("'") and value.endswith("'")
    )


def _is_flow_list(value: str) -> bool:
    if not (value.startswith("[") and value.endswith("]")):
        return False
    try:
        return isinstance(yaml12.load_yaml(value), list)
    except Exception:  # any parse failure means "not a list"
        return False


def load_problems(fields: Mapping[str, Any]) -> tuple[DropReason, ...]:
    """Every rule the fields of a parsed agent break, in the order the client checks them."""
    found = list(_name_problems(fields.get("name")))
    description = fields.get("description")
    if not isinstance(description, str) or not description:
        found.append(DropReason("description", "description is missing, empty or not a string"))
    hooks = hooks_problem(fields)
    if hooks is not None:
        found.append(DropReason("hooks", hooks))
    return tuple(found)


def _name_problems(name: Any) -> Iterator[DropReason]:
    if not isinstance(name, str) or not name:
        yield DropReason("name", "name is missing, empty or not a string")
        return
    if name.startswith("-"):
        yield DropReason("name-dash", "name starts with '-'")
    if utf16_len(name) > MAX_NAME_UTF16:
        yield DropReason("name-length", f"name is longer than {MAX_NAME_UTF16} characters")
    if ":" in unicodedata.normalize("NFKC", name):
        yield DropReason("name-colon", "name contains ':'")


def agent_tools(fields: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The agent's tools as the client loads them: `tools` split, plus the memory tools
    (auto-memory on, the client's default)."""
    return listed_tools(fields)


def _decode(data: bytes) -> tuple[str, bool]:
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace"), True


def _key_lines(frontmatter: str, first_line: int) -> dict[str, int]:
    lines: dict[str, int] = {}
    for match in _KEY_LINE.finditer(frontmatter):
        key = match.group(1).strip("'\"")
        lines[key] = first_line + frontmatter.count("\n", 0, match.start())
    return lines


def _as_fields(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {}
    return {js_key(k): v for k, v in value.items()}


# A line `key: value` whose value is a plain word-led ASCII scalar on one line: the shape of
# most agent files. Anything else (quotes, blocks, lists, comments, indentation, tabs, CR,
# non-ASCII, a second `: `) goes to the YAML parser.
_SIMPLE_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*):(?: ([A-Za-z][\x20-\x7e]*))?")
# Plain scalars the core schema reads as something other than text.
_CORE_WORDS = frozenset({"null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE"})


def simple_mapping(text: str) -> dict[str, Any] | None:
    """The fields of a frontmatter made only of one-line `key: text` entries, exactly as
    the YAML parser gives them; None for anything else (parse that in full). Reading most
    files this way costs a regex per line instead of a YAML parse."""
    fields: dict[str, Any] = {}
    for line in text.split("\n"):
        if not line:
            continue
        match = _SIMPLE_LINE.fullmatch(line)
        if match is None:
            return None
        key, value = match.group(1), match.group(2)
        if key in fields or key in _CORE_WORDS:
            return None
        if value is not None and (
            value in _CORE_WORDS or ": " in value or " #" in value or value.endswith((" ", ":"))
        ):
            return None
        fields[key] = value
    return fields


def parse_frontmatter(text: str) -> tuple[dict[str, Any], ParseMode, str | None]:
    """The client's two-step parse: (fields, mode, why the first parse failed)."""
    simple = simple_mapping(text)
    if simple:  # an empty block takes the parser's path
        return _as_fields(simple), "strict", None
    if text.rsplit("\n", 1)[-1].strip():
        # A `---` mid-line cut the block: Bun.YAML ends its last line as if a line break
        # followed (observed: `|` then `  before --- after` reads "before \n").
        text += "\n"
    try:
        return _as_fields(yaml12.load_yaml(text)), "strict", None
    except Exception as first:  # every failure leads to the fallback
        strict_error = _error_text(first)
    try:
        return _as_fields(yaml12.load_yaml(quote_for_fallback(text))), "fallback", strict_error
    except Exception:  # a second failure means {}
        return {}, "failed", strict_error


def _error_text(exc: BaseException) -> str:
    text = " ".join(str(exc).split()).replace('in "<unicode string>", ', "")
    return text or type(exc).__name__


# The files a run parsed last, by content: discovery parses every candidate, then the
# checker parses the same bytes again when they are installed. Bounded by their size.
_RECENT: dict[bytes, AgentFile] = {}
_RECENT_BYTES = 4 * 1024 * 1024
_recent_size = 0


def parse_agent(data: bytes) -> AgentFile:
    """Read `data` as Claude Code 2.1.330 reads an agent file; never raises."""
    global _recent_size  # noqa: PLW0603 - one memo per process
    if type(data) is not bytes:
        return _parse_or_unreadable(data)
    found = _RECENT.get(data)
    if found is None:
        found = _parse_or_unreadable(data)
        if _recent_size + len(data) > _RECENT_BYTES:
            _RECENT.clear()
            _recent_size = 0
        if len(data) <= _RECENT_BYTES:
            _RECENT[data] = found
            _recent_size += len(data)
    return found


def _parse_or_unreadable(data: bytes) -> AgentFile:
    try:
        return _parse_agent(data)
    except Exception as exc:  # a checker must survive any input
        return AgentFile(
            name=None,
            description=None,
            tools=None,
            evident_name=None,
            evident_description=None,
            drop_reasons=(DropReason("unreadable", f"unreadable: {_error_text(exc)}"),),
            parse="failed",
        )


def _parse_agent(data: bytes) -> AgentFile:
    text, invalid = _decode(data)
    has_bom = text.startswith("\ufeff")
    if has_bom:
        text = text[1:]
    evident_name, evident_description = evident_fields(text)
    common: dict[str, Any] = {
        "evident_name": evident_name,
        "evident_description": evident_description,
        "has_bom": has_bom,
        "invalid_utf8": invalid,
        "text": text,
    }
    if len(data) > MAX_FILE_BYTES:
        return _dropped(_TOO_LARGE, **common)
    match = _FENCE.match(text)
    if match is None:
        return _dropped(_NO_FENCE, **common)
    frontmatter = match.group(1)
    first_line = 1 + text.count("\n", 0, match.start(1))
    fields, mode, strict_error = parse_frontmatter(frontmatter)
    common.update(
        fields=fields,
        parse=mode,
        strict_error=strict_error,
        frontmatter=frontmatter,
        frontmatter_line=first_line,
        closing_fence_at=match.end(1),
        body=text[match.end() :],
        key_lines=_key_lines(frontmatter, first_line),
    )
    if mode == "failed":
        return _dropped(_NOT_YAML, **common)
    problems = load_problems(fields)
    if problems:
        return _dropped(*problems, **common)
    if mode == "strict" or evident_name is None:
        common["evident_name"] = fields["name"]
        common["evident_description"] = fields["description"].replace("\\n", "\n")
    return AgentFile(
        name=fields["name"],
        description=fields["description"].replace("\\n", "\n"),
        tools=agent_tools(fields),
        **common,
    )


def _dropped(*reasons: DropReason, **common: Any) -> AgentFile:
    return AgentFile(name=None, description=None, tools=None, drop_reasons=reasons, **common)


# --- evident values: what a human reads on the `name:` line ----------------------------

_EVIDENT_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)[ \t]*:[ \t]*(.*?)[ \t]*\r?$")


def evident_fields(text: str) -> tuple[str | None, str | None]:
    """The `name:` and `description:` a reader sees, even when the client drops the file."""
    match = _LENIENT_FENCE.match(text)
    if match is None:
        return None, None
    block = match.group(1)
    values: dict[str, str] = {}
    lines = block.split("\n")
    for index, line in enumerate(lines):
        found = _EVIDENT_LINE.match(line)
        if found is None or found.group(1) not in ("name", "description"):
            continue
        value = found.group(2)
        if found.group(1) == "description":
            value = _evident_description(value, lines[index + 1 :])
        values[found.group(1)] = _unquote(value)
    name = values.get("name") or None
    description = values.get("description") or None
    return name, description.replace("\\n", "\n") if description else None


# Words that open a line of an example dialogue inside a description ("user: ...",
# "Context: ...") rather than a new frontmatter key (seen in public agent collections).
_DIALOGUE_WORDS = frozenset(
    {"user", "assistant", "human", "ai", "context", "commentary", "example", "examples", "note"}
)


# The frontmatter keys Claude Code reads for agents (its schema, 2.1.330–2.1.332).
KNOWN_KEYS = (
    "name",
    "description",
    "tools",
    "disallowedTools",
    "model",
    "color",
    "permissionMode",
    "effort",
    "memory",
    "isolation",
    "maxTurns",
    "autoCompactWindow",
    "background",
    "skills",
    "mcpServers",
    "hooks",
    "initialPrompt",
    "omitClaudeMd",
    "observer",
    "observerMessage",
    "observeToolResults",
    "observeSubagents",
    "experimental",
)
_FIELD_KEYS = frozenset(k.casefold() for k in KNOWN_KEYS)


def starts_field(key: str) -> bool:
    """Whether an unindented `key:` line after a value reads as a new frontmatter key."""
    folded = key.casefold()
    return folded in _FIELD_KEYS or (key[:1].islower() and folded not in _DIALOGUE_WORDS)


def _evident_description(first: str, rest: list[str]) -> str:
    """A description that runs on over unindented lines, up to the next field line.

    The run-on lines are folded as YAML folds an indented plain scalar: single line
    breaks become spaces, each blank line a line break.
    """
    block = first in ("|", ">", "|-", ">-", "|+", ">+")
    parts = [] if block else [first]
    for line in rest:
        found = _EVIDENT_LINE.match(line)
        starts_key = found and not line.startswith((" ", "\t")) and starts_field(found.group(1))
        if starts_key or (block and line.strip() and not line.startswith((" ", "\t"))):
            break
        parts.append(line.rstrip("\r").strip())
    if first.startswith("|"):
        return "\n".join(p for p in parts if p)
    return _fold(parts)


def _fold(parts: list[str]) -> str:
    text, breaks = "", 0
    for part in parts:
        if not part:
            breaks += 1
            continue
        separator = "\n" * breaks if breaks else " "
        text = f"{text}{separator}{part}" if text else part
        breaks = 0
    return text


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        inner = value[1:-1]
        if value[0] == "'":
            return inner.replace("''", "'")
        try:
            loaded = yaml12.load_yaml(value)
        except Exception:  # keep the text between the quotes
            return inner
        return loaded if isinstance(loaded, str) else inner
    return value


# --- rewriting the name ---------------------------------------------------------------


def rename_agent(data: bytes, new_name: str) -> bytes:
    """Rewrite only the frontmatter `name:` so Claude Code reads `new_name`; body untouched."""
    before = parse_agent(data)
    edited = _edit_name_line(data, new_name)
    if edited is None or not before.loads or _reads_name(edited, new_name):
        return data if edited is None else edited
    # A name the line edit cannot reach (a flow mapping, a merge): rewrite the whole block.
    fields = dict(before.fields)
    depth = yaml12.nesting_depth(fields)
    if depth > yaml12.MAX_REWRITE_DEPTH:
        raise ResolveError(
            f"cannot rename the agent {before.name} to {new_name}: its name sits in a "
            f"frontmatter nested {depth} levels deep, too deep to rewrite",
            hint=f"install it under its own name, {before.name}",
            subject=new_name,
        )
    fields["name"] = new_name
    rebuilt = replace_frontmatter(data, yaml12.dump_yaml_mapping(fields))
    return rebuilt if rebuilt is not None and _reads_name(rebuilt, new_name) else edited


def _reads_name(data: bytes, name: str) -> bool:
    after = parse_agent(data)
    return after.loads and after.name == name


def split_file(data: bytes) -> tuple[str, str, str] | None:
    """(head up to the frontmatter text, frontmatter text, rest) of the undecoded-safe text."""
    text = data.decode("utf-8", errors="surrogateescape")  # round-trips every byte
    offset = 1 if text.startswith("\ufeff") else 0
    match = _FENCE.match(text, offset)
    if match is None:
        return None
    return text[: match.start(1)], match.group(1), text[match.end(1) :]


def replace_frontmatter(data: bytes, new_frontmatter: str) -> bytes | None:
    """`data` with the text between the fences replaced; every other byte kept."""
    parts = split_file(data)
    if parts is None:
        return None
    head, _, rest = parts
    return (head + new_frontmatter + rest).encode("utf-8", errors="surrogateescape")


_NAME_LINE = re.compile(r"^name[ \t]*:.*?(?=\r?$)", re.MULTILINE)


def _edit_name_line(data: bytes, new_name: str) -> bytes | None:
    parts = split_file(data)
    if parts is None:
        return None
    head, frontmatter, rest = parts
    scalar = yaml12.dump_yaml_value(new_name)
    hits = list(_NAME_LINE.finditer(frontmatter))
    if hits:
        last = hits[-1]  # the last duplicate key wins, so rewrite that one
        tail = _drop_continuation(frontmatter[last.end() :])
        frontmatter = frontmatter[: last.start()] + f"name: {scalar}" + tail
    else:
        newline = "\r\n" if "\r\n" in frontmatter else "\n"
        frontmatter = f"name: {scalar}{newline}" + frontmatter
    return (head + frontmatter + rest).encode("utf-8", errors="surrogateescape")


def _drop_continuation(rest: str) -> str:
    """Drop indented continuation lines of the old multi-line name value."""
    lines = rest.split("\n")
    keep_from = 1
    while keep_from < len(lines) and lines[keep_from].startswith((" ", "\t")):
        keep_from += 1
    return "\n".join(lines[:1] + lines[keep_from:])


# --- where the client reads agents from ------------------------------------------------


# A symlink in an agents folder to `/` or `/proc` would have every walk read the machine.
MAX_WALK_ENTRIES = 100_000


def _walk_too_large(root: Path) -> StorageError:
    return StorageError(
        f"more than {MAX_WALK_ENTRIES:,} entries below it (a symlink to a large folder?)",
        hint="agents folders hold agent files: remove the link or folder that leads elsewhere",
        subject=str(root),
    )


def read_agent_file(path: Path) -> bytes | None:
    """The bytes of an agent file the client would read: None for one it skips (over the
    size limit) and for anything that is not a regular file (a FIFO must not hang a run)."""
    try:
        data = read_regular(path, MAX_FILE_BYTES)
    except OSError:
        return None
    return data if data is not None and len(data) <= MAX_FILE_BYTES else None


def walk_agent_files(root: Path) -> Iterator[tuple[str, Path]]:
    """Every file Claude Code reads below `root`, as (path relative to root, path).

    Recursive, hidden entries included, symlinks followed (once per real folder).

    Only entries whose own name ends in exactly `.md` count; a hard link to an inode
    already seen counts once, as in the client.
    """
    seen_dirs: set[str] = set()
    seen_inodes: set[tuple[int, int]] = set()
    stack: list[tuple[Path, str]] = [(root, "")]
    visited = 0
    while stack:
        folder, prefix = stack.pop()
        real = os.path.realpath(folder)
        if real in seen_dirs:
            continue
        seen_dirs.add(real)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        visited += len(entries)
        if visited > MAX_WALK_ENTRIES:
            raise _walk_too_large(root)
        for entry in entries:
            rel = f"{prefix}{entry.name}"
            if _is_dir(entry):
                stack.append((Path(entry.path), rel + "/"))
            elif entry.name.endswith(".md") and _first_link(entry, seen_inodes):
                yield rel, Path(entry.path)


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=True)
    except OSError:
        return False


def _first_link(entry: os.DirEntry[str], seen: set[tuple[int, int]]) -> bool:
    if entry.is_symlink():
        return True
    try:
        info = entry.stat(follow_symlinks=False)
    except OSError:
        return True
    key = (info.st_dev, info.st_ino)
    if info.st_nlink > 1 and key in seen:
        return False
    seen.add(key)
    return True
