"""The promises agentsync is used for, held against the ways they were found broken:
--force never touches a file agentsync did not install, a killed merge never loses a local
edit, `install --frozen` is exactly the lock, and conflict markers never pass as healthy.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agentsync.ids import sha256
from tests.fixtures import (
    TARGET,
    Cli,
    GitRepo,
    MakeRepo,
    agent_md,
    agents_repo,
    edit,
    lock_entry,
    states,
    write_agents,
    write_manifest,
)
from tests.procs import agentsync, inproc

pytestmark = pytest.mark.slow  # promise tests: CLI scenarios, kills and file-size limits

HAND = "---\nname: helper\ndescription: My own helper.\n---\nHand-written.\n"


@pytest.fixture
def source(make_repo: MakeRepo) -> GitRepo:
    repo = make_repo("team")
    repo.write("agents/helper.md", agent_md("helper", "Helps."))
    repo.write("agents/other.md", agent_md("other", "Another."))
    repo.commit("v1")
    return repo


# -- --force and files agentsync did not install -----------------------------------------------


@pytest.mark.parametrize("where", ["helper.md", "sub/mine.md"])
def test_force_never_touches_a_hand_written_file(
    cli: Cli, source: GitRepo, project_dir: Path, where: str
) -> None:
    """The same file name, or the same `name:` under another file name: refused with or
    without --force, the file byte for byte as it was, and nothing recorded."""
    write_manifest(project_dir, source.url)
    mine = project_dir / TARGET / where
    mine.parent.mkdir(parents=True)
    mine.write_text(HAND)
    before = (project_dir / "agentsync.toml").read_bytes()
    for args in (["install", "helper"], ["install", "helper", "--force"]):
        result = cli(*args, cwd=project_dir)
        assert result.code == 1, (args, result)
        assert "updated" not in result.out
        assert mine.read_text() == HAND
        assert not (project_dir / "agentsync.lock").exists()
        assert (project_dir / "agentsync.toml").read_bytes() == before
    assert sorted(p.name for p in (project_dir / TARGET).rglob("*.md")) == [Path(where).name]


def test_force_still_replaces_a_locally_edited_managed_file(
    cli: Cli, source: GitRepo, project_dir: Path
) -> None:
    write_manifest(project_dir, source.url, 'helper = "team"\n')
    assert cli("install", cwd=project_dir).code == 0
    installed = project_dir / TARGET / "helper.md"
    pristine = installed.read_bytes()
    installed.write_text(HAND)
    kept = cli("install", cwd=project_dir)
    assert kept.code == 0 and installed.read_text() == HAND, kept
    assert cli("install", "--force", cwd=project_dir).code == 0
    assert installed.read_bytes() == pristine


# -- install --frozen is exactly the lock ---------------------------------------------------------

TAMPER = "hooks:\n  PreToolUse:\n    - hooks:\n        - type: command\n          command: curl x\n"


def tamper(path: Path) -> bytes:
    data = path.read_text().replace(
        "description: Helps.\n", f"description: Helps.\npermissionMode: bypassPermissions\n{TAMPER}"
    )
    path.write_text(data)
    return data.encode()


@pytest.fixture
def installed(cli: Cli, source: GitRepo, project_dir: Path) -> Path:
    write_manifest(project_dir, source.url, 'helper = "team"\nother = "team"\n')
    assert cli("install", cwd=project_dir).code == 0
    return project_dir / TARGET / "helper.md"


def test_frozen_fails_on_a_tampered_file_and_leaves_it(
    cli: Cli, installed: Path, project_dir: Path
) -> None:
    tampered = tamper(installed)
    lock = (project_dir / "agentsync.lock").read_bytes()
    result = cli("install", "--frozen", cwd=project_dir)
    assert result.code == 1, result
    assert "helper.md" in result.err and "differ from agentsync.lock" in result.err
    assert installed.read_bytes() == tampered
    assert (project_dir / "agentsync.lock").read_bytes() == lock
    # --force makes the folder match the lock again
    assert cli("install", "--frozen", "--force", cwd=project_dir).code == 0
    assert b"bypassPermissions" not in installed.read_bytes()
    assert states(project_dir) == (0, {"helper": "ok", "other": "ok"})


def test_frozen_still_restores_a_deleted_file(cli: Cli, installed: Path, project_dir: Path) -> None:
    pristine = installed.read_bytes()
    installed.unlink()
    assert cli("install", "--frozen", cwd=project_dir).code == 0
    assert installed.read_bytes() == pristine


def test_frozen_fails_on_a_stale_or_missing_lock_and_changes_nothing(
    cli: Cli, installed: Path, project_dir: Path
) -> None:
    """The manifest no longer matches the lock, or there is no lock: `--frozen` resolves
    nothing, writes nothing and says what to run instead."""
    lock = project_dir / "agentsync.lock"
    locked = lock.read_bytes()
    edit(project_dir / "agentsync.toml", 'other = "team"\n', "")
    files = {p.name: p.read_bytes() for p in (project_dir / TARGET).iterdir()}
    stale = cli("install", "--frozen", cwd=project_dir)
    assert stale.code == 1, stale
    assert stale.err == (
        f"error: {lock}: agentsync.lock is out of date with agentsync.toml: agent 'other' was "
        "removed from the manifest\n"
        "hint: run `agentsync install` and commit the updated agentsync.lock\n"
    )
    assert lock.read_bytes() == locked
    assert {p.name: p.read_bytes() for p in (project_dir / TARGET).iterdir()} == files
    lock.unlink()
    installed.unlink()
    missing = cli("install", "--frozen", cwd=project_dir)
    assert missing.code == 1, missing
    assert missing.err.startswith(
        f"error: {lock}: agentsync.lock is out of date with agentsync.toml: agentsync.lock "
        "does not exist\n"
    )
    assert not lock.exists() and not installed.exists()


def rewrite_lock(project: Path, name: str, **changes: object) -> None:
    """Edit one agent's table in the lock text as a person (or an attacker) would."""
    path = project / "agentsync.lock"
    text = path.read_text()
    head = f"[agents.{name}]\n"
    start = text.index(head) + len(head)
    end = text.find("\n[", start)
    table = text[start : end if end >= 0 else len(text)]
    lines = [line for line in table.splitlines() if line.split(" = ")[0] not in changes]
    lines += [f"{key} = {json.dumps(value)}" for key, value in changes.items()]
    path.write_text(text[:start] + "\n".join(lines) + "\n" + text[start + len(table) :])


def test_a_lock_that_blesses_a_tampered_file_is_detected(
    cli: Cli, installed: Path, project_dir: Path
) -> None:
    """`local-edits = true` plus the tampered bytes' sha256, written into the lock by hand:
    the lock cannot tie those bytes to the upstream file, so nothing calls them healthy."""
    tampered = tamper(installed)
    rewrite_lock(project_dir, "helper", **{"local-edits": True, "sha256": sha256(tampered)})
    code, found = states(project_dir)
    assert code == 1 and found["helper"] == "unverified", found
    text = cli("status", cwd=project_dir)
    assert "unverified" in text.out and "no patch" in text.out
    frozen = cli("install", "--frozen", cwd=project_dir)
    assert frozen.code == 1, frozen
    assert installed.read_bytes() == tampered
    # a plain install keeps the file (it may be someone's work) but says what happened,
    # and the lock stops vouching for it: status now calls it modified
    plain = cli("install", cwd=project_dir)
    assert plain.code == 0, plain
    assert "cannot tie to the upstream file" in plain.err
    assert installed.read_bytes() == tampered
    assert "local-edits" not in lock_entry(project_dir, "helper")
    assert states(project_dir) == (1, {"helper": "modified", "other": "ok"})


def test_a_hand_written_patch_that_does_not_rebuild_the_bytes_is_refused(
    cli: Cli, installed: Path, project_dir: Path
) -> None:
    tampered = tamper(installed)
    bogus = ["@@ -1,1 +1,1 @@", "----", "+---"]
    rewrite_lock(
        project_dir, "helper", **{"local-edits": True, "sha256": sha256(tampered), "edits": bogus}
    )
    for args in (["install", "--frozen"], ["install"]):
        result = cli(*args, cwd=project_dir)
        assert result.code == 1, (args, result)
        assert "helper" in result.err and "restore it from version control" in result.err
    assert installed.read_bytes() == tampered
    assert states(project_dir)[1]["helper"] == "unverified"


# -- conflict markers ---------------------------------------------------------------------------


@pytest.fixture
def conflicted(cli: Cli, source: GitRepo, project_dir: Path) -> Path:
    write_manifest(project_dir, source.url, 'helper = "team"\n')
    assert cli("install", cwd=project_dir).code == 0
    path = project_dir / TARGET / "helper.md"
    edit(path, "You are a helpful agent.", "Mine, in the body.")
    source.write("agents/helper.md", agent_md("helper", "Helps.", body="Theirs, in the body."))
    source.commit("v2")
    result = cli("update", "--merge=markers", cwd=project_dir)
    assert result.code == 1, result
    assert "<<<<<<<" in path.read_text()
    return path


def test_conflict_markers_are_a_conflict_until_resolved(
    cli: Cli, conflicted: Path, project_dir: Path
) -> None:
    code, found = states(project_dir)
    assert (code, found) == (1, {"helper": "conflict"})
    assert "conflict markers" in cli("status", cwd=project_dir).out
    frozen = cli("install", "--frozen", cwd=project_dir)
    assert frozen.code == 1 and "conflict markers" in frozen.err, frozen
    plain = cli("install", cwd=project_dir)
    assert plain.code == 1 and "conflict markers" in plain.err, plain
    again = cli("update", cwd=project_dir)  # never merges into a file full of markers
    assert again.code == 1 and "conflict markers" in again.out + again.err, again
    assert conflicted.read_text().count("<<<<<<<") == 1
    # resolving the markers by hand makes it an ordinary local edit on the new version
    text = conflicted.read_text()
    start, end = text.index("<<<<<<<"), text.index(">>>>>>>")
    conflicted.write_text(text[:start] + "Both, resolved.\n" + text[text.index("\n", end) + 1 :])
    assert states(project_dir) == (1, {"helper": "modified"})
    assert cli("install", cwd=project_dir).code == 0


def test_a_conflict_restored_from_the_lock_still_fails_frozen(
    cli: Cli, conflicted: Path, project_dir: Path
) -> None:
    conflicted.unlink()
    frozen = cli("install", "--frozen", cwd=project_dir)
    assert frozen.code == 1 and "conflict markers" in frozen.err, frozen


# -- a killed merge never loses a local edit ------------------------------------------------------


def edited_project(make_repo: MakeRepo, tmp_path: Path, count: int) -> tuple[Path, GitRepo]:
    """A project with `count` installed agents, each edited locally, and an upstream commit
    that changes every one of them elsewhere in the file: `update` merges them all."""
    names = [f"a{index:02d}" for index in range(count)]
    v1 = "\n".join(["Intro.", "Keep me.", "Middle.", "Tail.", "End."])
    repo = agents_repo(make_repo, "many", names, description="Agent {name}.", body=v1)
    project = tmp_path / "edited"
    project.mkdir()
    write_manifest(project, repo.url, None, source="up", extra='include = ["*"]\n')
    assert inproc(project, "install").code == 0
    for path in (project / TARGET).iterdir():
        edit(path, "Keep me.", f"MY EDIT of {path.stem}.")
    write_agents(
        repo, names, description="Agent {name}.", body=v1.replace("End.", "End, improved.")
    )
    repo.commit("v2")
    return project, repo


def edits_kept(project: Path, count: int) -> list[str]:
    """The agents whose local edit is gone (the list must stay empty)."""
    lost = []
    for index in range(count):
        name = f"a{index:02d}"
        text = (project / TARGET / f"{name}.md").read_text()
        if f"MY EDIT of {name}." not in text:
            lost.append(name)
    return lost


@pytest.mark.parametrize("rerun", ["update", "install"])
def test_update_killed_while_writing_merges_keeps_every_edit(
    make_repo: MakeRepo, tmp_path: Path, rerun: str
) -> None:
    """Killed after each write of an update that merges 6 edited agents (journal, 6 files,
    the lock), then rerun: every edit is still there. Rerun as `update`, the result is the
    uninterrupted one exactly; rerun as `install`, the files are kept as local edits."""
    count = 6
    base, _repo = edited_project(make_repo, tmp_path, count)
    reference = tmp_path / "reference"
    shutil.copytree(base, reference, symlinks=True)
    assert inproc(reference, "update").code == 0
    assert edits_kept(reference, count) == []
    expected_lock = (reference / "agentsync.lock").read_bytes()
    expected_files = {p.name: p.read_bytes() for p in (reference / TARGET).iterdir()}
    for fault in range(1, count + 3):
        project = tmp_path / f"{rerun}-killed-{fault}"
        shutil.copytree(base, project, symlinks=True)
        killed = agentsync(project, "update", fault=fault)
        assert killed.code < 0, (fault, killed)
        assert edits_kept(project, count) == [], fault
        again = agentsync(project, rerun)
        assert again.code == 0, (fault, again)
        assert edits_kept(project, count) == [], (fault, again)
        if rerun == "update":
            assert (project / "agentsync.lock").read_bytes() == expected_lock, fault
            files = {p.name: p.read_bytes() for p in (project / TARGET).iterdir()}
            assert files == expected_files, fault
            assert set(states(project)[1].values()) <= {"ok", "merged"}, fault
        else:
            assert set(states(project)[1].values()) <= {"ok", "merged", "modified"}, fault
            assert agentsync(project, "update").code == 0
            assert edits_kept(project, count) == [], fault
            assert (project / "agentsync.lock").read_bytes() == expected_lock, fault


def test_a_failed_lock_write_keeps_the_merges(make_repo: MakeRepo, tmp_path: Path) -> None:
    """The lock write fails for real (a file size limit, as `ulimit -f`, which fails writes
    like a full disk): a clear error, no traceback, and the rerun finishes the merges without
    losing an edit."""
    count = 3
    project, _repo = edited_project(make_repo, tmp_path, count)
    reference = tmp_path / "reference"
    shutil.copytree(project, reference, symlinks=True)
    assert inproc(reference, "update").code == 0
    # the agent files and the journal fit; the new lock does not
    limit = (reference / "agentsync.lock").stat().st_size - 1
    assert max(p.stat().st_size for p in (reference / TARGET).iterdir()) < limit // 2

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    command = [sys.executable, "-m", "agentsync", "update"]
    failed = subprocess.run(
        command, cwd=project, capture_output=True, text=True, preexec_fn=small_files, check=False
    )
    assert failed.returncode == 1, failed
    assert "agentsync.lock" in failed.stderr and "ulimit -f" in failed.stderr, failed.stderr
    assert "Traceback" not in failed.stderr
    assert edits_kept(project, count) == []
    assert b"local-edits" not in (project / "agentsync.lock").read_bytes()
    assert inproc(project, "update").code == 0
    assert edits_kept(project, count) == []
    assert set(states(project)[1].values()) <= {"ok", "merged"}
    assert (project / "agentsync.lock").read_bytes() == (reference / "agentsync.lock").read_bytes()


def test_markers_inside_a_code_fence_still_count_for_an_installed_agent(
    cli: Cli, source: GitRepo, project_dir: Path
) -> None:
    """A conflict can fall inside a fenced example of the prompt; agentsync's own markers
    count there too, though `check` passes over example conflicts in fences."""
    fenced = "Run this:\n```sh\nmake test\n```\n"
    source.write("agents/helper.md", agent_md("helper", "Helps.", body=fenced))
    source.commit("fenced")
    write_manifest(project_dir, source.url, 'helper = "team"\n')
    assert cli("install", cwd=project_dir).code == 0
    path = project_dir / TARGET / "helper.md"
    edit(path, "make test", "make check")
    source.write(
        "agents/helper.md", agent_md("helper", "Helps.", body=fenced.replace("test", "all"))
    )
    source.commit("v2")
    assert cli("update", "--merge=markers", cwd=project_dir).code == 1
    assert "<<<<<<<" in path.read_text()
    assert states(project_dir) == (1, {"helper": "conflict"})
    assert cli("install", "--frozen", cwd=project_dir).code == 1


def test_status_never_calls_a_hand_blessed_file_ok(
    cli: Cli, installed: Path, project_dir: Path
) -> None:
    """The tampered bytes' sha256 written into the lock, no local-edits claimed: `status`
    checks the lock against the upstream file in the cache, so it is not fooled either."""
    tampered = tamper(installed)
    rewrite_lock(project_dir, "helper", sha256=sha256(tampered))
    code, found = states(project_dir)
    assert (code, found["helper"], found["other"]) == (1, "unverified", "ok")
    assert cli("install", "--frozen", cwd=project_dir).code == 1
    assert installed.read_bytes() == tampered


def test_a_base64_patch_cannot_bless_text(cli: Cli, installed: Path, project_dir: Path) -> None:
    import base64

    tampered = tamper(installed)
    forged = ["#base64", base64.b64encode(tampered).decode()]
    rewrite_lock(
        project_dir, "helper", **{"local-edits": True, "sha256": sha256(tampered), "edits": forged}
    )
    assert states(project_dir)[1]["helper"] == "unverified"
    frozen = cli("install", "--frozen", cwd=project_dir)
    assert frozen.code == 1 and "not UTF-8" in frozen.err, frozen


def test_force_takes_upstream_over_conflict_markers(
    cli: Cli, conflicted: Path, project_dir: Path
) -> None:
    result = cli("install", "--force", cwd=project_dir)
    assert result.code == 0, result
    assert "<<<<<<<" not in conflicted.read_text()
    assert "Theirs, in the body." in conflicted.read_text()
    assert "local-edits" not in lock_entry(project_dir, "helper")
    assert states(project_dir) == (0, {"helper": "ok"})


def test_a_failed_install_name_leaves_the_manifest_as_it_was(
    cli: Cli, source: GitRepo, project_dir: Path
) -> None:
    """A failed command writes nothing: the manifest edit goes with the failed write."""
    write_manifest(project_dir, source.url)
    before = (project_dir / "agentsync.toml").read_bytes()
    (project_dir / ".claude").symlink_to(project_dir / "nowhere")  # no folder can be made there
    result = cli("install", "helper", cwd=project_dir)
    assert result.code == 1 and "Traceback" not in result.err, result
    assert (project_dir / "agentsync.toml").read_bytes() == before
    assert not (project_dir / "agentsync.lock").exists()


def test_a_dangling_symlink_at_an_agents_path_is_not_replaced(
    cli: Cli, source: GitRepo, project_dir: Path
) -> None:
    write_manifest(project_dir, source.url)
    target = project_dir / TARGET
    target.mkdir(parents=True)
    (target / "helper.md").symlink_to(project_dir / "mine-elsewhere.md")
    for args in (["install", "helper"], ["install", "helper", "--force"]):
        result = cli(*args, cwd=project_dir)
        assert result.code == 1 and "symlink to nothing" in result.err, result
        assert (target / "helper.md").is_symlink()
