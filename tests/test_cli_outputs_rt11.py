"""Red team rt11, items 7 and 14: what the command writes does not depend on who reads its terminal lines, and it
never writes where the next scan of a log folder would read its own files as logs.

- A reader that goes away (``auditready verify ... | head -1``: EPIPE on standard output) changes neither the
  verdict (exit 0 all hold, 1 findings) nor the report files, and costs no traceback and no "Exception ignored".
- ``--evidence`` (and --junit, --json, --sarif) written into a log folder named as input, or an evidence folder
  that holds a log being verified, is refused in one line (exit 2) before anything is written.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Sequence

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "openbao"
CONFIG = "[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n"
SCRIPT = Path(sys.executable).with_name("auditready")
# the installed console script (cli.run) and `python -m pytest_auditready`: both go through cli.main
LAUNCHERS = {"script": [str(SCRIPT)], "module": [sys.executable, "-m", "pytest_auditready"]}


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "CI")}


def _launcher(name: str) -> list[str]:
    if name == "script" and not SCRIPT.exists():
        pytest.skip("the auditready console script is not installed beside this interpreter")
    return LAUNCHERS[name]


def _case(tmp_path: Path, fixture: str = "odd/correct.log") -> Path:
    """tmp_path/cfg.toml and tmp_path/logs/audit.log (mode 0600), a copy of the fixture."""
    (tmp_path / "cfg.toml").write_text(CONFIG)
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "audit.log"
    shutil.copyfile(FIXTURES / fixture, log)
    log.chmod(0o600)
    return log


def _closed_stdout(cwd: Path, argv: Sequence[str], *, stderr_too: bool = False) -> tuple[int, str]:
    """Run ``argv`` with its standard output a pipe whose read end is closed before it starts (a `| head` that
    already went away: every write gets EPIPE); ``stderr_too``: standard error into that pipe as well (`2>&1 |
    head -0`). Returns the exit code and what reached standard error."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    err = cwd / "stderr.txt"
    try:
        with err.open("wb") as err_file:
            proc = subprocess.run(list(argv), stdout=write_end, stderr=write_end if stderr_too else err_file,
                                  cwd=cwd, env=_env(), timeout=120)
    finally:
        os.close(write_end)
    return proc.returncode, err.read_text(errors="replace")


def _normal(cwd: Path, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, cwd=cwd, env=_env(), timeout=120)


def _reports(out: Path) -> list[str]:
    return ["--junit", str(out / "j.xml"), "--json", str(out / "o.json"), "--sarif", str(out / "s.sarif"),
            "--evidence", str(out / "ev")]


def _assert_written(out: Path) -> dict[str, object]:
    for name in ("j.xml", "s.sarif", "ev/evidence.json", "ev/summary.md", "ev/report.html", "ev/SHA256SUMS"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert (out / "j.xml").read_text().lstrip().startswith("<?xml")
    report: dict[str, object] = json.loads((out / "o.json").read_text())
    return report


def _assert_quiet(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert "Exception ignored" not in stderr, stderr
    assert "BrokenPipeError" not in stderr, stderr


def _verdicts(report: dict[str, object]) -> str:
    assert "checks" in report and "verdict" in report, sorted(report)
    return json.dumps({k: report.get(k) for k in ("verdict", "checks", "outcomes")}, sort_keys=True)


@pytest.mark.parametrize("launcher", ["script", "module"])
def test_a_clean_log_with_stdout_closed_exits_0_and_writes_every_report(tmp_path: Path, launcher: str) -> None:
    log = _case(tmp_path)
    base = [*_launcher(launcher), "verify", str(log), "--config", "cfg.toml", "--jobs", "1"]
    normal = _normal(tmp_path, [*base, *_reports(tmp_path / "normal")])
    assert normal.returncode == 0, normal.stdout + normal.stderr  # the verdict this log gets
    code, stderr = _closed_stdout(tmp_path, [*base, *_reports(tmp_path / "closed")])
    assert code == 0, stderr
    _assert_quiet(stderr)
    assert stderr == ""  # nothing to say: every check holds, and the lines for the terminal went nowhere
    report = _assert_written(tmp_path / "closed")
    assert _verdicts(report) == _verdicts(_assert_written(tmp_path / "normal"))


@pytest.mark.parametrize("launcher", ["script", "module"])
def test_a_log_with_findings_and_stdout_closed_exits_1_and_writes_every_report(tmp_path: Path, launcher: str) -> None:
    log = _case(tmp_path, "leaky.log")
    base = [*_launcher(launcher), "verify", str(log), "--config", "cfg.toml", "--jobs", "1",
            "--canaries", str(FIXTURES / "canaries.txt")]
    normal = _normal(tmp_path, [*base, *_reports(tmp_path / "normal")])
    assert normal.returncode == 1 and "FAIL no_secret_leak" in normal.stdout, normal.stdout + normal.stderr
    code, stderr = _closed_stdout(tmp_path, [*base, *_reports(tmp_path / "closed")])
    assert code == 1, stderr
    _assert_quiet(stderr)
    report = _assert_written(tmp_path / "closed")
    assert "no_secret_leak" in json.dumps(report)
    assert _verdicts(report) == _verdicts(_assert_written(tmp_path / "normal"))
    canaries = (FIXTURES / "canaries.txt").read_text().split()
    for path in (tmp_path / "closed").rglob("*"):  # the reports still show no secret
        if path.is_file():
            assert not any(c in path.read_text(errors="replace") for c in canaries if not c.startswith("#")), path


@pytest.mark.parametrize("fixture, code", [("odd/correct.log", 0), ("leaky.log", 1)])
def test_stdout_and_stderr_both_closed_keep_the_verdict_and_the_reports(tmp_path: Path, fixture: str,
                                                                        code: int) -> None:
    log = _case(tmp_path, fixture)
    argv = [*LAUNCHERS["module"], "verify", str(log), "--config", "cfg.toml", "--jobs", "1",
            "--canaries", str(FIXTURES / "canaries.txt"), *_reports(tmp_path / "out")]
    got, _ = _closed_stdout(tmp_path, argv, stderr_too=True)  # `auditready verify ... 2>&1 | head -0`
    assert got == code
    _assert_written(tmp_path / "out")


def test_a_report_on_a_closed_stdout_keeps_the_verdict_and_the_other_reports(tmp_path: Path) -> None:
    log = _case(tmp_path)
    argv = [*LAUNCHERS["module"], "verify", str(log), "--config", "cfg.toml", "--jobs", "1", "--json", "-",
            "--junit", str(tmp_path / "j.xml")]
    code, stderr = _closed_stdout(tmp_path, argv)
    assert code == 0, stderr
    _assert_quiet(stderr)
    assert (tmp_path / "j.xml").read_text().lstrip().startswith("<?xml")


def test_a_stdout_closed_at_start_keeps_the_verdict(tmp_path: Path) -> None:
    log = _case(tmp_path)
    argv = [*LAUNCHERS["module"], "verify", str(log), "--config", "cfg.toml", "--jobs", "1",
            "--json", str(tmp_path / "o.json")]
    done = subprocess.run(["sh", "-c", 'exec "$@" >&-', "sh", *argv], capture_output=True, text=True,
                          cwd=tmp_path, env=_env(), timeout=120)  # no standard output at all: sys.stdout is None
    assert done.returncode == 0, done.stderr
    _assert_quiet(done.stderr)
    assert json.loads((tmp_path / "o.json").read_text())


def test_access_with_stdout_closed_keeps_its_exit_code_and_its_json(tmp_path: Path) -> None:
    log = _case(tmp_path)
    base = [*LAUNCHERS["module"], "access", "secret/*", str(log)]
    normal = _normal(tmp_path, [*base, "--json", str(tmp_path / "normal.json")])
    assert normal.stdout.strip(), normal.stderr  # it has something to print
    code, stderr = _closed_stdout(tmp_path, [*base, "--json", str(tmp_path / "closed.json")])
    assert code == normal.returncode, stderr
    _assert_quiet(stderr)
    assert json.loads((tmp_path / "closed.json").read_text()) == json.loads((tmp_path / "normal.json").read_text())


@pytest.mark.parametrize("argv", [["--help"], ["verify", "--help"], ["--version"]])
def test_help_and_version_on_a_closed_stdout_exit_0_quietly(tmp_path: Path, argv: list[str]) -> None:
    code, stderr = _closed_stdout(tmp_path, [*LAUNCHERS["module"], *argv])
    assert code == 0, stderr
    _assert_quiet(stderr)


# --- item 14: an output that the next scan of a log folder would read -------------------------------------------


def _verify(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _normal(tmp_path, [*LAUNCHERS["module"], "verify", "--config", "cfg.toml", "--jobs", "1", "-q", *args])


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _assert_refused(done: subprocess.CompletedProcess[str], option: str, fix: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""  # refused before any verdict
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"auditready: {option} would be written into "), lines[0]
    assert "; fix: " in lines[0] and fix in lines[0], lines[0]
    _assert_quiet(done.stderr)


@pytest.mark.parametrize("evidence", ["logs", "logs/", "logs/evidence", "logs/../logs/a/b", "./logs/./sub"])
def test_evidence_in_the_log_folder_being_verified_is_refused(tmp_path: Path, evidence: str) -> None:
    _case(tmp_path)
    before = _tree(tmp_path)
    done = _verify(tmp_path, "logs", "--evidence", evidence)
    _assert_refused(done, "--evidence", "give --evidence a path outside logs")
    assert "log folder logs being verified" in done.stderr
    assert _tree(tmp_path) == before  # nothing written, no folder made
    assert _verify(tmp_path, "logs").returncode == 0  # and the next scan of the folder still reads only logs


def test_evidence_in_a_folder_linked_into_the_log_folder_is_refused(tmp_path: Path) -> None:
    _case(tmp_path)
    archive = tmp_path / "archive"
    archive.mkdir()
    shutil.copyfile(tmp_path / "logs" / "audit.log", archive / "audit.log.1")
    (archive / "audit.log.1").chmod(0o600)
    (tmp_path / "logs" / "old").symlink_to(archive)  # a scan of logs/ follows it
    done = _verify(tmp_path, "logs", "--evidence", str(archive / "ev"))
    _assert_refused(done, "--evidence", "give --evidence a path outside logs")
    assert not (archive / "ev").exists()


@pytest.mark.parametrize("evidence", ["logs", ".", "logs/.."])
def test_evidence_in_a_folder_that_holds_a_named_log_is_refused(tmp_path: Path, evidence: str) -> None:
    _case(tmp_path)
    before = _tree(tmp_path)
    done = _verify(tmp_path, "logs/audit.log", "--evidence", evidence)
    _assert_refused(done, "--evidence", "give --evidence a folder that holds no audit log")
    assert "holds the audit log logs/audit.log being verified" in done.stderr
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("option, name", [("--junit", "j.xml"), ("--json", "o.json"), ("--sarif", "s.sarif")])
def test_a_report_in_the_log_folder_being_verified_is_refused(tmp_path: Path, option: str, name: str) -> None:
    _case(tmp_path)
    before = _tree(tmp_path)
    done = _verify(tmp_path, "logs", option, f"logs/{name}")
    _assert_refused(done, option, f"give {option} a path outside logs")
    assert _tree(tmp_path) == before
    assert _verify(tmp_path, "logs").returncode == 0


@pytest.mark.parametrize("args", [
    ["logs", "--evidence", "evidence"],  # beside the log folder, not in it
    ["logs", "--evidence", "logs-evidence"],  # a name that starts like the log folder's is another folder
    ["logs/audit.log", "--evidence", "evidence"],
    ["logs", "--json", "logs/.verdicts.json"],  # a hidden file is never read by a folder scan
    ["logs/audit.log", "--junit", "logs/j.xml"],  # the folder is not scanned: only the file named is read
    ["logs", "--junit", "j.xml", "--json", "o.json", "--sarif", "s.sarif"],
])
def test_outputs_elsewhere_are_still_written(tmp_path: Path, args: list[str]) -> None:
    _case(tmp_path)
    done = _verify(tmp_path, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    outputs = [args[i + 1] for i, a in enumerate(args) if a.startswith("--")]
    for out in outputs:
        assert (tmp_path / out).exists(), out
    if "--evidence" in args:
        assert (tmp_path / args[args.index("--evidence") + 1] / "evidence.json").is_file()
    again = _verify(tmp_path, args[0])  # the next run reads the logs it read before, and nothing else
    assert again.returncode == 0, again.stdout + again.stderr


@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
@pytest.mark.parametrize("command", ["verify", "access", "access-json"])
def test_an_answer_the_standard_output_cannot_take_is_exit_2(tmp_path: Path, launcher: str, command: str) -> None:
    """A standard output on a full disk (/dev/full: ENOSPC) lost the buffered answer and the command exited 0
    (red team rt54 F5): it says so on standard error and exits 2, as a report file that cannot be written does."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    log = _case(tmp_path)
    args = {"verify": ["verify", "--config", "cfg.toml", str(log)],
            "access": ["access", "secret/*", str(log)],
            "access-json": ["access", "secret/*", str(log), "--json", "-"]}[command]
    with open("/dev/full", "w") as full:
        r = subprocess.run([*_launcher(launcher), *args], cwd=tmp_path, env=_env(), stdout=full,
                           stderr=subprocess.PIPE, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert r.stderr.endswith("auditready: cannot write to the standard output: No space left on device; fix: free "
                             "space where it goes, or write the answer to a file (--json PATH)\n"), r.stderr
