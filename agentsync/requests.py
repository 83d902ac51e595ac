"""The AGENT arguments commands take: `name`, `source/name`, `name@ref`, `source/name@ref`,
`source/glob`, and in a marketplace `source/plugin/name` and `source/plugin:glob`; and how
`@X` becomes a ref or a version range."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agentsync.errors import UsageError
from agentsync.textsafe import inline


@dataclass(frozen=True)
class AgentRequest:
    """One `AGENT` argument: `name`, `source/name`, `name@ref`, `source/name@ref` or a glob."""

    source: str | None
    name: str
    ref: str | None
    plugin: str | None = None  # `source/plugin/name`: the agent of one marketplace plugin

    @property
    def plugin_glob(self) -> tuple[str, str] | None:
        """(plugin, glob) of `source/plugin:glob`, the agents of one marketplace plugin."""
        plugin, colon, glob = self.name.partition(":")
        return (plugin, glob) if colon and plugin and glob else None

    @property
    def is_glob(self) -> bool:
        return any(ch in self.name for ch in "*?[")

    @classmethod
    def parse(cls, text: str) -> AgentRequest:
        if inline(text) != text:
            # a name, ref or glob with control or invisible characters would go into the
            # manifest as such (`install 'team/x\x1b[31m'` is also a glob, because of `[`)
            raise UsageError(
                f"'{inline(text)}' holds control or invisible characters",
                hint="type the agent reference without them",
            )
        body, _, ref = text.partition("@")
        plugin = None
        if body.count("/") == 2:
            market, plugin, name = body.split("/")
            body = f"{market}/{name}"
            if not market or not plugin:
                plugin = ""  # refused below
        source, _, name = body.rpartition("/")
        if not name or (ref == "" and "@" in text) or body.count("/") > 1 or plugin == "":
            raise UsageError(
                f"'{text}' is not an agent reference",
                hint="use NAME, SOURCE/NAME, NAME@REF, SOURCE/NAME@REF, SOURCE/GLOB, or in a "
                "marketplace SOURCE/PLUGIN/NAME or SOURCE/PLUGIN:GLOB",
            )
        if text.startswith("-") or ref.startswith("-"):
            raise UsageError(
                f"'{text}' is not an agent reference", hint="names cannot start with '-'"
            )
        if plugin is not None and (":" in name or any(c in name + plugin for c in "*?[:")):
            raise UsageError(
                f"'{text}' is not an agent reference",
                hint="SOURCE/PLUGIN/NAME names one agent; for a glob write SOURCE/PLUGIN:GLOB",
            )
        return cls(source or None, name, ref or None, plugin)


def pin_request(text: str | None) -> tuple[str | None, str | None]:
    """Split `NAME@TEXT` into (ref, version): a range operator or wildcard makes it a version.

    `@v1.4.0`, `@1.4.0`, `@main` and `@abc1234` stay refs (a tag, branch or commit named
    exactly); `@^1.2`, `@~1.4`, `@>=1.0, <2`, `@1.*` and `@1.x` are version ranges.
    """
    if text is None:
        return None, None
    ranged = text.startswith(("^", "~", ">", "<", "=")) or any(c in text for c in "*, ")
    if not ranged and re.fullmatch(r"v?\d+(\.(\d+|[xX]))*\.[xX]", text):
        ranged = True
    return (None, text) if ranged else (text, None)
