"""The embedded server starts while pytest collects (its boot overlaps the checks' import), only when the live
phase will use it, and never outlives a run that ends before that phase. A plugin's own target is made when the
live phase begins, as before."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.vault

# Records, in order, what the run did: the server's start (with its pid), its stop, the end of collection, and
# (with MAKE_TARGET) a plugin's own target being made.
CONFTEST = '''
import os
from pytest_auditready.vault import embedded

MARKS = os.environ["AR_MARKS"]

def mark(text):
    with open(MARKS, "a") as f:
        f.write(text + "\\n")

_start, _stop = embedded.EmbeddedServer._start, embedded.EmbeddedServer.stop

def start(self):
    mark("start")
    _start(self)
    mark(f"started {self._proc.pid} {self.workdir}")

def stop(self, fast=False):
    _stop(self, fast)
    mark("stopped")

embedded.EmbeddedServer._start, embedded.EmbeddedServer.stop = start, stop

def pytest_collection_finish(session):
    mark("collected")
'''

MAKE_TARGET = '''
def pytest_auditready_make_target(settings, config):
    from pytest_auditready.vault.targets import EmbeddedTarget
    mark("make_target")
    return EmbeddedTarget(settings)
'''


def _run(pytester: pytest.Pytester, tmp_path: Path, *args: str, conftest: str = CONFTEST) -> tuple[
    pytest.RunResult, list[str], Path
]:
    pytester.makeconftest(conftest)
    marks, private_tmp = tmp_path / "marks", tmp_path / "tmp"
    private_tmp.mkdir()
    saved = {k: os.environ.get(k) for k in ("AR_MARKS", "TMPDIR")}
    os.environ.update(AR_MARKS=str(marks), TMPDIR=str(private_tmp))
    try:
        result = pytester.runpytest_subprocess("--auditready", "-p", "no:cacheprovider", *args, timeout=120)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    said = marks.read_text().splitlines() if marks.exists() else []
    return result, said, private_tmp


def _gone(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"


def test_the_server_starts_before_collection_ends_and_the_run_passes(pytester: pytest.Pytester,
                                                                     tmp_path: Path) -> None:
    result, said, private_tmp = _run(pytester, tmp_path)
    assert result.ret == 0, result.stdout.str()[-2000:]
    assert said[0] == "start" and said.index("start") < said.index("collected"), said
    assert said[-1] == "stopped" and sum(m == "start" for m in said) == 1, said
    pid = int(next(m for m in said if m.startswith("started ")).split()[1])
    assert _gone(pid) and list(private_tmp.iterdir()) == []


def test_a_run_that_ends_before_the_live_phase_leaves_no_server(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """Every item deselected: no live phase, and the server started early is stopped and its folder removed."""
    result, said, private_tmp = _run(pytester, tmp_path, "-k", "no_item_is_called_this")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED, result.stdout.str()[-2000:]
    started = [m for m in said if m.startswith("started ")]
    assert len(started) == 1 and said[-1] == "stopped", said
    assert _gone(int(started[0].split()[1]))
    assert list(private_tmp.iterdir()) == []


def test_collect_only_starts_no_server(pytester: pytest.Pytester, tmp_path: Path) -> None:
    result, said, private_tmp = _run(pytester, tmp_path, "--collect-only")
    assert result.ret == 0, result.stdout.str()[-2000:]
    assert said == ["collected"]
    assert list(private_tmp.iterdir()) == []


def test_a_plugins_own_target_is_made_when_the_live_phase_begins(pytester: pytest.Pytester,
                                                                 tmp_path: Path) -> None:
    result, said, private_tmp = _run(pytester, tmp_path, conftest=CONFTEST + MAKE_TARGET)
    assert result.ret == 0, result.stdout.str()[-2000:]
    assert said[:3] == ["collected", "make_target", "start"], said
    assert said[-1] == "stopped" and list(private_tmp.iterdir()) == []


def test_a_target_from_a_conftest_collected_later_replaces_the_early_one(pytester: pytest.Pytester,
                                                                        tmp_path: Path) -> None:
    """A conftest.py pytest only meets while collecting (a folder below the paths given, beside the user's own
    tests) may bring its own target: the server started early is stopped, and the plugin's target runs the audit."""
    deep = pytester.mkdir("tests") / "deep"
    deep.mkdir()
    own_mark = "import os\n\ndef mark(text):\n    with open(os.environ['AR_MARKS'], 'a') as f:\n        f.write(text + '\\n')\n"
    (deep / "conftest.py").write_text(own_mark + MAKE_TARGET)
    (deep / "test_own.py").write_text("def test_own():\n    pass\n")
    result, said, private_tmp = _run(pytester, tmp_path, "tests")
    assert result.ret == 0, result.stdout.str()[-2000:]
    starts = [i for i, m in enumerate(said) if m == "start"]
    assert len(starts) == 2 and starts[0] < said.index("collected"), said
    assert said.index("collected") < said.index("stopped") < said.index("make_target") < starts[1], said
    assert said[-1] == "stopped" and list(private_tmp.iterdir()) == []


def test_a_start_that_fails_on_its_thread_is_one_line_in_the_live_phase(pytester: pytest.Pytester,
                                                                        tmp_path: Path) -> None:
    """The early start's error (here: no `bao` binary) is said by the live phase, as a start there said it: one line
    naming the fix, exit 2, no traceback, nothing left in the temp folder."""
    no_bao = CONFTEST + '''
from pytest_auditready.errors import AuditReadyError

def missing():
    raise AuditReadyError("the OpenBao server binary `bao` was not found", "install it")

embedded.find_bao = missing
'''
    result, said, private_tmp = _run(pytester, tmp_path, conftest=no_bao)
    out = result.stdout.str() + result.stderr.str()
    assert result.ret == 2, out[-2000:]
    assert "Traceback" not in out
    lines = [ln for ln in out.splitlines() if "auditready: " in ln]
    assert len(lines) == 1, out[-2000:]
    assert "auditready: the OpenBao server binary `bao` was not found; fix: install it" in lines[0]
    assert said[0] == "start" and "collected" in said and not any(m.startswith("started") for m in said), said
    assert list(private_tmp.iterdir()) == []
