"""What `show` prints of an agent (model, every frontmatter field, the body) and what
`status` adds to each row (the pin it follows, a user-level agent it shadows)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.fixtures import Cli, GitRepo, MakeRepo

HOSTILE = """\
---
name: reviewer
description: "Reviews code.\\nNow \\u001b[2J"
tools: Read, Grep
model: sonnet
color: blue
hooks: [1, 2]
---
You are a reviewer.
\x1b]0;pwned\x07Be strict.
"""


@pytest.fixture
def team(make_repo: MakeRepo) -> GitRepo:
    repo = make_repo("team")
    repo.write("agents/reviewer.md", HOSTILE)
    repo.write("agents/broken.md", "---\nname: broken\ndescription: [unclosed\n---\nbody\n")
    repo.write("agents/plain.md", "no frontmatter at all\n")
    repo.commit("agents")
    return repo


def _project(cli: Cli, project_dir: Path, team: GitRepo) -> None:
    assert cli("init", cwd=project_dir).code == 0
    assert cli("source", "add", "team", team.url, cwd=project_dir).code == 0


def test_show_lists_model_and_every_frontmatter_field_escaped(
    cli: Cli, project_dir: Path, team: GitRepo
) -> None:
    _project(cli, project_dir, team)
    result = cli("show", "reviewer", cwd=project_dir)
    assert result.code == 0, result
    lines = result.out.splitlines()
    assert "model:       sonnet" in lines
    at = lines.index("frontmatter:")
    assert lines[at + 1 : at + 7] == [
        "  name: reviewer",
        "  description: Reviews code.\\nNow \\x1b[2J",
        "  tools: Read, Grep",
        "  model: sonnet",
        "  color: blue",
        "  hooks: [1, 2]",
    ]
    assert "\x1b" not in result.out and "You are a reviewer." not in result.out
    data = json.loads(cli("--json", "show", "reviewer", cwd=project_dir).out)
    assert data["model"] == "sonnet"
    assert data["frontmatter"] == {
        "name": "reviewer",
        "description": "Reviews code.\nNow \x1b[2J",
        "tools": "Read, Grep",
        "model": "sonnet",
        "color": "blue",
        "hooks": [1, 2],
    }
    assert data["body"] is None  # only with --body


def test_show_gives_the_fields_the_client_reads_through_its_fallback(
    cli: Cli, project_dir: Path, team: GitRepo
) -> None:
    _project(cli, project_dir, team)
    # not YAML, but the client's quoting fallback reads it: the fields as the client has them
    broken = cli("show", "broken", cwd=project_dir)
    assert "  description: [unclosed" in broken.out.splitlines(), broken
    assert "model:       -" in broken.out.splitlines()
    data = json.loads(cli("--json", "show", "broken", cwd=project_dir).out)
    assert data["frontmatter"] == {"name": "broken", "description": "[unclosed"}
    assert data["model"] is None


def test_show_body_prints_the_prompt_plainly_into_a_pipe(
    cli: Cli, project_dir: Path, team: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(cli, project_dir, team)
    paged = project_dir.parent / "paged.txt"
    monkeypatch.setenv("PAGER", f"sh -c 'cat > {paged}'")
    result = cli("show", "reviewer", "--body", cwd=project_dir)
    assert result.code == 0, result
    assert not paged.exists()  # never a pager when stdout is not a terminal
    assert "  hooks: [1, 2]" in result.out.splitlines()
    assert result.out.endswith("\n\nbody:\nYou are a reviewer.\n\\x1b]0;pwned\\x07Be strict.\n")
    data = json.loads(cli("--json", "show", "reviewer", "--body", cwd=project_dir).out)
    assert data["body"] == "You are a reviewer.\n\x1b]0;pwned\x07Be strict.\n"


def test_show_body_goes_through_the_pager_on_a_terminal(
    cli: Cli, project_dir: Path, team: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(cli, project_dir, team)
    paged = project_dir.parent / "paged.txt"
    monkeypatch.setenv("PAGER", f"sh -c 'cat > {paged}'")  # a real pager process
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    result = cli("show", "reviewer", "--body", cwd=project_dir)
    assert result.code == 0, result
    text = paged.read_text()
    assert result.out == ""
    assert text.startswith("team/reviewer  (agents/reviewer.md @ ")
    assert text.endswith("body:\nYou are a reviewer.\n\\x1b]0;pwned\\x07Be strict.\n")
    assert "\x1b" not in text  # the pager gets the escaped text too
