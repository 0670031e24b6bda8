"""Which format is this? Junk, wrong formats and producers the tool does not know (red team rt62, F1-F6), and a
CloudTrail caller written as a placeholder (a follow-up of rt57 F2).

F1: text that starts with "<" was taken for a JSONx device's log, and the fix changed the vault's audit device: an
HTTP error page or an object store's XML error document saved in place of the log (a download that saved the
server's answer to a refused request) is named as such, with the way to fetch the log again; JSONx stays JSONx.
F2: a JSON log of no known producer that a shipper carries as text (Fluent Bit's ``log``, a ``message``, ``_raw``,
``line``, ``_source.message``) was sent to a field_map, which no path can reach into a string: the refusal names the
shipper's field and the jq that gets the lines out. F3: a capture of a real OpenBao 2.7.2 server's output streams
(a device with file_path = "stdout") was refused or failed required_fields ("the entry written here was removed")
by the mix of its lines: the server's own lines are left out and counted whatever the mix, as the CRI and Docker
framings leave them out, and any other blank line is still an entry removed. F4: `aws logs tail --format short`
(a whole-second time before each line) is read as a time-prefixed framing. F5: every fix command reads the file as
it is kept (zcat, bzcat, xzcat by content, never iconv or jq on compressed bytes) and names the file. F6: "judged
nothing" and retention speak the format's terms; a Vault or OpenBao agent's log is named as an agent's. Item 7: a
CloudTrail caller or source that a hop wrote as "-" is no caller (access lists none named "-").

Each test judges the correct input (read, no finding; or the right refusal) and the defect at its line.
"""

from __future__ import annotations

import base64
import bz2
import copy
import gzip
import json
import lzma
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import FAILED, Check, Tally, verdicts
from pytest_auditready.cli import main
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import offline_checks, verify_file
from pytest_auditready.offline.reader import BLOCK, CloudTrailReader

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CLEAN = FIXTURES / "openbao" / "clean.log"
ENTRIES = CLEAN.read_bytes().rstrip(b"\n").split(b"\n")
OFFLINE = offline_checks(BUILTIN)
SETTINGS = Settings(require_tamper_evidence=False, retention_days=0)
CONFIG = "[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n"


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def _run(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str, config: str = CONFIG) -> tuple[int, str]:
    """``auditready ARGS`` with ``config`` as its settings: the exit code and what it printed (stdout, stderr)."""
    cfg = tmp_path / "auditready.toml"
    cfg.write_text(config)
    capsys.readouterr()
    code = main([*args, "--config", str(cfg)])
    out = capsys.readouterr()
    return code, out.out + out.err


def _refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], log: Path, config: str = CONFIG) -> str:
    """The one line `verify` and `access` refuse ``log`` with (both exit 2, saying the same; where verify's way out
    is a field_map, access names its own: it reads no generic JSON lines, red team rt86 F3)."""
    code, said = _run(tmp_path, capsys, "verify", str(log), config=config)
    assert code == 2 and len(said.strip().splitlines()) == 1, said
    code, again = _run(tmp_path, capsys, "access", "secret/*", str(log), config=config)
    cause, _, fix = said.strip().partition("; fix: ")
    access_cause, _, access_fix = again.strip().partition("; fix: ")
    if "field_map" in fix:
        assert code == 2 and cause.startswith(access_cause), again
        assert "answers from the audit logs of a Vault/OpenBao server" in access_fix, again
    else:
        assert code == 2 and again.strip() == said.strip(), again
    return said.strip()


def _clean_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The correct setup beside each refusal: the vault's own audit file is read and holds."""
    code, said = _run(tmp_path, capsys, "verify", str(_write(tmp_path / "audit.log", CLEAN.read_bytes())))
    assert code == 0, said


# -- F1: an error page or error document saved in place of the log ---------------------------------------------
NGINX_502 = (b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n<body><center><h1>502 Bad Gateway"
             b"</h1></center><hr><center>nginx/1.25.3</center></body></html>\n")
PAGES = {
    "nginx-502": NGINX_502,
    "nginx-404-crlf": (b"<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found"
                       b"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"),
    "apache-403": (b'<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>403 Forbidden</title>\n'
                   b"</head><body>\n<h1>Forbidden</h1>\n<p>You don't have permission to access this resource.</p>\n"
                   b"</body></html>\n"),
    "xhtml-sign-in": (b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
                      b'"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n<html xmlns="http://www.w3.org/1999/xhtml">'
                      b"<head><title>Sign in</title></head><body><form></form></body></html>\n"),
}
# The error documents S3, Google Cloud Storage's XML API, Azure Storage (after a byte-order mark) and STS answer a
# refused request with, as their documentation shows them.
DOCUMENTS = {
    "s3": (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message>'
           b"<RequestId>4442587FB7D0A2F9</RequestId><HostId>vWnzsHTHdiq8mR2Mw8RPY9tlKVw=</HostId></Error>", "AccessDenied"),
    "gcs": (b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>NoSuchKey</Code><Message>The specified key does not "
            b"exist.</Message><Details>No such object: logs/audit.log</Details></Error>", "NoSuchKey"),
    "azure": (('\ufeff<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code><Message>Server '
              "failed to authenticate the request.\nRequestId:0f3f1b2e-601e-0031-6d6b-123456000000\nTime:2026-12-05T23:"
              "08:00.0000000Z</Message><AuthenticationErrorDetail>Signature did not match.</AuthenticationErrorDetail>"
              "</Error>").encode(), "AuthenticationFailed"),
    "sts": (b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n  <Error>\n    <Type>Sender</Type>\n'
            b"    <Code>ExpiredToken</Code>\n    <Message>The security token included in the request is expired</Message>"
            b"\n  </Error>\n  <RequestId>a8f3ce5e-1a2b-4c3d-9e8f-0123456789ab</RequestId>\n</ErrorResponse>\n",
            "ExpiredToken"),
}
# JSON error answers saved the same way: Vault's and OpenBao's API, Google's JSON API, an AWS JSON API, Kubernetes.
ANSWERS = {
    "openbao": b'{"errors":["1 error occurred:\\n\\t* permission denied\\n\\n"]}\n',
    "vault": b'{"errors":["permission denied"]}\n',
    "gcs-json": b'{"error": {"code": 403, "message": "Access denied.", "errors": [{"message": "Access denied.", '
                b'"domain": "global", "reason": "forbidden"}]}}\n',
    "aws-json": b'{"__type":"AccessDeniedException","message":"User is not authorized to perform: logs:GetLogEvents"}\n',
    "kubernetes": b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"forbidden",'
                  b'"reason":"Forbidden","details":{},"code":403}\n',
}


@pytest.mark.parametrize("page", list(PAGES))
@pytest.mark.parametrize("packed", [False, True], ids=["plain", "gzip"])
def test_an_http_error_page_saved_as_the_log_is_named_with_the_way_to_fetch_it_again(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], page: str, packed: bool) -> None:
    """Before: "holds XML ... (an audit device with format = "jsonx"?); fix: set the audit device's format to
    "json"", a change to the vault for a download that saved a proxy's error page."""
    data = gzip.compress(PAGES[page]) if packed else PAGES[page]
    said = _refused(tmp_path, capsys, _write(tmp_path / ("audit.log.gz" if packed else "audit.log"), data))
    assert "holds an HTML page" in said and "holds no audit entry" in said and "curl --fail" in said, said
    assert "jsonx" not in said.lower() and "audit device's format" not in said
    _clean_passes(tmp_path, capsys)


@pytest.mark.parametrize("store", list(DOCUMENTS))
def test_an_object_stores_error_document_is_named_with_its_code(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                store: str) -> None:
    body, code = DOCUMENTS[store]
    said = _refused(tmp_path, capsys, _write(tmp_path / "audit.log.gz", gzip.compress(body)))
    assert "an XML error document" in said and f"the code {code}" in said and "fetch the log again" in said, said
    assert "jsonx" not in said.lower()
    assert "RequestId" not in said and "vWnzsHTHdiq8mR2Mw8RPY9tlKVw" not in said  # nothing but the code is shown


@pytest.mark.parametrize("api", list(ANSWERS))
def test_an_apis_json_error_answer_is_named_not_sent_to_a_field_map(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str], api: str) -> None:
    """Before: "JSON lines of no known audit format ... set log_format = "jsonl" and field_map"."""
    said = _refused(tmp_path, capsys, _write(tmp_path / "audit.log", ANSWERS[api]))
    assert "error answer" in said and "holds no audit entry" in said and "field_map" not in said, said
    assert "permission denied" not in said and "forbidden" not in said.lower()  # the answer's words are not shown


def test_jsonx_is_still_named_as_the_vault_devices_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Vault's jsonx device (its documented shape: one XML document a line); OpenBao has none (2.7.2: "jsonx
    formatting has been removed")."""
    line = ('<?xml version="1.0" encoding="UTF-8"?><json:object xmlns:json="http://www.ibm.com/xmlns/prod/2009/jsonx">'
            '<json:string name="time">2026-12-05T23:08:11.76963609Z</json:string><json:string name="type">request'
            "</json:string></json:object>\n")
    said = _refused(tmp_path, capsys, _write(tmp_path / "audit.log", (line * 3).encode()))
    assert 'format = "jsonx"' in said and "OpenBao has no JSONx" in said and 'format to "json"' in said, said


def test_other_xml_names_its_root_and_no_device_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    said = _refused(tmp_path, capsys, _write(tmp_path / "audit.log", b'<?xml version="1.0"?>\n<events><event '
                                                                     b'id="1"/></events>\n'))
    assert "its root element <events>" in said and "jsonx" not in said.lower(), said


# -- F2: a JSON log of no known producer carried as text by a shipper --------------------------------------------
def _producer(i: int) -> dict[str, Any]:
    """An entry of a secrets manager's audit log the tool has no format for (Akeyless-like), read by FIELD_MAP."""
    return {"timestamp": f"2026-12-05T23:08:{i:02d}.123Z", "actor": {"access_id": "p-abcd1234", "type": "api_key"},
            "action": "get-secret-value", "item_name": "/prod/db", "status": "success", "client_ip": "10.0.0.5",
            "request_id": f"req-{i}"}


FIELD_MAP = ('log_format = "jsonl"\nfield_map = {time = "timestamp", identity = "actor.access_id", resource = '
             '"item_name", action = "action", result = "status", source = "client_ip", request_id = "request_id"}\n')
# How each shipper keeps the line it read (the keys around it as each writes them), and the field's jq path.
SHIPPERS: dict[str, tuple[Callable[[str, int], dict[str, Any]], str]] = {
    "fluent-bit": (lambda line, i: {"date": 1765000000.0 + i, "log": line}, "log"),
    "vector": (lambda line, i: {"file": "/var/log/app/audit.log", "host": "app-0", "message": line,
                                "source_type": "file", "timestamp": f"2026-12-05T23:08:{i:02d}.200Z"}, "message"),
    "filebeat": (lambda line, i: {"@timestamp": f"2026-12-05T23:08:{i:02d}.200Z", "log": {"offset": i * 200, "file": {
        "path": "/var/log/app/audit.log"}}, "message": line, "input": {"type": "filestream"}}, "message"),
    "splunk": (lambda line, i: {"_time": f"2026-12-05T23:08:{i:02d}.200+00:00", "host": "app-0", "_raw": line}, "_raw"),
    "loki": (lambda line, i: {"labels": {"job": "audit"}, "line": line, "timestamp": f"2026-12-05T23:08:{i:02d}Z"},
             "line"),
    "elasticsearch": (lambda line, i: {"_index": "audit", "_id": str(i), "_source": {
        "@timestamp": f"2026-12-05T23:08:{i:02d}.200Z", "message": line}}, "_source.message"),
}


def _carried_out(path: Path, field: str) -> bytes:
    """What `jq -c '.FIELD | fromjson' FILE` writes: each carried line's object, compact, one a line."""
    out = []
    for raw in path.read_bytes().splitlines():
        value: Any = json.loads(raw)
        for key in field.split("."):
            value = value[key]
        out.append(json.dumps(json.loads(value), separators=(",", ":")).encode())
    return b"\n".join(out) + b"\n"


@pytest.mark.parametrize("shipper", list(SHIPPERS))
@pytest.mark.parametrize("mapped", [False, True], ids=["no-field-map", "field-map"])
def test_a_producers_json_carried_as_text_names_the_shippers_field_and_the_jq(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], shipper: str, mapped: bool) -> None:
    """Before: "set field_map to the paths this log uses (its entries' keys: date, log)", where no path reaches
    into the text. The command given writes lines that the field_map then reads (zero findings)."""
    wrap, field = SHIPPERS[shipper]
    lines = [json.dumps(wrap(json.dumps(_producer(i), separators=(",", ":")), i)) for i in range(12)]
    log = _write(tmp_path / "shipped.log", "".join(ln + "\n" for ln in lines).encode())
    config = CONFIG + (FIELD_MAP if mapped else "")
    said = _refused(tmp_path, capsys, log, config)
    assert f"kept as text in \"{field}\"" in said and "its entries' keys: timestamp, actor, action" in said, said
    assert f"jq -c '.{field} | fromjson' {log} > {log}.jsonl" in said and "field_map" in said, said
    out = _write(tmp_path / "shipped.log.jsonl", _carried_out(log, field))
    code, report = _run(tmp_path, capsys, "verify", str(out), config=CONFIG + FIELD_MAP)
    assert code == 0, report
    # the same shipper's records of the vault's own lines: read through the shipper framing
    vault = [json.dumps(wrap(e.decode(), i)) for i, e in enumerate(ENTRIES)]
    code, report = _run(tmp_path, capsys, "verify", str(_write(tmp_path / "vault.log", "\n".join(vault).encode())))
    assert code == 0 and "framing taken off: shipper" in report, report


# -- F3: the server's output streams, with its own lines among the entries -----------------------------------------
BANNER = (FIXTURES / "openbao" / "server-stdout" / "openbao-2.7.2.txt").read_bytes().rstrip(b"\n").split(b"\n")
START, SHUTDOWN = BANNER[:-1], BANNER[-1:]  # the start-up banner (a blank line before it), "==> ... shutdown"
# OpenBao 2.7.2's own log as `bao server -dev` writes it (stderr, captured with stdout), in its text and JSON formats
HCLOG = [
    b'2026-12-05T23:12:23.922Z [INFO]  proxy environment: http_proxy="" https_proxy="" no_proxy=""',
    b"2026-12-05T23:12:23.922Z [WARN]  no `api_addr` value specified in config or in BAO_API_ADDR; falling back to "
    b"detection if possible, but this value should be manually set",
    b"2026-12-05T23:12:23.923Z [INFO]  core: Initializing version history cache for core",
    b"2026-12-05T23:12:23.925Z [INFO]  core: security barrier not initialized",
    b"2026-12-05T23:12:24.167Z [INFO]  core: enabled audit backend: path=file/ type=file",
    b"2026-12-05T23:12:36.707Z [INFO]  secrets.kv.kv_d4c6efbb: upgrading keys finished",
    *(FIXTURES / "openbao" / "server-stdout" / "openbao-2.7.2-json.txt").read_bytes().splitlines()[:4],
]


def _dev_notice(unseal_key: Optional[str]) -> list[bytes]:
    """OpenBao 2.7.2's dev-mode notice on stdout, as `bao server -dev` prints it (a blank line before it)."""
    return [b"", b"WARNING! dev mode is enabled! In this mode, OpenBao runs entirely in-memory",
            b"and starts unsealed with a single unseal key. The root token is already",
            b"authenticated to the CLI, so you can immediately begin using OpenBao.", b"",
            b"You may need to set the following environment variables:", b"",
            b"    $ export BAO_ADDR='http://127.0.0.1:50429'", b"",
            b"The unseal key and root token are displayed below in case you want to",
            b"seal/unseal the Vault or re-authenticate.", b"",
            *([f"Unseal Key: {unseal_key}".encode()] if unseal_key else []), b"Root Token: root", b"",
            b"Development mode should NOT be used in production installations!", b""]


def capture(server_lines: int, unseal_key: Optional[str] = None, first: int = 3) -> list[bytes]:
    """`bao server -dev > FILE 2>&1` of a server whose audit device writes to stdout: ``first`` lines of its log,
    its banner and dev notice, then the entries with the rest of its ``server_lines`` lines among them, then its
    shutdown."""
    log = [HCLOG[i % len(HCLOG)] for i in range(server_lines)]
    head, among = log[:first], log[first:]
    after: dict[int, list[bytes]] = {}  # the entry each of the others follows, spread over the run
    for k, line in enumerate(among):
        after.setdefault(k * len(ENTRIES) // len(among), []).append(line)
    body = [ln for i, entry in enumerate(ENTRIES) for ln in (entry, *after.get(i, ()))]
    return [*head, *START, *_dev_notice(unseal_key), *body, *SHUTDOWN, HCLOG[0]]


def _judged(path: Path) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """The findings of `verify` on ``path``, by failed check, and its accounting."""
    res = verify_file(str(path), SETTINGS, OFFLINE, {})
    return ({o.check_id: [f.text() for f in o.findings] for o in res.outcomes if o.status == FAILED},
            res.accounting())


@pytest.mark.parametrize("server_lines,first", [(400, 3), (40, 3), (6, 3), (700, 500)],
                         ids=["mostly-server", "some", "few", "a-long-start"])
def test_the_servers_output_streams_are_read_with_its_own_lines_left_out_whatever_the_mix(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], server_lines: int, first: int) -> None:
    """Before: refused when the server's lines led the file's first 256 KiB, and failed required_fields ("the entry
    written here was removed ... find what rewrites or truncates the log") for its banner's blank lines once the
    entries led. One answer now, as for a CRI or Docker file of the same stream (also where the server logs more
    lines at its start than the format is told from)."""
    lines = capture(server_lines, first=first)
    log = _write(tmp_path / "vault-0.log", b"\n".join(lines) + b"\n")
    found, acc = _judged(log)
    assert found == {}
    assert acc["entries"] == len(ENTRIES) and acc["unreadable_lines"] == 0
    assert acc["framing"] == "merged" and acc["left_out"] == len(lines) - len(ENTRIES)
    code, said = _run(tmp_path, capsys, "verify", str(log))
    assert code == 0 and f"{len(lines) - len(ENTRIES)} lines of the vault's own server log" in said, said
    code, said = _run(tmp_path, capsys, "access", "secret/*", str(log))
    assert code == 0, said
    # with no entry among them, the server's own lines are its log named by mistake: refused, as before
    said = _refused(tmp_path, capsys, _write(tmp_path / "openbao.log", b"\n".join(HCLOG * 4) + b"\n"))
    assert "holds the vault server's own log" in said and "bao audit list -detailed" in said, said


def test_the_dev_servers_unseal_key_is_left_out_and_still_found(tmp_path: Path) -> None:
    """What is left out is still in the file: the dev notice's unseal key is a no_secret_leak finding at its line,
    never shown."""
    key = base64.b64encode(os.urandom(32)).decode()
    lines = capture(20, unseal_key=key)
    found, acc = _judged(_write(tmp_path / "vault-0.log", b"\n".join(lines) + b"\n"))
    at = next(i for i, ln in enumerate(lines, 1) if ln.startswith(b"Unseal Key: "))
    assert list(found) == ["no_secret_leak"] and f"vault-0.log:{at}]" in found["no_secret_leak"][0], found
    assert key not in json.dumps(found) and key[:12] not in json.dumps(found)
    assert acc["left_out"] == len(lines) - len(ENTRIES)


def _blank_at(lines: list[bytes], where: Callable[[list[bytes]], int], replace: bool) -> tuple[list[bytes], int]:
    """``lines`` with a blank line at the index ``where`` picks (in place of the line there, or inserted): the 1-based
    line it is on."""
    out, i = lines[:], where(lines)
    if replace:
        out[i] = b""
    else:
        out.insert(i, b"")
    return out, i + 1


@pytest.mark.parametrize("case", ["entry-blanked", "after-a-log-line", "a-second-after-the-notice"])
def test_a_blank_line_that_is_no_part_of_the_servers_output_is_still_an_entry_removed(tmp_path: Path,
                                                                                      case: str) -> None:
    """The server writes one blank line at a time, in and around its banner and dev notice: any other blank line
    stands where an entry was removed, a required_fields finding at its line (and only there)."""
    lines = capture(40)
    first_entry = next(i for i, ln in enumerate(lines) if ln.startswith(b'{"time"'))
    if case == "entry-blanked":  # an entry of the middle, its line left blank
        bad, at = _blank_at(lines, lambda ls: first_entry + 40, replace=True)
    elif case == "after-a-log-line":
        log_line = next(i for i, ln in enumerate(lines) if i > first_entry and ln.startswith(b"2026-"))
        bad, at = _blank_at(lines, lambda ls: log_line + 1, replace=False)
    else:  # the dev notice ends with one blank line; a second one there is no one's
        end = lines.index(b"Development mode should NOT be used in production installations!")
        bad, at = _blank_at(lines, lambda ls: end + 2, replace=False)
    found, acc = _judged(_write(tmp_path / "vault-0.log", b"\n".join(bad) + b"\n"))
    removed = [t for t in found.get("required_fields", ()) if "the entry written here was removed" in t]
    assert len(removed) == 1 and f"vault-0.log:{at}]" in removed[0], found
    assert acc["unreadable_lines"] == 1
    if case != "entry-blanked":
        assert found == {"required_fields": removed}


def test_a_blank_line_of_the_banner_at_a_blocks_end_is_told_by_the_line_after_it(tmp_path: Path) -> None:
    """A restart's banner opens with a blank line: where the file's 512 KiB blocks part right after that line, the
    next block's "==> ..." still tells it is the server's (a block never ends with an undecided blank line)."""
    head = capture(10)[:-(len(SHUTDOWN) + 1)]
    size = len(b"\n".join(head)) + 1
    filler: list[bytes] = []
    while size < BLOCK - 8000:  # (an entry of clean.log is shorter than 4 KiB)
        line = ENTRIES[len(filler) % len(ENTRIES)]
        filler.append(line)
        size += len(line) + 1
    pad = b"2026-12-05T23:12:40.000Z [INFO]  core: " + b"x" * (BLOCK - 1 - size - len(b"2026-12-05T23:12:40.000Z [INFO]"
                                                                                       b"  core: ") - 1)
    first = [*head, *filler, pad]
    assert len(b"\n".join(first)) + 1 == BLOCK - 1  # then the restart banner's blank line ends the block
    lines = [*first, *START, *ENTRIES[:2], *SHUTDOWN]
    log = _write(tmp_path / "vault-0.log", b"\n".join(lines) + b"\n")
    assert log.read_bytes()[BLOCK - 1:BLOCK + 3] == b"\n==>"
    found, acc = _judged(log)
    assert [t for t in found.get("required_fields", ()) if "removed" in t] == []
    assert acc["unreadable_lines"] == 0 and acc["entries"] == len(ENTRIES) + len(filler) + 2


def _api(url: str, method: str, path: str, body: Optional[dict[str, Any]] = None) -> None:
    """One request to a dev server (its root token "root"), which must succeed."""
    import urllib.request

    req = urllib.request.Request(f"{url}/v1/{path}", method=method, headers={"X-Vault-Token": "root"},
                                 data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(req, timeout=10) as answer:
        assert answer.status in (200, 204)


@pytest.mark.vault
def test_a_real_openbao_servers_captured_streams_are_read(tmp_path: Path) -> None:
    """`bao server -dev > FILE 2>&1` of a real OpenBao whose audit device writes to stdout, then requests and a
    stop: its entries are read and nothing else is a finding but the dev notice's unseal key (left out, scanned)."""
    import socket
    import time

    from pytest_auditready.vault.embedded import child_env, find_bao

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    config = home / "server.hcl"
    config.write_text("unsafe_allow_api_audit_creation = true\n")  # (OpenBao 2: devices come from the config file)
    log = tmp_path / "combined.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([find_bao(), "server", "-dev", "-dev-root-token-id=root", "-dev-no-store-token",
                                 f"-dev-listen-address=127.0.0.1:{port}", f"-config={config}"], stdout=out,
                                stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=child_env(home), start_new_session=True)
        try:
            deadline = time.monotonic() + 30
            while True:  # until it answers (about 0.2 s) and has printed its dev notice, which it may print after
                try:  # its listener answers (a full run once read the file before the notice was in it)
                    _api(url, "GET", "sys/health")
                    if b"\nUnseal Key: " in log.read_bytes():
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline and proc.poll() is None, log.read_text()[-2000:]
                time.sleep(0.05)
            _api(url, "PUT", "sys/audit/out", {"type": "file", "options": {"file_path": "stdout"}})
            _api(url, "PUT", "secret/data/app", {"data": {"password": "S3cretValueXYZ123"}})
            for _ in range(20):
                _api(url, "GET", "secret/data/app")
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    log.chmod(0o600)
    lines = log.read_bytes().rstrip(b"\n").split(b"\n")
    entries = [ln for ln in lines if ln.startswith(b'{"time":')]
    at = next(i for i, ln in enumerate(lines, 1) if ln.startswith(b"Unseal Key: "))
    found, acc = _judged(log)
    assert list(found) == ["no_secret_leak"] and len(found["no_secret_leak"]) == 1, found
    assert f"combined.log:{at}]" in found["no_secret_leak"][0]
    assert acc["framing"] == "merged" and acc["entries"] == len(entries) > 40 and acc["unreadable_lines"] == 0
    assert acc["left_out"] == len(lines) - len(entries)


# -- F4: `aws logs tail --format short` --------------------------------------------------------------------------
def _short(entries: list[bytes]) -> bytes:
    """aws-cli's ShortLogEventsFormatter: each event's UTC time to the second ("%Y-%m-%dT%H:%M:%S"), a space, the
    message (CloudWatch's event time is when the agent read the line: here the entry's own second)."""
    return b"".join(json.loads(e)["time"][:19].encode() + b" " + e + b"\n" for e in entries)


def test_aws_logs_tail_short_is_read_as_a_time_before_each_line(tmp_path: Path) -> None:
    """Before: "varying text before their JSON objects (e.g. "2026-12-05T23:08:12 ")". Read as the detailed format
    and kubectl's --timestamps are; a defect is found at the same line as in the plain file."""
    found, acc = _judged(_write(tmp_path / "tail.log", _short(ENTRIES)))
    assert found == {} and acc["framing"] == "timestamped" and acc["entries"] == len(ENTRIES)
    k = next(i for i in range(len(ENTRIES) // 2, len(ENTRIES)) if b'"type":"response"' in ENTRIES[i])
    dropped = ENTRIES[:k] + ENTRIES[k + 1:]  # a response a hop dropped
    plain, _ = _judged(_write(tmp_path / "plain.log", b"\n".join(dropped) + b"\n"))
    short, _ = _judged(_write(tmp_path / "short.log", _short(dropped)))
    assert plain and {c: [t.replace("plain.log", "X") for t in ts] for c, ts in plain.items()} == {
        c: [t.replace("short.log", "X") for t in ts] for c, ts in short.items()}


# -- F5: fix commands that run on the file as it is kept ---------------------------------------------------------
def _utf16(_: int) -> bytes:
    return b"".join(e + b"\n" for e in ENTRIES).decode().encode("utf-16")


def _array(_: int) -> bytes:
    return json.dumps([json.loads(e) for e in ENTRIES]).encode()


def _cr(_: int) -> bytes:
    return b"\r".join(ENTRIES) + b"\r"


def _joined(_: int) -> bytes:
    return b"".join(ENTRIES)


def _pretty(_: int) -> bytes:
    return b"\n".join(json.dumps(json.loads(e), indent=2).encode() for e in ENTRIES) + b"\n"


_PACK: dict[str, tuple[Callable[[bytes], bytes], str, str]] = {
    "gzip": (gzip.compress, "zcat", ".gz"), "bzip2": (bz2.compress, "bzcat", ".bz2"), "xz": (lzma.compress, "xzcat",
                                                                                          ".xz")}
# (content, the command that writes it right, the suffix of what it writes)
FIXES = {
    "utf16": (_utf16, "iconv -f UTF-16 -t UTF-8", "utf8"),
    "array": (_array, "jq -c '.[]'", "jsonl"),
    "cr-only": (_cr, "tr '\\r' '\\n'", "lf"),
    "no-newline": (_joined, "jq -c .", "jsonl"),
    "pretty": (_pretty, "jq -c '.'", "jsonl"),
}


def _fixed(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, data: bytes, want: str) -> None:
    """``data`` as the file ``name`` is refused with the command ``want``, which, run in a shell where its tools
    are, writes a file that is read."""
    said = _refused(tmp_path, capsys, _write(tmp_path / name, data))
    assert want in said and "FILE" not in said, said
    if any(shutil.which(tool) is None for tool in (want.split()[0], want.split("| ")[-1].split()[0])):
        return  # (the command is right; it cannot be run here)
    subprocess.run(["sh", "-c", want], check=True, timeout=60)
    written = Path(want.rsplit("> ", 1)[1])
    written.chmod(0o600)
    code, report = _run(tmp_path, capsys, "verify", str(written))
    assert code == 0, report


@pytest.mark.parametrize("content", list(FIXES))
@pytest.mark.parametrize("packing", ["gzip", "bzip2", "xz", "gzip-no-suffix"])
def test_the_fix_command_reads_the_file_as_it_is_kept(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      content: str, packing: str) -> None:
    """Before: iconv, jq and tr on gzip bytes (told by the name only, and for two refusals of ten), and a literal
    FILE. The command given runs in a shell and writes a file that is read; the same name holding the text itself
    gets the command without the decompressor (what a file holds decides, not its name)."""
    make, command, suffix = FIXES[content]
    compress, cat, ext = _PACK[packing.split("-")[0]]
    name = "audit.log" + ("" if packing == "gzip-no-suffix" else ext)
    want = f"{cat} {tmp_path / name} | {command} > {tmp_path}/audit.log.{suffix}"
    _fixed(tmp_path, capsys, name, compress(make(0)), want)
    stdin = "< " if content == "cr-only" else ""
    _fixed(tmp_path, capsys, name, make(0), f"{command} {stdin}{tmp_path / name} > {tmp_path / name}.{suffix}")


@pytest.mark.skipif(shutil.which("zstd") is None, reason="zstd is not installed")
def test_zstd_inside_gzip_is_decompressed_on_one_pipe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Before: "decompress it (zstd -d FILE)", which zstd refuses (the file is gzip)."""
    inner = subprocess.run(["zstd", "-q", "-c"], input=CLEAN.read_bytes(), capture_output=True, check=True,
                           timeout=60).stdout
    log = _write(tmp_path / "audit.log.gz", gzip.compress(inner))
    said = _refused(tmp_path, capsys, log)
    want = f"zcat {log} | zstd -dc > {tmp_path / 'audit.log'}.log"
    assert "zstd-compressed data inside its gzip compression" in said and want in said, said
    subprocess.run(["sh", "-c", want], check=True, timeout=60)
    (tmp_path / "audit.log.log").chmod(0o600)
    assert _run(tmp_path, capsys, "verify", str(tmp_path / "audit.log.log"))[0] == 0


def test_the_servers_log_a_shipper_carried_beside_the_entries_is_left_out(tmp_path: Path) -> None:
    """Before: Fluent Bit's tail of the server's log file beside the audit file was a required_fields finding whose
    fix, grep '^{"time":' FILE, keeps nothing of a file whose every line starts {"date":."""
    records, server = [], 0
    for i, e in enumerate(ENTRIES):
        records.append(json.dumps({"date": 1765000000.0 + i, "log": e.decode(), "file": "/vault/logs/audit.log"}))
        if i % 20 == 5:
            records.append(json.dumps({"date": 1765000000.0 + i, "log": HCLOG[-1 - server % 4].decode(),
                                       "file": "/vault/logs/vault.log"}))
            server += 1
    found, acc = _judged(_write(tmp_path / "fb.log", "\n".join(records).encode() + b"\n"))
    assert found == {} and acc["framing"] == "shipper" and acc["left_out"] == server and server > 3
    records.insert(9, json.dumps({"date": 1765000000.0, "log": "kernel: eth0 link up", "file": "/var/log/syslog"}))
    found, _ = _judged(_write(tmp_path / "fb.log", "\n".join(records).encode() + b"\n"))
    assert list(found) == ["required_fields"] and "fb.log:10]" in found["required_fields"][0]  # anything else: judged


# -- F6: the words of a check that judged nothing, and an agent's log ---------------------------------------------
def _nothing(fmt: str, unreadable: Optional[int], fed: int = 0) -> tuple[str, str]:
    check = Check("required_fields", "t", "r", run=lambda ctx: ())
    (o,) = verdicts(check, [], [""], Tally(fed), "the.log", fmt=fmt, unreadable=unreadable).values()
    assert o.status == FAILED
    (f,) = o.findings
    return f.message, f.fix


@pytest.mark.parametrize("fmt,entry,where", [
    ("cloudtrail", "CloudTrail record", "the trail's log files"),
    ("k8s", "audit event", "the API server's audit log (--audit-log-path)"),
    ("vault", "audit entry", "the audit log the vault's audit device writes"),
    ("jsonl", "entry", "the log its producer writes"),
])
def test_judged_nothing_speaks_the_formats_terms(fmt: str, entry: str, where: str) -> None:
    """Before: "holds no readable audit entry ... point the check at the audit log the vault writes ..., and see
    required_fields for the lines that could not be read", for an empty CloudTrail or Kubernetes file too."""
    message, fix = _nothing(fmt, 0)
    assert f"the.log holds no {entry}, so nothing was judged" in message, message
    assert fix.startswith(f"point the check at {where}") and "required_fields" not in fix, fix
    assert fmt == "vault" or "vault" not in message + fix
    message, fix = _nothing(fmt, 3)
    assert f"no readable {entry}: its 3 line(s) could not be read" in message
    assert fix.endswith("and see required_fields for the lines that could not be read")


def test_judged_nothing_of_a_live_run_and_of_an_unknown_format() -> None:
    message, fix = _nothing("", None)
    assert "vault" not in message + fix and "a line that could not be read is a required_fields finding" in fix


@pytest.mark.parametrize("fmt,body,entry,where", [
    ("cloudtrail", b'{"Records":[]}', "CloudTrail record", "the trail's log files"),
    ("k8s", b"", "audit event", "the API server's audit log"),
    ("vault", b"", "audit entry", "the audit log the vault's audit device writes"),
])
def test_retention_of_an_empty_file_speaks_its_formats_terms(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             fmt: str, body: bytes, entry: str, where: str) -> None:
    log = _write(tmp_path / "empty.json", body)
    code, said = _run(tmp_path, capsys, "verify", "--format", fmt, str(log),
                      config="[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 30\n")
    line = next(ln for ln in said.splitlines() if "No history can be measured" in ln)
    assert code == 1 and f"it holds no {entry}. Fix: point the check at {where}" in line, line
    assert "required_fields" not in line and "timestamp_precision" not in line
    assert fmt == "vault" or "vault" not in line


AGENT_LOGS = {
    "agent-text": b"\n".join(f"2026-12-05T23:08:0{i}.000Z [INFO]  agent.auth.handler: authentication successful, "
                             "sending token to sinks".encode() for i in range(8)),
    "agent-json": b"\n".join(json.dumps({"@level": "info", "@message": "renewed auth token",
                                         "@module": "agent.auth.handler",
                                         "@timestamp": f"2026-12-05T23:08:0{i}.000000Z"}, separators=(",", ":")).encode()
                                  for i in range(8)),
    "proxy-text": b"\n".join(f"2026-12-05T23:08:0{i}.000Z [INFO]  proxy.apiproxy: received request: method=GET "
                             "path=/v1/secret/data/app".encode() for i in range(8)),
}


@pytest.mark.parametrize("kind", list(AGENT_LOGS))
def test_an_agents_own_log_is_named_as_an_agents(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 kind: str) -> None:
    """Before: "the vault server's own log ... fix: verify the file the audit device writes (bao audit list
    -detailed ...)", where an agent or a proxy has no audit device."""
    said = _refused(tmp_path, capsys, _write(tmp_path / "agent.log", AGENT_LOGS[kind] + b"\n"))
    role = kind.split("-")[0]
    assert f"a Vault or OpenBao {role}'s own log" in said and "the vault server the" in said, said
    assert "the vault server's own log" not in said and "audit stanza" not in said


# -- item 7: a CloudTrail caller or source written as a placeholder ------------------------------------------------
def test_a_cloudtrail_caller_written_as_a_placeholder_is_no_caller(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Before: access listed a caller named "-" (the record's identity and source were the placeholder as read)."""
    records = json.loads((FIXTURES / "cloudtrail" / "real" / "correct.json").read_text())["Records"]
    i = next(n for n, r in enumerate(records) if r["userIdentity"].get("type") == "AssumedRole")
    good = CloudTrailReader("t", {}).parse(1, json.dumps(records[i]).encode())
    bad = copy.deepcopy(records[i])
    bad["userIdentity"].update(arn="-", principalId="-")
    bad["sourceIPAddress"] = " N/A "
    rec = CloudTrailReader("t", {}).parse(1, json.dumps(bad).encode())
    assert good.identity.startswith("arn:aws:sts::") and good.source  # type: ignore[union-attr]
    assert (rec.identity, rec.source) == ("", "")  # type: ignore[union-attr]
    records[i] = bad
    log = _write(tmp_path / "trail.jsonl", "".join(json.dumps(r) + "\n" for r in records).encode())
    answer = tmp_path / "access.json"
    code, said = _run(tmp_path, capsys, "access", "*", str(log), "--json", str(answer))
    doc = json.loads(answer.read_text())
    assert code == 0 and "-" not in [ident["display_name"] for ident in doc["identities"]], said
    assert "N/A" not in json.dumps(doc)
    code, said = _run(tmp_path, capsys, "verify", str(log))
    line = next(ln for ln in said.splitlines() if f"trail.jsonl:{i + 1}" in ln and "required_fields" not in ln)
    assert 'userIdentity.arn "-"' in line and 'sourceIPAddress " N/A "' in line, line
