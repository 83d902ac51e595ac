"""How reports read: the words for each status, the one line layout of a change row, and the
one JSON shape of a row, shared by install, remove, update and outdated."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentsync.errors import JSON_SCHEMA, notice_code
from agentsync.fastpath import UP_TO_DATE
from agentsync.ids import short
from agentsync.operations import SearchRow, ShowReport, SourceRow, StatusReport
from agentsync.sync import AgentRow, Pin, SyncReport
from agentsync.textsafe import inline

if TYPE_CHECKING:
    from agentsync.gate import LockReport, VerifyReport
    from agentsync.scopes import Which

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

# Colour of each status on a terminal: done (good), needs a look (warn), failed (bad).
_ROW_KIND = {
    "new": "good",
    "restored": "good",
    "adopted": "good",
    "updated": "good",
    "replaced": "warn",
    "merged": "good",
    "removed": "good",
    "modified": "warn",
    "kept-edit": "warn",
    "orphaned": "warn",
    "behind": "warn",
    "conflict": "bad",
    "markers": "bad",
    "removed-upstream": "bad",
    "held": "bad",
}
ROW_KINDS = {WORDS[status]: kind for status, kind in _ROW_KIND.items()}
STATE_KINDS = {
    "ok": "good",
    "modified": "warn",
    "merged": "good",
    "unverified": "warn",
    "missing": "bad",
    "conflict": "bad",
    "unmanaged": "note",
}
VERDICT_KINDS = {"will not load": "bad", "errors": "bad", "warnings": "warn", "ok": "good"}


def row_lines(row: AgentRow, *, verbose: bool = False) -> list[str]:
    """One line per row, then indented flags: what a new version grants, moved tags."""
    if row.status in QUIET and not verbose and not row.drift and not _repinned(row):
        return []
    line = f"{WORDS[row.status]} {inline(row.agent)}{_pins(row)}"
    if row.added or row.removed:
        line += f" +{row.added} -{row.removed}"
    if row.note and row.status not in WARNED:  # a warned row's note is its warning line
        line += f" ({inline(row.note)})"
    out = [line]
    for grant in row.grants:
        mark = "!" if grant.risky else "~"
        out.append(f"  {mark} {'widens' if grant.risky else 'changes'} {inline(grant.text)}")
    for drift in row.drift:
        out.append(f"  !! {inline(drift.message)}")
    return out


def _repinned(row: AgentRow) -> bool:
    """The user moved the agent's request (an install at another ref): worth a line even
    when the file did not change."""
    return row.old is not None and row.new is not None and row.old.ref != row.new.ref


def _pins(row: AgentRow) -> str:
    if row.source is None:
        return ""
    source = inline(row.source)
    if row.old is not None and row.new is not None and _repinned(row):
        before = f"{inline(row.old.ref or 'HEAD')}@{short(row.old.commit)}"
        return (
            f" from {source}: {before} -> {inline(row.new.ref or 'HEAD')}@{short(row.new.commit)}"
        )
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
    out += rows or [UP_TO_DATE]
    warnings += [
        f"{row.agent}: {row.note or WORDS[row.status]}{next_steps(row)}"
        for row in report.rows
        if row.status in WARNED
    ]
    return out, warnings


def next_steps(row: AgentRow) -> str:
    """The commands that settle a conflict, so that a run never ends in a dead end."""
    name = inline(row.agent)
    if row.status == "conflict":
        return (
            f"; next: compare with `agentsync diff --upstream {name}`, then "
            f"`agentsync update {name} --merge=markers` to resolve it in the file, or "
            f"`agentsync update {name} --force` to take the new version (your edits are lost)"
        )
    if row.status == "markers":
        path = f" in {inline(row.path.name)}" if row.path is not None else ""
        return f"; next: resolve the conflict markers{path} by hand (`agentsync status` shows it)"
    return ""


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
# One contract for every command (the README's "JSON output" section): a top-level object
# with "schema": SCHEMA; an agent is "agent", its origin "source", a commit 40 hex digits,
# what happened or how it stands "state", paths relative to the project, and each warning
# an object with a code. A change to a key or its meaning raises the schema number.


def document(**fields: Any) -> dict[str, Any]:
    """A top-level JSON document: the schema version first, then the fields."""
    return {"schema": JSON_SCHEMA, **fields}


def warning_json(text: str) -> dict[str, str]:
    return {"code": notice_code(text), "message": text}


def warnings_json(texts: Sequence[str]) -> list[dict[str, str]]:
    return [warning_json(t) for t in texts]


def relative(path: Path | None, root: Path) -> str | None:
    """`path` as seen from the project folder (absolute only when it lies outside it)."""
    if path is None:
        return None
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def pin_json(pin: Pin | None) -> dict[str, Any] | None:
    return None if pin is None else {"commit": pin.commit, "tag": pin.tag, "ref": pin.ref}


def row_json(row: AgentRow, root: Path) -> dict[str, Any]:
    """The one JSON shape of an agent's row, for every command that changes agent files."""
    return {
        "agent": row.agent,
        "source": row.source,
        "state": row.status,
        "action": row.action,
        "path": relative(row.path, root),
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
        "commits": [{"commit": c, "subject": subject} for c, subject in row.subjects],
    }


def _project_fields(report: SyncReport) -> dict[str, Any]:
    return {
        "project": str(report.root),
        "ok": report.ok,
        "dry_run": report.dry_run,
        "applied": report.applied,
        "lock_changed": report.lock_changed,
        "manifest_changed": report.manifest_changed,
        "error": report.error.json() if report.error is not None else None,
        "agents": [
            outdated_json(r, report.root) if report.mode == "outdated" else row_json(r, report.root)
            for r in report.rows
        ],
        "warnings": warnings_json(report.warnings),
    }


def project_json(report: SyncReport) -> dict[str, Any]:
    """install, add, remove, update and outdated in one project."""
    return document(**_project_fields(report))


def outdated_json(row: AgentRow, root: Path) -> dict[str, Any]:
    data = row_json(row, root)
    data.update(
        current=row.old.commit if row.old else None,
        latest=row.new.commit if row.new else None,
        behind=row.status == "behind",
        pinned=row.status == "pinned",
    )
    return data


def many_json(root: str, projects: tuple[SyncReport, ...], ok: bool) -> dict[str, Any]:
    return document(
        root=root,
        ok=ok,
        projects=[_project_fields(p) for p in projects],
        total={
            "projects": len(projects),
            "ok": sum(1 for p in projects if p.ok),
            "failed": sum(1 for p in projects if p.error is not None),
            "changed": sum(1 for p in projects for r in p.rows if r.status in CHANGED),
        },
    )


# -- the other reports ------------------------------------------------------------------------


def status_json(report: StatusReport) -> dict[str, Any]:
    root = report.target.parent.parent  # the folder holding .claude/agents
    return document(
        project=str(root),
        target=relative(report.target, root),
        ok=report.ok,
        agents=[
            {
                "agent": e.name,
                "state": e.state,
                "path": relative(e.path, root),
                "source": e.source,
                "commit": e.commit,
                "note": e.note or None,
                "follows": e.follows,
                "resolved": e.resolved,
                "shadows": str(e.shadows) if e.shadows is not None else None,
            }
            for e in report.entries
        ],
        warnings=[
            {"code": "lock-stale", "message": f"agentsync.lock is out of date: {reason}"}
            for reason in report.stale
        ],
    )


def status_lines(report: StatusReport) -> list[str]:
    if not report.entries:
        return [f"no agents in {report.target}"]
    lines = []
    for e in report.entries:
        origin = f"{e.source}@{e.commit[:7]}" if e.source and e.commit else "-"
        if e.follows is not None:
            chosen = f" ({inline(e.resolved)})" if e.resolved else ""
            origin += f"  follows {inline(e.follows)}{chosen}"
        note = f"  ({inline(e.note)})" if e.note else ""
        lines.append(f"{e.state:<10} {inline(e.name):<32} {inline(origin)}{note}")
        if e.shadows is not None:
            lines.append(f"  shadows the user agent {_home(e.shadows)} (this one is used)")
    return lines


def _home(path: Path) -> str:
    """`path` with the home folder written as ~, as people write it."""
    home = Path.home()
    shown = f"~/{path.relative_to(home).as_posix()}" if path.is_relative_to(home) else str(path)
    return inline(shown)


def sources_json(rows: Sequence[SourceRow]) -> dict[str, Any]:
    return document(
        sources=[
            {
                "source": r.name,
                "url": r.url,
                "ref": r.request,
                "commit": r.commit,
                "installed": r.agents,
            }
            for r in rows
        ]
    )


def source_lines(rows: Sequence[SourceRow]) -> list[str]:
    return [
        f"{inline(r.name):<16} {inline(r.url)}  {inline(r.request)}  "
        f"{r.commit[:7] if r.commit else '-'}  {r.agents} installed"
        for r in rows
    ]


def search_json(rows: Sequence[SearchRow], warnings: Sequence[str] = ()) -> dict[str, Any]:
    return document(
        agents=[
            {
                "agent": r.candidate.name,
                "source": r.candidate.source,
                "path": r.candidate.path,
                "commit": r.candidate.commit,
                "description": r.candidate.description,
                "installed": r.installed,
                "state": r.verdict,
            }
            for r in rows
        ],
        warnings=warnings_json(warnings),
    )


def search_lines(rows: Sequence[SearchRow], width: int | None = None) -> list[str]:
    """A table with a header: `*` for installed, SOURCE/NAME, the verdict, the description;
    with `width` (a terminal's), the name and description are cut to fit, with `…`."""
    if not rows:
        return []
    labels = [inline(r.candidate.label) for r in rows]
    name_width = min(max(len("AGENT"), *map(len, labels)), 48)
    verdict_width = max(len("CHECK"), *(len(r.verdict) for r in rows))
    lines = [f"  {'AGENT':<{name_width}}  {'CHECK':<{verdict_width}}  DESCRIPTION"]
    room = None if width is None else max(width - name_width - verdict_width - 6, 10)
    for r, label in zip(rows, labels, strict=True):
        mark = "*" if r.installed else " "
        desc = inline(" ".join((r.candidate.description or "").split()))
        lines.append(
            f"{mark} {cut(label, name_width):<{name_width}}  {r.verdict:<{verdict_width}}  "
            f"{cut(desc, room)}".rstrip()
        )
    return lines


def cut(text: str, room: int | None) -> str:
    """`text` in at most `room` characters, ending with `…` when cut."""
    if room is None or len(text) <= room:
        return text
    return text[: max(room - 1, 0)] + "…"


def _diagnostics(report: ShowReport) -> list[dict[str, Any]]:
    return [
        {k: getattr(d, k) for k in ("code", "severity", "line", "message", "fix")}
        for d in report.diagnostics
    ]


def _frontmatter(report: ShowReport) -> dict[str, Any] | None:
    """The frontmatter's fields as parsed (None when there is none, or it does not parse)."""
    parsed = report.agent
    if parsed.parse in {"none", "failed"}:
        return None
    try:
        json.dumps(parsed.fields, default=str)
    except RecursionError:  # nested deeper than any output can carry
        return None
    return dict(parsed.fields)


def _model(report: ShowReport) -> str | None:
    value = report.agent.fields.get("model")
    return None if value is None else _value_text(value)


def _value_text(value: Any) -> str:
    """A frontmatter value on one line: a string as it is, anything else as JSON writes it."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def show_json(report: ShowReport, *, body: bool = False) -> dict[str, Any]:
    c, parsed = report.candidate, report.agent
    return document(
        agent=c.name,
        source=c.source,
        path=c.path,
        commit=c.commit,
        loads=parsed.loads,
        description=parsed.description,
        tools=list(parsed.tools) if parsed.tools is not None else None,
        model=_model(report),
        frontmatter=_frontmatter(report),
        body=parsed.body if body else None,
        installed=report.locked is not None,
        installed_as=report.locked.name if report.locked is not None else None,
        diagnostics=_diagnostics(report),
        warnings=warnings_json(report.warnings),
    )


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
    model = _model(report)
    lines.append(f"model:       {inline(model) if model is not None else '-'}")
    if report.locked is not None:
        lines.append(f"installed:   as {inline(report.locked.name)}")
    fields = _frontmatter(report)
    if fields is None and parsed.parse not in {"none", "failed"}:
        lines.append("frontmatter: nested too deeply to show")
    elif fields is None:
        lines.append(
            "frontmatter: none" if parsed.parse == "none" else "frontmatter: does not parse"
        )
    else:
        lines.append("frontmatter:")
        lines += [f"  {inline(str(k))}: {inline(_value_text(v))}" for k, v in fields.items()]
    for d in _diagnostics(report):
        lines.append(f"{path}:{d['line']}: {d['severity']} {d['code']} {inline(d['message'])}")
    return lines


# -- Markdown: a summary a bot pastes into a pull request ---------------------------------------

# Statuses that say nothing a reviewer must read, unless the pin moved.
_UNREMARKABLE = frozenset({"unchanged", "pinned", "restored", "adopted", "modified", "moved"})
_MD_SPECIAL = {
    "|": "&#124;",
    "<": "&lt;",
    ">": "&gt;",
    "&": "&amp;",
    "@": "&#64;",  # a commit subject must not mention (and notify) anyone
    "`": "&#96;",
}
_MD_ESCAPED = frozenset("\\*_[]!~#")
MAX_SUBJECTS = 5


def md(text: str) -> str:
    """Untrusted text as one Markdown table cell: one line, nothing it can format, link,
    embed or mention."""
    out = []
    for char in inline(text):
        if char in _MD_SPECIAL:
            out.append(_MD_SPECIAL[char])
        elif char in _MD_ESCAPED:
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def _md_pin(pin: Pin | None) -> str:
    if pin is None:
        return "—"
    label = pin.tag or pin.ref
    commit = f"`{short(pin.commit)}`"
    return f"{md(label)} ({commit})" if label and label != short(pin.commit) else commit


def _md_subjects(row: AgentRow) -> str:
    if not row.subjects:
        return "—"
    shown = [f"`{short(c)}` {md(s)}" for c, s in row.subjects[:MAX_SUBJECTS]]
    if len(row.subjects) > MAX_SUBJECTS:
        shown.append(f"and {len(row.subjects) - MAX_SUBJECTS} more")
    return "<br>".join(shown)


def _md_grants(row: AgentRow) -> str:
    if not row.grants:
        return "—"
    risky = any(g.risky for g in row.grants)
    flag = "⚠️ **widened**: " if risky else "changed: "
    return flag + "; ".join(md(g.text) for g in row.grants)


def review_rows(rows: Sequence[AgentRow]) -> list[AgentRow]:
    """The rows a reviewer reads: every agent whose pin or file moved, or that needs a look."""
    return [
        r
        for r in rows
        if r.status not in _UNREMARKABLE
        or (r.old is not None and r.new is not None and r.old.commit != r.new.commit)
    ]


def markdown_table(title: str, rows: Sequence[AgentRow], *, none: str) -> str:
    """A heading, then one table row per agent: old → new pin, the upstream commits between
    them, lines changed and what the new version lets the agent do that the old could not."""
    shown = review_rows(rows)
    out = [f"### {title}", ""]
    if not shown:
        return "\n".join([*out, none, ""])
    out += [
        "| Agent | Source | Change | From | To | Upstream commits | Lines | Capabilities |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in shown:
        lines = f"+{row.added} −{row.removed}" if row.added or row.removed else "—"
        cells = [
            f"**{md(row.agent)}**",
            md(row.source or "—"),
            md(WORDS[row.status]),
            _md_pin(row.old),
            _md_pin(row.new),
            _md_subjects(row),
            lines,
            _md_grants(row),
        ]
        out.append("| " + " | ".join(cells) + " |")
    widened = sum(1 for r in shown if any(g.risky for g in r.grants))
    out.append("")
    if widened:
        out.append(f"⚠️ {widened} agent(s) gain tools or permissions: review them before merging.")
        out.append("")
    return "\n".join(out)


def report_markdown(report: SyncReport) -> str:
    """`update` / `outdated --format markdown`."""
    if report.mode == "outdated":
        title, none = "agentsync outdated", "Every agent is up to date."
    elif report.dry_run:
        title, none = "agentsync update (dry run)", "Nothing to update."
    else:
        title, none = "agentsync update", "Nothing to update."
    count = len(review_rows(report.rows))
    return markdown_table(f"{title}: {count} agent(s)", report.rows, none=none)


# -- lock and verify ----------------------------------------------------------------------------


def lock_json(report: LockReport, root: Path) -> dict[str, Any]:
    return document(
        lock=relative(report.path, root),
        ok=report.ok,
        check=report.checking,
        written=report.written,
        stale=list(report.stale),
        agents=report.agents,
        sources=report.sources,
    )


def lock_lines(report: LockReport) -> list[str]:
    counts = f"{report.agents} agent(s) from {report.sources} source(s)"
    if report.checking:
        if not report.stale:
            return [f"agentsync.lock is up to date ({counts})"]
        return [f"agentsync.lock is out of date: {inline(r)}" for r in report.stale]
    if report.written:
        return [f"wrote agentsync.lock ({counts}); run `agentsync install` to write the files"]
    return [f"agentsync.lock is up to date ({counts})"]


def verify_json(report: VerifyReport) -> dict[str, Any]:
    return document(
        project=str(report.root),
        target=relative(report.target, report.root),
        ok=report.ok,
        agents=report.agents,
        findings=[
            {
                "kind": f.kind,
                "agent": f.agent,
                "path": relative(f.path, report.root),
                "message": f.message,
            }
            for f in report.findings
        ],
    )


def verify_lines(report: VerifyReport) -> list[str]:
    out = []
    for f in report.findings:
        where = f.agent or relative(f.path, report.root) or "agentsync.lock"
        out.append(f"{f.kind}: {inline(where)}: {inline(f.message)}")
    if report.ok:
        out.append(f"verified {report.agents} agent(s): the folder matches agentsync.lock")
    else:
        out.append(f"{len(report.findings)} difference(s) from agentsync.lock")
    return out


# -- which ----------------------------------------------------------------------------------------


def _place(path: Path | None, root: Path) -> str | None:
    if path is None:
        return None
    shown = relative(path, root)
    return _home(Path(shown)) if shown is not None and Path(shown).is_absolute() else shown


def which_json(found: Which, root: Path) -> dict[str, Any]:
    active = found.active
    return document(
        agent=found.name,
        scope=active.scope if active is not None else None,
        path=_place(active.path, root) if active is not None else None,
        candidates=[
            {
                "scope": c.scope,
                "path": _place(c.path, root),
                "loads": c.loads,
                "active": c.active,
                "why": c.why or None,
            }
            for c in found.candidates
        ],
    )


def which_lines(found: Which, root: Path) -> list[str]:
    out = []
    active = found.active
    if active is None:
        out.append(f"{inline(found.name)}: no file of that name loads")
    else:
        where = _place(active.path, root) or "(built in)"
        out.append(f"{inline(found.name)}: {active.scope} {inline(where)}")
    for c in found.candidates:
        if c.active:
            continue
        where = inline(_place(c.path, root) or "(built in)")
        verdict = f"does not load ({c.why})" if not c.loads else f"not used: {c.why}"
        out.append(f"  {c.scope} {where}: {inline(verdict)}")
    return out
