"""Known values (canaries, scenario tokens) in the encodings a pipeline or a person adds around them (red team rt65,
F4): a gzip body in base64 (``H4sI…``: Helm 3's release storage, a ConfigMap's binaryData, a request body; also
that base64 in base64, a Secret's data), quoted-printable (``=3D``), invisible characters inside the value, full-width
forms, the base64 of the value's hex. A zip bomb costs a bounded inflate and is counted; a benign gzip body, and a
look-alike string (another string: it would not authenticate), are no hit.

Lines are real OpenBao audit shapes (token metadata, which the vault writes in clear), judged by LeakScanner: its
Hyperscan prefilter, then the judge.
"""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

import pytest

from pytest_auditready.scan import known
from pytest_auditready.scan.hyperscan import LeakScanner
from pytest_auditready.scan.known import KnownValues
from tests.conftest import remember_secret

C1 = remember_secret("qBZK6ekSCypPBGkx58RodFa0JPsbJErZ8xgRS9ExzUY")  # secrets.token_urlsafe(32), as the plugin makes
C2 = remember_secret("Winter2026!Spring")
C3 = remember_secret("tiger=lily=Blossom7")
VALUES = {"canary:c1": C1, "canary:c2": C2, "canary:c3": C3}


def _gzb64(text: str) -> str:
    return base64.b64encode(gzip.compress(text.encode("utf-8"), mtime=0)).decode("ascii")


def _line(note: str) -> bytes:
    """An OpenBao response entry of ``bao token create -metadata=note=...`` (auth.metadata is written in clear),
    as Go's encoding/json writes it."""
    entry = {"time": "2026-12-06T01:51:02.123456Z", "type": "response",
             "auth": {"client_token": "hmac-sha256:0a1b", "accessor": "hmac-sha256:2c3d", "display_name": "root",
                      "policies": ["root"], "token_type": "service"},
             "request": {"id": "d62b17c6-c657-74cf-c7bd-8c44715322cb", "operation": "update",
                         "client_token": "hmac-sha256:0a1b", "path": "auth/token/create",
                         "remote_address": "127.0.0.1", "namespace": {"id": "root"}},
             "response": {"auth": {"client_token": "hmac-sha256:4e5f", "accessor": "hmac-sha256:6a7b",
                                   "policies": ["default"], "metadata": {"note": note}}}}
    text = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e").encode("utf-8")


def _scan(lines: list[bytes]) -> dict[int, list[tuple[str, str, str]]]:
    with LeakScanner(VALUES) as scanner:
        return {h.line: list(h.known) for h in scanner.scan_block(b"\n".join(lines) + b"\n", 1)}


HELM_RELEASE = json.dumps({"name": "db", "version": 1, "config": {"auth": {"postgresPassword": C2}},
                           "manifest": "apiVersion: v1\nkind: Secret\n" + "x: y\n" * 200})

SPELLED = [
    # (value in the log, canary, encoding named)
    (_gzb64(C2), "canary:c2", "raw in gzip+base64"),
    (_gzb64(C1), "canary:c1", "raw in gzip+base64"),
    (_gzb64(HELM_RELEASE), "canary:c2", "raw in gzip+base64"),  # Helm 3's ConfigMap storage driver
    (base64.b64encode(_gzb64(HELM_RELEASE).encode()).decode(), "canary:c2", "raw in gzip+base64"),  # a Secret's
    (base64.urlsafe_b64encode(gzip.compress(C3.encode(), mtime=0)).decode(), "canary:c3", "raw in gzip+base64"),
    ("tiger=3Dlily=3DBlossom7", "canary:c3", "quoted-printable"),
    ("\u200b".join(C2), "canary:c2", "raw+unicode-folded"),
    ("Winte\u200dr2026!Spring", "canary:c2", "raw+unicode-folded"),
    (C1[:10] + "\ufeff" + C1[10:], "canary:c1", "raw+unicode-folded"),
    ("".join(chr(ord(c) + 0xFEE0) for c in C2), "canary:c2", "raw+unicode-folded"),  # full-width forms
    ("".join(chr(ord(c) + 0xFEE0) for c in C1), "canary:c1", "raw+unicode-folded"),
    (base64.b64encode(C2.encode().hex().encode()).decode(), "canary:c2", "base64 of hex"),
    (base64.b64encode(C1.encode().hex().encode()).decode(), "canary:c1", "base64 of hex"),
]


@pytest.mark.parametrize(("value", "name", "encoding"), SPELLED)
def test_each_encoding_is_named_at_its_line(value: str, name: str, encoding: str) -> None:
    assert (name, encoding) in [(h.name, h.encoding) for h in KnownValues(VALUES).find(value)]
    found = _scan([_line("benign note"), _line(value)])
    assert list(found) == [2]
    assert (name, encoding, "note") in found[2]


def _qp(text: str) -> str:
    """``text`` quoted-printable as RFC 2045 writes it ("=" and non-ASCII bytes as =XX), no line broken."""
    return "".join(c if c != "=" and c.isascii() else "".join(f"={b:02X}" for b in c.encode()) for c in text)


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
@pytest.mark.parametrize("name", sorted(VALUES))
def test_a_value_cut_by_a_quoted_printable_soft_line_break_is_found_at_its_line(name: str, eol: str) -> None:
    """RFC 2045 6.7 (5): an encoded line is at most 76 characters, and a longer one is cut by a soft line break, "="
    at the end of a line, anywhere between encoded characters. A MIME body relayed into a log (a mail the vault's
    caller sent, an error quoting one) cuts a value so wherever it reaches column 76: it was found only where the
    break fell outside it (red team rt98 F4). Each cut of each value, with the body's real line end (JSON-escaped
    in the log), at its line."""
    value = VALUES[name]
    for cut in range(1, len(value)):
        body = "mail body: " + _qp(value[:cut]) + "=" + eol + _qp(value[cut:]) + " (expires in 30 days)"
        assert name in [h.name for h in KnownValues(VALUES).find(body)], cut
        found = _scan([_line("benign note"), _line(body)])
        assert list(found) == [2], cut
        assert any(n == name and "line-wrapped" in enc for n, enc, _key in found[2]), (cut, found[2])


def test_a_soft_line_break_beside_no_value_is_no_hit() -> None:
    """The same breaks in a body that holds no known value, and base64 padding at the end of a PEM line (its "="
    before a line end), are no known value's hit."""
    body = "mail body: " + _qp("Winter2026 is=near") + "=\n" + _qp("Spring soon, tiger lily") + "=\r\n"
    pem = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ==\n-----END CERTIFICATE-----\n"
    assert [known for known in _scan([_line(body), _line(pem)]).values() if known] == []  # (the line's short
    # fixture digests are judged as what they are, no known value)


def test_python_json_escapes_of_invisible_and_full_width_characters_are_read() -> None:
    """Python's json (ensure_ascii) writes them as \\u escapes: read as the characters."""
    zw = json.dumps("\u200b".join(C2))[1:-1]
    wide = json.dumps("".join(chr(ord(c) + 0xFEE0) for c in C2))[1:-1]
    for spelled in (zw, wide):
        assert "canary:c2" in [h.name for h in KnownValues(VALUES).find(spelled)]
        with LeakScanner(VALUES) as scanner:
            raw = b'{"time":"2026-12-06T01:51:02Z","note":"' + spelled.encode() + b'"}\n'
            assert [h.line for h in scanner.scan_block(raw, 1)] == [1]


CLEAN = [
    _gzb64(json.dumps({"dashboard": {"title": "Node Exporter Full", "panels": list(range(300))}})),
    _gzb64(C2[:-1]),  # not the value
    "H4sIAAAAAAAAA" + "B" * 40,  # the magic, then no deflate stream
    "Wіntеr2026!Sprіng",  # Cyrillic look-alikes: another string
    "tiger=3Dlily",
    "zero\u200bwidth ＦＵＬＬ ｗｉｄｔｈ",
]


@pytest.mark.parametrize("value", CLEAN)
def test_benign_encoded_text_is_no_hit(value: str) -> None:
    assert KnownValues(VALUES).find(value) == []
    assert not any(_scan([_line(value)]).values())  # (a generic hit on compressed bytes: scan.secrets' matter)


def test_a_zip_bomb_is_inflated_to_the_limit_and_counted() -> None:
    """A body that inflates beyond INFLATE_MAX is read up to it (a value there is still named), counted as cut;
    memory and time stay bounded by the limit, not by the body."""
    bomb = gzip.compress(C2.encode() + b"\0" * (known.INFLATE_MAX * 4), compresslevel=9)
    kv = KnownValues(VALUES)
    hits = kv.find(base64.b64encode(bomb).decode())
    assert ("canary:c2", "raw in gzip+base64") in [(h.name, h.encoding) for h in hits]
    assert kv.uninflated == 1
    hidden = gzip.compress(b"\0" * (known.INFLATE_MAX * 2) + C2.encode(), compresslevel=9)
    assert KnownValues(VALUES).find(base64.b64encode(hidden).decode()) == []  # beyond the limit: not read ...
    kv2 = KnownValues(VALUES)
    kv2.find(base64.b64encode(hidden).decode())
    assert kv2.uninflated == 1  # ... and counted


def test_many_bodies_share_one_budget() -> None:
    """One text of many bombs inflates at most INFLATE_BUDGET bytes; the rest are counted, not inflated."""
    body = base64.b64encode(gzip.compress(b"\0" * known.INFLATE_MAX, compresslevel=9)).decode()
    n = known.INFLATE_BUDGET // known.INFLATE_MAX + 3
    kv = KnownValues(VALUES)
    assert kv.find(" ".join([body] * n)) == []  # the same body n times, apart
    assert kv.uninflated == 1  # (one distinct body: each copy past the budget is the same run)


def test_gunzipped_gives_the_text_of_a_whole_gzip_value() -> None:
    """For the secret scanner's entropy judge: a value that is one gzip body is judged by its text."""
    text = json.dumps({"title": "Node Exporter Full"})
    assert known.gunzipped(_gzb64(text)) == text
    assert known.gunzipped("H4sIAAAAAAAAA" + "B" * 40) is None
    assert known.gunzipped("prefix " + _gzb64(text)) is None


def test_the_new_needles_are_spellings_a_report_hides() -> None:
    assert base64.b64encode(C2.encode().hex().encode()).decode().rstrip("=")[:12] in "".join(known.spellings(C2))


# -- a gzip body's text is what the generic judge reads (no known values) -----------------------------------------
def _configmap(binary: dict[str, str]) -> bytes:
    """A Kubernetes audit event of a ConfigMap create at level Request, its binaryData in base64 (as the API server
    records the object)."""
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dash", "namespace": "mon"},
           "binaryData": binary}
    t = "2026-11-30T10:00:00.123456Z"
    return json.dumps({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Request",
        "auditID": "7d0f3c56-0d0c-4b8e-9d59-1b1f5e0c7a11", "stage": "ResponseComplete",
        "requestURI": "/api/v1/namespaces/mon/configmaps", "verb": "create",
        "user": {"username": "system:serviceaccount:ci:deployer", "groups": ["system:authenticated"]},
        "sourceIPs": ["10.0.0.5"], "userAgent": "kubectl/v1.30.1",
        "objectRef": {"resource": "configmaps", "namespace": "mon", "name": "dash", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 201}, "requestObject": obj,
        "requestReceivedTimestamp": t, "stageTimestamp": t}, separators=(",", ":")).encode()


DASHBOARD = json.dumps({"title": "Node Exporter Full", "panels": [
    {"id": i, "type": "graph", "title": f"CPU {i}", "targets": [{"expr": f"rate(node_cpu_seconds_total[{i}m])"}]}
    for i in range(1, 60)]})


def test_a_benign_gzip_body_is_judged_by_its_text_not_its_randomness() -> None:
    """Compressed bytes are random by construction: a gzipped dashboard in a ConfigMap's binaryData failed as a
    Base64 High Entropy String (red team rt65). Its text is judged instead, and holds nothing."""
    from pytest_auditready.auditlog.formats import FORMATS

    line = _configmap({"node-exporter-full.json.gz": _gzb64(DASHBOARD)})
    with LeakScanner({}, fmt=FORMATS["k8s"]) as scanner:
        assert scanner.scan_block(line + b"\n", 1) == []


def test_a_password_inside_a_gzip_body_is_named_by_its_own_key() -> None:
    """A Helm 3 release (base64 of gzip of its JSON) holding a password: found under the key the release gives it,
    as if the release were logged in clear; a secret line in a gzipped text file too."""
    from pytest_auditready.auditlog.formats import FORMATS

    helm = json.dumps({"name": "db", "config": {"auth": {"postgresPassword": "Zq7vXw4Lp9!tR"}}})
    env = "LOG_LEVEL=info\nAWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY\n"
    with LeakScanner({}, fmt=FORMATS["k8s"]) as scanner:
        (hit,) = scanner.scan_block(_configmap({"release": _gzb64(helm)}) + b"\n", 1)
        assert [(g.kind, g.key) for g in hit.generic] == [("Secret Keyword", "postgresPassword")]
        (hit,) = scanner.scan_block(_configmap({"app.env.gz": _gzb64(env)}) + b"\n", 1)
        assert hit.generic and all(g.key == "app.env.gz" for g in hit.generic), hit.generic


def test_a_body_inflated_only_in_part_fails_no_secret_leak(tmp_path: Path) -> None:
    """A gzip body that inflates past the cap (a zip bomb) is read in part: with known values to look for, that is a
    no_secret_leak finding (fail closed), not a pass; the same log with a small body passes."""
    from pytest_auditready.checks import BUILTIN
    from pytest_auditready.checks.base import FAILED
    from pytest_auditready.config import Settings
    from pytest_auditready.engine.files import offline_checks, verify_file

    bomb = base64.b64encode(gzip.compress(b"\0" * (known.INFLATE_MAX + (1 << 20)), mtime=0)).decode("ascii")
    checks = [c for c in offline_checks(BUILTIN) if c.id == "no_secret_leak"]
    for note, cut in ((bomb, True), (_gzb64("nothing to see"), False)):
        log = tmp_path / "audit.log"
        log.write_bytes(_line(note) + b"\n")
        (o,) = verify_file(str(log), Settings(), checks, VALUES).outcomes
        assert cut is any("inflate past 8 MiB" in f.message for f in o.findings), o.findings
        assert o.status == FAILED or not cut
