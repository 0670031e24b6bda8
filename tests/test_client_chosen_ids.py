"""Text a client chooses that reports key by: a Kubernetes event's auditID (the API server takes a client's Audit-ID
header as it is: kubernetes PR 99237) and a Vault display name holding two credentials (red team rt32, F1, F2).
A credential there is found, and never printed: the auditID was never judged and was quoted as "request id" in
every output; a name was shown with one credential masked and the other in clear."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests._native_runs import completed
from tests.conftest import remember_secret

ROOT = Path(__file__).resolve().parents[1] / "fixtures"
AWS_KEY = remember_secret("AKIAZ7QW3RTY5UIO2PXL")
SLACK = remember_secret("xoxb-2048123456-4096123456-Kq8ZmV3pW7sR2tY9uXc4nB6d")
DAPI = remember_secret("dapi0123456789abcdef0123456789abcdef")
CONFIG = "[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n"


def _outputs(tmp_path: Path, log: Path, *extra: str) -> tuple[int, str]:
    (tmp_path / "pyproject.toml").write_text(CONFIG)
    env = {**os.environ, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    proc = completed(["verify", str(log), "--json", str(tmp_path / "out.json"), "--sarif", str(tmp_path / "out.sarif"),
                      "--junit", str(tmp_path / "out.xml"), "--evidence", str(tmp_path / "ev"), *extra], tmp_path, env,
                     timeout=120)
    texts = [proc.stdout, proc.stderr] + [p.read_text() for p in (tmp_path / "ev").iterdir() if p.is_file()]
    texts += [(tmp_path / n).read_text() for n in ("out.json", "out.sarif", "out.xml", "summary.md")
              if (tmp_path / n).exists()]
    return proc.returncode, "\n".join(texts)


def test_a_credential_sent_as_audit_id_is_found_and_never_quoted(tmp_path: Path) -> None:
    events = [json.loads(ln) for ln in (ROOT / "k8s" / "audit.log").read_text().splitlines() if ln.strip()]
    events[1]["auditID"], events[3]["auditID"] = AWS_KEY, SLACK
    log = tmp_path / "audit.log"
    log.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events))
    log.chmod(0o600)
    code, out = _outputs(tmp_path, log)
    assert code == 1
    doc = json.loads((tmp_path / "out.json").read_text())
    (leak,) = [o for o in doc["outcomes"] if o["check"] == "no_secret_leak"]
    assert sorted(int(f["where"].rsplit(":", 1)[1]) for f in leak["findings"]) == [2, 4], leak
    assert "auditID" in out and AWS_KEY not in out and SLACK not in out
    assert "request id <AWS Access Key sha256" in out
    # the API server's own ids (UUIDs) are no finding
    events[1]["auditID"], events[3]["auditID"] = events[0]["auditID"][:-1] + "9", events[0]["auditID"][:-1] + "8"
    log.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events))
    _outputs(tmp_path, log)
    doc = json.loads((tmp_path / "out.json").read_text())
    assert [o["findings"] for o in doc["outcomes"] if o["check"] == "no_secret_leak"] == [[]]


def test_a_name_holding_two_credentials_is_withheld_whole(tmp_path: Path) -> None:
    lines = (ROOT / "openbao" / "clean.log").read_text().splitlines()
    name = f"token-{DAPI}-{AWS_KEY}"
    out_lines = []
    for ln in lines:
        e = json.loads(ln)
        if e.get("auth", {}).get("display_name") == "token-reader":
            e["auth"]["display_name"] = name
        out_lines.append(json.dumps(e, separators=(",", ":")))
    log = tmp_path / "audit.log"
    log.write_text("".join(ln + "\n" for ln in out_lines))
    log.chmod(0o600)
    code, out = _outputs(tmp_path, log)
    assert code == 1 and AWS_KEY not in out and DAPI not in out
    proc = completed(["access", "secret/*", str(log), "--json", "-"], tmp_path, timeout=120)
    assert proc.returncode == 0 and AWS_KEY not in proc.stdout + proc.stderr and DAPI not in proc.stdout
    names = {i["display_name"] for i in json.loads(proc.stdout)["identities"]}
    assert any(n.startswith("<") and "AWS Access Key" in n for n in names), names


def test_a_canary_with_an_apostrophe_and_markup_characters_is_named_in_the_junit_xml(tmp_path: Path) -> None:
    """ElementTree writes & < > escaped and an apostrophe as it is; the redaction knew html.escape's spelling only
    (&#x27;), so a canary holding both reached the JUnit XML whole, or its tail after a prefix cut short (red team
    rt32, F3)."""
    events = [json.loads(ln) for ln in (ROOT / "k8s" / "audit.log").read_text().splitlines() if ln.strip()]
    for n, canary in enumerate(("P&ss'wordLongTail12345", "Tr0ub4dor&3'xyzW")):
        remember_secret(canary)
        events[1]["auditID"] = canary
        log = tmp_path / f"audit{n}.log"
        log.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events))
        log.chmod(0o600)
        (tmp_path / "canaries.txt").write_text(canary + "\n")
        code, out = _outputs(tmp_path, log, "--canaries", str(tmp_path / "canaries.txt"))
        xml = (tmp_path / "out.xml").read_text()
        assert code == 1 and "&lt;canary:1&gt;" in xml
        for part in (canary, canary[canary.index("'"):], canary.replace("&", "&amp;")):
            assert part not in xml and part not in out, part


def test_a_path_holding_a_token_and_a_password_is_withheld_whole(tmp_path: Path) -> None:
    """A path's parts flagged alone (a Databricks token segment) were masked and the rest shown: a password=...
    beside it, a credential only with its key, stayed in clear in `auditready access --json` (red team rt32, F5)."""
    password = remember_secret("hunter2hunter2")
    bad = f"secret/data/ci/{DAPI}/password={password}"
    lines = []
    for ln in (ROOT / "openbao" / "clean.log").read_text().splitlines():
        e = json.loads(ln)
        if e.get("request", {}).get("path") == "secret/data/app-c9d897/app0/db":
            e["request"]["path"] = bad
        lines.append(json.dumps(e, separators=(",", ":")))
    assert sum(bad in ln for ln in lines) >= 2
    log = tmp_path / "audit.log"
    log.write_text("".join(ln + "\n" for ln in lines))
    log.chmod(0o600)
    proc = completed(["access", "secret/*", str(log), "--json", "-"], tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert password not in proc.stdout and DAPI not in proc.stdout
    assert "Secret Keyword sha256" in proc.stdout


@pytest.mark.parametrize("prefix", ["CanaryValue12345", "onlyletterscanary", "xoxb-2048123456-4096123456-Kq8ZmV3pW7"])
def test_a_refusal_that_quotes_a_prefix_never_shows_a_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             prefix: str) -> None:
    """Every line starting with the same text is refused in one line that quotes it (an audit device prefix):
    a --canaries value or a token there was printed twice (red team rt32, F9)."""
    from pytest_auditready.cli import main

    remember_secret(prefix)
    lines = (ROOT / "openbao" / "clean.log").read_text().splitlines()
    log = tmp_path / "p.log"
    log.write_text("".join(f"{prefix} {ln}\n" for ln in lines))
    log.chmod(0o600)
    (tmp_path / "canaries.txt").write_text(prefix + "\n")
    assert main(["verify", str(log), "--canaries", str(tmp_path / "canaries.txt")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "audit device prefix" in err and prefix not in err, err


def test_no_line_carries_a_runners_legacy_command_or_starts_with_one(tmp_path: Path) -> None:
    """GitHub's runner takes "##[name]data" anywhere in a line (actions/runner ActionCommand.TryParse) and
    "::name::" at a line's start after blanks: a file name, a request id or an identity of the log held them, and
    "##[stop-commands]" silenced every annotation after it (red team rt32, F8)."""
    events = [json.loads(ln) for ln in (ROOT / "k8s" / "audit.log").read_text().splitlines() if ln.strip()]
    events[1]["auditID"] = "##[stop-commands]paused"
    events[2]["user"]["username"] = "::error file=.github/workflows/release.yml,line=1::Forged by a log"
    log = tmp_path / "audit-##[error]forged.log"
    log.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events))
    log.chmod(0o600)
    env = {**os.environ, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    (tmp_path / "pyproject.toml").write_text(CONFIG)
    for argv in (["verify", str(log)], ["access", "api/v1/namespaces/prod/secrets/*", str(log)]):
        proc = completed([*argv], tmp_path, env, timeout=120)
        assert proc.returncode in (0, 1), proc.stderr
        for line in (proc.stdout + proc.stderr).splitlines():
            assert "##[" not in line, line
            assert not line.lstrip().startswith("::") or line.startswith(("::error ", "::warning ", "::notice ")), line
        assert "Forged by a log" not in "".join(ln for ln in proc.stdout.splitlines() if ln.startswith("::"))
