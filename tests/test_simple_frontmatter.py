"""Most agent files hold only one-line `key: text` entries; those are read without the YAML
parser. The shortcut must give exactly what the parser gives, and hand anything else on."""

from __future__ import annotations

import random
import string

import pytest

from agentsync import frontmatter, yaml12

PIECES = [
    *"aZ-_:'\"[]{},*&!|>%@`?~#=+()/",
    ": ",
    " #",
    " ",
    "\t",
    "null",
    "true",
    "False",
    "yes",
    "off",
    "1",
    "0x1",
    ".5",
    "1e3",
    "\\n",
    "e.g.",
    "http://x",
    "<<",
    "...",
    "---",
    ".inf",
    "2020-01-01",
    "é",
    "\r",
]
KEYS = ["name", "description", "tools", "model", "true", "null", "yes", "a-b", "_x", "No"]


def _random_frontmatter(rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randint(1, 4)):
        key = rng.choice(KEYS)
        if rng.random() < 0.1:
            lines.append(f"{key}:")
            continue
        value = rng.choice(string.ascii_letters) + "".join(
            rng.choice(PIECES) for _ in range(rng.randint(0, 5))
        )
        lines.append(f"{key}: {value}")
    return "\n".join(lines) + "\n"


def test_the_shortcut_agrees_with_the_yaml_parser_wherever_it_answers() -> None:
    rng = random.Random(7)  # noqa: S311 - a fixed, repeatable sample of texts
    answered = 0
    for _ in range(5000):
        text = _random_frontmatter(rng)
        simple = frontmatter.simple_mapping(text)
        if simple is None:
            continue
        answered += 1
        parsed = yaml12.load_yaml(text)
        assert simple == parsed, text
        assert [type(v) for v in simple.values()] == [type(v) for v in parsed.values()], text
    assert answered > 1000  # the shortcut is taken, not only refused


@pytest.mark.parametrize(
    "text",
    [
        "name: a\nenabled: true\n",  # a bool
        "name: a\nname: b\n",  # a key twice
        "name: a\ndescription: Use it: for x\n",  # a second mapping indicator
        "name: a # comment\n",
        "name: 'quoted'\n",
        "name: a\n  more\n",  # a continuation line
        "name: a\r\n",
        "name: café\n",
        "tools:\n  - Read\n",
        "name: a\ndescription: ends with a colon:\n",
        "name: a \n",  # a trailing space
        "null: a\n",
    ],
)
def test_anything_but_plain_one_line_text_goes_to_the_parser(text: str) -> None:
    assert frontmatter.simple_mapping(text) is None


def test_a_simple_file_reads_as_it_always_did() -> None:
    data = (
        b"---\nname: reviewer\ndescription: Reviews code, e.g. diffs.\n"
        b"tools: Read, Grep\n---\nBody\n"
    )
    agent = frontmatter.parse_agent(data)
    assert agent.loads
    assert (agent.name, agent.description, agent.tools) == (
        "reviewer",
        "Reviews code, e.g. diffs.",
        ("Read", "Grep"),
    )
    assert agent.parse == "strict"
