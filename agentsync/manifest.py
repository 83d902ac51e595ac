"""The manifest `agentsync.toml`: parsing with file:line errors, and comment-preserving edits."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, NoReturn

from agentsync import _fs
from agentsync.errors import ManifestError, did_you_mean
from agentsync.ids import name_problem
from agentsync.tomlpos import KeyedErrors, display_path
from agentsync.urls import Location, UrlRejected, parse_location
from agentsync.versions import parse_range

if TYPE_CHECKING:
    import tomlkit
    import tomlkit.exceptions
    import tomlkit.items
else:
    from agentsync.lazy import OnFirstUse

    tomlkit = OnFirstUse("tomlkit")  # only edits need it: reading uses tomllib

MANIFEST_NAME = "agentsync.toml"
DEFAULT_TARGET = ".claude/agents"


_TOP_KEYS = ("settings", "sources", "agents")
_SETTINGS_KEYS = ("target", "prefer", "ignore")
_SOURCE_KEYS = ("url", "ref", "version", "path", "include", "exclude")
_AGENT_KEYS = ("source", "agent", "ref", "version", "file")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

DEFAULT_TEXT = """\
# agentsync manifest: which git sources to use, and which agents to install from them.
# Edit by hand or with `agentsync source add` / `agentsync install NAME`.

[agents]
"""


@dataclass(frozen=True)
class SourceSpec:
    """One `[sources.<name>]` table, as written."""

    name: str
    url: str
    ref: str | None = None
    version: str | None = None
    path: str | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def location(self, base: Path) -> Location:
        """The checked git location; relative paths are taken against `base` (the manifest dir)."""
        return parse_location(self.url, base)


@dataclass(frozen=True)
class AgentSpec:
    """One `[agents]` entry: install `agent` from `source` as `<target>/<key>.md`."""

    key: str
    source: str
    agent: str
    ref: str | None = None
    version: str | None = None
    file: str | None = None


@dataclass(frozen=True)
class Manifest:
    """A parsed, validated manifest; `sources` and `agents` keep file order."""

    path: Path
    target: str = DEFAULT_TARGET
    sources: Mapping[str, SourceSpec] = field(default_factory=dict)
    agents: Mapping[str, AgentSpec] = field(default_factory=dict)
    # Which source wins a name several sources' include globs offer, first listed first.
    prefer: tuple[str, ...] = ()
    # Diagnostic codes left out of `check` and of the findings printed after a write.
    ignore: frozenset[str] = frozenset()

    @property
    def dir(self) -> Path:
        return self.path.parent


# --------------------------------------------------------------------------- field rules


class _Invalid(Exception):
    """A field value broke a rule; the caller adds file, line and key."""

    def __init__(self, what: str, hint: str | None = None):
        super().__init__(what)
        self.what = what
        self.hint = hint


def check_name(value: str, kind: str) -> None:
    """Refuse a source name or agent key that is not a plain file-name-safe word."""
    problem = name_problem(value)
    if problem is not None:
        raise _Invalid(f"{kind} {value!r} is not allowed: {problem}")


def _check_ref(value: str) -> None:
    if not value:
        raise _Invalid("ref may not be empty", "remove the key to use the remote's default branch")
    if value.startswith("-"):
        raise _Invalid(f"ref {value!r} may not start with '-' (git would read it as an option)")
    if _CONTROL.search(value) or " " in value:
        raise _Invalid(f"ref {value!r} may not contain spaces or control characters")


def _check_version(value: str) -> None:
    try:
        parse_range(value)
    except ValueError as exc:
        raise _Invalid(str(exc), 'write a range such as "^1.2", "~1.4" or ">=1.0, <2"') from exc


def check_relpath(value: str, what: str) -> None:
    """Refuse a path that is empty, absolute, climbs out with `..` or looks like an option."""
    if not value:
        raise _Invalid(f"{what} may not be empty")
    pure = PurePosixPath(value.replace("\\", "/"))
    if pure.is_absolute() or re.match(r"^[A-Za-z]:", value):
        raise _Invalid(f"{what} {value!r} must be relative")
    if ".." in pure.parts:
        raise _Invalid(f"{what} {value!r} may not contain '..'")
    if value.startswith("-"):
        raise _Invalid(f"{what} {value!r} may not start with '-'")
    if _CONTROL.search(value):
        raise _Invalid(f"{what} {value!r} may not contain control characters")


def _check_url(value: str, base: Path) -> None:
    try:
        parse_location(value, base)
    except UrlRejected as exc:
        raise _Invalid(
            str(exc), "use an https://, ssh://, git:// or file:// URL, or a local path"
        ) from exc


def _check_pin(ref: str | None, version: str | None) -> None:
    if ref is not None and version is not None:
        raise _Invalid("give either ref or version, not both", "remove one of the two keys")
    if ref is not None:
        _check_ref(ref)
    if version is not None:
        _check_version(version)


def _check_globs(value: object, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _Invalid(
            f"{what} must be a list of non-empty strings (glob patterns)",
            f'write for example {what} = ["python-*"]',
        )
    return tuple(value)


# --------------------------------------------------------------------------- loading


class _Context:
    """Turns a rule failure at a key path into a `file:line: key: what` ManifestError."""

    def __init__(self, path: Path, text: str) -> None:
        self.errors = KeyedErrors(path, text)

    def fail(self, keys: tuple[str, ...], what: str, hint: str | None = None) -> NoReturn:
        raise ManifestError(self.errors.message(keys, what), hint)

    def unknown_keys(
        self, keys: tuple[str, ...], table: Mapping[str, Any], allowed: tuple[str, ...]
    ) -> None:
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = (
                    f"did you mean '{close[0]}'?"
                    if close
                    else f"allowed keys: {', '.join(allowed)}"
                )
                self.fail((*keys, key), "unknown key", hint)

    def table(self, keys: tuple[str, ...], value: object) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(keys, f"must be a table, not {_type_name(value)}")
        return value

    def string(self, keys: tuple[str, ...], value: object) -> str:
        if not isinstance(value, str):
            self.fail(keys, f"must be a string, not {_type_name(value)}")
        return value

    def optional_string(
        self, keys: tuple[str, ...], table: Mapping[str, Any], key: str
    ) -> str | None:
        return None if key not in table else self.string((*keys, key), table[key])

    def rule(self, keys: tuple[str, ...], check: Any, *args: Any) -> Any:
        try:
            return check(*args)
        except _Invalid as exc:
            self.fail(keys, exc.what, exc.hint)


def _type_name(value: object) -> str:
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
    }
    return names.get(type(value), "a table" if isinstance(value, dict) else type(value).__name__)


MAX_MANIFEST_BYTES = 16 * 1024 * 1024


def load_manifest(path: Path) -> Manifest:
    """Read and validate `path`; every problem is a ManifestError naming file, line and key."""
    return parse_manifest(read_manifest_text(path), path)


def read_manifest_text(path: Path) -> str:
    """The manifest's text; a clear ManifestError when it is missing, not a plain file, too
    large or not UTF-8."""
    try:
        data = _fs.read_small(path, MAX_MANIFEST_BYTES)
    except OSError as exc:
        raise ManifestError(
            f"{display_path(path)}: cannot read: {exc.strerror or exc}",
            hint="agentsync.toml must be a plain text file",
        ) from None
    if data is None:
        raise ManifestError(
            f"{display_path(path)}: no manifest here", hint="run `agentsync init` to create one"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ManifestError(
            f"{display_path(path)}: not valid UTF-8", hint="save the file as UTF-8"
        ) from None


def _too_deep(path: Path) -> ManifestError:
    return ManifestError(
        f"{display_path(path)}: values are nested too deeply to read",
        hint="a manifest needs tables and lists only a few levels deep; fix the file",
    )


def _syntax_check(text: str, path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise _too_deep(path) from None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column (\d+)\)", message)
        what = re.sub(r"\s*\(at line .*\)$", "", message) or "invalid TOML"
        where = f"{display_path(path)}:{match.group(1)}" if match else display_path(path)
        col = f" (column {match.group(2)})" if match else ""
        raise ManifestError(
            f"{where}: invalid TOML: {what}{col}", hint="fix the syntax; see https://toml.io"
        ) from exc


def parse_manifest(text: str, path: Path) -> Manifest:
    """Validate manifest `text` as if read from `path` (relative URLs resolve against its dir)."""
    data = _syntax_check(text, path)
    try:
        return _parsed_manifest(data, text, path)
    except RecursionError:
        raise _too_deep(path) from None


def _parsed_manifest(data: dict[str, Any], text: str, path: Path) -> Manifest:
    ctx = _Context(path, text)
    ctx.unknown_keys((), data, _TOP_KEYS)
    settings = ctx.table(("settings",), data.get("settings", {}))
    ctx.unknown_keys(("settings",), settings, _SETTINGS_KEYS)
    target = ctx.optional_string(("settings",), settings, "target") or DEFAULT_TARGET
    if "target" in settings:
        ctx.rule(("settings", "target"), check_relpath, settings["target"], "target")
    sources_table = ctx.table(("sources",), data.get("sources", {}))
    sources = {
        name: _parse_source(ctx, name, value, path.parent) for name, value in sources_table.items()
    }
    agents_table = ctx.table(("agents",), data.get("agents", {}))
    agents = {key: _parse_agent(ctx, key, value, sources) for key, value in agents_table.items()}
    prefer = _string_list(ctx, ("settings", "prefer"), settings, '["team", "vendor"]')
    for name in prefer:
        if name not in sources:
            ctx.fail(
                ("settings", "prefer"),
                f"no source named {name!r}",
                did_you_mean(name, sources, also="use a name from [sources]"),
            )
    ignore = _string_list(ctx, ("settings", "ignore"), settings, '["AS111"]')
    known = _known_codes() if ignore else frozenset()
    for code in ignore:
        if code.upper() not in known:
            ctx.fail(
                ("settings", "ignore"),
                f"no diagnostic has the code {code!r}",
                did_you_mean(code.upper(), known, also="codes look like AS111"),
            )
    return Manifest(
        path=path,
        target=target,
        sources=sources,
        agents=agents,
        prefer=prefer,
        ignore=frozenset(code.upper() for code in ignore),
    )


def _known_codes() -> frozenset[str]:
    from agentsync.diagnostics import known_codes

    return known_codes()


def _string_list(
    ctx: _Context, keys: tuple[str, ...], table: Mapping[str, Any], example: str
) -> tuple[str, ...]:
    value = table.get(keys[-1], [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        ctx.fail(keys, "must be a list of non-empty strings", f"write for example {example}")
    return tuple(value)


def _parse_source(ctx: _Context, name: str, value: object, base: Path) -> SourceSpec:
    keys = ("sources", name)
    ctx.rule(keys, check_name, name, "source name")
    table = ctx.table(keys, value)
    ctx.unknown_keys(keys, table, _SOURCE_KEYS)
    if "url" not in table:
        ctx.fail(keys, "missing key 'url'", f'add url = "https://..." under [sources.{name}]')
    url = ctx.string((*keys, "url"), table["url"])
    ctx.rule((*keys, "url"), _check_url, url, base)
    ref = ctx.optional_string(keys, table, "ref")
    version = ctx.optional_string(keys, table, "version")
    pin_key = "version" if version is not None else "ref"
    ctx.rule((*keys, pin_key), _check_pin, ref, version)
    path = ctx.optional_string(keys, table, "path")
    if path is not None:
        ctx.rule((*keys, "path"), check_relpath, path, "path")
    include = ctx.rule((*keys, "include"), _check_globs, table.get("include", []), "include")
    exclude = ctx.rule((*keys, "exclude"), _check_globs, table.get("exclude", []), "exclude")
    return SourceSpec(name, url, ref, version, path, include, exclude)


def _parse_agent(
    ctx: _Context, key: str, value: object, sources: Mapping[str, SourceSpec]
) -> AgentSpec:
    keys = ("agents", key)
    ctx.rule(keys, check_name, key, "agent name")
    if isinstance(value, str):
        table: dict[str, Any] = {"source": value}
        source_keys: tuple[str, ...] = keys
    else:
        if not isinstance(value, dict):
            ctx.fail(
                keys,
                f"must be a source name or a table, not {_type_name(value)}",
                f'write {key} = "SOURCE" or {key} = {{ source = "SOURCE", agent = "NAME" }}',
            )
        table = value
        ctx.unknown_keys(keys, table, _AGENT_KEYS)
        if "source" not in table:
            ctx.fail(keys, "missing key 'source'", f'write {key} = {{ source = "SOURCE" }}')
        source_keys = (*keys, "source")
    source = ctx.string(source_keys, table["source"])
    if source not in sources:
        known = ", ".join(sources) or "none declared"
        ctx.fail(
            source_keys,
            f"source {source!r} is not declared (sources: {known})",
            f"add it with `agentsync source add {source} URL`",
        )
    agent = ctx.optional_string(keys, table, "agent")
    if agent is not None and (not agent or _CONTROL.search(agent)):
        ctx.fail((*keys, "agent"), "must be a non-empty name without control characters")
    ref = ctx.optional_string(keys, table, "ref")
    version = ctx.optional_string(keys, table, "version")
    ctx.rule((*keys, "version" if version is not None else "ref"), _check_pin, ref, version)
    file = ctx.optional_string(keys, table, "file")
    if file is not None:
        ctx.rule((*keys, "file"), check_relpath, file, "file")
    return AgentSpec(key, source, agent or key, ref, version, file)


# --------------------------------------------------------------------------- editing


class ManifestEditor:
    """Comment- and layout-preserving edits through tomlkit; nothing is written until save()."""

    def __init__(self, path: Path, text: str, *, checked: bool = False) -> None:
        if not checked:  # text a run already parsed needs no second syntax check
            _syntax_check(text, path)
        self.path = path
        self.original = text  # as read: restored if the command that edits it fails
        self._parsed: tuple[str, Manifest] | None = None
        try:
            self._doc = tomlkit.parse(text)
            self._leading_blank = text.startswith("\n")
        except tomlkit.exceptions.ParseError as exc:  # tomllib accepted it; be safe anyway
            raise ManifestError(f"{display_path(path)}:{exc.line}: invalid TOML: {exc}") from exc
        except RecursionError:
            raise _too_deep(path) from None

    @classmethod
    def open(cls, path: Path) -> ManifestEditor:
        return cls(path, read_manifest_text(path))

    @classmethod
    def new(cls, path: Path, *, text: str | None = None) -> ManifestEditor:
        """An editor for a manifest not yet on disk, starting from `text` (a preset) or a stub."""
        return cls(path, DEFAULT_TEXT if text is None else text)

    # -- reading

    def text(self) -> str:
        text = tomlkit.dumps(self._doc)
        # Moving tables can leave a blank first line the user never wrote.
        text = text if self._leading_blank else text.lstrip("\n")
        return text if not text or text.endswith("\n") else text + "\n"

    def manifest(self) -> Manifest:
        """The current (edited) text, validated (once per text)."""
        text = self.text()
        if self._parsed is None or self._parsed[0] != text:
            self._parsed = (text, parse_manifest(text, self.path))
        return self._parsed[1]

    def _plain(self) -> dict[str, Any]:
        return self._doc.unwrap()

    def _sources(self) -> dict[str, Any]:
        value = self._plain().get("sources", {})
        return value if isinstance(value, dict) else {}

    def _agents(self) -> dict[str, Any]:
        value = self._plain().get("agents", {})
        return value if isinstance(value, dict) else {}

    def _fail(self, what: str, hint: str | None = None) -> NoReturn:
        raise ManifestError(f"{display_path(self.path)}: {what}", hint)

    def _rule(self, where: str, check: Any, *args: Any) -> None:
        try:
            check(*args)
        except _Invalid as exc:
            self._fail(f"{where}: {exc.what}", exc.hint)

    # -- sources

    def add_source(
        self,
        name: str,
        url: str,
        *,
        ref: str | None = None,
        version: str | None = None,
        path: str | None = None,
    ) -> None:
        where = f"sources.{name}"
        self._rule("source", check_name, name, "source name")
        if name in self._sources():
            self._fail(
                f"source {name!r} already exists",
                f"remove it first: agentsync source remove {name}",
            )
        self._rule(f"{where}.url", _check_url, url, self.path.parent)
        self._rule(where, _check_pin, ref, version)
        if path is not None:
            self._rule(f"{where}.path", check_relpath, path, "path")
        table = tomlkit.table()
        table["url"] = url
        for key, value in (("ref", ref), ("version", version), ("path", path)):
            if value is not None:
                table[key] = value
        sources = self._doc.get("sources")
        if sources is None:
            # tomlkit separates re-added tables itself; a new [sources] goes before [agents].
            sources = tomlkit.table(is_super_table=True)
            _insert_table(self._doc, "sources", sources, before="agents")
        elif _ends_with_blank_line(sources):
            table.add(tomlkit.nl())  # the blank line before the next table moves to the new one
        sources[name] = table

    def remove_source(self, name: str) -> None:
        if name not in self._sources():
            self._fail(f"no source named {name!r}", "see `agentsync source list`")
        users = [key for key, value in self._agents().items() if _agent_source(value) == name]
        if users:
            self._fail(
                f"source {name!r} is still used by [agents]: {', '.join(users)}",
                f"remove them first: agentsync remove {' '.join(users)}",
            )
        sources: Any = self._doc["sources"]
        del sources[name]  # `del`, not .remove(): a split [sources] is a proxy without it
        if not self._sources() and "sources" in self._doc and not self._doc["sources"]:
            del self._doc["sources"]

    def set_source(
        self,
        name: str,
        *,
        ref: str | None = None,
        version: str | None = None,
        path: str | None = None,
    ) -> None:
        """Change an existing source's pin or path in place; the other keys and every
        comment stay. A ref replaces a version and the reverse: a source follows one pin."""
        table = self._source_table(name)
        where = f"sources.{name}"
        self._rule(where, _check_pin, ref, version)
        if path is not None:
            self._rule(f"{where}.path", check_relpath, path, "path")
        for key, value, other in (("ref", ref, "version"), ("version", version, "ref")):
            if value is not None and other in table:
                # on the other pin's line, keeping its place and comment (tomlkit has no
                # public rename; `_replace` has been its way to swap a key since 0.5)
                table.value._replace(other, key, tomlkit.item(value))
        for key, value in (("ref", ref), ("version", version), ("path", path)):
            if value is not None:
                table[key] = value

    def _source_table(self, name: str) -> Any:
        if name not in self._sources():
            self._fail(f"no source named {name!r}", "see `agentsync source list`")
        return self._doc["sources"][name]

    def add_include(self, source: str, pattern: str) -> None:
        """Append `pattern` to the source's include list, unless it is already there."""
        table = self._source_table(source)
        if not pattern:
            self._fail("an include pattern may not be empty")
        if "include" not in table:
            table["include"] = [pattern]
        elif pattern not in table["include"]:
            table["include"].append(pattern)

    def remove_include(self, source: str, pattern: str) -> bool:
        table = self._source_table(source)
        include = table.get("include")
        if include is None or pattern not in include:
            return False
        del include[list(include).index(pattern)]
        if not include:
            del table["include"]
        return True

    # -- agents

    def set_agent(
        self,
        key: str,
        source: str,
        *,
        agent: str | None = None,
        ref: str | None = None,
        version: str | None = None,
        file: str | None = None,
    ) -> None:
        """Add or replace `[agents] key`; a bare `key = "source"` when only the source is given."""
        self._rule("agent", check_name, key, "agent name")
        if source not in self._sources():
            self._fail(
                f"source {source!r} is not declared",
                f"add it with `agentsync source add {source} URL`",
            )
        self._rule(f"agents.{key}", _check_pin, ref, version)
        if file is not None:
            self._rule(f"agents.{key}.file", check_relpath, file, "file")
        fields = {"source": source, "agent": None if agent == key else agent}
        fields.update(ref=ref, version=version, file=file)
        present = {k: v for k, v in fields.items() if v is not None}
        value: Any = source if len(present) == 1 else _inline_table(present)
        agents = self._doc.get("agents")
        if agents is None:
            agents = tomlkit.table()
            self._doc.add("agents", agents)
        agents[key] = value

    def remove_agent(self, key: str) -> bool:
        agents = self._doc.get("agents")
        if agents is None or key not in agents:
            return False
        del agents[key]
        return True

    # -- writing

    def save(self) -> bool:
        """Validate the edited text as `load_manifest` would, then write it if it changed
        (from what was read: the run lock keeps others from writing it meanwhile)."""
        text = self.text()
        self.manifest()
        if text == self.original and self.path.exists():
            return False
        _fs.atomic_write(self.path, text.encode("utf-8"))
        return True


def _insert_table(
    doc: tomlkit.TOMLDocument, key: str, item: tomlkit.items.Table, *, before: str
) -> None:
    """Add a top-level table before `before` (and the tables after it), or at the end."""
    keys = list(doc.keys())
    tail = keys[keys.index(before) :] if before in keys else []
    moved = [(k, doc.item(k)) for k in tail]
    if not all(isinstance(v, tomlkit.items.Table) for _, v in moved):
        tail, moved = [], []  # a split table cannot be moved whole; append instead
    for k in tail:
        doc.remove(k)
    doc.add(key, item)
    for k, v in moved:
        doc.add(k, v)


def _ends_with_blank_line(sources: Any) -> bool:
    tables = [v for v in sources.values() if isinstance(v, tomlkit.items.Table)]
    return bool(tables) and tables[-1].as_string().endswith("\n\n")


def _agent_source(value: object) -> object:
    return value.get("source") if isinstance(value, dict) else value


def _inline_table(fields: Mapping[str, str]) -> Any:
    # Built from text so it reads `{ source = "team", ref = "v1" }`, like hand-written entries.
    body = ", ".join(f"{k} = {tomlkit.item(v).as_string()}" for k, v in fields.items())
    return tomlkit.parse(f"x = {{ {body} }}")["x"]
