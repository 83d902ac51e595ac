"""Where keys sit in a TOML file, and the `file:line: key: what` errors that name them."""

from __future__ import annotations

import re
from pathlib import Path

from agentsync.textsafe import inline

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def display_path(path: Path) -> str:
    """`path` as errors show it: relative to the current folder when below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def dotted_key(keys: tuple[str, ...]) -> str:
    """`keys` as TOML writes a key path: `sources."odd.name".url`."""
    return ".".join(key if _BARE_KEY.fullmatch(key) else f'"{key}"' for key in keys)


class KeyedErrors:
    """Messages for rule failures at key paths of one TOML text: `file:line: key: what`.

    The line is that of the key, or of the nearest enclosing key the file spells out;
    the text is scanned for lines only when the first message is built, so a valid file
    never pays for it.
    """

    def __init__(self, path: Path, text: str, *, quote_keys: bool = True) -> None:
        self.path = path
        self.text = text
        self.quote_keys = quote_keys
        self._lines: dict[tuple[str, ...], int] | None = None

    def line_of(self, keys: tuple[str, ...]) -> int | None:
        if self._lines is None:
            self._lines = toml_key_lines(self.text)
        for i in range(len(keys), 0, -1):
            if keys[:i] in self._lines:
                return self._lines[keys[:i]]
        return None

    def message(self, keys: tuple[str, ...], what: str) -> str:
        line = self.line_of(keys)
        shown = display_path(self.path)
        where = f"{shown}:{line}" if line else shown
        # keys come from the file: a newline in one must not start a forged line
        key = inline(dotted_key(keys) if self.quote_keys else ".".join(keys))
        return f"{where}: {key}: {what}" if key else f"{where}: {what}"


def toml_key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Map every key path of a valid TOML document to the line (1-based) where it is written.

    tomllib and tomlkit drop positions, yet every manifest error must name its line; this
    small scanner walks the text once. Keys inside inline tables and arrays get the line of
    the key that opens them.
    """
    return _Scanner(text).run()


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.index: dict[tuple[str, ...], int] = {}

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def advance(self, n: int = 1) -> None:
        self.line += self.text.count("\n", self.pos, self.pos + n)
        self.pos += n

    def record(self, path: tuple[str, ...]) -> None:
        for i in range(1, len(path) + 1):
            self.index.setdefault(path[:i], self.line)

    def skip_spaces(self, *, newlines: bool = False) -> None:
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c in " \t\r" or (newlines and c == "\n"):
                self.advance()
            elif c == "#" and newlines:
                self.skip_to_eol()
            else:
                return

    def skip_to_eol(self) -> None:
        end = self.text.find("\n", self.pos)
        self.advance((len(self.text) if end < 0 else end) - self.pos)

    def run(self) -> dict[tuple[str, ...], int]:
        table: tuple[str, ...] = ()
        while True:
            self.skip_spaces(newlines=True)
            if self.pos >= len(self.text):
                return self.index
            start = self.pos
            if self.peek() == "[":
                self.advance(2 if self.peek(2) == "[[" else 1)
                self.skip_spaces()
                table = self.key()
                self.record(table)
            else:
                key = self.key()
                self.record(table + key)
                self.skip_spaces()
                if self.peek() == "=":
                    self.advance()
                    self.skip_spaces()
                    self.value(table + key)
            self.skip_to_eol()
            if self.pos == start:  # never loop on text the scanner does not understand
                self.advance()

    def key(self) -> tuple[str, ...]:
        parts: list[str] = []
        while True:
            self.skip_spaces()
            c = self.peek()
            if c in ('"', "'"):
                parts.append(self.string())
            else:
                match = _BARE_KEY.match(self.text, self.pos)
                if not match:
                    return tuple(parts)
                parts.append(match.group())
                self.advance(len(match.group()))
            self.skip_spaces()
            if self.peek() != ".":
                return tuple(parts)
            self.advance()

    def string(self) -> str:
        quote = self.peek()
        triple = self.peek(3) == quote * 3
        self.advance(3 if triple else 1)
        start = self.pos
        while self.pos < len(self.text):
            if quote == '"' and self.peek() == "\\":
                self.advance(2)
                continue
            if self.text.startswith(quote * (3 if triple else 1), self.pos):
                # A multi-line string may end with up to two extra quotes before the closer.
                while triple and self.text.startswith(quote * 4, self.pos):
                    self.advance()
                content = self.text[start : self.pos]
                self.advance(3 if triple else 1)
                return content
            self.advance()
        return self.text[start:]

    def value(self, path: tuple[str, ...]) -> None:
        c = self.peek()
        if c in ('"', "'"):
            self.string()
        elif c == "[":
            self.advance()
            self.sequence(path, "]", keyed=False)
        elif c == "{":
            self.advance()
            self.sequence(path, "}", keyed=True)
        else:
            while self.pos < len(self.text) and self.peek() not in ",]}\n#":
                self.advance()

    def sequence(self, path: tuple[str, ...], closer: str, *, keyed: bool) -> None:
        while self.pos < len(self.text):
            self.skip_spaces(newlines=True)
            if self.peek() == closer:
                self.advance()
                return
            if self.peek() == ",":
                self.advance()
                continue
            start = self.pos
            if keyed:
                key = self.key()
                self.record(path + key)
                self.skip_spaces()
                if self.peek() == "=":
                    self.advance()
                    self.skip_spaces()
                self.value(path + key)
            else:
                self.value(path)
            if self.pos == start:
                self.advance()
