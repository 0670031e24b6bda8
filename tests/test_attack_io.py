"""Hostile paths (issue 13, items 5, 6 and 9): every input must be a regular file of sane size, every output is
written without following a planted link, and a path that cannot be written is one line, exit 2.

Inputs are tried as a FIFO (an open or a read of one blocks forever) and as /dev/zero (a read never ends), through
the real `auditready` command in a subprocess with a deadline: it must answer exit 2 and one stderr line naming
the path and what it is, quickly. Outputs are tried with a symbolic link planted at NAME.tmp (where the writers
used to put their temporary file) and at the output itself: the link's target must be unchanged afterwards."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

from pytest_auditready.errors import AuditReadyError
from pytest_auditready.report import evidence, github, junit, sarif
from pytest_auditready.safeio import read_small, write_atomic
from tests._native_runs import completed
from tests.test_cloudtrail import _digest_key, _log_key, build_trail, rsa_key, write_keys
from tests.test_reports import make_result

CLEAN = Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "clean.log"
DEADLINE = 30.0  # a hang is caught by this; a refusal takes well under a second
PRECIOUS = b"precious content that no writer may touch\n"


def cli(*args: str, cwd: Path, timeout: float = DEADLINE) -> subprocess.CompletedProcess[str]:
    """`auditready ARGS` in a subprocess; a hang fails the test at the deadline instead of hanging it."""
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY")}
    try:  # (a fork of the verify server: tests/_native_runs.py)
        return completed(list(args), cwd, env, timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"auditready {' '.join(args)} still ran after {timeout:.0f} s: it hangs")


def one_line_exit_2(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    err = proc.stderr.strip()
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-2000:], err[-2000:])
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "fix:" in err, err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A folder with a clean exported log, a key pair, and a FIFO nobody writes to."""
    log = tmp_path / "audit.log"
    shutil.copyfile(CLEAN, log)
    log.chmod(0o600)
    os.mkfifo(tmp_path / "fifo")
    assert cli("keygen", str(tmp_path / "k"), cwd=tmp_path).returncode == 0
    return tmp_path


# -- item 5: inputs that are not regular files ------------------------------------------------------------------

KINDS = {"fifo": "a FIFO (named pipe)", "/dev/zero": "a character device", "folder": "a folder"}

# (what the input is called in the error, the command with {X} standing for the hostile path)
INPUTS = [
    ("log file", ["verify", "{X}"]),
    ("canaries file", ["verify", "audit.log", "--canaries", "{X}"]),
    ("configuration file", ["verify", "audit.log", "--config", "{X}"]),
    ("log", ["seal", "{X}", "--key", "k"]),
    ("private key", ["seal", "audit.log", "--key", "{X}"]),
    ("CloudTrail public keys file", ["verify-cloudtrail", ".", "--public-keys", "{X}"]),
]


# `auditready verify FOLDER` reads the logs in the folder: a folder is no hostile log path
CASES = [(kind, what, args) for what, args in INPUTS for kind in KINDS if not (kind == "folder" and what == "log file")]


@pytest.mark.parametrize("kind, what, args", CASES, ids=[f"{w}-{k}" for k, w, _ in CASES])
def test_input_that_is_not_a_regular_file_is_refused_in_one_line(work: Path, kind: str, what: str,
                                                                  args: list[str]) -> None:
    hostile = {"fifo": str(work / "fifo"), "/dev/zero": "/dev/zero", "folder": str(work)}[kind]
    started = time.monotonic()
    proc = cli(*[a.replace("{X}", hostile) for a in args], cwd=work)
    one_line_exit_2(proc, f"the {what} {hostile} is {KINDS[kind]}, not a regular file")
    assert time.monotonic() - started < 10
    assert not (work / "fifo.digests").exists() and not Path("/dev/zero.digests").exists()


def test_a_symbolic_link_that_leads_back_to_itself_is_refused_with_its_own_fix(work: Path) -> None:
    """Fails without the fix: the remedy offered was a FIFO's ("save a stream to a file first"; red team rt89 F6)."""
    (work / "loopA").symlink_to("loopB")
    (work / "loopB").symlink_to("loopA")
    for what, args in (("log file", ["verify", "loopA"]), ("canaries file", ["verify", "audit.log", "--canaries", "loopA"])):
        proc = cli(*args, cwd=work)
        one_line_exit_2(proc, f"cannot read the {what} loopA: Too many levels of symbolic links")
        assert f"make the symbolic link (or a link in its path) point at the {what}:" in proc.stderr, proc.stderr
        assert "stream" not in proc.stderr


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero"])
def test_cloudtrail_keys_that_are_not_a_regular_file_fail_tamper_evidence_without_hanging(tmp_path: Path,
                                                                                          kind: str) -> None:
    root = build_trail(tmp_path / "copy")
    log = root / _log_key(1, 1)
    log.chmod(0o600)
    hostile = kind
    if kind == "fifo":
        hostile = str(tmp_path / "fifo")
        os.mkfifo(hostile)
    proc = cli("verify", "--format", "cloudtrail", "--cloudtrail-public-keys", hostile, str(log), cwd=tmp_path)
    # input that cannot be read is refused before any verdict: exit 2, one line, nothing blamed on the log
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert f"the CloudTrail public keys file {hostile} is {KINDS[kind]}, not a regular file" in proc.stderr


def test_cloudtrail_digest_and_signature_that_are_fifos_are_problems_not_hangs(tmp_path: Path) -> None:
    root = build_trail(tmp_path / "copy")
    keys = write_keys(tmp_path / "keys.json", rsa_key())
    digest = root / _digest_key(1)
    digest.unlink()
    os.mkfifo(digest)
    sig = Path(str(root / _digest_key(0)) + ".sig")
    sig.unlink()
    os.mkfifo(sig)
    proc = cli("verify-cloudtrail", str(root), "--public-keys", str(keys), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert f"Digest file {_digest_key(1)} cannot be read (the digest file {digest} is a FIFO" in proc.stdout
    assert (f"Digest file {_digest_key(0)} has a signature beside it that cannot be read (the digest signature "
            f"file {sig} is a FIFO") in proc.stdout


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero"])
def test_public_key_that_is_not_a_regular_file_is_refused_without_hanging(work: Path, kind: str) -> None:
    # Input that cannot be read is exit 2 in one line before any verdict, not a tamper_evidence finding.
    assert cli("seal", "audit.log", "--key", "k", cwd=work).returncode == 0
    hostile = str(work / "fifo") if kind == "fifo" else kind
    proc = cli("verify", "audit.log", "--public-key", hostile, cwd=work)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert f"the public key {hostile} is {KINDS[kind]}, not a regular file" in proc.stderr


def python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter (from the repository root), with a deadline: a hang fails the test."""
    try:
        return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=DEADLINE,
                              cwd=Path(__file__).resolve().parents[1], stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {DEADLINE:.0f} s: it hangs")


_LIVE = """\
import os, sys
from pytest_auditready.auditlog.source import FileLogSource, LogBatch
from pytest_auditready.errors import AuditReadyError
path, late = sys.argv[1], sys.argv[2] == "late"
src = FileLogSource(path)
try:
    if late:
        src.mark()  # no file yet: a device may create it on the first request
        os.mkfifo(path)
    else:
        src.mark()
    src.poll(LogBatch())
except AuditReadyError as exc:
    print(exc)
    sys.exit(2)
"""


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "late fifo"])
def test_live_log_source_refuses_a_fifo_or_a_device(tmp_path: Path, kind: str) -> None:
    # The live run's FileLogSource: mark() and poll() used to block opening a FIFO, and read /dev/zero for ever.
    path = "/dev/zero" if kind == "/dev/zero" else str(tmp_path / "audit.log")
    if kind == "fifo":
        os.mkfifo(path)
    proc = python(_LIVE, path, "late" if kind == "late fifo" else "now")
    assert proc.returncode == 2, proc.stderr
    what = "a character device" if kind == "/dev/zero" else "a FIFO (named pipe)"
    assert f"the audit log {path} is {what}, not a regular file" in proc.stdout


@pytest.mark.parametrize("what, args, limit", [
    ("configuration file", ["verify", "audit.log", "--config", "{X}"], 1 << 20),
    ("canaries file", ["verify", "audit.log", "--canaries", "{X}"], 16 << 20),
    ("private key", ["seal", "audit.log", "--key", "{X}"], 1 << 20),
    ("CloudTrail public keys file", ["verify-cloudtrail", ".", "--public-keys", "{X}"], 16 << 20),
], ids=["config", "canaries", "key", "cloudtrail-keys"])
def test_small_input_past_its_cap_is_refused_unread(work: Path, what: str, args: list[str], limit: int) -> None:
    big = work / "big"
    with open(big, "wb") as f:
        f.truncate(limit + 1)  # sparse: costs no disk, and is never read
    big.chmod(0o600)
    proc = cli(*[a.replace("{X}", str(big)) for a in args], cwd=work)
    one_line_exit_2(proc, f"the {what} {big} is", "over the")


def test_read_small_refuses_a_file_that_reports_no_size_but_streams(tmp_path: Path) -> None:
    # /proc files say size 0: the cap is enforced on the bytes read too
    data = read_small("/proc/self/maps", "test input", 1 << 24)
    assert data
    with pytest.raises(AuditReadyError, match="over 16 bytes"):
        read_small("/proc/self/maps", "test input", 16)


# -- item 6: planted links at outputs -----------------------------------------------------------------------------

def _plant(link: Path, target: Path) -> None:
    target.write_bytes(PRECIOUS)
    link.symlink_to(target)


def test_junit_report_does_not_follow_a_link_planted_at_its_temporary_name(work: Path) -> None:
    target = work / "victim"
    _plant(work / "out.xml.tmp", target)
    proc = cli("verify", "audit.log", "--junit", "out.xml", cwd=work)
    assert proc.returncode in (0, 1), proc.stderr
    assert target.read_bytes() == PRECIOUS
    out = work / "out.xml"
    assert not out.is_symlink() and b"<testsuite" in out.read_bytes()
    assert not [p.name for p in work.iterdir() if p.name.startswith(".auditready-")]  # no temporary file left


def test_junit_report_refuses_a_link_at_the_output(work: Path) -> None:
    target = work / "victim"
    _plant(work / "out.xml", target)
    one_line_exit_2(cli("verify", "audit.log", "--junit", "out.xml", cwd=work), "out.xml is a symbolic link")
    assert target.read_bytes() == PRECIOUS and (work / "out.xml").is_symlink()


def test_sarif_does_not_follow_planted_links(tmp_path: Path) -> None:
    target = tmp_path / "victim"
    _plant(tmp_path / "out.sarif.tmp", target)
    path = sarif.write(make_result(tmp_path), str(tmp_path / "out.sarif"))
    assert target.read_bytes() == PRECIOUS and not path.is_symlink() and b'"2.1.0"' in path.read_bytes()
    path.unlink()
    path.symlink_to(target)
    with pytest.raises(AuditReadyError, match="is a symbolic link"):
        sarif.write(make_result(tmp_path), str(path))
    assert target.read_bytes() == PRECIOUS


def test_evidence_bundle_does_not_follow_planted_links(tmp_path: Path) -> None:
    d = tmp_path / "bundle"
    d.mkdir()
    names = ("evidence.json", "summary.md", "report.html", "SHA256SUMS")
    for n, name in enumerate(names):
        _plant(d / f"{name}.tmp", tmp_path / f"victim{n}")
    evidence.write_bundle(make_result(tmp_path), str(d))
    for n, name in enumerate(names):
        assert (tmp_path / f"victim{n}").read_bytes() == PRECIOUS
        assert not (d / name).is_symlink() and (d / name).stat().st_size > 0
    for name in names:
        (d / name).unlink()
        (d / name).symlink_to(tmp_path / "victim0")
        with pytest.raises(AuditReadyError, match=f"{name} is a symbolic link"):
            evidence.write_bundle(make_result(tmp_path), str(d))
        assert (tmp_path / "victim0").read_bytes() == PRECIOUS
        (d / name).unlink()


def test_github_step_summary_is_not_appended_through_a_link(tmp_path: Path) -> None:
    target = tmp_path / "victim"
    link = tmp_path / "summary.md"
    _plant(link, target)
    with pytest.raises(AuditReadyError, match="is a symbolic link"):
        github.append_summary(make_result(tmp_path), {"GITHUB_STEP_SUMMARY": str(link)})
    assert target.read_bytes() == PRECIOUS
    plain = tmp_path / "plain.md"
    plain.write_text("before\n")
    github.append_summary(make_result(tmp_path), {"GITHUB_STEP_SUMMARY": str(plain)})
    text = plain.read_text()
    assert text.startswith("before\n") and "| check |" in text  # appended, not replaced


def test_github_step_summary_that_is_a_fifo_does_not_block(tmp_path: Path) -> None:
    fifo = tmp_path / "summary"
    os.mkfifo(fifo)
    code = ("import sys\nfrom pathlib import Path\nfrom pytest_auditready.report import github\n"
            "from pytest_auditready.errors import AuditReadyError\nfrom tests.test_reports import make_result\n"
            "try:\n    github.append_summary(make_result(Path(sys.argv[2])), {'GITHUB_STEP_SUMMARY': sys.argv[1]})\n"
            "except AuditReadyError as exc:\n    print(exc)\n    sys.exit(2)\n")
    proc = python(code, str(fifo), str(tmp_path))
    assert proc.returncode == 2, proc.stderr
    assert "cannot write the GitHub step summary to" in proc.stdout


def test_seal_refuses_a_link_planted_at_log_digests(work: Path) -> None:
    target = work / "victim"
    _plant(work / "audit.log.digests", target)
    one_line_exit_2(cli("seal", "audit.log", "--key", "k", cwd=work), "audit.log.digests is a symbolic link")
    assert target.read_bytes() == PRECIOUS


def test_seal_refuses_a_fifo_at_log_digests(work: Path) -> None:
    os.mkfifo(work / "audit.log.digests")
    one_line_exit_2(cli("seal", "audit.log", "--key", "k", cwd=work), "audit.log.digests")


def test_seal_still_resumes_its_own_chain(work: Path) -> None:
    assert cli("seal", "audit.log", "--key", "k", "--lines", "50", cwd=work).returncode == 0
    with open(work / "audit.log", "ab") as f:
        f.write(CLEAN.read_bytes().splitlines(keepends=True)[0])
    proc = cli("seal", "audit.log", "--key", "k", cwd=work)
    assert proc.returncode == 0 and "sealed 1 line(s)" in proc.stdout, proc.stderr
    from pytest_auditready.seal import load_public_key, verify_log

    assert verify_log(work / "audit.log", load_public_key(work / "k.pub")).ok


@pytest.mark.parametrize("at", ["KEY", "KEY.pub"])
def test_keygen_never_writes_through_a_planted_link(tmp_path: Path, at: str) -> None:
    target = tmp_path / "victim"
    _plant(tmp_path / at.replace("KEY", "newkey"), target)
    one_line_exit_2(cli("keygen", "newkey", cwd=tmp_path), "already exists")
    assert target.read_bytes() == PRECIOUS
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["victim", at.replace("KEY", "newkey")])


def test_keygen_private_key_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        assert cli("keygen", "k", cwd=tmp_path).returncode == 0
    finally:
        os.umask(old)
    assert (tmp_path / "k").stat().st_mode & 0o777 == 0o600


def test_written_reports_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        p = write_atomic(tmp_path / "r.xml", "x", "test report")
    finally:
        os.umask(old)
    assert p.stat().st_mode & 0o777 == 0o600


# -- item 9: a report path that cannot be written is one line, exit 2 --------------------------------------------

def test_junit_report_under_a_file_or_proc_is_one_line(work: Path) -> None:
    for bad in ("audit.log/out.xml", "/proc/auditready/out.xml", "/proc/self/out.xml"):
        one_line_exit_2(cli("verify", "audit.log", "--junit", bad, cwd=work),
                        f"cannot write the compliance JUnit report to {bad}", "choose a writable path")
    assert (work / "audit.log").read_bytes() == CLEAN.read_bytes()


WRITERS: dict[str, Callable[[Path, str], object]] = {
    "junit": lambda tmp, path: junit.write(path, "<testsuites/>"),
    "sarif": lambda tmp, path: sarif.write(make_result(tmp), path),
    "evidence": lambda tmp, path: evidence.write_bundle(make_result(tmp), path),
    "github": lambda tmp, path: github.append_summary(make_result(tmp), {"GITHUB_STEP_SUMMARY": path}),
}


@pytest.mark.parametrize("writer", list(WRITERS))
@pytest.mark.parametrize("where", ["under a file", "under /proc", "a folder"])
def test_every_writer_raises_auditreadyerror_not_oserror(tmp_path: Path, writer: str, where: str) -> None:
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "x").write_text("x")
    path = {"under a file": str(tmp_path / "file.txt" / "out"), "under /proc": "/proc/auditready/out",
            "a folder": str(tmp_path / "folder")}[where]
    if writer == "evidence" and where == "a folder":
        path = str(tmp_path / "file.txt")  # a bundle is a folder: the wrong kind for it is a file
    with pytest.raises(AuditReadyError) as exc:
        WRITERS[writer](tmp_path, path)
    assert exc.value.cause.startswith("cannot write the ") and path in exc.value.cause
    assert "\n" not in str(exc.value)
    assert (tmp_path / "file.txt").read_text() == "x"
