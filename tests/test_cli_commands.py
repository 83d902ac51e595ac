"""CLI behaviour of the everyday commands: init, source, search, show, remove, status, scopes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures import (
    TARGET,
    Cli,
    GitRepo,
    MakeRepo,
    agent_md,
    edit,
    installed,
    read_lock,
    states,
    write_manifest,
)


@pytest.fixture
def source(make_repo: MakeRepo) -> GitRepo:
    repo = make_repo("team")
    repo.write("agents/backend-developer.md", agent_md("backend-developer", "Builds APIs.", "Read"))
    repo.write("agents/python-pro.md", agent_md("python-pro", "Python expert.", "Read, Bash"))
    repo.write("agents/python-legacy.md", agent_md("python-legacy", "Old Python.", "Read"))
    repo.write(
        "agents/broken.md",
        "---\nname: broken\ndescription: first line\nsecond line: x\n  not: [valid\n---\nbody\n",
    )
    repo.write("skills/helper/SKILL.md", agent_md("skill-helper", "A skill, not an agent."))
    repo.write("commands/run.md", agent_md("run-command", "A command, not an agent."))
    repo.commit("agents")
    return repo


@pytest.mark.slow
def test_init_source_add_list_remove(cli: Cli, project_dir: Path, source: GitRepo) -> None:
    result = cli("init", cwd=project_dir)
    assert result.code == 0, result
    assert (project_dir / "agentsync.toml").exists()
    assert cli("init", cwd=project_dir).code == 2  # never overwrites
    result = cli("source", "add", "team", str(source.path), "--ref", "main", cwd=project_dir)
    assert result.code == 0, result
    listing = cli("source", "list", "--json", cwd=project_dir)
    rows = json.loads(listing.out)["sources"]
    assert rows[0]["source"] == "team" and rows[0]["ref"] == "main"
    assert cli("install", "team/backend-developer", cwd=project_dir).code == 0
    result = cli("source", "remove", "team", cwd=project_dir)
    assert result.code == 2, result  # still used by an agent
    assert "backend-developer" in result.err
    assert cli("remove", "backend-developer", cwd=project_dir).code == 0
    assert not (project_dir / ".claude/agents/backend-developer.md").exists()
    assert cli("source", "remove", "team", cwd=project_dir).code == 0
    assert "[sources.team]" not in (project_dir / "agentsync.toml").read_text()


def test_init_preset_and_unknown_preset(cli: Cli, project_dir: Path) -> None:
    result = cli("init", "--preset", "nope", cwd=project_dir)
    assert result.code == 2
    assert "voltagent" in result.err  # the hint lists what ships
    assert not (project_dir / "agentsync.toml").exists()
    assert cli("init", "--preset", "voltagent", cwd=project_dir).code == 0
    assert "VoltAgent" in (project_dir / "agentsync.toml").read_text()


def test_hostile_source_url_is_refused(cli: Cli, project_dir: Path) -> None:
    cli("init", cwd=project_dir)
    result = cli("source", "add", "evil", "ext::sh -c touch% pwned", cwd=project_dir)
    assert result.code == 2, result
    assert "not allowed" in result.err
    assert "evil" not in (project_dir / "agentsync.toml").read_text()


@pytest.mark.slow
def test_search_skips_skills_and_commands_and_gives_verdicts(
    cli: Cli, project_dir: Path, source: GitRepo
) -> None:
    cli("init", cwd=project_dir)
    cli("source", "add", "team", source.url, cwd=project_dir)
    result = cli("search", "--json", cwd=project_dir)
    assert result.code == 0, result
    rows = {r["agent"]: r for r in json.loads(result.out)["agents"]}
    assert set(rows) == {"backend-developer", "python-pro", "python-legacy", "broken"}
    assert rows["broken"]["state"] == "will not load"
    assert rows["python-pro"]["state"] == "ok"
    text = cli("search", "python", cwd=project_dir)
    assert "team/python-pro" in text.out and "backend-developer" not in text.out


@pytest.mark.slow
def test_search_verdict_of_a_file_that_loads_with_an_error(
    cli: Cli, project_dir: Path, make_repo: MakeRepo
) -> None:
    repo = make_repo("conflicted")
    body = "<<<<<<< local\nYou review.\n=======\nYou review code.\n>>>>>>> upstream"
    repo.write("agents/merged.md", agent_md("merged", "Reviews.", body=body))
    repo.write("agents/broken.md", "---\nname: broken\n---\nno description\n")
    repo.commit("agents")
    cli("init", cwd=project_dir)
    cli("source", "add", "team", repo.url, cwd=project_dir)
    rows = {
        r["agent"]: r["state"]
        for r in json.loads(cli("search", "--json", cwd=project_dir).out)["agents"]
    }
    assert rows == {"merged": "errors", "broken": "will not load"}


@pytest.mark.slow
def test_show_reports_what_claude_code_reads(cli: Cli, project_dir: Path, source: GitRepo) -> None:
    cli("init", cwd=project_dir)
    cli("source", "add", "team", source.url, cwd=project_dir)
    result = cli("show", "team/python-pro", "--json", cwd=project_dir)
    assert result.code == 0, result
    shown = json.loads(result.out)
    assert shown["loads"] is True
    assert shown["tools"] == ["Read", "Bash"]
    assert shown["commit"] == source.head()
    broken = json.loads(cli("show", "broken", "--json", cwd=project_dir).out)
    assert broken["loads"] is False
    assert any(d["severity"] == "error" for d in broken["diagnostics"])


@pytest.mark.slow
def test_install_refuses_a_file_claude_code_would_drop(
    cli: Cli, project_dir: Path, source: GitRepo
) -> None:
    cli("init", cwd=project_dir)
    cli("source", "add", "team", source.url, cwd=project_dir)
    result = cli("install", "broken", cwd=project_dir)
    assert result.code == 1, result
    assert "would not load" in result.err and "--fix" in result.err
    assert not (project_dir / ".claude/agents/broken.md").exists()
    result = cli("install", "broken", "--force", cwd=project_dir)
    assert result.code == 0, result
    assert (project_dir / ".claude/agents/broken.md").read_bytes() == (
        source.path / "agents/broken.md"
    ).read_bytes()


@pytest.mark.slow
def test_include_and_exclude_globs(cli: Cli, project_dir: Path, source: GitRepo) -> None:
    globs = 'include = ["python-*"]\nexclude = ["*-legacy"]\n'
    write_manifest(project_dir, source.url, None, extra=globs)
    result = cli("install", cwd=project_dir)
    assert result.code == 0, result
    names = sorted(p.name for p in (project_dir / ".claude/agents").iterdir())
    assert names == ["python-pro.md"]
    result = cli("remove", "python-pro", cwd=project_dir)
    assert result.code == 2
    assert "exclude" in result.err


@pytest.mark.slow
def test_status_states_and_json(cli: Cli, project_dir: Path, source: GitRepo) -> None:
    cli("init", cwd=project_dir)
    cli("source", "add", "team", source.url, cwd=project_dir)
    assert cli("install", "backend-developer", "python-pro", cwd=project_dir).code == 0
    folder = project_dir / ".claude/agents"
    (folder / "python-pro.md").unlink()
    with (folder / "backend-developer.md").open("a") as handle:
        handle.write("edited\n")
    (folder / "mine.md").write_text(agent_md("mine", "hand-written"))
    result = cli("status", "--json", cwd=project_dir)
    assert result.code == 1, result
    states = {row["agent"]: row["state"] for row in json.loads(result.out)["agents"]}
    assert states == {"backend-developer": "modified", "python-pro": "missing", "mine": "unmanaged"}
    listed = cli("list", cwd=project_dir)
    assert "modified" in listed.out and "unmanaged" in listed.out


@pytest.mark.slow
def test_global_options_after_command_and_project_flag(
    cli: Cli, project_dir: Path, source: GitRepo, tmp_path: Path
) -> None:
    cli("init", cwd=project_dir)
    cli("source", "add", "team", source.url, cwd=project_dir)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = cli("install", "backend-developer", "-C", str(project_dir), "-q", cwd=elsewhere)
    assert result.code == 0, result
    assert result.out == ""
    assert (project_dir / ".claude/agents/backend-developer.md").exists()
    nested = project_dir / "sub" / "deeper"
    nested.mkdir(parents=True)
    assert "backend-developer" in cli("status", cwd=nested).out  # found upward


@pytest.mark.slow
def test_global_scope_uses_claude_config_dir(
    cli: Cli, tmp_path: Path, source: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "claude-config"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config))
    assert cli("--global", "source", "add", "team", source.url, cwd=tmp_path).code == 0
    result = cli("--global", "install", "python-pro", cwd=tmp_path)
    assert result.code == 0, result
    assert (config / "agents" / "python-pro.md").exists()
    assert not (tmp_path / ".claude").exists()


def test_bad_manifest_is_a_usage_error_with_line(cli: Cli, project_dir: Path) -> None:
    (project_dir / "agentsync.toml").write_text('[sources.team]\nurl = "x"\nbranch = "main"\n')
    result = cli("install", cwd=project_dir)
    assert result.code == 2, result
    assert "agentsync.toml:3" in result.err and "branch" in result.err
    assert "Traceback" not in result.err


def test_timeout_env_must_be_a_number(
    cli: Cli, project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTSYNC_TIMEOUT", "soon")
    result = cli("status", cwd=project_dir)
    assert result.code == 2
    assert "AGENTSYNC_TIMEOUT" in result.err


@pytest.mark.slow
def test_offline_resolves_a_changed_ref_from_the_cache(
    cli: Cli, project_dir: Path, source: GitRepo
) -> None:
    cli("init", cwd=project_dir)
    cli("source", "add", "team", source.url, cwd=project_dir)
    assert cli("install", "python-pro", cwd=project_dir).code == 0
    manifest = project_dir / "agentsync.toml"
    manifest.write_text(
        manifest.read_text().replace(f'url = "{source.url}"', f'url = "{source.url}"\nref = "main"')
    )
    result = cli("--offline", "install", cwd=project_dir)
    assert result.code == 0, result
    assert 'ref = "main"' in (project_dir / "agentsync.lock").read_text()
    source.write("agents/new-one.md", agent_md("new-one", "Not fetched yet."))
    source.commit("new agent upstream")
    result = cli("install", "team/new-one", "--offline", cwd=project_dir)
    assert result.code == 1, result  # the cache does not have it and the network is off
    assert "new-one" in result.err
    assert "Traceback" not in result.err


@pytest.mark.slow
def test_uncommitted_changes_in_a_local_source_draw_a_warning(
    cli: Cli, project_dir: Path, source: GitRepo
) -> None:
    cli("init", cwd=project_dir)
    cli("source", "add", "team", str(source.path), cwd=project_dir)
    (source.path / "agents" / "python-pro.md").write_text(agent_md("python-pro", "Uncommitted."))
    result = cli("install", "python-pro", cwd=project_dir)
    assert result.code == 0, result
    assert "uncommitted changes" in result.err
    assert b"Uncommitted." not in (project_dir / ".claude/agents/python-pro.md").read_bytes()


@pytest.mark.slow
def test_progress_shows_on_a_terminal_only(
    cli: Cli, project_dir: Path, source: GitRepo, tmp_path: Path
) -> None:
    import os
    import pty
    import subprocess
    import sys

    cli("init", cwd=project_dir)
    cli("source", "add", "team", source.url, cwd=project_dir)
    quiet = cli("install", "python-pro", cwd=project_dir)
    assert quiet.code == 0 and "fetching" not in quiet.err  # not a TTY: no progress
    other = tmp_path / "other"
    other.mkdir()
    (other / "agentsync.toml").write_text((project_dir / "agentsync.toml").read_text())
    # NO_COLOR takes the colour away, never the progress
    env = dict(os.environ, AGENTSYNC_CACHE_DIR=str(tmp_path / "fresh-cache"), NO_COLOR="1")
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "agentsync", "install", "backend-developer"],
            cwd=other,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=follower,
            timeout=60,
            check=False,
        )
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
    assert done.returncode == 0
    # the source is named as the manifest names it, not by its URL, with the time taken
    assert b"fetching team ..." in shown and b"fetched team (" in shown, shown
    assert source.url.encode() not in shown
    assert b"\x1b" not in shown


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("plugins/*/agents", ["alpha", "beta"]),
        ("plugins/b", ["beta", "gamma"]),
        ("agents", ["top"]),
    ],
)
def test_a_source_path_is_a_folder_or_a_glob_of_folders(
    cli: Cli, project_dir: Path, make_repo: MakeRepo, path: str, expected: list[str]
) -> None:
    repo = make_repo("plugins")
    repo.write("plugins/a/agents/alpha.md", agent_md("alpha", "In plugin a."))
    repo.write("plugins/b/agents/beta.md", agent_md("beta", "In plugin b."))
    repo.write("plugins/b/docs/gamma.md", agent_md("gamma", "Beside plugin b's agents."))
    repo.write("agents/top.md", agent_md("top", "At the top."))
    repo.commit("plugins")
    cli("init", cwd=project_dir)
    assert cli("source", "add", "team", repo.url, "--path", path, cwd=project_dir).code == 0
    found = json.loads(cli("--json", "search", cwd=project_dir).out)["agents"]
    assert sorted(row["agent"] for row in found) == expected
    result = cli("install", *(f"team/{name}" for name in expected), cwd=project_dir)
    assert result.code == 0, result
    assert sorted(p.stem for p in (project_dir / TARGET).iterdir()) == expected
    lock = read_lock(project_dir)
    assert lock["sources"]["team"]["path"] == path
    for name in expected:
        assert lock["agents"][name]["path"] == repo.git("ls-files", f"*/{name}.md")
    outside = sorted({"alpha", "beta", "gamma", "top"} - set(expected))[0]
    refused = cli("install", f"team/{outside}", cwd=project_dir)
    assert refused.code == 1 and f"no agent named '{outside}'" in refused.err, refused


@pytest.mark.slow
def test_remove_keeps_a_locally_edited_agent_unless_forced(
    cli: Cli, project_dir: Path, source: GitRepo
) -> None:
    cli("init", cwd=project_dir)
    cli("source", "add", "team", source.url, cwd=project_dir)
    assert cli("install", "python-pro", "backend-developer", cwd=project_dir).code == 0
    mine = edit(installed(project_dir, "python-pro"), "Python expert.", "Python expert, mine.")
    edit(installed(project_dir, "backend-developer"), "Builds APIs.", "Builds my APIs.")

    kept = cli("remove", "python-pro", cwd=project_dir)
    assert kept.code == 1, kept
    assert "python-pro" in kept.err and "local edits" in kept.err, kept
    assert installed(project_dir, "python-pro").read_bytes() == mine
    assert "python-pro" not in read_lock(project_dir)["agents"]
    assert "python-pro" not in (project_dir / "agentsync.toml").read_text()
    assert states(project_dir)[1]["python-pro"] == "unmanaged"  # left in place, unmanaged

    forced = cli("remove", "--force", "backend-developer", cwd=project_dir)
    assert forced.code == 0, forced
    assert not installed(project_dir, "backend-developer").exists()
    assert "agents" not in read_lock(project_dir)  # nothing is managed any more


@pytest.mark.slow
def test_source_set_changes_the_pin_and_update_follows(
    cli: Cli, project_dir: Path, source: GitRepo
) -> None:
    first = source.head()
    source.tag("v1")
    source.write("agents/python-pro.md", agent_md("python-pro", "Python expert, v2.", "Read"))
    source.commit("v2")
    assert cli("init", cwd=project_dir).code == 0
    assert cli("source", "add", "team", source.url, "--ref", "v1", cwd=project_dir).code == 0
    assert cli("install", "python-pro", cwd=project_dir).code == 0
    before = (project_dir / "agentsync.toml").read_text()
    result = cli("source", "set", "team", "--ref", "main", cwd=project_dir)
    assert result.code == 0, result
    assert result.out.splitlines() == [
        'changed source team: ref = "main"',
        "nothing was installed: run `agentsync update python-pro` to move its agents to "
        "the new pin (or `agentsync install`)",
    ]
    assert (project_dir / "agentsync.toml").read_text() == before.replace('"v1"', '"main"')
    assert read_lock(project_dir)["agents"]["python-pro"]["commit"] == first  # installs nothing
    assert cli("update", "python-pro", cwd=project_dir).code == 0
    assert read_lock(project_dir)["agents"]["python-pro"]["commit"] == source.head()
    result = cli("--json", "source", "set", "team", "--version", "^1", cwd=project_dir)
    assert json.loads(result.out) == {
        "schema": 1,
        "source": "team",
        "ref": None,
        "version": "^1",
        "path": None,
    }
    text = (project_dir / "agentsync.toml").read_text()
    assert 'version = "^1"' in text and "ref =" not in text


def test_source_set_refuses_unknown_names_and_empty_or_mixed_changes(
    cli: Cli, project_dir: Path
) -> None:
    manifest = project_dir / "agentsync.toml"
    manifest.write_text('[sources.team]\nurl = "../team"\n\n[sources.tools]\nurl = "../t"\n')
    before = manifest.read_text()
    result = cli("source", "set", "taem", "--ref", "v2", cwd=project_dir)
    assert result.code == 2, result
    assert "no source named 'taem'" in result.err
    assert "hint: did you mean 'team'?" in result.err
    result = cli("source", "set", "zzz", "--ref", "v2", cwd=project_dir)
    assert result.code == 2 and "agentsync source list" in result.err
    result = cli("source", "set", "team", "--ref", "v2", "--version", "^2", cwd=project_dir)
    assert result.code == 2 and "cannot be used together" in result.err
    result = cli("source", "set", "team", cwd=project_dir)
    assert result.code == 2 and "give --ref, --version or --path" in result.err
    assert manifest.read_text() == before


@pytest.mark.slow
def test_install_at_another_ref_reports_the_pin_move(
    cli: Cli, project_dir: Path, source: GitRepo
) -> None:
    first = source.head()
    source.tag("v1")
    source.write("agents/backend-developer.md", agent_md("backend-developer", "APIs v2.", "Read"))
    second = source.commit("v2")
    source.tag("v2")
    assert cli("init", cwd=project_dir).code == 0
    assert cli("source", "add", "team", source.url, "--ref", "main", cwd=project_dir).code == 0
    assert cli("install", "backend-developer", cwd=project_dir).code == 0
    result = cli("install", "backend-developer@v1", cwd=project_dir)
    assert result.code == 0, result
    assert f"backend-developer from team: main@{second[:7]} -> v1@{first[:7]}" in result.out
    # the same commit under another name is still a move the user made, so it is named
    result = cli("--json", "install", "backend-developer@v2", cwd=project_dir)
    row = json.loads(result.out)["agents"][0]
    assert row["old"] == {"commit": first, "tag": None, "ref": "v1"}
    assert row["new"] == {"commit": second, "tag": None, "ref": "v2"}
    result = cli("install", "backend-developer@main", cwd=project_dir)
    moved = f"backend-developer from team: v2@{second[:7]} -> main@{second[:7]}"
    assert f"(file unchanged) {moved}" in result.out, result
    result = cli("install", "backend-developer@main", cwd=project_dir)
    assert "->" not in result.out  # asking again for the same pin is no move


@pytest.mark.slow
def test_status_names_what_an_agent_follows_merged_edits_and_shadowed_user_agents(
    cli: Cli, project_dir: Path, source: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = "\n".join(f"Line {n}." for n in range(1, 8))
    source.write("agents/python-pro.md", agent_md("python-pro", "Python.", "Read", body=body))
    source.commit("v1.0.0")
    source.tag("v1.0.0")
    assert cli("init", cwd=project_dir).code == 0
    assert cli("source", "add", "team", source.url, "--version", "^1", cwd=project_dir).code == 0
    assert cli("install", "python-pro", "backend-developer@main", cwd=project_dir).code == 0
    user = tmp_path / "claude-config"
    (user / "agents").mkdir(parents=True)
    (user / "agents/python-pro.md").write_text(agent_md("python-pro", "My own.", "Read"))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(user))

    result = cli("status", cwd=project_dir)
    lines = result.out.splitlines()
    assert "follows main" in lines[0] and lines[0].startswith("ok"), result
    assert "follows ^1 (v1.0.0)" in lines[1], result
    assert lines[2] == f"  shadows the user agent {user}/agents/python-pro.md (this one is used)"
    rows = {
        row["agent"]: row
        for row in json.loads(cli("--json", "status", cwd=project_dir).out)["agents"]
    }
    assert rows["python-pro"]["follows"] == "^1" and rows["python-pro"]["resolved"] == "v1.0.0"
    assert rows["python-pro"]["shadows"] == str(user / "agents/python-pro.md")
    assert rows["backend-developer"]["shadows"] is None
    assert rows["backend-developer"]["follows"] == "main"

    # a local edit merged into a new upstream version is `merged`, not a plain `ok` copy
    edit(installed(project_dir, "python-pro"), "Line 2.", "Line 2, my way.")
    source.write(
        "agents/python-pro.md",
        agent_md("python-pro", "Python.", "Read", body=body.replace("Line 6.", "Line 6, new.")),
    )
    source.commit("v1.1.0")
    source.tag("v1.1.0")
    assert "merged" in cli("update", "python-pro", cwd=project_dir).out
    rows = {
        row["agent"]: row
        for row in json.loads(cli("--json", "status", cwd=project_dir).out)["agents"]
    }
    assert rows["python-pro"]["state"] == "merged" and rows["python-pro"]["resolved"] == "v1.1.0"
    assert cli("status", cwd=project_dir).code == 0  # merged edits are fine
