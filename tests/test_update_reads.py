"""`update` and `outdated` read from the cache only the bytes they need: an agent whose blob
did not change keeps the hash its lock entry already holds, so a thousand unchanged agents
cost no blob reads. A renamed or repaired agent's hash depends on how agentsync rewrites the
bytes, so it is always worked out again."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from agentsync import store
from tests.fixtures import Cli, MakeRepo, agent_md, one_source_installed

pytestmark = pytest.mark.slow


def _blob(lock: dict[str, dict[str, dict[str, str]]], name: str) -> str:
    return lock["agents"][name]["blob"]


def test_outdated_reads_only_the_rewritten_agents_and_update_keeps_true_hashes(
    cli: Cli, project_dir: Path, make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        "same": agent_md("same", "Never changes."),
        "moves": agent_md("moves", "Changes upstream."),
        "alias": agent_md("alias", "Installed under another name."),
    }
    repo = one_source_installed(
        cli, project_dir, make_repo, "team", files, install=("same", "moves")
    )
    manifest = project_dir / "agentsync.toml"
    manifest.write_text(manifest.read_text() + 'renamed = { source = "team", agent = "alias" }\n')
    assert cli("install", cwd=project_dir).code == 0
    before = tomllib.loads((project_dir / "agentsync.lock").read_text())

    read: list[str] = []
    real = store.Mirror.read_blob

    def spy(self: store.Mirror, blob: str) -> bytes:
        read.append(blob)
        return real(self, blob)  # type: ignore[arg-type]

    monkeypatch.setattr(store.Mirror, "read_blob", spy)
    assert cli("outdated", cwd=project_dir).code == 0  # twice: the second finds it indexed
    (project_dir / ".agentsync" / "outdated.json").unlink()  # (and not answered from refs)
    read.clear()
    assert cli("outdated", cwd=project_dir).code == 0
    assert _blob(before, "renamed") in read  # rewritten under its new name: hashed again
    assert _blob(before, "same") not in read
    assert _blob(before, "moves") not in read

    repo.write("agents/moves.md", agent_md("moves", "Changed upstream."))
    repo.commit("one agent changes")
    assert cli("update", cwd=project_dir).code == 0
    after = tomllib.loads((project_dir / "agentsync.lock").read_text())
    assert _blob(after, "moves") != _blob(before, "moves")
    for name in ("same", "renamed"):
        assert after["agents"][name]["sha256"] == before["agents"][name]["sha256"]
        assert after["agents"][name]["commit"] != before["agents"][name]["commit"]
    # the hashes carried over are those of the bytes on disk: verify proves them
    assert cli("verify", cwd=project_dir).code == 0
    assert "name: renamed" in (project_dir / ".claude/agents/renamed.md").read_text()


def test_outdated_fetches_only_the_sources_whose_refs_moved(
    cli: Cli, project_dir: Path, make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentsync import vcs

    still = make_repo("still")
    still.write("agents/calm.md", agent_md("calm", "Stays."))
    still.commit("calm")
    moving = make_repo("moving")
    moving.write("agents/busy.md", agent_md("busy", "Moves."))
    moving.commit("busy")
    cli("init", cwd=project_dir)
    cli("source", "add", "still", still.url, cwd=project_dir)
    cli("source", "add", "moving", moving.url, cwd=project_dir)
    assert cli("install", "still/calm", "moving/busy", cwd=project_dir).code == 0

    fetched: list[str] = []
    real = vcs.fetch

    def spy(git_dir: Path, url: str, *args: object, **kwargs: object) -> None:
        fetched.append(url)
        real(git_dir, url, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(vcs, "fetch", spy)
    quiet = cli("--json", "outdated", cwd=project_dir)
    assert quiet.code == 0, quiet
    assert fetched == []  # nothing moved: only asked what each remote advertises

    moving.write("agents/busy.md", agent_md("busy", "Moved."))
    moving.commit("busy moves")
    still.tag("v1")  # a new tag is a change of refs too, though no agent moved
    result = cli("--json", "outdated", cwd=project_dir)
    assert sorted(fetched) == sorted([moving.url, still.url])
    rows = {r["agent"]: r for r in json.loads(result.out)["agents"]}
    assert rows["busy"]["state"] != rows["calm"]["state"]
    fetched.clear()
    assert cli("outdated", cwd=project_dir).code == 1
    assert fetched == []  # the mirrors hold what the remotes advertise now


def test_outdated_names_a_source_that_cannot_be_asked(
    cli: Cli, project_dir: Path, make_repo: MakeRepo
) -> None:
    import shutil

    repo = one_source_installed(cli, project_dir, make_repo, "gone", {"a": agent_md("a", "Here.")})
    shutil.rmtree(repo.path)
    result = cli("outdated", cwd=project_dir)
    assert result.code == 1
    assert "gone" in result.err
    assert "Traceback" not in result.err


def test_an_update_looks_at_each_locked_agent_once_not_once_per_source(
    cli: Cli, project_dir: Path, make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentsync import resolve

    teams = ("one", "two", "three")
    repos = {team: make_repo(team) for team in teams}
    manifest = ""
    for team, repo in repos.items():
        for n in range(4):
            repo.write(f"agents/{team}-{n}.md", agent_md(f"{team}-{n}", f"Agent {n}."))
        repo.commit("agents")
        manifest += f'[sources.{team}]\nurl = "{repo.url}"\ninclude = ["*"]\n\n'
    (project_dir / "agentsync.toml").write_text(manifest)
    assert cli("install", cwd=project_dir).code == 0
    assert len(tomllib.loads((project_dir / "agentsync.lock").read_text())["agents"]) == 12
    for team, repo in repos.items():  # one agent of each source is gone upstream
        (repo.path / "agents" / f"{team}-3.md").unlink()
        repo.commit("one agent leaves")
    looked: list[str] = []
    real = resolve._gone_from_include

    def spy(previous: resolve.LockedAgent, *args: object) -> bool:
        looked.append(previous.name)
        return real(previous, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(resolve, "_gone_from_include", spy)
    assert cli("update", cwd=project_dir).code in (0, 1)
    # each agent is weighed against its own source only: 10,000 agents in 200 sources were
    # two million steps
    assert sorted(looked) == [f"{team}-3" for team in sorted(teams)]


def test_the_name_check_reads_no_verified_file_once_its_name_is_known(
    cli: Cli, project_dir: Path, make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentsync import installer

    repo = make_repo("team")
    names = ["a1", "a2", "a3", "new1", "new2", "new3"]
    for name in names:
        repo.write(f"agents/{name}.md", agent_md(name, f"Agent {name}."))
    repo.commit("agents")
    cli("init", cwd=project_dir)
    cli("source", "add", "team", repo.url, cwd=project_dir)
    assert cli("install", "team/a1", "team/a2", "team/a3", cwd=project_dir).code == 0
    assert cli("install", "team/new1", cwd=project_dir).code == 0  # learns their names
    parsed: list[bytes] = []
    real = installer.parse_agent

    def spy(data: bytes) -> object:
        parsed.append(data)
        return real(data)

    monkeypatch.setattr(installer, "parse_agent", spy)
    assert cli("install", "team/new2", cwd=project_dir).code == 0
    # the file the last run wrote is named once, then known as well
    assert [d for d in parsed if b"Agent a" in d or b"Agent new" in d] == [
        agent_md("new1", "Agent new1.").encode()
    ]
    # a hand-written file is read and named as ever: it cannot hide behind the cache
    mine = project_dir / ".claude" / "agents" / "mine.md"
    mine.write_text(agent_md("new3", "My own."))
    refused = cli("install", "team/new3", cwd=project_dir)
    assert refused.code == 1 and "already uses the name 'new3'" in refused.err


def test_a_local_edit_git_cannot_merge_names_its_agent(
    cli: Cli, project_dir: Path, make_repo: MakeRepo
) -> None:
    body = agent_md("merger", "Merges.") + "line one\nline two\n"
    repo = one_source_installed(cli, project_dir, make_repo, "team", {"merger": body})
    installed = project_dir / ".claude" / "agents" / "merger.md"
    installed.write_bytes(installed.read_bytes() + b"nul\0byte\n")  # git treats it as binary
    repo.write("agents/merger.md", agent_md("merger", "Merges.") + "line one\nline 2\n")
    repo.commit("upstream")
    failed = cli("update", cwd=project_dir)
    assert failed.code == 1
    assert "error: merger: git merge-file could not merge" in failed.err
    assert "the local version" in failed.err and "/dev/fd" not in failed.err


def test_refresh_rebuilds_the_cache_of_a_project_that_needs_no_read(
    cli: Cli, project_dir: Path, make_repo: MakeRepo
) -> None:
    import os

    one_source_installed(
        cli, project_dir, make_repo, "team", {"alpha": agent_md("alpha", "First.")}
    )
    caches = list((Path(os.environ["AGENTSYNC_CACHE_DIR"]) / "mirrors").glob("*.git"))
    assert len(caches) == 1
    damage = caches[0] / "refs" / "tags" / "damage"
    os.mkfifo(damage)  # every file is verified: this install reads nothing from the cache
    assert cli("install", "--refresh", cwd=project_dir).code == 0
    assert not os.path.lexists(damage)  # the way out the damaged-cache hint names
