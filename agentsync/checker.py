"""The `check` use case: walk agent files as Claude Code does, diagnose them, report and fix."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from agentsync._fs import NotRegularFile, atomic_write, read_regular
from agentsync.compat import diagnose
from agentsync.diagnostics import Diagnostic, by_severity
from agentsync.errors import EXIT_FAILED, EXIT_OK
from agentsync.fixer import plan_fix, unified_diff
from agentsync.frontmatter import (
    CLIENT_VERSION,
    MAX_FILE_BYTES,
    AgentFile,
    parse_agent,
    walk_agent_files,
)
from agentsync.textsafe import inline


@dataclass(frozen=True)
class FileReport:
    """One checked file: its displayed path, what the client reads, and the findings."""

    path: str
    agent: AgentFile
    diagnostics: tuple[Diagnostic, ...]
    location: Path  # where the bytes live (for --fix)
    root: str = ""  # the real folder it was found in: --fix writes nowhere else

    def as_json(self) -> dict[str, Any]:
        """The `check --json` object; name, description and tools are null when it does not load."""
        loads = self.agent.loads
        return {
            "path": self.path,
            "loads": loads,
            "name": self.agent.name if loads else None,
            "description": self.agent.description if loads else None,
            "tools": list(self.agent.tools) if loads and self.agent.tools is not None else None,
            "diagnostics": [d.as_json() for d in self.diagnostics],
        }


@dataclass(frozen=True)
class CheckReport:
    """Every checked file, in path order."""

    files: tuple[FileReport, ...]

    def count(self, severity: str) -> int:
        return sum(1 for f in self.files for d in f.diagnostics if d.severity == severity)

    def exit_code(self, *, strict: bool = False) -> int:
        """1 when any error (or, with strict, any warning) was found, else 0."""
        failing = self.count("error") + (self.count("warning") if strict else 0)
        return EXIT_FAILED if failing else EXIT_OK


@dataclass(frozen=True)
class FilePatch:
    """A fix `check --fix` would write: the file, old and new bytes, and the diff."""

    path: str
    location: Path
    before: bytes
    after: bytes

    @property
    def diff(self) -> str:
        return unified_diff(self.before, self.after, self.path)


# --- walking ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Found:
    display: str
    location: Path
    group: str  # files in one folder tree compete for names


def find_agent_files(given: Sequence[str]) -> list[_Found]:
    """Every file Claude Code would read under `given` (files are taken as they are)."""
    found: list[_Found] = []
    for argument in given:
        path = Path(argument)
        if path.is_dir():
            group = os.path.realpath(path)
            found += [
                _Found(os.path.join(argument, rel), location, group)  # noqa: PTH118 - keep "./"
                for rel, location in walk_agent_files(path)
            ]
        else:
            found.append(_Found(argument, path, os.path.realpath(path.parent)))
    return found


# --- checking --------------------------------------------------------------------------


def check_paths(given: Sequence[str], *, mcp_servers: frozenset[str] | None = None) -> CheckReport:
    """Diagnose every agent file under `given`, including duplicate names per folder tree."""
    reports: list[tuple[_Found, FileReport]] = []
    for item in find_agent_files(given):
        reports.append((item, _check_file(item, mcp_servers)))
    reports = _with_duplicates(reports)
    files = sorted((r for _, r in reports), key=lambda r: r.path)
    return CheckReport(tuple(files))


def _check_file(item: _Found, mcp_servers: frozenset[str] | None) -> FileReport:
    # Never more than the size limit plus one byte, and only regular files: a planted
    # `x.md -> /dev/zero`, a FIFO or a 4 GiB file must not hang the check or fill memory.
    try:
        data = read_regular(item.location, MAX_FILE_BYTES)
        reason = None if data is not None else "no such file (a broken symlink?)"
    except NotRegularFile:
        data, reason = None, "it is not a regular file (a FIFO, a device or a folder)"
    except OSError as exc:
        data, reason = None, f"cannot read the file: {exc.strerror or exc}"
    if data is None:
        problem = Diagnostic(
            "AS014",
            "error",
            1,
            reason or "cannot read the file",
            "check that the file exists and is readable, or move it out of the agents folder",
        )
        return FileReport(item.display, parse_agent(b""), (problem,), item.location, item.group)
    agent, diagnostics = diagnose(data, item.display, mcp_servers=mcp_servers)
    return FileReport(item.display, agent, tuple(diagnostics), item.location, item.group)


def _with_duplicates(
    reports: list[tuple[_Found, FileReport]],
) -> list[tuple[_Found, FileReport]]:
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, (item, report) in enumerate(reports):
        if report.agent.loads and report.agent.name is not None:
            groups[(item.group, report.agent.name)].append(index)
    for (_, name), indexes in groups.items():
        if len(indexes) < 2:
            continue
        winner = max(indexes, key=lambda i: _code_units(str(reports[i][0].location.absolute())))
        for index in indexes:
            item, report = reports[index]
            others = [reports[i][1].path for i in indexes if i != index]
            finding = Diagnostic(
                "AS116",
                "warning",
                report.agent.line_of("name"),
                f"the name `{name}` is also used by {', '.join(others)}; Claude Code "
                f"{CLIENT_VERSION} loads only {reports[winner][1].path} (the path that sorts "
                "last), 2.1.197 whichever it reads last",
                "give each agent a unique name (or remove the copy)",
            )
            merged = sorted((*report.diagnostics, finding), key=by_severity)
            reports[index] = (item, replace(report, diagnostics=tuple(merged)))
    return reports


def _code_units(path: str) -> bytes:
    """Sort key for JavaScript's string order (UTF-16 code units)."""
    return path.encode("utf-16-be", errors="surrogatepass")


def load_mcp_servers(project_dir: Path) -> frozenset[str]:
    """Names of the MCP servers the project's `.mcp.json` configures (empty if none)."""
    try:
        document = json.loads((project_dir / ".mcp.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return frozenset()
    servers = document.get("mcpServers") if isinstance(document, dict) else None
    return frozenset(str(k) for k in servers) if isinstance(servers, dict) else frozenset()


# --- fixing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FixPlan:
    """The rewrites `check --fix` would make, and the files it leaves alone, with why."""

    patches: tuple[FilePatch, ...]
    skipped: tuple[tuple[str, str], ...] = ()  # (displayed path, reason)


def plan_fixes(report: CheckReport, *, fix_tools: bool = False) -> FixPlan:
    """The rewrite `check --fix` would make to each file (files that need none are left out).

    A file whose real path lies outside the folder it was found in (reached through a
    symlinked file or subfolder) is left alone: --fix writes only inside what it was given.
    """
    patches, skipped = [], []
    for file in report.files:
        try:
            before = read_regular(file.location, MAX_FILE_BYTES)
        except OSError:
            continue
        if before is None or len(before) > MAX_FILE_BYTES:
            continue
        fix = plan_fix(before, fix_tools=fix_tools)
        if fix.skipped is not None:
            skipped.append((file.path, fix.skipped))
        if fix.after == before:
            continue
        real = os.path.realpath(file.location)
        if file.root and os.path.commonpath([real, file.root]) != file.root:
            skipped.append(
                (file.path, f"not fixed: it leads outside {file.root} through a symlink")
            )
            continue
        patches.append(FilePatch(file.path, file.location, before, fix.after))
    return FixPlan(tuple(patches), tuple(skipped))


def apply_fixes(patches: Sequence[FilePatch]) -> None:
    """Write each patch atomically, at the file's real path."""
    for patch in patches:
        atomic_write(Path(os.path.realpath(patch.location)), patch.after)


# --- rendering -------------------------------------------------------------------------


def render_text(report: CheckReport) -> str:
    """`path:line: severity CODE message` per finding, then a summary line.

    Each finding stays one line, escaped: a path or a quoted value with a newline or an
    escape sequence in it must not forge or erase another finding.
    """
    lines = [
        inline(f"{f.path}:{d.line}: {d.severity} {d.code} {d.message}")
        + (f" (fix: {inline(d.fix)})" if d.fix else "")
        for f in report.files
        for d in f.diagnostics
    ]
    lines.append(summary_line(report))
    return "\n".join(lines) + "\n"


def summary_line(report: CheckReport) -> str:
    files = len(report.files)
    loads = sum(1 for f in report.files if f.agent.loads)
    return (
        f"{files} file{'s' if files != 1 else ''} checked against Claude Code {CLIENT_VERSION}: "
        f"{loads} load, {report.count('error')} error(s), {report.count('warning')} warning(s), "
        f"{report.count('info')} info"
    )


def render_json(report: CheckReport) -> list[dict[str, Any]]:
    """The `check --json` list, one object per file."""
    return [f.as_json() for f in report.files]
