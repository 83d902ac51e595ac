"""The one pipeline: what `install NAME` reads, and the plan and rows it derives, driven
through the core functions on real repositories."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from agentsync import catalog
from agentsync.session import Options, open_session
from agentsync.sync import Request, plan_sync
from tests.conftest import CliResult, GitRepo, agent_md

Cli = Callable[..., CliResult]
MakeRepo = Callable[..., GitRepo]


@pytest.fixture
def two_sources(make_repo: MakeRepo, project_dir: Path) -> Path:
    for name in ("alpha", "beta"):
        repo = make_repo(name)
        for index in range(4):
            agent = f"{name}-{index}"
            repo.write(f"agents/{agent}.md", agent_md(agent, f"Agent {agent}."))
        repo.commit("agents")
    (project_dir / "agentsync.toml").write_text(
        "".join(
            f'[sources.{name}]\nurl = "{(project_dir.parent / "repos" / name).as_uri()}"\n\n'
            for name in ("alpha", "beta")
        )
        + "[agents]\n"
    )
    return project_dir


def test_install_name_parses_each_source_file_once(
    cli: Cli, two_sources: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`install NAME` looks for NAME in every source, then resolves and installs it: the
    files of each source are parsed once for both."""
    parsed: Counter[bytes] = Counter()
    real = catalog.parse_agent

    def counting(data: bytes) -> object:
        parsed[data] += 1
        return real(data)

    monkeypatch.setattr(catalog, "parse_agent", counting)
    result = cli("install", "beta-2", cwd=two_sources)
    assert result.code == 0, result
    assert len(parsed) == 8  # every agent of both sources was looked at
    assert set(parsed.values()) == {1}, parsed


def test_install_name_reads_the_manifest_once_and_parses_each_text_once(
    cli: Cli, two_sources: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentsync import _fs, manifest

    reads: list[str] = []
    parsed: Counter[str] = Counter()
    real_read, real_parse = _fs.read_small, manifest.parse_manifest

    def counting_read(path: Path, limit: int) -> bytes | None:
        if path.name == "agentsync.toml":
            reads.append(str(path))
        return real_read(path, limit)

    def counting_parse(text: str, path: Path) -> manifest.Manifest:
        parsed[text] += 1
        return real_parse(text, path)

    monkeypatch.setattr(_fs, "read_small", counting_read)
    monkeypatch.setattr(manifest, "parse_manifest", counting_parse)
    import agentsync.session

    monkeypatch.setattr(agentsync.session, "parse_manifest", counting_parse)
    result = cli("install", "beta-2", cwd=two_sources)
    assert result.code == 0, result
    assert len(reads) == 1, reads
    assert len(parsed) == 2 and set(parsed.values()) == {1}, parsed  # as read, as edited
    assert 'beta-2 = "beta"' in (two_sources / "agentsync.toml").read_text()


def test_the_plan_of_a_fresh_install_and_of_a_rerun(cli: Cli, two_sources: Path) -> None:
    text = (two_sources / "agentsync.toml").read_text()
    (two_sources / "agentsync.toml").write_text(
        text + 'alpha-1 = "alpha"\nb = { source = "beta", agent = "beta-3" }\n'
    )
    options = Options(cwd=two_sources)
    with open_session(options) as run:
        plan = plan_sync(run, run.manifest(), Request())
        assert plan.files is not None and not run.has_lock
        assert [(r.agent, r.status, r.action) for r in plan.rows] == [
            ("alpha-1", "new", "create"),
            ("b", "new", "create"),
        ]
        assert sorted(plan.lock.agents) == ["alpha-1", "b"]
        assert plan.lock.agents["b"].upstream_name == "beta-3"
    assert cli("install", cwd=two_sources).code == 0
    with open_session(options, locked=False) as run:
        again = plan_sync(run, run.manifest(), Request())
        assert {r.status for r in again.rows} == {"unchanged"}
        assert again.files is not None and not again.files.changes


def test_outdated_is_the_same_plan_without_files(cli: Cli, two_sources: Path) -> None:
    repo = GitRepo(two_sources.parent / "repos" / "alpha")
    repo.write("agents/alpha-1.md", agent_md("alpha-1", "Agent alpha-1.", tools="Read"))
    repo.commit("read only")
    text = (two_sources / "agentsync.toml").read_text()
    (two_sources / "agentsync.toml").write_text(text + 'alpha-1 = "alpha"\nalpha-2 = "alpha"\n')
    assert cli("install", cwd=two_sources).code == 0
    repo.write("agents/alpha-1.md", agent_md("alpha-1", "Agent alpha-1.", tools="Read, Bash"))
    new = repo.commit("v2")
    with open_session(Options(cwd=two_sources), locked=False) as run:
        plan = plan_sync(run, run.manifest(), Request(mode="outdated", update="all"))
    assert plan.files is None
    rows = {r.agent: r for r in plan.rows}
    assert rows["alpha-1"].status == "behind"
    assert rows["alpha-1"].new is not None and rows["alpha-1"].new.commit == new
    assert [(g.text, g.risky) for g in rows["alpha-1"].grants] == [("tools: +Bash", True)]
    assert (rows["alpha-1"].added, rows["alpha-1"].removed) == (1, 1)
    assert rows["alpha-2"].status == "moved"
