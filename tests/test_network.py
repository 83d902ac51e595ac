"""Network faults through the CLI: a server that never answers, a closed port, a server that
demands a password, a fetch killed midway, and `--offline` runs that must not connect at all."""

from __future__ import annotations

import fcntl
import os
import random
import shutil
import signal
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures import Cli, MakeRepo, agent_md, cache_dir, installed, write_manifest
from tests.procs import processes_naming, run_many
from tests.servers import AuthServer, closed_port, self_signed_cert, tcp_server

pytestmark = pytest.mark.slow  # servers, timeouts and killed fetches


def assert_nothing_written(project: Path) -> None:
    assert not (project / "agentsync.lock").exists()
    assert not (project / ".claude").exists()
    mirrors = cache_dir() / "mirrors"
    assert not mirrors.exists() or not list(mirrors.iterdir())  # no half-made mirror
    staging = cache_dir() / "tmp"
    assert not staging.exists() or not list(staging.iterdir())


@pytest.fixture
def no_prompt_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove every prompt guard the test harness sets: agentsync must set its own."""
    for name in ("GIT_TERMINAL_PROMPT", "GIT_ASKPASS", "SSH_ASKPASS", "GIT_SSH_COMMAND"):
        monkeypatch.delenv(name, raising=False)


# -- a server that accepts and never answers --------------------------------------------------


@pytest.mark.parametrize(("scheme", "how"), [("git", "flag"), ("https", "env")])
def test_a_silent_server_fails_within_the_timeout(
    cli: Cli, project_dir: Path, monkeypatch: pytest.MonkeyPatch, scheme: str, how: str
) -> None:
    with tcp_server() as server:
        write_manifest(
            project_dir, f"{scheme}://127.0.0.1:{server.port}/agents.git", source="remote"
        )
        args = ["install", "remote/helper"]
        if how == "flag":
            args = ["--timeout", "1", *args]
        else:
            monkeypatch.setenv("AGENTSYNC_TIMEOUT", "1")
        started = time.monotonic()
        result = cli(*args, cwd=project_dir)
        elapsed = time.monotonic() - started
        assert server.connections >= 1  # it really reached the server, which never answered
    assert result.code == 1, result
    assert 0.9 < elapsed < 6, elapsed
    assert "fetch timed out after 1s" in result.err
    assert "--timeout SECONDS" in result.err and "AGENTSYNC_TIMEOUT" in result.err
    assert "Traceback" not in result.err
    assert_nothing_written(project_dir)
    assert "helper" not in (project_dir / "agentsync.toml").read_text()


@pytest.mark.parametrize("value", ["soon", "0", "-5"])
def test_a_bad_timeout_setting_is_a_usage_error(
    cli: Cli, project_dir: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    write_manifest(project_dir, "https://127.0.0.1:9/x", source="remote")
    monkeypatch.setenv("AGENTSYNC_TIMEOUT", value)
    result = cli("install", cwd=project_dir)
    assert result.code == 2, result
    assert "AGENTSYNC_TIMEOUT" in result.err


# -- unreachable host, authentication failure: fast, and never a prompt -----------------------


@pytest.mark.parametrize("scheme", ["git", "https", "ssh"])
def test_a_closed_port_fails_fast_without_a_prompt(
    project_dir: Path, no_prompt_env: None, scheme: str
) -> None:
    write_manifest(project_dir, f"{scheme}://127.0.0.1:{closed_port()}/agents.git", source="remote")
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "agentsync", "--timeout", "60", "install", "remote/helper"],
        cwd=project_dir,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        start_new_session=True,  # no controlling terminal at all
        check=False,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result
    assert elapsed < 10, elapsed  # refused at once, not the 60 s timeout
    assert "could not fetch" in result.stderr
    assert "hint:" in result.stderr
    assert "Traceback" not in result.stderr
    assert_nothing_written(project_dir)


@pytest.fixture
def auth_server(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[AuthServer]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate for the HTTPS test server")
    cert, key = self_signed_cert(tmp_path_factory.mktemp("tls"))
    monkeypatch.setenv("GIT_SSL_CAINFO", str(cert))  # trust our server; kept by the env scrub
    server = AuthServer(cert, key)
    yield server
    server.close()


def run_on_a_terminal(args: list[str], cwd: Path, timeout: float) -> tuple[int, str, float]:
    """Run agentsync with a pseudo-terminal as its controlling terminal (where git would
    prompt if it could); return exit code, everything printed, and the elapsed time."""
    master, slave = os.openpty()

    def own_terminal() -> None:
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentsync", *args],
        cwd=cwd,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        preexec_fn=own_terminal,  # noqa: PLW1509 - the test process runs no threads here
        close_fds=True,
    )
    os.close(slave)
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        os.close(master)
        pytest.fail("agentsync waited on the terminal: a credential prompt?")
    elapsed = time.monotonic() - started
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return code, b"".join(chunks).decode(errors="replace"), elapsed


def test_authentication_failure_never_prompts_even_on_a_terminal(
    project_dir: Path, auth_server: AuthServer, no_prompt_env: None
) -> None:
    write_manifest(
        project_dir, f"https://127.0.0.1:{auth_server.port}/private/agents.git", source="remote"
    )
    code, output, elapsed = run_on_a_terminal(["install", "remote/helper"], project_dir, 30)
    assert code == 1, output
    assert elapsed < 15
    assert auth_server.requests >= 1  # git reached the server and was refused
    assert "Username" not in output.replace("could not read Username", "")  # no prompt shown
    assert "could not fetch" in output
    assert "agentsync never prompts" in output
    assert_nothing_written(project_dir)


# -- a fetch killed midway --------------------------------------------------------------------


def test_a_fetch_killed_midway_leaves_the_cache_usable(make_repo: MakeRepo, tmp_path: Path) -> None:
    """SIGKILL agentsync at random moments while it creates or updates a mirror (a few MB of
    incompressible objects over file://); the next run must just work and the mirror pass fsck."""
    repo = make_repo("heavy")
    repo.write("agents/helper.md", agent_md("helper", "Helps."))
    chance = random.Random(1234)  # noqa: S311 - test data, not secrets

    def add_bulk(round_: int) -> None:
        for index in range(150):
            repo.write(f"bulk/{round_}/{index}.bin", chance.randbytes(8192))

    add_bulk(0)
    repo.commit("agents and bulk")
    project = tmp_path / "heavy-project"
    project.mkdir()
    write_manifest(project, repo.url, 'helper = "heavy"\n', source="heavy")
    started = time.monotonic()
    assert run_many([(project, ["install"], None)])[0].code == 0
    span = time.monotonic() - started
    for round_ in range(1, 7):
        if round_ % 2:  # cold cache: the kill lands while the mirror is being created
            shutil.rmtree(cache_dir(), ignore_errors=True)
            (project / "agentsync.lock").unlink()
        else:  # warm cache, upstream moved: the kill lands in an incremental fetch
            add_bulk(round_)
            repo.write("agents/helper.md", agent_md("helper", f"Helps, round {round_}."))
            repo.commit(f"round {round_}")
        command = ["install"] if round_ % 2 else ["update"]
        delay = chance.uniform(0.02, span * 0.8)
        run_many([(project, command, None)], kill_after=[delay])
        again = run_many([(project, command, None)])[0]
        assert again.code == 0, (round_, delay, again)
        again = run_many([(project, ["install"], None)])[0]
        assert again.code == 0 and "up to date" in again.out, (round_, again)
        for mirror in (cache_dir() / "mirrors").glob("*.git"):
            fsck = subprocess.run(
                ["git", f"--git-dir={mirror}", "fsck", "--no-dangling"],
                capture_output=True,
                text=True,
                check=False,
            )
            assert fsck.returncode == 0, (round_, fsck.stderr)
    assert "round 6" in installed(project, "helper").read_text()


# -- interrupted -------------------------------------------------------------------------------


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads processes from /proc")
def test_ctrl_c_during_parallel_fetches_ends_the_run_at_once(project_dir: Path) -> None:
    """Ctrl-C reaches only the main thread, which waits for the fetch threads: their gits
    are killed (with their helpers) so that the run ends now, not at the fetch timeout."""
    with tcp_server() as server:
        sources = "".join(
            f'[sources.s{i}]\nurl = "git://127.0.0.1:{server.port}/s{i}"\ninclude = ["*"]\n\n'
            for i in range(2)
        )
        (project_dir / "agentsync.toml").write_text(sources + "[agents]\n")
        run = subprocess.Popen(
            [sys.executable, "-m", "agentsync", "install"],
            cwd=project_dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 20
        while server.connections < 2:
            assert time.monotonic() < deadline, "the fetches never connected"
            time.sleep(0.02)
        asked = time.monotonic()
        run.send_signal(signal.SIGINT)
        _out, err = run.communicate(timeout=60)
        took = time.monotonic() - asked
    assert run.returncode == 130 and "interrupted" in err, (run.returncode, err)
    assert took < 10, took  # the fetch timeout is 60 s
    assert "Traceback" not in err
    assert processes_naming(f"127.0.0.1:{server.port}") == []


# -- offline ----------------------------------------------------------------------------------


def test_offline_never_connects(cli: Cli, project_dir: Path) -> None:
    with tcp_server() as server:
        url = f"https://127.0.0.1:{server.port}/agents.git"
        write_manifest(project_dir, url, 'helper = "remote"\n', source="remote")
        for args in (["install"], ["install", "remote/other"], ["search"], ["update"]):
            result = cli("--offline", "--timeout", "1", *args, cwd=project_dir)
            assert result.code == 1, (args, result)
            assert "--offline" in result.err, result
            assert "timed out" not in result.err
        time.sleep(0.2)  # let the accept loop notice a late connection, if any
        assert server.connections == 0
    assert_nothing_written(project_dir)


def test_offline_install_with_a_warm_cache_works_without_the_source(
    cli: Cli, make_repo: MakeRepo, project_dir: Path, tmp_path: Path
) -> None:
    repo = make_repo("away")
    repo.write("agents/helper.md", agent_md("helper", "Helps."))
    repo.commit("helper")
    write_manifest(project_dir, repo.url, source="remote")
    assert cli("install", "remote/helper", cwd=project_dir).code == 0
    target = installed(project_dir, "helper")
    expected = target.read_bytes()
    target.unlink()
    repo.path.rename(tmp_path / "gone")  # the source is unreachable now
    result = cli("--offline", "install", cwd=project_dir)
    assert result.code == 0, result
    assert target.read_bytes() == expected
    frozen = cli("--offline", "install", "--frozen", cwd=project_dir)
    assert frozen.code == 0, frozen
