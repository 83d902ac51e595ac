"""`status` answered from the state folder while nothing it looks at changed: the same text and
exit code as the full run, and a full run again as soon as anything it reads is different."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

import agentsync.cli
from tests.fixtures import TARGET, MakeRepo, agent_md, agents_repo, write_manifest
from tests.procs import inproc

pytestmark = pytest.mark.slow


def settle() -> None:
    """Let the coarse-clock margin pass: entries changed just now are never vouched for."""
    time.sleep(2.1)


@pytest.fixture
def project(tmp_path: Path, make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "config"))
    repo = agents_repo(make_repo, "team", ["alpha", "beta"])
    root = tmp_path / "p"
    root.mkdir()
    write_manifest(root, repo.url, 'alpha = "team"\nbeta = "team"\n')
    assert inproc(root, "install").code == 0
    assert inproc(root, "install").out == "all agents are up to date\n"  # the clean record
    settle()
    return root


def refuse_full_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    def full(_argv: object) -> None:
        raise AssertionError("the full command line ran")

    monkeypatch.setattr(agentsync.cli, "main", full)


def test_a_second_status_prints_the_same_without_the_command_line(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, as_json = inproc(project, "status"), inproc(project, "--json", "status")
    assert inproc(project, "list") == first
    assert first.code == 0 and "alpha" in first.out
    assert (project / ".agentsync" / "status.json").is_file()
    with monkeypatch.context() as patched:
        refuse_full_runs(patched)
        assert inproc(project, "status") == first
        assert inproc(project, "--json", "status") == as_json
        assert inproc(project, "list") == first
    # anything else on the line takes the full run
    assert inproc(project, "-v", "status").code == 0
    # a project named with -C is kept and read back the same way
    elsewhere = inproc(project.parent, "-C", str(project), "status")
    assert elsewhere.out == first.out
    with monkeypatch.context() as patched:
        refuse_full_runs(patched)
        assert inproc(project.parent, "-C", str(project), "status") == elsewhere


def test_status_runs_in_full_when_what_it_reads_changed(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert inproc(project, "status").code == 0
    user = tmp_path / "config" / "agents"
    user.mkdir(parents=True)
    (user / "alpha.md").write_text(agent_md("alpha", "The user's own."))
    settle()
    rows = json.loads(inproc(project, "--json", "status").out)["agents"]
    assert [r["shadows"] for r in rows if r["agent"] == "alpha"] == [str(user / "alpha.md")]
    with monkeypatch.context() as patched:  # and now it is kept again
        refuse_full_runs(patched)
        assert json.loads(inproc(project, "--json", "status").out)["agents"] == rows
    stray = project / TARGET / "mine.md"
    stray.write_text(agent_md("mine", "Not from a source."))
    settle()
    listed = inproc(project, "status")
    assert "unmanaged" in listed.out and "mine" in listed.out
    edited = project / TARGET / "beta.md"
    edited.write_text(edited.read_text() + "\nMy note.\n")
    os.utime(edited, ns=(time.time_ns() - 10**10,) * 2)  # an old mtime hides nothing
    modified = inproc(project, "status")
    assert modified.code != 0 or "modified" in modified.out
    assert "modified" in modified.out


def test_the_tree_names_every_entry_below_the_folder_relative_to_it(tmp_path: Path) -> None:
    from agentsync.fast_status import _tree

    root = tmp_path / "agents"
    (root / "team" / "deep").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    for name in ("b.md", "a.md", "team/c.md", "team/deep/d.md", "../elsewhere/e.md"):
        (root / name).write_text("x")
    (root / "linked").symlink_to(tmp_path / "elsewhere")  # followed, as the client does
    later = time.time_ns() + 10 * 10**9  # the margin for coarse clocks has passed
    names = [
        "." , "a.md", "b.md", "linked", "linked/e.md", "team", "team/c.md", "team/deep",
        "team/deep/d.md",
    ]  # fmt: skip
    for spelled in (str(root), f"{root}/", f"{tmp_path}/./agents"):
        found = _tree(spelled, later)
        assert found is not None and [entry[0] for entry in found] == names
    (root / "team" / "deep" / "d.md").write_text("changed")
    changed = _tree(str(root), later)
    assert changed is not None and changed != found
    assert _tree(str(root), time.time_ns()) is None  # just written: not vouched for
