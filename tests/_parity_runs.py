"""Several runs of the auditready command (and of Python scripts) from one interpreter: each run is a process of its
own, forked from a runner that imported the product once, with its own exit code, standard output and standard error,
its own working folder and a fresh state (the runner never runs the product itself: what a child sees is the
product's state after import, as a new `python -m pytest_auditready.cli` sees it). What is saved is the start of an
interpreter and the product's imports for each run (about 0.3 s of CPU each).

``runs`` takes a list of runs, each ``{"argv": [...]}`` (the command's arguments, as `auditready ARGS`) or
``{"script": "...", "argv": [...]}`` (Python run as ``python -c script ARGS``), with an optional ``"cwd"``; it gives,
for each, ``{"rc", "stdout", "stderr"}``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Optional, Sequence

_RUNNER = textwrap.dedent('''
    import atexit, json, os, sys, tempfile
    import pytest_auditready.cli as cli
    # what a verify imports, imported once here: forked children inherit it
    import pytest_auditready.checks, pytest_auditready.cli.verify, pytest_auditready.engine.files  # noqa
    import pytest_auditready.engine.parallel, pytest_auditready.report  # noqa

    def child(run, out, err):
        code = 70
        try:
            os.chdir(run.get("cwd") or ".")
            for fd, path in ((1, out), (2, err)):
                os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
            if "script" in run:
                sys.argv = ["-c", *run["argv"]]
                try:
                    exec(compile(run["script"], "<string>", "exec"), {"__name__": "__main__"})
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            else:
                sys.argv = [os.path.join(os.path.dirname(cli.__file__), "__main__.py"), *run["argv"]]
                try:
                    cli.run()  # (ends the process itself, unless a thread still runs: then SystemExit)
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            atexit._run_exitfuncs()
        except BaseException:
            import traceback
            traceback.print_exc()
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:
                    pass
            os._exit(code)

    here = tempfile.mkdtemp(prefix="runs-")
    for n, run in enumerate(json.loads(sys.stdin.read())):
        out, err = os.path.join(here, f"{n}.out"), os.path.join(here, f"{n}.err")
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            child(run, out, err)
        _, status = os.waitpid(pid, 0)
        with open(out, encoding="utf-8", errors="replace") as o, open(err, encoding="utf-8", errors="replace") as e:
            said = {"rc": os.waitstatus_to_exitcode(status), "stdout": o.read(), "stderr": e.read()}
        os.unlink(out)
        os.unlink(err)
        print(json.dumps(said), flush=True)
    os.rmdir(here)
''')


def runs(todo: Sequence[dict[str, Any]], cwd: Optional[Path] = None, timeout: float = 600,
         env: Optional[dict[str, str]] = None) -> list[dict[str, Any]]:
    """Each run of ``todo`` in a process of its own, forked from one runner (see the module) started in ``cwd`` with
    ``env``: rc, stdout, stderr."""
    root = str(Path(__file__).resolve().parents[1])
    proc = subprocess.run([sys.executable, "-c", _RUNNER], input=json.dumps(list(todo)), capture_output=True,
                          text=True, timeout=timeout, cwd=str(cwd) if cwd else root, env=env)
    said = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert proc.returncode == 0 and len(said) == len(todo), proc.stdout[-2000:] + proc.stderr[-3000:]
    return said
