"""Measure `check --json` and `check --fix` against the real client on a folder of agent files.

Usage: python benchmarks/contract_corpus.py CORPUS_DIR --claude PATH [--oracle SCRIPT]
                                            [--report FILE] [--no-fix] [--spawn-check]

Every `*.md` below CORPUS_DIR is one case (the corpus itself is never part of this
repository). Files are spread over throwaway projects so that no two files that could
share a name meet in one project; each project is run once through the client, offline,
and the agents it lists are compared with checker's JSON on loads, name, description and
tools. With fixing on (the default), each file is also put through `fix_agent`: the new
frontmatter must parse with `yaml.safe_load`, and the client must list the fixed file
with the name, description and tools it listed for the original (or, for a file it
dropped, the evident ones agentsync repaired it to). With `--spawn-check`, every agent
the client listed is also launched once (the API stand-in answers the main conversation with
one Agent call per agent, as tests/test_contract_spawn.py does): the launch must happen
exactly when check says `launch`, and the tools the subagent's own first request offers must
be check's `effective_tools` (null read as the default set, taken from a plain probe agent
launched in the same run). Prints agreement counts; `--report` writes every disagreement as
JSON. Not a test: it needs a client and takes minutes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml

from agentsync.checker import check_paths, render_json
from agentsync.fixer import fix_agent
from agentsync.frontmatter import parse_agent, split_file, split_tools
from tests.contract_claude import BUILT_INS, ClientRun, launch_all, run_client

Listing = dict[str, tuple[str | None, str | None]]  # name -> (description, tools text)
Expected = tuple[bool, str | None, str | None, str | None]  # loads, name, description, tools


@dataclass
class Case:
    """One corpus file and what agentsync says about it."""

    key: str  # unique id, also its file name inside a batch project
    source: Path
    data: bytes
    prediction: dict[str, Any] = field(default_factory=dict)
    disallowed: tuple[str, ...] = ()
    names: frozenset[str] = frozenset()  # every name the client might list it under


# --- asking the client --------------------------------------------------------------------


def harness_client(claude: str) -> Callable[[Path], Listing]:
    """The repository's own offline harness (tests/contract_claude.py)."""

    def ask(project: Path) -> Listing:
        run = run_client(claude, project)
        return {
            name: (run.listed[name].description, run.listed[name].tools)
            if name in run.listed
            else (None, None)
            for name in run.names
        }

    return ask


def oracle_client(claude: str, oracle: str) -> Callable[[Path], Listing]:
    """An outside oracle script printing {"agents": {name: {description, tools}}}."""

    def ask(project: Path) -> Listing:
        done = subprocess.run(
            [sys.executable, oracle, str(project), "--claude", claude],
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
        agents = json.loads(done.stdout)["agents"]
        return {n: (a.get("description"), a.get("tools")) for n, a in agents.items()}

    return ask


def shown_tools(tools: list[str] | tuple[str, ...] | None, disallowed: tuple[str, ...]) -> str:
    """How the client's agent listing shows an agent's tools (its own rule, 2.1.330)."""
    if tools:
        kept = [t for t in tools if t not in disallowed] if disallowed else list(tools)
        return ", ".join(kept) if kept else "None"
    if disallowed:
        return f"All tools except {', '.join(disallowed)}"
    return "All tools"


# --- cases and batches --------------------------------------------------------------------


def load_cases(corpus: Path) -> list[Case]:
    cases = []
    for index, path in enumerate(sorted(corpus.rglob("*.md"))):
        if path.is_file():
            cases.append(Case(f"c{index:05d}", path, path.read_bytes()))
    return cases


def predict(cases: list[Case], folder: Path) -> None:
    """Run `check --json` over all cases at once and attach each file's entry."""
    for case in cases:
        (folder / f"{case.key}.md").write_bytes(case.data)
    # As in every batch project: no .mcp.json, and a HOME of its own (no user agents, no
    # user settings), which is how the client is run.
    home = folder / "home"
    home.mkdir()
    report = check_paths([str(folder)], mcp_servers=frozenset(), environ={"HOME": str(home)})
    by_key = {Path(e["path"]).stem: e for e in render_json(report)}
    for case in cases:
        case.prediction = by_key[case.key]
        agent = parse_agent(case.data)
        case.disallowed = disallowed_tools(agent.fields)
        candidates = {agent.name, agent.evident_name, _raw_name(case.data)}
        case.names = frozenset(n for n in candidates if n)


def disallowed_tools(fields: Mapping[str, Any]) -> tuple[str, ...]:
    if "disallowedTools" not in fields:
        return ()
    return split_tools(fields["disallowedTools"]) or ()


def _raw_name(data: bytes) -> str | None:
    """The text after `name:` on its line, as a rough guess independent of the parser."""
    for line in data.decode("utf-8", errors="replace").splitlines()[:80]:
        if line.startswith("name:"):
            return line[5:].strip().strip("'\"") or None
    return None


def batches(cases: Iterable[Case]) -> list[list[Case]]:
    """Greedy colouring: no two cases in one batch share any possible name."""
    used: list[set[str]] = []
    out: list[list[Case]] = []
    for case in cases:
        index = next((i for i, names in enumerate(used) if not names & case.names), len(out))
        if index == len(out):
            used.append(set())
            out.append([])
        used[index] |= case.names
        out[index].append(case)
    return out


def run_batch(ask: Callable[[Path], Listing], files: dict[str, bytes]) -> Listing:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        agents = root / ".claude" / "agents"
        agents.mkdir(parents=True)
        for key, data in files.items():
            (agents / f"{key}.md").write_bytes(data)
        subprocess.run(["git", "init", "-q", str(root)], check=True)
        return ask(root)


# --- comparing ----------------------------------------------------------------------------


@dataclass
class Tally:
    files: int = 0
    loads: int = 0
    name: int = 0
    description: int = 0
    tools: int = 0
    both_load: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)

    def line(self, title: str) -> str:
        return (
            f"{title}: {self.files} files; loads agree {self.loads}/{self.files}; "
            f"of {self.both_load} loaded by both: name {self.name}, "
            f"description {self.description}, tools {self.tools}"
        )


def compare(
    batch: list[Case],
    listed: Listing,
    expected: Callable[[Case], Expected],
    tally: Tally,
    label: str,
) -> None:
    """`expected(case)` -> (loads, name, description, tools as the listing shows them)."""
    claimed: set[str] = set()
    for case in batch:
        tally.files += 1
        loads, name, description, tools = expected(case)
        hit = next((n for n in sorted(case.names | {name or ""}) if n in listed), None)
        if hit in BUILT_INS and not loads:
            hit = None
        client_loads = hit is not None
        claimed.update(n for n in case.names if n in listed)
        if client_loads == loads:
            tally.loads += 1
        else:
            tally.problems.append(
                {
                    "what": f"{label}: loads",
                    "file": str(case.source),
                    "expected": loads,
                    "client": client_loads,
                    "client_name": hit,
                }
            )
            continue
        if not loads:
            continue
        tally.both_load += 1
        got_description, got_tools = listed[hit] if hit else (None, None)
        for what, ours, theirs in (
            ("name", name, hit),
            ("description", description, got_description),
            ("tools", tools, got_tools),
        ):
            if ours == theirs:
                setattr(tally, what, getattr(tally, what) + 1)
            else:
                tally.problems.append(
                    {
                        "what": f"{label}: {what}",
                        "file": str(case.source),
                        "expected": ours,
                        "client": theirs,
                    }
                )
    stray = set(listed) - claimed - BUILT_INS
    for name in sorted(stray):
        tally.problems.append({"what": f"{label}: unattributed agent", "client_name": name})


def predicted_view(case: Case) -> Expected:
    entry = case.prediction
    if not entry["loads"]:
        return False, None, None, None
    return True, entry["name"], entry["description"], shown_tools(entry["tools"], case.disallowed)


# --- fixing -------------------------------------------------------------------------------


def strict_yaml_ok(data: bytes) -> bool | None:
    """Whether the frontmatter parses with yaml.safe_load (None: the file has none)."""
    parts = split_file(data)
    if parts is None:
        return None
    try:
        yaml.safe_load(parts[1])
    except yaml.YAMLError:
        return False
    return True


def check_round(
    ask: Callable[[Path], Listing], cases: list[Case]
) -> tuple[Tally, dict[str, Expected]]:
    """Compare `check --json` with the client; also return what the client listed per file."""
    tally = Tally()
    client_view: dict[str, Expected] = {}
    for batch in batches(cases):
        listed = run_batch(ask, {c.key: c.data for c in batch})
        compare(batch, listed, predicted_view, tally, "check")
        for case in batch:
            hit = next((n for n in sorted(case.names) if n in listed), None)
            if hit in BUILT_INS and not case.prediction["loads"]:
                hit = None
            client_view[case.key] = (True, hit, *listed[hit]) if hit else (False, None, None, None)
    return tally, client_view


def fix_round(
    ask: Callable[[Path], Listing], cases: list[Case], client_view: dict[str, Expected]
) -> tuple[Tally, str]:
    """Fix every file; the client must list each as it listed the original (or repaired)."""
    tally = Tally()
    fixed = {c.key: Case(c.key, c.source, fix_agent(c.data)) for c in cases}
    strict_ok = strict_total = changed = repaired = 0
    for case in cases:
        after = fixed[case.key]
        parsed = parse_agent(after.data)
        after.names = case.names | ({parsed.name} if parsed.name else set())
        after.disallowed = disallowed_tools(parsed.fields)
        changed += after.data != case.data
        repaired += parsed.loads and not client_view[case.key][0]
        verdict = strict_yaml_ok(after.data)
        if verdict is None or not (parsed.loads or after.data != case.data):
            continue
        strict_total += 1
        strict_ok += verdict
        if not verdict:
            tally.problems.append({"what": "fix: not yaml.safe_load", "file": str(case.source)})

    def expected(case: Case) -> Expected:
        if client_view[case.key][0]:
            return client_view[case.key]  # what the client listed for the original
        after = parse_agent(case.data)
        if not after.loads:
            return False, None, None, None
        return True, after.name, after.description, shown_tools(after.tools, case.disallowed)

    for batch in batches(fixed.values()):
        compare(batch, run_batch(ask, {c.key: c.data for c in batch}), expected, tally, "fix")
    dropped = sum(1 for view in client_view.values() if not view[0])
    summary = (
        f"fix: {changed} files rewritten, {repaired} of {dropped} dropped files repaired; "
        f"yaml.safe_load accepts {strict_ok}/{strict_total} loadable outputs"
    )
    return tally, summary


# --- launching ----------------------------------------------------------------------------

PROBE = "agentsync-default-probe"  # a plain agent: its launch shows the run's default tool set
PROBE_FILE = f"---\nname: {PROBE}\ndescription: Default tool set probe.\n---\nProbe.\n".encode()


@dataclass
class SpawnTally:
    agents: int = 0
    launch: int = 0
    both_launch: int = 0
    tools: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"spawn: {self.agents} listed agents launched; launch agrees {self.launch}/"
            f"{self.agents}; of {self.both_launch} launched by both: effective tools "
            f"{self.tools}"
        )


def launch_batch(claude: str, files: dict[str, bytes], names: list[str]) -> ClientRun:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        agents = root / ".claude" / "agents"
        agents.mkdir(parents=True)
        for key, data in files.items():
            (agents / f"{key}.md").write_bytes(data)
        (agents / "zz-probe.md").write_bytes(PROBE_FILE)
        subprocess.run(["git", "init", "-q", str(root)], check=True)
        # A first commit, as a real project has: `isolation: worktree` needs a base commit.
        who = ["-c", "user.name=corpus", "-c", "user.email=corpus@localhost"]
        start = ["commit", "-q", "--allow-empty", "-m", "start"]
        subprocess.run(["git", *who, "-C", str(root), *start], check=True)
        with tempfile.TemporaryDirectory() as home:
            return launch_all(claude, root, [PROBE, *names], 180, home=Path(home))


def spawn_round(claude: str, cases: list[Case], client_view: dict[str, Expected]) -> SpawnTally:
    """Launch every agent the client listed; compare with `launch` and `effective_tools`."""
    tally = SpawnTally()
    listed = [c for c in cases if client_view[c.key][0] and PROBE not in c.names]
    for batch in batches(listed):
        names = {c.key: str(client_view[c.key][1]) for c in batch}
        run = launch_batch(claude, {c.key: c.data for c in batch}, list(names.values()))
        default = run.launches[PROBE].tools
        if default is None:
            tally.problems.append({"what": "spawn: the probe agent did not launch"})
            continue
        for case in batch:
            tally.agents += 1
            launch = run.launches[names[case.key]]
            predicted = bool(case.prediction["launch"])
            client = launch.tools is not None
            if launch.tools is None and not launch.refusal:
                tally.problems.append({"what": "spawn: no answer", "file": str(case.source)})
                continue
            if predicted != client:
                tally.problems.append(
                    {
                        "what": "spawn: launch",
                        "file": str(case.source),
                        "expected": predicted,
                        "client": client,
                        "refusal": launch.refusal,
                    }
                )
                continue
            tally.launch += 1
            if not client:
                continue
            tally.both_launch += 1
            effective = case.prediction["effective_tools"]
            ours = default if effective is None else tuple(sorted(set(effective)))
            if ours == launch.tools:
                tally.tools += 1
            else:
                tally.problems.append(
                    {
                        "what": "spawn: effective_tools",
                        "file": str(case.source),
                        "expected": list(ours),
                        "client": list(launch.tools or ()),
                    }
                )
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--claude", required=True)
    parser.add_argument("--oracle", help="use this oracle script instead of tests/contract_claude")
    parser.add_argument("--report", type=Path, help="write every disagreement here as JSON")
    parser.add_argument("--no-fix", action="store_true", help="skip the --fix round trip")
    parser.add_argument(
        "--spawn-check", action="store_true", help="also launch every listed agent (slow)"
    )
    args = parser.parse_args()

    ask = oracle_client(args.claude, args.oracle) if args.oracle else harness_client(args.claude)
    cases = load_cases(args.corpus)
    work = Path(tempfile.mkdtemp(prefix="contract-corpus-"))
    try:
        predict(cases, work)
    finally:
        shutil.rmtree(work)
    print(f"{len(cases)} files", flush=True)
    original, client_view = check_round(ask, cases)
    print(original.line("check --json vs client"))
    problems = original.problems
    if not args.no_fix:
        fixed, summary = fix_round(ask, cases, client_view)
        print(summary)
        print(fixed.line("fixed files vs client"))
        problems = problems + fixed.problems
    if args.spawn_check:
        spawned = spawn_round(args.claude, cases, client_view)
        print(spawned.line())
        problems = problems + spawned.problems
    if args.report:
        args.report.write_text(json.dumps(problems, indent=1, ensure_ascii=False))
    for problem in problems[:40]:
        print(json.dumps(problem, ensure_ascii=False)[:400])


if __name__ == "__main__":
    main()
