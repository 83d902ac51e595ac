"""The resolver and the planner called directly on real repositories built with plain git:
manifest + cache -> lock (`resolve.Resolver`), then two locks + the target folder -> every
file action and the lock to write (`installer.plan_install`), then `apply_plan`. No CLI and
no use case in between; the upstream bytes are read back with plain git."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from agentsync.errors import AgentsyncError, ConflictError, ResolveError
from agentsync.installer import InstallPlan, Layout, apply_plan, plan_install
from agentsync.lockfile import Lock, LockedAgent, dump_lock
from agentsync.manifest import Manifest, load_manifest
from agentsync.resolve import Policy, Resolution, Resolver
from agentsync.store import Store
from tests.fixtures import TARGET, GitRepo, MakeRepo, agent_md, edit, write_manifest

NO_LOCK = Lock()
BODY = "\n".join(["Line one.", "Line two.", "Line three.", "Line four.", "Line five."])
# Claude Code drops this file (an unindented second line), and `--fix` can repair it.
DROPPED = "---\nname: loose\ndescription: First line\nsecond line\n---\nBody.\n"


@pytest.fixture
def team(make_repo: MakeRepo) -> GitRepo:
    repo = make_repo("team")
    repo.write("agents/reviewer.md", agent_md("reviewer", "Reviews code.", "Read", body=BODY))
    repo.write("agents/writer.md", agent_md("writer", "Writes docs."))
    repo.write("agents/python-pro.md", agent_md("python-pro", "Python expert."))
    repo.write("README.md", "# not an agent\n")
    repo.commit("v1")
    return repo


def manifest(project: Path, repo: GitRepo, agents: str = "", extra: str = "") -> Manifest:
    write_manifest(project, repo.url, agents, extra=extra)
    return load_manifest(project / "agentsync.toml")


def resolve(manifest: Manifest, old: Lock = NO_LOCK, **options: object) -> Resolution:
    """One run's resolution, with a Store of its own (a Store fetches each mirror once)."""
    with Store(timeout=20) as store:
        return Resolver(manifest, store, old, **options).run()  # type: ignore[arg-type]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def layout(project: Path) -> Layout:
    return Layout(project / TARGET, project / "agentsync.lock", project / ".agentsync")


def plan(project: Path, repo: GitRepo, new: Lock, old: Lock, **options: object) -> InstallPlan:
    read: Callable[[LockedAgent], bytes] = lambda locked: repo.blob(locked.blob)  # noqa: E731
    return plan_install(layout(project), new, old, read, **options)  # type: ignore[arg-type]


def kinds(planned: InstallPlan) -> dict[str, str]:
    return {action.name: action.kind for action in planned.actions}


# -- the resolver -------------------------------------------------------------------------------


def test_the_resolver_pins_the_head_and_records_each_file_as_git_sees_it(
    project_dir: Path, team: GitRepo
) -> None:
    agents = 'reviewer = "team"\nrenamed = { source = "team", agent = "writer" }\n'
    found = resolve(manifest(project_dir, team, agents, extra='include = ["python-*"]\n'))
    lock, head = found.lock, team.head()
    assert (found.warnings, found.drift, found.gone, found.held) == ((), (), (), ())
    assert lock.sources["team"].commit == head
    assert lock.sources["team"].include == ("python-*",)
    assert sorted(lock.agents) == ["python-pro", "renamed", "reviewer"]
    reviewer = lock.agents["reviewer"]
    upstream = (team.path / "agents/reviewer.md").read_bytes()
    assert (reviewer.path, reviewer.commit, reviewer.selected) == (
        "agents/reviewer.md",
        head,
        "agents",
    )
    assert reviewer.blob == team.git("rev-parse", "HEAD:agents/reviewer.md")
    assert reviewer.sha256 == sha(upstream)
    assert lock.agents["python-pro"].selected == "include"
    renamed = lock.agents["renamed"]
    assert (renamed.upstream_name, renamed.path) == ("writer", "agents/writer.md")
    assert renamed.blob == team.git("rev-parse", "HEAD:agents/writer.md")
    # the installed copy says `name: renamed`: its hash is not the upstream file's
    assert renamed.sha256 != sha((team.path / "agents/writer.md").read_bytes())


def test_the_resolver_keeps_locked_commits_until_asked_to_move(
    project_dir: Path, team: GitRepo
) -> None:
    wanted = manifest(project_dir, team, 'reviewer = "team"\nwriter = "team"\n')
    first = resolve(wanted).lock
    team.write("agents/reviewer.md", agent_md("reviewer", "Reviews code, v2.", body=BODY))
    team.write("agents/writer.md", agent_md("writer", "Writes docs, v2."))
    new = team.commit("v2")
    assert resolve(wanted, first).lock == first  # upstream moving changes nothing by itself
    one = resolve(wanted, first, update=frozenset({"reviewer"})).lock
    assert one.agents["reviewer"].commit == new
    assert one.agents["reviewer"].blob == team.git("rev-parse", "HEAD:agents/reviewer.md")
    assert one.agents["writer"] == first.agents["writer"]
    every = resolve(wanted, first, update="all").lock
    assert every.sources["team"].commit == new
    assert {agent.commit for agent in every.agents.values()} == {new}


def test_a_version_range_takes_the_newest_matching_tag_and_fails_clearly_without_one(
    project_dir: Path, make_repo: MakeRepo
) -> None:
    repo = make_repo("tagged")
    for version in ("1.0.0", "1.2.0", "2.0.0"):
        repo.write("reviewer.md", agent_md("reviewer", f"Version {version}."))
        repo.commit(version)
        repo.tag(f"v{version}")
    lock = resolve(manifest(project_dir, repo, 'reviewer = "team"\n', 'version = "^1"\n')).lock
    assert lock.sources["team"].resolved == "v1.2.0"
    assert lock.sources["team"].commit == repo.git("rev-parse", "v1.2.0^{commit}")
    own = 'reviewer = { source = "team", version = "~1.0" }\n'
    agent = resolve(manifest(project_dir, repo, own)).lock.agents["reviewer"]
    assert (agent.resolved, agent.commit) == ("v1.0.0", repo.git("rev-parse", "v1.0.0^{commit}"))
    with pytest.raises(AgentsyncError) as caught:
        resolve(manifest(project_dir, repo, 'reviewer = "team"\n', 'version = "^3"\n'))
    assert caught.value.message == "no tag matches version range '^3'"
    assert caught.value.subject == "source team"


def test_update_keeps_an_agent_gone_upstream_and_holds_one_that_would_not_load(
    project_dir: Path, team: GitRepo
) -> None:
    wanted = manifest(project_dir, team, 'reviewer = "team"\nwriter = "team"\n')
    first = resolve(wanted).lock
    team.remove("agents/writer.md")
    team.write("agents/reviewer.md", "---\nname: reviewer\n---\nNo description: dropped.\n")
    new = team.commit("v2")
    found = resolve(wanted, first, update="all", keep_missing=True)
    assert (found.gone, found.held) == (("writer",), ("reviewer",))
    assert found.lock.sources["team"].commit == new
    assert found.lock.agents == first.agents  # both stay at their old pins
    assert any("would not load the new version of team/reviewer" in w for w in found.warnings)
    with pytest.raises(ResolveError, match="Claude Code would not load team/reviewer"):
        resolve(wanted, first, update="all")  # outside `update`, either is an error
    team.write("agents/reviewer.md", agent_md("reviewer", "Loads again.", body=BODY))
    team.commit("v3")
    with pytest.raises(ResolveError, match="no agent named 'writer'"):
        resolve(wanted, first, update="all")


def test_a_moved_tag_is_drift_with_both_commits(project_dir: Path, team: GitRepo) -> None:
    team.tag("stable")
    locked = team.head()
    wanted = manifest(project_dir, team, 'reviewer = "team"\n', 'ref = "stable"\n')
    first = resolve(wanted).lock
    team.write("agents/reviewer.md", agent_md("reviewer", "Moved.", body=BODY))
    moved = team.commit("v2")
    team.tag("stable", force=True)
    found = resolve(wanted, first, update="all")
    (drift,) = found.drift
    assert (drift.kind, drift.ref, drift.locked, drift.current) == (
        "tag-moved",
        "stable",
        locked,
        moved,
    )
    assert found.lock.agents["reviewer"].commit == moved
    assert resolve(wanted, first).drift == ()  # not moving: the tag is not even looked at


def test_a_file_claude_code_would_drop_needs_fix_and_stays_repaired_across_updates(
    project_dir: Path, team: GitRepo
) -> None:
    team.write("agents/loose.md", DROPPED)
    team.commit("a loose agent")
    wanted = manifest(project_dir, team, 'loose = "team"\n')
    with pytest.raises(ResolveError, match="Claude Code would not load team/loose"):
        resolve(wanted)
    forced = resolve(wanted, policy=Policy(force=True)).lock.agents["loose"]
    assert not forced.fixed and forced.sha256 == sha(DROPPED.encode())
    fixed = resolve(wanted, policy=Policy(fix=True)).lock
    assert fixed.agents["loose"].fixed and fixed.agents["loose"].sha256 != sha(DROPPED.encode())
    team.write("agents/loose.md", DROPPED.replace("Body.", "Body, v2."))
    team.commit("v2, still loose")
    later = resolve(wanted, fixed, update="all", keep_missing=True)  # as `update` runs it
    assert later.held == ()
    assert later.lock.agents["loose"].fixed
    assert later.lock.agents["loose"].commit == team.head()


# -- the planner --------------------------------------------------------------------------------


def test_the_planner_creates_keeps_updates_and_removes(project_dir: Path, team: GitRepo) -> None:
    v1 = resolve(manifest(project_dir, team, 'reviewer = "team"\nwriter = "team"\n')).lock
    fresh = plan(project_dir, team, v1, NO_LOCK)
    assert kinds(fresh) == {"reviewer": "create", "writer": "create"}
    for action in fresh.actions:
        assert action.data == (team.path / f"agents/{action.name}.md").read_bytes()
    assert fresh.lock == v1
    assert not (project_dir / TARGET).exists()  # planning writes nothing
    apply_plan(fresh, layout(project_dir))
    assert (project_dir / "agentsync.lock").read_bytes() == dump_lock(v1)
    assert (project_dir / TARGET / "writer.md").read_bytes() == fresh.actions[1].data

    same = plan(project_dir, team, v1, v1)
    assert kinds(same) == {"reviewer": "keep", "writer": "keep"}
    assert same.changes == ()

    team.write("agents/reviewer.md", agent_md("reviewer", "Reviews code, v2.", body=BODY))
    team.commit("v2")
    v2 = resolve(manifest(project_dir, team, 'reviewer = "team"\n'), v1, update="all").lock
    moved = plan(project_dir, team, v2, v1)
    assert kinds(moved) == {"reviewer": "update", "writer": "remove"}
    apply_plan(moved, layout(project_dir))
    assert sorted(p.name for p in (project_dir / TARGET).iterdir()) == ["reviewer.md"]
    reviewer = (project_dir / TARGET / "reviewer.md").read_bytes()
    assert reviewer == (team.path / "agents/reviewer.md").read_bytes()
    assert (project_dir / "agentsync.lock").read_bytes() == dump_lock(v2)


def test_the_planner_restores_adopts_and_refuses_a_file_it_did_not_install(
    project_dir: Path, team: GitRepo
) -> None:
    v1 = resolve(manifest(project_dir, team, 'reviewer = "team"\nwriter = "team"\n')).lock
    target = project_dir / TARGET
    target.mkdir(parents=True)
    (target / "reviewer.md").write_bytes((team.path / "agents/reviewer.md").read_bytes())
    assert kinds(plan(project_dir, team, v1, NO_LOCK)) == {"reviewer": "adopt", "writer": "create"}
    assert kinds(plan(project_dir, team, v1, v1)) == {"reviewer": "keep", "writer": "restore"}
    (target / "writer.md").write_text(agent_md("writer", "Mine, by hand."))
    with pytest.raises(ConflictError, match="was not installed by agentsync") as caught:
        plan(project_dir, team, v1, NO_LOCK, force=True)  # --force never takes it over
    assert caught.value.subject == "writer"


def edited_then_moved(project: Path, team: GitRepo, *, mine: str, theirs: str) -> tuple[Lock, Lock]:
    """reviewer installed at v1 and edited locally on line `mine` ("Line two, mine."), then
    changed upstream on line `theirs` ("Line five, v2."): the old lock and the updated one."""
    v1 = resolve(manifest(project, team, 'reviewer = "team"\n')).lock
    apply_plan(plan(project, team, v1, NO_LOCK), layout(project))
    edit(project / TARGET / "reviewer.md", f"Line {mine}.", f"Line {mine}, mine.")
    body = BODY.replace(f"{theirs}.", f"{theirs}, v2.")
    team.write("agents/reviewer.md", agent_md("reviewer", "Reviews code.", "Read", body=body))
    team.commit("v2")
    return v1, resolve(manifest(project, team, 'reviewer = "team"\n'), v1, update="all").lock


def test_the_planner_holds_back_merges_or_replaces_a_local_edit(
    project_dir: Path, team: GitRepo
) -> None:
    v1, v2 = edited_then_moved(project_dir, team, mine="two", theirs="five")
    edited = (project_dir / TARGET / "reviewer.md").read_bytes()
    upstream = (team.path / "agents/reviewer.md").read_bytes()

    kept = plan(project_dir, team, v2, v1)
    assert kinds(kept) == {"reviewer": "kept-edit"}
    assert kept.lock.agents["reviewer"] == v1.agents["reviewer"]  # held at the old pin
    assert kept.changes == ()

    merged = plan(project_dir, team, v2, v1, merge="auto")
    (action,) = merged.actions
    assert action.kind == "merged" and action.data is not None
    assert b"Line two, mine." in action.data and b"Line five, v2." in action.data
    entry = merged.lock.agents["reviewer"]
    assert (entry.commit, entry.local_edits, entry.sha256) == (
        v2.agents["reviewer"].commit,
        True,
        sha(action.data),
    )
    assert entry.edits is not None and "+Line two, mine." in entry.edits

    forced = plan(project_dir, team, v2, v1, force=True)
    assert [(a.kind, a.data) for a in forced.actions] == [("update", upstream)]
    assert forced.lock == v2
    assert (project_dir / TARGET / "reviewer.md").read_bytes() == edited  # planning wrote nothing


def test_overlapping_edits_conflict_or_get_markers(project_dir: Path, team: GitRepo) -> None:
    v1, v2 = edited_then_moved(project_dir, team, mine="three", theirs="three")
    conflict = plan(project_dir, team, v2, v1, merge="auto")
    assert [(a.kind, a.data) for a in conflict.actions] == [("conflict", None)]
    assert conflict.lock.agents["reviewer"] == v1.agents["reviewer"]
    markers = plan(project_dir, team, v2, v1, merge="markers")
    (action,) = markers.actions
    assert action.kind == "conflict-markers" and action.data is not None
    assert b"<<<<<<< reviewer.md (local)" in action.data and b">>>>>>> upstream" in action.data
    assert markers.lock.agents["reviewer"].commit == v2.agents["reviewer"].commit
    assert markers.lock.agents["reviewer"].local_edits


def test_an_edited_agent_dropped_from_the_lock_is_left_in_place_unless_forced(
    project_dir: Path, team: GitRepo
) -> None:
    both = resolve(manifest(project_dir, team, 'reviewer = "team"\nwriter = "team"\n')).lock
    apply_plan(plan(project_dir, team, both, NO_LOCK), layout(project_dir))
    edited = edit(project_dir / TARGET / "writer.md", "Writes docs.", "Writes my docs.")
    fewer = replace(both, agents={"reviewer": both.agents["reviewer"]})
    kept = plan(project_dir, team, fewer, both)
    assert kinds(kept) == {"reviewer": "keep", "writer": "orphaned"}
    apply_plan(kept, layout(project_dir))
    assert (project_dir / TARGET / "writer.md").read_bytes() == edited
    assert kinds(plan(project_dir, team, fewer, both, force=True))["writer"] == "remove"


def test_a_lock_entry_claiming_edits_without_a_patch_is_tied_through_an_old_copy(
    project_dir: Path, team: GitRepo
) -> None:
    """Earlier versions kept merged bytes in .agentsync/merged/<sha256> and no patch in the
    lock: with that copy the entry is tied to upstream by a patch; without it the lock falls
    back to the upstream version and the file on disk counts as a local edit."""
    v1 = resolve(manifest(project_dir, team, 'reviewer = "team"\n')).lock
    apply_plan(plan(project_dir, team, v1, NO_LOCK), layout(project_dir))
    merged = edit(project_dir / TARGET / "reviewer.md", "Line two.", "Line two, merged.")
    claimed = replace(v1.agents["reviewer"], local_edits=True, edits=None, sha256=sha(merged))
    old = replace(v1, agents={"reviewer": claimed})

    lost = plan(project_dir, team, old, old)
    (action,) = lost.actions
    assert action.kind == "modified" and "cannot tie to the upstream file" in action.note
    assert lost.lock.agents["reviewer"] == v1.agents["reviewer"]  # the upstream version

    copy = project_dir / ".agentsync" / "merged" / sha(merged)
    copy.parent.mkdir(parents=True)
    copy.write_bytes(merged)
    tied = plan(project_dir, team, old, old)
    assert kinds(tied) == {"reviewer": "keep"}
    entry = tied.lock.agents["reviewer"]
    assert (entry.local_edits, entry.sha256) == (True, sha(merged))
    assert entry.edits is not None and "+Line two, merged." in entry.edits


def test_a_local_edit_upstream_made_too_is_a_plain_update(project_dir: Path, team: GitRepo) -> None:
    v1 = resolve(manifest(project_dir, team, 'reviewer = "team"\n')).lock
    apply_plan(plan(project_dir, team, v1, NO_LOCK), layout(project_dir))
    mine = edit(project_dir / TARGET / "reviewer.md", "Line two.", "Line two, agreed.")
    theirs = mine.replace(b"Line five.", b"Line five, v2.")  # the same edit, and one more
    team.write("agents/reviewer.md", theirs)
    team.commit("upstream makes the same edit")
    v2 = resolve(manifest(project_dir, team, 'reviewer = "team"\n'), v1, update="all").lock
    (action,) = plan(project_dir, team, v2, v1, merge="auto").actions
    assert (action.kind, action.data, action.note) == (
        "update",
        theirs,
        "local edits already upstream",
    )


def test_removing_an_agent_whose_file_is_gone_is_quiet_and_a_garbled_journal_is_ignored(
    project_dir: Path, team: GitRepo
) -> None:
    both = resolve(manifest(project_dir, team, 'reviewer = "team"\nwriter = "team"\n')).lock
    apply_plan(plan(project_dir, team, both, NO_LOCK), layout(project_dir))
    (project_dir / TARGET / "writer.md").unlink()
    (project_dir / ".agentsync" / "journal.json").write_text('{"writes": [1, 2')
    fewer = replace(both, agents={"reviewer": both.agents["reviewer"]})
    planned = plan(project_dir, team, fewer, both)
    assert [(a.name, a.kind, a.note) for a in planned.actions] == [
        ("reviewer", "keep", ""),
        ("writer", "remove", "already gone"),
    ]
    apply_plan(planned, layout(project_dir))
    assert not (project_dir / ".agentsync" / "journal.json").exists()
    assert (project_dir / "agentsync.lock").read_bytes() == dump_lock(fewer)
