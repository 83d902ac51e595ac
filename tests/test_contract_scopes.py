"""Contract: `agentsync which` and the plugin loader's names agree with the real client about
scopes and plugin agents. Skipped without a client (set CLAUDE_BIN)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agentsync.plugins import plugin_agents
from agentsync.scopes import which
from tests.contract_claude import find_client, run_client, shown_tools
from tests.fixtures import agent_md
from tests.test_scopes import PLUGIN_LISTING, listing_plugin, plugin, write

CLIENT = find_client()
pytestmark = [
    pytest.mark.contract,
    pytest.mark.slow,
    pytest.mark.skipif(CLIENT is None, reason="Claude Code client not found (set CLAUDE_BIN)"),
]
__all__ = ["listing_plugin", "plugin"]  # the fixtures, shared with the unit tests


@pytest.fixture
def scopes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(project, HOME): the user agents live in HOME/.claude/agents, as the client reads them."""
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    home = tmp_path / "home"
    (home / ".claude" / "agents").mkdir(parents=True)
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.setenv("HOME", str(home))
    return project, home


def listed_description(project: Path, home: Path, name: str, *extra: str) -> str | None:
    assert CLIENT is not None
    run = run_client(CLIENT, project, home=home, extra=extra)
    entry = run.listed.get(name)
    return entry.description if entry is not None else None


def predicted_description(project: Path, home: Path, name: str) -> str | None:
    found = which(name, project, user_dir=home / ".claude" / "agents").active
    if found is None or found.path is None:
        return None
    return found.path.read_text().split("description: ", 1)[1].split("\n", 1)[0]


@pytest.mark.parametrize(
    ("project_file", "user_file", "expected"),
    [
        (agent_md("reviewer", "Project."), agent_md("reviewer", "User."), "Project."),
        (
            "---\nname: reviewer\n---\nBroken: no description.\n",
            agent_md("reviewer", "User."),
            "User.",
        ),
        (agent_md("Reviewer", "Project, other case."), agent_md("reviewer", "User."), "User."),
    ],
    ids=["project-wins", "broken-project-lets-user-win", "case-sensitive"],
)
def test_which_names_the_file_the_client_lists(
    scopes: tuple[Path, Path], project_file: str, user_file: str, expected: str
) -> None:
    project, home = scopes
    write(project / ".claude/agents/reviewer.md", project_file)
    write(home / ".claude/agents/reviewer.md", user_file)
    assert predicted_description(project, home, "reviewer") == expected
    assert listed_description(project, home, "reviewer") == expected


def test_a_file_named_like_a_built_in_replaces_it(scopes: tuple[Path, Path]) -> None:
    project, home = scopes
    write(project / ".claude/agents/explore.md", agent_md("Explore", "My own explorer."))
    found = which("Explore", project, user_dir=home / ".claude" / "agents").active
    assert found is not None and found.scope == "project"
    assert listed_description(project, home, "Explore") == "My own explorer."


def test_check_of_a_plugin_folder_predicts_the_client(
    scopes: tuple[Path, Path], plugin: Path
) -> None:
    project, home = scopes
    assert CLIENT is not None
    run = run_client(CLIENT, project, home=home, extra=[f"--plugin-dir={plugin}"])
    client = {n: (e.description, e.tools) for n, e in run.listed.items() if n.startswith("kit:")}
    checked = subprocess.run(
        [sys.executable, "-m", "agentsync", "--json", "check", str(plugin)],
        capture_output=True,
        text=True,
        check=False,
    )
    files = json.loads(checked.stdout)
    predicted = {
        f["name"]: (f["description"], shown_tools(f["tools"], tuple(f["disallowed"] or ())))
        for f in files
        if f["loads"]
    }
    assert predicted == client
    listed = plugin_agents(plugin)  # what `which` and marketplaces use reads the same
    assert listed is not None
    assert {a.name: a.description for a in listed[1]} == {n: d for n, (d, _) in client.items()}
    assert {n: d for n, (d, _) in client.items()} == {n: d for n, (d, _) in PLUGIN_LISTING.items()}
    skipped = {Path(f["path"]).name for f in files if not f["loads"]}
    assert skipped == {"link.md", "x.md"}  # a link to a file, and a file in a linked folder


def test_a_listing_plugin_and_a_refused_one_as_the_client_reads_them(
    scopes: tuple[Path, Path], listing_plugin: Path, tmp_path: Path
) -> None:
    project, home = scopes
    assert CLIENT is not None
    refused = tmp_path / "refused"
    write(refused / ".claude-plugin/plugin.json", '{"name": "Has Space"}')
    write(refused / "agents/a.md", agent_md("a", "A."))
    run = run_client(
        CLIENT,
        project,
        home=home,
        extra=[f"--plugin-dir={listing_plugin}", f"--plugin-dir={refused}"],
    )
    client = sorted(n for n in run.listed if ":" in n)
    predicted = []
    for root in (listing_plugin, refused):
        checked = subprocess.run(
            [sys.executable, "-m", "agentsync", "--json", "check", str(root)],
            capture_output=True,
            text=True,
            check=False,
        )
        predicted += [f["name"] for f in json.loads(checked.stdout) if f["loads"]]
    assert sorted(predicted) == client == ["cp:cus", "cp:deep", "cp:plain"]
