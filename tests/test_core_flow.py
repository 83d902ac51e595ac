"""End-to-end acceptance of the core flow: manifest -> cache -> lock -> installed agents."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.fixtures import Cli, GitRepo, MakeRepo, agent_md, edit, installed, read_lock

pytestmark = pytest.mark.slow  # end-to-end CLI scenarios over two sources

MANIFEST = """\
# Team manifest: comments must survive agentsync's edits.
[sources.alpha]   # the first collection
url = "{alpha}"

[sources.beta]
url = "{beta}"   # a local path works too

[agents]
# agents go below
"""


@pytest.fixture
def two_sources(make_repo: MakeRepo, project_dir: Path) -> tuple[GitRepo, GitRepo]:
    alpha = make_repo("alpha")
    alpha.write(
        "agents/backend-developer.md",
        agent_md(
            "backend-developer", "Alpha's backend engineer.", "[Read, Write, MultiEdit, Bash]"
        ),
    )
    alpha.write("agents/api-designer.md", agent_md("api-designer", "Designs APIs.", "Read, Grep"))
    alpha.write("README.md", "# not an agent\n")
    alpha.commit("alpha agents")
    beta = make_repo("beta")
    beta.write(
        "backend-developer.md",
        agent_md(
            "backend-developer",
            "Beta's backend developer.",
            "Read, Write, Edit, Bash, Run Terminal",
            extra="model: sonnet\ncolor: yellow\nloop: inner",
        ),
    )
    beta.write(
        "reviewer.md", "---\nname: reviewer\ndescription: Use when: code is ready\n---\nReview.\n"
    )
    beta.commit("beta agents")
    (project_dir / "agentsync.toml").write_text(MANIFEST.format(alpha=alpha.url, beta=beta.path))
    return alpha, beta


def test_ambiguous_name_lists_both_candidates(
    cli: Cli, two_sources: object, project_dir: Path
) -> None:
    result = cli("install", "backend-developer", cwd=project_dir)
    assert result.code == 1, result
    assert "alpha/backend-developer" in result.err
    assert "beta/backend-developer" in result.err
    assert "Alpha's backend engineer." in result.err
    assert "Beta's backend developer." in result.err
    assert not (project_dir / ".claude").exists()
    assert not (project_dir / "agentsync.lock").exists()


def test_install_from_named_source_writes_file_manifest_and_lock(
    cli: Cli, two_sources: tuple[GitRepo, GitRepo], project_dir: Path
) -> None:
    alpha, _beta = two_sources
    result = cli("install", "alpha/backend-developer", cwd=project_dir)
    assert result.code == 0, result
    target = installed(project_dir, "backend-developer")
    upstream = (alpha.path / "agents/backend-developer.md").read_bytes()
    assert target.read_bytes() == upstream
    manifest = (project_dir / "agentsync.toml").read_text()
    assert "# Team manifest: comments must survive agentsync's edits." in manifest
    assert "# the first collection" in manifest
    assert "# agents go below" in manifest
    assert 'backend-developer = "alpha"' in manifest
    lock = read_lock(project_dir)
    agent = lock["agents"]["backend-developer"]
    assert agent["commit"] == alpha.head()
    assert agent["blob"] == alpha.git("rev-parse", "HEAD:agents/backend-developer.md")
    import hashlib

    assert agent["sha256"] == hashlib.sha256(upstream).hexdigest()


def test_offline_restore_and_frozen_reproduction(
    cli: Cli,
    two_sources: object,
    project_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert cli("install", "alpha/backend-developer", "beta/reviewer", cwd=project_dir).code == 0
    target = installed(project_dir, "backend-developer")
    original = target.read_bytes()
    target.unlink()
    result = cli("--offline", "install", cwd=project_dir)
    assert result.code == 0, result
    assert target.read_bytes() == original
    assert "restored backend-developer" in result.out

    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("agentsync.toml", "agentsync.lock"):
        shutil.copy(project_dir / name, copy / name)
    # the manifest names beta by absolute path and alpha by URL, so the copy sees the same sources
    monkeypatch.setenv("AGENTSYNC_CACHE_DIR", str(tmp_path / "empty-cache"))
    result = cli("install", "--frozen", cwd=copy)
    assert result.code == 0, result
    for name in ("backend-developer", "reviewer"):
        assert installed(copy, name).read_bytes() == installed(project_dir, name).read_bytes()


def test_second_install_writes_nothing(cli: Cli, two_sources: object, project_dir: Path) -> None:
    assert cli("install", "alpha/backend-developer", cwd=project_dir).code == 0
    lock = project_dir / "agentsync.lock"
    target = installed(project_dir, "backend-developer")
    before = (lock.read_bytes(), lock.stat().st_mtime_ns, target.stat().st_mtime_ns)
    result = cli("install", cwd=project_dir)
    assert result.code == 0, result
    assert "up to date" in result.out
    assert (lock.read_bytes(), lock.stat().st_mtime_ns, target.stat().st_mtime_ns) == before


def test_outdated_update_and_local_edits(
    cli: Cli, two_sources: tuple[GitRepo, GitRepo], project_dir: Path
) -> None:
    alpha, _ = two_sources
    assert cli("install", "alpha/backend-developer", cwd=project_dir).code == 0
    assert cli("outdated", cwd=project_dir).code == 0
    alpha.write("agents/backend-developer.md", agent_md("backend-developer", "Alpha v2.", "Read"))
    new_commit = alpha.commit("v2")
    result = cli("outdated", cwd=project_dir)
    assert result.code == 1, result
    assert "backend-developer" in result.out
    result = cli("update", cwd=project_dir)
    assert result.code == 0, result
    assert new_commit[:7] in result.out
    target = installed(project_dir, "backend-developer")
    assert b"Alpha v2." in target.read_bytes()
    assert read_lock(project_dir)["agents"]["backend-developer"]["commit"] == new_commit

    # the local edit touches the line upstream changes next: a conflict, so the edit is kept
    edited = edit(target, "Alpha v2.", "Alpha v2. My local rule.")
    alpha.write("agents/backend-developer.md", agent_md("backend-developer", "Alpha v3.", "Read"))
    alpha.commit("v3")
    result = cli("update", cwd=project_dir)
    assert result.code == 1, result
    assert "local edits" in result.err
    assert target.read_bytes() == edited
    assert read_lock(project_dir)["agents"]["backend-developer"]["commit"] == new_commit
    result = cli("update", "--force", cwd=project_dir)
    assert result.code == 0, result
    assert b"Alpha v3." in target.read_bytes()
    assert b"My local rule." not in target.read_bytes()


def test_hand_written_agent_is_never_touched(
    cli: Cli, two_sources: object, project_dir: Path
) -> None:
    folder = project_dir / ".claude" / "agents"
    folder.mkdir(parents=True)
    mine = folder / "sub" / "my-backend.md"
    mine.parent.mkdir()
    mine.write_text(agent_md("backend-developer", "My own one."))
    other = folder / "notes.md"
    other.write_text(agent_md("notes", "Hand-written notes agent."))
    snapshot = {p: p.read_bytes() for p in (mine, other)}
    manifest_before = (project_dir / "agentsync.toml").read_bytes()
    result = cli("install", "alpha/backend-developer", cwd=project_dir)
    assert result.code == 1, result
    assert "already uses the name 'backend-developer'" in result.err
    assert str(mine) in result.err
    assert not installed(project_dir, "backend-developer").exists()
    # an unmanaged file sitting exactly where an agent would go is not overwritten either
    squatter = folder / "api-designer.md"
    squatter.write_text("---\nname: my-api\ndescription: mine\n---\nmine\n")
    snapshot[squatter] = squatter.read_bytes()
    result = cli("install", "alpha/api-designer", cwd=project_dir)
    assert result.code == 1, result
    assert "was not installed by agentsync" in result.err
    for command in (["install"], ["install", "--force"], ["update"], ["status"]):
        cli(*command, cwd=project_dir)
    # the refused installs changed nothing, not even the manifest
    assert (project_dir / "agentsync.toml").read_bytes() == manifest_before
    assert cli("install", "beta/reviewer", cwd=project_dir).code == 0
    assert {p: p.read_bytes() for p in snapshot} == snapshot
    status = cli("status", cwd=project_dir)
    assert "unmanaged" in status.out


def test_glob_install_records_include_and_rename(
    cli: Cli, two_sources: object, project_dir: Path
) -> None:
    result = cli("install", "alpha/*", cwd=project_dir)
    assert result.code == 0, result
    manifest = (project_dir / "agentsync.toml").read_text()
    assert 'include = ["*"]' in manifest
    assert installed(project_dir, "api-designer").exists()
    assert installed(project_dir, "backend-developer").exists()
    with (project_dir / "agentsync.toml").open("a") as handle:
        handle.write('api = { source = "alpha", agent = "api-designer" }\n')
    result = cli("install", cwd=project_dir)
    assert result.code == 0, result
    renamed = installed(project_dir, "api").read_text()
    assert renamed.startswith("---\nname: api\n")
    body = installed(project_dir, "api-designer").read_text().split("---", 2)[2]
    assert renamed.split("---", 2)[2] == body
    agent = read_lock(project_dir)["agents"]["api"]
    assert agent["upstream-name"] == "api-designer"
    assert agent["sha256"] != read_lock(project_dir)["agents"]["api-designer"]["sha256"]


def test_installing_a_listed_agent_again_is_a_no_op(
    cli: Cli, two_sources: object, project_dir: Path
) -> None:
    assert cli("install", "alpha/backend-developer", cwd=project_dir).code == 0
    manifest = (project_dir / "agentsync.toml").read_bytes()
    result = cli("install", "backend-developer", cwd=project_dir)  # two sources offer it
    assert result.code == 0, result
    assert "up to date" in result.out
    assert (project_dir / "agentsync.toml").read_bytes() == manifest


def test_ambiguity_lists_each_candidate_path(
    cli: Cli, two_sources: object, project_dir: Path
) -> None:
    result = cli("install", "backend-developer", cwd=project_dir)
    assert "(agents/backend-developer.md)" in result.err
    assert "(backend-developer.md)" in result.err


def test_no_temp_file_is_ever_created_in_the_target_folder(
    cli: Cli, two_sources: object, project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    from agentsync import _fs

    folders: list[str] = []
    real = tempfile.mkstemp
    real_batch = _fs._new_temp

    def spy(*args: object, **kwargs: object) -> tuple[int, str]:
        folders.append(str(kwargs.get("dir")))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    def spy_batch(name: str, *, dir_fd: int) -> tuple[str, int]:
        folders.append(str(Path(f"/proc/self/fd/{dir_fd}").readlink()))  # its folder
        return real_batch(name, dir_fd=dir_fd)

    monkeypatch.setattr(tempfile, "mkstemp", spy)
    monkeypatch.setattr(_fs, "_new_temp", spy_batch)
    assert cli("install", "alpha/backend-developer", "beta/reviewer", cwd=project_dir).code == 0
    target = str(project_dir / ".claude" / "agents")
    assert folders, "atomic writes go through mkstemp or _new_temp"
    assert target not in folders
    assert str(project_dir / ".agentsync" / "tmp") in folders
