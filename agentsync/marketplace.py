"""Claude Code marketplaces: a repository whose `.claude-plugin/marketplace.json` lists
plugins, each in a folder of the repository or in a repository of its own.

agentsync reads a marketplace as a source of agents: the agents of each plugin are the
Markdown files below that plugin's `agents/` folder (or the files its entry lists), named
as the files name themselves. A plugin kept in another repository is installed through a
source of its own, which the manifest then records and the lock pins like any other.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

MARKETPLACE_FILE = ".claude-plugin/marketplace.json"
_MAX_BYTES = 4 * 1024 * 1024
_PLUGIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_GITHUB_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$")


@dataclass(frozen=True)
class External:
    """Where a plugin kept in another repository lives."""

    url: str
    ref: str | None = None
    path: str | None = None  # the plugin's folder inside that repository


@dataclass(frozen=True)
class PluginEntry:
    name: str
    folder: str | None = None  # inside the marketplace repository ("" for its root)
    agents: tuple[str, ...] | None = None  # files the entry lists, relative to the folder
    external: External | None = None
    unsupported: str | None = None  # why agentsync cannot read this plugin's agents

    def agents_folder(self) -> str | None:
        if self.folder is None:
            return None
        return f"{self.folder}/agents" if self.folder else "agents"

    def owns(self, path: str) -> bool:
        """Whether the repository file `path` is one of this plugin's agents."""
        if self.folder is None:
            return False
        if self.agents is not None:
            base = f"{self.folder}/" if self.folder else ""
            return any(path == base + listed for listed in self.agents)
        folder = self.agents_folder()
        return folder is not None and path.startswith(folder + "/") and path.lower().endswith(".md")


@dataclass(frozen=True)
class Marketplace:
    name: str
    plugins: tuple[PluginEntry, ...]

    def plugin_of(self, path: str) -> PluginEntry | None:
        return next((p for p in self.plugins if p.owns(path)), None)

    def get(self, name: str) -> PluginEntry | None:
        return next((p for p in self.plugins if p.name == name), None)


class NotAMarketplace(ValueError):
    """The marketplace file is there but cannot be read; the message says why."""


def parse_marketplace(data: bytes) -> Marketplace:
    """The plugins a marketplace file lists; NotAMarketplace when it is not one."""
    if len(data) > _MAX_BYTES:
        raise NotAMarketplace("larger than 4 MiB")
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise NotAMarketplace(f"not valid JSON ({error})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("plugins"), list):
        raise NotAMarketplace("it has no `plugins` list")
    metadata = raw.get("metadata")
    root = metadata.get("pluginRoot") if isinstance(metadata, dict) else None
    name = raw.get("name")
    plugins: list[PluginEntry] = []
    seen: set[str] = set()
    for item in raw["plugins"]:
        entry = _entry(item, root if isinstance(root, str) else None)
        if entry is not None and entry.name not in seen:
            seen.add(entry.name)
            plugins.append(entry)
    return Marketplace(name if isinstance(name, str) else "", tuple(plugins))


def _entry(item: Any, root: str | None) -> PluginEntry | None:
    if not isinstance(item, dict):
        return None
    name = item.get("name")
    if not isinstance(name, str) or not _PLUGIN_NAME.match(name):
        return None  # a name that cannot be shown, or be part of an agent reference
    source = item.get("source")
    if isinstance(source, str):
        folder = _folder(source, root)
        if folder is None:
            return PluginEntry(name, unsupported=f"its source {source!r} is not a plain folder")
        return PluginEntry(name, folder, _listed_agents(item.get("agents")))
    if isinstance(source, dict):
        external = _external(source)
        if external is None:
            kind = source.get("source")
            what = kind if isinstance(kind, str) else "unknown"
            return PluginEntry(name, unsupported=f"its source is of kind {what!r}")
        return PluginEntry(name, external=external)
    return PluginEntry(name, unsupported="it names no source")


def _folder(source: str, root: str | None) -> str | None:
    """The plugin folder inside the repository, normalised; None for anything else."""
    text = source
    if not text.startswith("./") and text != "." and root is not None:
        text = f"{root.rstrip('/')}/{text}"
    if text.startswith("/") or "\\" in text or any(ord(c) < 32 for c in text):
        return None
    parts = [p for p in PurePosixPath(text).parts if p not in (".", "")]
    if ".." in parts or any(c in p for p in parts for c in "*?["):
        return None
    return "/".join(parts)


def _listed_agents(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return None
    listed = []
    for item in value:
        if isinstance(item, str):
            folder = _folder(item if item.startswith("./") else f"./{item}", None)
            if folder and folder.lower().endswith(".md"):
                listed.append(folder)
    return tuple(listed)


def _external(source: dict[str, Any]) -> External | None:
    kind = source.get("source")
    ref = source.get("ref") or source.get("sha")
    ref = ref if isinstance(ref, str) and ref and not ref.startswith("-") else None
    path = source.get("path")
    folder = (
        _folder(path if path.startswith("./") else f"./{path}", None)
        if isinstance(path, str)
        else None
    )
    if kind == "github":
        repo = source.get("repo")
        if isinstance(repo, str) and _GITHUB_REPO.match(repo):
            return External(f"https://github.com/{repo}.git", ref, folder or None)
        return None
    if kind in ("url", "git", "git-subdir"):
        url = source.get("url")
        if isinstance(url, str) and url and not url.startswith("-"):
            return External(url, ref, folder or None)
    return None
