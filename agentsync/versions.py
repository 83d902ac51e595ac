"""Semver over git tags: parsing tags as versions and npm-style ranges that pick the newest tag."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import total_ordering

# A tag is a version when it is `[v]MAJOR[.MINOR[.PATCH]][-PRE][+BUILD]`; missing parts are 0,
# so the common `v1.2` tag reads as 1.2.0. Leading zeros are refused, as in semver, which also
# keeps date tags such as `2024.01.05` out of version resolution.
_NUM = r"(?:0|[1-9][0-9]*)"
_IDENT = r"[0-9A-Za-z-]+"
_TAG = re.compile(
    rf"^[vV]?(?P<major>{_NUM})(?:\.(?P<minor>{_NUM})(?:\.(?P<patch>{_NUM}))?)?"
    rf"(?:-(?P<pre>{_IDENT}(?:\.{_IDENT})*))?(?:\+(?P<build>{_IDENT}(?:\.{_IDENT})*))?$"
)
# A version as written in a range: parts may be missing or wildcards (`x`, `X`, `*`).
_WILD = r"(?:0|[1-9][0-9]*|[xX*])"
_PARTIAL = re.compile(
    rf"^[vV]?(?P<major>{_WILD})(?:\.(?P<minor>{_WILD})(?:\.(?P<patch>{_WILD}))?)?"
    rf"(?:-(?P<pre>{_IDENT}(?:\.{_IDENT})*))?(?:\+{_IDENT}(?:\.{_IDENT})*)?$"
)
_OPERATORS = ("^", "~", ">=", "<=", ">", "<", "=")
_HYPHEN = re.compile(r"^(\S+)\s+-\s+(\S+)$")


@total_ordering
@dataclass(frozen=True)
class Version:
    """A semantic version; ordering follows semver precedence (build metadata ignored)."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()

    @property
    def core(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def _key(self) -> tuple[tuple[int, int, int], int, tuple[tuple[int, int, str], ...]]:
        # A release sorts above its pre-releases; numeric identifiers sort below alphanumeric.
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease)
        return (self.core, 0 if self.prerelease else 1, pre)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        return f"{text}-{'.'.join(self.prerelease)}" if self.prerelease else text


def parse_tag(tag: str) -> Version | None:
    """The version a tag names (`v1.2.3`, `1.2.3`, `v1.2` = 1.2.0), or None for other tags."""
    match = _TAG.match(tag)
    if not match:
        return None
    pre = match.group("pre")
    return Version(
        int(match.group("major")),
        int(match.group("minor") or 0),
        int(match.group("patch") or 0),
        tuple(pre.split(".")) if pre else (),
    )


@dataclass(frozen=True)
class _Comparator:
    op: str  # one of >=, >, <=, <, =
    version: Version
    named: bool = True  # written by the user (not a bound we derived); names a pre-release

    def matches(self, v: Version) -> bool:
        if self.op == "=":
            return v == self.version
        if self.op == ">=":
            return v >= self.version
        if self.op == ">":
            return v > self.version
        if self.op == "<=":
            return v <= self.version
        return v < self.version


@dataclass(frozen=True)
class VersionRange:
    """Alternatives (`||`) of comparator sets; a version matches when one whole set does."""

    text: str
    alternatives: tuple[tuple[_Comparator, ...], ...]

    @property
    def names_prerelease(self) -> bool:
        """True when the range itself mentions a pre-release, e.g. `>=2.0.0-beta.1`."""
        return any(c.named and c.version.prerelease for alt in self.alternatives for c in alt)

    def matches(self, v: Version) -> bool:
        return any(_set_matches(alt, v) for alt in self.alternatives)

    def __str__(self) -> str:
        return self.text


def _set_matches(comparators: tuple[_Comparator, ...], v: Version) -> bool:
    if not all(c.matches(v) for c in comparators):
        return False
    if not v.prerelease:
        return True
    # npm's rule: a pre-release matches only if the set names a pre-release of the same
    # major.minor.patch, so `^1.2.0` never drifts onto `1.3.0-rc.1`.
    return any(c.named and c.version.prerelease and c.version.core == v.core for c in comparators)


def parse_range(text: str) -> VersionRange:
    """Parse an npm-style range; raise ValueError saying what is wrong."""
    if not text.strip():
        raise ValueError("a version range may not be empty; use '*' for any version")
    alternatives = []
    for alt in text.split("||"):
        alternatives.append(_parse_set(alt.strip(), text))
    return VersionRange(text, tuple(alternatives))


def _parse_set(text: str, whole: str) -> tuple[_Comparator, ...]:
    if not text:
        raise ValueError(f"invalid version range {whole!r}: empty alternative around '||'")
    hyphen = _HYPHEN.match(text)
    if hyphen:
        return _hyphen_range(hyphen.group(1), hyphen.group(2), whole)
    comparators: list[_Comparator] = []
    for token in _tokens(text, whole):
        comparators.extend(_expand(token, whole))
    return tuple(comparators)


def _tokens(text: str, whole: str) -> list[str]:
    """Split on commas and spaces, keeping an operator with the version after it (`>= 1.0`)."""
    raw = [t for t in re.split(r"[,\s]+", text) if t]
    tokens: list[str] = []
    pending = ""
    for part in raw:
        if part in _OPERATORS:
            if pending:
                raise ValueError(f"invalid version range {whole!r}: '{pending}' needs a version")
            pending = part
            continue
        tokens.append(pending + part)
        pending = ""
    if pending:
        raise ValueError(f"invalid version range {whole!r}: '{pending}' needs a version")
    return tokens


def _split_op(token: str) -> tuple[str, str]:
    for op in ("~>", *_OPERATORS):
        if token.startswith(op):
            return op, token[len(op) :]
    return "", token


def _partial(text: str, whole: str) -> tuple[int | None, int | None, int | None, tuple[str, ...]]:
    match = _PARTIAL.match(text)
    if not match:
        raise ValueError(
            f"invalid version range {whole!r}: {text!r} is not a version "
            "(expected forms like 1.2.3, v1.2, 1.*, 1.x)"
        )
    parts: list[int | None] = []
    for name in ("major", "minor", "patch"):
        value = match.group(name)
        parts.append(None if value is None or value in "xX*" else int(value))
    # After a wildcard every later part is a wildcard too (`1.x.3` means `1.x`).
    for i in range(1, 3):
        if parts[i - 1] is None:
            parts[i] = None
    pre = match.group("pre")
    if pre and parts[2] is None:
        raise ValueError(f"invalid version range {whole!r}: a pre-release needs a full version")
    return parts[0], parts[1], parts[2], tuple(pre.split(".")) if pre else ()


def _floor(
    major: int | None, minor: int | None, patch: int | None, pre: tuple[str, ...]
) -> Version:
    return Version(major or 0, minor or 0, patch or 0, pre)


def _bump(v: Version, part: int) -> Version:
    """The lowest version above every version sharing the first `part` parts of v (`-0` bound)."""
    if part == 0:
        return Version(v.major + 1, 0, 0, ("0",))
    if part == 1:
        return Version(v.major, v.minor + 1, 0, ("0",))
    return Version(v.major, v.minor, v.patch + 1, ("0",))


def _known(major: int | None, minor: int | None, patch: int | None) -> int:
    return sum(p is not None for p in (major, minor, patch))


def _expand(token: str, whole: str) -> list[_Comparator]:
    op, rest = _split_op(token)
    if op == "~>":
        raise ValueError(f"invalid version range {whole!r}: use '~' instead of '~>'")
    major, minor, patch, pre = _partial(rest, whole)
    floor = _floor(major, minor, patch, pre)
    known = _known(major, minor, patch)
    if op == "^":
        return _caret(floor, known)
    if op == "~":
        return _tilde(floor, known)
    if op in ("", "="):
        return _exact_or_x(floor, known)
    return _inequality(op, floor, known)


def _derived(op: str, v: Version) -> _Comparator:
    return _Comparator(op, v, named=False)


def _caret(floor: Version, known: int) -> list[_Comparator]:
    if known == 0:
        return []
    # npm: the upper bound bumps the left-most non-zero part among those written.
    if floor.major != 0 or known == 1:
        upper = _bump(floor, 0)
    elif floor.minor != 0 or known == 2:
        upper = _bump(floor, 1)
    else:
        upper = _bump(floor, 2)
    return [_Comparator(">=", floor), _derived("<", upper)]


def _tilde(floor: Version, known: int) -> list[_Comparator]:
    if known == 0:
        return []
    upper = _bump(floor, 0) if known == 1 else _bump(floor, 1)
    return [_Comparator(">=", floor), _derived("<", upper)]


def _exact_or_x(floor: Version, known: int) -> list[_Comparator]:
    if known == 3:
        return [_Comparator("=", floor)]
    if known == 0:
        return []
    return [_Comparator(">=", floor), _derived("<", _bump(floor, known - 1))]


def _inequality(op: str, floor: Version, known: int) -> list[_Comparator]:
    if known == 0:
        # `>=*` is any version; `<*` or `>*` is none.
        return [] if op in (">=", "<=") else [_derived("<", Version(0, 0, 0, ("0",)))]
    if known == 3:
        return [_Comparator(op, floor)]
    if op == ">":
        return [_derived(">=", _bump(floor, known - 1))]  # >1.2 means >=1.3.0
    if op == "<=":
        return [_derived("<", _bump(floor, known - 1))]  # <=1.2 means <1.3.0-0
    if op == "<":
        return [_derived("<", Version(floor.major, floor.minor, floor.patch, ("0",)))]
    return [_Comparator(">=", floor)]


def _hyphen_range(low: str, high: str, whole: str) -> tuple[_Comparator, ...]:
    lmaj, lmin, lpat, lpre = _partial(low, whole)
    hmaj, hmin, hpat, hpre = _partial(high, whole)
    result = [_Comparator(">=", _floor(lmaj, lmin, lpat, lpre))]
    known = _known(hmaj, hmin, hpat)
    if known == 3:
        result.append(_Comparator("<=", _floor(hmaj, hmin, hpat, hpre)))
    elif known:
        result.append(_derived("<", _bump(_floor(hmaj, hmin, hpat, ()), known - 1)))
    return tuple(result)


def best_tag(rng: VersionRange, tags: Iterable[str]) -> str | None:
    """The tag naming the newest version in `rng`; pre-releases only when the range names one.

    When two tags name one version (`v1.2.0` and `1.2.0`, or `v1.2` and `v1.2.0`), the one
    written with more parts wins, then the greater name, so the choice never depends on order.
    """
    best: tuple[Version, int, str] | None = None
    for tag in tags:
        version = parse_tag(tag)
        if version is None or not rng.matches(version):
            continue
        key = (version, tag.count("."), tag)
        if best is None or key > best:
            best = key
    return best[2] if best else None
