"""Shared by tests/test_native*.py and the tests of the command line: ``auditready verify`` (or any command:
``cli_process``) run as a process, many times, cheaply; and the builds of the C extension, compiled once per test
process.

``verify_process(args, cwd, pure, env)`` gives what ``subprocess.run([python, "-m", "pytest_auditready", "verify",
*args], cwd=cwd, env=env, capture_output=True, text=True, timeout=...)`` gives: the exit code, the standard output
and the standard error of a process of its own, its standard input /dev/null. The process is a fork of a server that
has done, once, what every such process does first (start the interpreter and import the package and its
dependencies, with AUDITREADY_PURE_PYTHON set or not: it is read at import), and nothing else: no command has run in
it. Each child starts from that state, takes the caller's environment and folder, its descriptors 0, 1 and 2 are
/dev/null and two files, and it runs the command as the console script does (``pytest_auditready.cli.run``: ``main``,
the exit handlers, the streams flushed, the exit code). So each verify is a fresh process as before; what is saved is
the interpreter's start and the imports (most of a small verify's CPU). A server is started per path (native, pure)
and per environment (the variables _AT_START names) and lives until the tests end.
"""

from __future__ import annotations

import atexit
import json
import locale
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO, Any, Optional

ROOT = Path(__file__).resolve().parent.parent
PURE_ENV = "AUDITREADY_PURE_PYTHON"  # pytest_auditready.scan.native.PURE_ENV (asserted in test_native)
# What a server is started per: the variables read before a command runs (the interpreter's start: its PYTHON*
# settings and locale; AUDITREADY_PURE_PYTHON, read at import; the temporary folder, which tempfile keeps once asked).
# The package reads every other one when a command runs, and the child takes them from the request: a test's own
# report paths (GITHUB_STEP_SUMMARY) or state folder no longer start a server each (one did per test before).
_AT_START = ("LANG", "LANGUAGE", "TMPDIR", "TEMP", "TMP", PURE_ENV)


def _at_start(name: str) -> bool:
    return name in _AT_START or name.startswith(("PYTHON", "LC_"))

# The server: imports what a verify imports, then forks one child per request line (JSON: args, cwd, env, io
# folder, timeout) and answers one line (JSON: the exit code, or "timeout").
_SERVER = r"""
import atexit, importlib, json, os, signal, sys, time, traceback
import pytest_auditready.cli as cli
cli.build_parser()  # imports every subcommand's module
for name in ("pytest_auditready.checks", "pytest_auditready.engine.files", "pytest_auditready.engine.driver",
             "pytest_auditready.engine.parallel", "pytest_auditready.report.common", "pytest_auditready.report.evidence",
             "pytest_auditready.report.github", "pytest_auditready.review", "pytest_auditready.compliance",
             "pytest_auditready.offline.reader", "pytest_auditready.auditlog.detect", "pytest_auditready.auditlog.dupkeys",
             "pytest_auditready.scan.hyperscan", "pytest_auditready.scan.secrets", "detect_secrets.core.scan",
             "detect_secrets.core.plugins.initialize", "hyperscan", "msgspec.json", "multiprocessing", "subprocess",
             "logging", "csv", "zipfile", "pickle", "ctypes", "pytest_auditready.engine.progress",
             "detect_secrets.filters.common", "detect_secrets.util.filetype", "encodings.ascii", "encodings.utf_16_be",
             "encodings.utf_16_le", "encodings.utf_8_sig", "glob", "pwd"):
    try:
        importlib.import_module(name)
    except ImportError:
        pass
import pkgutil, detect_secrets.plugins  # the plugins detect-secrets imports when it looks for them
for plugin in pkgutil.iter_modules(detect_secrets.plugins.__path__, "detect_secrets.plugins."):
    importlib.import_module(plugin.name)
MAIN = os.path.join(os.path.dirname(cli.__file__), "..", "__main__.py")
requests = os.fdopen(0, "r")
answers = os.fdopen(int(sys.argv[1]), "w")
for line in requests:
    req = json.loads(line)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            null = os.open(os.devnull, os.O_RDONLY)
            out = os.open(req["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            err = os.open(req["err"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            for fd, target in ((null, 0), (out, 1), (err, 2)):
                os.dup2(fd, target)
                os.close(fd)
            os.closerange(3, 256)
            os.chdir(req["cwd"])
            os.environ.clear()
            os.environ.update(req["env"])
            sys.path[0] = req["cwd"]
            sys.argv = [os.path.abspath(MAIN), *req["args"]]
            try:
                cli.run()  # main, the exit handlers, the streams flushed, os._exit(its code)
            except SystemExit as exc:
                # as the interpreter ends on SystemExit (argparse's refusals; run() while another thread runs:
                # the interpreter waits for that thread first)
                import threading
                for t in threading.enumerate():
                    if t is not threading.current_thread() and not t.daemon:
                        t.join()
                if exc.code is None or isinstance(exc.code, int):
                    code = exc.code or 0
                else:
                    print(exc.code, file=sys.stderr)
                    code = 1
            except BaseException:
                traceback.print_exc()
                code = 1
            atexit._run_exitfuncs()
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:
                    pass
        finally:
            os._exit(code)
    deadline = time.monotonic() + req["timeout"]
    pause = 0.0005
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            answer = os.waitstatus_to_exitcode(status)
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            answer = "timeout"
            break
        time.sleep(pause)
        pause = min(pause * 2, 0.02)
    answers.write(json.dumps(answer) + "\n")
    answers.flush()
"""


class _Server:
    def __init__(self, env: dict[str, str]) -> None:
        self.io = tempfile.mkdtemp(prefix="auditready-verify-")
        read, write = os.pipe()
        self.proc = subprocess.Popen([sys.executable, "-c", _SERVER, str(write)], stdin=subprocess.PIPE,
                                     pass_fds=(write,), env=env, cwd=self.io, text=True)
        os.close(write)
        self.answers: IO[str] = os.fdopen(read, "r")
        self.n = 0

    def ask(self, argv: list[str], cwd: Path, env: dict[str, str], timeout: float) -> tuple[int, str, str]:
        self.n += 1
        out, err = os.path.join(self.io, f"{self.n}.out"), os.path.join(self.io, f"{self.n}.err")
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"args": argv, "cwd": str(cwd), "env": env, "out": out,
                                          "err": err, "timeout": timeout}) + "\n")
        self.proc.stdin.flush()
        answer = self.answers.readline()
        if not answer:
            raise RuntimeError(f"the verify server ended (exit code {self.proc.wait()})")
        code = json.loads(answer)
        texts = []
        for path in (out, err):  # as subprocess.run(text=True) decodes: the locale's encoding, universal newlines
            with open(path, encoding=locale.getpreferredencoding(False)) as f:
                texts.append(f.read())
            os.unlink(path)
        if code == "timeout":
            raise subprocess.TimeoutExpired(["auditready", *argv], timeout, texts[0], texts[1])
        return code, texts[0], texts[1]

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.answers.close()
        shutil.rmtree(self.io, ignore_errors=True)


_SERVERS: dict[bool, tuple[tuple[tuple[str, str], ...], _Server]] = {}


def verify_process(args: list[str], cwd: Path, pure: bool, env: Optional[dict[str, str]] = None,
                   timeout: float = 120) -> tuple[int, str, str]:
    """(exit code, standard output, standard error) of ``auditready verify ARGS`` in its own process, run in
    ``cwd`` with the environment ``env`` (os.environ if None) where AUDITREADY_PURE_PYTHON is "1" if ``pure`` and
    unset if not."""
    return cli_process(["verify", *args], cwd, pure, env, timeout)


def completed(argv: list[str], cwd: Optional[Path] = None, env: Optional[dict[str, str]] = None,
              timeout: float = 120) -> "subprocess.CompletedProcess[str]":
    """cli_process as subprocess.run(["auditready", *argv], cwd=cwd (this folder if None), env=env,
    capture_output=True, text=True, timeout=timeout) gives it: the pure-Python path where ``env`` (os.environ if
    None) asks for it, as the package reads AUDITREADY_PURE_PYTHON."""
    pure = (os.environ if env is None else env).get(PURE_ENV, "") not in ("", "0")
    return subprocess.CompletedProcess(["auditready", *argv],
                                       *cli_process(argv, cwd or Path.cwd(), pure, env, timeout))


def cli_process(argv: list[str], cwd: Path, pure: bool = False, env: Optional[dict[str, str]] = None,
                timeout: float = 120) -> tuple[int, str, str]:
    """As verify_process, for any command line of ``auditready`` (``argv`` without the program's name)."""
    env = {k: v for k, v in (os.environ if env is None else env).items() if k != PURE_ENV}
    if pure:
        env[PURE_ENV] = "1"
    if not hasattr(os, "fork"):  # no fork (Windows): a process started afresh, as the console script is
        res = subprocess.run([sys.executable, "-m", "pytest_auditready", *argv], capture_output=True,
                             text=True, timeout=timeout, env=env, cwd=cwd)
        return res.returncode, res.stdout, res.stderr
    key = tuple(sorted((k, v) for k, v in env.items() if _at_start(k)))
    held = _SERVERS.get(pure)
    if held is None or held[0] != key:
        if held is not None:
            held[1].close()
        held = _SERVERS[pure] = (key, _Server(env))
    return held[1].ask(argv, cwd, env, timeout)


@atexit.register
def _close_servers() -> None:
    for _key, server in _SERVERS.values():
        server.close()
    _SERVERS.clear()


# -- the builds of the C extension ----------------------------------------------------------------------------------
_BUILDS: dict[str, Any] = {}


def build_variant(variant: str, folder: Path) -> Any:
    """The extension's source compiled with AUDITREADY_NO_AVX2 ("sse2") or AUDITREADY_NO_SIMD ("portable") and
    loaded: once per test process (every test module that asks for the builds gets the same module object)."""
    if variant in _BUILDS:
        return _BUILDS[variant]
    import importlib.util
    import sysconfig

    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if cc is None:
        return None
    out = folder / ("_native" + (sysconfig.get_config_var("EXT_SUFFIX") or ".so"))
    flags = ["-undefined", "dynamic_lookup"] if sys.platform == "darwin" else []
    off = "-DAUDITREADY_NO_AVX2" if variant == "sse2" else "-DAUDITREADY_NO_SIMD"
    subprocess.run([cc, "-shared", "-fPIC", "-O2", off, "-I", sysconfig.get_paths()["include"],
                    *flags, str(ROOT / "pytest_auditready" / "_native.c"), "-o", str(out)], check=True, timeout=120)
    spec = importlib.util.spec_from_file_location("_native", out)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _BUILDS[variant] = module
    return module
