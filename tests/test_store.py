"""The mirror cache: fetch, resolve, read, offline, corruption, concurrency, timeouts, secrets."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agentsync import vcs
from agentsync.errors import AgentsyncError, NetworkError, SourceError
from agentsync.ids import Commit, blob_id
from agentsync.store import Mirror, Store, mirror_key
from agentsync.urls import Location, parse_location
from tests.fixtures import GitRepo, MakeRepo, agent_md


def loc(text: str, base: Path | None = None) -> Location:
    return parse_location(text, base or Path.cwd())


@pytest.fixture
def store() -> Iterator[Store]:
    with Store(timeout=20) as cache:
        yield cache


@pytest.fixture
def source(make_repo: MakeRepo) -> GitRepo:
    repo = make_repo("agents")
    repo.write("agents/alpha.md", agent_md("alpha"))
    repo.commit("first")
    return repo


def mirror_of(store: Store, repo: GitRepo) -> Mirror:
    return store.mirror(loc(repo.url))


# --- layout and fetching -------------------------------------------------------------------


def test_fetch_creates_a_bare_mirror_under_the_cache_root(store: Store, source: GitRepo) -> None:
    mirror = mirror_of(store, source)
    assert not mirror.path.exists()
    mirror.fetch()
    assert mirror.path.parent == store.root / "mirrors"
    assert mirror.path.name.startswith("repos-agents-") and mirror.path.name.endswith(".git")
    assert (mirror.path / "HEAD").is_file() and not (mirror.path / ".git").exists()
    assert (store.root / "locks" / f"{mirror.key}.lock").exists()
    assert list((store.root / "tmp").iterdir()) == []  # staging folder renamed away
    assert mirror.resolve(None) == source.head()


def test_only_fetches_into_a_mirror_that_exists_start_its_maintenance(
    store: Store, source: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trace = tmp_path / "trace"
    monkeypatch.setenv("GIT_TRACE", str(trace))
    mirror = mirror_of(store, source)
    mirror.fetch()
    assert "fetch" in trace.read_text() and "maintenance run" not in trace.read_text()
    source.write("agents/beta.md", agent_md("beta"))
    source.commit("second")
    trace.unlink()
    mirror.fetch(again=True)
    assert "maintenance run --auto" in trace.read_text()  # a mirror in use is still kept tidy


def test_mirror_key_is_readable_and_ignores_credentials() -> None:
    plain = mirror_key(loc("https://example.com/Team/Agents.git"))
    secret = mirror_key(loc("https://bob:hunter2@example.com/Team/Agents.git"))
    other = mirror_key(loc("https://example.com/Team/Other"))
    assert plain == secret
    assert plain.startswith("example.com-team-agents-")
    assert plain != other
    assert "hunter2" not in secret and "bob" not in secret
    assert mirror_key(loc("git@github.com:Owner/Repo.git")).startswith("github.com-owner-repo-")


def test_local_path_and_its_url_are_both_supported(
    store: Store, source: GitRepo, tmp_path: Path
) -> None:
    by_path = store.mirror(loc(str(source.path)))
    by_relative = store.mirror(loc("repos/agents", base=tmp_path))
    assert by_path.key == by_relative.key  # made absolute by the caller, one mirror
    assert by_path.resolve("main") == source.head()


@pytest.mark.slow
def test_resolve_branch_tag_short_and_full_commit(
    store: Store, source: GitRepo, make_repo: MakeRepo
) -> None:
    first = source.head()
    source.tag("v1.0.0")
    source.git("tag", "-a", "v1.1.0", "-m", "annotated")
    source.git("checkout", "-q", "-b", "dev")
    source.write("agents/beta.md", agent_md("beta"))
    dev = source.commit("on dev")
    source.git("checkout", "-q", "main")
    mirror = mirror_of(store, source)
    mirror.fetch()
    assert mirror.resolve("main") == first
    assert mirror.resolve("dev") == dev
    assert mirror.resolve("v1.0.0") == first
    assert mirror.resolve("v1.1.0") == first  # annotated tag peeled to its commit
    assert mirror.resolve(dev[:7]) == dev
    assert mirror.resolve(dev.upper()) == dev
    assert mirror.resolve(dev) == dev
    assert mirror.resolve("refs/heads/dev") == dev
    assert mirror.resolve(None) == first  # remote HEAD is main
    assert mirror.tags() == {"v1.0.0": first, "v1.1.0": first}
    assert mirror.branches() == {"main": first, "dev": dev}


def test_default_head_follows_the_remote_default_branch(store: Store, make_repo: MakeRepo) -> None:
    repo = make_repo("trunk", branch="trunk")
    repo.write("a.md", agent_md("a"))
    head = repo.commit()
    mirror = mirror_of(store, repo)
    assert mirror.resolve(None) == head
    assert mirror.branches() == {"trunk": head}


def test_unknown_ref_lists_what_exists(store: Store, source: GitRepo) -> None:
    source.tag("v1")
    mirror = mirror_of(store, source)
    mirror.fetch()
    with pytest.raises(SourceError) as caught:
        mirror.resolve("v2")
    error = caught.value
    assert "no branch, tag or commit named 'v2'" in error.message
    assert error.subject == source.url
    assert error.hint is not None and "main" in error.hint and "v1" in error.hint
    with pytest.raises(SourceError):
        mirror.resolve("abcdef1")  # hex-looking but not a commit here


@pytest.mark.slow
@pytest.mark.parametrize("ref", ["-v", "--upload-pack=touch x", "a b", "", "x\ny"])
def test_hostile_refs_are_refused(store: Store, source: GitRepo, ref: str) -> None:
    mirror = mirror_of(store, source)
    with pytest.raises(SourceError, match="not a valid"):
        mirror.resolve(ref)


@pytest.mark.slow
def test_new_commits_moved_tags_and_deleted_branches_seen_after_fetch(
    store: Store, source: GitRepo
) -> None:
    source.tag("stable")
    source.git("branch", "old")
    mirror = mirror_of(store, source)
    mirror.fetch()
    first = source.head()
    source.write("agents/beta.md", agent_md("beta"))
    second = source.commit("second")
    source.tag("stable", force=True)
    source.git("branch", "-D", "old")
    assert mirror.resolve("main") == first  # nothing changes until a fetch
    mirror.fetch()  # already fetched in this run (one Store): no second round trip
    assert mirror.resolve("main") == first
    mirror.fetch(again=True)
    assert mirror.resolve("main") == second
    assert mirror.resolve("stable") == second
    assert mirror.resolve(None) == second
    assert "old" not in mirror.branches()  # --prune
    assert mirror.is_ancestor(Commit(first), Commit(second))
    assert not mirror.is_ancestor(Commit(second), Commit(first))


def test_ensure_fetches_only_when_missing(store: Store, source: GitRepo) -> None:
    mirror = mirror_of(store, source)
    mirror.ensure()
    first = source.head()
    source.commit("later")
    mirror.ensure()  # exists: no fetch
    assert mirror.resolve("main") == first


def test_ensure_commit_fetches_by_id_and_keeps_it(store: Store, source: GitRepo) -> None:
    mirror = mirror_of(store, source)
    mirror.fetch()
    source.git("checkout", "-q", "-b", "side")
    side = Commit(source.commit("side work"))
    source.git("checkout", "-q", "main")
    source.git("branch", "-D", "side")  # no ref on the server points at it any more
    assert not mirror.has_commit(side)
    mirror.ensure_commit(side)
    assert mirror.has_commit(side)
    pinned = subprocess.run(
        ["git", f"--git-dir={mirror.path}", "rev-parse", f"refs/agentsync/commits/{side}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert pinned.stdout.strip() == side  # kept reachable so gc never drops it


def test_ensure_commit_unknown_to_the_server(store: Store, source: GitRepo) -> None:
    mirror = mirror_of(store, source)
    with pytest.raises(SourceError, match="not in the repository"):
        mirror.ensure_commit(Commit("0123456789abcdef0123456789abcdef01234567"))
    with pytest.raises(ValueError, match="40-hex"):
        mirror.ensure_commit(Commit("0123456"))


@pytest.mark.slow
def test_empty_repository_has_no_default_branch(store: Store, make_repo: MakeRepo) -> None:
    mirror = mirror_of(store, make_repo("empty"))
    mirror.fetch()
    assert mirror.branches() == {}
    with pytest.raises(SourceError, match="no default branch"):
        mirror.resolve(None)


# --- reading objects -----------------------------------------------------------------------


def test_list_files_reports_blobs_symlinks_and_submodules(
    store: Store, source: GitRepo, make_repo: MakeRepo
) -> None:
    body = agent_md("beta", body="x" * 5000)
    source.write("agents/beta.md", body)
    (source.path / "agents" / "link.md").symlink_to("beta.md")
    sub = make_repo("sub")
    sub_head = sub.commit("sub")
    source.git("add", "-A")
    # A gitlink without a checkout: `add -A` (used by GitRepo.commit) would drop it again.
    source.git("update-index", "--add", "--cacheinfo", f"160000,{sub_head},vendor/sub")
    source.git("commit", "-q", "-m", "symlink and submodule")
    commit = Commit(source.head())
    mirror = mirror_of(store, source)
    files = {entry.path: entry for entry in mirror.list_files(commit)}
    assert set(files) == {"agents/alpha.md", "agents/beta.md", "agents/link.md", "vendor/sub"}
    beta = files["agents/beta.md"]
    assert (beta.kind, beta.mode, beta.size) == ("blob", "100644", len(body.encode()))
    assert beta.blob == blob_id(body.encode())
    assert (files["agents/link.md"].kind, files["agents/link.md"].mode) == ("link", "120000")
    assert files["agents/link.md"].size == len("beta.md")
    assert files["vendor/sub"].kind == "commit" and files["vendor/sub"].mode == "160000"
    assert files["vendor/sub"].blob == sub_head
    assert mirror.read_blob(beta.blob) == body.encode()
    assert mirror.read_path(commit, "agents/beta.md") == body.encode()
    assert mirror.read_path(commit, "agents/none.md") is None


def test_blobs_are_read_through_one_long_lived_process(store: Store, source: GitRepo) -> None:
    for index in range(20):
        source.write(f"agents/a{index}.md", agent_md(f"a{index}"))
    commit = Commit(source.commit("many"))
    mirror = mirror_of(store, source)
    entries = mirror.list_files(commit)
    # the listing read the files in its batch: dropped, they are read one by one
    mirror.reader.forget_objects()
    mirror.read_blob(entries[0].blob)
    reader = mirror.reader
    assert reader is not None and reader.pid is not None
    pid = reader.pid
    contents = [mirror.read_blob(entry.blob) for entry in entries]
    assert reader.pid == pid
    assert all(blob_id(data) == entry.blob for data, entry in zip(contents, entries, strict=True))
    mirror.close()
    assert mirror.read_blob(entries[0].blob) == contents[0]  # reopens after close


def test_missing_blob_is_a_clear_error(store: Store, source: GitRepo) -> None:
    mirror = mirror_of(store, source)
    mirror.ensure()
    with pytest.raises(SourceError, match="missing from the cache"):
        mirror.read_blob(blob_id(b"never committed"))


# --- offline -------------------------------------------------------------------------------


def test_offline_without_cache_fails_with_a_hint(source: GitRepo) -> None:
    with Store(offline=True) as offline:
        mirror = offline.mirror(loc(source.url))
        for action in (mirror.fetch, lambda: mirror.resolve("main")):
            with pytest.raises(NetworkError) as caught:
                action()
            assert caught.value.hint == "run without --offline once to fill the cache"
        assert not mirror.path.exists()


def test_offline_resolves_from_the_cache_and_never_fetches(store: Store, source: GitRepo) -> None:
    store.mirror(loc(source.url)).fetch()
    first = source.head()
    later = Commit(source.commit("later"))
    with Store(offline=True) as offline:
        mirror = offline.mirror(loc(source.url))
        assert mirror.resolve("main") == first
        assert mirror.resolve(None) == first
        assert [e.path for e in mirror.list_files(Commit(first))] == ["agents/alpha.md"]
        with pytest.raises(NetworkError, match="not in the cache, and --offline") as caught:
            mirror.ensure_commit(later)
        assert caught.value.hint == "run without --offline once to fill the cache"
        offline.prefetch([loc(source.url)])  # offline: the cached mirror is enough
        with pytest.raises(NetworkError, match="--offline"):
            mirror.fetch()
        with pytest.raises(NetworkError):
            mirror.resolve(later)


# --- local sources -------------------------------------------------------------------------


def test_local_source_must_be_a_git_repository(store: Store, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(SourceError, match="not a git repository") as caught:
        store.mirror(loc(str(plain))).fetch()
    assert caught.value.hint is not None and "git init" in caught.value.hint
    with pytest.raises(SourceError, match="does not exist"):
        store.mirror(loc(str(tmp_path / "missing"))).fetch()


def test_local_source_shows_only_committed_content(store: Store, source: GitRepo) -> None:
    source.write("agents/draft.md", agent_md("draft"))
    mirror = store.mirror(loc(str(source.path)))
    files = [entry.path for entry in mirror.list_files(mirror.resolve(None))]
    assert files == ["agents/alpha.md"]


# --- corruption and interruption -----------------------------------------------------------


def _corrupt_head(mirror: Mirror) -> None:
    (mirror.path / "HEAD").write_text("garbage\n")


def _corrupt_ref(mirror: Mirror) -> None:
    subprocess.run(["git", f"--git-dir={mirror.path}", "pack-refs", "--all"], check=True)
    (mirror.path / "packed-refs").write_text("not a ref line at all\n")


def _empty_folder(mirror: Mirror) -> None:
    subprocess.run(["rm", "-rf", str(mirror.path)], check=True)
    mirror.path.mkdir()
    (mirror.path / "junk").write_text("x")


def _missing_objects(mirror: Mirror) -> None:
    subprocess.run(["rm", "-rf", str(mirror.path / "objects")], check=True)


def _lost_object_files(mirror: Mirror) -> None:
    # Structure and refs intact, objects gone: only the fetch itself notices ("bad object").
    for item in (mirror.path / "objects").rglob("*"):
        if item.is_file():
            item.unlink()


def _garbage_objects(mirror: Mirror) -> None:
    # Files in place but unreadable: the fetch fails ("loose object ... is corrupt") and the
    # mirror is rebuilt from that failure alone.
    for item in (mirror.path / "objects").glob("??/*"):
        item.chmod(0o644)
        item.write_bytes(b"garbage")


@pytest.mark.slow
@pytest.mark.parametrize(
    "damage",
    [
        *(_corrupt_head, _corrupt_ref, _empty_folder, _missing_objects, _lost_object_files),
        _garbage_objects,
    ],
)
def test_corrupt_mirror_is_rebuilt_on_fetch(
    store: Store, source: GitRepo, damage: Callable[[Mirror], None]
) -> None:
    mirror = mirror_of(store, source)
    mirror.fetch()
    first = Commit(source.head())
    mirror.close()
    damage(mirror)
    later = source.commit("after the damage")
    mirror.fetch(again=True)
    assert mirror.resolve("main") == later
    assert mirror.read_path(first, "agents/alpha.md") == agent_md("alpha").encode()
    assert list((store.root / "tmp").iterdir()) == []


def test_interrupted_fetch_leftovers_do_not_block_the_next_one(
    store: Store, source: GitRepo
) -> None:
    mirror = mirror_of(store, source)
    mirror.fetch()
    # What a fetch killed mid-way leaves: git lock files and a half-built staging folder.
    (mirror.path / "refs" / "heads" / "main.lock").write_text("x")
    (mirror.path / "packed-refs.lock").write_text("")
    (mirror.path / "shallow.lock").write_text("")
    (mirror.path / "objects" / "info" / "commit-graph.lock").write_text("")
    staging = store.root / "tmp" / f"{mirror.key}.abandoned"
    staging.mkdir(parents=True)
    later = source.commit("later")
    mirror.fetch(again=True)
    assert mirror.resolve("main") == later
    mirror.path.rename(mirror.path.with_suffix(".gone"))  # force a re-create
    mirror.fetch(again=True)
    assert not staging.exists()


CONCURRENT_FETCH = """
import sys
from pathlib import Path
from agentsync.store import Store
from agentsync.urls import parse_location
with Store(timeout=60) as store:
    mirror = store.mirror(parse_location(sys.argv[1], Path.cwd()))
    mirror.fetch()
    print(mirror.resolve("main"))
"""


@pytest.mark.slow
def test_concurrent_fetches_of_one_mirror_all_succeed(store: Store, source: GitRepo) -> None:
    for index in range(30):
        source.write(f"agents/a{index}.md", agent_md(f"a{index}"))
    head = source.commit("bigger")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT_FETCH, source.url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    results = [proc.communicate(timeout=120) for proc in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert out.strip() == head
    mirror = mirror_of(store, source)
    check = subprocess.run(
        ["git", f"--git-dir={mirror.path}", "fsck", "--no-dangling"],
        capture_output=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr


def test_prefetch_fetches_in_parallel_and_collects_errors(
    store: Store, source: GitRepo, make_repo: MakeRepo, tmp_path: Path
) -> None:
    other = make_repo("other")
    other.commit("x")
    done: list[str] = []
    store.prefetch(
        [loc(source.url), loc(other.url), loc(source.url)],
        on_done=lambda location, error: done.append(location.display),
    )
    assert sorted(done) == sorted([source.url, other.url])
    assert store.mirror(loc(other.url)).resolve(None) == other.head()

    missing = [loc(str(tmp_path / "nope1")), loc(str(tmp_path / "nope2"))]
    with pytest.raises(SourceError) as caught:
        store.prefetch([loc(source.url), *missing])
    assert "2 sources could not be fetched" in caught.value.message
    with pytest.raises(SourceError, match="does not exist"):
        store.prefetch([missing[0]], missing_only=True)


# --- network failures ----------------------------------------------------------------------


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


@pytest.mark.slow
def test_fetch_gives_up_after_the_timeout(silent_server: int) -> None:
    url = f"git://127.0.0.1:{silent_server}/agents"
    with Store(timeout=2) as store:
        mirror = store.mirror(loc(url))
        started = time.monotonic()
        with pytest.raises(NetworkError) as caught:
            mirror.fetch()
        elapsed = time.monotonic() - started
    assert 1.5 < elapsed < 10
    error = caught.value
    assert error.message == "fetch timed out after 2s"
    assert error.subject == url
    assert error.hint is not None and "--timeout SECONDS" in error.hint
    assert "AGENTSYNC_TIMEOUT" in error.hint
    assert not mirror.path.exists()  # no half-made mirror at the final path
    assert list((store.root / "tmp").iterdir()) == []  # nor a staging folder left behind


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_credentials_never_appear_in_errors(store: Store) -> None:
    port = _closed_port()
    url = f"https://user:secret@127.0.0.1:{port}/x"
    mirror = store.mirror(loc(url))
    started = time.monotonic()
    with pytest.raises(NetworkError) as caught:
        mirror.fetch()
    assert time.monotonic() - started < 10  # refused: fails fast, no retry loop
    text = caught.value.render()
    assert "secret" not in text and "user:" not in text
    assert f"127.0.0.1:{port}" in text
    assert "could not fetch" in text
    assert "secret" not in str(mirror.path)


def test_ssh_never_prompts(store: Store) -> None:
    # BatchMode + no terminal: a host that does not exist fails instead of asking anything.
    mirror = store.mirror(loc(f"ssh://git@127.0.0.1:{_closed_port()}/x.git"))
    with pytest.raises(NetworkError):
        mirror.fetch()


def test_errors_are_agentsync_errors_with_subjects(store: Store, tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "bare-check")
    repo.commit("c")
    with pytest.raises(AgentsyncError) as caught:
        store.mirror(loc(repo.url + "-typo")).fetch()
    assert caught.value.subject == repo.url + "-typo"
    assert caught.value.hint


def test_unusable_cache_folder_is_a_clear_error(source: GitRepo, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache should be")
    with Store(blocker) as store, pytest.raises(SourceError) as caught:
        store.mirror(loc(source.url)).fetch()
    assert "is not usable" in caught.value.message
    assert caught.value.hint is not None and "AGENTSYNC_CACHE_DIR" in caught.value.hint


def test_missing_git_is_a_clear_error(
    store: Store, source: GitRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(AgentsyncError, match="git was not found"):
        store.mirror(loc(source.url)).fetch()


def test_busy_lock_reports_the_source(store: Store, source: GitRepo) -> None:
    from agentsync._fs import file_lock
    from agentsync.errors import BusyError

    with Store(lock_timeout=0.2) as impatient:
        mirror = impatient.mirror(loc(source.url))
        lock_path = impatient.root / "locks" / f"{mirror.key}.lock"
        with file_lock(lock_path, timeout=1, what="test"), pytest.raises(BusyError) as caught:
            mirror.fetch()
    assert caught.value.subject == source.url


# --- readers and rebuilds --------------------------------------------------------------------


@pytest.mark.slow
def test_a_rebuild_waits_for_readers_and_gives_up_clearly(source: GitRepo) -> None:
    from agentsync.errors import BusyError

    with Store(timeout=20) as reading, Store(timeout=20, lock_timeout=0.3) as rebuilding:
        reader = reading.mirror(loc(source.url))
        commit = reader.resolve(None)  # holds the readers lock from here
        with pytest.raises(BusyError) as caught:
            rebuilding.mirror(loc(source.url)).rebuild()
        assert "reading" in caught.value.message and caught.value.subject == source.url
        assert reader.read_path(commit, "agents/alpha.md") == agent_md("alpha").encode()
        reading.close()  # the run ends: the rebuild may go ahead
        rebuilding.mirror(loc(source.url)).rebuild()
    assert list((rebuilding.root / "tmp").iterdir()) == []


def test_a_run_rebuilding_the_mirror_it_reads_does_not_wait_for_itself(source: GitRepo) -> None:
    with Store(timeout=20, lock_timeout=0.3) as store:
        mirror = store.mirror(loc(source.url))
        commit = mirror.resolve(None)
        assert mirror.read_path(commit, "agents/alpha.md") == agent_md("alpha").encode()
        mirror.rebuild()  # releases its own shared lock first
        mirror.fetch(again=True)
        assert mirror.read_path(commit, "agents/alpha.md") == agent_md("alpha").encode()


def test_progress_names_each_source_with_counts(make_repo: MakeRepo) -> None:
    repos = []
    for name in ("one", "two"):
        repo = make_repo(name)
        repo.write("agents/a.md", agent_md("a"))
        repo.commit("first")
        repos.append(repo)
    lines: list[str] = []
    with Store(timeout=20, progress=lines.append) as store:
        for name, repo in zip(("team", "vendor"), repos, strict=True):
            store.mirror(loc(repo.url), label=name)
        store.prefetch([loc(repo.url) for repo in repos])
    assert sorted(line for line in lines if line.startswith("fetching ")) == [
        "fetching team ...",
        "fetching vendor ...",
    ]
    done = sorted(line for line in lines if line.startswith("fetched "))
    assert len(done) == 2 and all("/2, " in line and line.endswith("s)") for line in done)
    assert {line.split()[1] for line in done} == {"team", "vendor"}
    assert not any(repo.url in line for line in lines for repo in repos)


@pytest.mark.slow
def test_a_long_fetch_says_it_is_still_going(
    silent_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agentsync.store as store_module

    monkeypatch.setattr(store_module, "HEARTBEAT_SECONDS", 0.3)
    lines: list[str] = []
    with Store(timeout=2, progress=lines.append) as store:
        mirror = store.mirror(loc(f"git://127.0.0.1:{silent_server}/agents"), label="slow")
        with pytest.raises(NetworkError):
            mirror.fetch()
    assert lines[0] == "fetching slow ..."
    assert any(line.startswith("still fetching slow (") for line in lines), lines
    assert not any(line.startswith("fetched ") for line in lines)  # it never succeeded


def test_locked_files_of_several_mirrors_come_through_one_process(
    store: Store, make_repo: MakeRepo
) -> None:
    from agentsync import vcs
    from agentsync.ids import BlobId
    from agentsync.mirror_reader import preload_together

    jobs = []
    for name in ("one", "two", "three"):
        repo = make_repo(name)
        repo.write(f"agents/{name}.md", agent_md(name))
        commit = Commit(repo.commit(name))
        mirror = mirror_of(store, repo)
        mirror.fetch()
        blob = BlobId(blob_id(agent_md(name).encode()))
        jobs.append((mirror.reader, [(commit, f"agents/{name}.md", blob)], blob, name))
    spawned = []
    real = vcs._spawn

    def counting(argv: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        spawned.append(argv)
        return real(argv, **kwargs)  # type: ignore[arg-type]

    vcs._spawn = counting  # type: ignore[assignment]
    try:
        preload_together([(reader, files) for reader, files, _blob, _name in jobs])
        for reader, files, blob, name in jobs:
            # answered from memory: the tree walk and the blob, checked against their ids
            assert reader.blob_at(files[0][0], files[0][1]) == blob
            assert reader.read_blob(blob) == agent_md(name).encode()
    finally:
        vcs._spawn = real  # type: ignore[assignment]
    assert len(spawned) == 1 and "cat-file" in spawned[0]
    assert all(reader.pid is None for reader, *_rest in jobs)  # no long-lived reader started


def test_a_batch_session_answers_round_after_round(store: Store, source: GitRepo) -> None:
    from agentsync import vcs

    commit = Commit(source.head())
    mirror = mirror_of(store, source)
    mirror.fetch()
    data = agent_md("alpha").encode()
    with vcs.BatchSession(mirror.path) as session:
        first = session.read([commit, f"{commit}^{{tree}}", "0" * 40, "a b"], budget=1 << 20)
        assert first[0] is not None and first[0][:2] == (commit, "commit")
        assert first[1] is not None and first[1][1] == "tree"
        assert first[2] is None and first[3] is None  # missing, and never sent
        blob = blob_id(data)
        (whole,) = session.read([blob], budget=1 << 20)
        assert whole == (blob, "blob", len(data), data)
        (cut,) = session.read([blob], budget=1)  # past the budget: the size, not the bytes
        assert cut == (blob, "blob", len(data), b"")


def test_first_look_at_a_commit_starts_no_long_lived_reader(store: Store, source: GitRepo) -> None:
    commit = Commit(source.head())
    mirror = mirror_of(store, source)
    mirror.fetch()
    assert mirror.read_path(commit, "agents/alpha.md") == agent_md("alpha").encode()
    assert mirror.read_path(commit, ".claude-plugin/marketplace.json") is None
    assert mirror.reader.pid is None
    assert [entry.path for entry in mirror.list_files(commit)] == ["agents/alpha.md"]
    assert mirror.reader.pid is None
    mirror.close()


# --- refs read from the mirror's files -----------------------------------------------------


def _refs_by_git(mirror: Mirror) -> dict[str, Commit | None]:
    patterns = ["refs/heads/", "refs/tags/", "refs/agentsync/HEAD"]
    return {r.name: r.commit for r in vcs.list_refs(mirror.path, patterns)}


def test_the_ref_table_read_from_files_is_what_git_lists(
    store: Store, source: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = source.head()
    source.write("agents/beta.md", agent_md("beta"))
    second = source.commit("second")
    source.git("branch", "feature/deep/x", first)
    source.tag("light", first)
    source.git("tag", "-a", "-m", "annotated", "v1", first)
    source.git("tag", "-a", "-m", "of a tag", "v1-again", "v1")
    source.git("tag", "tree-tag", f"{second}^{{tree}}")
    source.git("tag", "blob-tag", f"{second}:agents/beta.md")
    mirror = mirror_of(store, source)
    mirror.fetch()
    listed = _refs_by_git(mirror)
    assert listed["refs/tags/v1-again"] == first and listed["refs/tags/tree-tag"] is None
    calls: list[list[str]] = []
    real = vcs.run_git
    monkeypatch.setattr(
        vcs, "run_git", lambda args, **kw: calls.append(list(args)) or real(args, **kw)
    )
    for packed in (False, True, True):
        mirror.reader.forget_refs()
        calls.clear()
        assert mirror.reader.refs._ref_table() == listed
        assert not [c for c in calls if "for-each-ref" in c]  # no process of its own
        assert vcs.ref_files(mirror.path, ["refs/"]) == vcs.ref_values(mirror.path, ["refs/"])
        if packed:  # a loose ref newer than its packed line wins
            real(["update-ref", "refs/heads/feature/deep/x", second], git_dir=mirror.path)
            listed["refs/heads/feature/deep/x"] = Commit(second)
        else:
            real(["pack-refs", "--all"], git_dir=mirror.path)
            assert (mirror.path / "packed-refs").is_file()


def test_unusual_ref_files_are_left_to_git(store: Store, source: GitRepo) -> None:
    mirror = mirror_of(store, source)
    mirror.fetch()
    patterns = ["refs/heads/", "refs/tags/"]
    assert vcs.ref_files(mirror.path, patterns) == {"refs/heads/main": source.head()}
    (mirror.path / "refs" / "heads" / "main.lock").write_text("left by a kill\n")
    assert vcs.ref_files(mirror.path, patterns) == {"refs/heads/main": source.head()}
    odd = mirror.path / "refs" / "heads" / "odd"
    for text in ("not an id\n", ""):
        odd.write_text(text)
        assert vcs.ref_files(mirror.path, patterns) is None
    for hidden in (".hidden", "has space"):  # names git skips: git is asked instead
        odd.with_name(hidden).write_text(f"{source.head()}\n")
        assert vcs.ref_files(mirror.path, patterns) is None
        odd.with_name(hidden).unlink()
    mirror.reader.forget_refs()
    odd.unlink()
    linked = mirror.path / "refs" / "tags" / "linked"
    linked.symlink_to(mirror.path / "refs" / "heads")  # no fetch writes these: damaged
    with pytest.raises(vcs.GitCorrupt) as caught:
        vcs.ref_files(mirror.path, patterns)
    assert "refs/tags/linked is a link" in caught.value.stderr
    linked.unlink()
    os.mkfifo(linked)  # git's own read of it would wait forever
    with pytest.raises(vcs.GitCorrupt) as caught:
        vcs.ref_files(mirror.path, patterns)
    assert "refs/tags/linked is not a file" in caught.value.stderr
    mirror.reader.forget_refs()
    with pytest.raises(SourceError):
        mirror.reader.refs.branches()
    linked.unlink()
    (mirror.path / "packed-refs").write_text("garbage\n")
    assert vcs.ref_files(mirror.path, patterns) is None
    (mirror.path / "packed-refs").unlink()
    odd.write_text("not an id\n")  # git skips a ref it cannot read
    mirror.reader.forget_refs()
    assert mirror.reader.refs.branches() == {"main": source.head()}


def test_a_fetch_into_a_mirror_with_a_fifo_among_its_refs_rebuilds_it(
    store: Store, source: GitRepo
) -> None:
    """The look at a mirror's health before a fetch reads the refs itself first: git's
    `for-each-ref` would wait on the FIFO for ever."""
    mirror = mirror_of(store, source)
    mirror.fetch()
    fifo = mirror.path / "refs" / "heads" / "stuck"
    os.mkfifo(fifo)
    source.write("agents/later.md", agent_md("later", "Added upstream."))
    source.commit("later")
    fetching = threading.Thread(target=mirror_of(Store(store.root), source).fetch, daemon=True)
    fetching.start()
    fetching.join(timeout=60)
    if fetching.is_alive():  # let git's read of the FIFO end, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("the fetch waited on the FIFO")
    assert not os.path.lexists(fifo)
    assert vcs.ref_files(mirror.path, ["refs/heads/"]) == {"refs/heads/main": source.head()}


def test_a_symbolic_ref_planted_in_a_mirror_never_chooses_the_commit(
    store: Store, source: GitRepo
) -> None:
    """No fetch writes a symbolic ref under a mirror's refs, and git's fetch leaves one where
    it is (the branch it names keeps its old value): the mirror is damaged. Read, it says so;
    fetched, it is rebuilt, and the branch is upstream's again."""
    old = source.head()
    source.write("agents/later.md", agent_md("later", "Added upstream."))
    new = source.commit("later")
    source.git("branch", "old", old)
    mirror = mirror_of(store, source)
    mirror.fetch()
    (mirror.path / "refs" / "heads" / "main").write_text("ref: refs/heads/old\n")
    mirror.reader.forget_refs()
    with pytest.raises(SourceError) as caught:
        mirror.resolve("main")
    assert "refs/heads/main is a symbolic ref" in caught.value.message
    store.close()  # its reader: one run, one store
    with Store(store.root) as later:
        again = mirror_of(later, source)
        again.fetch()
        assert again.resolve("main") == new
    assert (mirror.path / "refs" / "heads" / "main").read_text() == f"{new}\n"


def test_a_ref_file_too_large_for_a_ref_is_a_damaged_cache(store: Store, source: GitRepo) -> None:
    mirror = mirror_of(store, source)
    mirror.fetch()
    with (mirror.path / "refs" / "tags" / "huge").open("wb") as huge:
        huge.truncate(64 * 1024**3)  # sparse: never read whole
    mirror.reader.forget_refs()
    with pytest.raises(SourceError) as caught:
        mirror.reader.refs.branches()
    assert "refs/tags/huge is not a ref" in caught.value.message
