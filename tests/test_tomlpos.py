"""Tests for agentsync.tomlpos: the line of every key path, and the keyed error messages."""

from __future__ import annotations

from pathlib import Path

from agentsync.tomlpos import KeyedErrors, toml_key_lines


def test_key_lines_handle_multiline_values_and_quoted_keys() -> None:
    text = (
        "# comment [not.a.table]\n"
        "top = '''\n"
        "x = 1\n"
        "[fake]\n"
        "'''\n"
        '[sources."odd.name"]  # trailing\n'
        "include = [\n"
        '  "a",  # note\n'
        '  "b]",\n'
        "]\n"
        'url = "he said \\"=\\" #"\n'
        "[agents]\n"
        'x = { source = "s", agent = "y" }\n'
        'dotted.key = "v"\n'
    )
    lines = toml_key_lines(text)
    assert lines[("top",)] == 2
    assert ("x",) not in lines
    assert ("fake",) not in lines
    assert lines[("sources", "odd.name")] == 6
    assert lines[("sources", "odd.name", "include")] == 7
    assert lines[("sources", "odd.name", "url")] == 11
    assert lines[("agents",)] == 12
    assert lines[("agents", "x", "agent")] == 13
    assert lines[("agents", "dotted", "key")] == 14


def test_keyed_message_names_the_line_of_the_nearest_written_key(tmp_path: Path) -> None:
    text = '[sources.a]\nurl = "x"\n\n[agents]\nb = "a"\n'
    errors = KeyedErrors(tmp_path / "agentsync.toml", text)
    shown = str(tmp_path / "agentsync.toml")
    assert errors.message(("sources", "a", "url"), "bad") == f"{shown}:2: sources.a.url: bad"
    assert errors.message(("agents", "b", "ref"), "bad") == f"{shown}:5: agents.b.ref: bad"
    assert errors.message(("nowhere",), "bad") == f"{shown}: nowhere: bad"
    assert errors.message((), "bad") == f"{shown}: bad"


def test_keyed_message_quotes_keys_unless_told_not_to(tmp_path: Path) -> None:
    text = '[agents."a.b"]\nsource = "s"\n'
    path = tmp_path / "f.toml"
    quoted = KeyedErrors(path, text).message(("agents", "a.b", "source"), "bad")
    plain = KeyedErrors(path, text, quote_keys=False).message(("agents", "a.b", "source"), "bad")
    assert quoted == f'{path}:2: agents."a.b".source: bad'
    assert plain == f"{path}:2: agents.a.b.source: bad"
