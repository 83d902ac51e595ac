"""Command line: parse flags, call one use case, render its report, pick the exit code."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn

import typer
from typer.core import TyperCommand, TyperGroup

from agentsync import __version__
from agentsync.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    JSON_SCHEMA,
    AgentsyncError,
    ResolveError,
    UsageError,
    did_you_mean,
)
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


def _write_examples(epilog: str | None, formatter: Any) -> None:
    """The Examples section as written, one command per line at the margin, ready to copy
    (the default layout would rewrap it as a paragraph)."""
    if not epilog:
        return
    formatter.write_paragraph()
    formatter.write("Examples:\n")
    for line in epilog.strip("\n").splitlines():
        formatter.write(f"{line}\n")


class _Command(TyperCommand):
    def format_epilog(self, ctx: Any, formatter: Any) -> None:
        _write_examples(self.epilog, formatter)


class _Group(TyperGroup):
    def format_epilog(self, ctx: Any, formatter: Any) -> None:
        _write_examples(self.epilog, formatter)


def examples(*lines: str) -> str:
    return "\n".join(lines)


app = typer.Typer(
    name="agentsync",
    cls=_Group,
    help="A git-backed package manager for Claude Code subagents.",
    epilog=examples(
        "agentsync init",
        "agentsync source add team https://github.com/acme/agents",
        "agentsync install backend-developer",
        "agentsync update",
        "agentsync help install",
        "",
        "Aliases: add (install NAME...), rm and uninstall (remove), ls and list (status).",
    ),
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
source_app = typer.Typer(
    cls=_Group,
    help="Add, change, remove and list sources.",
    epilog=examples(
        "agentsync source add team https://github.com/acme/agents --ref v2",
        "agentsync source list",
        "agentsync source remove team",
    ),
    no_args_is_help=True,
)
app.add_typer(source_app, name="source")


class ColorMode(StrEnum):
    auto = "auto"
    always = "always"
    never = "never"


class MergeMode(StrEnum):
    auto = "auto"
    markers = "markers"


class OutputFormat(StrEnum):
    text = "text"
    markdown = "markdown"


FORMAT_HELP = "'markdown': a summary table to paste into a pull request."


@dataclass(frozen=True)
class Globals:
    """Global options, available to every command through the click context."""

    options: Options
    json: bool
    quiet: bool
    verbose: bool
    color: bool = False  # colour on stdout


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
    "--color": True,
}


def split_global_options(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """(the global options anywhere before `--`, with their values; everything else), each
    in its order: the first part goes to the front of argv."""
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
    return front, rest


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


def _print_version(wanted: bool) -> None:
    if not wanted:
        return
    if _STYLE.json:
        emit_json({"schema": JSON_SCHEMA, "version": __version__})
    else:
        echo(f"agentsync {__version__}")
    raise typer.Exit(EXIT_OK)


@app.callback()
def _globals(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "-V",
            "--version",
            help="Print the version and exit.",
            is_eager=True,
            callback=_print_version,
        ),
    ] = False,
    project: Annotated[
        Path | None,
        typer.Option(
            "-C",
            "--project",
            metavar="DIR",
            help="Project folder (default: nearest agentsync.toml).",
        ),
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
            metavar="SECONDS",
            help="Give up on a network operation after this many seconds "
            "(default 60, or AGENTSYNC_TIMEOUT).",
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
    color: Annotated[
        ColorMode,
        typer.Option(
            "--color",
            metavar="[auto|always|never]",
            help="Colour states and severities: auto (a terminal without NO_COLOR), always, never.",
            case_sensitive=False,
        ),
    ] = ColorMode.auto,
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
    _STYLE.out = _use_colour(color, sys.stdout)
    _STYLE.err = _use_colour(color, sys.stderr)
    ctx.obj = Globals(options, json_out, quiet, verbose, color=_STYLE.out)


def _use_colour(mode: ColorMode, stream: Any) -> bool:
    """`always` and `never` as said; `auto`: a terminal, unless NO_COLOR is set or the
    terminal says it is dumb."""
    if mode is ColorMode.never:
        return False
    if mode is ColorMode.always:
        return True
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


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


@dataclass
class _Style:
    """Where colour goes this run, and whether --json was asked (known before the command
    runs, so that an error in parsing can still answer in JSON)."""

    out: bool = False
    err: bool = False
    json: bool = False


_STYLE = _Style()

# Painters run on text already escaped by `printable`: they only add escape sequences of
# their own around words agentsync chose, so a source can neither forge nor remove one.
_SGR = {"good": "32", "warn": "33", "bad": "31;1", "note": "36", "dim": "2"}
Painter = Callable[[str], str]


def paint(kind: str, text: str) -> str:
    return f"\x1b[{_SGR[kind]}m{text}\x1b[0m"


def echo(text: str, *, err: bool = False, nl: bool = True, painter: Painter | None = None) -> None:
    """Write `text` with its control characters shown escaped (then coloured by `painter`
    when colour is on for that stream)."""
    shown = printable(text)
    coloured = painter is not None and (_STYLE.err if err else _STYLE.out)
    if coloured and painter is not None:
        shown = painter(shown)
    # color=True: the decision is ours (--color=always into a pipe keeps its colour)
    _emit(shown, err=err, nl=nl, color=True if coloured else None)


def _emit(text: str, *, err: bool = False, nl: bool = True, color: bool | None = None) -> None:
    """Write to stdout or stderr; output that cannot be written (a full disk, /dev/full,
    an I/O error) is an error of its own, told on stderr. A closed pipe (`| head`) ends the
    run quietly, as Typer does."""
    try:
        typer.echo(text, err=err, nl=nl, color=color)
    except OSError as error:
        if err or error.errno == errno.EPIPE:
            raise  # stderr is where it would be told; a pipe's reader left on purpose
        raise _output_error(error) from None


# What a write to stdout fails with when the output cannot go anywhere (Typer's own writes,
# help included, reach `main` as these).
_OUTPUT_ERRNOS = frozenset(
    code for code in (errno.ENOSPC, errno.EIO, errno.EFBIG, getattr(errno, "EDQUOT", None)) if code
)


def _output_error(error: OSError) -> AgentsyncError:
    from agentsync.errors import StorageError

    return StorageError(
        f"could not write the output: {error.strerror or error}",
        hint="free some space where the output goes, or send it elsewhere",
        subject="stdout",
    )


def say(g: Globals, text: str, painter: Painter | None = None) -> None:
    """Normal output: stdout, silenced by --quiet and by --json."""
    if not g.quiet and not g.json:
        echo(text, painter=painter)


def say_lines(g: Globals, lines: Iterable[str], painter: Painter | None = None) -> None:
    """`say` of each line, written at once when there is no colour to add: a listing of
    10,000 agents took 10,000 writes through Click."""
    if g.quiet or g.json:
        return
    if painter is not None and _STYLE.out:
        for line in lines:
            echo(line, painter=painter)
        return
    text = "".join(f"{printable(line)}\n" for line in lines)
    if text:
        _emit(text, nl=False)


def _prefix_painter(kinds: dict[str, str]) -> Painter:
    """Colour the word or phrase a line starts with, by the kind `kinds` gives it."""
    words = sorted(kinds, key=len, reverse=True)

    def painter(line: str) -> str:
        for word in words:
            if line.startswith(word):
                return paint(kinds[word], word) + line[len(word) :]
        return line

    return painter


_SEVERITY = re.compile(r"^(.*?:\d+: )(error|warning|info)\b")
_SEVERITY_KIND = {"error": "bad", "warning": "warn", "info": "note"}


def _severity_painter(line: str) -> str:
    found = _SEVERITY.match(line)
    if found is None:
        return line
    word = found.group(2)
    return found.group(1) + paint(_SEVERITY_KIND[word], word) + line[found.end() :]


_paint_error = _prefix_painter({"error:": "bad", "hint:": "note", "warning:": "warn"})


def _paint_lines(text: str) -> str:
    return "\n".join(_paint_error(line) for line in text.split("\n"))


def warn(text: str) -> None:
    """A warning on stderr (always shown), one line: a newline in it cannot forge another."""
    echo(f"warning: {inline(text)}", err=True, painter=_paint_error)


def show_error(error: AgentsyncError) -> None:
    echo(error.render(), err=True, painter=_paint_lines)


def emit_json(data: Any) -> None:
    """The exact data, with the characters a terminal acts on written as \\u escapes."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    _emit(json_text(text))


def finish(code: int) -> NoReturn:
    raise typer.Exit(code)


# -- install / remove / update ----------------------------------------------------------------


def _render_report(g: Globals, report: SyncReport) -> int:
    """The one rendering of every command that changes (or previews) agent files."""
    if g.json:
        emit_json(render.project_json(report))
    else:
        _render_project(g, report)
    return EXIT_OK if report.ok else EXIT_FAILED


def _render_project(g: Globals, report: SyncReport) -> None:
    out, warnings = render.report_text(report, verbose=g.verbose)
    for text in warnings:
        warn(text)
    if report.error is not None:
        show_error(report.error)
    rows = _prefix_painter(render.ROW_KINDS)
    say_lines(g, out, rows)


AGENTS_HELP = "NAME, SOURCE/NAME, NAME@REF, SOURCE/GLOB"
FORCE_INSTALL_HELP = "Replace locally edited files; install files Claude Code would drop."
FIX_INSTALL_HELP = "Install repaired copies of files Claude Code would drop."


@app.command(
    cls=_Command,
    epilog=examples(
        "agentsync install backend-developer        # add one agent and install it",
        "agentsync install team/python-pro@v2       # from one source, at a tag",
        "agentsync install 'team/*'                 # every agent of a source",
        "agentsync install                          # make .claude/agents match the lock",
        "agentsync install --frozen --offline       # CI: exactly the lock, from the cache",
        "agentsync install --dry-run                # show the plan; write nothing",
    ),
)
def install(
    ctx: typer.Context,
    agents: Annotated[
        list[str] | None, typer.Argument(metavar="[AGENT]...", help=AGENTS_HELP)
    ] = None,
    frozen: Annotated[
        bool, typer.Option("--frozen", help="Fail instead of changing the lock (CI).")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help=FORCE_INSTALL_HELP)] = False,
    fix: Annotated[bool, typer.Option("--fix", help=FIX_INSTALL_HELP)] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan; write nothing.")
    ] = False,
) -> None:
    """Add agents and install them; with no AGENT, make the folder match the lock."""
    g = _g(ctx)
    report = ops.install(
        g.options, agents or (), frozen=frozen, force=force, fix=fix, dry_run=dry_run
    )
    finish(_render_report(g, report))


@app.command(
    "add",
    cls=_Command,
    epilog=examples(
        "agentsync add backend-developer",
        "agentsync add team/python-pro@v2 team/code-reviewer",
    ),
)
def add(
    ctx: typer.Context,
    agents: Annotated[list[str], typer.Argument(metavar="AGENT...", help=AGENTS_HELP)],
    force: Annotated[bool, typer.Option("--force", help=FORCE_INSTALL_HELP)] = False,
    fix: Annotated[bool, typer.Option("--fix", help=FIX_INSTALL_HELP)] = False,
) -> None:
    """Add agents and install them (`install AGENT...`)."""
    g = _g(ctx)
    finish(_render_report(g, ops.install(g.options, agents, force=force, fix=fix)))


REMOVE_EXAMPLES = examples(
    "agentsync remove backend-developer",
    "agentsync remove python-pro --force        # even with local edits",
)


def remove(
    ctx: typer.Context,
    agents: Annotated[list[str], typer.Argument(metavar="AGENT...", help="Installed agent names.")],
    force: Annotated[
        bool, typer.Option("--force", help="Delete files even when locally edited.")
    ] = False,
) -> None:
    """Drop agents from the manifest and lock and delete their files."""
    g = _g(ctx)
    finish(_render_report(g, ops.remove(g.options, agents, force=force)))


app.command("remove", cls=_Command, epilog=REMOVE_EXAMPLES)(remove)
for _alias in ("rm", "uninstall"):
    app.command(
        _alias, cls=_Command, epilog=REMOVE_EXAMPLES, help="Alias of `remove`.", hidden=True
    )(remove)


@app.command(
    cls=_Command,
    epilog=examples(
        "agentsync update                           # every agent",
        "agentsync update backend-developer",
        "agentsync update --dry-run                 # show what would change",
        "agentsync update python-pro --merge=markers",
        "agentsync update --recursive ~/src         # every project below a folder",
        "agentsync update --format markdown > pr.md # a pull request body",
    ),
)
def update(
    ctx: typer.Context,
    agents: Annotated[
        list[str] | None,
        typer.Argument(metavar="[AGENT]...", help="Agents to update (default: all)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace locally edited files.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; write nothing.")
    ] = False,
    merge: Annotated[
        MergeMode,
        typer.Option(
            metavar="[auto|markers]",
            help="Local edits that conflict: 'auto' leaves the file as it is, "
            "'markers' writes conflict markers into it.",
        ),
    ] = MergeMode.auto,
    recursive: Annotated[
        Path | None,
        typer.Option(metavar="DIR", help="Update every project (agentsync.toml) below DIR."),
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", metavar="[text|markdown]", help=FORMAT_HELP)
    ] = OutputFormat.text,
) -> None:
    """Move pins to the newest commit of each ref or range; print what changed."""
    from agentsync import updater

    g = _g(ctx)
    mode: Literal["auto", "markers"] = "markers" if merge is MergeMode.markers else "auto"
    if recursive is not None:
        if agents:
            raise UsageError("--recursive updates every agent; it takes no AGENT arguments")
        if mode == "markers":
            raise UsageError(
                "--merge=markers cannot be used with --recursive",
                hint="a project whose update would conflict is left untouched; "
                "run `agentsync -C PROJECT update --merge=markers` in it",
            )
        if output is OutputFormat.markdown:
            raise UsageError("--format markdown summarises one project; drop --recursive")
        many = updater.update_recursive(g.options, recursive, force=force, dry_run=dry_run)
        finish(_render_many(g, many, "updated"))
    markdown = output is OutputFormat.markdown
    report = updater.update(
        g.options, agents or (), force=force, merge=mode, dry_run=dry_run, history=markdown
    )
    finish(_render_markdown(g, report) if markdown else _render_report(g, report))


def _render_markdown(g: Globals, report: SyncReport) -> int:
    """The Markdown summary on stdout (JSON wins when both are asked); warnings and the error
    on stderr; the exit code of the text output."""
    if g.json:
        return _render_report(g, report)
    _lines, warnings = render.report_text(report, verbose=False)
    for text in warnings:
        warn(text)
    if report.error is not None:
        show_error(report.error)
    echo(render.report_markdown(report), nl=False)
    return EXIT_OK if report.ok else EXIT_FAILED


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


@app.command(
    cls=_Command,
    epilog=examples(
        "agentsync outdated",
        "agentsync outdated --recursive ~/src",
        "agentsync --json outdated | jq '.agents[] | select(.behind) | .agent'",
        "agentsync outdated --format markdown",
    ),
)
def outdated(
    ctx: typer.Context,
    recursive: Annotated[
        Path | None,
        typer.Option(metavar="DIR", help="Check every project (agentsync.toml) below DIR."),
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", metavar="[text|markdown]", help=FORMAT_HELP)
    ] = OutputFormat.text,
) -> None:
    """List agents whose pins are behind; exit 1 if any (or gone upstream, or moved tags)."""
    from agentsync import updater

    g = _g(ctx)
    markdown = output is OutputFormat.markdown
    if recursive is not None:
        if markdown:
            raise UsageError("--format markdown summarises one project; drop --recursive")
        many = updater.outdated_recursive(g.options, recursive)
        finish(_render_many(g, many, "behind"))
    report = updater.outdated(g.options, history=markdown)
    finish(_render_markdown(g, report) if markdown else _render_report(g, report))


def _lock_diff(g: Globals, revisions: str, output: OutputFormat) -> NoReturn:
    from agentsync import gate

    change = gate.lock_diff(g.options, revisions)
    title = f"agentsync.lock: {change.old_label} → {change.new_label}"
    if g.json:
        root = g.options.cwd
        emit_json(
            render.document(
                **{"from": change.old_label, "to": change.new_label},
                agents=[render.row_json(r, root) for r in change.rows],
            )
        )
    elif output is OutputFormat.markdown:
        echo(render.markdown_table(title, change.rows, none="No agent changed."), nl=False)
    else:
        rows = _prefix_painter(render.ROW_KINDS)
        for row in change.rows:
            for line in render.row_lines(row, verbose=True):
                say(g, line, rows)
        if not change.rows:
            say(g, inline(f"no agent changed ({change.old_label} -> {change.new_label})"))
    finish(EXIT_OK)


def _diff_painter(line: str) -> str:
    body = line.rstrip("\r\n")
    end = line[len(body) :]
    for prefix, kind in (
        ("+++", "dim"),
        ("---", "dim"),
        ("+", "good"),
        ("-", "bad"),
        ("@@", "note"),
    ):
        if body.startswith(prefix):
            return paint(kind, body) + end
    return line


@app.command(
    cls=_Command,
    epilog=examples(
        "agentsync diff backend-developer             # your edits against the pinned version",
        "agentsync diff backend-developer --upstream  # the pinned version against the update",
        "agentsync diff --lock main                   # what a lock change does, agent by agent",
        "agentsync diff --lock main..HEAD --format markdown",
    ),
)
def diff(
    ctx: typer.Context,
    agent: Annotated[
        str | None, typer.Argument(metavar="[AGENT]", help="An installed agent.")
    ] = None,
    upstream: Annotated[
        bool,
        typer.Option(
            "--upstream", help="Show the pinned version against what `update` would take."
        ),
    ] = False,
    lock_rev: Annotated[
        str | None,
        typer.Option(
            "--lock",
            metavar="REV",
            help="The agents agentsync.lock at git revision REV pins differently from the "
            "lock on disk (or OLD..NEW: between two revisions).",
        ),
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", metavar="[text|markdown]", help=FORMAT_HELP)
    ] = OutputFormat.text,
) -> None:
    """Local edits against the pinned version, or (--upstream) the pinned against the update;
    --lock REV: a lock change as agents, not hashes."""
    if lock_rev is not None:
        if agent is not None or upstream:
            raise UsageError("--lock compares whole locks; it takes no AGENT or --upstream")
        _lock_diff(_g(ctx), lock_rev, output)
    if agent is None:
        raise UsageError(
            "diff needs an AGENT, or --lock REV",
            hint="for example `agentsync diff backend-developer`",
        )
    if output is OutputFormat.markdown:
        raise UsageError("--format markdown goes with --lock REV")
    from agentsync import updater

    g = _g(ctx)
    report = updater.diff(g.options, agent, upstream=upstream)
    if g.json:
        emit_json(
            render.document(
                agent=report.agent,
                **{"from": report.old_label, "to": report.new_label},
                diff=report.text,
                note=report.note or None,
            )
        )
        finish(EXIT_OK)
    if report.note:
        warn(f"{report.agent}: {report.note}")
    elif not report.text:
        say(g, inline(f"{report.agent}: no differences ({report.old_label} -> {report.new_label})"))
    if report.text and not g.quiet:
        # line by line, each with its own line ending (a CRLF stays one, and is not shown)
        for line in re.split(r"(?<=\n)", report.text):
            if line:
                echo(line, nl=False, painter=_diff_painter)
    finish(EXIT_OK)


STATUS_EXAMPLES = examples(
    "agentsync status",
    "agentsync --json status | jq '.agents[] | select(.state != \"ok\")'",
)


def status_cmd(ctx: typer.Context) -> None:
    """Installed agents: ok, modified locally, missing, not managed by agentsync."""
    from agentsync.fast_status import note_target

    g = _g(ctx)
    report = ops.status(g.options)
    note_target(str(report.target))
    if g.json:
        emit_json(render.status_json(report))
    else:
        states = _prefix_painter(render.STATE_KINDS)
        say_lines(g, render.status_lines(report), states)
        for reason in report.stale:
            warn(f"agentsync.lock is out of date: {reason} (run `agentsync install`)")
    finish(EXIT_OK if report.ok else EXIT_FAILED)


app.command("status", cls=_Command, epilog=STATUS_EXAMPLES)(status_cmd)
app.command("list", cls=_Command, epilog=STATUS_EXAMPLES, help="Alias of `status`.")(status_cmd)
app.command("ls", cls=_Command, epilog=STATUS_EXAMPLES, help="Alias of `status`.", hidden=True)(
    status_cmd
)


@app.command(
    "lock",
    cls=_Command,
    epilog=examples(
        "agentsync lock                  # resolve agentsync.toml, write agentsync.lock only",
        "agentsync lock --check          # CI: exit 1 if agentsync.lock is out of date",
    ),
)
def lock_cmd(
    ctx: typer.Context,
    check: Annotated[
        bool,
        typer.Option("--check", help="Write nothing; exit 1 if the lock is out of date."),
    ] = False,
) -> None:
    """Resolve the manifest and write agentsync.lock, touching no agent file."""
    from agentsync import gate

    g = _g(ctx)
    report = gate.lock(g.options, check=check)
    if g.json:
        emit_json(render.lock_json(report, report.path.parent))
    else:
        for line in render.lock_lines(report):
            if report.ok:
                say(g, line)
            else:
                warn(line)
        if not report.ok:
            echo(
                "hint: run `agentsync lock` (or `agentsync install`) and commit agentsync.lock",
                err=True,
                painter=_paint_error,
            )
    finish(EXIT_OK if report.ok else EXIT_FAILED)


@app.command(
    cls=_Command,
    epilog=examples(
        "agentsync verify                # exit 1 if anything differs from agentsync.lock",
        "agentsync --offline verify      # from the cache only",
        "agentsync --json verify | jq '.findings[]'",
    ),
)
def verify(ctx: typer.Context) -> None:
    """Check, writing nothing, that the agent files are exactly what agentsync.lock says."""
    from agentsync import gate

    g = _g(ctx)
    report = gate.verify(g.options)
    if g.json:
        emit_json(render.verify_json(report))
    else:
        states = _prefix_painter(VERIFY_KINDS)
        say_lines(g, render.verify_lines(report), states)
    finish(EXIT_OK if report.ok else EXIT_FAILED)


VERIFY_KINDS = {
    "missing:": "bad",
    "extra:": "bad",
    "modified:": "bad",
    "conflicted:": "bad",
    "hash-mismatch:": "bad",
    "unverifiable:": "bad",
    "stale:": "bad",
    "verified": "good",
}


@app.command(
    cls=_Command,
    epilog=examples(
        "agentsync which code-reviewer           # the file Claude Code runs for this name",
        "agentsync which kit:reviewer --plugin-dir ./kit",
        "agentsync --json which general-purpose",
    ),
)
def which(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="An agent name, as Claude Code sees it.")
    ],
    plugin_dirs: Annotated[
        list[Path] | None,
        typer.Option(
            "--plugin-dir",
            metavar="DIR",
            help="Also a plugin folder Claude Code loads (like its own --plugin-dir).",
        ),
    ] = None,
) -> None:
    """Which file Claude Code runs for NAME: project, user, plugin or built-in."""
    from agentsync import scopes

    g = _g(ctx)
    where = (g.options.project or g.options.cwd).resolve()
    for folder in plugin_dirs or ():
        if not folder.is_dir():
            raise UsageError(
                f"--plugin-dir {inline(str(folder))}: no such folder",
                hint="give the plugin's folder (the one holding .claude-plugin/plugin.json)",
            )
    found = scopes.which(name, where, plugin_dirs=plugin_dirs or ())
    if g.json:
        emit_json(render.which_json(found, where))
    elif found.active is None and not found.candidates:
        raise ResolveError(
            f"no agent named '{name}' in the project, the user folder, the plugins or the "
            "built-ins",
            hint="names are case-sensitive; `agentsync status` lists the installed agents",
            subject=name,
        )
    else:
        say_lines(g, render.which_lines(found, where))
    finish(EXIT_OK if found.active is not None else EXIT_FAILED)


# -- manifest commands ------------------------------------------------------------------------


def _preset_help() -> str:
    from agentsync.presets import preset_names

    return f"Start from a shipped preset: {', '.join(preset_names())}."


@app.command(
    cls=_Command,
    epilog=examples(
        "agentsync init",
        "agentsync init --preset voltagent",
        "agentsync --global init                    # the user manifest (~/.claude/agents)",
    ),
)
def init(
    ctx: typer.Context,
    preset: Annotated[str | None, typer.Option(metavar="NAME", help=_preset_help())] = None,
) -> None:
    """Create agentsync.toml (empty, or from a preset)."""
    g = _g(ctx)
    path = ops.init(g.options, preset)
    if g.json:
        emit_json(render.document(manifest=str(path), preset=preset))
    say(g, f"created {path}")


@source_app.command(
    "add",
    cls=_Command,
    epilog=examples(
        "agentsync source add team https://github.com/acme/agents",
        "agentsync source add voltagent https://github.com/VoltAgent/awesome-claude-code-subagents"
        " --path 'categories/*'",
        "agentsync source add mine ../my-agents --version '^1.2'",
    ),
)
def source_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="What the manifest calls it.")],
    url: Annotated[str, typer.Argument(metavar="URL", help="A git URL or a local path.")],
    ref: Annotated[str | None, typer.Option(metavar="REF", help="Branch, tag or commit.")] = None,
    version: Annotated[
        str | None, typer.Option(metavar="RANGE", help="Semver range over tags, e.g. ^1.2.")
    ] = None,
    path: Annotated[
        str | None, typer.Option(metavar="PATH", help="Folder or glob inside the repository.")
    ] = None,
) -> None:
    """Add a source (a git URL or a local path)."""
    g = _g(ctx)
    _one_pin(ref, version)
    ops.source_add(g.options, name, url, ref=ref, version=version, path=path)
    if g.json:
        from agentsync.urls import redact

        emit_json(
            render.document(
                source=name,
                url=redact(url),  # credentials never reach the output
                ref=ref,
                version=version,
                path=path,
            )
        )
    say(g, f"added source {name}")


def _one_pin(ref: str | None, version: str | None) -> None:
    """A source follows a ref or a version range, never both."""
    if ref is not None and version is not None:
        raise UsageError("--ref and --version cannot be used together", hint="pick one")


@source_app.command(
    "set",
    cls=_Command,
    epilog=examples(
        "agentsync source set team --ref v2",
        "agentsync source set team --version '^2'      # follow a tag range instead",
        "agentsync source set team --path 'agents/*'",
    ),
)
def source_set(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="A source in agentsync.toml.")],
    ref: Annotated[
        str | None, typer.Option(metavar="REF", help="Branch, tag or commit (drops version).")
    ] = None,
    version: Annotated[
        str | None,
        typer.Option(metavar="RANGE", help="Semver range over tags, e.g. ^1.2 (drops ref)."),
    ] = None,
    path: Annotated[
        str | None, typer.Option(metavar="PATH", help="Folder or glob inside the repository.")
    ] = None,
) -> None:
    """Change a source's ref, version or path in place; installs nothing."""
    g = _g(ctx)
    _one_pin(ref, version)
    if ref is None and version is None and path is None:
        raise UsageError(
            "nothing to change: give --ref, --version or --path",
            hint=f"e.g. agentsync source set {inline(name)} --ref v2",
        )
    users = ops.source_set(g.options, name, ref=ref, version=version, path=path)
    if g.json:
        emit_json(render.document(source=name, ref=ref, version=version, path=path))
        return
    for key, value in (("ref", ref), ("version", version), ("path", path)):
        if value is not None:
            say(g, f"changed source {name}: {key} = {json.dumps(value, ensure_ascii=False)}")
    if users:
        say(
            g,
            f"nothing was installed: run `agentsync update {' '.join(users)}` to move "
            "its agents to the new pin (or `agentsync install`)",
        )


@source_app.command("remove", cls=_Command, epilog=examples("agentsync source remove team"))
def source_remove(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="A source no agent uses.")],
) -> None:
    """Remove a source that no agent uses."""
    g = _g(ctx)
    ops.source_remove(g.options, name)
    if g.json:
        emit_json(render.document(source=name, removed=True))
    say(g, f"removed source {name}")


@source_app.command(
    "list",
    cls=_Command,
    epilog=examples("agentsync source list", "agentsync --json source list"),
)
def source_list(ctx: typer.Context) -> None:
    """Show the sources and their locked commits."""
    g = _g(ctx)
    rows = ops.source_list(g.options)
    if g.json:
        emit_json(render.sources_json(rows))
        return
    say_lines(g, render.source_lines(rows))


def _width() -> int | None:
    """Columns for tables: the terminal's width, or COLUMNS; None when piped (nothing cut)."""
    import shutil

    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        return shutil.get_terminal_size().columns
    return None


@app.command(
    cls=_Command,
    epilog=examples(
        "agentsync search                           # every agent of every source",
        "agentsync search python                    # name or description contains it",
        "agentsync search 'team/*-reviewer'",
    ),
)
def search(
    ctx: typer.Context,
    query: Annotated[
        str | None, typer.Argument(metavar="[QUERY]", help="Substring or glob.")
    ] = None,
) -> None:
    """Agents available in all sources."""
    g = _g(ctx)
    report = ops.search(g.options, query)
    for text in report.warnings:
        warn(text)
    if g.json:
        emit_json(render.search_json(report.rows, report.warnings))
        return
    verdicts = _verdict_painter()
    say_lines(g, render.search_lines(report.rows, width=_width()), verdicts)


def _verdict_painter() -> Painter:
    kinds = render.VERDICT_KINDS

    def painter(line: str) -> str:
        for verdict, kind in kinds.items():
            marker = f"  {verdict}  "
            at = line.find(marker)
            if at >= 0:
                return line[: at + 2] + paint(kind, verdict) + line[at + 2 + len(verdict) :]
        return line

    return painter


@app.command(
    cls=_Command,
    epilog=examples(
        "agentsync show backend-developer",
        "agentsync show team/python-pro@v2",
        "agentsync show backend-developer --body    # the prompt too (paged on a terminal)",
    ),
)
def show(
    ctx: typer.Context,
    agent: Annotated[str, typer.Argument(metavar="AGENT", help="NAME, SOURCE/NAME or NAME@REF.")],
    body: Annotated[
        bool, typer.Option("--body", help="Also print the prompt (the text after the frontmatter).")
    ] = False,
) -> None:
    """One agent: frontmatter as Claude Code reads it, source, commit, diagnostics."""
    g = _g(ctx)
    report = ops.show(g.options, agent)
    for text in report.warnings:
        warn(text)
    if g.json:
        emit_json(render.show_json(report, body=body))
        return
    lines = render.show_lines(report)
    if not body:
        say_lines(g, lines, _severity_painter)
        return
    if g.quiet:
        return
    text = "\n".join(lines) + "\n\nbody:\n" + report.agent.body
    if not (sys.stdout.isatty() and _page(printable(text))):  # a pipe gets the plain text
        echo(text, nl=not text.endswith("\n"))


def _page(text: str) -> bool:
    """Show `text` through the user's pager ($PAGER, else `less -FRX`); False when there is
    none to run, so that the caller prints it instead."""
    import shlex
    import subprocess

    command = shlex.split(os.environ.get("PAGER") or "less -FRX")
    if not command:
        return False
    try:
        subprocess.run(command, input=text.encode("utf-8"), check=False)
    except OSError:
        return False
    return True


@app.command(
    "help",
    cls=_Command,
    epilog=examples("agentsync help install", "agentsync help source add"),
)
def help_cmd(
    ctx: typer.Context,
    command: Annotated[
        list[str] | None, typer.Argument(metavar="[COMMAND]...", help="A command, e.g. install.")
    ] = None,
) -> None:
    """Show the help of a command (like COMMAND --help)."""
    root = ctx.find_root()
    here: Any = root.command
    here_ctx: Any = root
    for word in command or ():
        found = here.get_command(here_ctx, word) if hasattr(here, "get_command") else None
        if found is None:
            names = list(here.list_commands(here_ctx)) if hasattr(here, "list_commands") else []
            raise UsageError(
                f"no command named {word!r}",
                hint=did_you_mean(word, names) or "`agentsync --help` lists the commands",
                subject="help",
            )
        here_ctx = type(root)(found, info_name=word, parent=here_ctx)
        here = found
    text = here.get_help(here_ctx)
    if _g(ctx).json:
        emit_json(render.document(help=text))
    else:
        echo(text)


# -- check ----------------------------------------------------------------------------------


@app.command(
    cls=_Command,
    epilog=examples(
        "agentsync check                            # the project's .claude/agents",
        "agentsync check agents/ --strict           # fail on warnings too",
        "agentsync check --ignore AS111 .claude/agents/reviewer.md",
        "agentsync check --fix --fix-tools          # repair frontmatter, rename retired tools",
    ),
)
def check(
    ctx: typer.Context,
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[PATH]...", help="Files or folders (default: the project's target folder)."
        ),
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Fail on warnings too.")] = False,
    ignore: Annotated[
        list[str] | None,
        typer.Option(
            "--ignore",
            metavar="CODE",
            help="Leave out findings with this code (repeatable; adds to the manifest's "
            "[settings] ignore).",
        ),
    ] = None,
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
    target, root, configured = ops.check_target(g.options)
    if not given:
        mcp_root = root
        given = [os.path.relpath(target) if target.is_relative_to(Path.cwd()) else str(target)]
    else:
        mcp_root = Path.cwd()
        missing = [p for p in given if not os.path.lexists(p)]
        if missing:
            raise UsageError(f"{missing[0]}: no such file or folder", hint="give existing paths")
    ignored = _ignore_codes(ignore or ()) | configured
    if not paths and not os.path.lexists(target):
        # nothing installed yet is not a problem: like Claude Code, find no agents there
        if not g.json and not g.quiet:
            echo(f"no agent files yet: {inline(given[0])} does not exist", err=True)
        report = checker.CheckReport(())
        if g.json:
            emit_json(checker.render_json(report))
        elif not g.quiet:
            echo(checker.summary_line(report))
        finish(EXIT_OK)
    servers = checker.load_mcp_servers(mcp_root)
    report = checker.ignoring(checker.check_paths(given, mcp_servers=servers, within=root), ignored)
    if fix or fix_tools:
        plan = checker.plan_fixes(report, fix_tools=fix_tools)
        for path, reason in plan.skipped:
            warn(f"{path}: {reason}")
        for patch in plan.patches:
            echo(patch.diff, nl=False, err=g.json)
        checker.apply_fixes(plan.patches)
        if plan.patches:
            report = checker.ignoring(
                checker.check_paths(given, mcp_servers=servers, within=root), ignored
            )
    if g.json:
        emit_json(checker.render_json(report))
    elif not g.quiet or report.exit_code(strict=strict):
        client = checker.installed_client()
        for line in checker.render_text(report, verbose=g.verbose, client=client).splitlines():
            echo(line, painter=_severity_painter)
    finish(report.exit_code(strict=strict))


_CODE = re.compile(r"AS\d{3}")


def _ignore_codes(given: Sequence[str]) -> frozenset[str]:
    """`--ignore` codes, checked: a typo would silently ignore nothing."""
    from agentsync.diagnostics import known_codes

    codes = {code.strip().upper() for item in given for code in item.split(",") if code.strip()}
    known = known_codes()
    for code in sorted(codes):
        if code not in known:
            raise UsageError(
                f"--ignore {code}: no diagnostic has this code",
                hint=did_you_mean(code, sorted(known))
                or "codes look like AS111; `agentsync check` prints them",
            )
    return frozenset(codes)


# -- entry point ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the CLI; expected failures become a message and an exit code, never a traceback.

    Under --json an error is also a JSON document on stdout (`{"schema": 1, "error": ...}`),
    with the same exit code, so that a script reading stdout always gets JSON.
    """
    front, rest = split_global_options(sys.argv[1:] if argv is None else argv)
    _STYLE.out = _STYLE.err = False
    _STYLE.json = "--json" in front
    try:
        with _only_command(rest):
            code = app(args=front + rest, prog_name="agentsync", standalone_mode=False)
    except AgentsyncError as error:
        show_error(error)
        _json_error(error.json())
        sys.exit(error.exit_code)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.TyperException as error:  # bad flags or arguments: Typer's own usage message
        show = getattr(error, "show", None)
        if callable(show):
            show()
        else:
            echo(f"error: {error.format_message()}", err=True)
        failed = error.exit_code != 0
        if failed:
            _json_error(
                {
                    "code": "usage",
                    "subject": None,
                    "message": error.format_message(),
                    "hint": "run `agentsync --help` for the commands and their flags",
                }
            )
        sys.exit(EXIT_USAGE if failed else EXIT_OK)
    except OSError as error:  # Typer's own writes (help): ours are AgentsyncErrors already
        if error.errno not in _OUTPUT_ERRNOS:
            raise
        show_error(_output_error(error))
        sys.exit(EXIT_FAILED)
    except typer.Abort:
        echo("error: interrupted", err=True)
        _json_error(
            {"code": "interrupted", "subject": None, "message": "interrupted", "hint": None}
        )
        sys.exit(EXIT_FAILED)
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    if code == EXIT_INTERRUPTED:  # Typer turns Ctrl-C in a command into this exit code
        echo("error: interrupted", err=True)
        _json_error(
            {"code": "interrupted", "subject": None, "message": "interrupted", "hint": None}
        )
    sys.exit(code if isinstance(code, int) else EXIT_OK)


@contextlib.contextmanager
def _only_command(rest: Sequence[str]) -> Iterator[None]:
    """Let Typer build only the command being run: it inspects the signature of every
    registered command at each start (a third of the start-up of a command), although one
    runs. Anything else (no command, an unknown word, `help`, completion) sees them all."""
    word = rest[0] if rest else ""
    keep = [info for info in app.registered_commands if _command_name(info) == word]
    if len(keep) != 1 or word == "help" or any(k.startswith("_AGENTSYNC_") for k in os.environ):
        yield
        return
    commands, groups = app.registered_commands, app.registered_groups
    app.registered_commands, app.registered_groups = keep, []
    try:
        yield
    finally:
        app.registered_commands, app.registered_groups = commands, groups


def _command_name(info: Any) -> str:
    from typer.main import get_command_name

    return str(info.name or get_command_name(info.callback.__name__))


def _json_error(error: dict[str, str | None]) -> None:
    if _STYLE.json:
        # told on stderr already: stdout that cannot be written is no second error
        with contextlib.suppress(AgentsyncError):
            emit_json({"schema": JSON_SCHEMA, "error": error})
