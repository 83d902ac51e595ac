"""Sources that are Claude Code marketplaces (`.claude-plugin/marketplace.json`), in the
layouts public collections use: one folder per plugin under `plugins/` with its own
`agents/`, a single plugin at the repository root, a `metadata.pluginRoot`, entries that list
their agent files, and plugins kept in repositories of their own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentsync.marketplace import External, NotAMarketplace, parse_marketplace
from tests.fixtures import TARGET, Cli, GitRepo, MakeRepo, agent_md

MARKETPLACE = ".claude-plugin/marketplace.json"


def write_market(repo: GitRepo, plugins: list[dict[str, object]], **extra: object) -> None:
    repo.write(MARKETPLACE, json.dumps({"name": "demo", "owner": {"name": "x"}, **extra,
                                        "plugins": plugins}))  # fmt: skip


@pytest.fixture
def external(make_repo: MakeRepo) -> GitRepo:
    """A plugin in a repository of its own: plugin.json and agents/ at its root."""
    repo = make_repo("ext-plugin")
    repo.write(".claude-plugin/plugin.json", '{"name": "extkit"}')
    repo.write("agents/ext-agent.md", agent_md("ext-agent", "From elsewhere."))
    repo.commit("ext")
    return repo


@pytest.fixture
def market(make_repo: MakeRepo, external: GitRepo) -> GitRepo:
    """Modelled on the large public marketplaces: plugins/<plugin>/agents/*.md, the same agent
    name in two plugins, a README beside the agents, files outside any plugin."""
    repo = make_repo("market")
    write_market(
        repo,
        [
            {"name": "backend", "source": "./plugins/backend", "version": "1.2.0"},
            {"name": "review", "source": "./plugins/review"},
            {"name": "ext", "source": {"source": "url", "url": external.url}},
            {"name": "from-npm", "source": {"source": "npm", "package": "x"}},
        ],
    )
    repo.write("plugins/backend/.claude-plugin/plugin.json", '{"name": "backend"}')
    repo.write("plugins/backend/agents/api.md", agent_md("api-designer", "Designs APIs."))
    repo.write("plugins/backend/agents/README.md", "# The backend agents\n")
    repo.write("plugins/backend/agents/reviewer.md", agent_md("code-reviewer", "Backend review."))
    repo.write("plugins/backend/commands/deploy.md", agent_md("deploy", "A slash command."))
    repo.write("plugins/review/agents/sub/reviewer.md", agent_md("code-reviewer", "Review."))
    repo.write("plugins/review/agents/Loud.MD", agent_md("loud", "Upper-case extension."))
    repo.write("agents/stray.md", agent_md("stray", "Not in any plugin."))
    repo.commit("marketplace")
    return repo


@pytest.fixture
def project(cli: Cli, project_dir: Path, market: GitRepo) -> Path:
    assert cli("init", cwd=project_dir).code == 0
    assert cli("source", "add", "demo", market.url, cwd=project_dir).code == 0
    return project_dir


def test_search_lists_each_plugins_agents_as_the_files_name_them(cli: Cli, project: Path) -> None:
    data = json.loads(cli("--json", "search", cwd=project).out)
    found = sorted((a["agent"], a["path"]) for a in data["agents"])
    assert found == [
        ("api-designer", "plugins/backend/agents/api.md"),
        ("code-reviewer", "plugins/backend/agents/reviewer.md"),
        ("code-reviewer", "plugins/review/agents/sub/reviewer.md"),
        ("loud", "plugins/review/agents/Loud.MD"),
    ]
    codes = {w["code"] for w in data["warnings"]}
    assert codes == {"plugin-elsewhere", "plugin-skipped"}
    text = cli("search", cwd=project)
    assert "demo/backend/api-designer" in text.out and "demo/review/code-reviewer" in text.out


def test_install_by_name_by_plugin_and_by_plugin_glob(cli: Cli, project: Path) -> None:
    assert cli("install", "api-designer", cwd=project).code == 0
    assert (project / TARGET / "api-designer.md").is_file()
    ambiguous = cli("install", "code-reviewer", cwd=project)
    assert ambiguous.code == 1
    assert "2 plugins with an agent named 'code-reviewer'" in ambiguous.err
    assert "agentsync install demo/backend/code-reviewer" in ambiguous.err
    picked = cli("install", "demo/review/code-reviewer", cwd=project)
    assert picked.code == 0, picked
    assert "Review." in (project / TARGET / "code-reviewer.md").read_text()
    assert cli("install", "demo/review:*", cwd=project).code == 0
    assert (project / TARGET / "loud.md").is_file()
    manifest = (project / "agentsync.toml").read_text()
    assert 'include = ["review:*"]' in manifest
    assert 'file = "plugins/review/agents/sub/reviewer.md"' in manifest
    lock = (project / "agentsync.lock").read_text()
    assert 'plugin = "review"' in lock and 'plugin = "backend"' in lock
    # the lock stays fresh: a plugin glob is matched against the locked plugin
    assert cli("lock", "--check", cwd=project).code == 0
    assert cli("verify", cwd=project).code == 0


def test_a_plugin_in_another_repository_is_fetched_and_pinned_as_a_source(
    cli: Cli, project: Path, external: GitRepo
) -> None:
    result = cli("install", "demo/ext:*", cwd=project)
    assert result.code == 0, result
    assert (project / TARGET / "ext-agent.md").is_file()
    manifest = (project / "agentsync.toml").read_text()
    assert "[sources.demo-ext]" in manifest and external.url in manifest
    lock = (project / "agentsync.lock").read_text()
    assert "[sources.demo-ext]" in lock and external.head() in lock
    external.write("agents/ext-agent.md", agent_md("ext-agent", "From elsewhere, v2."))
    external.commit("v2")
    assert cli("outdated", cwd=project).code == 1
    assert cli("update", cwd=project).code == 0
    assert "v2" in (project / TARGET / "ext-agent.md").read_text()
    single = cli("install", "demo/ext/ext-agent", cwd=project)
    assert single.code == 0, single


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("demo/nope:*", "has no plugin named 'nope'"),
        ("demo/backend/nobody", "plugin backend of demo has no agent named 'nobody'"),
        ("demo/from-npm/x", "cannot be installed: its source is of kind 'npm'"),
    ],
)
def test_a_wrong_plugin_reference_says_what_there_is(
    cli: Cli, project: Path, reference: str, message: str
) -> None:
    before = (project / "agentsync.toml").read_bytes()
    result = cli("install", reference, cwd=project)
    assert result.code == 1 and message in result.err, result
    assert (project / "agentsync.toml").read_bytes() == before


def test_plugin_references_need_a_marketplace(
    cli: Cli, project_dir: Path, make_repo: MakeRepo
) -> None:
    plain = make_repo("plain")
    plain.write("agents/a.md", agent_md("a", "A."))
    plain.commit("a")
    assert cli("init", cwd=project_dir).code == 0
    assert cli("source", "add", "plain", plain.url, cwd=project_dir).code == 0
    result = cli("install", "plain/kit/a", cwd=project_dir)
    assert result.code == 2 and "is not a marketplace" in result.err
    for bad in ("plain//a", "plain/kit/a*", "a/b/c/d"):
        assert cli("install", bad, cwd=project_dir).code == 2, bad


def test_a_single_plugin_marketplace_and_a_plugin_root(
    cli: Cli, project_dir: Path, make_repo: MakeRepo
) -> None:
    """A repository that is its own plugin (`"source": "./"`), and one whose entries are
    relative to `metadata.pluginRoot` and list their agent files."""
    solo = make_repo("solo")
    write_market(solo, [{"name": "solo", "source": "./"}])
    solo.write(".claude-plugin/plugin.json", '{"name": "solo"}')
    solo.write("agents/helper.md", agent_md("helper", "Helps."))
    solo.write("docs/other.md", agent_md("other", "Not an agent folder."))
    solo.commit("solo")
    rooted = make_repo("rooted")
    write_market(
        rooted,
        [{"name": "kit", "source": "kit", "agents": ["./agents/one.md"]}],
        metadata={"pluginRoot": "./packages"},
    )
    rooted.write("packages/kit/agents/one.md", agent_md("one", "Listed."))
    rooted.write("packages/kit/agents/two.md", agent_md("two", "Not listed."))
    rooted.commit("rooted")
    assert cli("init", cwd=project_dir).code == 0
    assert cli("source", "add", "solo", solo.url, cwd=project_dir).code == 0
    assert cli("source", "add", "rooted", rooted.url, cwd=project_dir).code == 0
    data = json.loads(cli("--json", "search", cwd=project_dir).out)
    assert sorted(a["agent"] for a in data["agents"]) == ["helper", "one"]
    assert cli("install", "solo/solo/helper", "rooted/kit:*", cwd=project_dir).code == 0
    assert sorted(p.name for p in (project_dir / TARGET).iterdir()) == ["helper.md", "one.md"]


def test_a_source_with_a_path_is_read_as_files_not_as_a_marketplace(
    cli: Cli, project_dir: Path, market: GitRepo
) -> None:
    assert cli("init", cwd=project_dir).code == 0
    added = cli("source", "add", "demo", market.url, "--path", "agents", cwd=project_dir)
    assert added.code == 0
    data = json.loads(cli("--json", "search", cwd=project_dir).out)
    assert [a["agent"] for a in data["agents"]] == ["stray"]


def test_the_marketplace_file_is_read_defensively() -> None:
    entries = parse_marketplace(
        json.dumps(
            {
                "plugins": [
                    {"name": "ok", "source": "./plugins/ok"},
                    {"name": "up", "source": "../outside"},
                    {"name": "abs", "source": "/etc"},
                    {"name": "../evil", "source": "./x"},
                    {"name": "gh", "source": {"source": "github", "repo": "o/r", "ref": "v1"}},
                    {"name": "bad-gh", "source": {"source": "github", "repo": "-o/r"}},
                    {
                        "name": "sub",
                        "source": {
                            "source": "git-subdir",
                            "url": "https://h/r.git",
                            "path": "plugins/p",
                        },
                    },
                    "not an object",
                    {"name": "ok", "source": "./again"},
                ]
            }
        ).encode()
    ).plugins
    by_name = {p.name: p for p in entries}
    assert set(by_name) == {"ok", "up", "abs", "gh", "bad-gh", "sub"}
    assert by_name["ok"].folder == "plugins/ok"  # the first of two entries named alike
    assert by_name["up"].unsupported and by_name["abs"].unsupported
    assert by_name["gh"].external == External("https://github.com/o/r.git", "v1")
    assert by_name["bad-gh"].unsupported
    assert by_name["sub"].external == External("https://h/r.git", None, "plugins/p")
    for data in (b"{", b"[]", b'{"plugins": 3}', b"\xff"):
        with pytest.raises(NotAMarketplace):
            parse_marketplace(data)


def test_an_unreadable_marketplace_file_is_a_clear_error(
    cli: Cli, project_dir: Path, make_repo: MakeRepo
) -> None:
    broken = make_repo("broken")
    broken.write(MARKETPLACE, "{not json")
    broken.write("agents/a.md", agent_md("a", "A."))
    broken.commit("broken")
    assert cli("init", cwd=project_dir).code == 0
    assert cli("--offline", "source", "add", "b", broken.url, cwd=project_dir).code == 0
    result = cli("install", "a", cwd=project_dir)
    assert result.code == 1, result
    assert "marketplace.json cannot be read" in result.err and "set `path`" in result.err
