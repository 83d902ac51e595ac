"""The `check` use case: walk agent files as Claude Code does, diagnose them, report and fix."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from agentsync._fs import atomic_write
from agentsync.compat import SEVERITY_ORDER, Diagnostic, diagnose
from agentsync.errors import EXIT_FAILED, EXIT_OK
from agentsync.fixer import fix_agent, unified_diff
from agentsync.frontmatter import CLIENT_VERSION, AgentFile, parse_agent, walk_agent_files
from agentsync.textsafe import inline


@dataclass(frozen=True)
class FileReport:
    """One checked file: its displayed path, what the client reads, and the findings."""

    path: str
    agent: AgentFile
    diagnostics: tuple[Diagnostic, ...]
    location: Path  # where the bytes live (for --fix)

    def as_json(self) -> dict[str, Any]:
        """The SPEC §4 object; name/description/tools are null when the file does not load."""
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
    try:
        data = item.location.read_bytes()
    except OSError as exc:
        agent = parse_agent(b"")
        problem = Diagnostic(
            "AS014",
            "error",
            1,
            f"cannot read the file: {exc.strerror or exc}",
            "check that the file exists and is readable (a broken symlink?)",
        )
        return FileReport(item.display, agent, (problem,), item.location)
    agent, diagnostics = diagnose(data, item.display, mcp_servers=mcp_servers)
    return FileReport(item.display, agent, tuple(diagnostics), item.location)


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
            merged = sorted(
                (*report.diagnostics, finding),
                key=lambda d: (SEVERITY_ORDER[d.severity], d.line, d.code),
            )
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


def plan_fixes(report: CheckReport, *, fix_tools: bool = False) -> list[FilePatch]:
    """The rewrite `check --fix` would make to each file (files that need none are left out)."""
    patches = []
    for file in report.files:
        try:
            before = file.location.read_bytes()
        except OSError:
            continue
        after = fix_agent(before, fix_tools=fix_tools)
        if after != before:
            patches.append(FilePatch(file.path, file.location, before, after))
    return patches


def apply_fixes(patches: Sequence[FilePatch]) -> None:
    """Write each patch atomically (a symlinked file is replaced at its target)."""
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
    """The SPEC §4 list, one object per file."""
    return [f.as_json() for f in report.files]
