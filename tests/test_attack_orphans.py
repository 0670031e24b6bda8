"""The forked Hyperscan-compile child never outlives its parent and never holds its secrets (issue 13).

A real process compiles a real database; the child is caught mid-compile at the test gate (``GATE_ENV``: after
it dropped what it inherited, before it compiles), so each test is deterministic: the parent is then killed
(SIGKILL, SIGTERM), interrupted by a handler that raises and goes on living, or the child outstays the deadline.
"""

from __future__ import annotations

import os
import secrets
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator, Optional

import pytest

from pytest_auditready.scan import hyperscan as hsmod
from tests.conftest import remember_secret

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and PR_SET_PDEATHSIG: Linux")

ROOT = Path(__file__).resolve().parents[1]
# Compiles a database nobody compiled before in that process (so the child is forked), then reports.
COMPILE = """
import os, signal, sys
from pytest_auditready.scan import hyperscan
from pytest_auditready.scan.hyperscan import any_match
if sys.argv[1] in ("raise", "raise-at-once"):
    def stop(_n, _f):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)
if sys.argv[1] == "raise-at-once":  # SIGTERM right after the fork, before the parent reads the child's pipe
    readable = hyperscan._readable
    def interrupted(fd):
        os.kill(os.getpid(), signal.SIGTERM)
        return readable(fd)
    hyperscan._readable = interrupted
try:
    any_match((b"orphan-test-[0-9]{3}",))
    print("compiled", flush=True)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.stdin.read()  # live on until the test lets go
"""


def _state(pid: int) -> Optional[str]:
    """The process's state letter, or None when it is gone (a zombie, "Z", has ended too)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat[stat.rindex(")") + 2]


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if _state(pid) in (None, "Z", "X"):
            return True
        time.sleep(0.02)
    return False


class Gate:
    """The test's end of the compile gate: learns the child's pid, and can let it compile."""

    def __init__(self, path: Path) -> None:
        self.path = path
        os.mkfifo(path, 0o600)
        # Non-blocking, so that opening does not wait for the child; reads below wait with a deadline.
        self._fd: Optional[int] = os.open(path, os.O_RDONLY | os.O_NONBLOCK)

    def child(self, within: float = 30.0) -> int:
        """The pid the child announced (it then waits for a writer, which only ``release`` brings)."""
        assert self._fd is not None
        deadline, data = time.monotonic() + within, b""
        while not data.endswith(b"\n"):
            left = deadline - time.monotonic()
            assert left > 0, "the compile child never reached the gate"
            if select.select([self._fd], [], [], left)[0]:
                data += os.read(self._fd, 64)
        self.close()
        return int(data)

    def release(self, within: float = 30.0) -> None:
        """Open the gate once the child waits at it (a non-blocking open fails until it does), and close it."""
        deadline = time.monotonic() + within
        while True:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError:  # ENXIO: the child has not opened its end yet
                assert time.monotonic() < deadline, "the compile child never waited at the gate"
                time.sleep(0.01)
        os.close(fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@pytest.fixture
def gate(tmp_path: Path) -> Iterator[Gate]:
    g = Gate(tmp_path / "gate")
    yield g
    g.close()


@pytest.fixture
def spawn(gate: Gate) -> Iterator[object]:
    """Start COMPILE in a subprocess whose environment holds tokens; every process is reaped at the end."""
    started: list[subprocess.Popen[str]] = []
    children: list[int] = []
    token, bao_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    remember_secret(token)
    remember_secret(bao_token)

    def start(mode: str) -> tuple[subprocess.Popen[str], int, str]:
        env = {**os.environ, "VAULT_TOKEN": token, "BAO_TOKEN": bao_token, hsmod.GATE_ENV: str(gate.path),
               "PYTHONPATH": str(ROOT), hsmod.CACHE_ENV: "0"}  # compiled, not loaded from the database cache
        proc = subprocess.Popen([sys.executable, "-c", COMPILE, mode], env=env, cwd=ROOT, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        started.append(proc)
        child = gate.child()
        children.append(child)
        return proc, child, token

    yield start
    for child in children:  # only if a test failed: the child of our own subprocess, by its pid
        if _state(child) not in (None, "Z", "X"):
            os.kill(child, signal.SIGKILL)
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def _descriptors(pid: int, within: float = 5.0) -> dict[int, str]:
    """What each open descriptor of ``pid`` names. The child announces its pid at the gate, then closes that
    descriptor and opens the gate again to wait: a descriptor listed may be gone before it is read, and the
    listing is then taken again."""
    deadline = time.monotonic() + within
    while True:
        try:
            return {int(n): os.readlink(f"/proc/{pid}/fd/{n}") for n in os.listdir(f"/proc/{pid}/fd")}
        except FileNotFoundError:
            assert time.monotonic() < deadline, f"the descriptors of {pid} never held still"
            time.sleep(0.01)


def _assert_holds_no_secret(child: int, parent: int, token: str) -> None:
    assert Path(f"/proc/{child}/stat").read_text().split(")")[1].split()[1] == str(parent), "not our child"
    assert token.encode() in Path(f"/proc/{parent}/environ").read_bytes(), "the parent does hold the token"
    environ = Path(f"/proc/{child}/environ").read_bytes()
    assert token.encode() not in environ
    assert b"VAULT_TOKEN" not in environ and b"BAO_TOKEN" not in environ
    # nothing else of the parent's either: stdio on /dev/null, no descriptor but its pipe and the gate
    fds = _descriptors(child)
    assert [fds.get(n) for n in (0, 1, 2)] == ["/dev/null"] * 3, fds
    assert len(fds) <= 5, fds


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_compile_child_dies_with_its_parent_and_never_held_the_token(spawn, sig):
    proc, child, token = spawn("plain")
    _assert_holds_no_secret(child, proc.pid, token)
    proc.send_signal(sig)
    proc.wait(timeout=10)
    assert _gone(child, within=5.0), f"the compile child {child} outlived its parent"


def test_an_interrupted_parent_that_lives_on_has_no_child_left(spawn):
    """A SIGTERM handler that raises (as a run does to clean up after Ctrl-C) leaves the compile: the child is
    killed and reaped right there, not when the parent finally exits."""
    proc, child, token = spawn("raise")
    _assert_holds_no_secret(child, proc.pid, token)
    proc.send_signal(signal.SIGTERM)
    assert proc.stdout is not None
    assert select.select([proc.stdout], [], [], 10)[0], "the parent never got past the interrupted compile"
    assert proc.stdout.readline().strip() == "interrupted"
    assert proc.poll() is None, "the parent lives on"
    assert _gone(child, within=5.0) and _state(child) is None, "the child is killed and reaped by its parent"


def _children(pid: int) -> list[int]:
    """Every process whose parent is ``pid``, zombies included."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = Path(f"/proc/{name}/stat").read_text()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if stat[stat.rindex(")") + 2:].split()[1] == str(pid):
                out.append(int(name))
    return out


def test_a_signal_just_after_the_fork_leaves_no_child_either() -> None:
    """The same handler raising in the instant between the fork and the code that reads the child's pipe (a
    signal is handled at any bytecode): the child is killed and reaped all the same, neither left running nor a
    zombie. No gate here: the child is killed before it could reach one."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), hsmod.CACHE_ENV: "0"}
    env.pop(hsmod.GATE_ENV, None)
    proc = subprocess.Popen([sys.executable, "-c", COMPILE, "raise-at-once"], env=env, cwd=ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        assert select.select([proc.stdout], [], [], 30)[0], "the parent never got past the interrupted compile"
        assert proc.stdout.readline().strip() == "interrupted"
        assert proc.poll() is None, "the parent lives on"
        assert _children(proc.pid) == [], "a compile child outlived the interrupt (running, or never reaped)"
    finally:
        proc.kill()
        proc.communicate(timeout=10)


def test_released_child_compiles_and_the_parent_uses_its_database(spawn, gate):
    proc, child, token = spawn("plain")
    _assert_holds_no_secret(child, proc.pid, token)
    gate.release()
    out, err = proc.communicate(timeout=30)
    assert out.strip() == "compiled", err


DEADLINE = """
import sys
from pytest_auditready.scan.hyperscan import _isolated
got = _isolated(lambda: b"built" * 1000, timeout=1.0)
print(len(got), got[:5].decode(), flush=True)
"""


def test_a_child_past_its_deadline_is_killed_and_the_build_done_here(gate):
    """The child waits at the gate, which this test never opens: the parent kills it after its deadline and
    builds in-process. (In a subprocess with a deadline of its own, so that a regression fails, not hangs.)"""
    env = {**os.environ, hsmod.GATE_ENV: str(gate.path), "PYTHONPATH": str(ROOT), hsmod.CACHE_ENV: "0"}
    started = time.monotonic()
    try:
        r = subprocess.run([sys.executable, "-c", DEADLINE], env=env, cwd=ROOT, capture_output=True, text=True,
                           timeout=60)
    finally:
        child = gate.child(within=5.0)
        alive = _state(child) is not None
        if alive:  # only on a regression: the child of our own subprocess, by its pid
            os.kill(child, signal.SIGKILL)
    assert r.stdout.split() == ["5000", "built"], r.stderr
    assert time.monotonic() - started < 30
    assert not alive, "the timed-out child is killed and reaped"


def test_a_released_child_hands_over_more_than_a_pipe_holds(gate, monkeypatch):
    monkeypatch.setenv(hsmod.GATE_ENV, str(gate.path))
    payload = secrets.token_bytes(300_000)
    seen: dict[str, object] = {}

    def let_go() -> None:
        seen["child"] = child = gate.child()
        seen["environ"] = Path(f"/proc/{child}/environ").read_bytes()
        gate.release()

    t = threading.Thread(target=let_go)
    t.start()
    try:
        got = hsmod._isolated(lambda: payload, timeout=30.0)
    finally:
        t.join(timeout=30)
    assert got == payload
    assert isinstance(seen.get("environ"), bytes) and seen["environ"].strip(b"\0") == b"", "a blank environment"
    assert _state(int(seen["child"])) is None  # type: ignore[call-overload]
