"""The `check` use case: walk agent files as Claude Code does, diagnose them, report and fix."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from agentsync._fs import NotRegularFile, atomic_write, read_regular, read_small
from agentsync.compat import ToolView, diagnose_plugin, diagnose_with_view
from agentsync.diagnostics import Diagnostic, by_severity, diag
from agentsync.errors import EXIT_FAILED, EXIT_OK, JSON_SCHEMA
from agentsync.fixer import plan_fix, unified_diff
from agentsync.frontmatter import (
    CLIENT_VERSION,
    MAX_FILE_BYTES,
    MAX_WALK_ENTRIES,
    VERIFIED_CLIENTS,
    AgentFile,
    parse_agent,
    walk_agent_files,
)
from agentsync.plugins import AGENTS_FOLDER, MANIFEST, read_plugin_manifest, walk_plugin_entries
from agentsync.project import user_agents_dir
from agentsync.scopes import BUILT_INS, loading_names
from agentsync.textsafe import inline


@dataclass(frozen=True)
class FileReport:
    """One checked file: its displayed path, what the client reads, and the findings."""

    path: str
    agent: AgentFile
    diagnostics: tuple[Diagnostic, ...]
    location: Path  # where the bytes live (for --fix)
    # The folder below which --fix follows no symlink: the project's, or the argument's.
    base: str = ""
    view: ToolView | None = None  # its tools as listed and as launched (None: unreadable)

    def as_json(self) -> dict[str, Any]:
        """The `check --json` object; every key about the agent is null when it does not load."""
        view = self.view if self.agent.loads else None
        return {
            "path": self.path,
            "loads": self.agent.loads,
            "name": self.agent.name if view else None,
            "description": self.agent.description if view else None,
            "tools": _listed(view.listed) if view else None,
            "disallowed": _listed(view.disallowed) if view else None,
            "effective_tools": _listed(view.effective) if view else None,
            "launch": view.launch if view else None,
            "diagnostics": [d.as_json() for d in self.diagnostics],
        }


def _listed(tools: tuple[str, ...] | None) -> list[str] | None:
    return None if tools is None else list(tools)


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
    base: str = ""
    project: Path | None = None  # whose settings the client applies to it
    plugin: str | None = None  # read by the plugin loader of this plugin
    relative: str = ""  # ... at this path below the plugin's agents folder
    skipped: tuple[str, str] | None = None  # why the plugin loader does not read it, the fix


def find_agent_files(given: Sequence[str], within: Path | None = None) -> list[_Found]:
    """Every file Claude Code would read under `given` (files are taken as they are).

    Files below a plugin's agents folder are read as the plugin loader reads them, also
    when a folder given holds plugins further down. `within` (the project folder) is where
    --fix follows no symlink; an argument outside it is its own such folder.
    """
    found: list[_Found] = []
    for argument in given:
        path = Path(argument)
        base = _fix_base(argument, within)
        project = project_of(argument, within)
        inside = _plugin_above(path)
        if inside is not None:
            found += _plugin_files(argument, inside, base, project)
        elif path.is_dir():
            group = os.path.realpath(path)
            roots = _plugins_below(path)
            found += [
                _Found(os.path.join(argument, rel), location, group, base, project)  # noqa: PTH118
                for rel, location in walk_agent_files(path)
                if not any(rel.startswith(root) for root in roots)
            ]
            for root in roots:
                below = os.path.join(argument, root)  # noqa: PTH118
                found += _plugin_files(below, _lexical(Path(below)), base, project)
        else:
            found.append(_Found(argument, path, os.path.realpath(path.parent), base, project))
    return found


def _plugin_above(path: Path) -> Path | None:
    """The plugin folder that holds `path`, when `path` is the plugin itself or lies in its
    agents folder (elsewhere in a plugin the project loader's rules are all there is)."""
    lexical = _lexical(path)
    for folder in (lexical, *lexical.parents):
        if (folder / MANIFEST).is_file():
            agents = folder / AGENTS_FOLDER
            return folder if lexical in (folder, agents) or agents in lexical.parents else None
    return None


def _plugins_below(folder: Path) -> list[str]:
    """Paths (relative to `folder`, ending in '/') of the plugin folders below it; the walk
    follows no link, as the plugin loader does not, and stops at each plugin it finds."""
    found = []
    seen = 0
    for top, folders, files in os.walk(folder):
        seen += len(folders) + len(files)
        if seen > MAX_WALK_ENTRIES:
            break  # the walk of the agent files that follows says the folder is too large
        if (Path(top) / MANIFEST).is_file() and Path(top) != folder:
            found.append(os.path.relpath(top, folder) + "/")
            folders.clear()
        else:
            folders[:] = [f for f in folders if f != ".git"]
    return found


def _plugin_files(argument: str, root: Path, base: str, project: Path | None) -> list[_Found]:
    """The files of the plugin at `root` at or below `argument`, as its loader reads them."""
    manifest = read_plugin_manifest(root)
    plugin = manifest.name if manifest is not None else None
    refused = manifest.problem if manifest is not None else None
    wanted = _lexical(Path(argument))
    agents = root / AGENTS_FOLDER
    group = os.path.realpath(root)
    if not wanted.is_dir():  # one file given
        relative = os.path.relpath(wanted, agents)
        link = _symlink_on_the_way(wanted, str(root))
        entries = [(relative.replace(os.sep, "/"), wanted, link is not None)]
    else:
        entries = [
            (relative, location, linked)
            for relative, location, linked in walk_plugin_entries(root)
            if wanted in (root, agents) or wanted in location.parents
        ]
    found = []
    for relative, location, linked in sorted(entries):
        display = os.path.join(argument, os.path.relpath(location, wanted))  # noqa: PTH118
        if wanted == location:
            display = argument
        skipped = None
        if plugin is None:
            skipped = (
                f"Claude Code refuses the plugin: {refused or 'its plugin.json has no name'}",
                "give the plugin.json a kebab-case `name` (and `agents` entries like "
                '"./agents/x.md"), or leave `agents` out',
            )
        elif linked:
            skipped = (
                "it is reached through a symlink, and Claude Code's plugin loader skips links",
                "put the file itself in the plugin's agents folder",
            )
        found.append(
            _Found(display, location, group, base, project, plugin or "", relative, skipped)
        )
    return found


def project_of(argument: str, within: Path | None = None) -> Path | None:
    """The project whose settings the client applies to the agents under `argument`:
    `within` when it holds the argument, else the nearest folder at or above it that has a
    `.claude` folder or an agentsync.toml (the client reads the settings of the folder it
    runs in; this is where it would run to use these agents). None when there is none."""
    lexical = _lexical(Path(argument))
    if within is not None:
        root = _lexical(within)
        if lexical == root or root in lexical.parents:
            return root
    start = lexical if Path(argument).is_dir() else lexical.parent
    for folder in (start, *start.parents):
        if (folder / ".claude").is_dir() or (folder / "agentsync.toml").is_file():
            return folder
    return None


# The client's reading of a yes/no environment variable.
_ENV_YES = frozenset({"1", "true", "yes", "on"})
_ENV_NO = frozenset({"0", "false", "no", "off"})


def auto_memory_on(project: Path | None, environ: Mapping[str, str] | None = None) -> bool:
    """Whether the client's auto-memory is on for agents of `project` (observed 2.1.330).

    `CLAUDE_CODE_DISABLE_AUTO_MEMORY` decides when it says yes or no; otherwise
    `autoMemoryEnabled` in the settings files, the later of user, project, project-local
    winning. It is on by default.
    """
    environ = os.environ if environ is None else environ
    flag = environ.get("CLAUDE_CODE_DISABLE_AUTO_MEMORY", "").strip().lower()
    if flag in _ENV_YES or flag in _ENV_NO:
        return flag in _ENV_NO
    files = [user_agents_dir(environ).parent / "settings.json"]
    if project is not None:
        files += [
            project / ".claude" / "settings.json",
            project / ".claude" / "settings.local.json",
        ]
    enabled = True
    for settings in files:
        value = _json_object(settings).get("autoMemoryEnabled")
        if isinstance(value, bool):
            enabled = value
    return enabled


def _json_object(path: Path) -> dict[str, Any]:
    """The JSON object in a small settings file; {} when it is missing or not one."""
    try:
        data = read_small(path, MAX_FILE_BYTES)  # not a FIFO: no hang
        document = json.loads(data.decode("utf-8")) if data is not None else {}
    except (OSError, ValueError, RecursionError):
        return {}
    return document if isinstance(document, dict) else {}


def _fix_base(argument: str, within: Path | None) -> str:
    lexical = _lexical(Path(argument))
    if within is not None:
        root = _lexical(within)
        if lexical == root or root in lexical.parents:
            return str(root)
    return str(lexical.parent)


def _lexical(path: Path) -> Path:
    """`path` made absolute without resolving symlinks (they are what is looked for)."""
    return Path(os.path.normpath(path.absolute()))


def _symlink_on_the_way(location: Path, base: str) -> str | None:
    """The first symlink on the path from `base` down to `location` (the file included):
    writing there would land wherever the link points."""
    lexical, root = _lexical(location), Path(base)
    if not base or (root != lexical and root not in lexical.parents):
        return str(lexical)
    current = root
    for part in lexical.relative_to(root).parts:
        current /= part
        if current.is_symlink():
            return str(current)
    return None


# --- checking --------------------------------------------------------------------------


def check_paths(
    given: Sequence[str],
    *,
    mcp_servers: frozenset[str] | None = None,
    within: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> CheckReport:
    """Diagnose every agent file under `given`, including duplicate names per folder tree.

    `environ` (default: this process's) and each project's settings say whether the
    client's auto-memory is on, which changes the tools of agents with a `memory`.
    """
    reports: list[tuple[_Found, FileReport]] = []
    memory: dict[Path | None, bool] = {}
    for item in find_agent_files(given, within):
        if item.project not in memory:
            memory[item.project] = auto_memory_on(item.project, environ)
        reports.append((item, _check_file(item, mcp_servers, memory[item.project])))
    reports = _with_scopes(_with_duplicates(reports), environ)
    files = sorted((r for _, r in reports), key=lambda r: r.path)
    return CheckReport(tuple(files))


def _check_file(
    item: _Found, mcp_servers: frozenset[str] | None, auto_memory: bool = True
) -> FileReport:
    if item.skipped is not None:
        problem = Diagnostic("AS017", "error", 1, *item.skipped)
        return FileReport(item.display, parse_agent(b""), (problem,), item.location, item.base)
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
        return FileReport(item.display, parse_agent(b""), (problem,), item.location, item.base)
    if item.plugin is not None:
        agent, found, view = diagnose_plugin(
            data,
            item.display,
            item.relative,
            item.plugin,
            mcp_servers=mcp_servers,
            auto_memory=auto_memory,
        )
        return FileReport(item.display, agent, tuple(found), item.location, item.base, view)
    agent, diagnostics, view = diagnose_with_view(
        data, item.display, mcp_servers=mcp_servers, auto_memory=auto_memory
    )
    return FileReport(item.display, agent, tuple(diagnostics), item.location, item.base, view)


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
            loaded = (
                "reads a plugin's files side by side, so which one it loads varies from run to run"
                if item.plugin is not None
                else f"{CLIENT_VERSION} loads only {reports[winner][1].path} (the path that "
                "sorts last), 2.1.197 whichever it reads last"
            )
            finding = Diagnostic(
                "AS116",
                "warning",
                report.agent.line_of("name"),
                f"the name `{name}` is also used by {', '.join(others)}; Claude Code {loaded}",
                "give each agent a unique name (or remove the copy)",
            )
            merged = sorted((*report.diagnostics, finding), key=by_severity)
            reports[index] = (item, replace(report, diagnostics=tuple(merged)))
    return reports


def _with_scopes(
    reports: list[tuple[_Found, FileReport]], environ: Mapping[str, str] | None
) -> list[tuple[_Found, FileReport]]:
    """Notes on project agents whose name the user's agents folder or a built-in also has:
    the project file replaces them, or, when it does not load, the user's file runs."""
    user = user_agents_dir(environ)
    user_real = os.path.realpath(user)
    theirs: dict[str, Path] | None = None  # read only when a project agent is checked
    in_agents: dict[Path, bool] = {}  # by folder: most files share a few
    for index, (item, report) in enumerate(reports):
        folder = item.location.parent
        if folder not in in_agents:
            in_agents[folder] = _in_agents_folder(folder)
        if item.plugin is not None or not in_agents[folder]:
            continue
        if os.path.realpath(item.location).startswith(user_real + os.sep):
            continue  # the user's own agents are what the others hide
        agent = report.agent
        name = agent.name if agent.loads else agent.evident_name
        if name is None:
            continue
        if theirs is None:
            theirs = loading_names(user)
        finding = _shadow_note(agent, name, theirs.get(name))
        if finding is not None:
            merged = sorted((*report.diagnostics, finding), key=by_severity)
            reports[index] = (item, replace(report, diagnostics=tuple(merged)))
    return reports


def _shadow_note(agent: AgentFile, name: str, user_file: Path | None) -> Diagnostic | None:
    line = agent.line_of("name")
    if user_file is not None and agent.loads:
        return diag(
            "AS207",
            line,
            f"the user's agents folder also has `{name}` ({user_file}); in this project "
            "Claude Code runs this file instead",
            "rename one of them if both are wanted",
        )
    if user_file is not None:
        return diag(
            "AS207",
            line,
            f"this file does not load, so for `{name}` Claude Code runs the user's agent "
            f"{user_file} instead",
            "fix the errors above so that the project's agent is the one that runs",
        )
    if agent.loads and name in BUILT_INS:
        return diag(
            "AS207",
            line,
            f"`{name}` is the name of a built-in agent: in this project this file replaces it",
            "rename the agent unless it is meant to replace the built-in",
        )
    return None


def _in_agents_folder(folder: Path) -> bool:
    """Whether `folder` is or lies below a `.claude/agents` folder (a project's, or the user's)."""
    lexical = _lexical(folder)
    return any(
        p.name == "agents" and p.parent.name == ".claude" for p in (lexical, *lexical.parents)
    )


def _code_units(path: str) -> bytes:
    """Sort key for JavaScript's string order (UTF-16 code units)."""
    return path.encode("utf-16-be", errors="surrogatepass")


def load_mcp_servers(project_dir: Path) -> frozenset[str]:
    """Names of the MCP servers the project's `.mcp.json` configures (empty if none)."""
    servers = _json_object(project_dir / ".mcp.json").get("mcpServers")
    if not isinstance(servers, dict):
        return frozenset()
    # an entry that is not an object configures nothing the client can start
    return frozenset(str(k) for k, v in servers.items() if isinstance(v, dict))


# --- fixing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FixPlan:
    """The rewrites `check --fix` would make, and the files it leaves alone, with why."""

    patches: tuple[FilePatch, ...]
    skipped: tuple[tuple[str, str], ...] = ()  # (displayed path, reason)


def plan_fixes(report: CheckReport, *, fix_tools: bool = False) -> FixPlan:
    """The rewrite `check --fix` would make to each file (files that need none are left out).

    A file reached through a symlink (the file, or a folder on its way, below the project
    folder or the folder given) is left alone: the write would land where the link points.
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
        link = _symlink_on_the_way(file.location, file.base)
        if link is not None:
            skipped.append((file.path, f"not fixed: it is reached through the symlink {link}"))
            continue
        patches.append(FilePatch(file.path, file.location, before, fix.after))
    return FixPlan(tuple(patches), tuple(skipped))


def apply_fixes(patches: Sequence[FilePatch]) -> None:
    """Write each patch atomically, at the file's real path."""
    for patch in patches:
        atomic_write(Path(os.path.realpath(patch.location)), patch.after)


# --- rendering -------------------------------------------------------------------------


GROUPED_AFTER = 5  # files listed per warning or info code before the rest are counted


def render_text(
    report: CheckReport, *, verbose: bool = False, client: InstalledClient | None = None
) -> str:
    """`path:line: severity CODE message` per finding, then a summary line.

    Each finding stays one line, escaped: a path or a quoted value with a newline or an
    escape sequence in it must not forge or erase another finding. A warning or info code
    that many files share is listed for the first few and then counted in one line (all
    of them with `verbose`); every error is listed.
    """
    lines: list[str] = []
    shown: dict[str, int] = {}
    hidden: dict[tuple[str, str], int] = {}
    for f in report.files:
        for d in f.diagnostics:
            seen = shown.get(d.code, 0)
            if d.severity != "error" and not verbose and seen >= GROUPED_AFTER:
                key = (str(d.severity), d.code)
                hidden[key] = hidden.get(key, 0) + 1
                continue
            shown[d.code] = seen + 1
            lines.append(
                inline(f"{f.path}:{d.line}: {d.severity} {d.code} {d.message}")
                + (f" (fix: {inline(d.fix)})" if d.fix else "")
            )
    for (severity, code), count in hidden.items():
        lines.append(f"... and {count} more {severity} {code} (-v lists every one)")
    lines.append(summary_line(report))
    lines += client_lines(client, verbose=verbose)
    return "\n".join(lines) + "\n"


# --- the client installed here ---------------------------------------------------------

VERSION_TIMEOUT = 3.0  # seconds `claude --version` may take before it counts as unreadable
_VERSION = re.compile(r"\b(\d+)\.(\d+)\.(\d+)\b")


@dataclass(frozen=True)
class InstalledClient:
    """The Claude Code found here ($CLAUDE_BIN, else `claude` on PATH) and its version."""

    path: str
    version: str | None  # None when `--version` failed or printed none

    @property
    def verified(self) -> bool:
        """Whether it is one of the versions these rules were checked against."""
        if self.version is None:
            return False
        low, high = (_version_key(v) for v in VERIFIED_CLIENTS)
        return low <= _version_key(self.version) <= high


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def installed_client(environ: Mapping[str, str] | None = None) -> InstalledClient | None:
    """The client on this machine and its version, or None when there is none. Runs
    `claude --version` once, briefly; a client that fails or hangs has no version."""
    environ = os.environ if environ is None else environ
    path = environ.get("CLAUDE_BIN") or shutil.which("claude", path=environ.get("PATH"))
    if not path:
        return None
    try:
        # its own process group: a client that hangs is ended with everything it started
        child = subprocess.Popen(
            [path, "--version"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            errors="replace",
            start_new_session=True,
        )
    except (OSError, subprocess.SubprocessError):  # not runnable
        return InstalledClient(path, None)
    try:
        out, _err = child.communicate(timeout=VERSION_TIMEOUT)
    except subprocess.TimeoutExpired:  # too slow, or a child of it holds the output open
        with contextlib.suppress(OSError):
            os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        return InstalledClient(path, None)
    found = _VERSION.search(out) if child.returncode == 0 else None
    return InstalledClient(path, ".".join(found.groups()) if found else None)


def client_lines(client: InstalledClient | None, *, verbose: bool = False) -> list[str]:
    """What `check` says about the client: a warning when the installed one is outside the
    verified versions; with `verbose`, which rules apply and which client was found."""
    low, high = VERIFIED_CLIENTS
    lines = []
    if verbose:
        lines.append(f"rules: Claude Code {CLIENT_VERSION}, verified on {low} to {high}")
        if client is None:
            lines.append("installed client: none found (CLAUDE_BIN, or `claude` on PATH)")
        elif client.version is None:
            lines.append(f"installed client: {inline(client.path)} (its version could not be read)")
        elif client.verified:
            lines.append(f"installed client: Claude Code {client.version} ({inline(client.path)})")
    if client is not None and client.version is not None and not client.verified:
        lines.append(
            f"warning: the installed Claude Code {client.version} ({inline(client.path)}) is "
            f"outside the versions these rules were verified on ({low} to {high}): what it "
            "loads may differ"
        )
    return lines


def ignoring(report: CheckReport, codes: Collection[str]) -> CheckReport:
    """The report without the findings whose code is in `codes` (`check --ignore`, and the
    manifest's `[settings] ignore`): they neither print nor count toward the exit code."""
    if not codes:
        return report
    wanted = {code.upper() for code in codes}
    return CheckReport(
        tuple(
            replace(f, diagnostics=tuple(d for d in f.diagnostics if d.code not in wanted))
            for f in report.files
        )
    )


def summary_line(report: CheckReport) -> str:
    files = len(report.files)
    loads = sum(1 for f in report.files if f.agent.loads)
    return (
        f"{files} file{'s' if files != 1 else ''} checked against Claude Code {CLIENT_VERSION}: "
        f"{loads} load, {report.count('error')} error(s), {report.count('warning')} warning(s), "
        f"{report.count('info')} info"
    )


def render_json(report: CheckReport) -> list[dict[str, Any]]:
    """The `check --json` list, one object per file; each carries the JSON schema version
    that every other command puts at the top of its document."""
    return [{"schema": JSON_SCHEMA, **f.as_json()} for f in report.files]
