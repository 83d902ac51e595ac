"""The --json contract: every command prints one JSON document with "schema", success or
failure, with one key for one concept. The shapes here are the README's "JSON output"."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures import Cli, GitRepo, MakeRepo, agent_md

HEX40 = re.compile(r"^[0-9a-f]{40}$")

# key -> the type of its value; a tuple lists the allowed ones, a dict a nested shape, a list
# with one shape a list of such objects.
Shape = dict[str, Any]
PIN: Shape = {"commit": str, "tag": (str, type(None))}
WARNING: Shape = {"code": str, "message": str}
ERROR: Shape = {
    "code": str,
    "subject": (str, type(None)),
    "message": str,
    "hint": (str, type(None)),
}
ROW: Shape = {
    "agent": str,
    "source": (str, type(None)),
    "state": str,
    "action": (str, type(None)),
    "path": (str, type(None)),
    "old": (dict, type(None)),
    "new": (dict, type(None)),
    "lines_added": int,
    "lines_removed": int,
    "grants": list,
    "drift": list,
    "note": (str, type(None)),
    "commits": [{"commit": str, "subject": str}],
}
PROJECT: Shape = {
    "schema": int,
    "project": str,
    "ok": bool,
    "dry_run": bool,
    "applied": bool,
    "lock_changed": bool,
    "manifest_changed": bool,
    "error": (dict, type(None)),
    "agents": [ROW],
    "warnings": [WARNING],
}
OUTDATED_ROW: Shape = {
    **ROW,
    "current": (str, type(None)),
    "latest": (str, type(None)),
    "behind": bool,
    "pinned": bool,
}
SHAPES: dict[str, Shape] = {
    "error": {"schema": int, "error": ERROR},
    "version": {"schema": int, "version": str},
    "init": {"schema": int, "manifest": str, "preset": (str, type(None))},
    "source add": {
        "schema": int,
        "source": str,
        "url": str,
        "ref": (str, type(None)),
        "version": (str, type(None)),
        "path": (str, type(None)),
    },
    "source set": {
        "schema": int,
        "source": str,
        "ref": (str, type(None)),
        "version": (str, type(None)),
        "path": (str, type(None)),
    },
    "source remove": {"schema": int, "source": str, "removed": bool},
    "source list": {
        "schema": int,
        "sources": [
            {
                "source": str,
                "url": str,
                "ref": str,
                "commit": (str, type(None)),
                "installed": int,
            }
        ],
    },
    "search": {
        "schema": int,
        "agents": [
            {
                "agent": str,
                "source": str,
                "path": str,
                "commit": str,
                "description": (str, type(None)),
                "installed": bool,
                "state": str,
            }
        ],
        "warnings": [WARNING],
    },
    "show": {
        "schema": int,
        "agent": str,
        "source": str,
        "path": str,
        "commit": str,
        "loads": bool,
        "description": (str, type(None)),
        "tools": (list, type(None)),
        "model": (str, type(None)),
        "frontmatter": (dict, type(None)),
        "body": (str, type(None)),
        "installed": bool,
        "installed_as": (str, type(None)),
        "diagnostics": list,
        "warnings": [WARNING],
    },
    "project": PROJECT,
    "outdated": {**PROJECT, "agents": [OUTDATED_ROW]},
    "status": {
        "schema": int,
        "project": str,
        "target": str,
        "ok": bool,
        "agents": [
            {
                "agent": str,
                "state": str,
                "path": str,
                "source": (str, type(None)),
                "commit": (str, type(None)),
                "note": (str, type(None)),
                "follows": (str, type(None)),
                "resolved": (str, type(None)),
                "shadows": (str, type(None)),
            }
        ],
        "warnings": [WARNING],
    },
    "lock": {
        "schema": int,
        "lock": str,
        "ok": bool,
        "check": bool,
        "written": bool,
        "stale": list,
        "agents": int,
        "sources": int,
    },
    "verify": {
        "schema": int,
        "project": str,
        "target": str,
        "ok": bool,
        "agents": int,
        "findings": [
            {"kind": str, "agent": (str, type(None)), "path": (str, type(None)), "message": str}
        ],
    },
    "lock diff": {"schema": int, "from": str, "to": str, "agents": [ROW]},
    "which": {
        "schema": int,
        "agent": str,
        "scope": (str, type(None)),
        "path": (str, type(None)),
        "candidates": [
            {
                "scope": str,
                "path": (str, type(None)),
                "loads": bool,
                "active": bool,
                "why": (str, type(None)),
            }
        ],
    },
    "diff": {
        "schema": int,
        "agent": str,
        "from": str,
        "to": str,
        "diff": str,
        "note": (str, type(None)),
    },
    "help": {"schema": int, "help": str},
    "check item": {
        "schema": int,
        "path": str,
        "loads": bool,
        "name": (str, type(None)),
        "description": (str, type(None)),
        "tools": (list, type(None)),
        "disallowed": (list, type(None)),
        "effective_tools": (list, type(None)),
        "launch": (bool, type(None)),
        "diagnostics": list,
    },
}


def conforms(data: Any, shape: Any, where: str = "$") -> list[str]:
    """Where `data` differs from `shape`: missing or extra keys, wrong types."""
    if isinstance(shape, dict):
        if not isinstance(data, dict):
            return [f"{where}: expected an object, got {type(data).__name__}"]
        problems = [f"{where}: missing {k!r}" for k in shape if k not in data]
        problems += [f"{where}: unexpected {k!r}" for k in data if k not in shape]
        for key in shape.keys() & data.keys():
            problems += conforms(data[key], shape[key], f"{where}.{key}")
        return problems
    if isinstance(shape, list):
        if not isinstance(data, list):
            return [f"{where}: expected a list, got {type(data).__name__}"]
        return [p for i, item in enumerate(data) for p in conforms(item, shape[0], f"{where}[{i}]")]
    allowed = shape if isinstance(shape, tuple) else (shape,)
    if isinstance(data, bool) and bool not in allowed:
        return [f"{where}: a boolean where {allowed} was expected"]
    return [] if isinstance(data, allowed) else [f"{where}: {type(data).__name__} not {allowed}"]


def test_the_shape_checker_finds_what_differs() -> None:
    assert conforms({"a": 1}, {"a": int}) == []
    assert sorted(conforms({"a": "x", "b": 1}, {"a": int})) == [
        "$.a: str not (<class 'int'>,)",
        "$: unexpected 'b'",
    ]
    assert conforms({}, {"a": int}) == ["$: missing 'a'"]
    assert conforms({"a": [{"b": True}]}, {"a": [{"b": int}]})  # a boolean is not a count


def commits_are_full(data: Any) -> list[str]:
    """Every commit (a `commit`, `current` or `latest` value) is 40 hex digits."""
    found: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key in {"commit", "current", "latest"} and value is not None:
                if not (isinstance(value, str) and HEX40.match(value)):
                    found.append(f"{key}={value!r}")
            else:
                found += commits_are_full(value)
    elif isinstance(data, list):
        for item in data:
            found += commits_are_full(item)
    return found


@pytest.fixture
def team(make_repo: MakeRepo) -> GitRepo:
    repo = make_repo("team")
    repo.write("agents/reviewer.md", agent_md("reviewer", "Reviews code.", "Read"))
    repo.write("agents/writer.md", agent_md("writer", "Writes docs.", "Read, Write"))
    repo.commit("agents")
    return repo


@pytest.mark.slow
def test_every_command_answers_in_the_documented_shape(
    cli: Cli, project_dir: Path, team: GitRepo
) -> None:
    seen: dict[str, int] = {}

    def run(shape: str, *args: str, code: int = 0) -> Any:
        result = cli("--json", *args, cwd=project_dir)
        assert result.code == code, (args, result)
        data = json.loads(result.out)  # one document, nothing else on stdout
        items = data if shape == "check item" else [data]
        for item in items:
            assert item["schema"] == 1, (args, item)
            assert conforms(item, SHAPES[shape]) == [], (args, conforms(item, SHAPES[shape]))
            assert commits_are_full(item) == [], (args, item)
        seen[shape] = seen.get(shape, 0) + 1
        return data

    run("version", "--version")
    run("help", "help", "install")
    run("init", "init")
    run("error", "init", code=2)  # already there
    run("source add", "source", "add", "team", team.url)
    run("error", "source", "add", "team", team.url, code=2)  # the name is taken
    run("source list", "source", "list")
    run("source set", "source", "set", "team", "--ref", "main")
    run("error", "source", "set", "taem", "--ref", "main", code=2)
    found = run("search", "search")
    assert {a["agent"] for a in found["agents"]} == {"reviewer", "writer"}
    shown = run("show", "show", "reviewer")
    assert shown["commit"] == team.head()
    run("error", "install", "nobody", code=1)
    installed = run("project", "install", "reviewer")
    (row,) = installed["agents"]
    assert row["state"] == "new" and row["path"] == ".claude/agents/reviewer.md"
    assert row["new"]["commit"] == team.head()
    run("project", "add", "writer")
    run("project", "install")
    run("project", "install", "--dry-run")
    run("lock", "lock")
    run("lock", "lock", "--check")
    run("verify", "verify")
    found = run("which", "which", "reviewer")
    assert found["scope"] == "project" and found["path"] == ".claude/agents/reviewer.md"
    run("which", "which", "nobody", code=1)
    GitRepo(project_dir).commit("the project, with its lock")
    status = run("status", "status")
    assert {a["path"] for a in status["agents"]} == {
        ".claude/agents/reviewer.md",
        ".claude/agents/writer.md",
    }
    run("status", "list")
    run("status", "ls")
    (project_dir / ".claude/agents/reviewer.md").write_text(agent_md("reviewer", "Mine."))
    run("diff", "diff", "reviewer")
    failed = run("verify", "verify", code=1)
    assert [f["kind"] for f in failed["findings"]] == ["modified"]
    run("check item", "check")
    run("check item", "check", ".claude/agents/reviewer.md", "--ignore", "AS111")
    team.write("agents/writer.md", agent_md("writer", "Writes better docs.", "Read, Write"))
    team.commit("v2")
    behind = run("outdated", "outdated", code=1)
    assert any(a["behind"] for a in behind["agents"])
    run("project", "update", "writer", "--dry-run")
    run("project", "update", "writer")
    run("lock diff", "diff", "--lock", "HEAD")
    run("project", "remove", "writer")
    run("project", "rm", "reviewer", "--force")
    run("source remove", "source", "remove", "team")
    run("error", "source", "remove", "team", code=2)
    run("error", "update", "--merge=sideways", code=2)  # a usage error from the parser
    run("error", "--timeout", "0", "status", code=2)
    assert set(seen) == set(SHAPES)  # every documented shape was met


def test_an_error_is_json_on_stdout_and_text_on_stderr(cli: Cli, tmp_path: Path) -> None:
    result = cli("--json", "check", "no/such/file.md", cwd=tmp_path)
    assert result.code == 2
    data = json.loads(result.out)
    assert data["error"]["code"] == "usage" and "no/such/file.md" in data["error"]["message"]
    assert result.err.startswith("error: ")
    plain = cli("check", "no/such/file.md", cwd=tmp_path)
    assert plain.out == "" and plain.code == 2  # without --json, stdout stays empty
