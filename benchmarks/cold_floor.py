"""How fast a cold install could be with git doing what agentsync asks of it, and nothing else.

    python benchmarks/cold_floor.py [--sources 20] [--agents 50] [--repeat 5]

On generated local sources (the same as `bench_speed.py`'s), it times side by side, median of
--repeat runs, wall and CPU of this process and its children:

  clone     parallel `git clone --bare --depth 1` (one worker per CPU): the cold baseline
  pipeline  what a cold install does with git, done by a bare script: for each source, on
            8 threads as agentsync uses, an empty mirror written by hand, the same `git
            fetch` (all branches and tags and HEAD, one pack, no maintenance), one
            `git cat-file --batch` reading the commit's tree, the agents folder and every
            agent file, each file written to a temp file as it arrives; then one sync, the
            renames and one folder fsync

The pipeline has no checks, no lock, no journal and no report: the difference between it and
the clone is git's share, and the difference between it and `agentsync install` is Python's.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_speed

FETCH_THREADS = 8  # as agentsync's prefetch


def empty_mirror(git_dir: Path) -> None:
    for folder in ("objects/pack", "objects/info", "refs/heads", "refs/tags"):
        (git_dir / folder).mkdir(parents=True)
    (git_dir / "HEAD").write_text("ref: refs/heads/main\n")
    (git_dir / "config").write_text("[core]\n\trepositoryformatversion = 0\n\tbare = true\n")


def tree_entries(data: bytes) -> list[tuple[str, str]]:
    """(name, object id) of each entry of a raw git tree object."""
    entries, at = [], 0
    while at < len(data):
        space = data.index(b" ", at)
        nul = data.index(b"\0", space)
        entries.append((data[space + 1 : nul].decode(), data[nul + 1 : nul + 21].hex()))
        at = nul + 21
    return entries


class Pipeline:
    def __init__(self, urls: list[str], env: dict[str, str], root: Path) -> None:
        self.urls, self.env, self.root = urls, env, root
        self.written: list[str] = []
        self.guard = threading.Lock()

    def one(self, index: int, target_fd: int) -> None:
        git_dir = self.root / f"{index}.git"
        empty_mirror(git_dir)
        bench_speed.sh(
            [
                "git", f"--git-dir={git_dir}", "-c", "fetch.unpackLimit=1", "fetch", "--quiet",
                "--no-tags", "--no-auto-maintenance", self.urls[index],
                "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*", "+HEAD:refs/heads/HEAD",
            ],
            self.root,
            self.env,
        )  # fmt: skip
        reader = subprocess.Popen(
            ["git", f"--git-dir={git_dir}", "cat-file", "--batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=self.env,
        )
        assert reader.stdin is not None and reader.stdout is not None

        def ask(names: list[str]) -> list[bytes]:
            assert reader.stdin is not None and reader.stdout is not None
            reader.stdin.write("".join(f"{name}\n" for name in names).encode())
            reader.stdin.flush()
            found = []
            for _name in names:
                size = int(reader.stdout.readline().split()[2])
                found.append(reader.stdout.read(size + 1)[:-1])
            return found

        (top,) = ask(["refs/heads/HEAD^{tree}"])
        folder = dict(tree_entries(top))["agents"]
        (listing,) = ask([folder])
        files = tree_entries(listing)
        names = []
        for (name, _oid), data in zip(files, ask([oid for _name, oid in files]), strict=True):
            fd = os.open(
                f".{name}.tmp", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=target_fd
            )
            os.write(fd, data)
            os.close(fd)
            names.append(name)
        reader.stdin.close()
        reader.wait()
        with self.guard:
            self.written += names

    def run(self) -> None:
        target = self.root / "agents"
        target.mkdir()
        target_fd = os.open(target, os.O_RDONLY)
        try:
            with ThreadPoolExecutor(max_workers=FETCH_THREADS) as pool:
                list(pool.map(lambda i: self.one(i, target_fd), range(len(self.urls))))
            os.sync()
            for name in self.written:
                os.rename(f".{name}.tmp", name, src_dir_fd=target_fd, dst_dir_fd=target_fd)
            os.fsync(target_fd)
        finally:
            os.close(target_fd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=20)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="agentsync-cold-floor-"))
    env = bench_speed.clean_env(root / "home")
    (root / "home").mkdir()
    sources = bench_speed.make_sources(root / "sources", options.sources, options.agents, env)
    urls = [repo.as_uri() for repo in sources]
    times: dict[str, list[bench_speed.Sample]] = {"clone": [], "pipeline": []}
    for _ in range(options.repeat):  # side by side, so both see the machine in the same state
        dest = bench_speed.fresh_dir(root / "runs")
        clones = [
            ["git", "clone", "-q", "--bare", "--depth", "1", url, str(dest / f"{i}.git")]
            for i, url in enumerate(urls)
        ]
        clone = functools.partial(bench_speed.parallel, clones, root, env)
        times["clone"].append(bench_speed.timed_here(clone))
        pipeline = Pipeline(urls, env, bench_speed.fresh_dir(root / "runs"))
        times["pipeline"].append(bench_speed.timed_here(pipeline.run))
        if len(pipeline.written) != options.sources * options.agents:
            raise SystemExit(f"the pipeline wrote {len(pipeline.written)} files")
    baseline = statistics.median(s.wall for s in times["clone"])
    print(f"{options.sources} sources x {options.agents} agents, median of {options.repeat}:")
    for name, samples in times.items():
        wall = statistics.median(s.wall for s in samples)
        cpu = statistics.median(s.cpu for s in samples)
        print(f"  {name:9} {wall:.3f} s wall  {cpu:.3f} s CPU  {wall / baseline:.2f}x the clone")
    print(f"(sources and runs are left in {root}: delete it when done)")


if __name__ == "__main__":
    main()
