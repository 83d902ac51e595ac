"""Tree walks: the same files as `git ls-tree -r` below a path glob, bounded against tree bombs,
defensive about malformed trees and unsafe names; work-tree comparison of a local source."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentsync import trees
from agentsync.catalog import SKIPPED_FOLDERS as _SKIPPED_FOLDERS
from agentsync.catalog import is_agent_path as _is_agent_path
from agentsync.errors import SourceError
from agentsync.ids import Commit
from agentsync.store import Store
from agentsync.urls import parse_location
from tests.fixtures import GitRepo, MakeRepo, agent_md, git_at, tree_bomb


def plain_objects(git_dir: Path, size: int | None = None) -> tuple[trees.ObjectCache, list[str]]:
    """An ObjectCache reading through plain `git cat-file`, recording which objects it read;
    `size` answers every blob's size without asking git (fast, for big walks)."""
    read: list[str] = []

    def read_object(oid: str) -> tuple[str, bytes] | None:
        read.append(oid)
        kind = git_at(git_dir, "cat-file", "-t", oid).decode().strip()
        return kind, git_at(git_dir, "cat-file", kind, oid)

    def header(oid: str) -> tuple[str, int] | None:
        kind = git_at(git_dir, "cat-file", "-t", oid).decode().strip()
        if size is not None and kind == "blob":
            return kind, size
        return kind, int(git_at(git_dir, "cat-file", "-s", oid))

    return trees.ObjectCache(read_object, header), read


@pytest.fixture
def store() -> Iterator[Store]:
    with Store(timeout=20) as cache:
        yield cache


# -- the tree format --------------------------------------------------------------------------


def test_parse_tree_reads_what_git_wrote(make_repo: MakeRepo) -> None:
    repo = make_repo("format")
    repo.write("a b.md", "x")
    repo.write("dir/c.md", "y")
    (repo.path / "link.md").symlink_to("a b.md")
    repo.commit()
    raw = git_at(repo.path / ".git", "cat-file", "tree", "HEAD^{tree}")
    entries = trees.parse_tree(raw)
    listed = repo.git("ls-tree", "HEAD").splitlines()
    assert [
        f"{e.mode_text} {e.kind if not e.is_tree else 'tree'} {e.oid}\t{e.name}" for e in entries
    ] == [line.replace("blob", "link", 1) if line.startswith("120000") else line for line in listed]


@pytest.mark.parametrize(
    "data",
    [
        b"garbage",
        b"100644 a.md",
        b"100644 a.md\0short",
        b"10x644 a.md\0" + b"\1" * 20,
        b" a\0" + b"\1" * 20,
    ],
)
def test_a_malformed_tree_is_refused(data: bytes) -> None:
    with pytest.raises(trees.MalformedObject):
        trees.parse_tree(data)


# -- listing below a path ---------------------------------------------------------------------

LAYOUT = [
    "README.md",
    "z.md",
    "agents/a.md",
    "agents/sub/b.md",
    "agents/skills/no.md",
    "docs/notes.txt",
    "plugins/x/agents/c.md",
    "plugins/x/commands/no.md",
    "plugins/y/agents/d.md",
    "plugins/y/other/e.md",
    "skills/f/SKILL.md",
]


@pytest.mark.slow
@pytest.mark.parametrize(
    "base", [None, "agents", "agents/", "plugins/*/agents", "agents/a.md", "*"]
)
def test_listing_below_a_path_matches_git_ls_tree(
    store: Store, make_repo: MakeRepo, base: str | None
) -> None:
    repo = make_repo("layout")
    for index, path in enumerate(LAYOUT):
        repo.write(path, agent_md(f"n{index}", body="x" * index))
    commit = Commit(repo.commit())
    mirror = store.mirror(parse_location(repo.url, Path.cwd()))
    mirror.fetch()
    want = lambda path: _is_agent_path(path, base)  # noqa: E731
    listed = mirror.list_files(commit, base, skip_folders=_SKIPPED_FOLDERS, want=want)
    expected = []
    for line in repo.git("ls-tree", "-r", "-l", commit).splitlines():
        meta, path = line.split("\t")
        if _is_agent_path(path, base):
            expected.append((path, meta.split()[2], int(meta.split()[3])))
    assert [(e.path, e.blob, e.size) for e in listed if _is_agent_path(e.path, base)] == expected
    assert all(e.kind == "blob" for e in listed)


def test_a_tree_bomb_beside_the_path_is_never_read(make_repo: MakeRepo) -> None:
    repo = make_repo("bomb")
    commit = tree_bomb(repo)
    objects, read = plain_objects(repo.path / ".git")
    root = repo.git("rev-parse", f"{commit}^{{tree}}")
    found = trees.list_below(objects, root, "agents", skip_folders=_SKIPPED_FOLDERS)
    assert [e.path for e in found] == ["agents/helper.md"]
    assert read == [root, repo.git("rev-parse", f"{commit}:agents")]


@pytest.mark.slow
def test_a_tree_bomb_stops_at_the_entry_limit(make_repo: MakeRepo) -> None:
    repo = make_repo("bomb")
    commit = tree_bomb(repo)
    objects, _ = plain_objects(repo.path / ".git", size=2)
    root = repo.git("rev-parse", f"{commit}^{{tree}}")
    started = time.monotonic()
    with pytest.raises(trees.WalkLimit) as caught:
        trees.list_below(objects, root, None, max_entries=5000)
    assert caught.value.kind == "entries" and "5,000 entries" in str(caught.value)
    assert time.monotonic() - started < 5


@pytest.mark.slow
def test_a_tree_bomb_stops_at_the_deadline(make_repo: MakeRepo) -> None:
    repo = make_repo("bomb")
    commit = tree_bomb(repo)
    objects, _ = plain_objects(repo.path / ".git", size=2)
    root = repo.git("rev-parse", f"{commit}^{{tree}}")
    started = time.monotonic()
    with pytest.raises(trees.WalkLimit) as caught:
        trees.list_below(objects, root, None, max_entries=10**9, timeout=0.3)
    assert caught.value.kind == "time"
    assert time.monotonic() - started < 3


@pytest.mark.slow
def test_the_store_turns_the_limit_into_a_clear_error(store: Store, make_repo: MakeRepo) -> None:
    repo = make_repo("bomb")
    commit = Commit(tree_bomb(repo))
    mirror = store.mirror(parse_location(repo.url, Path.cwd()))
    mirror.fetch()
    assert [e.path for e in mirror.list_files(commit, "agents")] == ["agents/helper.md"]
    started = time.monotonic()
    with pytest.raises(SourceError) as caught:
        mirror.list_files(commit)
    assert time.monotonic() - started < 10
    assert f"{trees.MAX_TREE_ENTRIES:,} entries" in caught.value.message
    assert caught.value.hint is not None and "path" in caught.value.hint


def raw_tree(git_dir: Path, entries: list[tuple[str, bytes, str]]) -> str:
    data = b"".join(
        mode.encode() + b" " + name + b"\0" + bytes.fromhex(oid) for mode, name, oid in entries
    )
    return (
        git_at(git_dir, "hash-object", "-t", "tree", "--literally", "-w", "--stdin", stdin=data)
        .decode()
        .strip()
    )


def test_unsafe_names_come_back_marked_and_are_not_entered(make_repo: MakeRepo) -> None:
    repo = make_repo("unsafe")
    git_dir = repo.path / ".git"
    blob = git_at(git_dir, "hash-object", "-w", "--stdin", stdin=b"x").decode().strip()
    inner = raw_tree(git_dir, [("100644", b"in.md", blob)])
    names = [b"", b".", b"..", b"a/b.md", b"new\nline.md", b"tab\t.md", b"ok.md"]
    folder = raw_tree(
        git_dir,
        [("100644", name, blob) for name in names]
        + [("40000", b"..", inner), ("40000", b"d", inner)],
    )
    root = raw_tree(git_dir, [("40000", b"agents", folder)])
    objects, _ = plain_objects(git_dir)
    found = trees.list_below(objects, root, "agents")
    kinds = {e.path: e.kind for e in found}
    assert kinds == {
        "agents/": "unsafe",
        "agents/.": "unsafe",
        "agents/..": "unsafe",
        "agents/a/b.md": "unsafe",
        "agents/new\nline.md": "unsafe",
        "agents/tab\t.md": "unsafe",
        "agents/ok.md": "blob",
        "agents/d/in.md": "blob",
    }


def test_find_entry_walks_one_path(make_repo: MakeRepo) -> None:
    repo = make_repo("find")
    repo.write("agents/deep/x.md", "x")
    commit = repo.commit()
    objects, read = plain_objects(repo.path / ".git")
    root = repo.git("rev-parse", f"{commit}^{{tree}}")
    entry = trees.find_entry(objects, root, "agents/deep/x.md")
    assert entry is not None and entry.oid == repo.git("rev-parse", f"{commit}:agents/deep/x.md")
    assert trees.find_entry(objects, root, "agents/deep/none.md") is None
    assert trees.find_entry(objects, root, "agents/deep/x.md/more") is None
    assert trees.find_entry(objects, root, "agents/../agents/deep/x.md") is None
    assert len(read) == 3


# -- a local source's work tree ---------------------------------------------------------------


def committed(store: Store, repo: GitRepo, base: str | None) -> list[trees.TreeEntry]:
    mirror = store.mirror(parse_location(str(repo.path), Path.cwd()))
    mirror.fetch(again=True)
    want = lambda path: _is_agent_path(path, base)  # noqa: E731
    return mirror.list_files(Commit(repo.head()), base, skip_folders=_SKIPPED_FOLDERS, want=want)


def differs(store: Store, repo: GitRepo, base: str | None = None) -> bool | None:
    return trees.worktree_differs(
        repo.path,
        committed(store, repo, base),
        base,
        skip_folders=_SKIPPED_FOLDERS,
        want=lambda path: _is_agent_path(path, base),
    )


@pytest.mark.slow
def test_worktree_changes_to_agent_files_are_found(store: Store, make_repo: MakeRepo) -> None:
    repo = make_repo("local")
    repo.write("agents/a.md", agent_md("a"))
    repo.write("agents/b.md", agent_md("b"))
    repo.commit()
    assert differs(store, repo) is False
    # not agent files: ignored
    repo.write("notes.txt", "untracked")
    repo.write("agents/README.md", "readme")
    repo.write("agents/skills/s.md", "skill")
    nested = GitRepo(repo.path / "vendor" / "nested")
    nested.write("x.md", agent_md("x"))
    assert differs(store, repo) is False
    repo.write("agents/a.md", agent_md("a", "Changed."))  # changed
    assert differs(store, repo) is True
    repo.git("checkout", "--", "agents/a.md")
    (repo.path / "agents" / "b.md").unlink()  # deleted
    assert differs(store, repo) is True
    repo.git("checkout", "--", "agents/b.md")
    repo.write("agents/c.md", agent_md("c"))  # new
    assert differs(store, repo) is True
    assert differs(store, repo, "other") is False  # outside the source's path
    (repo.path / "agents" / "c.md").unlink()
    (repo.path / "agents" / "a.md").write_bytes(agent_md("a").replace("\n", "\r\n").encode())
    assert differs(store, repo) is False  # core.autocrlf: the same file


def test_worktree_symlinks_are_compared_not_followed(store: Store, make_repo: MakeRepo) -> None:
    repo = make_repo("links")
    repo.write("agents/a.md", agent_md("a"))
    (repo.path / "agents" / "l.md").symlink_to("a.md")
    repo.commit()
    assert differs(store, repo) is False
    (repo.path / "agents" / "l.md").unlink()
    (repo.path / "agents" / "l.md").symlink_to("/dev/zero")
    assert differs(store, repo) is True
    (repo.path / "agents" / "l.md").unlink()
    os.mkfifo(repo.path / "agents" / "l.md")  # never opened, never blocks
    assert differs(store, repo) is True


def test_a_huge_worktree_gives_up_quietly(store: Store, make_repo: MakeRepo) -> None:
    repo = make_repo("huge")
    repo.write("agents/a.md", agent_md("a"))
    repo.commit()
    for index in range(30):
        repo.write(f"agents/x{index}.txt", "x")
    entries = committed(store, repo, None)
    result = trees.worktree_differs(
        repo.path, entries, None, want=lambda path: _is_agent_path(path, None), max_entries=10
    )
    assert result is None


def test_object_cache_checks_ids_and_shapes(make_repo: MakeRepo) -> None:
    repo = make_repo("shapes")
    git_dir = repo.path / ".git"
    garbage = (
        git_at(git_dir, "hash-object", "-t", "tree", "--literally", "-w", "--stdin", stdin=b"junk")
        .decode()
        .strip()
    )
    objects, _ = plain_objects(git_dir)
    with pytest.raises(trees.DamagedObject, match="malformed"):
        objects.tree(garbage)  # stored under its true id, but not a tree
    forged = trees.ObjectCache(lambda oid: ("tree", b""), lambda oid: ("tree", 0))
    with pytest.raises(trees.DamagedObject, match="does not match its id"):
        forged.tree(garbage)
    missing = trees.ObjectCache(lambda oid: None, lambda oid: None)
    with pytest.raises(trees.DamagedObject, match="is missing"):
        missing.root_tree("0" * 40)
    huge = trees.ObjectCache(lambda oid: None, lambda oid: ("tree", trees.MAX_TREE_BYTES + 1))
    with pytest.raises(trees.WalkLimit, match="bytes"):
        huge.tree(garbage)
