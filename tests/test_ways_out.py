"""Ways out instead of dead ends: suggestions for typos, a hint where sources are missing,
search and show that carry on without a broken source, globs that never pick silently."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures import Cli, GitRepo, MakeRepo, agent_md


def source_with(make_repo: MakeRepo, name: str, *agents: str) -> GitRepo:
    repo = make_repo(name)
    for agent in agents:
        repo.write(f"agents/{agent}.md", agent_md(agent, f"{agent} from {name}.", "Read"))
    repo.commit("agents")
    return repo


def manifest(
    project: Path, sources: dict[str, str], extra: str = "", *, glob: bool = False
) -> None:
    lines = [extra] if extra else []
    for name, url in sources.items():
        lines.append(f'[sources.{name}]\nurl = "{url}"\n' + ('include = ["*"]\n' if glob else ""))
    lines.append("[agents]\n")
    (project / "agentsync.toml").write_text("\n".join(lines))


@pytest.fixture
def team(make_repo: MakeRepo) -> GitRepo:
    return source_with(make_repo, "team", "backend-developer", "python-pro")


def test_a_typo_in_an_agent_name_gets_a_suggestion(
    cli: Cli, project_dir: Path, team: GitRepo
) -> None:
    manifest(project_dir, {"team": team.url})
    result = cli("install", "backend-devloper", cwd=project_dir)
    assert result.code == 1, result
    assert "did you mean 'backend-developer'?" in result.err
    shown = cli("show", "pyton-pro", cwd=project_dir)
    assert shown.code == 1 and "did you mean 'python-pro'?" in shown.err, shown
    assert cli("install", "backend-developer", cwd=project_dir).code == 0
    for command in ("diff", "remove", "update"):
        result = cli(command, "backend-develper", cwd=project_dir)
        assert result.code != 0 and "did you mean 'backend-developer'?" in result.err, result
    wrong_source = cli("install", "tema/python-pro", cwd=project_dir)
    assert wrong_source.code == 2 and "did you mean 'team'?" in wrong_source.err, wrong_source
    nothing_close = cli("install", "zzzz", cwd=project_dir)
    assert "did you mean" not in nothing_close.err and "agentsync search" in nothing_close.err


def test_remove_of_an_unknown_agent_exits_1(cli: Cli, project_dir: Path, team: GitRepo) -> None:
    manifest(project_dir, {"team": team.url})
    result = cli("remove", "nobody", cwd=project_dir)
    assert result.code == 1, result
    assert "'nobody' is not in agentsync.toml" in result.err


def test_without_sources_search_and_install_say_how_to_add_one(cli: Cli, project_dir: Path) -> None:
    assert cli("init", cwd=project_dir).code == 0
    found = cli("search", cwd=project_dir)
    assert found.code == 0 and found.out == "", found
    assert "agentsync source add NAME URL" in found.err
    data = json.loads(cli("--json", "search", cwd=project_dir).out)
    assert data["agents"] == [] and data["warnings"][0]["code"] == "no-sources"
    install = cli("install", "backend-developer", cwd=project_dir)
    assert install.code == 1 and "agentsync source add NAME URL" in install.err, install


def test_check_without_a_target_folder_finds_nothing_and_passes(
    cli: Cli, project_dir: Path
) -> None:
    assert cli("init", cwd=project_dir).code == 0
    result = cli("check", cwd=project_dir)
    assert result.code == 0, result
    assert result.out.startswith("0 files checked") and "does not exist" in result.err
    assert json.loads(cli("--json", "check", cwd=project_dir).out) == []
    # a path that was named and does not exist is still an error
    assert cli("check", ".claude/agents", cwd=project_dir).code == 2


@pytest.mark.slow
def test_one_unreachable_source_leaves_search_and_show_to_the_others(
    cli: Cli, project_dir: Path, make_repo: MakeRepo, tmp_path: Path
) -> None:
    one = source_with(make_repo, "one", "alpha")
    two = source_with(make_repo, "two", "beta")
    gone = (tmp_path / "gone").as_uri()
    manifest(project_dir, {"one": one.url, "broken": gone, "two": two.url})
    found = cli("search", cwd=project_dir)
    assert found.code == 0, found
    assert "one/alpha" in found.out and "two/beta" in found.out
    assert "source broken is left out" in found.err
    data = json.loads(cli("--json", "search", cwd=project_dir).out)
    assert {a["agent"] for a in data["agents"]} == {"alpha", "beta"}
    (warning,) = data["warnings"]
    assert warning["code"] == "source-unavailable" and "broken" in warning["message"]
    shown = cli("show", "beta", cwd=project_dir)
    assert shown.code == 0 and "two/beta" in shown.out and "broken" in shown.err, shown
    # installing and updating still need every source, and say which one failed
    install = cli("install", "alpha", cwd=project_dir)
    assert install.code == 1 and "source broken" in install.err, install
    assert not (project_dir / "agentsync.lock").exists()
    # with no healthy source there is nothing to show: that is a failure
    manifest(project_dir, {"broken": gone})
    assert cli("search", cwd=project_dir).code == 1


@pytest.mark.slow
def test_a_name_two_globs_offer_is_a_collision_until_the_manifest_settles_it(
    cli: Cli, project_dir: Path, make_repo: MakeRepo
) -> None:
    team = source_with(make_repo, "team", "reviewer", "writer", "team-only")
    vendor = source_with(make_repo, "vendor", "reviewer", "writer", "vendor-only")
    sources = {"team": team.url, "vendor": vendor.url}
    manifest(project_dir, sources, glob=True)
    result = cli("install", cwd=project_dir)
    assert result.code == 1, result
    for label in ("team/reviewer", "vendor/reviewer", "team/writer", "vendor/writer"):
        assert label in result.err
    assert "prefer" in result.err
    assert not (project_dir / ".claude/agents").exists()  # nothing picked, nothing written

    # an [agents] entry settles one name; prefer settles every other
    manifest(project_dir, sources, '[settings]\nprefer = ["vendor", "team"]\n', glob=True)
    text = (project_dir / "agentsync.toml").read_text()
    (project_dir / "agentsync.toml").write_text(text + 'reviewer = "team"\n')
    assert cli("install", cwd=project_dir).code == 0
    lock = (project_dir / "agentsync.lock").read_text()
    chosen = {
        name: json.loads(cli("--json", "show", name, cwd=project_dir).out)["source"]
        for name in ("reviewer", "writer")
    }
    assert chosen == {"reviewer": "team", "writer": "vendor"}, lock
    assert "vendor-only from vendor" in (project_dir / ".claude/agents/vendor-only.md").read_text()


def test_prefer_and_ignore_are_checked(cli: Cli, project_dir: Path, team: GitRepo) -> None:
    manifest(project_dir, {"team": team.url}, '[settings]\nprefer = ["taem"]\n')
    result = cli("status", cwd=project_dir)
    assert result.code == 2 and "settings.prefer" in result.err and "'team'" in result.err
    manifest(project_dir, {"team": team.url}, '[settings]\nignore = ["AS11"]\n')
    result = cli("status", cwd=project_dir)
    assert result.code == 2 and "settings.ignore" in result.err, result


@pytest.mark.slow
def test_settings_ignore_quiets_check_and_install(
    cli: Cli, project_dir: Path, make_repo: MakeRepo
) -> None:
    repo = make_repo("team")
    repo.write("agents/finder.md", agent_md("finder", "Finds.", "Bash, Grep"))  # AS111
    repo.commit("finder")
    manifest(project_dir, {"team": repo.url})
    noisy = cli("install", "finder", cwd=project_dir)
    assert noisy.code == 0 and "AS111" in noisy.err, noisy
    assert cli("check", "--strict", cwd=project_dir).code == 1
    text = (project_dir / "agentsync.toml").read_text()
    (project_dir / "agentsync.toml").write_text('[settings]\nignore = ["AS111"]\n\n' + text)
    assert cli("check", "--strict", cwd=project_dir).code == 0
    (project_dir / ".claude/agents/finder.md").unlink()
    quiet = cli("install", cwd=project_dir)
    assert quiet.code == 0 and "AS111" not in quiet.err, quiet


def test_init_starts_a_project_here_even_inside_another(cli: Cli, project_dir: Path) -> None:
    assert cli("init", cwd=project_dir).code == 0
    inner = project_dir / "tools" / "inner"
    inner.mkdir(parents=True)
    result = cli("init", cwd=inner)
    assert result.code == 0, result
    assert (inner / "agentsync.toml").is_file()
    # other commands still find the nearest project upward
    assert cli("source", "list", cwd=inner / "..").code == 0


def test_global_makes_the_user_manifest_on_first_use(
    cli: Cli, tmp_path: Path, team: GitRepo
) -> None:
    import os

    user = Path(os.environ["XDG_CONFIG_HOME"]) / "agentsync" / "agentsync.toml"
    assert not user.exists()
    result = cli("--global", "install", "backend-developer", cwd=tmp_path)
    assert result.code == 1 and "agentsync source add NAME URL" in result.err, result
    assert user.is_file()  # made, and a valid manifest
    assert cli("--global", "source", "add", "team", team.url, cwd=tmp_path).code == 0
    assert cli("--global", "install", "backend-developer", cwd=tmp_path).code == 0
    assert (Path(os.environ["HOME"]) / ".claude/agents/backend-developer.md").is_file()


def test_source_add_checks_that_the_url_answers(
    cli: Cli, project_dir: Path, team: GitRepo, tmp_path: Path
) -> None:
    assert cli("init", cwd=project_dir).code == 0
    before = (project_dir / "agentsync.toml").read_text()
    missing = (tmp_path / "nowhere").as_uri()
    result = cli("source", "add", "typo", missing, cwd=project_dir)
    assert result.code == 1 and "--offline source add" in result.err, result
    assert (project_dir / "agentsync.toml").read_text() == before  # nothing written
    assert cli("--offline", "source", "add", "later", missing, cwd=project_dir).code == 0
    assert "[sources.later]" in (project_dir / "agentsync.toml").read_text()
    assert cli("source", "remove", "later", cwd=project_dir).code == 0
    assert cli("source", "add", "team", team.url, cwd=project_dir).code == 0
    # the check filled the cache: installing from it needs no network now
    assert cli("--offline", "install", "team/python-pro", cwd=project_dir).code == 0


@pytest.mark.slow
def test_diff_marks_a_missing_final_newline(cli: Cli, project_dir: Path, team: GitRepo) -> None:
    manifest(project_dir, {"team": team.url})
    assert cli("install", "python-pro", cwd=project_dir).code == 0
    path = project_dir / ".claude/agents/python-pro.md"
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    result = cli("diff", "python-pro", cwd=project_dir)
    assert result.code == 0, result
    assert result.out.endswith("\n\\ No newline at end of file\n"), result.out
