"""The console script ends the process without the interpreter's teardown (cli.run): what it skips must never
be something a user relies on. Its outputs are whole, its exit code is main's, the exit handlers run, and a
thread still at work is waited for."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).parent.parent / "fixtures"


def _log(tmp_path: Path) -> str:
    log = tmp_path / "audit.log"
    log.write_bytes((FIXTURES / "openbao" / "clean.log").read_bytes())
    log.chmod(0o600)
    return str(log)


def _run(tmp_path: Path, prologue: str, *argv: str) -> subprocess.CompletedProcess[str]:
    code = prologue + f"\nimport sys\nsys.argv = ['auditready', *{list(argv)!r}]\nfrom pytest_auditready.cli import run\nrun()\n"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)


def test_outputs_are_whole_and_the_exit_code_is_mains(tmp_path: Path) -> None:
    done = _run(tmp_path, "", "verify", "--jobs", "1", "--json", str(tmp_path / "out.json"), _log(tmp_path))
    assert done.returncode == 1, done.stderr  # no digest chain, one day of history: findings
    assert done.stdout.rstrip().splitlines()[-1].startswith("auditready verify: 1 file(s)")
    report = json.loads((tmp_path / "out.json").read_text())
    assert report["files"] and report["checks"]
    missing = _run(tmp_path, "", "verify", str(tmp_path / "nothing.log"))
    assert missing.returncode == 2 and missing.stderr.startswith("auditready: ")


def test_exit_handlers_run(tmp_path: Path) -> None:
    mark = tmp_path / "handler-ran"
    done = _run(tmp_path, f"import atexit\natexit.register(lambda: open({str(mark)!r}, 'w').close())",
                "verify", "-q", _log(tmp_path))
    assert done.returncode == 1
    assert mark.exists()


def test_a_running_thread_is_waited_for(tmp_path: Path) -> None:
    mark = tmp_path / "thread-done"
    prologue = (
        "import threading, time\n"
        f"threading.Thread(target=lambda: (time.sleep(0.5), open({str(mark)!r}, 'w').close())).start()\n"
    )
    done = _run(tmp_path, prologue, "verify", "-q", _log(tmp_path))
    assert done.returncode == 1
    assert mark.exists()
