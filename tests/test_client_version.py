"""`check` says which client's rules it applies, and warns when the installed client is
outside the versions those rules were verified on."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from agentsync import checker
from agentsync.checker import InstalledClient, client_lines, installed_client
from agentsync.frontmatter import CLIENT_VERSION, VERIFIED_CLIENTS
from tests.fixtures import Cli


def fake_client(folder: Path, script: str, name: str = "claude") -> Path:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def test_the_rules_and_the_verified_range() -> None:
    low, high = VERIFIED_CLIENTS
    assert low <= CLIENT_VERSION <= high
    assert (low, high) == ("2.1.330", "2.1.332")


@pytest.mark.parametrize(
    ("version", "verified"),
    [
        ("2.1.330", True),
        ("2.1.331", True),
        ("2.1.332", True),
        ("2.1.329", False),
        ("2.1.333", False),
        ("2.2.0", False),
        ("10.1.331", False),
        (None, False),
    ],
)
def test_verified_range(version: str | None, verified: bool) -> None:
    assert InstalledClient("claude", version).verified is verified


def test_the_version_is_read_from_claude_bin(tmp_path: Path) -> None:
    client = fake_client(tmp_path, 'echo "2.1.331 (Claude Code)"', "my-claude")
    found = installed_client({"CLAUDE_BIN": str(client), "PATH": ""})
    assert found == InstalledClient(str(client), "2.1.331")


def test_the_version_is_read_from_path(tmp_path: Path) -> None:
    fake_client(tmp_path, 'echo "2.1.400 (Claude Code)"')
    found = installed_client({"PATH": str(tmp_path)})
    assert found == InstalledClient(str(tmp_path / "claude"), "2.1.400")


def test_no_client_found(tmp_path: Path) -> None:
    assert installed_client({"PATH": str(tmp_path)}) is None


@pytest.mark.parametrize(
    "script",
    ["echo 'no version here'", "echo 2.1.330; exit 3", "sleep 5"],
    ids=["no-version", "fails", "hangs"],
)
def test_a_client_that_does_not_answer_has_no_version(
    script: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checker, "VERSION_TIMEOUT", 0.3)
    client = fake_client(tmp_path, script)
    assert installed_client({"CLAUDE_BIN": str(client)}) == InstalledClient(str(client), None)


def test_a_client_that_cannot_run_has_no_version(tmp_path: Path) -> None:
    client = tmp_path / "claude"
    client.write_text("not a program", encoding="utf-8")  # not executable
    assert installed_client({"CLAUDE_BIN": str(client)}) == InstalledClient(str(client), None)


def test_what_check_says_about_the_client() -> None:
    inside, outside = InstalledClient("/c", "2.1.331"), InstalledClient("/c", "2.1.340")
    assert client_lines(inside) == []
    assert client_lines(None) == []
    assert client_lines(InstalledClient("/c", None)) == []
    [warning] = client_lines(outside)
    assert warning.startswith("warning: the installed Claude Code 2.1.340 (/c) is outside")
    assert "(2.1.330 to 2.1.332)" in warning
    rules = "rules: Claude Code 2.1.330, verified on 2.1.330 to 2.1.332"
    assert client_lines(inside, verbose=True) == [
        rules,
        "installed client: Claude Code 2.1.331 (/c)",
    ]
    assert client_lines(None, verbose=True)[1].startswith("installed client: none found")
    unread = client_lines(InstalledClient("/c", None), verbose=True)[1]
    assert unread == "installed client: /c (its version could not be read)"
    assert client_lines(outside, verbose=True)[0] == rules


def agents_folder(tmp_path: Path) -> Path:
    agents = tmp_path / ".claude" / "agents"
    agents.mkdir(parents=True)
    (agents / "a.md").write_text("---\nname: a\ndescription: d\n---\nbody\n", encoding="utf-8")
    return agents


def test_check_warns_about_a_client_outside_the_range(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agents = agents_folder(tmp_path)
    marker = tmp_path / "ran"
    client = fake_client(tmp_path, f'touch "{marker}"; echo "2.1.400 (Claude Code)"')
    monkeypatch.setenv("CLAUDE_BIN", str(client))
    result = cli("check", str(agents), cwd=tmp_path)
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].startswith("1 file checked against Claude Code 2.1.330: 1 load")
    assert lines[1].startswith("warning: the installed Claude Code 2.1.400")
    verbose = cli("-v", "check", str(agents), cwd=tmp_path)
    assert "rules: Claude Code 2.1.330, verified on 2.1.330 to 2.1.332" in verbose.out
    marker.unlink()
    quiet_json = cli("--json", "check", str(agents), cwd=tmp_path)
    assert quiet_json.code == 0
    assert not marker.exists()  # --json never runs the client
    assert "warning" not in quiet_json.out


def test_check_is_silent_about_a_verified_client(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agents = agents_folder(tmp_path)
    monkeypatch.setenv("CLAUDE_BIN", str(fake_client(tmp_path, "echo 2.1.330")))
    result = cli("check", str(agents), cwd=tmp_path)
    assert result.out.splitlines()[-1].startswith("1 file checked against")
    missing = tmp_path / "nowhere" / "claude"
    monkeypatch.setenv("CLAUDE_BIN", str(missing))  # a wrong CLAUDE_BIN: no traceback
    broken = cli("-v", "check", str(agents), cwd=tmp_path)
    assert broken.code == 0
    assert f"installed client: {missing} (its version could not be read)" in broken.out


def test_a_client_that_hangs_is_ended_with_what_it_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checker, "VERSION_TIMEOUT", 0.3)
    marker = tmp_path / "grandchild.pid"
    client = fake_client(tmp_path, f"sleep 30 & echo $! > {marker}; wait")
    found = checker.installed_client({"CLAUDE_BIN": str(client), "PATH": os.environ["PATH"]})
    assert found is not None and found.version is None
    stat = Path(f"/proc/{int(marker.read_text())}/stat")
    for _ in range(50):  # killed at once; gone, or a zombie until something reaps it
        if not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the client's own child outlived it")
