"""A password in a URL's user information is a leak whatever characters it holds (RFC 3986 3.2.1: unreserved,
percent-encoded and sub-delims characters, and ":" in the password). detect-secrets' Basic Auth regex leaves out the
sub-delims ``!$&'()*+,;=``, so "postgres://app:S3cret!@db" passed; a password of ours did likewise. Templates,
masks and JSON text around a URL stay clean."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Optional

import pytest

from pytest_auditready.scan import native
from pytest_auditready.scan.hyperscan import LeakScanner
from tests._native_runs import completed

ROOT = Path(__file__).resolve().parent.parent / "fixtures"

# Passwords people use, each with one or more sub-delims or a colon: every one is a credential.
PASSWORDS = ["S3cr3tPassw0rd!", "pa$$w0rd-2026", "Tr0ub4dor&3", "it's-a-s3cret", "(Zq7vXw4Lp9)", "Zq7*vXw4Lp9",
             "Zq7+vXw4Lp9", "Zq7,vXw4Lp9", "Zq7;vXw4Lp9", "Zq7=vXw4Lp9", "Zq7:vXw4:Lp9", "p%40ss-w0rd!"]
# A Go MySQL driver DSN (the connection_url of Vault's MySQL database plugin) is no URL: no "://" before the user
URLS = ["vault:Mq4!zR8wKp2@tcp(db.internal:3306)/app?parseTime=true",
        "root:Hy6(vN3)qL9@unix(/var/run/mysqld/mysqld.sock)/"] + [
    f"postgresql://app:{p}@db.internal:5432/prod" for p in PASSWORDS] + [
    "redis://:S3cr$t(1)x@cache.internal:6379/0",  # no user: the password alone (Redis, AMQP brokers)
    "mongodb+srv://svc:Zq7!vXw4Lp9@cluster0.example.net/app?retryWrites=true",
]
# Not a credential: a template's or shell's placeholder, a mask, a port or a path after the host, JSON text in which
# a URL ends before another value holds "@", an IPv6 host.
CLEAN = [
    "postgresql://{{username}}:{{password}}@db.internal:5432/",
    "mysql://app:${DB_PASSWORD}@db.internal/app",
    "https://app:****@db.internal/",
    "https://app:(redacted)@db.internal/",
    "https://app:[hidden]@db.internal/",
    "https://vault.internal:8200/v1/sys/health?x=a@b",
    'see "https://vault.internal:8200","contact":"ops@example.com"',
    "https://[::1]:8200/v1/secret@x",
    "ssh://git@github.com:22/org/repo.git",
    "{{username}}:{{password}}@tcp(127.0.0.1:3306)/",  # the plugin's template, as its docs write it
    "vault:****@tcp(db.internal:3306)/",
    "error: dial tcp(db) failed for vault@tcp(db:3306)",
]


def _entry(value: str) -> str:
    """A Vault/OpenBao response entry holding ``value`` in its data (a KV v1 mount with the key left in clear)."""
    return json.dumps({
        "time": "2026-11-30T08:00:00.123456789Z", "type": "response",
        "auth": {"client_token": "hmac-sha256:" + "ab" * 32, "display_name": "token-ci"},
        "request": {"id": str(uuid.uuid4()), "operation": "read", "path": "kv/app/db", "remote_address": "10.0.0.7"},
        "response": {"data": {"connection_url": value}}}, separators=(",", ":"))


def jsonl_config(tmp_path: Path, field_map: dict[str, str]) -> Path:
    """A settings file reading JSON lines through ``field_map``, without the checks a short sample cannot hold
    (tamper evidence, retention)."""
    cfg = tmp_path / "cfg.toml"
    cfg.write_text('[tool.auditready]\nlog_format = "jsonl"\nrequire_tamper_evidence = false\nretention_days = 0\n'
                   "[tool.auditready.field_map]\n" + "".join(f'{k} = "{v}"\n' for k, v in field_map.items()))
    return cfg


def leak_lines(tmp_path: Path, name: str, text: str, pure: bool,
               config: Optional[Path] = None) -> tuple[set[int], str]:
    """``auditready verify`` over ``text`` written as ``name`` (mode 0600), with or without the C extension: the
    lines of its no_secret_leak findings, and everything it printed and wrote (to look for values in)."""
    log = tmp_path / name
    log.write_text(text)
    log.chmod(0o600)
    out = tmp_path / f"{name}.json"
    env = {**os.environ, native.PURE_ENV: "1" if pure else ""}
    proc = completed(["verify", str(log), "--json", str(out), *(["--config", str(config)] if config else [])], None,
                     env, timeout=120)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(out.read_text())
    # (a value planted in a KV secret's data is also that secret's data in clear, whatever it holds: a finding of its
    # own, test_secret_data.py's; what is judged here is the value)
    found = {int(f["where"].rsplit(":", 1)[1]) for o in doc["outcomes"] if o["check"] == "no_secret_leak"
             for f in o["findings"] if "is Vault Secret Data (sha256" not in f["message"]}
    return found, proc.stdout + proc.stderr + out.read_text()


@pytest.fixture(scope="module")
def scanner():
    with LeakScanner({}) as s:
        yield s


@pytest.mark.parametrize("url", URLS)
def test_a_url_password_with_sub_delims_is_found(scanner, url):
    hits = scanner.scan_block(_entry(url).encode(), 1)
    assert [h.line for h in hits] == [1]
    assert {g.kind for g in hits[0].generic} == {"Basic Auth Credentials"}


@pytest.mark.parametrize("text", CLEAN)
def test_templates_masks_and_text_around_a_url_are_no_password(scanner, text):
    assert scanner.scan_block(_entry(text).encode(), 1) == []


def _k8s(uri_time: int, data: dict[str, str]) -> str:
    t = f"2026-11-30T10:00:{uri_time:02d}.123456Z"
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app", "namespace": "ci"}, "data": data}
    return json.dumps({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse", "auditID": str(uuid.uuid4()),
        "stage": "ResponseComplete", "requestURI": "/api/v1/namespaces/ci/configmaps", "verb": "create",
        "user": {"username": "system:serviceaccount:ci:deployer", "groups": ["system:authenticated"]},
        "sourceIPs": ["10.0.0.5"], "userAgent": "kubectl/v1.30.1",
        "objectRef": {"resource": "configmaps", "namespace": "ci", "name": "app", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 201}, "requestObject": obj, "responseObject": obj,
        "requestReceivedTimestamp": t, "stageTimestamp": t,
        "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""}})


@pytest.mark.parametrize("pure", [False, True], ids=["native", "pure"])
def test_verify_finds_them_at_their_lines_and_nothing_else(tmp_path, pure):
    """The whole engine: a real OpenBao log with the URLs planted in some entries' data, and a Kubernetes audit log
    whose ConfigMaps hold a database URL (a leak at RequestResponse level) or only a template: each leak is a
    no_secret_leak finding at its line, no other line has one."""
    src = (ROOT / "openbao/clean.log").read_text().splitlines()
    planted = {}
    for n, url in enumerate(URLS[:6] + CLEAN[:4]):
        at = 10 + 7 * n
        entry = json.loads(src[at])
        entry.setdefault("response", {}).setdefault("data", {})["connection_url"] = url
        src[at] = json.dumps(entry, separators=(",", ":"))
        if url in URLS:
            planted[at + 1] = url
    logs = {"vault": ("\n".join(src) + "\n", set(planted))}
    k8s = [_k8s(1, {"DATABASE_URL": "postgres://app:S3cr3tPassw0rd!@db.ci.svc:5432/app", "LOG_LEVEL": "debug"}),
           _k8s(2, {"DATABASE_URL": "postgres://{{username}}:{{password}}@db.ci.svc:5432/app"}),
           _k8s(3, {"AMQP_URL": "amqp://svc:Zq7;vXw4Lp9@rabbit.ci.svc:5672/"})]
    logs["k8s"] = ("\n".join(k8s) + "\n", {1, 3})
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.auditready]\nretention_days = 0\nrequire_tamper_evidence = false\n")
    for name, (text, lines) in logs.items():
        found, shown = leak_lines(tmp_path, f"{name}.log", text, pure, config)
        assert found == lines, name
        assert "S3cr3tPassw0rd" not in shown and "Zq7" not in shown and "Mq4!" not in shown and "Hy6(" not in shown
