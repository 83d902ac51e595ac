"""Secrets: a password in a source URL is used (git sends it) but never shown or stored.

A real HTTPS git server on 127.0.0.1 serves a private repository only to `user:password`;
every command and output mode that can mention the source is checked, on success and on
failure, along with the lock, the project's state folder and the whole cache.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures import (
    Cli,
    CliResult,
    GitRepo,
    MakeRepo,
    agent_md,
    cache_dir,
    installed,
    write_manifest,
)
from tests.servers import GitServer, closed_port, serve_bare_clone, tcp_server

pytestmark = pytest.mark.slow  # an HTTPS git server and timeouts

USER, SECRET = "agent-user", "s3cret-Pa55w0rd"


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text, text
        assert f"{USER}:" not in text, text


def assert_tree_clean(root: Path) -> None:
    """No file name or file content below `root` holds the password."""
    if not root.exists():
        return
    for folder, _dirs, files in os.walk(root):
        assert SECRET not in folder
        for name in files:
            path = Path(folder) / name
            assert SECRET not in name
            if path.is_file() and not path.is_symlink():
                assert SECRET.encode() not in path.read_bytes(), path


@pytest.fixture
def private(
    make_repo: MakeRepo,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[GitServer, GitRepo, str]]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate for the HTTPS test server")
    work = make_repo("private-work")
    work.write("agents/helper.md", agent_md("helper", "A private helper."))
    work.commit("helper")
    tls = tmp_path_factory.mktemp("tls")
    server, bare, cert = serve_bare_clone(work.path, tmp_path, tls, USER, SECRET)
    work.git("remote", "add", "origin", str(bare))
    monkeypatch.setenv("GIT_SSL_CAINFO", str(cert))
    url = f"https://{USER}:{SECRET}@127.0.0.1:{server.port}/agents.git"
    yield server, work, url
    server.close()


def test_a_password_in_the_url_is_used_but_never_shown_or_stored(
    cli: Cli, project_dir: Path, private: tuple[GitServer, GitRepo, str]
) -> None:
    server, work, url = private
    seen: list[str] = []

    def run(*args: str, code: int = 0) -> CliResult:
        result = cli(*args, cwd=project_dir)
        assert result.code == code, (args, result)
        seen.extend((result.out, result.err))
        return result

    run("init")
    run("source", "add", "team", url)
    run("-v", "install", "team/helper")
    assert server.credentials and set(server.credentials) == {f"{USER}:{SECRET}"}
    assert installed(project_dir, "helper").exists()
    for args in (
        ["source", "list"],
        ["--json", "source", "list"],
        ["-v", "status"],
        ["--json", "status"],
        ["-v", "outdated"],
        ["--json", "outdated"],
        ["search"],
        ["--json", "search"],
        ["show", "helper"],
        ["--json", "show", "helper"],
        ["-v", "install"],
        ["--json", "install"],
        ["check"],
    ):
        run(*args)
    listing = run("source", "list").out
    assert f"https://127.0.0.1:{server.port}/agents.git" in listing  # shown, without the user
    # upstream moves: outdated, update and diff mention the source again
    work.write("agents/helper.md", agent_md("helper", "A private helper, v2."))
    work.commit("v2")
    work.git("push", "-q", "origin", "HEAD:main")
    run("-v", "outdated", code=1)
    run("--json", "outdated", code=1)
    run("-v", "update")
    run("--json", "update")
    assert_no_secret(*seen)
    lock = (project_dir / "agentsync.lock").read_text()
    assert_no_secret(lock)
    assert f'url = "https://127.0.0.1:{server.port}/agents.git"' in lock
    assert_tree_clean(project_dir / ".agentsync")
    assert_tree_clean(project_dir / ".claude")
    assert_tree_clean(cache_dir())  # mirror config, refs, logs, folder names


@pytest.mark.parametrize("flags", [[], ["-v"], ["--json"]])
def test_a_refused_password_is_not_echoed_in_the_error(
    cli: Cli, project_dir: Path, private: tuple[GitServer, GitRepo, str], flags: list[str]
) -> None:
    server, _work, url = private
    wrong = url.replace(SECRET, SECRET + "-wrong")
    write_manifest(project_dir, wrong)
    result = cli(*flags, "install", "team/helper", cwd=project_dir)
    assert result.code == 1, result
    assert "could not fetch" in result.err
    assert f"https://127.0.0.1:{server.port}/agents.git" in result.err
    assert_no_secret(result.out, result.err)
    assert_tree_clean(cache_dir())


@pytest.mark.parametrize(
    "template",
    [
        "https://{user}:{secret}@127.0.0.1:{closed}/agents.git",
        "ssh://{user}:{secret}@127.0.0.1:{closed}/agents.git",
        "git://{user}:{secret}@127.0.0.1:{closed}/agents.git",
        "https://{user}:{secret}@127.0.0.1:{silent}/agents.git",
        "https://{user}:{secret}@/agents.git",
        "gopher://{user}:{secret}@127.0.0.1/agents.git",
        # tokens in a query string are secrets too
        "https://127.0.0.1:{closed}/agents.git?access_token={secret}",
        "https://127.0.0.1:{silent}/agents.git?private_token={secret}&ref=main",
        "git://127.0.0.1:{closed}/agents.git?token={secret}",
        "file:///nonexistent/agents.git?token={secret}",
        # and in a fragment or a `;` path parameter
        "https://127.0.0.1:{closed}/agents.git#access_token={secret}",
        "https://127.0.0.1:{closed}/agents.git;access_token={secret}",
    ],
)
def test_failing_sources_never_show_the_password(
    cli: Cli, project_dir: Path, template: str
) -> None:
    with tcp_server() as silent:
        url = template.format(user=USER, secret=SECRET, closed=closed_port(), silent=silent.port)
        write_manifest(project_dir, url, 'helper = "team"\n')
        outputs = []
        for args in (["-v", "install"], ["--json", "install"]):
            result = cli("--timeout", "1", *args, cwd=project_dir)
            outputs += [result.out, result.err]
            assert result.code in (1, 2), (args, result)  # refused or unreachable, never a pass
            assert result.err.startswith("error: ") and "\nhint: " in result.err, (args, result)
        listed = cli("source", "list", cwd=project_dir)
        outputs += [listed.out, listed.err]
        assert listed.out.startswith("team ") or listed.err.startswith("error: "), listed
    assert_no_secret(*outputs)
    assert not (project_dir / "agentsync.lock").exists()
    assert_tree_clean(cache_dir())
