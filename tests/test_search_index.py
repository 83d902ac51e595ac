"""`search` keeps what it found at each commit (the agents and the checker's verdicts) in the
shared cache: a commit never changes, so the next search reads no file and parses nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agentsync import catalog
from tests.fixtures import Cli, MakeRepo, agent_md

pytestmark = pytest.mark.slow


def _rows(cli: Cli, project: Path) -> dict[str, str]:
    result = cli("--json", "search", cwd=project)
    assert result.code == 0, result
    return {r["agent"]: r["state"] for r in json.loads(result.out)["agents"]}


def _index_files() -> list[Path]:
    folder = Path(os.environ["AGENTSYNC_CACHE_DIR"]) / "discovery"
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def test_a_second_search_discovers_and_checks_nothing(
    cli: Cli, project_dir: Path, make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo("team")
    repo.write("agents/good.md", agent_md("good", "Fine."))
    repo.write("agents/broken.md", "---\nname: broken\n---\nno description\n")
    repo.write("agents/README.md", "# not an agent\n")
    repo.commit("agents")
    cli("init", cwd=project_dir)
    cli("source", "add", "team", repo.url, cwd=project_dir)
    first = _rows(cli, project_dir)
    assert first == {"good": "ok", "broken": "will not load"}
    assert len(_index_files()) == 1

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("read again although the commit is in the index")

    monkeypatch.setattr(catalog.Catalog, "_discover", refuse)
    monkeypatch.setattr(catalog, "_verdict", refuse)
    assert _rows(cli, project_dir) == first


def test_a_new_commit_is_discovered_and_a_damaged_index_ignored(
    cli: Cli, project_dir: Path, make_repo: MakeRepo
) -> None:
    repo = make_repo("team")
    repo.write("agents/one.md", agent_md("one", "First."))
    repo.commit("one")
    cli("init", cwd=project_dir)
    cli("source", "add", "team", repo.url, cwd=project_dir)
    assert _rows(cli, project_dir) == {"one": "ok"}
    repo.write("agents/two.md", "---\nname: two\n---\nno description\n")
    repo.commit("two")
    assert cli("update", cwd=project_dir).code == 0
    assert _rows(cli, project_dir) == {"one": "ok", "two": "will not load"}
    for index in _index_files():
        index.write_bytes(b'{"version": 1, "entries": {"x": [1, 2]}')  # cut short
    assert _rows(cli, project_dir) == {"one": "ok", "two": "will not load"}
    for index in _index_files():  # entries of the wrong shape are worked out again
        record = json.loads(index.read_text())
        for entry in record["entries"].values():
            entry["candidates"] = [["one", 5, None, None, True, None]]
            entry["verdicts"] = {"agents/one.md": "not a verdict"}
        index.write_text(json.dumps(record))
    assert _rows(cli, project_dir) == {"one": "ok", "two": "will not load"}
