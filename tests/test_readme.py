"""The README stays true: its codes table and its test command match the code and CI."""

from __future__ import annotations

from pathlib import Path

from agentsync.compat import CODES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_diagnostic_code_is_documented_with_its_severity() -> None:
    assert len(CODES) >= 40  # the table really is the checker's
    for code, (severity, _title) in CODES.items():
        assert f"| {code} | {severity} |" in README, code


def test_ci_runs_the_readme_test_command() -> None:
    command = ".venv/bin/python -m pytest -q"
    assert command in README
    assert command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_readme_lists_the_shipped_presets() -> None:
    from agentsync.presets import preset_names

    names = preset_names()
    assert {"empty", "voltagent", "wshobson"} <= set(names)  # the presets really were found
    for name in names:
        assert f"`{name}`" in README, name


def test_every_promise_of_the_threat_model_names_tests_that_exist() -> None:
    """A promise in the README is a test: each guaranteed item names at least one test, and
    every test it names is defined where it says."""
    import re

    section = README.split("## Threat model", 1)[1].split("**Not guaranteed", 1)[0]
    promises = [p for p in re.split(r"\n- \*\*", section)[1:] if p.strip()]
    assert len(promises) >= 10
    for promise in promises:
        named = re.findall(r"`(test_\w+\.py)::(test_\w+)`", promise)
        assert named, promise.split("**", 1)[0]
        for module, test in named:
            text = (ROOT / "tests" / module).read_text(encoding="utf-8")
            assert re.search(rf"^def {test}\(", text, re.MULTILINE), f"{module}::{test}"
