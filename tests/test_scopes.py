"""Scopes and plugins: which file Claude Code runs for a name (`agentsync which`), and how the
plugin loader names and describes the agents of a plugin folder. The expected values are what
the real client 2.1.330 showed for the same files (the contract test asks it again)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentsync.plugins import plugin_agents
from agentsync.scopes import which
from tests.fixtures import Cli, MakeRepo, agent_md


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


@pytest.fixture
def scopes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(project, user agents folder), the project a git repository of its own."""
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    user = tmp_path / "config" / "agents"
    user.mkdir(parents=True)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(user.parent))
    return project, user


def test_the_project_file_wins_over_the_user_one(scopes: tuple[Path, Path], cli: Cli) -> None:
    project, user = scopes
    mine = write(project / ".claude/agents/reviewer.md", agent_md("reviewer", "Project."))
    theirs = write(user / "reviewer.md", agent_md("reviewer", "User."))
    found = which("reviewer", project)
    assert found.active is not None and found.active.path == mine
    assert [(c.scope, c.path, c.active) for c in found.candidates] == [
        ("project", mine, True),
        ("user", theirs, False),
    ]
    result = cli("which", "reviewer", cwd=project)
    assert result.code == 0
    assert result.out.splitlines()[0] == "reviewer: project .claude/agents/reviewer.md"
    assert "the project agent replaces it" in result.out


def test_a_project_file_that_does_not_load_lets_the_user_one_win(
    scopes: tuple[Path, Path], cli: Cli
) -> None:
    project, user = scopes
    write(project / ".claude/agents/reviewer.md", "---\nname: reviewer\n---\nNo description.\n")
    theirs = write(user / "reviewer.md", agent_md("reviewer", "User."))
    found = which("reviewer", project)
    assert found.active is not None and found.active.path == theirs
    data = json.loads(cli("--json", "which", "reviewer", cwd=project).out)
    assert data["scope"] == "user" and data["path"] == str(theirs)
    (broken,) = [c for c in data["candidates"] if not c["active"]]
    assert broken["scope"] == "project" and broken["loads"] is False
    assert "description" in broken["why"]


def test_names_are_case_sensitive_across_scopes(scopes: tuple[Path, Path]) -> None:
    project, user = scopes
    write(project / ".claude/agents/a.md", agent_md("Reviewer", "Project."))
    theirs = write(user / "b.md", agent_md("reviewer", "User."))
    found = which("reviewer", project)
    assert found.active is not None and found.active.path == theirs
    assert len(found.candidates) == 1


def test_a_file_named_like_a_built_in_replaces_it(scopes: tuple[Path, Path]) -> None:
    project, _user = scopes
    mine = write(project / ".claude/agents/x.md", agent_md("Explore", "My explorer."))
    found = which("Explore", project)
    assert found.active is not None and found.active.path == mine
    assert [c.scope for c in found.candidates] == ["project", "built-in"]
    plain = which("general-purpose", project)
    assert plain.active is not None and plain.active.scope == "built-in"


def test_the_nearest_folder_and_then_the_last_path_win(
    scopes: tuple[Path, Path],
) -> None:
    project, _user = scopes
    inner = project / "app"
    far = write(project / ".claude/agents/reviewer.md", agent_md("reviewer", "Root."))
    near = write(inner / ".claude/agents/reviewer.md", agent_md("reviewer", "Nearer."))
    found = which("reviewer", inner)
    assert found.active is not None and found.active.path == near
    assert found.candidates[1].path == far and "nearer folder" in found.candidates[1].why
    a = write(inner / ".claude/agents/sub/reviewer.md", agent_md("reviewer", "Sub."))
    z = write(inner / ".claude/agents/z.md", agent_md("reviewer", "Z."))
    found = which("reviewer", inner)
    assert found.active is not None and found.active.path == z  # sorts after sub/ and r...
    assert {c.path for c in found.candidates[1:3]} == {near, a}


def test_the_search_stops_at_the_git_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "nobody"))
    outside = write(tmp_path / ".claude/agents/reviewer.md", agent_md("reviewer", "Outside."))
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    assert which("reviewer", repo).active is None
    assert which("reviewer", tmp_path).active is not None
    assert outside.exists()


def test_which_of_an_unknown_name_exits_1(scopes: tuple[Path, Path], cli: Cli) -> None:
    project, _user = scopes
    result = cli("which", "nobody", cwd=project)
    assert result.code == 1 and "no agent named 'nobody'" in result.err
    data = json.loads(cli("--json", "which", "nobody", cwd=project).out)
    assert data["scope"] is None and data["candidates"] == []


# -- plugins --------------------------------------------------------------------------------------


@pytest.fixture
def plugin(tmp_path: Path) -> Path:
    """A plugin folder holding the cases the plugin loader reads differently."""
    root = tmp_path / "kit"
    write(root / ".claude-plugin/plugin.json", '{"name": "kit", "version": "1.0.0"}')
    agents = root / "agents"
    write(agents / "rev.md", agent_md("rev", "Reviews."))
    write(agents / "plain.md", "Just a body, no frontmatter.\n")
    write(agents / "sub/num.md", "---\nname: 123\nwhen_to_use: Use when X.\n---\nB\n")
    write(
        agents / "UP.MD",
        "---\nname: upper\ndescription: Upper.\nhooks: nonsense\npermissionMode: plan\n---\nB\n",
    )
    write(agents / "list.md", "---\nname: [x, y]\ndescription: [a, b]\n---\nB\n")
    write(agents / "colon.md", "---\nname: a:b\ndescription: colon\n---\nB\n")
    write(agents / "dash.md", '---\nname: -dash\ndescription: "   "\n---\nB\n')
    write(agents / "badyaml.md", "---\nname: bad: yaml: here\ndescription: x\n  y: [\n---\nB\n")
    write(agents / "hy.md", "---\nwhen-to-use: hyphen\n---\nB\n")
    write(agents / "empty.md", '---\nname: ""\ndescription: ""\n---\nB\n')
    write(agents / "spaced.md", '---\nname: "  "\ndescription: "  spaced  "\n---\nB\n')
    write(agents / "f.md", "---\nname: false\ndescription: 123\n---\nB\n")
    write(agents / "long.md", f"---\nname: {'n' * 257}\ndescription: long\n---\nB\n")
    write(agents / ".hid/in.md", "---\nname: inhid\ndescription: h\n---\nB\n")
    write(agents / "deep/er/x.md", '---\nname: deep\ndescription: "Deep \\\\n line"\n---\nB\n')
    write(agents / "tl.md", "---\nname: tl\ndescription: t\ntools: Read, Grep\n---\nB\n")
    write(agents / "notes.txt", "not an agent")
    (agents / "link.md").symlink_to(agents / "rev.md")
    write(root / "elsewhere/x.md", "---\nname: linked\ndescription: via a folder link\n---\nB\n")
    (agents / "linked").symlink_to(root / "elsewhere")
    return root


# (name, description, tools) as the client 2.1.330 listed them for the files above
PLUGIN_LISTING = {
    "kit:rev": ("Reviews.", None),
    "kit:plain": ("Agent from kit plugin", None),
    "kit:sub:123": ("Use when X.", None),
    "kit:upper": ("Upper.", None),
    "kit:x,y": ("Agent from kit plugin", None),
    "kit:a:b": ("colon", None),
    "kit:-dash": ("Agent from kit plugin", None),
    "kit:badyaml": ("Agent from kit plugin", None),
    "kit:hy": ("hyphen", None),
    "kit:empty": ("Agent from kit plugin", None),
    "kit:  ": ("spaced", None),
    "kit:false": ("123", None),
    "kit:long": ("long", None),
    "kit:.hid:inhid": ("h", None),
    "kit:deep:er:deep": ("Deep \\n line", None),
    "kit:tl": ("t", ("Read", "Grep")),
}


def test_the_plugin_loader_names_and_describes_as_the_client(plugin: Path) -> None:
    listed = plugin_agents(plugin)
    assert listed is not None
    name, agents = listed
    assert name == "kit"
    assert {a.name: (a.description, a.tools) for a in agents} == PLUGIN_LISTING
    upper = next(a for a in agents if a.name == "kit:upper")
    assert upper.ignored == ("hooks", "permissionMode")
    long = next(a for a in agents if a.name == "kit:long")
    assert long.stem_name and long.long_name


def test_a_folder_without_a_named_plugin_json_is_no_plugin(tmp_path: Path) -> None:
    write(tmp_path / "p/.claude-plugin/plugin.json", '{"version": "1"}')
    write(tmp_path / "p/agents/a.md", agent_md("a", "A."))
    assert plugin_agents(tmp_path / "p") is None
    write(tmp_path / "q/.claude-plugin/plugin.json", "not json")
    assert plugin_agents(tmp_path / "q") is None


def test_which_finds_a_plugin_agent_by_its_namespaced_name(
    plugin: Path, scopes: tuple[Path, Path], cli: Cli
) -> None:
    project, _user = scopes
    result = cli("which", "kit:rev", "--plugin-dir", str(plugin), cwd=project)
    assert result.code == 0 and result.out.startswith("kit:rev: plugin ")
    assert cli("which", "rev", "--plugin-dir", str(plugin), cwd=project).code == 1


def test_status_names_the_user_agent_a_project_agent_hides_by_its_name(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_repo: MakeRepo
) -> None:
    from tests.fixtures import write_manifest

    user = tmp_path / "config" / "agents"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(user.parent))
    hidden = write(user / "my-reviewer-copy.md", agent_md("reviewer", "User copy."))
    write(user / "other.md", agent_md("other", "Unrelated."))
    team = make_repo("team")
    team.write("agents/reviewer.md", agent_md("reviewer", "Team."))
    team.commit("agents")
    project = tmp_path / "p"
    project.mkdir()
    write_manifest(project, team.url, 'reviewer = "team"\n')
    assert cli("install", cwd=project).code == 0
    rows = {r["agent"]: r for r in json.loads(cli("--json", "status", cwd=project).out)["agents"]}
    assert rows["reviewer"]["shadows"] == str(hidden)  # by name, not by file name
    # a project file that no longer loads hides nothing: the user's file runs
    (project / ".claude/agents/reviewer.md").write_text("---\nname: reviewer\n---\nBroken.\n")
    rows = {r["agent"]: r for r in json.loads(cli("--json", "status", cwd=project).out)["agents"]}
    assert rows["reviewer"]["shadows"] is None


# -- check on a plugin folder -------------------------------------------------------------------


def check_json(cli: Cli, *args: str, cwd: Path) -> dict[str, dict[str, object]]:
    result = cli("--json", "check", *args, cwd=cwd)
    assert result.code in (0, 1), result.err
    return {str(f["path"]): f for f in json.loads(result.out)}


def codes(entry: dict[str, object]) -> list[str]:
    return [str(d["code"]) for d in entry["diagnostics"]]  # type: ignore[attr-defined]


def test_check_reads_a_plugin_folder_as_the_plugin_loader(plugin: Path, cli: Cli) -> None:
    files = check_json(cli, "kit", cwd=plugin.parent)
    loading = {
        f["name"]: (f["description"], tuple(f["tools"]) if f["tools"] is not None else None)
        for f in files.values()
        if f["loads"]
    }
    assert loading == PLUGIN_LISTING
    for skipped in ("kit/agents/link.md", "kit/agents/linked/x.md"):
        assert files[skipped]["loads"] is False and codes(files[skipped]) == ["AS017"]
    assert "kit/agents/notes.txt" not in files
    assert codes(files["kit/agents/UP.MD"]).count("AS121") == 2  # hooks and permissionMode
    assert "AS203" not in codes(files["kit/agents/UP.MD"])  # ignored hooks run nothing
    assert sorted(codes(files["kit/agents/plain.md"])) == ["AS122", "AS123"]
    assert "AS122" in codes(files["kit/agents/long.md"])
    assert "AS122" in codes(files["kit/agents/badyaml.md"])
    assert "AS006" not in codes(files["kit/agents/badyaml.md"])  # the project loader's drop
    assert codes(files["kit/agents/rev.md"]) == []


def test_check_of_part_of_a_plugin_or_one_of_its_files(plugin: Path, cli: Cli) -> None:
    sub = check_json(cli, "agents/sub", cwd=plugin)
    assert [(p, f["name"]) for p, f in sub.items()] == [("agents/sub/num.md", "kit:sub:123")]
    one = check_json(cli, "kit/agents/plain.md", "kit/agents/link.md", cwd=plugin.parent)
    assert one["kit/agents/plain.md"]["name"] == "kit:plain"
    assert codes(one["kit/agents/link.md"]) == ["AS017"]
    inside = check_json(cli, ".", cwd=plugin / "agents")
    assert inside["./rev.md"]["name"] == "kit:rev"


def test_check_of_a_collection_applies_each_loader_where_it_reads(tmp_path: Path, cli: Cli) -> None:
    repo = tmp_path / "market"
    write(repo / ".claude/agents/plain.md", "Just a body, no frontmatter.\n")
    write(repo / "plugins/one/.claude-plugin/plugin.json", '{"name": "one"}')
    write(repo / "plugins/one/agents/plain.md", "Just a body, no frontmatter.\n")
    write(repo / "plugins/one/agents/X.MD", agent_md("x", "Upper-case extension."))
    write(repo / "plugins/anon/.claude-plugin/plugin.json", '{"version": "1"}')
    write(repo / "plugins/anon/agents/a.md", agent_md("a", "A."))
    files = check_json(cli, ".", cwd=repo)
    assert files["./.claude/agents/plain.md"]["loads"] is False  # the project loader's rules
    assert "AS003" in codes(files["./.claude/agents/plain.md"])
    assert files["./plugins/one/agents/plain.md"]["name"] == "one:plain"
    assert files["./plugins/one/agents/X.MD"]["name"] == "one:x"
    anon = files["./plugins/anon/agents/a.md"]
    assert anon["loads"] is False and codes(anon) == ["AS017"]
    result = cli("check", ".", cwd=repo)
    assert result.code == 1
    assert "plugins/anon/agents/a.md:1: error AS017 Claude Code refuses the plugin" in result.out


def test_check_says_which_project_agents_hide_user_or_built_in_ones(
    scopes: tuple[Path, Path], cli: Cli
) -> None:
    project, user = scopes
    write(user / "reviewer.md", agent_md("reviewer", "User."))
    write(user / "helper-copy.md", agent_md("helper", "User helper."))
    write(project / ".claude/agents/reviewer.md", agent_md("reviewer", "Project."))
    write(project / ".claude/agents/helper.md", "---\nname: helper\n---\nNo description.\n")
    write(project / ".claude/agents/Explore.md", agent_md("Explore", "Mine."))
    write(project / ".claude/agents/alone.md", agent_md("alone", "Only here."))
    files = check_json(cli, ".claude/agents", cwd=project)
    notes = {
        path: [str(d["message"]) for d in f["diagnostics"] if d["code"] == "AS207"]  # type: ignore[attr-defined,index]
        for path, f in files.items()
    }
    assert notes[".claude/agents/reviewer.md"] == [
        f"the user's agents folder also has `reviewer` ({user / 'reviewer.md'}); in this "
        "project Claude Code runs this file instead"
    ]
    assert notes[".claude/agents/helper.md"] == [
        f"this file does not load, so for `helper` Claude Code runs the user's agent "
        f"{user / 'helper-copy.md'} instead"
    ]
    assert "built-in" in notes[".claude/agents/Explore.md"][0]
    assert notes[".claude/agents/alone.md"] == []
    # the user's own folder, checked directly, hides nothing
    assert all("AS207" not in codes(f) for f in check_json(cli, str(user), cwd=project).values())


@pytest.mark.parametrize(
    "name", ["Has Space", "kit:x", "kit/x", "kit\\\\x", "kit@x", "tab\\tname", "ki\\u200bt", ""]
)
def test_a_plugin_name_the_loader_refuses_loads_no_agent(
    tmp_path: Path, cli: Cli, name: str
) -> None:
    root = tmp_path / "p"
    write(root / ".claude-plugin/plugin.json", json.dumps({"name": json.loads(f'"{name}"')}))
    write(root / "agents/a.md", agent_md("a", "A."))
    assert plugin_agents(root) is None
    files = check_json(cli, "p", cwd=tmp_path)
    assert [(f["loads"], codes(f)) for f in files.values()] == [(False, ["AS017"])]
    assert "refuses the plugin" in cli("check", "p", cwd=tmp_path).out


def test_names_the_loader_takes(tmp_path: Path) -> None:
    for name in ("Kit", "kit_x", "kit.v2", "kit\u00e9", "-kit", "123"):
        root = tmp_path / name
        write(root / ".claude-plugin/plugin.json", json.dumps({"name": name}))
        write(root / "agents/a.md", agent_md("a", "A."))
        listed = plugin_agents(root)
        assert listed is not None and [a.name for a in listed[1]] == [f"{name}:a"]


@pytest.fixture
def listing_plugin(tmp_path: Path) -> Path:
    """A plugin whose plugin.json lists its agent files instead of the agents folder."""
    root = tmp_path / "cp"
    write(root / "agents/d.md", agent_md("def", "Only in the folder."))
    write(root / "custom/x.md", agent_md("cus", "Listed."))
    write(root / "custom/sub/y.md", agent_md("deep", "Listed, in a subfolder."))
    write(root / "custom/plain.md", "No frontmatter.\n")
    (root / "custom/link.md").symlink_to("x.md")
    listed = ["./custom/sub/y.md", "./custom/plain.md", "./custom/link.md", "./gone.md"]
    write(root / ".claude-plugin/plugin.json", json.dumps({"name": "cp", "agents": listed}))
    return root


def test_a_plugin_that_lists_its_agents_offers_those_only(listing_plugin: Path, cli: Cli) -> None:
    listed = plugin_agents(listing_plugin)
    assert listed is not None
    # named without their folders; a listed link is followed; a missing file is skipped
    assert sorted(a.name for a in listed[1]) == ["cp:cus", "cp:deep", "cp:plain"]
    files = check_json(cli, "cp", cwd=listing_plugin.parent)
    assert sorted(f["name"] for f in files.values() if f["loads"]) == [
        "cp:cus",
        "cp:deep",
        "cp:plain",
    ]


@pytest.mark.parametrize(
    "agents",
    [
        ["./custom/x.md", "custom/y.md"],
        ["./custom"],
        "./custom",
        [5],
        None,
        {"x": "./a.md"},
        ["./X.MD"],
    ],
)
def test_a_bad_agents_list_refuses_the_plugin(tmp_path: Path, agents: object) -> None:
    root = tmp_path / "p"
    write(root / ".claude-plugin/plugin.json", json.dumps({"name": "p", "agents": agents}))
    write(root / "agents/a.md", agent_md("a", "A."))
    write(root / "custom/x.md", agent_md("x", "X."))
    assert plugin_agents(root) is None


def test_an_agents_string_or_empty_list(tmp_path: Path) -> None:
    root = tmp_path / "p"
    write(root / "agents/a.md", agent_md("a", "A."))
    write(root / "custom/x.md", agent_md("x", "X."))
    write(root / ".claude-plugin/plugin.json", '{"name": "p", "agents": "./custom/x.md"}')
    assert [a.name for a in plugin_agents(root)[1]] == ["p:x"]  # type: ignore[index]
    write(root / ".claude-plugin/plugin.json", '{"name": "p", "agents": []}')
    assert plugin_agents(root) == ("p", [])


def test_an_empty_claude_config_dir_is_the_folder_the_client_starts_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Cli
) -> None:
    project = tmp_path / "proj"
    (project / ".git").mkdir(parents=True)
    write(project / "agents/rel.md", agent_md("rel", "Read as the user's, relative."))
    write(tmp_path / "home/.claude/agents/onlyuser.md", agent_md("onlyuser", "Home."))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", "")
    assert cli("which", "rel", cwd=project).code == 0
    assert cli("which", "onlyuser", cwd=project).code == 1


def test_which_with_a_plugin_folder_that_does_not_exist_is_a_usage_error(
    scopes: tuple[Path, Path], cli: Cli
) -> None:
    project, _user = scopes
    result = cli("which", "x", "--plugin-dir", "/nonexistent/kit", cwd=project)
    assert result.code == 2 and "no such folder" in result.err


def test_listed_files_that_leave_the_plugin_are_dropped_and_a_repeat_read_once(
    tmp_path: Path,
) -> None:
    root = tmp_path / "par" / "plug"
    write(tmp_path / "par/outside.md", agent_md("outside", "Not the plugin's."))
    write(root / "custom/one.md", agent_md("one", "One."))
    (root / "custom/outlink.md").symlink_to("../../outside.md")
    listed = ["./custom/one.md", "./../outside.md", "./custom/outlink.md", ".//custom/one.md"]
    write(root / ".claude-plugin/plugin.json", json.dumps({"name": "kit", "agents": listed}))
    found = plugin_agents(root)
    assert found is not None and [a.name for a in found[1]] == ["kit:one"]


def test_two_files_of_one_plugin_with_one_name_are_flagged_as_a_toss_up(
    tmp_path: Path, cli: Cli
) -> None:
    root = tmp_path / "kit"
    write(root / ".claude-plugin/plugin.json", '{"name": "kit"}')
    write(root / "agents/a.md", agent_md("same", "One."))
    write(root / "agents/b.md", agent_md("same", "Two."))
    files = check_json(cli, "kit", cwd=tmp_path)
    messages = [d["message"] for f in files.values() for d in f["diagnostics"]]  # type: ignore[attr-defined]
    assert len(messages) == 2
    assert all("kit:same" in m and "varies from run to run" in m for m in messages)
