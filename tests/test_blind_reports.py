"""Blind grading of the reports (terminal, JSON, compliance JUnit, SARIF, evidence bundle, step summary, annotations,
`auditready access`): what a hostile log or a careless configuration could make them show.

The log is fixtures/blind-reports/openbao-hostile-paths.log, recorded from a real OpenBao 2.7.2 dev server
(fixtures/blind-reports/make.py); each test adds its own canary or token to a copy, as a client that put one in a
request path would have made the vault log it.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.config import Settings
from pytest_auditready.report.evidence import build
from pytest_auditready.report.github import md_cell
from pytest_auditready.result import AuditResult
from pytest_auditready.text import redact
from tests._native_runs import completed

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "blind-reports" / "openbao-hostile-paths.log"
CONFIG = "[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n"


def _token() -> str:
    """A GitHub personal access token's shape, made at run time (never a literal in the repository)."""
    return "ghp_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(36))


def _with_paths(folder: Path, paths: list[str], name: str = "audit.log") -> Path:
    """A copy of the recorded log where the first recorded reads (request and response entry each) are of
    ``paths`` instead: what the vault writes when a client sends such a request, of a secret that is there (its
    response holds the value, hashed: a read of a missing secret returned nothing, OpenBao's 404, and is no access
    let through: red team rt94 F3)."""
    lines = FIXTURE.read_text().splitlines()
    out, i = [], 0
    reads = [json.loads(line)["request"]["path"] for line in lines if '"type":"request"' in line
             and '"path":"secret/data/h' in line]
    swap = dict(zip(reads, paths))
    for line in lines:
        d = json.loads(line)
        p = d.get("request", {}).get("path", "")
        if p in swap:
            d["request"]["path"] = swap[p]
            i += 1
            if d["type"] == "response" and not (d.get("response") or {}).get("data"):
                d.setdefault("response", {})["data"] = {"data": {"password": "hmac-sha256:" + "5e" * 32}}
        out.append(json.dumps(d, separators=(",", ":")))
    assert i == 2 * len(paths)
    log = folder / name
    log.write_text("\n".join(out) + "\n")
    log.chmod(0o600)
    (folder / "pyproject.toml").write_text(CONFIG)
    return log


def _cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VAULT_TOKEN", "BAO_TOKEN")}
    env.update(GITHUB_ACTIONS="true", GITHUB_STEP_SUMMARY=str(folder / "out" / "summary.md"))
    (folder / "out").mkdir(exist_ok=True)
    return completed(list(args), folder, env)  # a fork of the verify server (tests/_native_runs.py)


def _verify(folder: Path, *paths: str, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    o = folder / "out"
    return _cli(folder, "verify", *paths, "--junit", str(o / "c.xml"), "--sarif", str(o / "r.sarif"), "--json",
                str(o / "r.json"), "--evidence", str(o / "ev"), "-j1", *extra)


def _outputs(folder: Path, proc: subprocess.CompletedProcess[str]) -> dict[str, str]:
    texts = {"stdout": proc.stdout, "stderr": proc.stderr}
    for p in (folder / "out").rglob("*"):
        if p.is_file():
            texts[str(p.relative_to(folder))] = p.read_text(encoding="utf-8")
    assert {"out/r.json", "out/r.sarif", "out/c.xml", "out/summary.md", "out/ev/evidence.json",
            "out/ev/report.html", "out/ev/summary.md"} <= set(texts)
    return texts


def test_a_credential_or_canary_in_a_request_path_reaches_no_report(tmp_path: Path) -> None:
    """no_secret_leak finds a token and a canary's base64 in request paths; the access review of report.html and
    evidence.json used to show both paths verbatim. Every report now shows the token by its kind and fingerprint
    and the canary by name; the other hostile paths stay exactly as logged."""
    token = _token()
    canary = "Canary-" + secrets.token_hex(20)
    b64 = base64.b64encode(canary.encode()).decode()
    _with_paths(tmp_path, [f"secret/data/{token}", f"secret/data/{b64}"])
    (tmp_path / "canaries.txt").write_text(canary + "\n")
    proc = _verify(tmp_path, "audit.log", extra=("--canaries", "canaries.txt"))
    assert proc.returncode == 1, proc.stderr
    texts = _outputs(tmp_path, proc)
    checks = {c["id"]: c for c in json.loads(texts["out/r.json"])["checks"]}
    assert checks["no_secret_leak"]["status"] == "failed" and checks["no_secret_leak"]["findings"] >= 2
    for forms in ([token, token[4:]], [canary, b64, b64.rstrip("="), canary.encode().hex()]):
        for name, text in texts.items():
            for form in forms:
                assert form not in text, f"a secret reached {name}"
    html = texts["out/ev/report.html"]
    assert re.search(r"secret/data/&lt;[^&]*GitHub Token sha256 [0-9a-f]{10}&gt;", html)  # listed, token masked
    review = json.loads(texts["out/ev/evidence.json"])["review"]
    paths = {p["path"] for p in review["paths"]}
    assert "secret/data/h9-www.evil.example/x" in paths  # plain paths unchanged
    assert any(re.fullmatch(r"secret/data/<[^>]*GitHub Token sha256 [0-9a-f]{10}>", p) for p in paths)


def test_the_access_answer_shows_a_credential_in_a_path_masked(tmp_path: Path) -> None:
    """`auditready access --json` lists each identity's paths: a token in one used to be written as logged."""
    token = _token()
    _with_paths(tmp_path, [f"secret/data/{token}"])
    proc = _cli(tmp_path, "access", "secret/*", "audit.log", "--json", "-")
    assert proc.returncode == 0, proc.stderr
    assert token not in proc.stdout and token[4:] not in proc.stdout
    paths = {p for i in json.loads(proc.stdout)["identities"] for p in i["paths"]}
    assert "secret/data/h9-www.evil.example/x" in paths
    assert "secret/data/h6-]]>&amp;<!--" in paths  # exact in JSON: its reader escapes
    assert any(re.fullmatch(r"secret/data/<[^>]*GitHub Token sha256 [0-9a-f]{10}>", p) for p in paths)


def test_known_secrets_are_redacted_in_every_encoding_the_leak_check_knows() -> None:
    """AuditResult.redact, the reports' second line of defence, used to replace only the raw value."""
    value = "c-" + secrets.token_hex(16)
    forms = [value, base64.b64encode(value.encode()).decode(), base64.urlsafe_b64encode(b"x" + value.encode()).decode(),
             value.encode().hex(), value.encode().hex().upper(), base64.b32encode(value.encode()).decode()]
    for form in forms:
        out = redact(f"path secret/data/{form}/x", {"canary:c1": value})
        assert "<canary:c1>" in out and form not in out
    assert redact("nothing secret here", {"canary:c1": value}) == "nothing secret here"


@pytest.mark.parametrize("text", ["alice@corp.example", "mailto:bob@corp.example", "xmpp:svc@chat.example/r",
                                  "a@@b.example", "x\\@y.example"])
def test_a_markdown_cell_forms_no_e_mail_link(text: str) -> None:
    """GitHub links an e-mail address after parsing, whatever escapes it was written with; docs/ci.md says log
    content in the step summary cannot forge a link. Each "@" now sits in a code span of its own."""
    cell = md_cell(text)
    outside = re.sub(r"`@+`", "", cell)
    assert "@" not in outside, cell
    assert md_cell("plain text, no address") == "plain text, no address"


def test_the_evidence_configuration_withholds_credentials_in_commands() -> None:
    """evidence.json holds the configuration; a log_command or bootstrap a person wrote with a credential in it
    used to be copied verbatim."""
    from pytest_auditready.report.evidence import mask_command

    token = "s." + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(24))
    password = "pw-" + secrets.token_hex(8)
    command = (f"curl -s -H 'Authorization: Bearer {token}' -u admin:{password} "
               f"https://svc:{password}@siem.example/export --api-key {password} TOKEN={password}")
    settings = Settings(log_command=command, bootstrap=f"vault-setup --token {token} --policy-dir policies")
    doc = build(AuditResult(settings=settings, target="offline", run_id="", checks=[], outcomes=[]))
    shown = json.dumps(doc["configuration"])
    assert token not in shown and password not in shown
    assert doc["configuration"]["bootstrap"] == "vault-setup --token <withheld> --policy-dir policies"
    for plain in ("journalctl -o cat -f -u vault", "kubectl logs -f vault-0 -c audit",
                  "sh -c 'cat /var/log/vault/audit.log'"):
        assert mask_command(plain) == plain


def test_the_evidence_configuration_withholds_a_url_s_credentials_in_every_setting() -> None:
    """An object store's URL with user:password@ in retention_archive, seal_archive or log was copied into
    evidence.json as written (red team rt25, F3); each setting now loses its credentials, and keeps the rest."""
    password = "pw-" + secrets.token_hex(8)
    settings = Settings(log=f"s3://AKIAEXAMPLE:{password}@audit-bucket/vault/audit.log",
                        retention_archive=(f"s3://AKIAEXAMPLE:{password}@audit-bucket/archive/",),
                        seal_archive=(f"https://ops:{password}@files.example/seal/",))
    doc = build(AuditResult(settings=settings, target="offline", run_id="", checks=[], outcomes=[]))
    shown = json.dumps(doc)
    assert password not in shown and "AKIAEXAMPLE" not in shown
    assert doc["configuration"]["retention_archive"] == ["s3://<credentials>@audit-bucket/archive/"]
    assert doc["configuration"]["seal_archive"] == ["https://<credentials>@files.example/seal/"]


def _strict(text: str) -> Any:
    """JSON as a strict reader takes it: a lone surrogate escape names no character (RFC 8259, 8.2)."""
    def check(s: str) -> str:
        assert not re.search("[\ud800-\udfff]", s), repr(s)
        return s

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            check(v)
        elif isinstance(v, dict):
            for k, x in v.items():
                check(k)
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        return v

    return walk(json.loads(text))


@pytest.mark.skipif(sys.platform != "linux", reason="a file name of bytes that are no UTF-8")
def test_json_reports_write_no_lone_surrogate_for_a_file_name_of_no_utf8(tmp_path: Path) -> None:
    """A file name with bytes that are no UTF-8 reaches Python as lone surrogates; json.dumps wrote them as
    \\udcff escapes, which strict readers refuse. Every JSON report now shows them as the other reports do."""
    log = _with_paths(tmp_path, [])
    name = os.fsencode(str(tmp_path)) + b"/bad\xff-audit.log"
    os.rename(log, name)
    proc = _verify(tmp_path, os.fsdecode(name))
    assert proc.returncode == 0, proc.stderr
    texts = _outputs(tmp_path, proc)
    for report in ("out/r.json", "out/r.sarif", "out/ev/evidence.json"):
        doc = _strict(texts[report])
        assert "bad\\\\udcff-audit.log" in json.dumps(doc), report
    answer = _cli(tmp_path, "access", "secret/*", os.fsdecode(name), "--json", "-")
    assert answer.returncode == 0, answer.stderr
    assert _strict(answer.stdout)["files"][0]["file"].endswith("bad\\udcff-audit.log")
    from pytest_auditready.text import json_ready

    assert json_ready({"k\udcff": ["a\ud800", 1]}) == {"k\\udcff": ["a\\ud800", 1]}


def test_the_verify_terminal_redacts_a_canary_a_finding_quotes(tmp_path: Path) -> None:
    """An access_policy finding quotes the request path; a path that holds a canary's base64 used to reach the
    terminal of `auditready verify` as logged (the reports redacted, the terminal did not)."""
    canary = "Canary-" + secrets.token_hex(20)
    b64 = base64.b64encode(canary.encode()).decode()
    _with_paths(tmp_path, [f"secret/data/{b64}"])
    (tmp_path / "canaries.txt").write_text(canary + "\n")
    (tmp_path / "pyproject.toml").write_text(CONFIG + '\n[[tool.auditready.access.rules]]\npaths = ["secret/data/*"]\n'
                                             'operations = ["read"]\nidentities = ["nobody"]\n')
    proc = _cli(tmp_path, "verify", "audit.log", "--canaries", "canaries.txt", "-j1", "--junit", "c.xml",
                "--evidence", "ev")
    assert proc.returncode == 1, proc.stderr
    assert "FAIL access_policy" in proc.stdout and "read of secret/data/<canary:1>" in proc.stdout
    assert b64.rstrip("=") not in proc.stdout + proc.stderr and canary not in proc.stdout + proc.stderr
    # the compliance JUnit stays well-formed XML, the name written escaped (red team rt22: a raw "<canary:1>" in an
    # attribute broke every reader of it); so does report.html's
    import xml.etree.ElementTree as ET

    junit = (tmp_path / "c.xml").read_text()
    ET.fromstring(junit)
    assert "secret/data/&lt;canary:1&gt;" in junit and b64.rstrip("=") not in junit
    report = (tmp_path / "ev" / "report.html").read_text()
    assert "<canary:1>" not in report and b64.rstrip("=") not in report


def test_the_mapping_names_only_controls_the_check_gives_evidence_for() -> None:
    """PCI DSS 3.3.1 is sensitive authentication data (a card's security code, PIN, track data: README says no
    check can tell it), not credentials in a log; NIST AC-7 limits unsuccessful logon attempts, which a log of
    denied secret reads says nothing of. Every requirement id has its framework's public shape."""
    from pytest_auditready import compliance

    shapes = {"SOC 2": r"CC\d\.\d", "ISO/IEC 27001:2022": r"A\.[5-8]\.\d+", "PCI DSS v4.0.1": r"\d+(\.\d+)+",
              "NIST SP 800-53": r"[A-Z]{2}-\d+(\(\d+\))?", "GDPR": r"Art\. \d+(\(\d+\))?(\([a-z]\))?"}
    for fw, body in compliance.frameworks().items():
        for req in body["requirements"]:
            assert re.fullmatch(shapes[fw], req), (fw, req)
    labels = {c.label for c in compliance.controls_for("no_secret_leak")}
    assert not any("3.3.1" in label for label in labels)
    assert not any(label.endswith("AC-7") for label in {c.label for c in compliance.controls_for(
        "denied_access_logged")})
    assert any("8.3.2" in label for label in labels)


def test_a_file_whose_name_ends_in_a_line_number_is_located_as_itself(tmp_path: Path) -> None:
    """A finding on a whole file (tamper_evidence: no digest chain) names the file alone; a file called "x.log:3"
    was taken for line 3 of "x.log", a file that does not exist, in SARIF and in the annotation."""
    log = _with_paths(tmp_path, [])
    log.rename(tmp_path / "x.log:3")
    (tmp_path / "pyproject.toml").write_text("[tool.auditready]\nretention_days = 0\n")
    proc = _verify(tmp_path, "x.log:3")
    assert proc.returncode == 1, proc.stderr
    results = json.loads((tmp_path / "out" / "r.sarif").read_text())["runs"][0]["results"]
    tamper = [r for r in results if r["ruleId"] == "tamper_evidence"]
    assert tamper and all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "x.log%3A3"
                          and r["properties"]["wholeFile"] for r in tamper)
    annotation = [line for line in proc.stdout.splitlines() if line.startswith("::error ")
                  and "tamper_evidence" in line]
    assert annotation and annotation[0].startswith("::error file=x.log%3A3,title=")


def test_a_file_name_that_is_no_utf8_is_located_by_its_bytes_in_sarif(tmp_path: Path) -> None:
    """A SARIF uri is a URI reference with its bytes percent-encoded (RFC 3986): a name's byte 0xFF is %FF, not the
    text of the escape a person is shown ("%5Cudcff", a file that does not exist: red team rt32, F10)."""
    log = _with_paths(tmp_path, [])
    name = os.fsdecode(b"audit-\xff.log")
    log.rename(tmp_path / name)
    (tmp_path / "pyproject.toml").write_text("[tool.auditready]\nretention_days = 0\n")
    proc = _verify(tmp_path, name)
    assert proc.returncode == 1, proc.stderr
    results = json.loads((tmp_path / "out" / "r.sarif").read_text())["runs"][0]["results"]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert uris == {"audit-%FF.log"}, uris


def test_a_noncharacter_in_a_path_is_shown_as_an_escape_in_every_report(tmp_path: Path) -> None:
    """XML 1.0 cannot hold U+FFFE or U+FFFF: the JUnit writer dropped them (and other noncharacters) silently, so
    the compliance report quoted another path than the other reports. Noncharacters are now shown as escapes."""
    import xml.etree.ElementTree as ET

    _with_paths(tmp_path, ["secret/data/n-\ufffe\uffff-\U0010ffff-\ufdd0-end"])
    (tmp_path / "pyproject.toml").write_text(CONFIG + '\n[[tool.auditready.access.rules]]\npaths = ["secret/data/*"]\n'
                                             'operations = ["read"]\nidentities = ["nobody"]\n')
    proc = _verify(tmp_path, "audit.log")
    assert proc.returncode == 1, proc.stderr
    shown = "secret/data/n-\\ufffe\\uffff-\\U0010ffff-\\ufdd0-end"
    failure = next(tc for tc in ET.parse(tmp_path / "out" / "c.xml").iter("testcase")
                   if tc.get("name") == "access_policy").find("failure")
    assert failure is not None and shown in (failure.text or "")
    assert shown in proc.stdout
    sarif = json.loads((tmp_path / "out" / "r.sarif").read_text())["runs"][0]["results"]
    assert any(shown in r["message"]["text"] for r in sarif)


def test_evidence_lists_the_unreadable_lines_its_accounting_counts(tmp_path: Path) -> None:
    """An offline run's evidence.json said "unreadable_lines": [] beside an accounting of 1 unreadable line (the
    offline reader keeps only the count): the bundle now names each file's unreadable lines and their count."""
    log = _with_paths(tmp_path, [])
    lines = log.read_text().splitlines()
    log.write_text("\n".join([*lines[:5], '{"time": "2026-01-01T00:00:00Z", "type": "requ', *lines[5:]]) + "\n")
    proc = _verify(tmp_path, "audit.log")
    assert proc.returncode == 1, proc.stderr
    ev = json.loads((tmp_path / "out" / "ev" / "evidence.json").read_text())
    assert ev["accounting"][0]["unreadable_lines"] == 1
    assert ev["log"]["unreadable_line_count"] == 1
    assert [u["where"] for u in ev["log"]["unreadable_lines"]] == ["audit.log"]
    findings = json.loads((tmp_path / "out" / "r.json").read_text())["outcomes"]
    assert any(f["where"] == "audit.log:6" for o in findings for f in o["findings"])


def test_a_short_token_is_redacted_only_where_it_stands_alone() -> None:
    """A dev server's token ("root") or a one-letter test token: replaced inside words, it garbled every line and
    showed, by the letters missing, what it was ("fi<token:admin>st")."""
    from pytest_auditready.text import redact

    assert redact("first the root token: root; rooted", {"token:admin": "root"}) == \
        "first the <token:admin> token: <token:admin>; rooted"
    assert redact("fix: start it, x", {"token:admin": "x"}) == "fix: start it, <token:admin>"
    long = "hvs.CAESIJ" + "a1B2" * 20
    assert redact(f"id{long}z {long}", {"token:admin": long}) == "id<token:admin>z <token:admin>"


def test_a_quote_cut_inside_a_known_secret_shows_none_of_it() -> None:
    """A finding quotes 40 or 60 characters of a value: a canary after 30 other characters was shown 30 of its 35
    characters, as redaction matched whole spellings only (red team rt22). Its first 12 characters or more, where
    a quote ends, are its name; a short prefix alone (a common word) is left as it is."""
    from pytest_auditready.text import redact

    known = {"canary:1": "CANARYrt22-Zq8vP3xW9mT4kL7nB2cR6yH1"}
    value = "x" * 30 + known["canary:1"]
    quoted = f"The request entry names {value[:60]!r} as its source address."
    shown = redact(quoted, known)
    assert "Zq8vP3xW9" not in shown and "<canary:1>..." in shown, shown
    assert redact("CANARYrt22-Z", known) == "<canary:1>..."
    assert redact("CANARYrt22 and more", known) == "CANARYrt22 and more"  # 10 characters: no secret's own


def test_a_credential_a_client_wrote_as_its_source_address_reaches_no_report(tmp_path: Path) -> None:
    """A listener that trusts X-Forwarded-For logs the header's text as remote_address; required_fields quotes a
    source that is no address, and the access review lists it: a credential there reached every report in full
    (red team rt22), and a credential URL in a path did through access_policy. Shown by kind and fingerprint, as
    no_secret_leak names it."""
    token = _token()
    lines = FIXTURE.read_text().splitlines()
    out = []
    for line in lines:
        d = json.loads(line)
        if d.get("request", {}).get("remote_address"):
            d["request"]["remote_address"] = token
        out.append(json.dumps(d, separators=(",", ":")))
    (tmp_path / "audit.log").write_text("\n".join(out) + "\n")
    (tmp_path / "audit.log").chmod(0o600)
    _with_paths(tmp_path, ["secret/data/https://admin:" + "pw" + secrets.token_hex(8) + "@db.example/x"], "paths.log")
    password = json.dumps((tmp_path / "paths.log").read_text()).split("admin:")[1].split("@")[0]
    (tmp_path / "pyproject.toml").write_text(CONFIG + '\n[[tool.auditready.access.rules]]\npaths = ["secret/data/*"]\n'
                                             'operations = ["read"]\nidentities = ["nobody"]\n')
    proc = _verify(tmp_path, "audit.log", "paths.log")
    assert proc.returncode == 1, proc.stderr
    texts = _outputs(tmp_path, proc)
    assert "which is no IP address" in proc.stdout and "GitHub Token sha256" in proc.stdout
    for name, text in texts.items():
        assert token not in text and token[4:] not in text, f"the token reached {name}"
        assert password not in text, f"the password reached {name}"
    import xml.etree.ElementTree as ET

    ET.fromstring(texts["out/c.xml"])


def test_a_one_line_error_withholds_a_password_in_a_url(tmp_path: Path) -> None:
    """The refusal of a path it cannot read echoed it whole, a URL's password too (red team rt22)."""
    password = "HttpPassw0rd" + secrets.token_hex(6)
    proc = _cli(tmp_path, "verify", f"https://admin:{password}@example.invalid/x.log")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert password not in proc.stdout + proc.stderr and "https://<credentials>@example.invalid" in proc.stderr


def test_a_log_whose_name_holds_a_backslash_is_read_from_its_folder(tmp_path: Path) -> None:
    """On POSIX a backslash is a byte of a name: rsyslog's per-host files (dynaFile, %HOSTNAME%.log) from a sender
    named "evil\\" give "evil\\.log", which was taken for the hidden file ".log" and left out of the folder without
    a word, its findings with it (red team rt25)."""
    logs = tmp_path / "hosts"
    logs.mkdir()
    for name in ("web1.log", "evil\\.log"):
        (logs / name).write_bytes(FIXTURE.read_bytes())
        (logs / name).chmod(0o600)
    (tmp_path / "pyproject.toml").write_text(CONFIG)
    proc = _cli(tmp_path, "verify", "hosts", "-j1")
    assert "2 file(s)" in proc.stdout and "PASS no_secret_leak hosts/evil" in proc.stdout, proc.stdout


def test_a_sarif_message_shows_a_log_s_brackets_and_braces_as_written() -> None:
    """SARIF plain text reads "[text](uri)" as a link and "{0}" as a placeholder (2.1.0 3.11.5-6): a token metadata
    key from the log was a link to an attacker's page in a code scanning viewer (red team rt25)."""
    from pytest_auditready.report.sarif import _plain

    said = _plain("under key 'see [the runbook](https://evil.example/phish) {0}'")
    assert said == "under key 'see \\[the runbook\\](https://evil.example/phish) {{0}}'"
    assert "[the" not in said.replace("\\[the", "")
