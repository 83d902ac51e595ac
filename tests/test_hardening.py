"""Hostile input through the CLI: crafted URLs, refs, names and paths, hostile source repos.

Every case asserts the exit code, a clear message, that nothing was written (no lock, no
target folder, manifest unchanged, nothing outside the target folder) and, for the
command-injection cases, that the marker file a payload would create never appears.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures import (
    TARGET,
    Cli,
    GitRepo,
    MakeRepo,
    agent_md,
    cache_dir,
    installed,
    loose_object,
    only_mirror,
    read_lock,
    run_bounded,
    run_git,
    tree_bomb,
    write_manifest,
)


def tree_snapshot(root: Path, *, skip: tuple[Path, ...] = ()) -> dict[str, bytes]:
    """Every file below `root` (links as their target text), except under `skip`."""
    found: dict[str, bytes] = {}
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = [d for d in dirs if here / d not in skip]
        for name in files:
            path = here / name
            found[str(path.relative_to(root))] = (
                path.readlink().as_posix().encode() if path.is_symlink() else path.read_bytes()
            )
    return found


def assert_untouched(project: Path, manifest_before: bytes) -> None:
    assert (project / "agentsync.toml").read_bytes() == manifest_before
    assert not (project / "agentsync.lock").exists()
    assert not (project / ".claude").exists()


# -- command injection through the manifest and the command line ------------------------------

MARKER = "pwned"

HOSTILE_MANIFESTS = {
    "ext-helper": 'url = "ext::sh -c touch% pwned"',
    "ext-helper-absolute": 'url = "ext::sh -c touch% {marker}"',
    "ext-helper-uppercase": 'url = "EXT::sh -c touch% pwned"',
    "fd-helper": 'url = "fd::3"',
    "upload-pack-url": 'url = "--upload-pack=touch pwned"',
    "upload-pack-url-abs": 'url = "--upload-pack=touch {marker}"',
    "scp-like-option": 'url = "-oProxyCommand=touch pwned:x"',
    "ssh-host-option": 'url = "ssh://-oProxyCommand=touch%20pwned/x"',
    "ssh-user-option": 'url = "ssh://-oProxyCommand=touch%20pwned@example.invalid/x"',
    "newline-in-url": 'url = "file:///tmp/x\\n--upload-pack=touch pwned"',
    "unknown-scheme": 'url = "gopher://example.invalid/x"',
    "upload-pack-ref": 'url = "{good}"\nref = "--upload-pack=touch pwned"',
    "upload-pack-path": 'url = "{good}"\npath = "--upload-pack=touch pwned"',
    "space-ref": 'url = "{good}"\nref = "main --upload-pack=touch pwned"',
}


@pytest.fixture
def good_source(make_repo: MakeRepo) -> GitRepo:
    repo = make_repo("good")
    repo.write("agents/helper.md", agent_md("helper", "Helps."))
    repo.commit("helper")
    return repo


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(HOSTILE_MANIFESTS))
def test_hostile_source_entries_are_refused_and_nothing_runs(
    cli: Cli, project_dir: Path, tmp_path: Path, good_source: GitRepo, case: str
) -> None:
    marker = tmp_path / MARKER
    body = HOSTILE_MANIFESTS[case].format(marker=marker, good=good_source.url)
    manifest = f'[sources.evil]\n{body}\n\n[agents]\nhelper = "evil"\n'
    (project_dir / "agentsync.toml").write_text(manifest)
    before = (project_dir / "agentsync.toml").read_bytes()
    for command in (["install"], ["update"]):
        result = cli(*command, cwd=project_dir)
        assert result.code == 2, (command, result)
        assert result.err.startswith("error: agentsync.toml:"), result
        assert "Traceback" not in result.err
    assert_untouched(project_dir, before)
    for place in (project_dir, tmp_path, Path.cwd()):
        assert not (place / MARKER).exists(), place


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ["install", "--", "--upload-pack=touch pwned"],
        ["install", "evil/helper@--upload-pack=touch pwned"],
        ["install", "-oProxyCommand=touch pwned"],
        ["source", "add", "x", "--", "--upload-pack=touch pwned"],
        ["source", "add", "x", "ext::sh -c touch% pwned"],
        ["source", "add", "x", "fd::0"],
        ["source", "add", "x", "{good}", "--ref=--upload-pack=touch pwned"],
        ["source", "add", "x", "{good}", "--path=../../outside"],
        ["source", "add", "../../x", "{good}"],
        ["source", "add", "-x", "{good}"],
    ],
)
def test_hostile_command_line_arguments_are_refused(
    cli: Cli, project_dir: Path, tmp_path: Path, good_source: GitRepo, args: list[str]
) -> None:
    manifest = f'[sources.evil]\nurl = "{good_source.url}"\n\n[agents]\n'
    (project_dir / "agentsync.toml").write_text(manifest)
    before = (project_dir / "agentsync.toml").read_bytes()
    result = cli(*(a.format(good=good_source.url) for a in args), cwd=project_dir)
    assert result.code == 2, result
    assert "error" in result.err.lower()
    assert "Traceback" not in result.err
    assert_untouched(project_dir, before)
    assert not (project_dir / MARKER).exists()
    assert not (tmp_path / MARKER).exists()


# -- path traversal ---------------------------------------------------------------------------


@pytest.fixture
def traversal_source(make_repo: MakeRepo, tmp_path: Path) -> GitRepo:
    repo = make_repo("traversal")
    repo.write("agents/good.md", agent_md("good", "A fine agent."))
    repo.write("agents/up.md", agent_md("../../escape", "Climbs out."))
    repo.write("agents/abs.md", agent_md(str(tmp_path / "absolute"), "Absolute name."))
    repo.write("agents/dotdot.md", agent_md("..", "Just dots."))
    repo.write("agents/sub.md", agent_md("sub/inner", "Nested name."))
    repo.write("agents/dash.md", agent_md("-rf", "Option-like name."))
    repo.commit("agents with hostile names")
    return repo


@pytest.mark.slow
def test_hostile_frontmatter_names_never_become_paths(
    cli: Cli, project_dir: Path, tmp_path: Path, traversal_source: GitRepo
) -> None:
    write_manifest(project_dir, traversal_source.url, None, source="t", extra='include = ["*"]\n')
    target = project_dir / TARGET
    cache = cache_dir()
    outside_before = tree_snapshot(tmp_path, skip=(target, cache, project_dir / ".agentsync"))
    result = cli("install", "--force", cwd=project_dir)
    assert result.code == 0, result
    assert sorted(p.name for p in target.rglob("*")) == ["good.md"]
    for hostile in ("agents/up.md", "agents/abs.md", "agents/dotdot.md", "agents/sub.md"):
        assert f"skipped {hostile}" in result.err, result.err
    assert "cannot be a file name" in result.err
    outside_after = tree_snapshot(tmp_path, skip=(target, cache, project_dir / ".agentsync"))
    changed = set(outside_after.keys() | outside_before.keys()) - {
        k for k in outside_before if outside_after.get(k) == outside_before[k]
    }
    assert changed == {"project/agentsync.lock"}, changed
    assert not (tmp_path / "escape.md").exists()
    assert not (tmp_path / "absolute.md").exists()
    # the lock stays loadable: a second run is a clean no-op
    again = cli("install", cwd=project_dir)
    assert again.code == 0, again
    assert "up to date" in again.out


@pytest.mark.slow
def test_hostile_name_is_installable_only_under_a_safe_key(
    cli: Cli, project_dir: Path, tmp_path: Path, traversal_source: GitRepo
) -> None:
    (project_dir / "agentsync.toml").write_text(
        f'[sources.t]\nurl = "{traversal_source.url}"\n\n'
        '[agents]\ntamed = { source = "t", agent = "../../escape" }\n'
    )
    result = cli("install", cwd=project_dir)
    assert result.code == 0, result
    tamed = installed(project_dir, "tamed")
    assert tamed.read_text().startswith("---\nname: tamed\n")
    assert not (tmp_path / "escape.md").exists()
    refused = cli("install", "t/../../escape", cwd=project_dir)
    assert refused.code == 2, refused


TRAVERSAL_MANIFESTS = {
    "agent-key-dotdot": '[agents]\n"../../x" = "t"\n',
    "agent-key-absolute": '[agents]\n"/tmp/x" = "t"\n',
    "agent-key-dash": '[agents]\n"-x" = "t"\n',
    "file-dotdot": '[agents]\nx = { source = "t", file = "../outside.md" }\n',
    "file-absolute": '[agents]\nx = { source = "t", file = "/etc/passwd" }\n',
    "target-dotdot": '[settings]\ntarget = "../outside"\n[agents]\nx = "t"\n',
    "target-absolute": '[settings]\ntarget = "{tmp}/outside"\n[agents]\nx = "t"\n',
    "target-deep-dotdot": '[settings]\ntarget = ".claude/../../outside"\n[agents]\nx = "t"\n',
}
TRAVERSAL_SOURCE_KEYS = {
    "path-dotdot": 'path = "../.."',
    "path-absolute": 'path = "/etc"',
    "path-windows": 'path = "C:/Windows"',
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(TRAVERSAL_MANIFESTS) + sorted(TRAVERSAL_SOURCE_KEYS))
def test_paths_leaving_the_project_or_repo_are_refused(
    cli: Cli, project_dir: Path, tmp_path: Path, traversal_source: GitRepo, case: str
) -> None:
    extra_source = TRAVERSAL_SOURCE_KEYS.get(case, "")
    tail = TRAVERSAL_MANIFESTS.get(case, '[agents]\ngood = "t"\n').replace("{tmp}", str(tmp_path))
    text = f'[sources.t]\nurl = "{traversal_source.url}"\n{extra_source}\n\n{tail}'
    (project_dir / "agentsync.toml").write_text(text)
    before = (project_dir / "agentsync.toml").read_bytes()
    result = cli("install", cwd=project_dir)
    assert result.code == 2, result
    assert result.err.startswith("error: agentsync.toml"), result
    assert_untouched(project_dir, before)
    assert not (tmp_path / "outside").exists()
    assert not (tmp_path / "x.md").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("[agents.good]", '[agents."../../escape"]'),
        ('path = "agents/good.md"', 'path = "../../../etc/passwd"'),
        ('path = "agents/good.md"', 'path = "/etc/passwd"'),
        ("[sources.t]", '[sources."../t"]'),
    ],
)
def test_hand_edited_lock_with_traversal_is_refused(
    cli: Cli, project_dir: Path, tmp_path: Path, traversal_source: GitRepo, old: str, new: str
) -> None:
    write_manifest(project_dir, traversal_source.url, 'good = "t"\n', source="t")
    assert cli("install", cwd=project_dir).code == 0
    lock = project_dir / "agentsync.lock"
    text = lock.read_text()
    assert old in text
    lock.write_text(text.replace(old, new))
    installed(project_dir, "good").unlink()
    edited = lock.read_bytes()
    result = cli("install", cwd=project_dir)
    assert result.code == 2, result
    assert "agentsync.lock" in result.err
    assert lock.read_bytes() == edited
    assert list((project_dir / TARGET).iterdir()) == []
    assert not (tmp_path / "escape.md").exists()


def test_layout_refuses_unsafe_names_as_a_last_line_of_defence(tmp_path: Path) -> None:
    from agentsync.errors import ResolveError
    from agentsync.installer import Layout

    layout = Layout(tmp_path / "agents", tmp_path / "agentsync.lock", tmp_path / ".agentsync")
    assert layout.agent_path("ok-name") == tmp_path / "agents" / "ok-name.md"
    for name in ("../../x", "/etc/x", "..", "a/b", "-x", ""):
        with pytest.raises(ResolveError, match="is not a safe agent file name") as caught:
            layout.agent_path(name)
        assert caught.value.subject == name


@pytest.mark.slow
def test_a_planted_symlink_in_the_target_is_never_written_through(
    cli: Cli, project_dir: Path, tmp_path: Path, traversal_source: GitRepo
) -> None:
    """A cloned project may carry `.claude/agents/good.md -> ~/.bashrc`: never write through it.
    agentsync did not install it, so even --force leaves it alone; once the name is managed,
    a symlink planted there later is replaced by --force, never followed."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    target = project_dir / TARGET
    target.mkdir(parents=True)
    (target / "good.md").symlink_to(victim)
    write_manifest(project_dir, traversal_source.url, 'good = "t"\n', source="t")
    for args in (["install"], ["install", "--force"]):
        refused = cli(*args, cwd=project_dir)
        assert refused.code == 1, refused
        assert "was not installed by agentsync" in refused.err
        assert victim.read_text() == "precious\n"
        assert (target / "good.md").is_symlink()
    (target / "good.md").unlink()
    assert cli("install", cwd=project_dir).code == 0
    (target / "good.md").unlink()
    (target / "good.md").symlink_to(victim)
    kept = cli("install", cwd=project_dir)
    assert kept.code == 0 and "local edits" in kept.err, kept
    forced = cli("install", "--force", cwd=project_dir)
    assert forced.code == 0, forced
    assert victim.read_text() == "precious\n"
    assert not (target / "good.md").is_symlink()
    assert b"A fine agent." in (target / "good.md").read_bytes()


# -- hostile source repositories: symlinks, submodules, big files, bad bytes ------------------


@pytest.fixture
def odd_source(make_repo: MakeRepo) -> GitRepo:
    repo = make_repo("odd")
    repo.write("agents/good.md", agent_md("good", "A fine agent."))
    repo.write("agents/big.md", agent_md("big", "Huge.", body="x" * (1024 * 1024 + 1)))
    repo.write("agents/latin1.md", b"---\nname: latin\ndescription: caf\xe9\n---\nBody \xff.\n")
    repo.write(b"agents/bad-\xff-path.md".decode("utf-8", "surrogateescape"), agent_md("badpath"))
    (repo.path / "agents" / "passwd.md").symlink_to("/etc/passwd")
    (repo.path / "agents" / "alias.md").symlink_to("good.md")
    repo.git("add", "-A")
    # a submodule entry (gitlink) named like an agent file
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{'1' * 40},agents/module.md")
    repo.git("commit", "-q", "-m", "odd files")  # not repo.commit(): `add -A` would drop it
    return repo


@pytest.mark.slow
def test_symlinks_submodules_big_files_and_bad_paths_are_skipped_with_a_message(
    cli: Cli, project_dir: Path, odd_source: GitRepo
) -> None:
    write_manifest(project_dir, odd_source.url, None, source="odd", extra='include = ["*"]\n')
    result = cli("install", cwd=project_dir)
    assert result.code == 0, result
    names = sorted(p.name for p in (project_dir / TARGET).iterdir())
    assert names == ["good.md", "latin.md"]
    assert "skipped agents/passwd.md: symlinks are not installed" in result.err
    assert "skipped agents/alias.md: symlinks are not installed" in result.err
    assert "skipped agents/module.md: submodules are not installed" in result.err
    assert "skipped agents/big.md: larger than 1 MiB" in result.err
    assert "the path is not valid UTF-8" in result.err
    # non-UTF-8 content is installed byte for byte (Claude Code reads it with U+FFFD)
    latin = installed(project_dir, "latin").read_bytes()
    assert latin == (odd_source.path / "agents" / "latin1.md").read_bytes()
    assert sorted(read_lock(project_dir)["agents"]) == ["good", "latin"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('x = { source = "odd", file = "agents/passwd.md" }', "no agent file agents/passwd.md"),
        ('x = { source = "odd", file = "agents/module.md" }', "no agent file agents/module.md"),
        ('big = "odd"', "no agent named 'big'"),
    ],
)
def test_refused_files_cannot_be_named_explicitly(
    cli: Cli, project_dir: Path, odd_source: GitRepo, entry: str, message: str
) -> None:
    write_manifest(project_dir, odd_source.url, f"{entry}\n", source="odd")
    before = (project_dir / "agentsync.toml").read_bytes()
    result = cli("install", cwd=project_dir)
    assert result.code == 1, result
    assert message in result.err
    assert_untouched(project_dir, before)


# -- a local source's git config must not run anything ----------------------------------------


def _same_size_edit(path: Path) -> None:
    """Change a file without changing its size, then move its mtime on: `git status` must
    hash it (through the configured filters) to tell."""
    data = path.read_bytes()
    path.write_bytes(data.replace(b"agent.", b"agenT."))
    stamp = path.stat().st_mtime + 5
    os.utime(path, (stamp, stamp))


def filtering_source(make_repo: MakeRepo, marker: Path, vector: str) -> GitRepo:
    """A local source with a checked-out submodule, one of whose configs defines a filter
    (clean or long-running process) that `touch`es `marker`; every agent file, the
    submodule's too, has an uncommitted edit."""
    sub = make_repo("filtering-sub")
    sub.write(".gitattributes", "*.md filter=evil\n")
    sub.write("agents/inner.md", agent_md("inner", "Inside the submodule."))
    sub.commit("sub")
    repo = make_repo("filtering")
    repo.write(".gitattributes", "*.md filter=evil\n")
    repo.write("agents/helper.md", agent_md("helper", "Helps."))
    repo.commit("agents")
    repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", sub.url, "vendor/sub")
    repo.commit("submodule")
    where = repo.path / "vendor" / "sub" if vector == "submodule" else repo.path
    kind = "process" if vector == "process" else "clean"
    run_git(where, "config", f"filter.evil.{kind}", f"touch {marker}; cat")
    for path in ("agents/helper.md", "vendor/sub/agents/inner.md"):
        _same_size_edit(repo.path / path)
    return repo


@pytest.mark.slow
@pytest.mark.parametrize("vector", ["clean", "process", "submodule"])
def test_a_local_sources_filters_never_run(
    cli: Cli, make_repo: MakeRepo, project_dir: Path, tmp_path: Path, vector: str
) -> None:
    marker = tmp_path / MARKER
    source = filtering_source(make_repo, marker, vector)
    write_manifest(project_dir, str(source.path), 'helper = "local"\n', source="local")
    for command in (["install"], ["update"]):
        result = cli(*command, cwd=project_dir)
        assert result.code == 0, (command, result)
        assert not marker.exists(), command
        assert "has uncommitted changes" in result.err, (command, result)
    # the committed version, not the work tree's
    assert b"agenT." not in installed(project_dir, "helper").read_bytes()


# -- a tree bomb beside the source's path -------------------------------------------------------


@pytest.mark.slow
def test_a_tree_bomb_is_bounded_in_time_and_memory(make_repo: MakeRepo, project_dir: Path) -> None:
    repo = make_repo("treebomb")
    tree_bomb(repo)
    limit = 1024**3  # 1 GiB of address space: listing 10**7 paths would need several

    def install(manifest: str) -> tuple[subprocess.CompletedProcess[str], float]:
        (project_dir / "agentsync.toml").write_text(manifest)
        (project_dir / "agentsync.lock").unlink(missing_ok=True)
        return run_bounded(project_dir, "--timeout", "20", "install", memory=limit)

    source = f'[sources.b]\nurl = "{repo.url}"\n'
    done, elapsed = install(source + 'path = "agents"\n\n[agents]\nhelper = "b"\n')
    assert done.returncode == 0, done.stderr
    assert elapsed < 10, elapsed
    assert installed(project_dir, "helper").exists()
    done, elapsed = install(source + '\n[agents]\nhelper = "b"\n')
    assert done.returncode == 1, done
    assert elapsed < 15, elapsed
    assert "Traceback" not in done.stderr
    assert "source b: gave up listing the files of commit" in done.stderr
    assert "100,000 entries" in done.stderr
    assert "hint: set `path` for this source in agentsync.toml" in done.stderr


# -- output that cannot be written ----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_output_that_cannot_be_written_is_one_clear_error(
    cli: Cli, project_dir: Path, good_source: GitRepo
) -> None:
    write_manifest(project_dir, good_source.url, 'helper = "good"\n', source="good")
    assert cli("install", cwd=project_dir).code == 0
    cases = (["status"], ["--json", "status"], ["-v", "outdated"], ["show", "helper"])
    for args in (*cases, ["--help"], ["status", "--help"]):
        with Path("/dev/full").open("w") as full:
            done = subprocess.run(
                [sys.executable, "-m", "agentsync", *args],
                cwd=project_dir,
                stdout=full,
                stderr=subprocess.PIPE,
                text=True,
                timeout=60,
                check=False,
            )
        assert done.returncode == 1, (args, done.stderr)
        assert done.stderr == (
            "error: stdout: could not write the output: No space left on device\n"
            "hint: free some space where the output goes, or send it elsewhere\n"
        ), (args, done.stderr)


# -- the git layer fails clearly: no git, odd paths, garbage objects ----------------------------


@pytest.mark.slow
def test_git_missing_from_path_is_one_clear_error(
    cli: Cli, project_dir: Path, tmp_path: Path, good_source: GitRepo
) -> None:
    write_manifest(project_dir, good_source.url, 'helper = "good"\n', source="good")
    assert cli("install", cwd=project_dir).code == 0  # a warm cache
    installed(project_dir, "helper").write_text(agent_md("helper", "Edited."))
    empty_bin = tmp_path / "no-git-here"
    empty_bin.mkdir()
    env = {**os.environ, "PATH": str(empty_bin)}
    for args in (
        ["install"],
        ["install", "--frozen"],
        ["show", "helper"],
        ["diff", "helper"],
        ["--offline", "search"],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "agentsync", *args],
            cwd=project_dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 1, (args, done)
        assert done.stderr == (
            "error: git was not found on PATH\nhint: install git (2.30 or newer) and run again\n"
        ), (args, done.stderr)


@pytest.mark.slow
def test_a_path_with_a_newline_is_skipped_and_blocks_nothing(
    cli: Cli, project_dir: Path, make_repo: MakeRepo
) -> None:
    repo = make_repo("newline")
    repo.write("agents/good.md", agent_md("good", "Fine."))
    repo.write("agents/bad\nname.md", agent_md("badname", "A newline in its path."))
    repo.write("agents/tab\there.md", agent_md("tabbed", "A tab in its path."))
    repo.commit("odd paths")
    write_manifest(project_dir, repo.url, None, source="n", extra='include = ["*"]\n')
    result = cli("install", cwd=project_dir)
    assert result.code == 0, result
    assert "skipped agents/bad\\nname.md: the path holds a control character" in result.err
    assert "skipped agents/tab\there.md" in result.err  # a tab is harmless: shown as is
    assert [p.name for p in (project_dir / TARGET).iterdir()] == ["good.md"]
    assert "badname" not in (project_dir / "agentsync.lock").read_text()
    for command in (["search"], ["show", "good"]):
        result = cli(*command, cwd=project_dir)
        assert result.code == 0, (command, result)
        assert "Traceback" not in result.err
    explicit = cli("install", "n/badname", cwd=project_dir)
    assert explicit.code == 1, explicit
    assert "no agent named 'badname' in source n" in explicit.err
    assert "Traceback" not in explicit.err


GARBAGE = {
    "blob-bad-size": ("HEAD:agents/helper.md", zlib.compress(b"blob 12x\0garbage")),
    "blob-not-zlib": ("HEAD:agents/helper.md", b"not zlib at all"),
    "tree-garbage": ("HEAD:agents", zlib.compress(b"tree 7\0garbage")),
    "tree-truncated": ("HEAD:agents", zlib.compress(b"tree 12\0100644 a.md\0\1\2")),
    "root-not-zlib": ("HEAD^{tree}", b"\x78\x9cnot a tree"),
    "tree-deleted": ("HEAD:agents", None),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(GARBAGE))
def test_a_garbage_object_in_the_cache_is_a_damaged_cache(
    cli: Cli, project_dir: Path, good_source: GitRepo, case: str
) -> None:
    write_manifest(project_dir, good_source.url, 'helper = "good"\n', source="good")
    assert cli("install", cwd=project_dir).code == 0
    name, garbage = GARBAGE[case]
    loose = loose_object(only_mirror(), good_source.git("rev-parse", name))
    if garbage is None:
        loose.unlink()
    else:
        loose.write_bytes(garbage)
    installed(project_dir, "helper").unlink()
    lock = (project_dir / "agentsync.lock").read_bytes()
    (project_dir / "agentsync.lock").unlink()
    fresh = cli("--offline", "install", cwd=project_dir)  # lists the files again
    (project_dir / "agentsync.lock").write_bytes(lock)
    for result in (
        fresh,
        cli("install", "--frozen", cwd=project_dir),
        cli("show", "helper", cwd=project_dir),
    ):
        assert result.code == 1, result
        assert "Traceback" not in result.err
        assert "--refresh" in result.err, result
        assert "delete it" not in result.err, result
    assert not installed(project_dir, "helper").exists()
    repaired = cli("install", "--refresh", cwd=project_dir)
    assert repaired.code == 0, repaired
    assert installed(project_dir, "helper").exists()


# -- YAML bombs and deep nesting: bounded time and memory -------------------------------------


def _alias_bomb() -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 12):  # 9**12 strings if expanded
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 9)}]")
    return "\n".join(lines) + "\ntools: *a11"


@pytest.mark.slow
def test_yaml_bombs_and_deep_nesting_stay_bounded(
    make_repo: MakeRepo, project_dir: Path, tmp_path: Path
) -> None:
    repo = make_repo("bombs")
    repo.write("agents/bomb.md", agent_md("bomb", "Boom.", extra=_alias_bomb()))
    repo.write(
        "agents/deep.md", agent_md("deep", "Deep.", extra="x: " + "[" * 50_000 + "]" * 50_000)
    )
    repo.write(
        "agents/deepmap.md",
        agent_md("deepmap", "Deep.", extra="y: " + "{a: " * 5000 + "1" + "}" * 5000),
    )
    repo.write("agents/fine.md", agent_md("fine", "Fine."))
    repo.commit("bombs")
    write_manifest(project_dir, repo.url, None, source="b", extra='include = ["*"]\n')
    limit = 2 * 1024**3  # 2 GiB of address space: an expanded bomb would need far more

    reasons = {
        "bomb": "the frontmatter expands too many aliases",
        "deep": "the frontmatter nests too deeply",
        "deepmap": "the frontmatter nests too deeply",
    }
    runs = {}
    for args, code in ((("install",), 1), (("install", "--force"), 0), (("check",), 1)):
        done, elapsed = run_bounded(project_dir, *args, memory=limit)
        assert elapsed < 10, (args, elapsed)
        assert "Traceback" not in done.stderr, (args, done.stderr)
        assert done.returncode == code, (args, done)
        runs[args] = done
    # without --force the dropped files were refused; with it they are installed verbatim
    assert "Claude Code would not load b/" in runs[("install",)].stderr
    names = sorted(p.name for p in (project_dir / TARGET).iterdir())
    assert names == ["bomb.md", "deep.md", "deepmap.md", "fine.md"]
    # each bounded by the parser itself, and reported as the file Claude Code drops
    checked = runs[("check",)].stdout
    for name, reason in reasons.items():
        assert f"{name}.md:2: error AS006" in runs[("install", "--force")].stderr
        assert f".claude/agents/{name}.md:2: error AS006" in checked and reason in checked
    assert "1 load, 3 error(s)" in checked


# -- malformed TOML ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "text",
    [
        "[sources.a\nurl = 'x'\n",
        '[sources.a]\nurl = "unterminated\n',
        "[agents]\nx = \n",
        "\x00\x01\x02",
        '[sources.a]\nurl = "x"\n[sources.a]\nurl = "y"\n',
        "a = 1\n" * 3,
    ],
)
def test_malformed_manifest_is_exit_2_and_writes_nothing(
    cli: Cli, project_dir: Path, text: str
) -> None:
    (project_dir / "agentsync.toml").write_text(text)
    before = (project_dir / "agentsync.toml").read_bytes()
    for command in (["install"], ["status"], ["install", "x"], ["source", "add", "b", "../b"]):
        result = cli(*command, cwd=project_dir)
        assert result.code == 2, (command, result)
        assert "agentsync.toml" in result.err
        assert "Traceback" not in result.err
    assert_untouched(project_dir, before)


def test_non_utf8_manifest_is_exit_2(cli: Cli, project_dir: Path) -> None:
    (project_dir / "agentsync.toml").write_bytes(b'[sources.a]\nurl = "caf\xe9"\n')
    result = cli("install", cwd=project_dir)
    assert result.code == 2, result
    assert "agentsync.toml" in result.err


@pytest.mark.slow
@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t.replace("version = 1", "version = [1"),
        lambda t: t + "\n[[[broken\n",
        lambda t: t.replace('sha256 = "', 'sha256 = "zz'),
        lambda t: t.replace("version = 1", "version = 99"),
        lambda t: "\x00" + t,
    ],
)
def test_malformed_lock_is_exit_2_and_writes_nothing(
    cli: Cli, project_dir: Path, good_source: GitRepo, mutate: Callable[[str], str]
) -> None:
    write_manifest(project_dir, good_source.url, 'helper = "g"\n', source="g")
    assert cli("install", cwd=project_dir).code == 0
    lock = project_dir / "agentsync.lock"
    lock.write_text(mutate(lock.read_text()))
    agent = installed(project_dir, "helper")
    agent.unlink()
    broken = lock.read_bytes()
    for command in (["install"], ["install", "--frozen"], ["update"], ["status"], ["outdated"]):
        result = cli(*command, cwd=project_dir)
        assert result.code == 2, (command, result)
        assert "agentsync.lock" in result.err
        assert "hint:" in result.err
    assert lock.read_bytes() == broken
    assert not agent.exists()


# -- what an agent may do beyond its prompt is flagged at install -----------------------------


@pytest.mark.slow
def test_hooks_mcp_servers_and_bypass_permissions_are_flagged_at_install(
    cli: Cli, make_repo: MakeRepo, project_dir: Path
) -> None:
    repo = make_repo("risky")
    extra = (
        "permissionMode: bypassPermissions\n"
        "mcpServers:\n  - github\n"
        "hooks:\n  PreToolUse:\n    - matcher: Bash\n      hooks:\n"
        "        - type: command\n          command: echo hi"
    )
    repo.write("agents/risky.md", agent_md("risky", "Does risky things.", extra=extra))
    repo.write("agents/plain.md", agent_md("plain", "Does plain things."))
    repo.commit("agents")
    write_manifest(project_dir, repo.url, source="r")
    result = cli("install", "r/risky", "r/plain", cwd=project_dir)
    assert result.code == 0, result
    for code in ("AS203", "AS204", "AS205"):
        assert "risky.md:" in result.err and code in result.err, result.err
    assert "plain.md" not in result.err


@pytest.mark.slow
def test_nesting_just_under_the_limit_installs_without_a_traceback(
    cli: Cli, make_repo: MakeRepo, project_dir: Path
) -> None:
    repo = make_repo("deep")
    deep = "[" * 990 + "]" * 990
    repo.write("agents/deep.md", agent_md("deep", "Use when: x", extra=f"k: {deep}"))
    repo.write("agents/flow.md", f"---\n{{name: flow, description: d, k: {deep}}}\n---\nbody\n")
    repo.commit("deep")
    write_manifest(project_dir, repo.url, 'other = { source = "d", agent = "flow" }\n', source="d")
    done = cli("install", cwd=project_dir)  # renaming means rewriting the flow mapping
    assert done.code == 1, done
    assert done.err == (
        "error: other: cannot rename the agent flow to other: its name sits in a frontmatter "
        "nested 991 levels deep, too deep to rewrite\nhint: install it under its own name, flow\n"
    )
    write_manifest(project_dir, repo.url, None, source="d")
    for args in (("install", "--fix", "deep", "flow"), ("show", "deep"), ("status",)):
        done = cli(*args, cwd=project_dir)
        assert done.code == 0, (args, done)
    assert (
        installed(project_dir, "deep").read_bytes() == (repo.path / "agents/deep.md").read_bytes()
    )  # left as it is: too deep for --fix to rewrite, and it loads


def test_a_committed_odd_file_name_is_no_uncommitted_change(
    cli: Cli, make_repo: MakeRepo, project_dir: Path
) -> None:
    """Discovery skips a file whose name holds a control character; the check for
    uncommitted changes must skip it too, not report a clean work tree as changed."""
    repo = make_repo("odd-names")
    repo.write("agents/plain.md", agent_md("plain", "Plain."))
    repo.write("agents/e\x1bx.md", agent_md("escaped", "Odd name."))
    repo.commit("odd name")
    (project_dir / "agentsync.toml").write_text(
        f'[sources.local]\nurl = "{repo.path}"\n\n[agents]\nplain = "local"\n'
    )
    result = cli("install", cwd=project_dir)
    assert result.code == 0, result
    assert "uncommitted" not in result.err, result
