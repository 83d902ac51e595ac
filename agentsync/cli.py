"""Command line: parse flags, call one use case, render its report, pick the exit code."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn

import typer

from agentsync.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, AgentsyncError, UsageError
from agentsync.textsafe import inline, json_text, printable

if TYPE_CHECKING:
    from agentsync import operations as ops
    from agentsync import render
    from agentsync import updater as updater_types
    from agentsync.session import Options
    from agentsync.sync import SyncReport
else:
    from agentsync.lazy import OnFirstUse as _OnFirstUse

    ops = _OnFirstUse("agentsync.operations")
    render = _OnFirstUse("agentsync.render")

app = typer.Typer(
    name="agentsync",
    help="A git-backed package manager for Claude Code subagents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
source_app = typer.Typer(help="Add, remove and list sources.", no_args_is_help=True)
app.add_typer(source_app, name="source")


@dataclass(frozen=True)
class Globals:
    """Global options, available to every command through the click context."""

    options: Options
    json: bool
    quiet: bool
    verbose: bool


# Global options may come before or after the command name, as git users expect: they are
# moved to the front of argv before Typer sees it. Flags that take a value are listed with `True`.
_GLOBAL_FLAGS: dict[str, bool] = {
    "-C": True,
    "--project": True,
    "--global": False,
    "--offline": False,
    "--json": False,
    "-q": False,
    "--quiet": False,
    "-v": False,
    "--verbose": False,
    "--timeout": True,
    "--refresh": False,
}


def hoist_global_options(argv: Sequence[str]) -> list[str]:
    """Move global options anywhere before `--` to the front, keeping their values."""
    front: list[str] = []
    rest: list[str] = []
    items = list(argv)
    index = 0
    while index < len(items):
        item = items[index]
        if item == "--":
            rest.extend(items[index:])
            break
        flag, has_inline, _value = item.partition("=")
        takes_value = _GLOBAL_FLAGS.get(flag)
        if takes_value is None:
            rest.append(item)
        elif takes_value and not has_inline and index + 1 < len(items):
            front.extend(items[index : index + 2])
            index += 1
        else:
            front.append(item)
        index += 1
    return front + rest


MIN_TIMEOUT = 0.1
MAX_TIMEOUT = 86_400.0  # a day: past that a timeout protects nothing (and inf breaks waits)


def _timeout_default() -> float:
    raw = os.environ.get("AGENTSYNC_TIMEOUT")
    if not raw:
        from agentsync.session import DEFAULT_TIMEOUT

        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(
            f"AGENTSYNC_TIMEOUT={raw!r} is not a number of seconds",
            hint="set it to a positive number, e.g. AGENTSYNC_TIMEOUT=60",
        ) from None
    if not MIN_TIMEOUT <= value <= MAX_TIMEOUT:  # also refuses nan and inf
        raise UsageError(
            f"AGENTSYNC_TIMEOUT must be between {MIN_TIMEOUT:g} and {MAX_TIMEOUT:g} seconds",
            hint="e.g. AGENTSYNC_TIMEOUT=60",
        )
    return value


@app.callback()
def _globals(
    ctx: typer.Context,
    project: Annotated[
        Path | None,
        typer.Option("-C", "--project", help="Project folder (default: nearest agentsync.toml)."),
    ] = None,
    global_scope: Annotated[
        bool, typer.Option("--global", help="User scope: ~/.claude/agents and a user manifest.")
    ] = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Never touch the network; use the cache.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Print only problems.")] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Say more.")] = False,
    timeout: Annotated[
        float | None,
        typer.Option(
            help="Give up on a network operation after this many seconds.",
            min=MIN_TIMEOUT,
            max=MAX_TIMEOUT,
        ),
    ] = None,
    refresh: Annotated[
        bool,
        typer.Option(
            "--refresh", help="Rebuild the cache entries of the sources used (damaged cache)."
        ),
    ] = False,
) -> None:
    """agentsync: pin, check and install Claude Code subagents from git repositories."""
    if refresh and offline:
        raise UsageError(
            "--refresh rebuilds the cache from the network; it cannot go with --offline"
        )
    if timeout is not None and not MIN_TIMEOUT <= timeout <= MAX_TIMEOUT:
        # the range check of the flag parser lets nan through (every comparison with it fails)
        raise UsageError(
            f"--timeout must be between {MIN_TIMEOUT:g} and {MAX_TIMEOUT:g} seconds",
            hint="e.g. --timeout 60",
        )
    from agentsync.session import Options

    options = Options(
        cwd=_cwd(),
        project=project,
        global_scope=global_scope,
        offline=offline,
        timeout=timeout if timeout is not None else _timeout_default(),
        refresh=refresh,
        progress=_progress_printer(quiet),
    )
    ctx.obj = Globals(options, json_out, quiet, verbose)


def _cwd() -> Path:
    try:
        return Path.cwd()
    except FileNotFoundError:
        raise UsageError(
            "the current folder no longer exists", hint="cd into an existing folder and run again"
        ) from None


def _progress_printer(quiet: bool) -> Callable[[str], None] | None:
    """Progress lines on stderr, only for a person at a terminal (never in logs or pipes).

    NO_COLOR asks for no colour, not for silence: progress stays, plain.
    """
    if quiet or not sys.stderr.isatty():
        return None
    return lambda line: echo(inline(line), err=True)


def _g(ctx: typer.Context) -> Globals:
    obj = ctx.find_root().obj
    assert isinstance(obj, Globals)  # noqa: S101 - set by the callback above
    return obj


# -- output helpers ---------------------------------------------------------------------------
# Every text written goes through `echo`: names, descriptions, tool names, paths, tags, git's
# messages and file contents come from sources, and a raw escape sequence in them would act
# on the terminal (retitle it, write the clipboard, erase the review flags printed above).


def echo(text: str, *, err: bool = False, nl: bool = True) -> None:
    """Write `text` with its control characters shown escaped."""
    typer.echo(printable(text), err=err, nl=nl)


def say(g: Globals, text: str) -> None:
    """Normal output: stdout, silenced by --quiet and by --json."""
    if not g.quiet and not g.json:
        echo(text)


def warn(text: str) -> None:
    """A warning on stderr (always shown), one line: a newline in it cannot forge another."""
    echo(f"warning: {inline(text)}", err=True)


def emit_json(data: Any) -> None:
    """The exact data, with the characters a terminal acts on written as \\u escapes."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    typer.echo(json_text(text))


def finish(code: int) -> NoReturn:
    raise typer.Exit(code)


# -- install / remove / update ----------------------------------------------------------------


def _render_report(g: Globals, report: SyncReport) -> int:
    """The one rendering of every command that changes (or previews) agent files."""
    if g.json:
        emit_json(render.install_json(report))
        return EXIT_OK if report.ok else EXIT_FAILED
    _render_project(g, report)
    return EXIT_OK if report.ok else EXIT_FAILED


def _render_project(g: Globals, report: SyncReport) -> None:
    out, warnings = render.report_text(report, verbose=g.verbose)
    for text in warnings:
        warn(text)
    if report.error is not None:
        echo(report.error.render(), err=True)
    for line in out:
        say(g, line)


@app.command()
def install(
    ctx: typer.Context,
    agents: Annotated[
        list[str] | None, typer.Argument(help="NAME, SOURCE/NAME, NAME@REF, SOURCE/GLOB")
    ] = None,
    frozen: Annotated[
        bool, typer.Option("--frozen", help="Fail instead of changing the lock (CI).")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Replace locally edited files; install files Claude Code would drop."
        ),
    ] = False,
    fix: Annotated[
        bool, typer.Option("--fix", help="Install repaired copies of files Claude Code would drop.")
    ] = False,
) -> None:
    """Add agents and install them; with no AGENT, make the folder match the lock."""
    g = _g(ctx)
    report = ops.install(g.options, agents or (), frozen=frozen, force=force, fix=fix)
    finish(_render_report(g, report))


@app.command()
def remove(
    ctx: typer.Context,
    agents: Annotated[list[str], typer.Argument(help="Installed agent names.")],
    force: Annotated[
        bool, typer.Option("--force", help="Delete files even when locally edited.")
    ] = False,
) -> None:
    """Drop agents from the manifest and lock and delete their files."""
    g = _g(ctx)
    finish(_render_report(g, ops.remove(g.options, agents, force=force)))


@app.command()
def update(
    ctx: typer.Context,
    agents: Annotated[
        list[str] | None, typer.Argument(help="Agents to update (default: all).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace locally edited files.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; write nothing.")
    ] = False,
    merge: Annotated[
        str,
        typer.Option(
            help="Local edits that conflict: 'auto' leaves the file as it is, "
            "'markers' writes conflict markers into it.",
        ),
    ] = "auto",
    recursive: Annotated[
        Path | None,
        typer.Option(help="Update every project (agentsync.toml) below this folder."),
    ] = None,
) -> None:
    """Move pins to the newest commit of each ref or range; print what changed."""
    from agentsync import updater

    g = _g(ctx)
    mode = _merge_mode(merge)
    if recursive is not None:
        if agents:
            raise UsageError("--recursive updates every agent; it takes no AGENT arguments")
        if mode == "markers":
            raise UsageError(
                "--merge=markers cannot be used with --recursive",
                hint="a project whose update would conflict is left untouched; "
                "run `agentsync -C PROJECT update --merge=markers` in it",
            )
        many = updater.update_recursive(g.options, recursive, force=force, dry_run=dry_run)
        finish(_render_many(g, many, "updated"))
    report = updater.update(g.options, agents or (), force=force, merge=mode, dry_run=dry_run)
    if g.json:
        emit_json(render.project_json(report))
    else:
        _render_project(g, report)
    finish(EXIT_OK if report.ok else EXIT_FAILED)


def _merge_mode(text: str) -> Literal["auto", "markers"]:
    if text == "auto":
        return "auto"
    if text == "markers":
        return "markers"
    raise UsageError(f"--merge={text}: expected 'auto' or 'markers'")


def _render_many(g: Globals, many: updater_types.Recursive, verb: str) -> int:
    """Per-project sections (text) or one JSON document, then a total; the exit code."""
    if g.json:
        emit_json(render.many_json(str(many.root), many.projects, many.ok))
        return EXIT_OK if many.ok else EXIT_FAILED
    for project in many.projects:
        summary = render.summary(project)
        say(g, f"== {inline(str(project.root))}: {summary}")
        if summary != "up to date" or project.warnings or g.verbose:
            _render_project(g, project)
    say(g, f"total: {render.total_line(many.projects, verb)}")
    return EXIT_OK if many.ok else EXIT_FAILED


@app.command()
def outdated(
    ctx: typer.Context,
    recursive: Annotated[
        Path | None,
        typer.Option(help="Check every project (agentsync.toml) below this folder."),
    ] = None,
) -> None:
    """List agents whose pins are behind; exit 1 if any (or gone upstream, or moved tags)."""
    from agentsync import updater

    g = _g(ctx)
    if recursive is not None:
        many = updater.outdated_recursive(g.options, recursive)
        finish(_render_many(g, many, "behind"))
    report = updater.outdated(g.options)
    if g.json:
        emit_json([render.outdated_json(r) for r in report.rows])
    else:
        _render_project(g, report)
    finish(EXIT_OK if report.ok else EXIT_FAILED)


@app.command()
def diff(
    ctx: typer.Context,
    agent: Annotated[str, typer.Argument(help="An installed agent.")],
    upstream: Annotated[
        bool,
        typer.Option(
            "--upstream", help="Show the pinned version against what `update` would take."
        ),
    ] = False,
) -> None:
    """Local edits against the pinned version, or (--upstream) the pinned against the update."""
    from agentsync import updater

    g = _g(ctx)
    report = updater.diff(g.options, agent, upstream=upstream)
    if g.json:
        emit_json(
            {
                "agent": report.agent,
                "from": report.old_label,
                "to": report.new_label,
                "diff": report.text,
                "note": report.note or None,
            }
        )
        finish(EXIT_OK)
    if report.note:
        warn(f"{report.agent}: {report.note}")
    elif not report.text:
        say(g, inline(f"{report.agent}: no differences ({report.old_label} -> {report.new_label})"))
    if report.text and not g.quiet:
        echo(report.text, nl=False)
    finish(EXIT_OK)


@app.command("status")
def status_cmd(ctx: typer.Context) -> None:
    """Installed agents: ok, modified locally, missing, not managed by agentsync."""
    g = _g(ctx)
    _status(g)


@app.command("list", help="Alias of `status`.")
def list_cmd(ctx: typer.Context) -> None:
    g = _g(ctx)
    _status(g)


def _status(g: Globals) -> None:
    report = ops.status(g.options)
    if g.json:
        emit_json(render.status_json(report))
    else:
        for line in render.status_lines(report):
            say(g, line)
        for reason in report.stale:
            warn(f"agentsync.lock is out of date: {reason} (run `agentsync install`)")
    finish(EXIT_OK if report.ok else EXIT_FAILED)


# -- manifest commands ------------------------------------------------------------------------


@app.command()
def init(
    ctx: typer.Context,
    preset: Annotated[str | None, typer.Option(help="Start from a shipped preset.")] = None,
) -> None:
    """Create agentsync.toml (empty, or from a preset)."""
    g = _g(ctx)
    path = ops.init(g.options, preset)
    say(g, f"created {path}")


@source_app.command("add")
def source_add(
    ctx: typer.Context,
    name: str,
    url: str,
    ref: Annotated[str | None, typer.Option(help="Branch, tag or commit.")] = None,
    version: Annotated[str | None, typer.Option(help="Semver range over tags, e.g. ^1.2.")] = None,
    path: Annotated[str | None, typer.Option(help="Folder or glob inside the repository.")] = None,
) -> None:
    """Add a source (a git URL or a local path)."""
    g = _g(ctx)
    if ref is not None and version is not None:
        raise UsageError("--ref and --version cannot be used together", hint="pick one")
    ops.source_add(g.options, name, url, ref=ref, version=version, path=path)
    say(g, f"added source {name}")


@source_app.command("remove")
def source_remove(ctx: typer.Context, name: str) -> None:
    """Remove a source that no agent uses."""
    g = _g(ctx)
    ops.source_remove(g.options, name)
    say(g, f"removed source {name}")


@source_app.command("list")
def source_list(ctx: typer.Context) -> None:
    """Show the sources and their locked commits."""
    g = _g(ctx)
    rows = ops.source_list(g.options)
    if g.json:
        emit_json(render.sources_json(rows))
        return
    for line in render.source_lines(rows):
        say(g, line)


@app.command()
def search(
    ctx: typer.Context,
    query: Annotated[str | None, typer.Argument(help="Substring or glob.")] = None,
) -> None:
    """Agents available in all sources."""
    g = _g(ctx)
    rows = ops.search(g.options, query)
    if g.json:
        emit_json(render.search_json(rows))
        return
    for line in render.search_lines(rows):
        say(g, line)


@app.command()
def show(ctx: typer.Context, agent: str) -> None:
    """One agent: frontmatter as Claude Code reads it, source, commit, diagnostics."""
    g = _g(ctx)
    report = ops.show(g.options, agent)
    if g.json:
        emit_json(render.show_json(report))
        return
    for line in render.show_lines(report):
        say(g, line)


# -- check ----------------------------------------------------------------------------------


@app.command()
def check(
    ctx: typer.Context,
    paths: Annotated[
        list[str] | None,
        typer.Argument(help="Files or folders (default: the project's target folder)."),
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Fail on warnings too.")] = False,
    fix: Annotated[
        bool,
        typer.Option("--fix", help="Rewrite frontmatter as strict YAML (shows the diff first)."),
    ] = False,
    fix_tools: Annotated[
        bool, typer.Option("--fix-tools", help="With --fix: also replace retired tool names.")
    ] = False,
) -> None:
    """Compatibility diagnostics for files, folders, or (no PATH) the target folder."""
    from agentsync import checker

    g = _g(ctx)
    given = list(paths or ())
    target, root = ops.check_target(g.options)
    if not given:
        mcp_root = root
        given = [os.path.relpath(target) if target.is_relative_to(Path.cwd()) else str(target)]
    else:
        mcp_root = Path.cwd()
        missing = [p for p in given if not os.path.lexists(p)]
        if missing:
            raise UsageError(f"{missing[0]}: no such file or folder", hint="give existing paths")
    servers = checker.load_mcp_servers(mcp_root)
    report = checker.check_paths(given, mcp_servers=servers, within=root)
    if fix or fix_tools:
        plan = checker.plan_fixes(report, fix_tools=fix_tools)
        for path, reason in plan.skipped:
            warn(f"{path}: {reason}")
        for patch in plan.patches:
            echo(patch.diff, nl=False, err=g.json)
        checker.apply_fixes(plan.patches)
        if plan.patches:
            report = checker.check_paths(given, mcp_servers=servers, within=root)
    if g.json:
        emit_json(checker.render_json(report))
    elif not g.quiet or report.exit_code(strict=strict):
        echo(checker.render_text(report), nl=False)
    finish(report.exit_code(strict=strict))


# -- entry point ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the CLI; expected failures become a message and an exit code, never a traceback."""
    args = hoist_global_options(sys.argv[1:] if argv is None else argv)
    try:
        code = app(args=args, prog_name="agentsync", standalone_mode=False)
    except AgentsyncError as error:
        echo(error.render(), err=True)
        sys.exit(error.exit_code)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.TyperException as error:  # bad flags or arguments: Typer's own usage message
        show = getattr(error, "show", None)
        if callable(show):
            show()
        else:
            echo(f"error: {error.format_message()}", err=True)
        sys.exit(EXIT_USAGE if error.exit_code != 0 else EXIT_OK)
    except typer.Abort:
        echo("error: interrupted", err=True)
        sys.exit(EXIT_FAILED)
    except KeyboardInterrupt:
        echo("error: interrupted", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else EXIT_OK)
