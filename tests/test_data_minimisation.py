"""data_minimisation (issue 18, item 2): no card number, e-mail address, phone number, IBAN or national identifier
in clear text outside the fields a format writes in clear as evidence; findings show a masked form only.

Real traffic: an OpenBao whose KV mount is tuned to log some request keys without HMAC
(``audit_non_hmac_request_keys``), the misconfiguration that puts personal data in a Vault log, against the same
traffic on an untuned mount; and a live run whose own scenario action plants a test card number there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.checks import data_minimisation as dm
from pytest_auditready.checks.base import FAILED, PASSED, SKIPPED, Outcome
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import verify_file
from pytest_auditready.vault.client import VaultClient
from tests._native_runs import completed
from tests.auditrun import run_audit
from tests.conftest import remember_secret

ROOT = Path(__file__).resolve().parents[1] / "fixtures"
CHECKS = [dm.CHECK]

# Test values only: the card networks' published test numbers, example.com, a UK drama number, the IBAN registry's
# German example, an SSN of valid shape. Each is a "secret" for the output guard: no report may show it.
PLANTED = {
    "card": ["4111 1111 1111 1111", "5555555555554444"],
    "email": ["jane.doe@example.com"],
    "phone": ["+44 20 7946 0958"],
    "iban": ["DE89 3704 0044 0532 0130 00"],
    "national_id": ["123-45-6789"],
}
MASKED = ["411111******1111", "555555******4444", "j***@***.com", "+**********58", "DE****************3000",
          "***-**-6789"]
for _vs in PLANTED.values():
    for _v in _vs:
        remember_secret(_v)
        remember_secret(_v.replace(" ", ""))


DEFAULT = Settings()


def outcome(path: Path, settings: Settings = DEFAULT) -> Outcome:
    return verify_file(str(path), settings, CHECKS, {}).outcomes[0]


def texts(o: Outcome) -> list[str]:
    return [f.text() for f in o.findings]


# -- the detectors: shape and validation -------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "kinds"), [
    ("card 4111 1111 1111 1111 on file", ["card"]),
    ("4111-1111-1111-1111", ["card"]),
    ("5555555555554444", ["card"]),
    ("3782 822463 10005", ["card"]),  # American Express, 4-6-5
    ("4111111111111112", []),  # Luhn fails
    ("1234567812345670", []),  # Luhn holds, no card network starts with 12
    ("1732300000000000000", []),  # a nanosecond timestamp
    ("12345678-1234-1234-1234-123456789012", []),  # a UUID of digits
    ("alice@example.com", ["email"]),
    ("alice%40example.com", ["email"]),  # URL-encoded
    ("hmac-sha256:0a1b", []),
    ("root@localhost", []),  # no top-level domain
    # a remote shell's destination in a command line (a Teleport exec event): a login on a host (red team rt16 F7)
    ("git clone git@github.com:acme/app.git", []),
    ("ssh -i k.pem -p 22 admin@bastion.example.com uptime", []),
    ("scp report.csv deploy@web1.example.com:/tmp/", []),
    ("rsync -av ./ ops@backup.example.com:/srv", []),
    ("mail -s hi jane@example.com", ["email"]),  # an address all the same
    ("echo jane@example.com: done", ["email"]),
    ("+44 20 7946 0958", ["phone"]),
    ("(415) 555-0132", ["phone"]),
    ("415-555-0132", ["phone"]),
    ("192.168.100.200", []),
    ("2026-01-05T08:00:05.123Z", []),
    ("version 1.2.3", []),
    ("DE89 3704 0044 0532 0130 00", ["iban"]),
    ("GB82WEST12345698765432", ["iban"]),
    ("DE89370400440532013001", []),  # mod-97 fails
    ("123-45-6789", ["national_id"]),
    ("000-12-3456", []),  # area 000 is never issued
    ("666-12-3456", []),
    ("912-12-3456", []),
    ("123-00-6789", []),
    ("123-45-0000", []),
    ("AB123456C", ["national_id"]),  # a UK National Insurance number
    ("GB123456A", []),  # a prefix never used
])
def test_detectors(text: str, kinds: list[str]) -> None:
    assert [h.detector for h in dm.detect(text, list(dm.DETECTORS))] == kinds


def test_masks_show_at_most_first_six_and_last_four() -> None:
    hits = dm.detect("4111 1111 1111 1111 jane.doe@example.com DE89 3704 0044 0532 0130 00 123-45-6789",
                     list(dm.DETECTORS))
    assert [h.masked for h in hits] == ["411111******1111", "j***@***.com", "DE****************3000", "***-**-6789"]
    assert all("4111 1111" not in repr(h) and "jane" not in repr(h) for h in hits)


def test_every_prefilter_covers_its_detector() -> None:
    """A value the detector finds is never skipped by the Hyperscan prefilter (which only says where to look)."""
    import re

    samples = {"card": ["4111 1111 1111 1111", "3782-822463-10005", "5555555555554444"],
               "email": ["a.b+c@mail.example.org", "alice%40example.com", "a@x.1y.example"],
               "phone": ["+1 (415) 555-0132", "(415) 555-0132", "415.555.0132", "+4915123456789"],
               "iban": ["GB82 WEST 1234 5698 7654 32", "NO9386011117947"],
               "national_id": ["123-45-6789", "AB 12 34 56 C"]}
    for name, values in samples.items():
        for v in values:
            assert dm.detect(v, [name]), (name, v)
            assert any(re.search(p, v.encode()) for p in dm.PREFILTERS[name]), (name, v)


def test_the_card_prefilter_holds_every_card_the_judge_reads_in_any_json_context() -> None:
    """The card prefilter looks for 13 digits only where a card number's run can start as the judge reads the line:
    nothing alphanumeric before it once the JSON escapes are read (so the digits inside HMAC digests, on every
    Vault line, are not candidates). Wherever the judge finds a card, in a value or in a line that is not JSON,
    after any escape, letter, digest or byte, both prefilter paths (Hyperscan and the C extension, whichever is
    built) mark the line."""
    import itertools

    from pytest_auditready.checks.data_minimisation import Scanner, _prefilter, _slow_prefilter

    base = json.loads((ROOT / "openbao" / "clean.log").read_text().splitlines()[20])
    base["request"]["data"] = {"note": "@@NOTE@@"}
    template = json.dumps(base, separators=(",", ":"))
    before = ["", " ", "x", "A", "f", "0", "-", "_", ":", "/", "\\n", "\\t", "\\r", "\\b", "\\f", "\\/", '\\"', "\\\\",
              "\\\\n", "\\u002F", "\\u0041", "\\u00e9", "\\u000a", "\\u003", "hmac-sha256:ab", "hmac-sha256:", "é",
              "\\u00", "x\\u0031"]
    cards = ["4111111111111111", "5555555555554444", "378282246310005", "4111111111111"]
    after = ["", " ", "x", "\\n", "0"]
    scanner = Scanner(Settings())
    fast, hs, slow = _prefilter(("card",)), _prefilter(("card",), native=False), _slow_prefilter(("card",))
    assert fast is not None and hs is not None
    found = 0
    for b, c, a in itertools.product(before, cards, after):
        for raw in (template.replace("@@NOTE@@", b + c + a), "paid " + b + c + a + " ok"):
            line = raw.encode()
            judged = [h for _, h in scanner.judge_line(line, ("card",)) if h.detector == "card"]
            marks = [0 in f(line) for f in (fast, hs, slow)]
            assert marks[0] == marks[1] == marks[2], (raw, marks)
            if judged:
                found += 1
                assert marks[0], raw
    assert found > 200
    # A real log whose digests are fresh random ones (about 1 line in 5 here holds 13 digits in a row inside a
    # digest): a few lines stay candidates (a digest that starts with 13 digits: the judge reads a card after
    # "hmac-sha256:" when a digest is cut short), most do not.
    import random
    import re

    rng = random.Random(5)
    text = (ROOT / "openbao" / "clean.log").read_bytes() * 20
    text = re.sub(rb"hmac-sha256:[0-9a-f]{64}", lambda _m: b"hmac-sha256:%064x" % rng.getrandbits(256), text)
    runs = {text.rfind(b"\n", 0, m.end()) + 1 for m in re.finditer(rb"\d{13}", text)}
    grouped = {text.rfind(b"\n", 0, m.end()) + 1 for m in re.finditer(dm.PREFILTERS["card"][1], text)}
    marked = {ls for ls, ds in fast(text).items() if "card" in ds}
    assert len(runs) > 300 and len(marked - grouped) * 10 < len(runs), (len(runs), len(grouped), len(marked))


def test_the_grouped_card_prefilter_holds_every_grouped_card_and_no_request_id() -> None:
    """A grouped card number ("4111 1111 1111 1111", "3782-822463-10005") is a candidate wherever the judge can read
    it: after any escape, byte or start of line, in a value or in a line that is not JSON. The groups of digits in a
    UUID (a request id; about one in a hundred has three such groups in a row) are not: they follow a hex digit or a
    "-", where the judge reads no card; so such lines are not judged whole, in all three prefilter paths."""
    import itertools

    from pytest_auditready.checks.data_minimisation import Scanner, _prefilter, _slow_prefilter

    base = json.loads((ROOT / "openbao" / "clean.log").read_text().splitlines()[20])
    base["request"]["data"] = {"note": "@@NOTE@@"}
    template = json.dumps(base, separators=(",", ":"))
    before = ["", " ", "x", "A", "f", "0", "-", "_", ":", "/", "(", "\\n", "\\t", "\\/", '\\"', "\\\\", "\\\\n",
              "\\u0020", "\\u002D", "\\u0041", "\\u00e9", "\\u003", "é", "x\\u0031", "card-", "no. "]
    cards = ["4111 1111 1111 1111", "4111-1111-1111-1111", "3782-822463-10005", "3782 822463 10005",
             "4111 1111 1111 1111 123"]
    scanner = Scanner(Settings())
    paths = [_prefilter(("card",)), _prefilter(("card",), native=False), _slow_prefilter(("card",))]
    found = 0
    for b, c in itertools.product(before, cards):
        for raw in (template.replace("@@NOTE@@", b + c), "paid " + b + c + " ok", b + c):
            line = raw.encode()
            judged = [h for _, h in scanner.judge_line(line, ("card",)) if h.detector == "card"]
            marks = [0 in f(line) for f in paths if f is not None]
            assert len(set(marks)) == 1, (raw, marks)
            if judged:
                found += 1
                assert marks[0], raw
    assert found > 150
    for rid in ("f13a2580-7104-4636-a3c3-6f834063bd7c", "12345678-1234-1234-1234-123456789012",
                "5C986415-5A24-4735-8140-2730163E747F", "00000000-0000-4000-8000-000000000000"):
        base["request"]["id"] = rid
        base["request"]["data"] = {"note": "nothing personal"}
        line = json.dumps(base, separators=(",", ":")).encode()
        assert not scanner.judge_line(line, ("card",)), rid  # the judge reads no card in it ...
        # ... nor is the line a candidate for it (a Vault line is one for a base64 look: its client_id)
        assert ["card" in f(line).get(0, ()) for f in paths if f is not None] == [False] * 3, rid


# -- the repository's correct logs ------------------------------------------------------------------------------
CORRECT = sorted(str(p.relative_to(ROOT)) for p in [*(ROOT / "openbao").glob("*.log"),
                                                    *(ROOT / "openbao" / "odd").glob("correct*.log"),
                                                    ROOT / "k8s" / "real" / "correct.log",
                                                    ROOT / "cloudtrail" / "real" / "correct.json"])


@pytest.mark.parametrize("name", CORRECT)
def test_no_finding_on_the_correct_logs(name: str) -> None:
    o = outcome(ROOT / name, Settings(timestamp_digits=0))
    assert o.status == PASSED, texts(o)
    assert o.tally.judged


def test_identities_as_email_addresses_are_evidence_not_findings(tmp_path: Path) -> None:
    """CloudTrail's correct log names a SAML user by e-mail in userIdentity, the session name and the response
    subject: who, not data to minimise. The same address in a request's description is a finding."""
    recs = json.loads((ROOT / "cloudtrail" / "real" / "correct.json").read_text())["Records"]
    saml = next(r for r in recs if r["eventName"] == "AssumeRoleWithSAML")
    assert "jane@example.com" in json.dumps(saml)
    saml["requestParameters"]["description"] = "for jane@example.com"
    p = tmp_path / "trail.json"
    p.write_text(json.dumps({"Records": [saml]}))
    o = outcome(p)
    assert o.status == FAILED
    assert texts(o) == [f"[{p}:1, request id {saml['requestID']}] An e-mail address, j***@***.com, is logged in clear "
                        "text in field 'requestParameters.description'. Fix: " + o.findings[0].fix]


def _k8s_request_event(n: int, uri: str, verb: str, obj: dict[str, Any]) -> str:
    return json.dumps({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Request",
        "auditID": f"9974d75b-3338-44fe-a179-{n:012d}", "stage": "ResponseComplete", "requestURI": uri, "verb": verb,
        "user": {"username": "oidc:admin@example.com", "groups": ["system:authenticated"]},
        "sourceIPs": ["192.168.49.1"], "objectRef": {"resource": uri.rsplit("/", 1)[1], "namespace": "prod",
                                                     "apiGroup": "rbac.authorization.k8s.io", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 201}, "requestObject": obj,
        "requestReceivedTimestamp": f"2026-01-15T10:00:{n:02d}.000000Z",
        "stageTimestamp": f"2026-01-15T10:00:{n:02d}.002000Z"}, separators=(",", ":"))


def test_the_identities_kubernetes_objects_name_are_evidence(tmp_path: Path) -> None:
    """Whom a RoleBinding grants and whom a SubjectAccessReview asks about are written as the RBAC docs write them
    (an OIDC user name is an e-mail address): the record of a privilege change, not data to minimise (red team
    rt15 F2). The same address in the binding's annotations is a finding at its line."""
    binding = {"kind": "RoleBinding", "apiVersion": "rbac.authorization.k8s.io/v1",
               "metadata": {"name": "dev-read", "namespace": "prod"},
               "subjects": [{"kind": "User", "name": "oidc:dev1@example.com", "apiGroup": "rbac.authorization.k8s.io"}],
               "roleRef": {"kind": "Role", "name": "secret-reader", "apiGroup": "rbac.authorization.k8s.io"}}
    review = {"kind": "SubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
              "spec": {"user": "oidc:dev2@example.com", "groups": ["devs"],
                       "resourceAttributes": {"namespace": "prod", "verb": "get", "resource": "secrets"}}}
    noted = json.loads(json.dumps(binding))
    noted["metadata"]["annotations"] = {"owner": "contact dev3@example.com"}
    lines = [_k8s_request_event(1, "/apis/rbac.authorization.k8s.io/v1/namespaces/prod/rolebindings", "create",
                                binding),
             _k8s_request_event(2, "/apis/authorization.k8s.io/v1/subjectaccessreviews", "create", review)]
    p = tmp_path / "audit.log"
    p.write_text("\n".join(lines) + "\n")
    assert outcome(p).status == PASSED, texts(outcome(p))
    lines.append(_k8s_request_event(3, "/apis/rbac.authorization.k8s.io/v1/namespaces/prod/rolebindings", "create",
                                    noted))
    p.write_text("\n".join(lines) + "\n")
    o = outcome(p)
    assert o.status == FAILED and len(o.findings) == 1, texts(o)
    assert o.findings[0].where == f"{p}:3" and "metadata.annotations" in o.findings[0].message


def test_vault_identity_by_email_is_evidence_the_same_in_data_is_not(tmp_path: Path) -> None:
    """An OIDC login names the person by e-mail address in auth.display_name and metadata (recorded entries, the
    name put where OIDC puts it): evidence. The same address in a value of the request's data is a finding."""
    lines = []
    for raw in (ROOT / "openbao" / "odd" / "correct.log").read_text().splitlines():
        d = json.loads(raw)
        if isinstance(d.get("auth"), dict) and d["auth"].get("display_name"):
            d["auth"]["display_name"] = "oidc-jane.doe@example.com"
            d["auth"]["metadata"] = {"email": "jane.doe@example.com", "role": "default"}
        lines.append(json.dumps(d))
    p = tmp_path / "oidc.log"
    p.write_text("\n".join(lines) + "\n")
    assert outcome(p).status == PASSED, texts(outcome(p))
    d = json.loads(lines[-1])
    d.setdefault("request", {})["data"] = {"contact": "jane.doe@example.com"}
    p.write_text("\n".join([*lines, json.dumps(d)]) + "\n")
    o = outcome(p)
    assert o.status == FAILED and len(o.findings) == 1
    assert o.findings[0].where == f"{p}:{len(lines) + 1}" and "'request.data.contact'" in o.findings[0].message


def test_a_login_path_names_who_logs_in_a_secret_path_names_data(tmp_path: Path) -> None:
    """LDAP, Okta and RADIUS logins put the user's name in the path (auth/<mount>/login/<name>), often an e-mail
    address: who, as evidence. A secret named after a customer's address is data in a path."""
    d = json.loads((ROOT / "openbao" / "clean.log").read_text().splitlines()[20])
    d["request"]["path"] = "auth/ldap/login/jane.doe@example.com"
    p = tmp_path / "a.log"
    p.write_text(json.dumps(d) + "\n")
    assert outcome(p).status == PASSED, texts(outcome(p))
    d["request"]["path"] = "secret/data/customers/jane.doe@example.com"
    p.write_text(json.dumps(d) + "\n")
    o = outcome(p)
    assert o.status == FAILED and "in field 'request.path'" in texts(o)[0]


def test_a_value_after_a_json_escape_is_found(tmp_path: Path) -> None:
    """In the raw line a card number after a newline reads "\\n4111...": after the letter n, no boundary. The
    value holds a newline before it, and that is how it is judged."""
    d = json.loads((ROOT / "openbao" / "clean.log").read_text().splitlines()[20])
    d["request"]["data"] = {"note": "paid with\n4111 1111 1111 1111\tok"}
    p = tmp_path / "a.log"
    p.write_text(json.dumps(d) + "\n")
    assert '\\n4111 1111' in p.read_text()
    o = outcome(p)
    assert o.status == FAILED and "411111******1111" in texts(o)[0] and "'request.data.note'" in texts(o)[0]


def test_detectors_setting_chooses_and_empty_skips(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    d = json.loads((ROOT / "openbao" / "clean.log").read_text().splitlines()[20])
    d["request"]["data"] = {"note": "call +44 20 7946 0958"}
    p.write_text(json.dumps(d) + "\n")
    assert outcome(p).status == FAILED
    assert outcome(p, Settings(data_minimisation_detectors=("card", "email"))).status == PASSED
    o = outcome(p, Settings(data_minimisation_detectors=()))
    assert o.status == SKIPPED and "data_minimisation_detectors = []" in o.reason


# -- real OpenBao traffic ----------------------------------------------------------------------------------------
def _traffic(c: VaultClient, mount: str) -> None:
    """A customer record written, read back and listed; a user who logs in by e-mail address."""
    body = {"data": {"card": PLANTED["card"][0], "backup_card": PLANTED["card"][1], "email": PLANTED["email"][0],
                     "phone": PLANTED["phone"][0], "iban": PLANTED["iban"][0], "ssn": PLANTED["national_id"][0]}}
    assert c.call("POST", f"{mount}/data/customers/c-1001", body).status == 200
    assert c.call("GET", f"{mount}/data/customers/c-1001").status == 200
    assert c.call("LIST", f"{mount}/metadata/customers").status == 200


@pytest.mark.vault
def test_non_hmac_keys_with_card_numbers_fail_and_hmac_traffic_passes(bao: Any, tmp_path: Path) -> None:
    server = bao()
    admin = VaultClient(server.url, server.root_token, timeout=5)
    made = admin.call("POST", "auth/token/create", {"display_name": "crm", "policies": ["root"], "ttl": "15m"})
    assert made.status == 200
    c = admin.with_token(remember_secret(str((made.body or {})["auth"]["client_token"])))
    try:
        _traffic(c, "secret")
        hashed = tmp_path / "hashed.log"
        hashed.write_bytes(server.log_path.read_bytes())
        hashed.chmod(0o600)
        # the misconfiguration: keys logged without HMAC
        assert admin.call("POST", "sys/mounts/secret/tune",
                          {"audit_non_hmac_request_keys": ["card", "backup_card", "email", "phone", "iban", "ssn"]}
                          ).status == 204
        _traffic(c, "secret")
    finally:
        c.close()
        admin.close()
    clear = tmp_path / "clear.log"
    clear.write_bytes(server.log_path.read_bytes())
    clear.chmod(0o600)
    ok = outcome(hashed)
    assert ok.status == PASSED, texts(ok)
    bad = outcome(clear)
    assert bad.status == FAILED
    found = texts(bad)
    assert len(found) == 6, found  # each value once, at its first line
    assert {f.message.split(", ")[1] for f in bad.findings} == set(MASKED)
    assert all("field 'request.data.data." in t and "audit_non_hmac_request_keys" in t for t in found)
    raw = clear.read_text()
    for t in found:
        line = int(t.split(", request id")[0].rsplit(":", 1)[1])
        assert '"type":"request"' in raw.splitlines()[line - 1]
    # the command line: exit 1, masked forms only, in the terminal and the JSON
    cfg = tmp_path / "auditready.toml"
    cfg.write_text("require_tamper_evidence = false\nretention_days = 0\n")
    r = completed(["verify", "--config", str(cfg), str(clear), "--json", str(tmp_path / "out.json")], timeout=120)
    assert r.returncode == 1 and "FAIL data_minimisation" in r.stdout, r.stdout + r.stderr
    out = r.stdout + r.stderr + (tmp_path / "out.json").read_text()
    assert "411111******1111" in out
    for values in PLANTED.values():
        for v in values:
            assert v not in out and v.replace(" ", "") not in out


# A scenario action of the user's (a conftest hook): plant a test card number under a key the mount logs in clear.
# (Another card network's test number than above: the conftest file is an output the secret guard reads.)
TEST_CARD = "4000 0566 5566 5556"
PLANT_CONFTEST = '''
from pytest_auditready.vault.scenario import ActionSpec

def pytest_auditready_scenario(plan, config):
    plan.add(ActionSpec("plant-test-card", "writer", "POST", plan.data_path("pii"), "create",
                        body={"data": {"note": "card 4000 0566 5566 5556"}}))
    plan.add(ActionSpec("remove-test-card", "writer", "DELETE", plan.metadata_path("pii"), "delete",
                        phase="cleanup"))
'''


@pytest.mark.vault
def test_live_run_plants_a_test_card_and_the_check_fires(pytester: pytest.Pytester, bao: Any, url_env: Any) -> None:
    server = bao()
    url_env(server)
    run = run_audit(pytester, server, seal=False, conftest=PLANT_CONFTEST)
    assert run.status("data_minimisation") == "passed", run.text("data_minimisation")  # HMAC'd: nothing in clear
    c = VaultClient(server.url, server.root_token, timeout=5)
    try:
        assert c.call("POST", "sys/mounts/secret/tune", {"audit_non_hmac_request_keys": ["note"]}).status == 204
    finally:
        c.close()
    run = run_audit(pytester, server, seal=False, conftest=PLANT_CONFTEST)
    # the tuning itself fails log_protection: every value under that key of a KV mount is in clear; and the note in
    # clear is a secret's data written in clear (no_secret_leak), whatever it holds
    assert run.failed_checks() == {"data_minimisation", "log_protection", "no_secret_leak"}, \
        run.result.stdout.str()[-3000:]
    # (a card number: named without the fingerprint that, beside the masked form, would give it back: rt56 F8)
    assert "is Vault Secret Data (personal data: no fingerprint" in run.text("no_secret_leak")
    assert "Mount 'secret/' (kv) is tuned to log the request keys 'note'" in run.text("log_protection")
    text = run.text("data_minimisation")
    assert "A Visa card number, 400005******5556, is logged in clear text in field 'request.data.data.note'" in text
    assert TEST_CARD in PLANT_CONFTEST
    for out in run.outputs.values():
        assert TEST_CARD not in out and TEST_CARD.replace(" ", "") not in out
