"""`auditready verify` and `auditready access` over the inputs a user really points them at: a folder that holds
other files beside the vault's log (refused), an empty file of another name, a folder that cannot be listed, a FIFO, '-',
and report locations for a file whose name holds control characters.

The log is `fixtures/blind-cli/audit.log`, written by a real OpenBao dev server (see that folder's README).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Sequence

import pytest

from tests._native_runs import completed

LOG = Path(__file__).resolve().parent.parent / "fixtures" / "blind-cli" / "audit.log"
PYPROJECT = "[tool.auditready]\nretention_days = 0\nrequire_tamper_evidence = false\n"


def _cli(cwd: Path, *args: str, prefix: Sequence[str] = (), timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`auditready ARGS` in a process of its own: a fork of the verify server (tests/_native_runs.py), or, under a
    ``prefix`` command, a new interpreter."""
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "CI")}
    if not prefix:
        return completed(list(args), cwd, env, timeout)
    return subprocess.run([*prefix, sys.executable, "-m", "pytest_auditready", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _log(folder: Path, name: str = "audit.log") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    shutil.copyfile(LOG, path)
    path.chmod(0o600)
    return path


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    return tmp_path


def _mixed_folder(work: Path) -> Path:
    """A vault log's folder as hosts keep it: the log, a README, an editor's swap file, logrotate's state file, the
    rotated, compressed file of another program's log and an empty notes file."""
    logs = work / "logs"
    _log(logs)
    (logs / "README.md").write_text("# Vault audit logs\nKept for 13 months; see the runbook.\n")
    (logs / ".audit.log.swp").write_bytes(b"b0VIM 8.2\x00\x00\x00\x00\x10\x00\x00binary swap")
    (logs / "logrotate.status").write_text('logrotate state -- version 2\n"/var/log/vault/audit.log" 2026-12-1-0:0:0\n')
    (logs / "syslog.1.gz").write_bytes(gzip.compress(b"Dec  1 00:00:01 host sshd[1]: Accepted publickey for ops\n"))
    (logs / "notes.txt").write_text("")
    for p in logs.iterdir():
        p.chmod(0o600)
    return logs


@pytest.mark.parametrize("command", [["verify", "logs"], ["access", "secret/data/app/*", "logs"]])
def test_a_folder_with_other_files_beside_the_log_is_refused_in_one_line(work: Path, command: list[str]) -> None:
    """Fail closed: a file of a named folder that holds no log is input that cannot be read, refused (exit 2, one
    line naming the file) before any verdict; a hidden file (an editor's swap file) is never a log of a folder."""
    _mixed_folder(work)
    r = _cli(work, *command)
    assert r.returncode == 2 and r.stderr.startswith("auditready: logs/") and r.stderr.count("\n") == 1, r.stderr
    assert ".audit.log.swp" not in r.stderr and "Accepted publickey" not in r.stderr


@pytest.mark.parametrize("member", ["audit.log.1", "audit.log-20261201.gz"])
def test_a_rotated_file_of_the_log_that_holds_no_log_is_still_refused(work: Path, member: str) -> None:
    """A rotated file of the log itself overwritten with text is refused (exit 2, one line naming it)."""
    logs = work / "logs"
    _log(logs)
    data = b"this is not what the vault wrote\n"
    (logs / member).write_bytes(gzip.compress(data) if member.endswith(".gz") else data)
    r = _cli(work, "verify", "logs")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and member in r.stderr, r.stdout + r.stderr


def test_a_folder_of_nothing_but_other_files_and_a_non_log_named_alone_are_refused(work: Path) -> None:
    other = work / "other"
    other.mkdir()
    (other / "README.md").write_text("# nothing here\n")
    (other / "page.html").write_text("<html><body>hi</body></html>\n")
    for args in (["other"], ["other/README.md"], [str(LOG), "other/README.md"]):
        r = _cli(work, "verify", *args)
        assert r.returncode == 2 and r.stderr.startswith("auditready: ") and r.stderr.count("\n") == 1, args


def test_an_empty_file_of_another_name_is_no_log_just_rotated(work: Path) -> None:
    """Before: an empty notes.txt named beside audit.log was excused as "a log just rotated" (every check SKIP).
    An empty file is excused only beside other files of its own log (audit.log.1 beside audit.log)."""
    _log(work / "logs")
    (work / "logs" / "notes.txt").write_text("")
    (work / "logs" / "notes.txt").chmod(0o600)
    r = _cli(work, "verify", "logs/audit.log", "logs/notes.txt")
    assert r.returncode == 1
    assert "FAIL required_fields logs/notes.txt" in r.stdout and "judged nothing" in r.stdout
    (work / "logs" / "notes.txt").unlink()
    (work / "logs" / "audit.log.1").write_text("")
    (work / "logs" / "audit.log.1").chmod(0o600)
    r = _cli(work, "verify", "logs/audit.log", "logs/audit.log.1")
    assert r.returncode == 0, r.stdout
    assert "SKIP required_fields logs/audit.log.1 (logs/audit.log.1 is empty (a log just rotated" in r.stdout


def _without_dac() -> list[str]:
    """A prefix that runs a command without root's power to read what its modes forbid (tests run as root here)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to drop root's file-access override"
    caps = "-dac_override,-dac_read_search"
    return [setpriv, "--bounding-set", caps, "--inh-caps", caps]


@pytest.mark.parametrize("named", ["logs", "logs/**/*.log*", "logs/**", "logs/*/*"])
@pytest.mark.parametrize("command", ["verify", "access"])
def test_a_subfolder_that_cannot_be_listed_is_refused_not_walked_past(work: Path, command: str, named: str) -> None:
    """Before: os.walk skipped the unreadable folder without a word, and the run passed on the rest; a quoted glob
    did so still (Python's glob passes over a folder it cannot list: red team rt53 F1), and "logs/*/*" was said to
    match no file."""
    _log(work / "logs")
    hidden = work / "logs" / "2025"
    _log(hidden, "audit.log-20251201")
    hidden.chmod(0)
    try:
        args = ["verify", named] if command == "verify" else ["access", "secret/*", named]
        r = _cli(work, *args, prefix=_without_dac())
    finally:
        hidden.chmod(0o700)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.startswith("auditready: cannot list the folder logs/2025: Permission denied; fix: "), r.stderr
    assert r.stderr.count("\n") == 1


def test_a_glob_names_what_it_matches_as_the_shell_would(work: Path) -> None:
    """A quoted glob's match that is no regular file (a FIFO, a dangling link of a moved archive) is refused as the
    shell's expansion of the same glob is; before, it was dropped without a word and the run passed on the rest
    (red team rt53 F1). A folder it matches is read as a named folder."""
    _log(work / "logs")
    os.mkfifo(work / "logs" / "audit.log.2")
    r = _cli(work, "verify", "logs/audit.log*", timeout=30)
    assert r.returncode == 2 and "audit.log.2 is a FIFO (named pipe), not a regular file" in r.stderr, r.stderr
    (work / "logs" / "audit.log.2").unlink()
    (work / "logs" / "audit.log.1").symlink_to(work / "moved" / "audit.log.1")
    r = _cli(work, "verify", "logs/audit.log*")
    assert r.returncode == 2 and "audit.log.1" in r.stderr and r.stderr.count("\n") == 1, r.stderr
    (work / "logs" / "audit.log.1").unlink()
    _log(work / "logs" / "2025", "audit.log-20251201")
    r = _cli(work, "verify", "logs/*")
    assert "logs/2025/audit.log-20251201" in r.stdout, r.stdout + r.stderr


def test_access_refuses_a_fifo_instead_of_waiting_for_a_writer(work: Path) -> None:
    """Before: `auditready access` opened the FIFO to size it and hung until a writer came."""
    os.mkfifo(work / "pipe.log")
    r = _cli(work, "access", "secret/*", "pipe.log", timeout=30)
    assert r.returncode == 2 and "is a FIFO (named pipe), not a regular file" in r.stderr
    assert r.stderr.count("\n") == 1


@pytest.mark.parametrize("command", [["verify", "-"], ["access", "secret/*", "-"]])
def test_a_dash_says_standard_input_is_not_read(work: Path, command: list[str]) -> None:
    r = subprocess.run([sys.executable, "-m", "pytest_auditready", *command], cwd=work, input=LOG.read_text(),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.startswith("auditready: '-' names standard input, which is not read")
    assert r.stderr.count("\n") == 1


def test_sarif_locates_a_finding_in_the_file_itself_when_its_name_holds_control_characters(work: Path) -> None:
    """Before: the location's uri percent-encoded the escaped name (a%5Cx1b...), a file that does not exist. Now it
    encodes the real name (a%1B...), and no control character is written raw."""
    name = "a\x1b[2J::error::x<b>|\u202e.log"
    entries = LOG.read_text().splitlines()
    with open(work / name, "w") as f:
        f.write("\n".join(entries) + "\nnot json\n")
    (work / name).chmod(0o600)
    r = _cli(work, "verify", name, "--sarif", "out.sarif")
    assert r.returncode == 1 and "\x1b" not in r.stdout + r.stderr
    text = (work / "out.sarif").read_text()
    assert "\x1b" not in text and "\u202e" not in text
    run = json.loads(text)["runs"][0]
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"] for res in run["results"] for loc in res["locations"]}
    assert uris and all(urllib.parse.unquote(u) == name for u in uris), uris


@pytest.mark.parametrize("content", [
    "hvs.CAESIJlU2kXbPq7Vw8YtGm3nH0aZ1xRk5sLdTqE9pNcOuAy",  # ~/.vault-token named by mistake
    "s.AbCdEfGhIjKlMnOpQrStUvWx\n",  # a legacy token: shorter than the quoted sample
    "VAULT_TOKEN=hvs.CAESIJlU2kXbPq7Vw8YtGm3nH0aZ1xRk5sLdTqE9pNcOuAy\n",  # a .env file
    "Sup3rS3cretCanaryValue! is the db password\n",
    # values of no shape after a key (red team rt53 F5: quoted, or a key the run rule ate, or a word of a credential)
    'DB_PASSWORD="Tr0ub4dor&3"\n', 'password = "correct-horse-battery"\n', "POSTGRES_PASSWORD=correct-horse-battery\n",
    "export PGPASSWORD=hunter2-hunter2\n", "db_password: P@ssw0rd-2026!x\n", "ldap bind pw: S3cr3t-Pa55!\n",
])
def test_the_refusal_of_a_file_that_is_no_log_quotes_no_secret_from_it(work: Path, content: str) -> None:
    """Before: the one-line refusal quoted the first 40 characters of the file, a token file's token with them."""
    (work / "token").write_text(content)
    secret = content.replace(": ", "=").split("=")[-1].split()[0].strip().strip('"')
    part = 6 if len(secret) < 24 else 12  # a short value: not even its first or last six characters
    for args in (["verify", "token"], ["access", "secret/*", "token"]):
        r = _cli(work, *args)
        assert r.returncode == 2 and "holds plain text" in r.stderr, r.stderr
        assert secret[:part] not in r.stdout + r.stderr and secret[-part:] not in r.stdout + r.stderr, r.stderr
    (work / "server.log").write_text("2026-12-02T01:25:51.952Z [INFO]  core: security barrier not initialized\n")
    r = _cli(work, "verify", "server.log")
    # what it holds still shows (it is the server's own log, named so since it is refused as such)
    assert r.returncode == 2 and 'own log (hclog lines such as "2026-12-02T01:25:51.952Z [INFO] core: s' in r.stderr


def test_a_linked_folder_inside_the_folder_is_read_once_and_a_link_back_up_is_no_loop(work: Path) -> None:
    """Before: os.walk did not follow a linked folder, and the rotated files in it were left out without a word."""
    archive = work / "archive"
    _log(archive, "audit.log-20261201")
    logs = work / "logs"
    _log(logs)
    (logs / "archive").symlink_to(archive)
    (archive / "up").symlink_to(logs)  # a link back up: no file is read twice, the walk ends
    (logs / "self").symlink_to(".")
    r = _cli(work, "verify", "logs", "--json", "out.json", "-q")
    files = [a["file"] for a in json.loads((work / "out.json").read_text())["files"]]
    assert files == ["logs/archive/audit.log-20261201", "logs/audit.log"], (files, r.stdout, r.stderr)


@pytest.mark.parametrize("option", ["--public-key", "--cloudtrail-public-keys"])
def test_a_key_file_that_does_not_exist_is_one_line_not_a_traceback(work: Path, option: str) -> None:
    """Before: FileNotFoundError came out of `auditready verify` as a traceback, exit 1."""
    r = _cli(work, "verify", str(LOG), option, "gone.pub")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.startswith("auditready: no such ") and f"fix: check the path given to {option}" in r.stderr
    assert r.stderr.count("\n") == 1


def test_one_file_named_twice_is_read_once(work: Path) -> None:
    """Before: audit.log and ./audit.log were read as two files: twice the entries in every report's accounting."""
    _log(work / "logs")
    r = _cli(work, "verify", "logs/audit.log", "./logs/audit.log", str(work / "logs" / "audit.log"), "logs",
             "--json", "out.json")
    assert r.returncode == 0, r.stdout + r.stderr
    files = json.loads((work / "out.json").read_text())["files"]
    assert [(a["file"], a["entries"]) for a in files] == [("logs/audit.log", 33)]
    r = _cli(work, "access", "secret/*", "logs/audit.log", "./logs/audit.log", "--json", "-")
    assert [f["file"] for f in json.loads(r.stdout)["files"]] == ["logs/audit.log"]


def test_access_over_files_that_hold_no_entry_refuses_to_answer_nobody(work: Path) -> None:
    """Before: an empty file answered "0 requests by 0 identities", exit 0: "nobody saw it" from no evidence."""
    (work / "empty.log").write_text("")
    (work / "empty.log").chmod(0o600)
    r = _cli(work, "access", "secret/*", "empty.log")
    assert r.returncode == 2 and r.stdout == "" and r.stderr.count("\n") == 1, r.stdout + r.stderr
    assert "hold no audit entry (0 lines read)" in r.stderr
    _log(work / "logs")  # beside a log with entries, an empty file (a log just rotated) is no reason to refuse
    r = _cli(work, "access", "secret/*", "empty.log", "logs/audit.log", "--json", "-")
    assert r.returncode == 0 and json.loads(r.stdout)["requests"] > 0, r.stderr


def test_a_log_this_user_cannot_read_is_remedied_by_access_not_by_naming_another_file(work: Path) -> None:
    """Before: a log refused for its mode said "name the log files themselves (save a stream to a file first)"."""
    log = _log(work / "logs")
    log.chmod(0)
    r = _cli(work, "verify", "logs/audit.log", prefix=_without_dac())
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "Permission denied" in r.stderr and "fix: give this user read access to it" in r.stderr


def test_access_counts_no_cloudtrail_insights_event_as_a_request(work: Path) -> None:
    """An Insights event (eventType AwsCloudTrailInsight: CloudTrail's own analysis of an API's call rate, no
    userIdentity) is no one's request: before, `access '*'` counted it as "(none) (none) 1 requests"."""
    records = json.loads((LOG.parent.parent / "cloudtrail" / "blind" / "records.json").read_text())["Records"]
    insight = next(r for r in records if r.get("eventType") == "AwsCloudTrailInsight")
    call = next(r for r in records if r.get("eventName") == "GetSecretValue" and r.get("eventType") == "AwsApiCall")
    for name, recs in (("insight.json", [insight]), ("both.json", [insight, call])):
        (work / name).write_text(json.dumps({"Records": recs}))
        (work / name).chmod(0o600)
    r = _cli(work, "access", "*", "insight.json", "--json", "-")
    assert r.returncode == 0 and json.loads(r.stdout)["requests"] == 0, r.stdout + r.stderr
    r = _cli(work, "access", "*", "both.json", "--json", "-")
    doc = json.loads(r.stdout)
    assert r.returncode == 0 and doc["requests"] == 1 and "(none)" not in json.dumps(doc["identities"]), r.stdout


@pytest.mark.parametrize("front", ["verify", "pytest"])
def test_a_refused_run_leaves_no_earlier_runs_reports(work: Path, front: str) -> None:
    """A run that ends in exit 2 (a file it cannot read) wrote no report and left the previous run's "passed" ones
    in place, which CI uploads as this run's (red team rt53 F2): each report path named is cleared before reading."""
    _log(work)
    (work / "export.log").write_bytes(LOG.read_text().encode("utf-16-le"))  # refused: UTF-16
    reports = {"verify": ["--junit", "c.xml", "--json", "c.json", "--sarif", "c.sarif", "--evidence", "ev"],
               "pytest": ["--auditready-report", "c.xml", "--auditready-evidence", "ev"]}[front]

    def run(*logs: str) -> subprocess.CompletedProcess[str]:
        if front == "verify":
            return _cli(work, "verify", *reports, *logs)
        env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "CI")}
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--auditready-offline",
                               *logs, *reports], cwd=work, env=env, capture_output=True, text=True, timeout=120)

    def on_disk() -> list[str]:
        return sorted(p.name for p in work.rglob("*") if p.is_file() and (p.parent.name == "ev" or p.name[:2] == "c."))

    first = run("audit.log")
    written = on_disk()
    assert first.returncode == 0 and "c.xml" in written and "evidence.json" in written, first.stdout + first.stderr
    second = run("audit.log", "export.log")
    assert second.returncode in (2, 4) and "UTF-16" in second.stdout + second.stderr, second.stdout + second.stderr
    assert on_disk() == [], on_disk()
