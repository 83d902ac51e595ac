"""How reports read: the words for each status, the one line layout of a change row, and the
one JSON shape of a row, shared by install, remove, update and outdated."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentsync.operations import SearchRow, ShowReport, SourceRow, StatusReport
from agentsync.sync import AgentRow, Pin, SyncReport
from agentsync.textsafe import inline

# One word (or phrase, read before the agent's name) per status.
WORDS: dict[str, str] = {
    "new": "installed",
    "restored": "restored",
    "adopted": "adopted",
    "updated": "updated",
    "replaced": "replaced",
    "unchanged": "up to date",
    "moved": "pin moved (file unchanged)",
    "pinned": "pinned",
    "modified": "kept (local edits)",
    "kept-edit": "kept (local edits, new version not written)",
    "merged": "merged local edits into",
    "conflict": "CONFLICT (file left as it is)",
    "markers": "CONFLICT (markers written)",
    "orphaned": "left in place",
    "removed": "removed",
    "removed-upstream": "REMOVED UPSTREAM (kept)",
    "held": "HELD BACK (new version would not load)",
    "behind": "behind",
}
# How a project's summary line counts its rows (`1 updated, 2 merged`), in this order.
COUNTED: dict[str, str] = {
    "updated": "updated",
    "merged": "merged",
    "new": "installed",
    "behind": "behind",
    "removed-upstream": "removed upstream",
    "conflict": "conflict",
    "markers": "conflict markers",
}
# Rows worth a line only with -v: nothing happened to the file.
QUIET = frozenset({"unchanged", "pinned", "moved"})
# Rows that also draw a warning line on stderr: the folder is not what was asked.
WARNED = frozenset({"modified", "kept-edit", "orphaned", "conflict", "markers"})
CHANGED = frozenset({"updated", "merged", "behind"})


def row_lines(row: AgentRow, *, verbose: bool = False) -> list[str]:
    """One line per row, then indented flags: what a new version grants, moved tags."""
    if row.status in QUIET and not verbose and not row.drift:
        return []
    line = f"{WORDS[row.status]} {inline(row.agent)}{_pins(row)}"
    if row.added or row.removed:
        line += f" +{row.added} -{row.removed}"
    if row.note:
        line += f" ({inline(row.note)})"
    out = [line]
    for grant in row.grants:
        mark = "!" if grant.risky else "~"
        out.append(f"  {mark} {'widens' if grant.risky else 'changes'} {inline(grant.text)}")
    for drift in row.drift:
        out.append(f"  !! {inline(drift.message)}")
    return out


def _pins(row: AgentRow) -> str:
    if row.source is None:
        return ""
    source = inline(row.source)
    if row.old is not None and row.new is not None and row.old.label != row.new.label:
        return f" from {source}@{inline(row.old.label)} -> {inline(row.new.label)}"
    pin = row.new or row.old
    return f" from {source}@{inline(pin.label)}" if pin is not None else f" from {source}"


def report_text(report: SyncReport, *, verbose: bool = False) -> tuple[list[str], list[str]]:
    """(lines for stdout, warnings for stderr) of one project's report."""
    warnings = list(report.warnings)
    if report.error is not None:
        return [], warnings
    out = ["dry run: nothing was written"] if report.dry_run else []
    rows = [line for row in report.rows for line in row_lines(row, verbose=verbose)]
    out += rows or ["all agents are up to date"]
    warnings += [
        f"{row.agent}: {row.note or WORDS[row.status]}"
        for row in report.rows
        if row.status in WARNED
    ]
    return out, warnings


def summary(report: SyncReport) -> str:
    """A project's outcome in a few words, for a run over many projects."""
    if report.error is not None:
        return "failed"
    counts: dict[str, int] = {}
    for row in report.rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    shown = [f"{counts[k]} {word}" for k, word in COUNTED.items() if counts.get(k)]
    if report.conflicts and not report.dry_run:
        shown.append("left untouched")
    return ", ".join(shown) or "up to date"


def total_line(projects: tuple[SyncReport, ...], verb: str) -> str:
    failed = sum(1 for p in projects if p.error is not None)
    changed = sum(1 for p in projects for r in p.rows if r.status in CHANGED)
    attention = sum(1 for p in projects if not p.ok)
    noun = "agent" if changed == 1 else "agents"
    plural = "s" if len(projects) != 1 else ""
    return (
        f"{len(projects)} project{plural}, {changed} {noun} {verb}, "
        f"{attention} need attention, {failed} failed"
    )


# -- JSON -------------------------------------------------------------------------------------


def pin_json(pin: Pin | None) -> dict[str, Any] | None:
    return None if pin is None else {"commit": pin.commit, "tag": pin.tag}


def row_json(row: AgentRow) -> dict[str, Any]:
    """The one JSON shape of a row, for every command's report."""
    return {
        "agent": row.agent,
        "source": row.source,
        "status": row.status,
        "action": row.action,
        "path": str(row.path) if row.path is not None else None,
        "old": pin_json(row.old),
        "new": pin_json(row.new),
        "lines_added": row.added,
        "lines_removed": row.removed,
        "grants": [{"what": g.what, "detail": g.detail, "risky": g.risky} for g in row.grants],
        "drift": [
            {"kind": d.kind, "ref": d.ref, "locked": d.locked, "current": d.current}
            for d in row.drift
        ],
        "note": row.note or None,
    }


def install_json(report: SyncReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "lock_changed": report.lock_changed,
        "manifest_changed": report.manifest_changed,
        "actions": [row_json(r) for r in report.rows],
        "warnings": list(report.warnings),
    }


def project_json(report: SyncReport) -> dict[str, Any]:
    return {
        "project": str(report.root),
        "ok": report.ok,
        "dry_run": report.dry_run,
        "applied": report.applied,
        "lock_changed": report.lock_changed,
        "error": report.error.render() if report.error is not None else None,
        "agents": [row_json(r) for r in report.rows],
        "warnings": list(report.warnings),
    }


def outdated_json(row: AgentRow) -> dict[str, Any]:
    data = row_json(row)
    data.update(
        current=row.old.commit if row.old else None,
        latest=row.new.commit if row.new else None,
        changed=row.status == "behind",
        pinned=row.status == "pinned",
        behind=row.status == "behind",
    )
    return data


def many_json(root: str, projects: tuple[SyncReport, ...], ok: bool) -> dict[str, Any]:
    return {
        "root": root,
        "ok": ok,
        "projects": [project_json(p) for p in projects],
        "total": {
            "projects": len(projects),
            "ok": sum(1 for p in projects if p.ok),
            "failed": sum(1 for p in projects if p.error is not None),
            "changed": sum(1 for p in projects for r in p.rows if r.status in CHANGED),
        },
    }


# -- the other reports ------------------------------------------------------------------------


def status_json(report: StatusReport) -> list[dict[str, Any]]:
    return [
        {
            "agent": e.name,
            "state": e.state,
            "path": str(e.path),
            "source": e.source,
            "commit": e.commit,
            "note": e.note or None,
        }
        for e in report.entries
    ]


def status_lines(report: StatusReport) -> list[str]:
    if not report.entries:
        return [f"no agents in {report.target}"]
    lines = []
    for e in report.entries:
        origin = f"{e.source}@{e.commit[:7]}" if e.source and e.commit else "-"
        note = f"  ({inline(e.note)})" if e.note else ""
        lines.append(f"{e.state:<10} {inline(e.name):<32} {inline(origin)}{note}")
    return lines


def sources_json(rows: Sequence[SourceRow]) -> list[dict[str, Any]]:
    return [
        {"name": r.name, "url": r.url, "ref": r.request, "commit": r.commit, "agents": r.agents}
        for r in rows
    ]


def source_lines(rows: Sequence[SourceRow]) -> list[str]:
    return [
        f"{inline(r.name):<16} {inline(r.url)}  {inline(r.request)}  "
        f"{r.commit[:7] if r.commit else '-'}  {r.agents} installed"
        for r in rows
    ]


def search_json(rows: Sequence[SearchRow]) -> list[dict[str, Any]]:
    return [
        {
            "name": r.candidate.name,
            "source": r.candidate.source,
            "path": r.candidate.path,
            "description": r.candidate.description,
            "installed": r.installed,
            "verdict": r.verdict,
        }
        for r in rows
    ]


def search_lines(rows: Sequence[SearchRow]) -> list[str]:
    lines = []
    for r in rows:
        mark = "*" if r.installed else " "
        desc = inline(" ".join((r.candidate.description or "").split())[:70])
        lines.append(f"{mark} {inline(r.candidate.label):<40} {r.verdict:<13} {desc}")
    return lines


def _diagnostics(report: ShowReport) -> list[dict[str, Any]]:
    return [
        {k: getattr(d, k) for k in ("code", "severity", "line", "message", "fix")}
        for d in report.diagnostics
    ]


def show_json(report: ShowReport) -> dict[str, Any]:
    c, parsed = report.candidate, report.agent
    return {
        "name": c.name,
        "source": c.source,
        "path": c.path,
        "commit": c.commit,
        "loads": parsed.loads,
        "description": parsed.description,
        "tools": list(parsed.tools) if parsed.tools is not None else None,
        "installed": report.locked is not None,
        "diagnostics": _diagnostics(report),
    }


def show_lines(report: ShowReport) -> list[str]:
    c, parsed = report.candidate, report.agent
    path = inline(c.path)
    description = parsed.description if parsed.loads else parsed.evident_description
    tools = (
        "all (inherited)"
        if parsed.tools is None
        else ", ".join(inline(t) for t in parsed.tools) or "none"
    )
    lines = [
        f"{inline(c.label)}  ({path} @ {c.commit[:7]})",
        f"loads:       {'yes' if parsed.loads else 'no'}",
        f"description: {inline(str(description))}",
        f"tools:       {tools}",
    ]
    if report.locked is not None:
        lines.append(f"installed:   as {inline(report.locked.name)}")
    for d in _diagnostics(report):
        lines.append(f"{path}:{d['line']}: {d['severity']} {d['code']} {inline(d['message'])}")
    return lines
