"""The README stays true: its codes table and its test command match the code and CI."""

from __future__ import annotations

from pathlib import Path

from agentsync.compat import CODES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_diagnostic_code_is_documented_with_its_severity() -> None:
    for code, (severity, _title) in CODES.items():
        assert f"| {code} | {severity} |" in README, code


def test_ci_runs_the_readme_test_command() -> None:
    command = ".venv/bin/python -m pytest -q"
    assert command in README
    assert command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_readme_lists_the_shipped_presets() -> None:
    from agentsync.presets import preset_names

    for name in preset_names():
        assert f"`{name}`" in README, name
