"""A Dask cluster whose worker runs other code of pytest-auditready is refused in one line (exit 2).

A Dask run's tasks carry this code's objects both ways; a worker of another release (a cluster image one release
behind the CI runner) read them and the run ended in a traceback (red team rt13, case 04). The front end now asks
each worker for the digest of the package's source it runs before sending any task.

Real components: a Dask scheduler (LocalCluster, no workers of its own) in a process of its own, and one `dask
worker` process importing a copy of the package with one comment added.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

import pytest_auditready
from pytest_auditready.engine.parallel import code_digest
from tests.test_parallel import scheduler_process

pytest.importorskip("distributed")
ROOT = Path(__file__).resolve().parents[1]
CLEAN = ROOT / "fixtures" / "openbao" / "clean.log"
_SCHEDULER = """
import sys
from distributed import LocalCluster
with LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=None) as cluster:
    print(cluster.scheduler_address, flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def scheduler(tmp_path: Path) -> Iterator[str]:
    with scheduler_process(_SCHEDULER, tmp_path) as (address, _):
        yield address


def _other_release(tmp_path: Path) -> Path:
    """A copy of the package with one comment more: other code, as a worker of another release runs."""
    here = Path(pytest_auditready.__file__).resolve().parent
    copy = tmp_path / "other" / "pytest_auditready"
    shutil.copytree(here, copy, ignore=shutil.ignore_patterns("__pycache__"))
    with open(copy / "engine" / "driver.py", "a") as f:
        f.write("\n# another release\n")
    return copy.parent


def test_a_worker_running_other_code_is_refused_in_one_line(tmp_path: Path, scheduler: str) -> None:
    other = _other_release(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(other)}
    worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", scheduler, "--nworkers", "1",
                               "--nthreads", "1", "--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0"],
                              env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        check = [sys.executable, "-c", "from pytest_auditready.engine.parallel import code_digest; "
                 "print(code_digest())"]
        theirs = subprocess.run(check, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60).stdout.strip()
        assert theirs and theirs != code_digest()  # the worker's copy is other code
        log = tmp_path / "audit.log"
        log.write_bytes(CLEAN.read_bytes())
        log.chmod(0o600)
        (tmp_path / "auditready.toml").write_text("require_tamper_evidence = false\nretention_days = 0\n")
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "pytest_auditready", "verify", str(log), "--config",
                               str(tmp_path / "auditready.toml"), "--dask-scheduler", scheduler],
                              capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert "1 of the 1 Dask workers" in lines[0] and "run other code of pytest-auditready" in lines[0]
        assert "install on the Dask workers the same release" in lines[0]
        assert time.monotonic() - started < 60
    finally:
        os.killpg(worker.pid, 9)
        worker.wait(10)
