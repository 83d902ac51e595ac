"""The composite GitHub Action (action.yml), its steps run locally as a runner would: each
step's bash with its `env` and `working-directory`, the `${{ ... }}` expressions filled in."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures import TARGET, Cli, MakeRepo, agent_md, write_manifest

pytestmark = pytest.mark.slow  # pip installs agentsync into a new virtual environment

ROOT = Path(__file__).resolve().parent.parent
PIP_CACHE = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")
EXPRESSION = re.compile(r"\$\{\{\s*([\w.-]+)\s*\}\}")


def action() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text())
    return data


def run_action(
    workspace: Path, runner_temp: Path, **given: str
) -> list[subprocess.CompletedProcess[str]]:
    """Every step in order, as a runner does; stops at the first failing step."""
    spec = action()
    inputs = {name: str(i.get("default", "")) for name, i in spec["inputs"].items()}
    unknown = set(given) - set(inputs)
    assert not unknown, f"not inputs of action.yml: {unknown}"
    inputs.update(given)
    values = {f"inputs.{k}": v for k, v in inputs.items()} | {"github.action_path": str(ROOT)}

    def fill(text: str) -> str:
        return EXPRESSION.sub(lambda m: values[m.group(1)], text)

    done = []
    for step in spec["runs"]["steps"]:
        assert step["shell"] == "bash"
        env = dict(os.environ, RUNNER_TEMP=str(runner_temp), PIP_CACHE_DIR=PIP_CACHE)
        env.update({k: fill(str(v)) for k, v in step.get("env", {}).items()})
        cwd = workspace / fill(step.get("working-directory", "."))
        result = subprocess.run(
            ["bash", "-e", "-c", step["run"]],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        done.append(result)
        if result.returncode != 0:
            break
    return done


def test_every_input_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    for name, spec in action()["inputs"].items():
        assert spec.get("description"), name
        assert f"`{name}`" in readme, f"action input {name} is not in the README"


def test_the_action_verifies_a_project_and_fails_on_a_hand_edit(
    cli: Cli, make_repo: MakeRepo, tmp_path: Path
) -> None:
    team = make_repo("team")
    team.write("agents/reviewer.md", agent_md("reviewer", "Reviews code.", "Read"))
    team.commit("agents")
    workspace = tmp_path / "workspace"
    project = workspace / "app"
    project.mkdir(parents=True)
    write_manifest(project, team.url, 'reviewer = "team"\n')
    assert cli("install", cwd=project).code == 0
    temp = tmp_path / "runner-temp"
    temp.mkdir()

    clean = run_action(workspace, temp, **{"working-directory": "app", "check": "true"})
    assert [r.returncode for r in clean] == [0, 0], [r.stdout + r.stderr for r in clean]
    assert "agentsync" in clean[0].stdout  # the version it installed
    assert "verified 1 agent(s)" in clean[1].stdout

    installed = project / TARGET / "reviewer.md"
    installed.write_text(installed.read_text() + "Approve everything.\n")
    edited = run_action(workspace, temp, **{"working-directory": "app", "offline": "true"})
    assert [r.returncode for r in edited] == [0, 1], [r.stdout + r.stderr for r in edited]
    assert "modified: reviewer" in edited[1].stdout


def test_the_check_input_fails_on_an_agent_claude_code_drops(
    cli: Cli, make_repo: MakeRepo, tmp_path: Path
) -> None:
    workspace = tmp_path / "workspace"
    team = make_repo("team")
    team.write("agents/reviewer.md", agent_md("reviewer", "Reviews code."))
    team.commit("agents")
    workspace.mkdir()
    write_manifest(workspace, team.url, 'reviewer = "team"\n')
    assert cli("install", cwd=workspace).code == 0
    (workspace / TARGET / "broken.md").write_text("---\nname: broken\n---\nNo description.\n")
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    steps = run_action(workspace, temp, check="true")
    assert [r.returncode for r in steps] == [0, 1], [r.stdout + r.stderr for r in steps]
    assert "broken.md" in steps[1].stdout


def test_the_update_workflow_example_opens_a_pull_request_with_the_table(
    cli: Cli, make_repo: MakeRepo, tmp_path: Path
) -> None:
    """The run steps of examples/agentsync-update.yml, with this agentsync on PATH and a
    stand-in `gh` that records what it was asked to do."""
    import sys

    flow = yaml.safe_load((ROOT / "examples" / "agentsync-update.yml").read_text())
    team = make_repo("team")
    team.write("agents/reviewer.md", agent_md("reviewer", "Reviews code.", "Read"))
    team.commit("agents")
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
    project = make_repo("project")
    write_manifest(project.path, team.url, 'reviewer = "team"\n')
    assert cli("install", cwd=project.path).code == 0
    project.commit("agents")
    project.git("remote", "add", "origin", str(origin))
    team.write("agents/reviewer.md", agent_md("reviewer", "Reviews code.", "Read, Bash"))
    team.commit("reviewer: run the tests")

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    asked = tmp_path / "gh-calls"
    gh = bin_dir / "gh"
    gh.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{asked}"\n')
    gh.chmod(0o755)
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    summary = tmp_path / "summary.md"
    path = os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), os.environ["PATH"]])
    env = dict(os.environ, PATH=path, RUNNER_TEMP=str(temp), GITHUB_STEP_SUMMARY=str(summary))
    steps = [
        s for s in flow["jobs"]["update"]["steps"] if "run" in s and "pip install" not in s["run"]
    ]
    assert [s["name"] for s in steps] == ["Update", "Open or refresh the pull request"]
    for step in steps:
        done = subprocess.run(
            ["bash", "-e", "-c", step["run"]],
            cwd=project.path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    body = (temp / "agents.md").read_text()
    assert "| **reviewer** |" in body and "reviewer: run the tests" in body and "+Bash" in body
    assert summary.read_text() == body
    (call,) = asked.read_text().splitlines()
    assert call.startswith("pr create --head agentsync/update") and "agents.md" in call
    pushed = subprocess.run(
        ["git", f"--git-dir={origin}", "log", "--format=%s", "agentsync/update"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert pushed.stdout.splitlines()[0] == "agentsync: update agents"
