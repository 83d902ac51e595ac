"""Semver ranges over git tags: npm semantics, pre-releases, `v` prefixes, bad input."""

from __future__ import annotations

import pytest

from agentsync.versions import Version, best_tag, parse_range, parse_tag

TAGS = [
    "v0.1.0",
    "v0.2.3",
    "v0.2.9",
    "v0.3.0",
    "v1.0.0",
    "v1.2.0",
    "v1.2.5",
    "v1.3.0-rc.1",
    "v1.3.0",
    "1.4.2",  # no `v`: mixed styles in one repo
    "v1.5.0-beta.2",
    "v2.0.0-alpha.1",
    "v2.0.0-beta.1",
    "release-candidate",
    "latest",
    "2024.01.05",  # date tag: leading zero, not a version
]


@pytest.mark.parametrize(
    ("rng", "expected"),
    [
        ("^1.2", "1.4.2"),
        ("^1.2.5", "1.4.2"),
        ("~1.2", "v1.2.5"),
        ("~1.2.0", "v1.2.5"),
        ("~1", "1.4.2"),
        ("~1.4", "1.4.2"),
        (">=1.0, <2", "1.4.2"),
        (">=1.0 <1.3", "v1.2.5"),
        (">= 1.0, < 1.3", "v1.2.5"),
        ("1.*", "1.4.2"),
        ("1.x", "1.4.2"),
        ("1.2.x", "v1.2.5"),
        ("1", "1.4.2"),
        ("*", "1.4.2"),
        ("x", "1.4.2"),
        ("1.2.0", "v1.2.0"),
        ("=1.2.0", "v1.2.0"),
        ("v1.2.0", "v1.2.0"),
        ("^v1.2", "1.4.2"),
        ("^0.2.3", "v0.2.9"),  # npm: ^0.2.3 := >=0.2.3 <0.3.0
        ("^0.2", "v0.2.9"),
        ("^0.3", "v0.3.0"),
        ("^0.0.3", None),  # := >=0.0.3 <0.0.4
        ("^0", "v0.3.0"),
        ("^0.x", "v0.3.0"),
        ("<1.3", "v1.2.5"),
        ("<=1.2", "v1.2.5"),
        (">1.2", "1.4.2"),
        (">1.4.2", None),
        (">=3", None),
        ("^1.2 || ^0.2", "1.4.2"),
        ("^0.2 || ~1.2", "v1.2.5"),
        ("1.2.0 - 1.3", "v1.3.0"),
        ("1.2.0 - 1.2.3", "v1.2.0"),
        # Pre-releases only when the range names one of the same major.minor.patch.
        ("^1.3.0-rc.0", "1.4.2"),
        (">=1.3.0-rc.0 <1.3.0", "v1.3.0-rc.1"),
        ("~1.5.0-beta.1", "v1.5.0-beta.2"),
        (">=2.0.0-alpha.0", "v2.0.0-beta.1"),
        ("^2.0.0-beta.0", "v2.0.0-beta.1"),
        ("^2.0.0-beta.2", None),
        (">=1.5", None),  # 1.5.0-beta.2 and 2.0.0-* are pre-releases the range never named
        ("^2", None),
    ],
)
def test_best_tag(rng: str, expected: str | None) -> None:
    assert best_tag(parse_range(rng), TAGS) == expected


def test_best_tag_does_not_depend_on_tag_order() -> None:
    tags = ["1.2.0", "v1.2.0", "v1.2"]
    rng = parse_range("^1")
    assert best_tag(rng, tags) == best_tag(rng, reversed(tags)) == "v1.2.0"


@pytest.mark.parametrize(
    ("tag", "version"),
    [
        ("v1.2.3", Version(1, 2, 3)),
        ("V1.2.3", Version(1, 2, 3)),
        ("1.2.3", Version(1, 2, 3)),
        ("v1.2", Version(1, 2, 0)),
        ("v2", Version(2, 0, 0)),
        ("1.0.0-rc.1", Version(1, 0, 0, ("rc", "1"))),
        ("1.0.0+build.5", Version(1, 0, 0)),
        ("release-1.0", None),
        ("v1.2.3.4", None),
        ("01.2.3", None),
        ("2024.01.05", None),
        ("vx", None),
        ("", None),
    ],
)
def test_parse_tag(tag: str, version: Version | None) -> None:
    assert parse_tag(tag) == version


def test_semver_precedence() -> None:
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.1.0",
        "2.0.0",
    ]
    versions = [parse_tag(t) for t in ordered]
    assert all(v is not None for v in versions)
    assert sorted(versions, key=str) != versions  # the test would be trivial otherwise
    assert sorted(versions) == versions  # type: ignore[type-var]


def test_names_prerelease() -> None:
    assert parse_range(">=2.0.0-beta.1").names_prerelease
    assert not parse_range("^2.0").names_prerelease
    assert not parse_range("<2").names_prerelease  # the derived `<2.0.0-0` bound names nothing


def test_matches_directly() -> None:
    rng = parse_range("^1.2")
    assert rng.matches(Version(1, 9, 9))
    assert not rng.matches(Version(2, 0, 0))
    assert not rng.matches(Version(1, 1, 9))
    assert not rng.matches(Version(2, 0, 0, ("rc", "1")))
    assert str(rng) == "^1.2"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "may not be empty"),
        ("   ", "may not be empty"),
        ("abc", "'abc' is not a version"),
        (">=", "'>=' needs a version"),
        (">= >= 1", "'>=' needs a version"),
        ("1.2.3-", "is not a version"),
        ("^1.2 ||", "empty alternative"),
        ("|| 1", "empty alternative"),
        ("~>1.2", "use '~' instead of '~>'"),
        ("1.x-beta", "a pre-release needs a full version"),
        ("1.2.3.4", "is not a version"),
        ("01.2", "is not a version"),
        ("main", "is not a version"),
    ],
)
def test_bad_ranges(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_range(text)
