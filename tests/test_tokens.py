"""CI tokens for private repositories: GH_TOKEN / GITHUB_TOKEN given to git as an
`http.<url>.extraHeader` for the allowed hosts only, through git's environment, and never
written to the lock, the cache, a config file or the output."""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentsync.urls import token_config
from tests.fixtures import TARGET, Cli, MakeRepo, agent_md, cache_dir
from tests.servers import GitServer, serve_bare_clone

TOKEN = "ghs_T0kenThatMustNeverLeak42"  # noqa: S105 - a test token the server demands


def header_of(config: dict[str, str]) -> str:
    assert config["GIT_CONFIG_COUNT"] == "1"
    value = config["GIT_CONFIG_VALUE_0"]
    assert value.startswith("Authorization: Basic ")
    return base64.b64decode(value.removeprefix("Authorization: Basic ")).decode()


def test_the_token_goes_to_github_com_over_https_only() -> None:
    env = {"GITHUB_TOKEN": TOKEN}
    config = token_config("https://github.com/team/agents.git", env)
    assert config["GIT_CONFIG_KEY_0"] == "http.https://github.com/.extraHeader"
    assert header_of(config) == f"x-access-token:{TOKEN}"
    for url in (
        "http://github.com/team/agents.git",  # never in clear text
        "https://gitlab.com/team/agents.git",  # another host
        "https://github.com.evil.example/team/agents.git",
        "https://user:pw@github.com/team/agents.git",  # the URL's own credentials win
        "ssh://git@github.com/team/agents.git",
        "file:///srv/agents",
    ):
        assert token_config(url, env) == {}, url
    assert token_config("https://github.com/x.git", {}) == {}
    assert token_config("https://github.com/x.git", {"GITHUB_TOKEN": "a\nb"}) == {}


def test_gh_token_wins_and_more_hosts_are_named_explicitly() -> None:
    env = {"GITHUB_TOKEN": "second", "GH_TOKEN": "first"}
    assert header_of(token_config("https://github.com/x.git", env)) == "x-access-token:first"
    enterprise = {
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_SERVER_URL": "https://ghe.example.com",
        "AGENTSYNC_TOKEN_HOSTS": "git.example.org, 127.0.0.1:8443",
    }
    for url in (
        "https://ghe.example.com/team/agents.git",
        "https://git.example.org/agents.git",
        "https://127.0.0.1:8443/agents.git",
    ):
        assert token_config(url, enterprise), url
    assert token_config("https://127.0.0.1:9000/agents.git", enterprise) == {}  # another port


@pytest.fixture
def served(
    make_repo: MakeRepo,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[GitServer, str]]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate for the HTTPS test server")
    work = make_repo("private")
    work.write("agents/helper.md", agent_md("helper", "A private helper."))
    work.commit("helper")
    tls = tmp_path_factory.mktemp("tls")
    server, _bare, cert = serve_bare_clone(work.path, tmp_path, tls, "x-access-token", TOKEN)
    monkeypatch.setenv("GIT_SSL_CAINFO", str(cert))
    yield server, f"https://127.0.0.1:{server.port}/agents.git"
    server.close()


def no_token_below(root: Path) -> None:
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                assert TOKEN.encode() not in data, path
                assert base64.b64encode(f"x-access-token:{TOKEN}".encode()) not in data, path


@pytest.mark.slow
def test_a_private_source_is_reached_with_the_ci_token_and_the_token_stays_secret(
    cli: Cli, project_dir: Path, served: tuple[GitServer, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, url = served
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    assert cli("init", cwd=project_dir).code == 0
    # not an allowed host yet: git is not given the token, and the server refuses
    refused = cli("source", "add", "team", url, cwd=project_dir)
    assert refused.code == 1 and "AGENTSYNC_TOKEN_HOSTS" in refused.err, refused
    assert not server.credentials
    monkeypatch.setenv("AGENTSYNC_TOKEN_HOSTS", f"127.0.0.1:{server.port}")
    outputs = []
    for args in (
        ["source", "add", "team", url],
        ["-v", "install", "team/helper"],
        ["--json", "outdated"],
        ["verify"],
        ["--json", "source", "list"],
    ):
        result = cli(*args, cwd=project_dir)
        assert result.code == 0, (args, result)
        outputs += [result.out, result.err]
    assert set(server.credentials) == {f"x-access-token:{TOKEN}"}
    assert (project_dir / TARGET / "helper.md").is_file()
    for text in outputs:
        assert TOKEN not in text
    lock = (project_dir / "agentsync.lock").read_text()
    assert f'url = "{url}"' in lock and TOKEN not in lock
    no_token_below(project_dir)
    no_token_below(cache_dir())  # mirror config, refs, logs
