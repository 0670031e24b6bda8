"""Red team rt60: what the outputs of a run say in CI, and what a refused run leaves behind.

F1: a JSON or SARIF report printed on standard output (``--json -``, ``--sarif -``) under GitHub Actions holds no
"##[" (the runner's legacy workflow command, taken anywhere in a line), and still means the same to a program.
F2: a refused run (a bad setting or option, input it cannot read) leaves no earlier run's report at its report
paths, pytest's own --junitxml included, and never removes an input. F4: `pytest --auditready-offline -n 2` reads a
file whose name is not UTF-8 as a serial run does. F6: one entry leaking a known value under two keys in two
encodings names each key with its own encoding. F7: annotations without pytest's terminal reporter.

The logs are a real OpenBao dev server's file audit device output, made by the module fixture below.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterator

import pytest

from pytest_auditready.cli import main
from tests.conftest import embedded_root, remember_secret

pytestmark = pytest.mark.vault

CLEAN = "[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n"
CANARY = remember_secret("rt60Canary-QmV4Zk9wTlcxRzJhUzNkVDQ")


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, bytes]]:
    """Real OpenBao audit logs: "clean" (KV writes and reads, nothing wrong), "two_keys" (a token made with the
    canary in its metadata, base64 under one key and hex under another: OpenBao logs token metadata in clear),
    "hex_only" (the hex alone), "plain_meta" (metadata without the canary)."""
    out: dict[str, bytes] = {}
    with embedded_root() as (server, client):
        for i in range(2):
            client.call("POST", f"secret/data/app/db{i}", {"data": {"k": f"value-{i}"}})
            client.call("GET", f"secret/data/app/db{i}")
        server.settle()
        out["clean"] = server.log_path.read_bytes()
        b64 = base64.b64encode(CANARY.encode()).decode()
        for name, meta in (("two_keys", {"leak_b64": b64, "leak_hex": CANARY.encode().hex()}),
                           ("hex_only", {"leak_hex": CANARY.encode().hex()}),
                           ("plain_meta", {"team": "payments", "ticket": "OPS-1234"})):
            before = server.log_path.stat().st_size
            r = client.call("POST", "auth/token/create", {"policies": ["default"], "ttl": "5m", "meta": meta})
            assert r.status == 200, r.error
            remember_secret(str((r.body or {})["auth"]["client_token"]))
            server.settle()
            out[name] = out["clean"] + server.log_path.read_bytes()[before:]
        yield out


def put(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(0o600)
    return path


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working directory, with settings under which the clean real log passes; outside GitHub Actions."""
    (tmp_path / "cfg.toml").write_text(CLEAN)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return tmp_path


def verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(["-q", "verify", *args])
    except SystemExit as exc:  # the command line's parser refused it
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


# -- F1: JSON and SARIF on standard output under GitHub Actions --------------------------------------------------
HOSTILE = ("##[stop-commands]t.log", "##[error title=Forged]audit passed.log", "x###[group]y.log")


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("option", ["--json", "--sarif"])
def test_a_report_on_standard_output_holds_no_workflow_command(project: Path, logs: dict[str, bytes],
                                                               capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch, option: str,
                                                               name: str) -> None:
    """File names with "##[" (a log's name is whoever named it): printed raw, "##[stop-commands]" would silence
    every annotation after it and "##[error ...]" forge one. Written #\\u0023[, the same string to a program."""
    put(project / "logs" / name, logs["clean"])
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, out, err = verify(capsys, "logs", "--config", "cfg.toml", option, "-")
    assert code == 0, err
    assert "##[" not in out and "##[" not in err
    doc = json.loads(out)
    named = ([a["file"] for a in doc["files"]] if option == "--json"
             else [a["file"] for a in doc["runs"][0]["invocations"][0]["properties"]["accounting"]])
    assert named == [os.path.join("logs", name)]  # the name as it is


@pytest.mark.parametrize("option", ["--json", "--sarif"])
def test_a_report_of_ordinary_names_is_written_as_before(project: Path, logs: dict[str, bytes],
                                                         capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch, option: str) -> None:
    put(project / "logs" / "audit.log", logs["clean"])
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, out, err = verify(capsys, "logs", "--config", "cfg.toml", option, "-")
    assert code == 0, err
    assert "\\u0023" not in out
    doc = json.loads(out)
    verdict = doc["verdict"] if option == "--json" else doc["runs"][0]["invocations"][0]["properties"]["verdict"]
    assert verdict == "passed"


def test_the_json_escape_keeps_every_value() -> None:
    from pytest_auditready.report import without_workflow_commands

    doc = {"a##[error]x": ["###[stop-commands]", "\\##[", "#[", "# #[", "##", "#\\u0023["]}
    for ascii_only in (True, False):
        text = json.dumps(doc, ensure_ascii=ascii_only)
        shown = without_workflow_commands(text)
        assert "##[" not in shown and json.loads(shown) == doc


# -- F2: a refused run leaves no earlier run's report ------------------------------------------------------------
REPORTS = ("--junit", "st/v.xml", "--json", "st/v.json", "--sarif", "st/v.sarif", "--evidence", "st/ev")


def reports_of(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in (root / "st").rglob("*") if p.is_file())


@pytest.fixture
def passed(project: Path, logs: dict[str, bytes], capsys: pytest.CaptureFixture[str]) -> Path:
    """A passing verify run's reports in st/ (the run a refused one follows)."""
    put(project / "audit.log", logs["clean"])
    code, _, err = verify(capsys, "audit.log", "--config", "cfg.toml", *REPORTS)
    assert code == 0, err
    assert len(reports_of(project)) == 7  # v.xml v.json v.sarif, and the bundle's four
    return project


@pytest.mark.parametrize("refused", [
    ["--config", "bad.toml"],  # an unknown key in the settings
    ["--config", "cfg.toml", "--fail-on", "bogus"],  # a bad value of an option
    ["--config", "cfg.toml", "--jobs", "0"],  # refused by the command line's parser
    ["--config", "cfg.toml", "--no-such-option"],  # an unknown option (refused by the top parser)
    ["--config", "cfg.toml", "--canaries", "missing.txt"],  # an input that cannot be read, before the clearing
])
def test_verify_refused_leaves_no_earlier_report(passed: Path, capsys: pytest.CaptureFixture[str],
                                                 refused: list[str]) -> None:
    (passed / "bad.toml").write_text(CLEAN + "bogus_key = 1\n")
    code, _, err = verify(capsys, "audit.log", *refused, *REPORTS)
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert reports_of(passed) == []
    assert (passed / "audit.log").is_file() and (passed / "cfg.toml").is_file()


def test_verify_refused_keeps_reports_it_does_not_name(passed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = verify(capsys, "audit.log", "--config", "cfg.toml", "--fail-on", "bogus", "--json", "st/v.json")
    assert code == 2, err
    assert "st/v.json" not in reports_of(passed) and len(reports_of(passed)) == 6


@pytest.mark.parametrize("config", [
    CLEAN + 'canaries_file = "st/v.json"\nbogus_key = 1\n',  # a key the settings name, beside a bad one
    'canaries_file = "st/v.json"\nnot toml at all [[\n',  # a file that is no TOML: each quoted string may name one
])
def test_a_refusal_never_removes_an_input(passed: Path, capsys: pytest.CaptureFixture[str], config: str) -> None:
    """The refused settings named the file as an input (the canaries): it stays, whatever the report options say."""
    (passed / "bad.toml").write_text(config)
    code, _, err = verify(capsys, "audit.log", "--config", "bad.toml", *REPORTS)
    assert code == 2, err
    assert reports_of(passed) == ["st/v.json"]


def test_a_setting_that_names_no_file_protects_nothing(passed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Only the settings that name what a run reads (a log, a key, the canaries, a folder) protect a path: reports
    in a folder that happens to share a word with another setting (kv_mount "secret", prefix "auditready") go."""
    (passed / "bad.toml").write_text(CLEAN + 'kv_mount = "st"\nprefix = "auditready-st"\nbogus_key = 1\n')
    code, _, err = verify(capsys, "audit.log", "--config", "bad.toml", *REPORTS)
    assert code == 2, err
    assert reports_of(passed) == []


def test_a_refusal_never_removes_a_log_it_names(passed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A report path that is a log named (or in a folder named) to the refused run stays."""
    (passed / "bad.toml").write_text(CLEAN + "bogus_key = 1\n")
    code, _, err = verify(capsys, "audit.log", "st", "--config", "bad.toml", "--json", "audit.log",
                          "--sarif", "st/v.sarif", "--junit", "st/v.xml")
    assert code == 2, err
    assert (passed / "audit.log").stat().st_size > 0 and len(reports_of(passed)) == 7
    code, _, err = verify(capsys, "audit.*", "--config", "cfg.toml", "--jobs", "0", "--json", "audit.log")
    assert code == 2 and (passed / "audit.log").stat().st_size > 0


def pytest_run(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "GITHUB_"))}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=cwd,
                          env={**environ, **(env or {})}, capture_output=True, text=True, timeout=300)


PYTEST_REPORTS = ("--junitxml=st/pj.xml", "--auditready-report=st/comp.xml", "--auditready-sarif=st/ps.sarif",
                  "--auditready-evidence=st/pev")


@pytest.fixture
def pytest_passed(project: Path, logs: dict[str, bytes]) -> Path:
    """A passing `pytest --auditready-offline` run's reports in st/, pytest's own --junitxml among them."""
    put(project / "audit.log", logs["clean"])
    (project / "garbage.log").write_text("hello world\n")
    (project / "bad.toml").write_text(CLEAN + "bogus_key = 1\n")
    r = pytest_run(project, "--auditready-config", "cfg.toml", "--auditready-offline", "audit.log", *PYTEST_REPORTS)
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(reports_of(project)) == 7
    return project


@pytest.mark.parametrize("refused,code", [
    (("--auditready-config", "bad.toml", "--auditready-offline", "audit.log"), 4),  # a usage error
    (("--auditready-config", "cfg.toml", "--auditready-offline", "audit.log", "--auditready-fail-on", "x"), 4),
    (("--auditready-config", "cfg.toml", "--auditready-offline", "garbage.log"), 2),  # input it cannot read
    (("--auditready-config", "cfg.toml", "--auditready-offline", "audit.log", "--auditready-canaries", "no.txt"), 2),
])
def test_pytest_refused_leaves_no_earlier_report(pytest_passed: Path, refused: tuple[str, ...], code: int) -> None:
    """pytest writes --junitxml only for a session that started; the plugin's refusals end the run first, so the
    earlier run's file would stand for this one: removed with the plugin's own reports."""
    r = pytest_run(pytest_passed, *refused, *PYTEST_REPORTS)
    assert r.returncode == code, r.stdout + r.stderr
    assert reports_of(pytest_passed) == []


def test_pytest_collect_only_removes_nothing(pytest_passed: Path) -> None:
    r = pytest_run(pytest_passed, "--collect-only", "--auditready-config", "bad.toml", "--auditready-offline",
                   "audit.log", *PYTEST_REPORTS)
    assert r.returncode == 4, r.stdout + r.stderr
    assert len(reports_of(pytest_passed)) == 7


def test_pytest_refusal_never_removes_a_log(pytest_passed: Path) -> None:
    r = pytest_run(pytest_passed, "--auditready-config", "bad.toml", "--auditready-offline", "audit.log",
                   "--junitxml=audit.log", "--auditready-report=st/comp.xml")
    assert r.returncode == 4, r.stdout + r.stderr
    assert (pytest_passed / "audit.log").stat().st_size > 0
    assert "st/comp.xml" not in reports_of(pytest_passed) and len(reports_of(pytest_passed)) == 6


# -- F4: a name that is not UTF-8 under pytest-xdist -------------------------------------------------------------
def junit_cases(path: Path) -> list[tuple[str, str]]:
    root = ET.parse(path).getroot()
    return sorted((str(c.get("name")), "failed" if c.find("failure") is not None else "skipped"
                   if c.find("skipped") is not None else "passed") for c in root.iter("testcase"))


@pytest.mark.parametrize("log", ["clean", "hex_only"])
def test_xdist_reads_a_name_that_is_not_utf8(project: Path, logs: dict[str, bytes], log: str) -> None:
    """Python reads the byte 0xff of a name as a lone surrogate, which execnet cannot send: the verdicts travel to
    the controller all the same, and -n 2 gives what a serial run gives."""
    folder = project / "inv"
    folder.mkdir()
    put(Path(os.fsdecode(os.fsencode(str(folder)) + b"/audit-\xff.log")), logs[log])
    (project / "c.txt").write_text(CANARY + "\n")
    runs = {}
    for n in ("0", "2"):
        r = pytest_run(project, "--auditready-config", "cfg.toml", "--auditready-offline", "inv",
                       "--auditready-canaries", "c.txt", "-n", n, f"--auditready-report=comp{n}.xml")
        runs[n] = r
        assert "INTERNALERROR" not in r.stdout + r.stderr and r.returncode == (0 if log == "clean" else 1), \
            r.stdout + r.stderr
    assert junit_cases(project / "comp0.xml") == junit_cases(project / "comp2.xml")
    assert "audit-\\udcff.log" in (project / "comp2.xml").read_text()


# -- F6: one entry, one value under two keys in two encodings ----------------------------------------------------
@pytest.mark.parametrize("log,said", [
    ("two_keys", {"(base64) under key 'leak_b64'", "(hex) under key 'leak_hex'"}),
    ("hex_only", {"(hex) under key 'leak_hex'"}),
])
def test_each_encoding_is_named_under_its_own_key(project: Path, logs: dict[str, bytes],
                                                  capsys: pytest.CaptureFixture[str], log: str,
                                                  said: set[str]) -> None:
    put(project / "audit.log", logs[log])
    (project / "c.txt").write_text(CANARY + "\n")
    code, out, err = verify(capsys, "audit.log", "--config", "cfg.toml", "--canaries", "c.txt", "--json", "r.json")
    assert code == 1, err
    found = [f["message"] for o in json.loads((project / "r.json").read_text())["outcomes"]
             if o["check"] == "no_secret_leak" for f in o["findings"]]
    named = {m[m.index("("):].split(";")[0].rstrip(".") for m in found if "under key 'leak_" in m}
    assert named == said, found
    assert CANARY not in out + err


def test_metadata_without_a_known_value_is_no_finding(project: Path, logs: dict[str, bytes],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    put(project / "audit.log", logs["plain_meta"])
    (project / "c.txt").write_text(CANARY + "\n")
    code, out, err = verify(capsys, "audit.log", "--config", "cfg.toml", "--canaries", "c.txt")
    assert code == 0, out + err


# -- F7: annotations without pytest's terminal reporter ----------------------------------------------------------
@pytest.mark.parametrize("mode,code", [(0o644, 1), (0o600, 0)])
def test_annotations_without_the_terminal_reporter(project: Path, logs: dict[str, bytes], mode: int,
                                                   code: int) -> None:
    """-p no:terminal (in addopts, say): GitHub still reads one ::error per failed check from standard output."""
    put(project / "audit.log", logs["clean"]).chmod(mode)  # a log others can read: log_protection fails
    r = pytest_run(project, "-p", "no:terminal", "--auditready-config", "cfg.toml", "--auditready-offline",
                   "audit.log", env={"GITHUB_ACTIONS": "true"})
    assert r.returncode == code, r.stdout + r.stderr
    annotations = [ln for ln in r.stdout.splitlines() if ln.startswith("::")]
    assert [a.split(" ", 1)[0] for a in annotations] == (["::error"] if code else [])
    assert all("auditready log_protection failed" in a for a in annotations)
