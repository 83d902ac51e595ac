"""Claude Code plugins: how the plugin loader reads the agents of a plugin folder, which
differs from the project and user loader in names, descriptions and what it accepts.

A plugin is a folder holding `.claude-plugin/plugin.json` with a string `name`; its agents are
the files below `agents/`. The loader (measured on the real client):

- walks `agents/` recursively, hidden entries included, but skips symlinks (to files and to
  folders) and takes any name ending in `.md` whatever its case (`X.MD` loads);
- names each agent `<plugin>:<subfolder>:...:<name>`, where `<name>` is the frontmatter
  `name` turned into a string as JavaScript does (`123`, `false`, `x,y` for a list) unless it
  is missing, null, empty or longer than 256 characters, when the file stem is used;
- takes the description from `description`, else `when_to_use`, else `when-to-use` (each a
  string, number or boolean, trimmed, skipped when empty), else `Agent from <plugin> plugin`;
  a literal `\\n` stays as written;
- loads files without frontmatter or whose YAML does not parse (name from the stem), and
  files whose `hooks` the project loader would refuse;
- ignores `permissionMode`, `hooks`, `mcpServers`, `initialPrompt` and the `observer*` keys.
"""

from __future__ import annotations

import json
import os
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentsync.frontmatter import agent_tools, parse_agent, read_agent_file
from agentsync.js import js_key, js_trim, utf16_len

MANIFEST = Path(".claude-plugin") / "plugin.json"
AGENTS_FOLDER = "agents"
MAX_NAME = 256
# Keys the plugin loader ignores, with a warning in the client's log.
IGNORED_KEYS = ("permissionMode", "hooks", "mcpServers", "initialPrompt")
_DESCRIPTION_KEYS = ("description", "when_to_use", "when-to-use")


@dataclass(frozen=True)
class PluginAgent:
    """One agent of a plugin as the plugin loader reads it."""

    path: Path
    relative: str  # below the plugin's agents folder
    name: str  # namespaced: plugin:subfolder:name
    description: str
    tools: tuple[str, ...] | None
    fields: Mapping[str, Any]
    ignored: tuple[str, ...]  # keys set in the file that plugin agents do not honour
    stem_name: bool  # the frontmatter name could not be used (missing, empty, too long)
    long_name: bool  # ... because it is longer than the loader allows
    generic_description: bool = False  # no description key gave text: the loader made one up


@dataclass(frozen=True)
class PluginManifest:
    """What the loader takes from a plugin's plugin.json."""

    name: str | None  # None: the loader refuses the plugin (see `problem`)
    agents: tuple[str, ...] | None  # the files it lists; None: the agents folder
    problem: str | None = None


def read_plugin_manifest(root: Path) -> PluginManifest | None:
    """`root`'s plugin.json as the loader reads it; None when there is none. A plugin with
    a bad name or a bad `agents` list is refused whole (measured on the real client)."""
    try:
        with (root / MANIFEST).open("rb") as handle:
            data = json.loads(handle.read(1_048_576))
    except OSError:
        return None
    except ValueError:
        return PluginManifest(None, None, "its plugin.json is not valid JSON")
    if not isinstance(data, dict):
        return PluginManifest(None, None, "its plugin.json is not a JSON object")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        return PluginManifest(None, None, "its plugin.json has no `name`")
    bad = _bad_name(name)
    if bad:
        return PluginManifest(None, None, f"its name {json.dumps(name)} {bad}")
    if "agents" not in data:
        return PluginManifest(name, None)
    listed = data["agents"]
    entries = [listed] if isinstance(listed, str) else listed
    if not isinstance(entries, list) or not all(
        isinstance(e, str) and e.startswith("./") and e.endswith(".md") for e in entries
    ):
        return PluginManifest(
            None, None, "its `agents` must be a list of paths that start with ./ and end in .md"
        )
    return PluginManifest(name, tuple(entries))


def _bad_name(name: str) -> str:
    """Why the loader refuses a plugin name ("" when it takes it)."""
    if any(ch.isspace() for ch in name):
        return "holds whitespace"
    if any(ch in "@:/\\" for ch in name):
        return "holds '@', ':' or a path separator"
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
        return "holds an invisible or control character"
    return ""


def plugin_name(root: Path) -> str | None:
    """The name in `root`'s plugin.json, or None when `root` is not a plugin the client loads."""
    manifest = read_plugin_manifest(root)
    return manifest.name if manifest is not None else None


def plugin_root_of(path: Path) -> Path | None:
    """The plugin folder that `path` (a file or folder) lies in, or None."""
    here = path if path.is_dir() else path.parent
    for folder in (here, *here.parents):
        if (folder / MANIFEST).is_file():
            return folder
    return None


def walk_plugin_files(root: Path) -> Iterator[tuple[str, Path]]:
    """(path below agents/, path) of every file the plugin loader reads, in sorted order."""
    for relative, path, linked in walk_plugin_entries(root):
        if not linked:
            yield relative, path


def walk_plugin_entries(root: Path) -> Iterator[tuple[str, Path, bool]]:
    """(name the loader goes by, path, reached through a link?) of every `.md` file the
    plugin offers, in sorted order: the files its plugin.json lists (named without their
    folders, links followed, missing ones skipped), else those below its agents folder
    (the path below it names them). The loader skips the linked ones of the folder (links to
    files and to folders alike); they are listed so that a check can say so."""
    manifest = read_plugin_manifest(root)
    if manifest is not None and manifest.agents is not None:
        inside = os.path.realpath(root) + os.sep
        seen: set[str] = set()
        for listed in manifest.agents:
            path = Path(os.path.normpath(root / listed))
            real = os.path.realpath(path)
            # an entry (or the link it is) that leads out of the plugin is dropped, alone;
            # one file listed twice is read once
            if path.is_file() and real.startswith(inside) and real not in seen:
                seen.add(real)
                yield path.name, path, False
        return
    top = root / AGENTS_FOLDER
    if not top.is_dir():
        return
    seen = set()
    stack = [(top, "", top.is_symlink())]
    while stack:
        folder, prefix, linked = stack.pop()
        real = os.path.realpath(folder)
        if real in seen:
            continue  # a link loop, or a folder reached twice through links
        seen.add(real)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name, reverse=True)
        except OSError:
            continue
        for entry in entries:
            relative = f"{prefix}{entry.name}"
            through = linked or entry.is_symlink()
            if _is_folder(entry):
                stack.append((Path(entry.path), relative + "/", through))
            elif entry.name.lower().endswith(".md"):
                yield relative, Path(entry.path), through


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def read_plugin_agent(data: bytes, relative: str, plugin: str, path: Path) -> PluginAgent:
    """What the plugin loader makes of the file at `relative` (below agents/) of `plugin`."""
    parsed = parse_agent(data)
    fields: Mapping[str, Any] = parsed.fields if parsed.parse != "failed" else {}
    folders = relative.split("/")[:-1]
    stem = relative.rsplit("/", 1)[-1][: -len(".md")]
    own, long_name = _own_name(fields.get("name"))
    name = ":".join([plugin, *folders, own if own is not None else stem])
    description = _description(fields)
    return PluginAgent(
        path=path,
        relative=relative,
        name=name,
        description=description if description is not None else f"Agent from {plugin} plugin",
        tools=agent_tools(fields) if fields else None,
        fields=fields,
        ignored=tuple(k for k in fields if k in IGNORED_KEYS or k.startswith("observer")),
        stem_name=own is None,
        long_name=long_name,
        generic_description=description is None,
    )


def plugin_agents(root: Path) -> tuple[str, list[PluginAgent]] | None:
    """(plugin name, its agents) for the plugin folder `root`; None when it is not one."""
    plugin = plugin_name(root)
    if plugin is None:
        return None
    found = []
    for relative, path in walk_plugin_files(root):
        data = read_agent_file(path)
        if data is not None:
            found.append(read_plugin_agent(data, relative, plugin, path))
    return plugin, found


def _own_name(value: Any) -> tuple[str | None, bool]:
    """(the frontmatter name as the loader takes it, or None for the stem; too long?)"""
    if value is None or value == "":
        return None, False
    text = value if isinstance(value, str) else _js_string(value)
    if utf16_len(text) > MAX_NAME:
        return None, True
    return text, False


def _description(fields: Mapping[str, Any]) -> str | None:
    """The first description key that gives text; None when the loader has to make one up."""
    for key in _DESCRIPTION_KEYS:
        value = fields.get(key)
        if isinstance(value, str | int | float) and value is not None:
            text = js_trim(value if isinstance(value, str) else _js_string(value))
            if text:
                return text
    return None


def _js_string(value: Any) -> str:
    """JavaScript's String(value) for what a YAML parser builds."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return js_key(value)
