"""agentsync.toml: documented forms parse, each rule fails with file:line:key, edits keep comments."""

# ruff: noqa: E501  (case tables read best one case per line)

from __future__ import annotations

from pathlib import Path

import pytest

from agentsync.errors import EXIT_USAGE, ManifestError
from agentsync.manifest import (
    AgentSpec,
    ManifestEditor,
    SourceSpec,
    load_manifest,
)

EXAMPLE = """\
[settings]                      # optional
target = ".claude/agents"       # install folder, relative to this file

[sources.voltagent]
url = "https://github.com/VoltAgent/awesome-claude-code-subagents"
ref = "main"                    # branch, tag or commit; default: the remote's HEAD
path = "categories"             # optional folder (or glob) inside the repo to search
include = ["python-*", "sql-*"] # optional: install every agent whose name matches (globs)
exclude = ["*-legacy"]          # optional: minus these

[sources.team]
url = "../team-agents"          # a local path (relative to this file) or file:// URL works too
version = "^1.2"                # instead of ref: newest tag matching a semver range

[agents]
backend-developer = "voltagent"                           # installed name = upstream name
api = { source = "voltagent", agent = "api-designer" }    # install under another name
reviewer = { source = "team", ref = "v1.4.0" }            # per-agent pin overrides the source
sql = { source = "team", file = "db/sql-pro.md" }         # pick one file when a name repeats
"""


def write(folder: Path, text: str) -> Path:
    path = folder / "agentsync.toml"
    path.write_text(text)
    return path


def test_example_manifest_parses(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path, EXAMPLE))
    assert manifest.target == ".claude/agents"
    assert manifest.dir == tmp_path
    assert list(manifest.sources) == ["voltagent", "team"]
    assert manifest.sources["voltagent"] == SourceSpec(
        name="voltagent",
        url="https://github.com/VoltAgent/awesome-claude-code-subagents",
        ref="main",
        version=None,
        path="categories",
        include=("python-*", "sql-*"),
        exclude=("*-legacy",),
    )
    assert manifest.sources["team"] == SourceSpec("team", "../team-agents", version="^1.2")
    assert list(manifest.agents) == ["backend-developer", "api", "reviewer", "sql"]
    assert manifest.agents["backend-developer"] == AgentSpec(
        "backend-developer", "voltagent", "backend-developer"
    )
    assert manifest.agents["api"] == AgentSpec("api", "voltagent", "api-designer")
    assert manifest.agents["reviewer"] == AgentSpec("reviewer", "team", "reviewer", ref="v1.4.0")
    assert manifest.agents["sql"] == AgentSpec("sql", "team", "sql", file="db/sql-pro.md")


def test_source_location_resolves_against_manifest_dir(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path, EXAMPLE))
    location = manifest.sources["team"].location(manifest.dir)
    assert location.kind == "path"
    assert location.git_url == str((tmp_path.parent / "team-agents").resolve())
    assert manifest.sources["voltagent"].location(manifest.dir).kind == "https"


def test_empty_manifest_has_defaults(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path, "# nothing yet\n"))
    assert manifest.target == ".claude/agents"
    assert dict(manifest.sources) == {}
    assert dict(manifest.agents) == {}


def test_agent_as_sub_table_and_global_target(tmp_path: Path) -> None:
    text = '[sources.a]\nurl = "file:///srv/a"\n\n[agents.x]\nsource = "a"\nagent = "y"\n'
    manifest = load_manifest(write(tmp_path, text))
    assert manifest.agents["x"] == AgentSpec("x", "a", "y")


SRC = '[sources.team]\nurl = "../team"\n'

BAD = [
    # (manifest text, "line: key: message" fragment, hint fragment)
    ("[sources.team]\nurl = \n", ":2: invalid TOML: Invalid value (column 7)", "toml.io"),
    ('[sourcs.team]\nurl = "x"\n', ":1: sourcs: unknown key", "did you mean 'sources'?"),
    ('[settings]\ntargt = "x"\n', ":2: settings.targt: unknown key", "did you mean 'target'?"),
    ("settings = 1\n", ":1: settings: must be a table, not an integer", None),
    (SRC + 'rev = "main"\n', ":3: sources.team.rev: unknown key", "did you mean 'ref'?"),
    (SRC + 'colour = "red"\n', ":3: sources.team.colour: unknown key", "allowed keys: url, ref"),
    ('[sources.team]\nref = "main"\n', ":1: sources.team: missing key 'url'", "add url ="),
    ("[sources.team]\nurl = 5\n", ":2: sources.team.url: must be a string, not an integer", None),
    (
        '[sources.team]\n\nurl = "ext::sh -c touch% /tmp/pwned"\n',
        ":3: sources.team.url: git remote helpers ('ext::') are not allowed",
        "https://",
    ),
    (
        '[sources.team]\nurl = "ext://host/x"\n',
        ":2: sources.team.url: the 'ext' transport is not allowed",
        None,
    ),
    (
        '[sources.team]\nurl = "--upload-pack=evil"\n',
        ":2: sources.team.url: a source URL may not start with '-'",
        None,
    ),
    (
        '[sources."../../x"]\nurl = "../team"\n',
        ':1: sources."../../x": source name \'../../x\' is not allowed',
        None,
    ),
    ('[sources."a/b"]\nurl = "../team"\n', ':1: sources."a/b": source name', None),
    (SRC + 'ref = "main"\nversion = "^1"\n', ":4: sources.team.version: give either ref or version", "remove one"),
    (SRC + 'ref = "--output=x"\n', ":3: sources.team.ref: ref '--output=x' may not start with '-'", None),
    (SRC + 'ref = ""\n', ":3: sources.team.ref: ref may not be empty", None),
    (SRC + 'ref = "a b"\n', ":3: sources.team.ref: ref 'a b' may not contain spaces", None),
    (SRC + 'path = "C:/x"\n', ":3: sources.team.path: path 'C:/x' must be relative", None),
    (SRC + 'path = "a\\u0007"\n', ":3: sources.team.path: path 'a\\x07' may not contain control characters", None),
    (SRC + 'version = "latest"\n', ":3: sources.team.version: invalid version range 'latest'", "^1.2"),
    (SRC + 'path = "/etc"\n', ":3: sources.team.path: path '/etc' must be relative", None),
    (SRC + 'path = "agents/../../x"\n', ":3: sources.team.path: path 'agents/../../x' may not contain '..'", None),
    (SRC + 'path = "-x"\n', ":3: sources.team.path: path '-x' may not start with '-'", None),
    (SRC + 'include = "python-*"\n', ":3: sources.team.include: include must be a list", 'include = ["python-*"]'),
    (SRC + "exclude = [1]\n", ":3: sources.team.exclude: exclude must be a list", None),
    (SRC + '\n[agents]\nx = "nope"\n', ":5: agents.x: source 'nope' is not declared (sources: team)", "agentsync source add nope URL"),
    (SRC + '\n[agents]\n\nx = { source = "nope" }\n', ":6: agents.x.source: source 'nope' is not declared", None),
    ('[agents]\nx = "nope"\n', ":2: agents.x: source 'nope' is not declared (sources: none declared)", None),
    (SRC + '[agents]\nx = { source = "team", agnt = "y" }\n', ":4: agents.x.agnt: unknown key", "did you mean 'agent'?"),
    (SRC + '[agents]\nx = { agent = "y" }\n', ":4: agents.x: missing key 'source'", None),
    (SRC + "[agents]\nx = 3\n", ":4: agents.x: must be a source name or a table, not an integer", None),
    (SRC + '[agents]\n"../evil" = "team"\n', ':4: agents."../evil": agent name \'../evil\' is not allowed', None),
    (SRC + '[agents]\n".hidden" = "team"\n', ':4: agents.".hidden": agent name', None),
    (SRC + '[agents]\nx = { source = "team", ref = "a", version = "^1" }\n', ":4: agents.x.version: give either ref or version", None),
    (SRC + '[agents]\nx = { source = "team", version = "1.2.3.4" }\n', ":4: agents.x.version: invalid version range", None),
    (SRC + '[agents]\nx = { source = "team", file = "../up.md" }\n', ":4: agents.x.file: file '../up.md' may not contain '..'", None),
    (SRC + '[agents]\nx = { source = "team", file = "/abs.md" }\n', ":4: agents.x.file: file '/abs.md' must be relative", None),
    (SRC + '[agents]\nx = { source = "team", agent = "" }\n', ":4: agents.x.agent: must be a non-empty name", None),
    ('[settings]\ntarget = "/usr/share/agents"\n', ":2: settings.target: target '/usr/share/agents' must be relative", None),
    ('[settings]\ntarget = "../elsewhere"\n', ":2: settings.target: target '../elsewhere' may not contain '..'", None),
]  # fmt: skip


@pytest.mark.parametrize(("text", "where", "hint"), BAD)
def test_errors_name_file_line_and_key(
    tmp_path: Path, text: str, where: str, hint: str | None
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    error = info.value
    assert error.message.startswith(f"{path}{where}"), error.message
    if hint is not None:
        assert error.hint is not None and hint in error.hint, error.hint
    assert error.exit_code == EXIT_USAGE


def test_error_path_is_relative_to_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, '[sources.t]\nurl = "ext::x"\n')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ManifestError, match=r"^agentsync\.toml:2: sources\.t\.url: "):
        load_manifest(tmp_path / "agentsync.toml")


def test_missing_manifest_suggests_init(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no manifest here") as info:
        load_manifest(tmp_path / "agentsync.toml")
    assert info.value.hint == "run `agentsync init` to create one"


def test_unreadable_manifest(tmp_path: Path) -> None:
    (tmp_path / "agentsync.toml").mkdir()
    with pytest.raises(ManifestError, match="cannot read"):
        load_manifest(tmp_path / "agentsync.toml")


def test_non_utf8_manifest(tmp_path: Path) -> None:
    path = tmp_path / "agentsync.toml"
    path.write_bytes(b"# \xff\n")
    with pytest.raises(ManifestError, match="not valid UTF-8"):
        load_manifest(path)


# --------------------------------------------------------------------------- editing

COMMENTED = """\
# Team manifest — keep sorted by hand.

[sources.voltagent]   # upstream collection
url = "https://github.com/VoltAgent/awesome-claude-code-subagents"
ref = "main"          # track main

[agents]
# reviewers
backend-developer = "voltagent"   # the big one
api = { source = "voltagent", agent = "api-designer" }  # renamed
"""


def test_edits_keep_comments_and_order(tmp_path: Path) -> None:
    path = write(tmp_path, COMMENTED)
    editor = ManifestEditor.open(path)
    editor.add_source("team", "../team-agents", version="^1.2")
    editor.set_agent("reviewer", "team", ref="v1.4.0")
    editor.set_agent("sql", "team")
    editor.add_include("voltagent", "python-*")
    editor.add_include("voltagent", "python-*")  # no duplicate
    editor.add_include("voltagent", "sql-*")
    assert editor.remove_agent("backend-developer")
    assert not editor.remove_agent("backend-developer")
    assert editor.text() == (
        "# Team manifest — keep sorted by hand.\n"
        "\n"
        "[sources.voltagent]   # upstream collection\n"
        'url = "https://github.com/VoltAgent/awesome-claude-code-subagents"\n'
        'ref = "main"          # track main\n'
        'include = ["python-*", "sql-*"]\n'
        "\n"
        "[sources.team]\n"
        'url = "../team-agents"\n'
        'version = "^1.2"\n'
        "\n"
        "[agents]\n"
        "# reviewers\n"
        'api = { source = "voltagent", agent = "api-designer" }  # renamed\n'
        'reviewer = { source = "team", ref = "v1.4.0" }\n'
        'sql = "team"\n'
    )
    assert path.read_text() == COMMENTED  # nothing written before save()
    assert editor.save()
    manifest = load_manifest(path)
    assert list(manifest.agents) == ["api", "reviewer", "sql"]
    assert manifest.sources["voltagent"].include == ("python-*", "sql-*")

    # ...and undoing every edit gives back the original bytes.
    editor = ManifestEditor.open(path)
    assert editor.remove_include("voltagent", "python-*")
    assert editor.remove_include("voltagent", "sql-*")
    assert not editor.remove_include("voltagent", "sql-*")
    editor.remove_agent("reviewer")
    editor.remove_agent("sql")
    editor.remove_source("team")
    editor.set_agent("backend-developer", "voltagent")
    assert "include" not in editor.text()
    assert 'backend-developer = "voltagent"' in editor.text()


def test_set_agent_replaces_in_place(tmp_path: Path) -> None:
    editor = ManifestEditor.open(write(tmp_path, COMMENTED))
    editor.set_agent("backend-developer", "voltagent", agent="backend-developer", ref="v2")
    lines = editor.text().splitlines()
    assert lines[8] == 'backend-developer = { source = "voltagent", ref = "v2" }   # the big one'
    editor.set_agent("api", "voltagent", agent="api")  # agent equal to the key is left out
    assert 'api = "voltagent"' in editor.text()


def test_save_is_a_noop_when_unchanged(tmp_path: Path) -> None:
    path = write(tmp_path, COMMENTED)
    assert not ManifestEditor.open(path).save()
    assert path.read_text() == COMMENTED


def test_new_manifest_from_nothing(tmp_path: Path) -> None:
    path = tmp_path / "agentsync.toml"
    editor = ManifestEditor.new(path)
    editor.add_source("a", "file:///srv/a")
    editor.add_source("b", "../b", ref="main", path="agents")
    editor.set_agent("x", "a")
    editor.set_agent("y", "b", agent="z", file="agents/z.md")
    assert editor.save()
    text = path.read_text()
    assert text.index("[sources.a]") < text.index("[sources.b]") < text.index("[agents]")
    assert "\n\n\n" not in text
    assert text.endswith('y = { source = "b", agent = "z", file = "agents/z.md" }\n')
    manifest = load_manifest(path)
    assert manifest.sources["b"] == SourceSpec("b", "../b", ref="main", path="agents")
    assert manifest.agents["y"] == AgentSpec("y", "b", "z", file="agents/z.md")


def test_new_from_preset_text(tmp_path: Path) -> None:
    preset = '# preset\n[sources.p]\nurl = "https://example.com/p.git"\n\n[agents]\nq = "p"\n'
    editor = ManifestEditor.new(tmp_path / "agentsync.toml", text=preset)
    editor.add_source("extra", "../extra")
    assert editor.text().startswith('# preset\n[sources.p]\nurl = "https://example.com/p.git"\n\n')
    assert editor.text().index("[sources.extra]") < editor.text().index("[agents]")
    assert editor.manifest().agents["q"].source == "p"


@pytest.mark.parametrize(
    ("edit", "message", "hint"),
    [
        (
            lambda e: e.add_source("voltagent", "../x"),
            "source 'voltagent' already exists",
            "source remove",
        ),
        (lambda e: e.add_source("../x", "../x"), "source name '../x' is not allowed", None),
        (lambda e: e.add_source("t", "ext::sh"), "sources.t.url: git remote helpers", None),
        (lambda e: e.add_source("t", "../t", ref="a", version="^1"), "either ref or version", None),
        (lambda e: e.add_source("t", "../t", version="nope"), "invalid version range", None),
        (lambda e: e.add_source("t", "../t", path="../up"), "may not contain '..'", None),
        (lambda e: e.remove_source("nope"), "no source named 'nope'", "source list"),
        (
            lambda e: e.remove_source("voltagent"),
            "source 'voltagent' is still used by [agents]: backend-developer, api",
            "agentsync remove backend-developer api",
        ),
        (lambda e: e.set_agent("x", "nope"), "source 'nope' is not declared", "source add nope"),
        (lambda e: e.set_agent("a/b", "voltagent"), "agent name 'a/b' is not allowed", None),
        (lambda e: e.set_agent("x", "voltagent", file="/etc/passwd"), "must be relative", None),
        (lambda e: e.add_include("nope", "x*"), "no source named 'nope'", None),
    ],
)
def test_edit_errors(tmp_path: Path, edit: object, message: str, hint: str | None) -> None:
    editor = ManifestEditor.open(write(tmp_path, COMMENTED))
    with pytest.raises(ManifestError) as info:
        edit(editor)  # type: ignore[operator]
    assert message in info.value.message
    if hint:
        assert info.value.hint is not None and hint in info.value.hint


def test_save_refuses_an_invalid_result_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "agentsync.toml"
    editor = ManifestEditor.new(path, text='[agents]\nx = "undeclared"\n')
    with pytest.raises(ManifestError, match=r":2: agents\.x: source 'undeclared' is not declared"):
        editor.save()
    assert not path.exists()


def test_open_reports_syntax_errors_with_line(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"agentsync\.toml:3: invalid TOML"):
        ManifestEditor.open(write(tmp_path, "[agents]\na = 'b'\nc = \n"))


SPLIT = """\
[sources.a]
url = "../a"

[agents]
x = "a"

[sources.b]  # declared after [agents]
url = "../b"
include = ["q*"]
"""


def test_edits_on_a_split_sources_table(tmp_path: Path) -> None:
    editor = ManifestEditor.open(write(tmp_path, SPLIT))
    assert editor.remove_include("b", "q*")
    editor.remove_source("b")
    editor.add_source("c", "../c")
    editor.set_agent("y", "c")
    manifest = editor.manifest()
    assert list(manifest.sources) == ["a", "c"]
    assert manifest.agents["y"].source == "c"
    assert "../b" not in editor.text()
    assert editor.remove_agent("x")
    assert list(editor.manifest().agents) == ["y"]


def test_removing_the_last_source_leaves_a_valid_manifest(tmp_path: Path) -> None:
    path = write(tmp_path, '# keep me\n[sources.a]\nurl = "../a"\n')
    editor = ManifestEditor.open(path)
    editor.remove_source("a")
    assert editor.text() == "# keep me\n"
    assert editor.save()
    assert dict(load_manifest(path).sources) == {}


SET_SOURCE = """\
# the team's agents
[sources.team]  # shared with ops
url = "../team"      # a sibling checkout
ref = "main"         # follow the branch for now
# the folder the agents live in
path = "agents"      # flat

[agents]
api = "team"
"""


def test_set_source_changes_values_in_place_and_keeps_comments(tmp_path: Path) -> None:
    path = write(tmp_path, SET_SOURCE)
    editor = ManifestEditor.open(path)
    editor.set_source("team", ref="v2", path="agents/*")
    assert editor.save()
    assert path.read_text() == SET_SOURCE.replace('"main"', '"v2"').replace(
        'path = "agents"', 'path = "agents/*"'
    )
    assert load_manifest(path).sources["team"] == SourceSpec(
        "team", "../team", ref="v2", path="agents/*"
    )


def test_set_source_swaps_ref_and_version_on_the_same_line(tmp_path: Path) -> None:
    path = write(tmp_path, SET_SOURCE)
    editor = ManifestEditor.open(path)
    editor.set_source("team", version="^2")
    editor.save()
    text = path.read_text()
    assert 'version = "^2"         # follow the branch for now\n' in text
    assert "ref =" not in text
    assert load_manifest(path).sources["team"].version == "^2"
    editor = ManifestEditor.open(path)
    editor.set_source("team", ref="v3")
    editor.save()
    assert "version" not in path.read_text()
    assert load_manifest(path).sources["team"] == SourceSpec(
        "team", "../team", ref="v3", path="agents"
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda e: e.set_source("nope", ref="v1"), "no source named 'nope'"),
        (lambda e: e.set_source("team", ref="v1", version="^1"), "either ref or version"),
        (lambda e: e.set_source("team", version="nope"), "invalid version range"),
        (lambda e: e.set_source("team", ref="-x"), "may not start with '-'"),
        (lambda e: e.set_source("team", path="../up"), "may not contain '..'"),
    ],
)
def test_set_source_errors_write_nothing(tmp_path: Path, edit: object, message: str) -> None:
    path = write(tmp_path, SET_SOURCE)
    editor = ManifestEditor.open(path)
    with pytest.raises(ManifestError) as info:
        edit(editor)  # type: ignore[operator]
    assert message in info.value.message
    assert path.read_text() == SET_SOURCE
