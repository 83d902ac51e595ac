"""Agent-file frontmatter, read exactly as Claude Code 2.1.330 reads it (the only YAML user)."""

from __future__ import annotations

import math
import os
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml

from agentsync.errors import ResolveError

CLIENT_VERSION = "2.1.330"
MAX_FILE_BYTES = 1_048_576  # the client skips larger files
MAX_NAME_UTF16 = 256

# JavaScript's `\s` (what the client's regexes use), which differs from Python's.
JS_WS = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_JS_WS_CHARS = frozenset(
    "\t\n\v\f\r \u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
)
_JS_LINE_END = "\n\r\u2028\u2029"  # what JavaScript's `.` refuses to match

# `^---\s*\n([\s\S]*?)---\s*\n?`: the block ends at the first `---` anywhere.
_FENCE = re.compile(rf"---[{JS_WS}]*\n(.*?)---[{JS_WS}]*\n?", re.DOTALL)
# The one-shot fallback's line pattern, `^([a-zA-Z_-]+):\s+(\S.*)$` in JavaScript.
_FALLBACK_LINE = re.compile(rf"([a-zA-Z_-]+):[{JS_WS}]+([^{JS_WS}][^{_JS_LINE_END}]*)\Z")
_NEEDS_QUOTES = re.compile(r"[{}\[\]*&#!|>%@`]|: ")
_LEADING_TABS = re.compile(rf"(?:^|(?<=[{_JS_LINE_END}]))\t+")
_KEY_LINE = re.compile(r"^([^\s#:][^:\n]*?)[ \t]*:(?:[ \t]|$)", re.MULTILINE)
# A lenient fence used only to find the evident name of a file the client drops.
_LENIENT_FENCE = re.compile(r"\A\s*---[ \t]*\r?\n(.*?)(?:\r?\n---[ \t]*(?:\r?\n|\Z)|\Z)", re.DOTALL)

MAX_EXPANDED_NODES = 100_000  # alias bombs: refuse documents that expand past this
MAX_NESTING = 1_000  # libyaml recurses per level; deep nesting would crash the process
# PyYAML's emitter and its pure-Python loader recurse a few Python frames per level, so a
# document that loads (up to MAX_NESTING) can still be too deep to write back or re-check.
MAX_REWRITE_DEPTH = 100

HOOK_EVENTS = frozenset(
    (
        "PreToolUse",
        "PostToolUse",
        "PostToolUseFailure",
        "PostToolBatch",
        "Notification",
        "UserPromptSubmit",
        "UserPromptExpansion",
        "SessionStart",
        "SessionEnd",
        "Stop",
        "StopFailure",
        "SubagentStart",
        "SubagentStop",
        "PreCompact",
        "PostCompact",
        "PreModelSwitch",
        "PostModelSwitch",
        "PermissionRequest",
        "PermissionDenied",
        "Setup",
        "TeammateIdle",
        "TaskCreated",
        "TaskCompleted",
        "Elicitation",
        "ElicitationResult",
        "ConfigChange",
        "WorktreeCreate",
        "WorktreeRemove",
        "InstructionsLoaded",
        "CwdChanged",
        "FileChanged",
        "DirectoryAdded",
        "MessageDisplay",
    )
)
_GUARDED_EVENTS = frozenset({"PreToolUse", "PermissionRequest"})
_UNSCANNED_KEYS = frozenset({"metadata", "mcpServers", "lspServers"})

ParseMode = Literal["none", "strict", "fallback", "failed"]


@dataclass(frozen=True)
class AgentFile:
    """What Claude Code reads from one agent file, plus what a checker needs to explain it."""

    loads: bool
    name: str | None
    description: str | None
    tools: tuple[str, ...] | None
    evident_name: str | None
    evident_description: str | None
    drop_reason: str | None = None  # why the client drops it (None when it loads)
    fields: Mapping[str, Any] = field(default_factory=dict)  # the parsed frontmatter
    parse: ParseMode = "none"
    strict_error: str | None = None  # why the first (normal) YAML parse failed
    fallback_error: str | None = None  # why the fallback parse failed too
    frontmatter: str | None = None  # the raw text between the fences
    frontmatter_line: int = 2  # 1-based line where the frontmatter text starts
    closing_fence_at: int = -1  # offset in `text` of the `---` that ended the block
    body: str = ""  # everything after the closing fence, as in the file
    key_lines: Mapping[str, int] = field(default_factory=dict)
    has_bom: bool = False
    too_large: bool = False
    invalid_utf8: bool = False
    text: str = ""  # the decoded file

    @property
    def used_fallback(self) -> bool:
        return self.parse == "fallback"

    def line_of(self, key: str) -> int:
        """The line of `key:` in the frontmatter, else the opening fence line."""
        return self.key_lines.get(key, 1)


# --- YAML 1.2 core schema on top of PyYAML ----------------------------------------------

_BASE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _NestingError(ValueError):
    """The document nests or expands past what we are willing to build."""


class _CoreRules:
    """YAML 1.2 core-schema typing (Bun.YAML's), JavaScript-like keys; mixed into a loader."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        tag = super().resolve(kind, value, implicit)  # type: ignore[misc]
        if tag == _INT_TAG and _radix_overflows(value):
            return _STR_TAG  # observed: Bun.YAML keeps hex/octal past 64 bits as text
        return tag

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Like SafeConstructor's, but a list or mapping key becomes text, as in JavaScript."""
        self.flatten_mapping(node)  # type: ignore[attr-defined]
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)  # type: ignore[attr-defined]
            try:
                hash(key)
            except TypeError:
                key = _js_key(key)
            mapping[key] = self.construct_object(value_node, deep=deep)  # type: ignore[attr-defined]
        return mapping


class CoreLoader(_CoreRules, _BASE_LOADER):  # type: ignore[valid-type,misc]
    """PyYAML (libyaml when available) with the client's typing, tolerant of tags."""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {}


class _BunQuotedBreaks:
    """Line breaks in quoted scalars as Bun.YAML reads CRLF text (observed on 2.1.330).

    The first break of a run ends at the CR, so its LF counts as one more (empty) line:
    `"one<CRLF>  two"` reads "one\ntwo", not "one two"; later CRLFs of the run count once.
    """

    _in_quoted = False

    def scan_flow_scalar(self, style: Any) -> Any:
        self._in_quoted = True
        try:
            return super().scan_flow_scalar(style)  # type: ignore[misc]
        finally:
            self._in_quoted = False

    def scan_flow_scalar_breaks(self, double: Any, start_mark: Any) -> Any:
        self._in_quoted = False
        try:
            return super().scan_flow_scalar_breaks(double, start_mark)  # type: ignore[misc]
        finally:
            self._in_quoted = True

    def scan_line_break(self) -> str:
        if self._in_quoted and self.prefix(2) == "\r\n":  # type: ignore[attr-defined]
            self.forward(1)  # type: ignore[attr-defined]
            return "\n"
        return super().scan_line_break()  # type: ignore[misc,no-any-return]


class _Yaml12Tags:
    """`! 7` (non-specific tag) is the text "7"; a verbatim `!<tag:...>` is an unknown tag."""

    def scan_tag(self) -> Any:
        token = super().scan_tag()  # type: ignore[misc]
        handle, suffix = token.value
        if handle is None and suffix != "!":
            token.value = (None, f"!verbatim:{suffix}")  # observed: never a core type
        return token

    def compose_scalar_node(self, anchor: Any) -> Any:
        event = self.peek_event()  # type: ignore[attr-defined]
        if event.tag != "!":
            return super().compose_scalar_node(anchor)  # type: ignore[misc]
        self.get_event()  # type: ignore[attr-defined]
        node = yaml.ScalarNode(
            _STR_TAG, event.value, event.start_mark, event.end_mark, style=event.style
        )
        if anchor is not None:
            self.anchors[anchor] = node  # type: ignore[attr-defined]
        return node


class RedefiningLoader(_CoreRules, _BunQuotedBreaks, _Yaml12Tags, yaml.SafeLoader):
    """The pure-Python twin of CoreLoader: lets an anchor be defined again (YAML 1.2),
    reads CRLF line breaks in quoted scalars as Bun.YAML does, and the `!` and `!<...>`
    tags as YAML 1.2 does."""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {}  # type: ignore[misc]

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        anchor = getattr(event, "anchor", None)
        if anchor is not None and not isinstance(event, yaml.AliasEvent):
            self.anchors.pop(anchor, None)  # a later definition replaces the earlier one
        return super().compose_node(parent, index)


_INT_TAG = "tag:yaml.org,2002:int"
_STR_TAG = "tag:yaml.org,2002:str"
_ODD_TAG = re.compile(r"(?:^|(?<=[\s\[\]{},:?-]))!(?:<|\s|$)", re.MULTILINE)


def _radix_overflows(value: str) -> bool:
    digits = value.lstrip("+-")
    if digits[:2] in ("0x", "0o"):
        return int(digits[2:], 16 if digits[1] == "x" else 8) >= 2**64
    return False


_LOADERS: tuple[type[yaml.SafeLoader], ...] = (CoreLoader, RedefiningLoader)


def _resolver(tag: str, pattern: str, first: str) -> None:
    for loader in _LOADERS:
        loader.add_implicit_resolver(
            f"tag:yaml.org,2002:{tag}", re.compile(pattern), list(first) or [""]
        )


_resolver("null", r"^(?:~|null|Null|NULL|)$", "~nN")
_resolver("null", r"^$", "")
_resolver("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF")
_resolver("int", r"^[-+]?(?:[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789")
_resolver(
    "float",
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
    "-+.0123456789",
)
_resolver("merge", r"^<<$", "<")


def _int_text(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    if digits[:2] in ("0o", "0x"):
        return sign * int(digits[2:], 8 if digits[1] == "o" else 16)
    return int(text)


def _float_text(text: str) -> float:
    text = text.lower()
    if text.endswith(".inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    if text == ".nan":
        return float("nan")
    return float(text)


_FLOAT_TAG = "tag:yaml.org,2002:float"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"
_SCALAR_READERS: dict[str, Any] = {
    _INT_TAG: _int_text,
    _FLOAT_TAG: _float_text,
    _BOOL_TAG: lambda text: text.lower() == "true",
    _NULL_TAG: lambda text: None,
}
# Observed (Bun.YAML, 2.1.330): `!!int`, `!!float`, `!!bool`, `!!null` only keep a plain
# scalar that already reads as that kind of value (`!!int 7.5` is a number, `!!bool 1`
# and `!!null x` are text); a quoted or block scalar stays text whatever its tag.
_TAG_ACCEPTS = {
    _INT_TAG: (_INT_TAG, _FLOAT_TAG),
    _FLOAT_TAG: (_INT_TAG, _FLOAT_TAG),
    _BOOL_TAG: (_BOOL_TAG,),
    _NULL_TAG: (_NULL_TAG,),
}


def _by_kind(loader: CoreLoader, node: yaml.Node) -> Any:
    """A tag that does not fit its node is ignored: the node's own kind decides."""
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)


def _construct_typed(loader: CoreLoader, node: yaml.Node) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        return _by_kind(loader, node)
    text = str(loader.construct_scalar(node))
    if node.style not in (None, ""):
        return text
    resolved = loader.resolve(yaml.ScalarNode, text, (True, False))
    if resolved not in _TAG_ACCEPTS[node.tag]:
        return text
    return _SCALAR_READERS[resolved](text)


def _construct_str(loader: CoreLoader, node: yaml.Node) -> Any:
    return _by_kind(loader, node)


def _construct_collection(loader: CoreLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.MappingNode):
        return yaml.SafeLoader.construct_yaml_map(loader, node)
    return yaml.SafeLoader.construct_yaml_seq(loader, node)


def _construct_untagged(loader: CoreLoader, node: yaml.Node) -> Any:
    """Unknown or YAML-1.1-only tags: ignore the tag, keep the value (as Bun.YAML does)."""
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)  # observed: `!foo 7`, `!!binary 7` are text


for _loader in _LOADERS:
    for _typed in _TAG_ACCEPTS:
        _loader.add_constructor(_typed, _construct_typed)
    _loader.add_constructor(_STR_TAG, _construct_str)
    _loader.add_constructor("tag:yaml.org,2002:seq", _construct_collection)
    _loader.add_constructor("tag:yaml.org,2002:map", _construct_collection)
    for _tag in ("timestamp", "binary", "set", "omap", "pairs", "value"):
        _loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _construct_untagged)
    _loader.add_constructor(None, _construct_untagged)


def _check_nesting(text: str) -> None:
    """Refuse documents nested deeper than libyaml can take without crashing."""
    if text.count("[") + text.count("{") + text.count("- ") + text.count("? ") < MAX_NESTING:
        return
    depth = 0
    for line in text.splitlines():
        stripped = line.lstrip(" -?")
        if (len(line) - len(stripped)) // 2 > MAX_NESTING:
            raise _NestingError("the frontmatter nests too deeply")
        for char in line:
            if char in "[{":
                depth += 1
                if depth > MAX_NESTING:
                    raise _NestingError("the frontmatter nests too deeply")
            elif char in "]}":
                depth = max(0, depth - 1)


def _check_expansion(value: Any) -> None:
    """Refuse alias bombs: count nodes as if every alias were expanded (memoised by id)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        item, done = stack.pop()
        if not isinstance(item, dict | list) or (id(item) in sizes and not done):
            continue
        children = list(item.values()) if isinstance(item, dict) else item
        if not done:
            sizes[id(item)] = 1  # provisional, also breaks cycles
            stack.append((item, True))
            stack.extend((c, False) for c in children)
            continue
        total = 1 + sum(sizes.get(id(c), 1) for c in children)
        if total > MAX_EXPANDED_NODES:
            raise _NestingError("the frontmatter expands too many aliases")
        sizes[id(item)] = total


# PyYAML refuses a tab between words of a plain scalar (`a<TAB>b`), which YAML and the
# client accept: such tabs are swapped for a private-use character and swapped back.
_INNER_TAB = re.compile(r"(?<=[^\s:\-?,\[{])\t+(?=[^\s#])")
_TAB_STAND_IN = "\ue000"
# YAML 1.1 (PyYAML) breaks lines at NEL, LS and PS; YAML 1.2 (the client) reads them as
# ordinary characters: they are swapped for private-use stand-ins while parsing.
_NON_BREAKS = {"\x85": "\ue001", "\u2028": "\ue002", "\u2029": "\ue003"}


def load_yaml(text: str) -> Any:
    """Parse one YAML document the way the client's parser types it; raise on any failure."""
    swaps = {k: v for k, v in _NON_BREAKS.items() if k in text and v not in text}
    for char, stand_in in swaps.items():
        text = text.replace(char, stand_in)
    try:
        value = _load_yaml(text)
    except yaml.scanner.ScannerError as exc:
        if "'\\t'" not in str(exc) or _TAB_STAND_IN in text:
            raise
        swapped = _INNER_TAB.sub(lambda m: _TAB_STAND_IN * len(m.group(0)), text)
        if swapped == text:
            raise
        value = _restore(_load_yaml(swapped), {_TAB_STAND_IN: "\t"})
    return _restore(value, {v: k for k, v in swaps.items()}) if swaps else value


def _restore(value: Any, stand_ins: Mapping[str, str]) -> Any:
    """Swap stand-ins back, in place and without recursion (documents nest deeply)."""
    if not isinstance(value, dict | list):
        return _restore_text(value, stand_ins)
    seen: set[int] = set()
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if not isinstance(item, dict | list) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, list):
            item[:] = [_restore_text(v, stand_ins) for v in item]
            stack.extend(item)
        else:
            pairs = [
                (_restore_text(k, stand_ins), _restore_text(v, stand_ins)) for k, v in item.items()
            ]
            item.clear()
            item.update(pairs)
            stack.extend(item.values())
    return value


def _restore_text(value: Any, stand_ins: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        for stand_in, char in stand_ins.items():
            value = value.replace(stand_in, char)
    return value


def _load_yaml(text: str) -> Any:
    _check_nesting(text)
    # Only the pure-Python loader can read CRLF breaks in quoted scalars as Bun.YAML does,
    # and see whether a tag was written `!` or `!<...>`.
    crlf_quoted = "\r\n" in text and ('"' in text or "'" in text)
    try:
        loader = RedefiningLoader if crlf_quoted or _ODD_TAG.search(text) else CoreLoader
        value = yaml.load(text, Loader=loader)  # noqa: S506 - both are SafeLoaders
    except yaml.composer.ComposerError as exc:
        if "duplicate anchor" not in str(exc):
            raise
        value = yaml.load(text, Loader=RedefiningLoader)  # noqa: S506 - a SafeLoader
    except RecursionError as exc:
        raise _NestingError("the frontmatter nests too deeply") from exc
    _check_expansion(value)
    return value


def dump_yaml_value(value: Any) -> str:
    """One-line YAML for `value` that CoreLoader and `yaml.safe_load` both read back equal.

    Never a multi-line scalar: line breaks inside a quoted scalar fold differently in the
    client's parser when the file has CRLF line endings (observed), so they are escaped.
    """
    text = ""
    for style in (None, '"'):
        text = yaml.dump(
            value,
            Dumper=yaml.SafeDumper,
            allow_unicode=True,
            width=1_000_000,
            default_style=style,
            default_flow_style=True,
        )
        text = text.removesuffix("\n").removesuffix("\n...").rstrip("\n")
        if "\n" not in text and _reads_back(text, value):
            return text
    return text


def _reads_back(text: str, value: Any) -> bool:
    try:
        core = load_yaml(f"k: {text}")
        strict = yaml.load(f"k: {text}", Loader=yaml.SafeLoader)
    except (yaml.YAMLError, ValueError, RecursionError):
        return False
    return _same(core, {"k": value}) and _same(strict, {"k": value})


def _same(left: Any, right: Any) -> bool:
    """Equality that takes NaN as equal to NaN (a `.nan` value must round-trip too)."""
    if isinstance(left, float) and isinstance(right, float):
        return left == right or (math.isnan(left) and math.isnan(right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_same, left, right))
    return type(left) is type(right) and bool(left == right)


def strict_load(text: str) -> Any:
    """Exactly `yaml.safe_load` (YAML 1.1 typing); raises on invalid YAML.

    The pure-Python loader, not libyaml: the two disagree on tabs (`name:<TAB>x`,
    `a<TAB>b`), which libyaml accepts and `yaml.safe_load` refuses.
    """
    _check_nesting(text)
    return yaml.load(text, Loader=yaml.SafeLoader)


# --- the client's steps ----------------------------------------------------------------


def js_trim(text: str) -> str:
    """JavaScript's String.prototype.trim."""
    return text.strip("".join(_JS_WS_CHARS))


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def js_truthy(value: Any) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    return value is not None and value is not False and value not in ("", 0)


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
        return isinstance(load_yaml(value), list)
    except Exception:  # any parse failure means "not a list"
        return False


def split_tools(value: Any) -> tuple[str, ...] | None:
    """Normalise `tools` as the client does: None = all tools, () = none, else the pieces."""
    if value is None:
        return ()
    if not js_truthy(value):
        return ()
    items = (
        [value]
        if isinstance(value, str)
        else [v for v in value if isinstance(v, str)]
        if (isinstance(value, list))
        else []
    )
    pieces = [piece for item in items if item for piece in _split_item(item)]
    if "*" in pieces:
        return None
    return tuple(pieces)


MEMORY_SCOPES = ("user", "project", "local")
# Observed (2.1.330): an agent with a valid `memory` and an explicit `tools` list also gets
# these, appended in this order when missing, so that it can keep its memory files.
MEMORY_TOOLS = ("Write", "Edit", "Read")


def agent_tools(fields: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The agent's tools as the client loads them: `tools` split, plus the memory tools."""
    if "tools" not in fields:
        return None
    pieces = split_tools(fields["tools"])
    if pieces is None or fields.get("memory") not in MEMORY_SCOPES:
        return pieces
    return pieces + tuple(tool for tool in MEMORY_TOOLS if tool not in pieces)


def _split_item(item: str) -> list[str]:
    """Split on `,` and the space only, except inside `(...)` (an on/off flag)."""
    pieces: list[str] = []
    current = ""
    in_parens = False
    for char in item:
        if char == "(":
            in_parens = True
            current += char
        elif char == ")":
            in_parens = False
            current += char
        elif char in ", " and not in_parens:
            if js_trim(current):
                pieces.append(js_trim(current))
            current = ""
        elif current or js_trim(char):
            current += char
    if js_trim(current):
        pieces.append(js_trim(current))
    return pieces


def _looks_like_matcher(value: Any) -> bool:
    """The client's test for a hook matcher object (`{matcher?, hooks: [...]}`)."""
    if not isinstance(value, dict):
        return False
    if "matcher" not in value and any(k in HOOK_EVENTS for k in value):
        return False
    hooks = value.get("hooks")
    if isinstance(hooks, list):
        return len(hooks) > 0
    return (
        isinstance(hooks, dict)
        and bool(hooks)
        and ("matcher" in value or isinstance(hooks.get("type"), str))
    )


def _has_guarded_event(value: Any) -> bool:
    return isinstance(value, dict) and any(
        k in _GUARDED_EVENTS and v is not None and v != [] for k, v in value.items()
    )


def _holds_guarded_hooks(value: Any, depth: int, matchers_count: bool, in_list: bool) -> bool:
    if _has_guarded_event(value) or (matchers_count and _looks_like_matcher(value)):
        return True
    if depth == 0 or not isinstance(value, dict | list) or not value:
        return False
    if isinstance(value, list):
        return any(_holds_guarded_hooks(v, depth - 1, matchers_count, in_list) for v in value)
    if in_list and isinstance(value.get("type"), str):
        return False
    return any(
        k not in _UNSCANNED_KEYS
        and _holds_guarded_hooks(
            v,
            depth - 1,
            matchers_count and k not in HOOK_EVENTS,
            k == "hooks" and isinstance(v, list),
        )
        for k, v in value.items()
    )


def hooks_problem(fields: Mapping[str, Any]) -> str | None:
    """Why the client refuses this agent's hooks (2.1.330), or None."""
    if _has_guarded_event(fields) or any(
        k != "hooks"
        and k not in _UNSCANNED_KEYS
        and _holds_guarded_hooks(v, 3, k not in HOOK_EVENTS, False)
        for k, v in fields.items()
    ):
        return "PreToolUse/PermissionRequest hooks are declared outside `hooks`"
    hooks = fields.get("hooks")
    if not js_truthy(hooks):
        return None
    if not isinstance(hooks, dict) or _looks_like_matcher(hooks):
        return "`hooks` must be a mapping of hook events to matcher lists"
    for event, matchers in hooks.items():
        if event not in HOOK_EVENTS:
            continue
        if event in _GUARDED_EVENTS and matchers is not None and not _valid_matchers(matchers):
            return f"`hooks.{event}` is not a list of valid matchers"
    return None


def _valid_matchers(matchers: Any) -> bool:
    if not isinstance(matchers, list):
        return False
    for matcher in matchers:
        if not isinstance(matcher, dict) or not isinstance(matcher.get("hooks"), list):
            return False
        if "matcher" in matcher and not isinstance(matcher["matcher"], str):
            return False
        if not all(_valid_hook(entry) for entry in matcher["hooks"]):
            return False
    return True


# Each hook type and the field it cannot do without (the client's settings schema).
_HOOK_REQUIRES = {
    "command": "command",
    "prompt": "prompt",
    "agent": "prompt",
    "http": "url",
    "mcp_tool": "server",
}


def _valid_hook(entry: Any) -> bool:
    if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
        return False
    required = _HOOK_REQUIRES.get(entry["type"])
    return required is not None and isinstance(entry.get(required), str)


def load_problem(fields: Mapping[str, Any]) -> str | None:
    """Why the client drops an agent with these fields (2.1.330 order of checks), or None."""
    name = fields.get("name")
    if not isinstance(name, str) or not name:
        return "name is missing, empty or not a string"
    if name.startswith("-"):
        return "name starts with '-'"
    if utf16_len(name) > MAX_NAME_UTF16:
        return "name is longer than 256 characters"
    if ":" in unicodedata.normalize("NFKC", name):
        return "name contains ':'"
    description = fields.get("description")
    if not isinstance(description, str) or not description:
        return "description is missing, empty or not a string"
    return hooks_problem(fields)


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


def _js_key(key: Any) -> str:
    """Object keys are strings in JavaScript: `true: x` has the key "true"."""
    if isinstance(key, str):
        return key
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, list):
        return ",".join("" if k is None else _js_key(k) for k in key)
    if isinstance(key, dict):
        return "[object Object]"
    return str(key)


def _as_fields(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {}
    return {_js_key(k): v for k, v in value.items()}


def parse_frontmatter(text: str) -> tuple[dict[str, Any], ParseMode, str | None, str | None]:
    """The client's two-step parse: (fields, mode, first error, fallback error)."""
    if text.rsplit("\n", 1)[-1].strip():
        # A `---` mid-line cut the block: Bun.YAML ends its last line as if a line break
        # followed (observed: `|` then `  before --- after` reads "before \n").
        text += "\n"
    try:
        return _as_fields(load_yaml(text)), "strict", None, None
    except Exception as first:  # every failure leads to the fallback
        strict_error = _error_text(first)
    try:
        return _as_fields(load_yaml(quote_for_fallback(text))), "fallback", strict_error, None
    except Exception as second:  # a second failure means {}
        return {}, "failed", strict_error, _error_text(second)


def _error_text(exc: BaseException) -> str:
    text = " ".join(str(exc).split()).replace('in "<unicode string>", ', "")
    return text or type(exc).__name__


def parse_agent(data: bytes) -> AgentFile:
    """Read `data` as Claude Code 2.1.330 reads an agent file; never raises."""
    try:
        return _parse_agent(data)
    except Exception as exc:  # a checker must survive any input
        return AgentFile(
            loads=False,
            name=None,
            description=None,
            tools=None,
            evident_name=None,
            evident_description=None,
            drop_reason=f"unreadable: {_error_text(exc)}",
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
        return _dropped("the file is larger than 1 MiB", too_large=True, **common)
    match = _FENCE.match(text)
    if match is None:
        return _dropped("no frontmatter (the file must start with a `---` line)", **common)
    frontmatter = match.group(1)
    first_line = 1 + text.count("\n", 0, match.start(1))
    fields, mode, strict_error, fallback_error = parse_frontmatter(frontmatter)
    common.update(
        fields=fields,
        parse=mode,
        strict_error=strict_error,
        fallback_error=fallback_error,
        frontmatter=frontmatter,
        frontmatter_line=first_line,
        closing_fence_at=match.end(1),
        body=text[match.end() :],
        key_lines=_key_lines(frontmatter, first_line),
    )
    if mode == "failed":
        return _dropped("the frontmatter is not valid YAML, even after the fallback", **common)
    problem = load_problem(fields)
    if problem is not None:
        return _dropped(problem, **common)
    if mode == "strict" or evident_name is None:
        common["evident_name"] = fields["name"]
        common["evident_description"] = fields["description"].replace("\\n", "\n")
    return AgentFile(
        loads=True,
        name=fields["name"],
        description=fields["description"].replace("\\n", "\n"),
        tools=agent_tools(fields),
        **common,
    )


def _dropped(reason: str, **common: Any) -> AgentFile:
    return AgentFile(
        loads=False, name=None, description=None, tools=None, drop_reason=reason, **common
    )


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


# The frontmatter keys Claude Code documents for agents.
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
    "background",
    "skills",
    "mcpServers",
    "hooks",
    "initialPrompt",
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
            loaded = load_yaml(value)
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
    depth = nesting_depth(fields)
    if depth > MAX_REWRITE_DEPTH:
        raise ResolveError(
            f"cannot rename the agent {before.name} to {new_name}: its name sits in a "
            f"frontmatter nested {depth} levels deep, too deep to rewrite",
            hint=f"install it under its own name, {before.name}",
            subject=new_name,
        )
    fields["name"] = new_name
    rebuilt = replace_frontmatter(data, dump_yaml_mapping(fields))
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


def nesting_depth(value: Any) -> int:
    """How deep lists and mappings nest in `value` (a scalar is 0), walked without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in _children(item))
    return deepest


def _children(item: dict[Any, Any] | list[Any]) -> Iterator[Any]:
    return iter(item.values()) if isinstance(item, dict) else iter(item)


def dump_yaml_mapping(fields: Mapping[str, Any]) -> str:
    """Frontmatter text for `fields`, one line per key, that strict YAML and the client read."""
    return "".join(f"{dump_yaml_value(k)}: {dump_yaml_value(v)}\n" for k, v in fields.items())


_NAME_LINE = re.compile(r"^name[ \t]*:.*?(?=\r?$)", re.MULTILINE)


def _edit_name_line(data: bytes, new_name: str) -> bytes | None:
    parts = split_file(data)
    if parts is None:
        return None
    head, frontmatter, rest = parts
    scalar = dump_yaml_value(new_name)
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


def walk_agent_files(root: Path) -> Iterator[tuple[str, Path]]:
    """Every file Claude Code reads below `root`, as (path relative to root, path).

    Recursive, hidden entries included, symlinks followed (once per real folder).

    Only entries whose own name ends in exactly `.md` count; a hard link to an inode
    already seen counts once, as in the client.
    """
    seen_dirs: set[str] = set()
    seen_inodes: set[tuple[int, int]] = set()
    stack: list[tuple[Path, str]] = [(root, "")]
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
