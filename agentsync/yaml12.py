"""YAML read as the client (Bun.YAML, YAML 1.2) reads it, on top of PyYAML: the only YAML user."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import yaml

from agentsync.js import js_key

MAX_EXPANDED_NODES = 100_000  # alias bombs: refuse documents that expand past this
MAX_NESTING = 1_000  # libyaml recurses per level; deep nesting would crash the process
# PyYAML's emitter and its pure-Python loader recurse a few Python frames per level, so a
# document that loads (up to MAX_NESTING) can still be too deep to write back or re-check.
MAX_REWRITE_DEPTH = 100

# --- reading: the YAML 1.2 core schema on top of PyYAML -------------------------------

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
                key = js_key(key)
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


def strict_load(text: str) -> Any:
    """Exactly `yaml.safe_load` (YAML 1.1 typing); raises on invalid YAML.

    The pure-Python loader, not libyaml: the two disagree on tabs (`name:<TAB>x`,
    `a<TAB>b`), which libyaml accepts and `yaml.safe_load` refuses.
    """
    _check_nesting(text)
    return yaml.load(text, Loader=yaml.SafeLoader)


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


# --- writing: one-line values that both YAML readings agree on --------------------------


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


def dump_yaml_mapping(fields: Mapping[str, Any]) -> str:
    """Frontmatter text for `fields`, one line per key, that strict YAML and the client read."""
    return "".join(f"{dump_yaml_value(k)}: {dump_yaml_value(v)}\n" for k, v in fields.items())
