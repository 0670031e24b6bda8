"""data_minimisation (red team rt56): personal data in the forms it reaches real logs in, and no false alarm.

F1 a key that is personal data is masked in a finding's field path; F2 national identifiers with check digits (DE
Steuer-ID, FR NIR, NL BSN, IN Aadhaar, ES DNI/NIE, IT codice fiscale), the weak ones only under a word naming them;
F3 national and "00" phone numbers under a word naming a phone; F4 internationalised addresses; F5 an IBAN in lower
case; F6 base64 text (Transit's plaintext, a ConfigMap's binaryData, an application's body); F7 a byte count is no
13-digit card number; F9 a card number as a JSON float; F10 an address URL-encoded twice; F11 full-width digits and
"An American Express".

Real OpenBao traffic (a KV mount tuned to log keys without HMAC, a Transit mount logging its plaintext) for what a
vault writes; Kubernetes events and JSON lines written to their documented formats for the rest.
"""

from __future__ import annotations

import base64
import json
import os
import random
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.checks import data_minimisation as dm
from pytest_auditready.checks.base import FAILED, PASSED, Outcome
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import verify_file
from pytest_auditready.vault.client import VaultClient
from tests._native_runs import cli_process
from tests.conftest import remember_secret

ROOT = Path(__file__).resolve().parents[1] / "fixtures"
CHECKS = [dm.CHECK]
N = list(dm.DETECTORS)

# Test values only: the card networks' published test numbers, example.com/.org, drama numbers, the IBAN registry's
# German example, identifiers built to their published check digits (no real person's).
EMAIL = "jane.doe@example.com"
VISA, MC, AMEX = "4111111111111111", "5500000000000004", "378282246310005"
for _v in (EMAIL, VISA, MC, AMEX, "+4915112345678", "DE89370400440532013000"):
    remember_secret(_v)


DEFAULT = Settings()


def outcome(path: Path, settings: Settings = DEFAULT) -> Outcome:
    return verify_file(str(path), settings, CHECKS, {}).outcomes[0]


def texts(o: Outcome) -> list[str]:
    return [f.text() for f in o.findings]


def _line_of(text: str) -> int:
    return int(text.split(", request id")[0].split("]")[0].rsplit(":", 1)[1])


def _write(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    path.chmod(0o600)
    return path


def kinds(text: str, key: str = "", number: bool = False) -> list[str]:
    return [h.what for h in dm.detect(text, N, dm.Where(key, "", number))]


# -- the detectors: each class both ways -------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "key", "what"), [
    # F2: strong shapes stand alone
    ("12345678Z", "", "a Spanish DNI"),
    ("dni 00000023-T", "", "a Spanish DNI"),
    ("X1234567L", "", "a Spanish NIE"),
    ("RSSMRA85T10A562S", "", "an Italian codice fiscale"),
    ("rssmra85t10a562s", "", "an Italian codice fiscale"),
    ("RSSMRA85T10A56NH", "", "an Italian codice fiscale"),  # omocodia: a letter for the place's last digit
    ("185057800608491", "", "a French social security number (NIR)"),
    ("1 85 05 78 006 084 91", "", "a French social security number (NIR)"),
    ("2 69 05 2A 123 456 88", "", "a French social security number (NIR)"),  # Corsica
    # F2: weak check digits, under a key or after a word naming them
    ("86095742719", "steuer_id", "a German tax identification number"),
    ("IdNr: 86 095 742 719", "", "a German tax identification number"),
    ("111222333", "bsn", "a Dutch citizen service number (BSN)"),
    ("secret/data/nl-bsn/111222333", "path", "a Dutch citizen service number (BSN)"),
    ("234123412346", "aadhaarNumber", "an Indian Aadhaar number"),
    ("aadhaar: 2341 2341 2346", "", "an Indian Aadhaar number"),
    # F3: national and 00 forms under a word naming a phone
    ("020 7946 0958", "phone", "a phone number"),
    ("030 12345678", "telefon", "a phone number"),
    ("06 12 34 56 78", "mobile", "a phone number"),
    ("415 555 0132", "phoneNumber", "a phone number"),
    ("004915112345678", "msisdn", "a phone number"),
    ("0049 151 12345678", "fax", "a phone number"),
    ("secret/data/phone-uk/020 7946 0958", "path", "a phone number"),
    # F4
    ("jürgen@müller.de", "", "an e-mail address"),
    ("josé@example.com", "", "an e-mail address"),
    ("ivan@xn--80ak6aa92e.xn--p1ai", "", "an e-mail address"),
    ("用户@例子.广告", "", "an e-mail address"),
    # F5
    ("de89370400440532013000", "", "an IBAN"),
    ("gb82 west 1234 5698 7654 32", "", "an IBAN"),
    ("De89 3704 0044 0532 0130 00", "", "an IBAN"),
    # F6: base64 and base64url text
    (base64.b64encode(b'{"email":"jane.doe@example.com"}').decode(), "", "an e-mail address"),
    (base64.urlsafe_b64encode(b'{"phone":"+14155550132"}').decode().rstrip("="), "", "a phone number"),
    (base64.b64encode(b"card 4111 1111 1111 1111").decode(), "", "a Visa card number"),
    (base64.b64encode(base64.b64encode(b"iban DE89370400440532013000")).decode(), "", "an IBAN"),  # twice
    # F9
    ("4111111111111111.0", "", "a Visa card number"),
    ('{"card":4.111111111111111E15}', "", "a Visa card number"),
    ("5.5E15", "", ""),  # no card: 5500000000000000 fails the Luhn check
    # F10
    ("/login?next=%2Fprofile%3Femail%3Djane.doe%2540example.com", "", "an e-mail address"),
    ("q=jane.doe%252540example.com", "", "an e-mail address"),  # three times
    # F11
    ("４１１１ １１１１ １１１１ １１１１", "", "a Visa card number"),
    ("\u0664" + "\u0661" * 15, "", "a Visa card number"),  # Arabic-Indic digits
    ("３７８２ ８２２４６３ １０００５", "", "an American Express card number"),
])
def test_each_form_is_found(text: str, key: str, what: str) -> None:
    found = kinds(text, key)
    assert (what in found) if what else not found, found


@pytest.mark.parametrize(("text", "key", "number"), [
    # the weak identifiers and national phone numbers need a word naming them: ids, counters, times, ports don't
    ("111222333", "", False), ("111222333", "request_id", False), ("111222333", "count", True),
    ("86095742719", "", False), ("86095742719", "id", False), ("234123412346", "", False),
    ("234123412346", "sequence", False), ("020 7946 0958", "", False), ("02079460958", "id", False),
    ("004915112345678", "", False), ("004915112345678", "order_id", False), ("415 555 0132", "note", False),
    ("telemetry 111222333", "", False),  # "tel" inside a word names no phone
    # F7: a byte count of 4 to 5 TB, a quantity of 13 to 15 digits
    ("4123456843776", "free", True), ("4500947890484", "ephemeral-storage", False),
    ("4123456843776", "bytesTransferredOut", True), ("4123456843776", "size", False),
    ('{"disk":{"free":4123456843776}}', "", False), ("378282246310005", "total", True),
    ("4123456843776", "offset", True),  # a JSON number of 13 digits under no card's name
    # times and ids that look near the strong shapes
    ("2026-01-05T08:00:05.12345678Z", "time", False), ("20260105T080005Z", "", False),
    ("12345678-1234-1234-1234-123456789012", "", False), ("v12345678a", "", False),
    ("RESPONSECOMPLETE", "", False), ("requestURIxxxxxx", "", False),
    # base64 that is no text: a digest, random bytes, a certificate's DER
    (base64.b64encode(bytes(range(32))).decode(), "", False),
    ("0DHqvq2D77kL2/JTPSZkTMJbkFVmUu0TzMi0jiXcFy8=", "client_id", False),
    ("ResponseComplete", "stage", False),
    # lower-case hex is no IBAN; an IBAN that fails mod 97 in any case
    ("de89370400440532013001", "", False), ("ab12cdef0123456789abcd", "", False),
])
def test_no_false_alarm(text: str, key: str, number: bool) -> None:
    assert kinds(text, key, number) == []


def test_national_ids_and_phones_false_alarm_rates_on_random_numbers() -> None:
    """Random numbers of each length, under no key and under keys a log gives ids, counters and times: the weak
    identifiers (1 in 10 or 11 pass their check) and national phone numbers are never found there; the strong
    shapes stay rare (NIR: its key passes 1 in 97 of the numbers of its structure)."""
    rng = random.Random(56)
    for key in ("", "id", "request_id", "count", "port", "ts"):
        for digits in (9, 10, 11, 12):
            for _ in range(1500):
                n = str(rng.randrange(10 ** (digits - 1), 10 ** digits))
                assert not [h for h in dm.detect(n, ("national_id", "phone"), dm.Where(key))], (key, n)
    nir = sum(bool(dm.detect(str(rng.randrange(10**14, 10**15)), ("national_id",))) for _ in range(20000))
    assert nir < 150  # about 0.4 % of random 15-digit strings; never a JSON number


# -- F1: keys that are personal data, masked in the path -----------------------------------------------------------
@pytest.mark.parametrize(("path", "shown"), [
    ("request.data.data.limits", "request.data.data.limits"),
    ("request.data.data.5500000000000004.limit", "request.data.data.<Mastercard card number 550000******0004>.limit"),
    ("responseObject.data.+4915112345678", "responseObject.data.<phone number +***********78>"),
    ("a.DE89370400440532013000.b", "a.<IBAN DE****************3000>.b"),
])
def test_masked_key_path(path: str, shown: str) -> None:
    assert dm.masked_key_path(path) == shown


def test_masked_key_path_never_shows_an_address_or_a_card() -> None:
    for path in ("request.data.data.jane.doe@example.com.card", "jane.doe@example.com", "x.jane.doe%40example.com.y",
                 "data.4111 1111 1111 1111.limit", "data.4111-1111-1111-1111"):
        shown = dm.masked_key_path(path)
        assert "jane" not in shown and "doe" not in shown and "example" not in shown and "1111 1111" not in shown \
            and "1111-1111" not in shown, shown
        assert "<" in shown
    assert dm.masked_key_path(["request", "data", "jane.doe@example.com", "card"]) == \
        "request.data.<e-mail address j***@***.com>.card"
    assert dm.personal_data("4111 1111 1111 1111") and dm.personal_data(base64.b64encode(b"4111111111111111").decode())
    assert not dm.personal_data("4111111111111112") and not dm.personal_data("hmac-sha256:" + "4" * 64)


def test_an_american_express_and_a_unionpay() -> None:
    assert kinds(AMEX) == ["an American Express card number"]
    assert kinds("6200000000000005") == ["a UnionPay card number"]


# -- real OpenBao traffic ------------------------------------------------------------------------------------------
@pytest.mark.vault
def test_openbao_kv_keys_transit_plaintext_and_paths(bao: Any, tmp_path: Path) -> None:
    """A KV write keyed by an address and a card number (keys are never HMAC'd; numbers are logged as written),
    national identifiers and phone numbers in secret paths, and a Transit encryption whose plaintext the mount logs
    without HMAC: each found at its line, every path masked; the same traffic on an untuned mount (strings HMAC'd)
    and the server's own host-info (byte counts of its disks) give nothing."""
    server = bao()
    c = VaultClient(server.url, server.root_token, timeout=10)
    try:
        assert c.call("POST", "sys/mounts/transit", {"type": "transit"}).status == 204
        assert c.call("POST", "transit/keys/cust", {}).status in (200, 204)
        doc = json.dumps({"email": EMAIL, "card": VISA, "iban": "DE89370400440532013000"}).encode()
        plaintext = base64.b64encode(doc).decode()
        assert c.call("POST", "transit/encrypt/cust", {"plaintext": plaintext}).status == 200
        assert c.call("GET", "sys/host-info").status in (200, 403, 500)
        clean_end = len(server.log_path.read_bytes())
        assert c.call("POST", "sys/mounts/transit/tune", {"audit_non_hmac_request_keys": ["plaintext"]}).status == 204
        assert c.call("POST", "transit/encrypt/cust", {"plaintext": plaintext}).status == 200
        assert c.call("POST", "secret/data/limits", {"data": {"john.roe@example.net": {"card": 4000056655665556},
                                                              "5555555555554444": {"limit": 5000}}}).status == 200
        for path in ("de-steuer/86095742719", "fr-nir/1 85 05 78 006 084 91", "nl-bsn/111222333",
                     "in-aadhaar/2341 2341 2346", "es-dni/12345678Z", "it-cf/RSSMRA85T10A562S",
                     "phone-uk/020 7946 0958", "phone-00/004915112345678", "mail/josé@example.com",
                     "iban/de89370400440532013000", "disk-bytes/4123456843776"):
            assert c.call("POST", f"secret/data/{path}", {"data": {"n": 1}}).status == 200
    finally:
        c.close()
    raw = server.log_path.read_bytes()
    clean = tmp_path / "clean.log"
    clean.write_bytes(raw[:clean_end])
    clean.chmod(0o600)
    o = outcome(clean)
    assert o.status == PASSED, texts(o)
    full = tmp_path / "full.log"
    full.write_bytes(raw)
    full.chmod(0o600)
    o = outcome(full)
    assert o.status == FAILED
    found = texts(o)
    lines = full.read_text().splitlines()
    want = {
        "a German tax identification number": "86095742719", "a French social security number (NIR)": "1 85 05 78",
        "a Dutch citizen service number (BSN)": "111222333", "an Indian Aadhaar number": "2341 2341 2346",
        "a Spanish DNI": "12345678Z", "an Italian codice fiscale": "RSSMRA85T10A562S",
    }
    for what, needle in want.items():
        hit = [t for t in found if what[0].upper() + what[1:] + "," in t]
        assert len(hit) == 1, (what, found)
        assert needle in lines[_line_of(hit[0]) - 1] and "field 'request.path'" in hit[0]
    plain = [t for t in found if "'request.data.plaintext'" in t]
    assert {t.split("] ", 1)[1].split(", ")[0] for t in plain} >= {"An e-mail address", "A Visa card number", "An IBAN"}
    assert all('"plaintext":"' in lines[_line_of(t) - 1] for t in plain)
    assert any("field 'request.data.data.<e-mail address j***@***.net>.card'" in t and "400005******5556" in t
               for t in found), found
    assert any("A Mastercard card number, 555555******4444" in t for t in found), found
    assert any("A phone number, *********58" in t for t in found), found
    assert any("A phone number, *************78" in t for t in found), found
    assert not [t for t in found if "4123456843776" in lines[_line_of(t) - 1] and "card" in t]
    for t in found:
        for clear in (EMAIL, "jane.doe", "john.roe", "5555555555554444", "4000056655665556", VISA, "josé"):
            assert clear not in t, t


# -- the command line, both paths, every report ------------------------------------------------------------------
def _k8s_event(n: int, obj: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
            "auditID": f"5f1c6a1e-4c1f-4f0b-a0f1-2d5e8c3b7a{n:02d}", "stage": "ResponseComplete",
            "requestURI": "/api/v1/namespaces/crm/configmaps", "verb": "create",
            "user": {"username": "system:serviceaccount:crm:deployer", "groups": ["system:serviceaccounts"]},
            "sourceIPs": ["10.0.4.17"], "userAgent": "kubectl/v1.31.0",
            "objectRef": {"resource": "configmaps", "namespace": "crm", "name": obj["metadata"]["name"],
                          "apiVersion": "v1"},
            "responseStatus": {"metadata": {}, "code": 201}, "requestObject": obj, "responseObject": obj,
            "requestReceivedTimestamp": f"2026-03-02T10:15:{n:02d}.120417Z",
            "stageTimestamp": f"2026-03-02T10:15:{n:02d}.140863Z"}


def _cm(name: str, **parts: Any) -> dict[str, Any]:
    return {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": name, "namespace": "crm"}, **parts}


def _node(n: int, storage: str) -> dict[str, Any]:
    node = {"kind": "Node", "apiVersion": "v1", "metadata": {"name": f"node-{n}"},
            "status": {"capacity": {"ephemeral-storage": "4883841027Ki"},
                       "allocatable": {"ephemeral-storage": storage, "memory": "4123456843776"}}}
    ev = _k8s_event(n, _cm("x", data={}))
    ev.update(requestURI="/api/v1/nodes", objectRef={"resource": "nodes", "name": f"node-{n}", "apiVersion": "v1"},
              requestObject=node, responseObject=node,
              user={"username": "system:node:node-1", "groups": ["system:nodes"]})
    return ev


def _verify(args: list[str], cwd: Path, pure: bool) -> tuple[int, str]:
    code, stdout, stderr = cli_process(["verify", *args], cwd, pure)
    return code, stdout + stderr


@pytest.mark.parametrize("pure", [False, True], ids=["native", "pure"])
def test_kubernetes_events_both_paths_every_report(tmp_path: Path, pure: bool) -> None:
    payload = json.dumps({"email": "john.roe@example.net", "card": VISA}).encode()
    _write(tmp_path / "bad.log", [
        _k8s_event(1, _cm("oncall", data={EMAIL: "+4915112345678"})),                                     # F1
        _k8s_event(2, _cm("customers", binaryData={"customers.json": base64.b64encode(payload).decode()})),  # F6
        _k8s_event(3, _cm("dir", data={"phone": "020 7946 0958", "iban": "gb82west12345698765432"})),     # F3, F5
        _k8s_event(4, _cm("ids", data={"steuer_id": "86095742719", "aadhaar": "234123412346"})),          # F2
    ])
    _write(tmp_path / "good.log", [_node(1, "4500947890484"), _node(2, "4123456843776"),  # F7
                                          _k8s_event(3, _cm("app", data={"port": "8443", "count": "111222333",
                                                                         "id": "86095742719"}))])
    (tmp_path / "pyproject.toml").write_text("[tool.auditready]\nrequire_tamper_evidence = false\n"
                                             "retention_days = 0\n")
    rc, out = _verify(["good.log"], tmp_path, pure)
    assert rc == 0 and "data_minimisation" not in out.split("checks hold")[-1], out
    rc, out = _verify(["bad.log", "--json", "o.json", "--sarif", "o.sarif", "--junit", "o.xml", "--evidence", "ev"],
                      tmp_path, pure)
    assert rc == 1 and "FAIL data_minimisation" in out, out
    expected = {
        "A phone number, +***********78, is logged in clear text in field "
        "'responseObject.data.<e-mail address j***@***.com>'": 1,
        "An e-mail address, j***@***.net, is logged in clear text in field 'res": 2,
        "A Visa card number, 411111******1111": 2,
        "A phone number, *********58": 3, "An IBAN, GB****************5432": 3,
        "A German tax identification number, *********19": 4, "An Indian Aadhaar number, **********46": 4,
    }
    for text, line in expected.items():
        assert f"bad.log:{line}," in out.replace("'requestObject", "'responseObject").split(text)[0].rsplit("\n", 1)[-1], \
            (text, out)
    assert "Object.binaryData.customers.json'" in out
    reports = out + "".join(p.read_text() for p in [tmp_path / "o.json", tmp_path / "o.sarif", tmp_path / "o.xml",
                                                    *sorted((tmp_path / "ev").iterdir())] if p.is_file())
    for clear in (EMAIL, "jane.doe", "john.roe", VISA, "4915112345678", "7946 0958", "86095742719", "234123412346",
                  "gb82west"):
        assert clear not in reports, clear


@pytest.mark.parametrize("pure", [False, True], ids=["native", "pure"])
def test_json_lines_forms_both_paths(tmp_path: Path, pure: bool) -> None:
    """An application's JSON lines: a float card number, an address encoded twice, full-width digits, base64url, a
    lower-case IBAN; each at its line. The same application's ordinary lines give nothing."""
    def row(n: int, **extra: Any) -> dict[str, Any]:
        return {"ts": f"2026-03-02T10:15:{n:02d}.123Z", "user": {"email": "ops@example.org"}, "path": "/api/pay",
                "method": "POST", "status": 200, "ip": "10.0.0.7", "req_id": f"r-{n:04d}", **extra}
    lines = [
        row(1, bytes=4123456843776, duration_ms=1234, port=8443),
        row(2, token=base64.urlsafe_b64encode(os.urandom(24)).decode(), digest="sha256:" + "ab" * 32),
        '{"ts":"2026-03-02T10:15:03.123Z","user":{"email":"ops@example.org"},"path":"/p","method":"POST",'
        '"status":200,"ip":"10.0.0.7","req_id":"r-0003","card":4111111111111111.0}',
        row(4, path="/login?next=%2Fprofile%3Femail%3Djane.doe%2540example.com"),
        row(5, card="４１１１ １１１１ １１１１ １１１１"),
        row(6, body_b64url=base64.urlsafe_b64encode(b'{"phone":"+14155550132"}').decode().rstrip("=")),
        row(7, iban="de89 3704 0044 0532 0130 00"),
        '{"ts":"2026-03-02T10:15:08.123Z","user":{"email":"ops@example.org"},"path":"/p","method":"POST",'
        '"status":200,"ip":"10.0.0.7","req_id":"r-0008","card":4.111111111111111E15}',
    ]
    log = _write(tmp_path / "app.log", lines)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\nlog_format = "jsonl"\n'
        '[tool.auditready.field_map]\ntime = "ts"\nidentity = "user.email"\nresource = "path"\naction = "method"\n'
        'result = "status"\nsource = "ip"\nrequest_id = "req_id"\n')
    rc, out = _verify([log.name], tmp_path, pure)
    assert rc == 1, out
    dm_part = out.split("FAIL data_minimisation")[1].split("\nSKIP")[0].split("\nPASS")[0]
    at = {n: [ln for ln in dm_part.splitlines() if f"app.log:{n}," in ln] for n in range(1, 9)}
    assert not at[1] and not at[2], out
    assert "A Visa card number, 411111******1111" in at[3][0] and "also on lines 5, 8" in at[3][0], out
    assert "An e-mail address, j***@***.com" in at[4][0]
    assert "A phone number, +*********32" in at[6][0] and "field 'body_b64url'" in at[6][0]
    assert "An IBAN, DE****************3000" in at[7][0]
    assert "jane.doe" not in out and "4111111111111111" not in out and "14155550132" not in out


# -- the repository's real logs: no finding more than before -------------------------------------------------------
def test_real_logs_of_every_format_give_no_new_finding() -> None:
    """Every fixture log the reader takes (Vault/OpenBao, Kubernetes, CloudTrail; JSON lines of six producers with
    their field maps): only the personal data the leaky fixtures plant (the same findings as before these
    detectors)."""
    from tests.test_unseen_jsonl import PRODUCERS, _settings

    found: dict[str, list[str]] = {}
    for p in sorted(ROOT.rglob("*")):
        if not p.is_file() or p.suffix in (".md", ".py", ".hcl", ".txt", ".csv", ".out", ".toml"):
            continue
        try:
            o = outcome(p)
        except Exception:  # a file no format reads (refused as the CLI refuses it)
            continue
        if o.findings:
            found[str(p.relative_to(ROOT))] = [f.message.split(",")[0] for f in o.findings]
    for producer, (name, *_rest) in PRODUCERS.items():
        o = verify_file(str(ROOT / "jsonl" / "unseen" / name), _settings(producer), CHECKS, {}).outcomes[0]
        assert o.status == PASSED, texts(o)
    assert found == {
        "openbao/engines/personal-paths.log": ["An e-mail address", "A phone number", "A phone number"],
        "real-cloud/cloudtrail/assume-role.json": ["An e-mail address"],
    }, found


def test_the_extra_prefilters_hold_every_new_form() -> None:
    """A line holding any form above is a candidate in all three prefilter paths (the C pass with Hyperscan beside
    it, Hyperscan alone, Python's re), with a detector that finds it."""
    from pytest_auditready.checks.data_minimisation import Scanner, _prefilter, _slow_prefilter

    scanner = Scanner(Settings())
    paths = [_prefilter(tuple(N)), _prefilter(tuple(N), native=False), _slow_prefilter(tuple(N))]
    values = ["12345678Z", "RSSMRA85T10A562S", "1 85 05 78 006 084 91", "185057800608491", "nl-bsn/111222333",
              "steuer-id 86095742719", "aadhaar 2341 2341 2346", "phone: 020 7946 0958", "tel 004915112345678",
              "jürgen@müller.de", "josé@example.com", "ivan@xn--80ak6aa92e.xn--p1ai", "de89370400440532013000",
              base64.b64encode(b'{"email":"jane.doe@example.com"}').decode(), "jane.doe%2540example.com",
              "４１１１ １１１１ １１１１ １１１１", "4.111111111111111E15"]
    base = json.loads((ROOT / "openbao" / "clean.log").read_text().splitlines()[20])
    for v in values:
        base["request"]["data"] = {"note": v}
        for line in (json.dumps(base, separators=(",", ":"), ensure_ascii=False).encode(), f"x {v} y".encode()):
            assert scanner.judge_line(line), v
            for f in paths:
                assert f is not None and 0 in f(line), (v, f)


def test_a_vault_log_is_judged_about_as_fast() -> None:
    """The base64 look runs on every Vault line (client_id is base64): a 4 MB log stays well under a second of the
    check's time per MB."""
    data = (ROOT / "openbao" / "clean.log").read_bytes()
    started = time.monotonic()
    m = dm.Minimisation.__new__(dm.Minimisation)
    dm.Minimisation.__init__(m, type("Ctx", (), {"settings": Settings(), "digest_key": b"k"})())  # type: ignore[arg-type]
    for _ in range(max(1, 4_000_000 // len(data))):
        m.block("x", 1, data)
    assert time.monotonic() - started < 4.0
    assert not m.found
