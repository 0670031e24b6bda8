"""`auditready access PATTERN LOG...` (issue 18, item 4): who read, wrote, listed or tried to read the secrets
matching PATTERN. Its answers on real OpenBao traffic equal a count made here, independently, from the raw lines."""

from __future__ import annotations

import fnmatch
import gzip
import json
import subprocess
from pathlib import Path
from typing import Any, Optional

import pytest

from pytest_auditready.vault.client import VaultClient
from tests._native_runs import completed
from tests.conftest import assert_no_secret, remember_secret, server_from_hcl

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def access(*args: str, cwd: Optional[Path] = None) -> subprocess.CompletedProcess[str]:
    """`auditready access ARGS` in a process of its own (a fork of the verify server: tests/_native_runs.py)."""
    return completed(["access", *args], cwd)


def nine(t: str) -> str:
    """An RFC 3339 UTC time with its fraction written to 9 digits (Go trims trailing zeros): text order is time
    order."""
    head, _, frac = t.rstrip("Z").partition(".")
    return f"{head}.{frac:0<9}Z"


def independent_count(paths: list[Path], matches: Any, since: str = "", until: str = "") -> dict[str, Any]:
    """The answer, counted from the raw JSON lines with nothing of the package: identity -> operation -> [requests,
    denied], first and last time, sources. A request counts once (its request entry); it was denied when that
    entry carries an error."""
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for p in paths:
        data = p.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        for raw in data.decode().splitlines():
            e = json.loads(raw)
            req, auth = e.get("request", {}), e.get("auth", {})
            if e.get("type") != "request" or not matches(req.get("path", "")):
                continue
            if (since and nine(e["time"]) < nine(since)) or (until and nine(e["time"]) > nine(until)):
                continue
            key = (auth.get("display_name", ""), auth.get("entity_id", ""))
            who = out.setdefault(key, {"ops": {}, "times": [], "sources": set(), "accessors": set()})
            if auth.get("accessor"):
                who["accessors"].add(auth["accessor"])
            op = who["ops"].setdefault(req["operation"], [0, 0])
            op[0] += 1
            op[1] += bool(e.get("error"))
            who["times"].append(nine(e["time"]))
            who["sources"].add(req.get("remote_address", ""))
    return {k: {"ops": v["ops"], "first": min(v["times"]), "last": max(v["times"]), "sources": v["sources"],
                "accessors": v["accessors"]} for k, v in out.items()}


def as_counted(doc: dict[str, Any]) -> dict[str, Any]:
    """The command's JSON in the shape of ``independent_count``."""
    return {(i["display_name"], i["entity_id"]): {
        "ops": {op: [c["requests"], c["denied"]] for op, c in i["operations"].items()},
        "first": i["first"], "last": i["last"], "sources": set(i["sources"]), "accessors": set(i["accessors"])}
        for i in doc["identities"]}


def app_path(path: str) -> bool:
    """secret/+/app/* by hand: the mount, any one segment, "app", then anything."""
    parts = path.split("/")
    return len(parts) >= 4 and parts[0] == "secret" and parts[2] == "app"


def _token(admin: VaultClient, name: str, policies: list[str]) -> VaultClient:
    r = admin.call("POST", "auth/token/create", {"display_name": name, "policies": policies, "ttl": "15m"})
    assert r.status == 200, r.error
    return admin.with_token(remember_secret(str((r.body or {})["auth"]["client_token"])))


def _reader_and_courier(admin: VaultClient) -> tuple[VaultClient, VaultClient]:
    """A reader of secret/data/app/* and a courier with the default policy only (who may unwrap)."""
    admin.call("PUT", "sys/policies/acl/app-read", {"policy": 'path "secret/data/app/*" { capabilities = ["read"] }'})
    return _token(admin, "reader", ["app-read"]), _token(admin, "courier", ["default"])


@pytest.fixture
def traffic(bao: Any, tmp_path: Path) -> tuple[Any, Path]:
    """A morning of real traffic: a writer creates and rotates app secrets, a reader reads them (some twice), an
    intruder without rights tries, an operator lists; other secrets are written and read beside them."""
    server = bao()
    admin = VaultClient(server.url, server.root_token, timeout=5)
    try:
        admin.call("PUT", "sys/policies/acl/app-write",
                   {"policy": 'path "secret/data/app/*" { capabilities = ["create", "update"] }'})
        admin.call("PUT", "sys/policies/acl/app-read",
                   {"policy": 'path "secret/data/app/*" { capabilities = ["read"] }\n'
                              'path "secret/metadata/app/*" { capabilities = ["read", "list"] }'})
        writer, reader = _token(admin, "writer", ["app-write"]), _token(admin, "reader", ["app-read"])
        intruder = _token(admin, "intruder", ["default"])
        for name in ("db", "api", "smtp"):
            assert writer.call("POST", f"secret/data/app/{name}", {"data": {"v": "a" * 20}}).status == 200
            assert reader.call("GET", f"secret/data/app/{name}").status == 200
        assert writer.call("POST", "secret/data/app/db", {"data": {"v": "b" * 20}}).status == 200
        assert reader.call("GET", "secret/data/app/db").status == 200
        assert reader.call("GET", "secret/metadata/app/db").status == 200
        assert reader.call("LIST", "secret/metadata/app").status == 200
        for name in ("db", "api"):
            assert intruder.call("GET", f"secret/data/app/{name}").status == 403
        assert intruder.call("LIST", "secret/metadata/app").status == 403
        assert admin.call("POST", "secret/data/other/x", {"data": {"v": "c" * 20}}).status == 200
        assert admin.call("GET", "secret/data/other/x").status == 200
    finally:
        admin.close()
    log = tmp_path / "audit.log"
    log.write_bytes(server.log_path.read_bytes())
    return server, log


@pytest.mark.vault
def test_answers_equal_an_independent_count(traffic: tuple[Any, Path], tmp_path: Path) -> None:
    _server, log = traffic
    out = tmp_path / "answer.json"
    r = access("secret/+/app/*", str(log), "--json", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(out.read_text())
    expected = independent_count([log], app_path)
    assert as_counted(doc) == expected
    by_name = {i["display_name"]: i for i in doc["identities"]}
    assert by_name["token-reader"]["operations"]["read"] == {
        "requests": 5, "denied": 0, "outcome_not_logged": 0,
        "first": by_name["token-reader"]["operations"]["read"]["first"],
        "last": by_name["token-reader"]["operations"]["read"]["last"]}
    assert by_name["token-intruder"]["denied"] == 3 and by_name["token-intruder"]["requests"] == 3
    assert by_name["token-writer"]["operations"] == {"create": by_name["token-writer"]["operations"]["create"],
                                                     "update": by_name["token-writer"]["operations"]["update"]}
    assert all(len(i["accessors"]) == 1 and next(iter(i["accessors"])).startswith("hmac-sha256:")
               for i in doc["identities"])
    assert "secret/data/other/x" not in json.dumps(doc)
    assert doc["requests"] == sum(v[0] for who in expected.values() for v in who["ops"].values())
    # the table says the same
    table = r.stdout
    assert "token-intruder" in table and "token-reader" in table and "secret/+/app/*" in table
    assert f"{doc['requests']} requests ({doc['denied']} denied) by {len(expected)} identities" in table
    assert_no_secret(r.stdout + r.stderr + out.read_text())


@pytest.mark.vault
def test_since_until_gzip_folders_and_only_the_pattern(traffic: tuple[Any, Path], tmp_path: Path) -> None:
    _server, log = traffic
    lines = log.read_text().splitlines()
    # the window: from the intruder's first try on (a time read from the log, so no clock is guessed)
    since = next(json.loads(ln)["time"] for ln in lines
                 if '"token-intruder"' in ln and '"type":"request"' in ln and "secret/data/app" in ln)
    folder = tmp_path / "logs"
    folder.mkdir()
    half = len(lines) // 2
    (folder / "audit.log.1.gz").write_bytes(gzip.compress(("\n".join(lines[:half]) + "\n").encode()))
    (folder / "audit.log").write_text("\n".join(lines[half:]) + "\n")
    r = access("secret/data/app/db", str(folder), "--since", since, "--json", "-")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert as_counted(doc) == independent_count([log], lambda p: p == "secret/data/app/db", since=since)
    assert {i["display_name"] for i in doc["identities"]} == {"token-intruder"}
    assert len(doc["files"]) == 2 and sum(f["entries"] for f in doc["files"]) == len(lines)
    # a date alone: the whole day; a window ending before the first entry: no answer (exit 2), not "nobody": the
    # files hold no evidence of that period (red team rt5)
    day = lines[0][9:19]
    r = access("secret/data/app/*", str(log), "--since", day, "--until", day, "--json", "-")
    assert as_counted(json.loads(r.stdout)) == independent_count([log], lambda p: p.startswith("secret/data/app/"))
    assert json.loads(r.stdout)["covers"]["entries_in_period"] == len(lines)
    r = access("secret/data/app/*", str(log), "--until", "2000-01-01", "--json", "-")
    assert r.returncode == 2 and r.stdout == "" and "hold no entry between" in r.stderr, r.stderr
    assert "name the audit log files that cover the period" in r.stderr


def _jsonl(tmp_path: Path) -> Path:
    """JSON lines of no known audit format (an application's log)."""
    p = tmp_path / "app.jsonl"
    p.write_text("".join(json.dumps({"ts": f"2026-01-05T08:00:0{i}Z", "msg": "started", "n": i}) + "\n"
                         for i in range(5)))
    return p


def _azure_records(tmp_path: Path) -> Path:
    """Azure Monitor resource logs in one {"records": [...]} document: generic JSON lines once written out."""
    p = tmp_path / "PT1H.json"
    p.write_text(json.dumps({"records": [{"time": "2026-01-05T08:00:00Z", "category": "AuditEvent",
                                          "operationName": "SecretGet", "resourceId": "/SUBSCRIPTIONS/X"}]}))
    return p


def _field_map(tmp_path: Path) -> Path:
    """Settings that read the JSON lines above through a field_map: verify reads them, access has no requests of a
    known producer to count."""
    p = tmp_path / "auditready.toml"
    p.write_text('[tool.auditready]\nfield_map = {time = "ts", action = "msg"}\n')
    return p


def test_usage_errors_are_exit_2_in_one_line(tmp_path: Path) -> None:
    log = FIXTURES / "openbao" / "clean.log"
    for args, says in ((["secret/*/db", str(log)], "not a Vault policy path glob"),
                       (["secret/*", str(log), "--since", "yesterday"], "--since 'yesterday' is not a time"),
                       (["secret/*", str(log), "--since", "2026-02-01", "--until", "2026-01-01"], "after --until"),
                       (["secret/*", str(_jsonl(tmp_path))], "JSON lines of no known audit format"),
                       (["secret/*", str(_jsonl(tmp_path)), "--config", str(_field_map(tmp_path))],
                        "not a Vault/OpenBao, Kubernetes or CloudTrail audit log"),
                       (["secret/*", str(_azure_records(tmp_path))], "Azure Monitor resource logs"),
                       (["secret/*", str(tmp_path / "nope.log")], "no such file")):
        r = access(*args, cwd=tmp_path)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert says in r.stderr and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
        if any(a.endswith(("app.jsonl", "PT1H.json")) for a in args):  # access's own way out, never verify's
            # (red team rt86 F3: it said to set log_format = "jsonl" and a field_map, then refused that too)
            assert "answers from the audit logs of a Vault/OpenBao server" in r.stderr
            assert 'set log_format = "jsonl"' not in r.stderr, r.stderr


def test_unreadable_lines_make_the_answer_incomplete_exit_1(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes((FIXTURES / "openbao" / "clean.log").read_bytes() + b'{"time": "cut off\n')
    r = access("secret/data/*", str(log), cwd=tmp_path)
    assert r.returncode == 1
    # (token-reader's 8 reads of secrets whose writes were refused: OpenBao answered 404, no data: rt94 F3)
    assert "24 requests (24 denied) by 3 identities" in r.stdout
    assert "1 lines could not be read, so the answer may be incomplete" in r.stderr


@pytest.mark.parametrize("other", ["k8s/audit.log", "cloudtrail/lines/correct.jsonl"])
def test_another_producers_lines_in_a_vault_file_are_unread_not_nobodys(tmp_path: Path, other: str) -> None:
    """A file that mixes producers (a shipper or SIEM export that merged a Vault log with a Kubernetes or CloudTrail
    one) was read whole as a Vault log: the other lines became entries of nobody, and `access` answered "0 requests"
    with exit 0 (red team rt34, F2). They are lines it cannot read, named as the producer's: exit 1; verify names
    each at its line."""
    vault = (FIXTURES / "openbao" / "clean.log").read_text().splitlines(keepends=True)
    source = FIXTURES / other
    foreign = [ln for ln in source.read_text().splitlines(keepends=True) if ln.strip()]
    log = tmp_path / "mixed.log"
    log.write_text("".join(vault[:20] + foreign + vault[20:]))
    log.chmod(0o600)
    r = access("secret/data/*", str(log), cwd=tmp_path)
    assert r.returncode == 1, (r.stdout, r.stderr)
    # (token-reader's 8 reads of secrets whose writes were refused: OpenBao answered 404, no data: rt94 F3)
    assert "24 requests (24 denied) by 3 identities" in r.stdout
    assert f"{len(foreign)} lines could not be read" in r.stderr
    proc = completed(["verify", str(log)], tmp_path, timeout=120)
    what = "a Kubernetes audit event" if other.startswith("k8s") else "a CloudTrail record"
    named = [ln for ln in proc.stdout.splitlines() if "the file mixes producers" in ln]
    assert named and all(what in ln for ln in named) and "mixed.log:21]" in named[0], proc.stdout[-2000:]


# Caddy's JSON access log, as its docs give a line (logger http.log.access, a "request" object of its own, "ts" a
# float, remote_port a string), of a request to the vault it fronts
CADDY = ('{"level":"info","ts":1764900061.5241024,"logger":"http.log.access","msg":"handled request","request":'
         '{"remote_ip":"10.0.0.7","remote_port":"41342","client_ip":"10.0.0.7","proto":"HTTP/2.0","method":"GET",'
         '"host":"vault.example.com","uri":"/v1/secret/data/app/db","headers":{"User-Agent":["curl/8.5.0"]}},'
         '"bytes_read":0,"user_id":"","duration":0.0014,"size":312,"status":200,"resp_headers":{"Server":["Caddy"]}}\n')


def test_a_reverse_proxys_access_log_line_is_another_producers(tmp_path: Path) -> None:
    """A top-level "request" object of its own made a proxy's line an entry of nobody, blamed on the vault ("type ''
    is neither request nor response", "no time"), and access answered exit 0 (red team rt39, F5)."""
    vault = (FIXTURES / "openbao" / "clean.log").read_text().splitlines(keepends=True)
    log = tmp_path / "mixed.log"
    log.write_text("".join([*vault[:20], CADDY, *vault[20:]]))
    log.chmod(0o600)
    assert access("secret/data/*", str(log), cwd=tmp_path).returncode == 1
    proc = completed(["verify", str(log)], tmp_path, timeout=120)
    named = [ln for ln in proc.stdout.splitlines() if "mixed.log:21]" in ln]
    assert len(named) == 1 and "no Vault/OpenBao entry" in named[0] and "split the file per producer" in named[0]
    assert "neither request nor response" not in proc.stdout and "1 unreadable" in proc.stdout, proc.stdout[-2000:]


def test_the_servers_own_log_past_a_files_head_is_named_as_such(tmp_path: Path) -> None:
    """hclog lines (a real OpenBao 2.7.2's -log-format=json output) in the head of a file refuse it whole; further
    on they were entries with no time and no type, blamed on the vault's clock and a hop (red team rt34, F3). Named
    as the server's own log at their lines; access says its answer lacks them."""
    vault = (FIXTURES / "openbao" / "clean.log").read_text().splitlines(keepends=True)
    server = (FIXTURES / "openbao" / "server-stdout" / "openbao-2.7.2-json.txt").read_text().splitlines(keepends=True)
    head = vault * (300_000 // sum(map(len, vault)) + 1)  # past the 256 KiB the format is told from
    log = tmp_path / "merged.log"
    log.write_text("".join(head + server[:5] + vault))
    log.chmod(0o600)
    proc = completed(["verify", str(log)], tmp_path, timeout=120)
    named = [ln for ln in proc.stdout.splitlines() if "the vault server's own log (hclog)" in ln]
    assert len(named) == 5 and f"merged.log:{len(head) + 1}]" in named[0], proc.stdout[-2000:]
    assert "grep '^{\"time\":'" in named[0] and "rewrites or truncates" not in named[0]  # its own way out
    assert "no time" not in proc.stdout and "neither request nor response" not in proc.stdout
    assert access("secret/data/*", str(log), cwd=tmp_path).returncode == 1


def test_accessors_logged_in_clear_are_never_shown(tmp_path: Path) -> None:
    """A device with hmac_accessor = false logs accessors in clear (recorded: fixtures/openbao/odd): the answer
    names them by a fingerprint only."""
    log = FIXTURES / "openbao" / "odd" / "correct-accessors-in-clear.log"
    clear = {json.loads(ln).get("auth", {}).get("accessor", "") for ln in log.read_text().splitlines()}
    clear = {a for a in clear if a and not a.startswith("hmac-sha256:")}
    assert clear
    r = access("*", str(log), "--json", "-", cwd=tmp_path)
    assert r.returncode == 0
    assert not any(a in r.stdout for a in clear)
    assert any(a.startswith("clear:sha256:") for i in json.loads(r.stdout)["identities"] for a in i["accessors"])
    assert fnmatch.fnmatch(r.stdout, "*clear:sha256:*")


# -- Kubernetes and CloudTrail: the same question, counted independently from the records --------------------------
def _k8s_expected(events: list[dict[str, Any]], matches: Any) -> dict[str, list[int]]:
    """username -> [requests, denied]: one event a request (its last stage), its requestURI's path."""
    out: dict[str, list[int]] = {}
    for e in events:
        if e.get("stage") not in ("ResponseComplete", "Panic"):
            continue
        if not matches(e["requestURI"].split("?")[0].lstrip("/")):
            continue
        c = out.setdefault(e["user"].get("username", ""), [0, 0])
        c[0] += 1
        c[1] += e.get("responseStatus", {}).get("code") in (401, 403)
    return out


def test_kubernetes_secret_reads_are_answered_once_a_request(tmp_path: Path) -> None:
    """Each request counts at its last stage (a watch's ResponseStarted and a RequestReceived are not counted
    again); a 401 or 403 is denied."""
    lines = (FIXTURES / "k8s" / "real" / "correct.log").read_text().splitlines()
    events = [json.loads(ln) for ln in lines]
    secret = next(e for e in events if e.get("objectRef", {}).get("resource") == "secrets"
                  and e.get("stage") == "ResponseComplete")
    early = dict(secret, stage="RequestReceived")  # the same request's first stage: not a second request
    early.pop("responseStatus", None)
    refused = dict(secret, auditID="0b6f2c1e-5d4a-4c3b-9a8f-7e6d5c4b3a21", responseStatus={"code": 403})
    log = tmp_path / "audit.log"
    log.write_text("\n".join([json.dumps(early), *lines, json.dumps(refused)]) + "\n")
    log.chmod(0o600)
    pattern = "api/v1/namespaces/+/secrets*"
    r = access(pattern, str(log), "--json", "-", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    got = {i["display_name"]: [i["requests"], i["denied"]] for i in doc["identities"]}
    want = _k8s_expected([early, *events, refused],
                         lambda p: fnmatch.fnmatchcase(p, "api/v1/namespaces/*/secrets*") and p.count("/") in (4, 5))
    assert got == want and sum(n for n, _ in got.values()) >= 2 and any(d for _, d in got.values())
    assert doc["files"][0]["format"] == "k8s"


def test_cloudtrail_secret_reads_are_answered_per_record(tmp_path: Path) -> None:
    trail = json.loads((FIXTURES / "cloudtrail" / "real" / "correct.json").read_text())
    records = trail["Records"]
    read = next(r for r in records if r["eventName"] == "GetSecretValue")
    denied = dict(read, eventID="6c1f3e2a-9b8d-4f7e-a6c5-b4d3e2f1a0b9", errorCode="AccessDeniedException",
                  errorMessage="not authorized")
    # an error's description whose code a hop cut or blanked: still no read served (verify: no result)
    uncoded = [dict(read, eventID=f"6c1f3e2a-9b8d-4f7e-a6c5-b4d3e2f1a0c{n}", errorMessage="User: x is not authorized",
                    **code) for n, code in enumerate(({}, {"errorCode": ""}))]
    log = tmp_path / "trail.json"
    log.write_text(json.dumps({"Records": [*records, denied, *uncoded]}))
    log.chmod(0o600)

    def resource(rec: dict[str, Any]) -> str:
        res = rec.get("resources") or [{}]
        params = rec.get("requestParameters") or {}
        return str(res[0].get("ARN") or params.get("secretId") or params.get("name") or params.get("keyId")
                   or rec.get("eventSource", ""))

    want: dict[str, list[int]] = {}
    for rec in [*records, denied, *uncoded]:
        if rec["eventSource"] == "secretsmanager.amazonaws.com" and resource(rec) != rec["eventSource"]:
            who = rec["userIdentity"].get("arn", "")
            source = (rec["userIdentity"].get("sessionContext") or {}).get("sourceIdentity")
            who += f" (source identity {source})" if source else ""  # the person behind a role session (rt94 F12)
            c = want.setdefault(who, [0, 0])
            c[0] += 1
            c[1] += "errorCode" in rec or "errorMessage" in rec
    assert want and any(d for _, d in want.values())
    names = sorted({resource(rec) for rec in records if rec["eventSource"] == "secretsmanager.amazonaws.com"
                    and resource(rec) != rec["eventSource"]})
    # the secrets by their names or ARNs as the records name them: one pattern a secret, answers added up
    got: dict[str, list[int]] = {}
    for name in names:
        r = access(name, str(log), "--json", "-", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        for i in json.loads(r.stdout)["identities"]:
            c = got.setdefault(i["display_name"], [0, 0])
            c[0] += i["requests"]
            c[1] += i["denied"]
    assert got == want


def test_a_kubernetes_request_with_no_later_stage_counts_at_request_received(tmp_path: Path) -> None:
    """An audit policy may omit every stage after RequestReceived (omitStages): such a request still counts, once,
    or the answer would say nobody read a secret that was read; its outcome is not logged, so the answer may be
    incomplete: exit 1 (red team rt102 F3)."""
    events = [json.loads(ln) for ln in (FIXTURES / "k8s" / "real" / "correct.log").read_text().splitlines()]
    secret = next(e for e in events if e.get("objectRef", {}).get("resource") == "secrets"
                  and e.get("stage") == "ResponseComplete")
    only = []
    for n in range(3):
        e = dict(secret, stage="RequestReceived", auditID=f"5e2d1c0b-9a8f-4e7d-8c6b-5a4f3e2d1c{n:02d}")
        e.pop("responseStatus", None)
        only.append(json.dumps(e))
    log = tmp_path / "audit.log"
    log.write_text("\n".join(only) + "\n")
    log.chmod(0o600)
    r = access(secret["requestURI"].split("?")[0].lstrip("/"), str(log), "--json", "-", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["requests"], doc["denied"]) == (3, 0)
    assert [i["display_name"] for i in doc["identities"]] == [secret["user"]["username"]]


@pytest.mark.vault
def test_whoever_unwraps_a_response_wrapped_read_saw_the_secret(bao: Any, tmp_path: Path) -> None:
    """A read with X-Vault-Wrap-TTL hands back a wrapping token; whoever unwraps it gets the secret. The unwrap
    is logged on sys/wrapping/unwrap, by the wrapping token (or with it in the body), never on the secret's path:
    before, 'who saw secret/data/app/db' named the reader and not who unwrapped it."""
    server = bao()
    admin = VaultClient(server.url, server.root_token, timeout=5)
    try:
        reader, courier = _reader_and_courier(admin)
        assert admin.call("POST", "secret/data/app/db", {"data": {"v": "d" * 20}}).status == 200
        assert admin.call("POST", "secret/data/app/api", {"data": {"v": "e" * 20}}).status == 200

        def wrapped(path: str) -> str:
            r = reader.call("GET", path, headers={"X-Vault-Wrap-TTL": "60s"})
            assert r.status == 200, r.error
            return remember_secret(str((r.body or {})["wrap_info"]["token"]))

        # 1. unwrapped with the wrapping token as the client token
        assert admin.with_token(wrapped("secret/data/app/db")).call("POST", "sys/wrapping/unwrap").status == 200
        # 2. unwrapped by the courier, the token in the body; a second try fails (a wrapping token is used once)
        second = wrapped("secret/data/app/db")
        assert courier.call("POST", "sys/wrapping/unwrap", {"token": second}).status == 200
        assert courier.call("POST", "sys/wrapping/unwrap", {"token": second}).status == 400
        # ... and by another, whose name only its other requests tell (its refused unwrap names no one)
        late = _token(admin, "late", ["default"])
        assert late.call("GET", "auth/token/lookup-self").status == 200
        assert late.call("POST", "sys/wrapping/unwrap", {"token": second}).status == 400
        # 3. rewrapped (the default policy does not allow it: by the admin), the new token unwrapped by the courier
        rw = admin.call("POST", "sys/wrapping/rewrap", {"token": wrapped("secret/data/app/db")})
        assert rw.status == 200, rw.error
        new = remember_secret(str((rw.body or {})["wrap_info"]["token"]))
        assert courier.call("POST", "sys/wrapping/unwrap", {"token": new}).status == 200
        # 4. another secret's wrapped read, unwrapped: not an access to secret/data/app/db
        assert courier.call("POST", "sys/wrapping/unwrap", {"token": wrapped("secret/data/app/api")}).status == 200
    finally:
        admin.close()
    log = tmp_path / "audit.log"
    log.write_bytes(server.log_path.read_bytes())
    proc = access("secret/data/app/db", str(log), "--json", "-")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    ops = {(i["display_name"], op): (c["requests"], c["denied"])
           for i in doc["identities"] for op, c in i["operations"].items()}
    # the wrapping token's own unwrap is logged with the display name of the token that wrapped: whoever held the
    # wrapping token sent it, so it is named as such, never as the reader's own unwrap (red team rt5); a refused
    # unwrap's entry names no identity, but its token digests are the courier's (the answer counts it there, as
    # the courier's third unwrap, refused)
    # (the reader's reads were wrapped: it got wrapping tokens, whoever unwrapped them got the secret)
    assert ops == {("token", "create"): (1, 0), ("token-reader", "read (wrapped)"): (3, 0),
                   ("holder of a wrapping token from token-reader", "unwrap"): (1, 0),
                   ("token-courier", "unwrap"): (3, 1), ("token-late", "unwrap"): (1, 1)}, ops
    assert_no_secret(proc.stdout)
    # the same lines as read line by line (CRLF ends keep the block decoder out): the same answer, the refused
    # unwraps under the courier and the late one by their tokens' digests too (red team rt19: under no identity)
    crlf = tmp_path / "crlf.log"
    crlf.write_bytes(log.read_bytes().replace(b"\n", b"\r\n"))
    again = json.loads(access("secret/data/app/db", str(crlf), "--json", "-").stdout)
    assert {(i["display_name"], op): (c["requests"], c["denied"])
            for i in again["identities"] for op, c in i["operations"].items()} == ops
    api = json.loads(access("secret/data/app/api", str(log), "--json", "-").stdout)
    assert {(i["display_name"], op): c["requests"] for i in api["identities"] for op, c in i["operations"].items()} \
        == {("token", "create"): 1, ("token-reader", "read (wrapped)"): 1, ("token-courier", "unwrap"): 1}
    # access_policy judges each unwrap as the answer counts it: the holder of the wrapping token is not the reader
    # a rule allows (red team rt19: it passed as the reader's own read)
    cfg = tmp_path / "pyproject.toml"
    cfg.write_text('[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\nlog_max_mode = "0644"\n'
                   '[[tool.auditready.access.rules]]\npaths = ["secret/data/app/db"]\noperations = ["read"]\n'
                   'identities = ["token-reader", "token-courier"]\n')
    proc = completed(["verify", str(log), "--config", str(cfg)], timeout=120)
    found = [x for x in proc.stdout.splitlines() if x.startswith("  - [") and "breaks" in x]
    assert proc.returncode == 1 and len(found) == 1, proc.stdout + proc.stderr
    assert "by display name 'holder of a wrapping token from token-reader'" in found[0], found


@pytest.mark.vault
def test_a_wrapped_response_read_from_the_cubbyhole_or_wrapped_again_is_followed(bao: Any, tmp_path: Path) -> None:
    """Two more ways to reach a wrapped secret, seen on a real OpenBao (red team rt29, F1, F2, F7): the wrapping
    token reads cubbyhole/response, which answers the wrapped response (it was filed as a cubbyhole read of the
    reader's own, and the secret had no such reader); an unwrap asked with X-Vault-Wrap-TTL hands its caller a new
    wrapping token, and whoever unwraps that one gets the secret (the first was named, the second missed).
    `auditready access` and the access review say the same."""
    server = bao()
    admin = VaultClient(server.url, server.root_token, timeout=5)
    try:
        reader, courier = _reader_and_courier(admin)
        late = _token(admin, "late", ["default"])
        assert admin.call("POST", "secret/data/app/db", {"data": {"v": "d" * 20}}).status == 200

        def wrapped(client: VaultClient, method: str, path: str, body: Any = None) -> str:
            r = client.call(method, path, body, headers={"X-Vault-Wrap-TTL": "60s"})
            assert r.status == 200, r.error
            return remember_secret(str((r.body or {})["wrap_info"]["token"]))

        got = admin.with_token(wrapped(reader, "GET", "secret/data/app/db")).call("GET", "cubbyhole/response")
        assert got.status == 200 and "d" * 20 in json.dumps(got.body), got.error
        again = wrapped(courier, "POST", "sys/wrapping/unwrap", {"token": wrapped(reader, "GET", "secret/data/app/db")})
        assert late.call("POST", "sys/wrapping/unwrap", {"token": again}).status == 200
    finally:
        admin.close()
    log = tmp_path / "audit.log"
    log.write_bytes(server.log_path.read_bytes())
    log.chmod(0o600)
    doc = json.loads(access("secret/data/app/db", str(log), "--json", "-").stdout)
    ops = {(i["display_name"], op): c["requests"] for i in doc["identities"] for op, c in i["operations"].items()}
    assert ops == {("token", "create"): 1, ("token-reader", "read (wrapped)"): 2,
                   ("holder of a wrapping token from token-reader", "unwrap"): 1,
                   ("token-courier", "unwrap (wrapped)"): 1, ("token-late", "unwrap"): 1}, ops
    assert doc["unwraps_not_attributed"]["count"] == 0
    cubby = json.loads(access("cubbyhole/*", str(log), "--json", "-").stdout)
    assert cubby["requests"] == 0, cubby  # the wrapping token's read is the unwrap above, no cubbyhole of its own
    proc = completed(["verify", str(log), "--evidence", str(tmp_path / "ev")], timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    review = json.loads((tmp_path / "ev" / "evidence.json").read_text())["review"]
    (path,) = [p for p in review["paths"] if p["path"] == "secret/data/app/db"]
    assert {(i["display_name"], op): c["requests"] for i in path["identities"]
            for op, c in i["operations"].items()} == ops
    assert not any(p["path"].startswith("cubbyhole/") for p in review["paths"]), review["paths"]


def test_an_unwrap_is_linked_to_its_wrap_in_any_file_order_or_said_unknown(bao: Any, tmp_path: Path) -> None:
    """A wrapping token lives up to its TTL, so a wrap and its unwrap fall in different files of a rotation. They
    are linked whichever file is named first (a shell expands audit.log* newest first; here also names no rotation
    orders); an unwrap whose wrapping is in none of the files is said, exit 1, never dropped (red team rt19)."""
    server = bao()
    admin = VaultClient(server.url, server.root_token, timeout=5)
    try:
        reader, courier = _reader_and_courier(admin)
        for name in ("db", "api"):
            assert admin.call("POST", f"secret/data/app/{name}", {"data": {"v": "d" * 20}}).status == 200
        tokens = []
        for name in ("db", "api"):
            r = reader.call("GET", f"secret/data/app/{name}", headers={"X-Vault-Wrap-TTL": "60s"})
            assert r.status == 200, r.error
            tokens.append(remember_secret(str((r.body or {})["wrap_info"]["token"])))
        cut = len(server.log_path.read_bytes().splitlines(keepends=True))  # every wrap written, no unwrap yet
        for token in tokens:
            assert courier.call("POST", "sys/wrapping/unwrap", {"token": token}).status == 200
    finally:
        admin.close()
    lines = server.log_path.read_bytes().splitlines(keepends=True)
    older, newer = tmp_path / "z-monday.log", tmp_path / "a-tuesday.log"  # read newer first, by name
    older.write_bytes(b"".join(lines[:cut]))
    newer.write_bytes(b"".join(lines[cut:]))

    def ops(doc: dict[str, Any]) -> dict[tuple[str, str], int]:
        return {(i["display_name"], op): c["requests"] for i in doc["identities"] for op, c in i["operations"].items()}

    both = access("secret/data/app/db", str(newer), str(older), "--json", "-")
    assert both.returncode == 0, both.stderr
    doc = json.loads(both.stdout)
    assert ops(doc) == {("token", "create"): 1, ("token-reader", "read (wrapped)"): 1,
                        ("token-courier", "unwrap"): 1}
    assert doc["unwraps_not_attributed"]["count"] == 0  # the api's unwrap: its wrapping is in the files
    alone = access("secret/data/app/db", str(newer), "--json", "-")
    assert alone.returncode == 1 and "unwrap(s)" in alone.stderr and "may be incomplete" in alone.stderr
    doc = json.loads(alone.stdout)
    assert ops(doc) == {} and doc["unwraps_not_attributed"]["count"] == 2
    assert_no_secret(both.stdout + alone.stdout + alone.stderr)
    # access_policy holds the unwrap to the rule in the file it is in, the wrap read from the other file of the set
    cfg = tmp_path / "pyproject.toml"
    cfg.write_text('[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\nlog_max_mode = "0644"\n'
                   '[[tool.auditready.access.rules]]\npaths = ["secret/data/app/db"]\noperations = ["read"]\n'
                   'identities = ["token-reader"]\n')
    unwrap_line = next(i for i, ln in enumerate(lines[cut:], 1) if b'"sys/wrapping/unwrap"' in ln)
    for jobs in ("1", "2"):
        proc = completed(["verify", str(newer), str(older), "--config", str(cfg), "--jobs", jobs], timeout=120)
        found = [x for x in proc.stdout.splitlines() if x.startswith("  - [") and "breaks" in x]
        assert proc.returncode == 1 and len(found) == 1, proc.stdout + proc.stderr
        assert f"[{newer}:{unwrap_line}," in found[0] and "'token-courier'" in found[0], found


def test_two_audit_devices_files_count_each_request_once(bao: Any, tmp_path: Path) -> None:
    """Every audit device of a vault writes every request under the same id, each HMAC'd with its own salt (so the
    files are no twins): a folder holding both devices' files counts each request once and says so (red team rt19:
    every count and token doubled)."""
    server = bao(extra_devices={"second": {}})
    admin = VaultClient(server.url, server.root_token, timeout=5)
    try:
        reader, _ = _reader_and_courier(admin)
        assert admin.call("POST", "secret/data/app/db", {"data": {"v": "d" * 20}}).status == 200
        for _ in range(3):
            assert reader.call("GET", "secret/data/app/db").status == 200
    finally:
        admin.close()
    folder = tmp_path / "logs"
    folder.mkdir()
    for name, path in (("primary.log", server.log_path), ("secondary.log", server.file_logs["second"])):
        (folder / name).write_bytes(path.read_bytes())
    one = json.loads(access("secret/data/app/db", str(folder / "primary.log"), "--json", "-").stdout)
    proc = access("secret/data/app/db", str(folder), "--json", "-")
    both = json.loads(proc.stdout)
    assert proc.returncode == 0, proc.stderr
    assert both["identities"] == one["identities"] and both["requests"] == one["requests"] == 4, both
    assert both["counted_once_again"] == 4 and one["counted_once_again"] == 0
    assert "found again under the same request id" in access("secret/data/app/db", str(folder)).stdout


def test_a_raw_storage_read_is_a_read_of_every_secret(tmp_path: Path) -> None:
    """sys/raw (raw_storage_endpoint = true) hands out the storage under every mount, decrypted, past the ACLs; its
    path names a storage key, no secret: `access` counts it for any pattern as a request that saw every secret
    without naming it, and access_policy holds it to every rule (red team rt19: answered "nobody", passed)."""
    server = server_from_hcl(tmp_path, 'raw_storage_endpoint = true\n'
                             'audit "file" "main" {\n  options {\n    file_path = "/var/log/audit.log"\n  }\n}\n')
    try:
        server.start()
        remember_secret(server.root_token)
        admin = VaultClient(server.url, server.root_token, timeout=5)
        try:
            assert admin.call("POST", "sys/mounts/kv1", {"type": "kv", "options": {"version": "1"}}).ok
            assert admin.call("POST", "kv1/app/db", {"password": "p" * 20}).status in (200, 204)
            uuid = admin.call("GET", "sys/mounts").data["kv1/"]["uuid"]
            raw = admin.call("GET", f"sys/raw/logical/{uuid}/app/db")
            assert raw.status == 200 and "p" * 20 in str(raw.data.get("value")), raw.error
        finally:
            admin.close()
        log = tmp_path / "audit.log"
        log.write_bytes(server.log_path.read_bytes())
        log.chmod(0o600)
    finally:
        server.stop()
    proc = access("kv1/app/db", str(log), "--json", "-")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    (root,) = [i for i in doc["identities"] if "read" in i["operations"]]
    assert root["unnamed"] == 1 and any("sys/raw" in k for k in root["scopes"]), root
    other = json.loads(access("secret/data/anything", str(log), "--json", "-").stdout)
    assert other["unnamed"] == 1  # whatever the pattern
    rules = tmp_path / "pyproject.toml"
    rules.write_text('[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n'
                     '[[tool.auditready.access.rules]]\npaths = ["kv1/*"]\noperations = ["read"]\n'
                     'identities = ["app"]\n')
    proc = completed(["verify", str(log), "--config", str(rules), "--evidence", str(tmp_path / "ev")], timeout=120)
    found = [x for x in proc.stdout.splitlines() if x.startswith("  - [") and "breaks" in x]
    assert proc.returncode == 1 and len(found) == 1 and "raw storage" in found[0], proc.stdout
    # and the access review lists it among the paths read (the vault's other sys/ endpoints it leaves out)
    evidence = (tmp_path / "ev" / "evidence.json").read_text()
    assert f"sys/raw/logical/{uuid}/app/db" in evidence and '"sys/mounts' not in evidence
    assert_no_secret(proc.stdout + json.dumps(doc) + evidence)


def test_a_kubernetes_request_made_with_impersonation_names_both_users(tmp_path: Path) -> None:
    """kubectl --as: the API server authorizes the request as impersonatedUser, sent by user. Naming only the
    sender hid whose rights read the secret; naming only the impersonated user would hide who sent it."""
    events = [json.loads(ln) for ln in (FIXTURES / "k8s" / "real" / "correct.log").read_text().splitlines()]
    secret = next(e for e in events if e.get("objectRef", {}).get("resource") == "secrets"
                  and e.get("stage") == "ResponseComplete")
    sender = secret["user"]["username"]
    as_jane = dict(secret, auditID="5e0c7a1b-2d3f-4e5a-8b9c-0d1e2f3a4b5c",
                   impersonatedUser={"username": "jane@example.org", "groups": ["dev"]})
    log = tmp_path / "audit.log"
    log.write_text("\n".join(json.dumps(e) for e in (secret, as_jane)) + "\n")
    r = access(secret["requestURI"].lstrip("/").split("?")[0], str(log), "--json", "-", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    got = {i["display_name"]: i["requests"] for i in json.loads(r.stdout)["identities"]}
    assert got == {sender: 1, f"{sender} as jane@example.org": 1}


@pytest.mark.vault
def test_a_rotated_copy_beside_its_compressed_twin_counts_once(traffic: tuple[Any, Path], tmp_path: Path) -> None:
    """logrotate without delaycompress cleanup, or a restore from the archive, can leave audit.log.1 beside
    audit.log.1.gz: the same requests, read twice, doubled every count of the answer."""
    _server, log = traffic
    one = tmp_path / "audit.log.1"
    one.write_bytes(log.read_bytes())
    (tmp_path / "audit.log.1.gz").write_bytes(gzip.compress(log.read_bytes()))
    alone = json.loads(access("secret/+/app/*", str(one), "--json", "-").stdout)
    r = access("secret/+/app/*", str(one), str(tmp_path / "audit.log.1.gz"), "--json", "-")
    assert r.returncode == 0, r.stderr
    both = json.loads(r.stdout)
    assert both["identities"] == alone["identities"] and both["requests"] == alone["requests"] > 0
    assert [f["same_as"] for f in both["files"]] == ["", str(one)]
    # a different file is no twin, even of the same size: each of its requests counts
    other = tmp_path / "other.log"
    other.write_bytes(log.read_bytes().replace(b'"secret/data/app/', b'"secret/data/app/'.upper(), 1))
    assert json.loads(access("secret/+/app/*", str(one), str(other), "--json", "-").stdout)["files"][1]["same_as"] == ""


def test_a_refused_unwrap_and_a_failed_read_are_their_identities_and_denied(bao: Any, tmp_path: Path) -> None:
    """Red team rt5, on a real OpenBao log. (1) bob's only named entries are on his cubbyhole, which the pattern
    does not name; his unwrap of a spent wrapping token (in the body) is refused and its entry names no one, but
    carries his token's digest: counted under token-bob, not under "(none)" as a second identity. (2) a read of
    the secret that the policy allows and the KV engine refuses (check-and-set) carries its error on the response
    entry only: counted as denied, as the docs say of a request whose entry carries an error."""
    server = bao()
    admin = VaultClient(server.url, server.root_token, timeout=5)
    try:
        admin.call("PUT", "sys/policies/acl/app-rw",
                   {"policy": 'path "secret/data/app/*" { capabilities = ["read", "update"] }'})
        alice, bob = _token(admin, "alice", ["app-rw"]), _token(admin, "bob", ["default"])
        assert admin.call("POST", "secret/data/app/db", {"data": {"v": "d" * 20}}).status == 200
        assert bob.call("POST", "cubbyhole/mine", {"note": "x"}).status in (200, 204)
        r = alice.call("GET", "secret/data/app/db", headers={"X-Vault-Wrap-TTL": "60s"})
        wrapping = remember_secret(str((r.body or {})["wrap_info"]["token"]))
        assert admin.with_token(wrapping).call("POST", "sys/wrapping/unwrap").status == 200
        assert bob.call("POST", "sys/wrapping/unwrap", {"token": wrapping}).status == 400  # spent
        # a write the policy allows, refused by the KV engine (check-and-set: the secret is at version 1, not 0)
        assert alice.call("POST", "secret/data/app/db", {"options": {"cas": 0}, "data": {"v": "x"}}).status == 400
    finally:
        admin.close()
    log = tmp_path / "audit.log"
    log.write_bytes(server.log_path.read_bytes())
    proc = access("secret/data/app/*", str(log), "--json", "-")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    ops = {(i["display_name"], op): (c["requests"], c["denied"])
           for i in doc["identities"] for op, c in i["operations"].items()}
    assert ops[("token-bob", "unwrap")] == (1, 1), ops
    assert ("", "unwrap") not in ops, ops
    assert ops[("holder of a wrapping token from token-alice", "unwrap")] == (1, 0), ops
    assert ops[("token-alice", "read (wrapped)")] == (1, 0), ops  # the wrapped read
    assert ops[("token-alice", "update")] == (1, 1), ops  # the refused check-and-set write
    assert_no_secret(proc.stdout)


def test_a_period_the_files_cover_in_part_is_answered_and_said(traffic: tuple[Any, Path]) -> None:
    """--since before the first entry: the answer holds what the files hold, and says (stderr, and "covers" in the
    JSON) that their entries run over less than the period asked about."""
    _server, log = traffic
    proc = access("secret/data/app/*", str(log), "--since", "2000-01-01", "--json", "-")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    first = json.loads(log.read_text().splitlines()[0])["time"]
    assert doc["covers"]["first"][:23] == first[:23] and doc["covers"]["entries_in_period"] > 0
    assert "less than the period asked about" in proc.stderr


def test_an_unwrap_with_the_wrapping_token_is_its_holders_on_the_unwrap_path_too(bao: Any, tmp_path: Path) -> None:
    """OpenBao writes the wrapping token's creator's name in the entry of an unwrap sent with the wrapping token
    itself: asked about sys/wrapping/unwrap, `auditready access` named the creator as the one who unwrapped, and
    asked about sys/wrapping/*, said one request was "found again under the same request id" in a single file (red
    team rt35, F2). Each unwrap is its holder's, counted once; the creator's own unwrap is the creator's."""
    server = bao()
    admin = VaultClient(server.url, server.root_token, timeout=5)
    try:
        reader, _ = _reader_and_courier(admin)
        tokens = []
        for _ in range(2):
            r = reader.call("POST", "sys/wrapping/wrap", {"k": "v" * 20}, headers={"X-Vault-Wrap-TTL": "60s"})
            assert r.status == 200, r.error
            tokens.append(remember_secret(str((r.body or {})["wrap_info"]["token"])))
        assert admin.with_token(tokens[0]).call("POST", "sys/wrapping/unwrap").status == 200  # as its holder
        assert reader.call("POST", "sys/wrapping/unwrap", {"token": tokens[1]}).status == 200  # by its creator
    finally:
        admin.close()
    log = tmp_path / "audit.log"
    log.write_bytes(server.log_path.read_bytes())
    log.chmod(0o600)
    holder = "holder of a wrapping token from token-reader"
    for pattern, want in (("sys/wrapping/unwrap", {(holder, "update"): 1, ("token-reader", "update"): 1}),
                          ("sys/wrapping/*", {("token-reader", "update (wrapped)"): 2, (holder, "unwrap"): 1,
                                              ("token-reader", "unwrap"): 1})):
        proc = access(pattern, str(log), "--json", "-")
        doc = json.loads(proc.stdout)
        got = {(i["display_name"], op): c["requests"] for i in doc["identities"] for op, c in i["operations"].items()}
        assert got == want, (pattern, got)
        assert "found again" not in proc.stderr, proc.stderr


def test_a_refused_unwrap_received_nothing_and_leaves_the_answer_whole(bao: Any, tmp_path: Path) -> None:
    """An unwrap the vault refused ("wrapping token is not valid or does not exist": an expired, used or mistyped
    token) was held as one whose wrapping no file holds: exit 1, "the answer may be incomplete" (red team rt35,
    F6). It received nothing: the answer is whole, exit 0; an unwrap of a token wrapped before the files still
    makes it incomplete."""
    server = bao()
    admin = VaultClient(server.url, server.root_token, timeout=5)
    try:
        assert admin.call("POST", "secret/data/app/db", {"data": {"v": "d" * 20}}).status == 200
        before = admin.call("GET", "secret/data/app/db", headers={"X-Vault-Wrap-TTL": "60s"})
        early = remember_secret(str((before.body or {})["wrap_info"]["token"]))
        cut = len(server.log_path.read_text().splitlines())
        for _ in range(3):
            bogus = "hvs." + "x" * 24
            assert admin.call("POST", "sys/wrapping/unwrap", {"token": bogus}).status == 400
            assert admin.with_token(bogus).call("POST", "sys/wrapping/unwrap").status in (400, 403)
        assert admin.call("GET", "secret/data/app/db").status == 200
    finally:
        admin.close()
    lines = server.log_path.read_text().splitlines()
    log = tmp_path / "audit.log"
    log.write_text("".join(ln + "\n" for ln in lines[cut:]))
    log.chmod(0o600)
    proc = access("secret/data/app/db", str(log), "--json", "-")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["unwraps_not_attributed"]["count"] == 0
    admin = VaultClient(server.url, server.root_token, timeout=5)
    try:
        assert admin.call("POST", "sys/wrapping/unwrap", {"token": early}).status == 200
    finally:
        admin.close()
    log.write_text("".join(ln + "\n" for ln in server.log_path.read_text().splitlines()[cut:]))
    proc = access("secret/data/app/db", str(log), "--json", "-")
    assert proc.returncode == 1 and json.loads(proc.stdout)["unwraps_not_attributed"]["count"] == 1, proc.stderr


def test_a_scan_counts_as_listing_every_name_below_its_folder(bao: Any, tmp_path: Path) -> None:
    """OpenBao's SCAN (a recursive listing) answers every name below its folder: access_policy counted it, `auditready
    access` did not, so the two said different things of who enumerated the secrets (red team rt35, F8). A scan of
    a folder above PATTERN is counted as seeing the names, by none; one of another folder is not."""
    import requests

    server = bao()
    admin = VaultClient(server.url, server.root_token, timeout=5)
    try:
        for p in ("app/db", "app/deep/api", "other/x"):
            assert admin.call("POST", f"secret/data/{p}", {"data": {"v": "d" * 20}}).status == 200
    finally:
        admin.close()
    for folder in ("secret/metadata/", "secret/metadata/other/"):
        r = requests.request("SCAN", f"{server.url}/v1/{folder}", headers={"X-Vault-Token": server.root_token},
                             timeout=10)
        assert r.status_code == 200 and r.json()["data"]["keys"], r.text
    log = tmp_path / "audit.log"
    log.write_bytes(server.log_path.read_bytes())
    log.chmod(0o600)
    doc = json.loads(access("secret/metadata/app/*", str(log), "--json", "-").stdout)
    ops = {(i["display_name"], op): c["requests"] for i in doc["identities"] for op, c in i["operations"].items()}
    assert ops == {("token", "scan"): 1}, ops  # (the dev server's root token is named "token")
    other = json.loads(access("secret/metadata/other/x", str(log), "--json", "-").stdout)
    assert {op for i in other["identities"] for op in i["operations"]} == {"scan"} and other["requests"] == 2
    # a list of the folder that holds PATTERN saw its name as a scan above it did (red team rt39, F4); one of
    # another folder, or of the folder above, did not
    admin = VaultClient(server.url, server.root_token, timeout=5)
    try:
        for folder in ("secret/metadata/app/", "secret/metadata/", "secret/metadata/other/"):
            assert admin.call("LIST", folder).status == 200
    finally:
        admin.close()
    log.write_bytes(server.log_path.read_bytes())
    doc = json.loads(access("secret/metadata/app/db", str(log), "--json", "-").stdout)
    ops = {(i["display_name"], op): c["requests"] for i in doc["identities"] for op, c in i["operations"].items()}
    assert ops == {("token", "scan"): 1, ("token", "list"): 1}, ops
    assert doc["unnamed"] == 2
