"""data_minimisation reads personal data in the spellings an export or a person gives it (red team rt65, F5 and L1):
HTML character references, invisible characters between groups, the full-width "＠", a US SSN with spaces or no
separator after a word naming it, a card number grouped by dots or slashes, an IBAN grouped by dashes; and a value
in a Vault secret's path gets the fix that applies to a path.

Lines are written as kube-apiserver writes them (Go's encoding/json: "&", "<", ">" as \\u0026..., other characters
raw) and judged through the whole check (its prefilters included).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pytest_auditready.checks import data_minimisation as dm
from pytest_auditready.checks.base import FAILED, PASSED, Outcome
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import verify_file
from tests.conftest import remember_secret

ZW = "\u200b"
# (spelling, detector, masked form): test values only (a card network's test number, example.com, the IBAN
# registry's German example, an SSN of valid shape)
FOUND = [
    ("alice.smith&#64;example.com", "email", "a***@***.com"),
    ("alice.smith&#x40;example.com", "email", "a***@***.com"),
    ("alice.smith@example&#46;com", "email", "a***@***.com"),
    ("".join(f"&#{ord(c)};" for c in "4111111111111111"), "card", "411111******1111"),
    ("4111&#32;1111&#32;1111&#32;1111", "card", "411111******1111"),
    (f"alice.smith{ZW}@example.com", "email", "a***@***.com"),
    (f"4111{ZW}1111{ZW}1111{ZW}1111", "card", "411111******1111"),
    ("4111\u2060 1111\u2060 1111\u2060 1111", "card", "411111******1111"),
    ("alice.smith＠example.com", "email", "a***@***.com"),
    ("SSN 123 45 6789", "national_id", "***-**-6789"),
    ("ssn=123456789", "national_id", "***-**-6789"),
    ("social security number: 123456789", "national_id", "***-**-6789"),
    ("4111.1111.1111.1111", "card", "411111******1111"),
    ("4111/1111/1111/1111", "card", "411111******1111"),
    ("DE89-3704-0044-0532-0130-00", "iban", "DE****************3000"),
]
for _spelling, _, _ in FOUND:
    remember_secret(_spelling)
# (not the bare "123456789": every nanosecond time ".123456789Z" of other tests' logs holds it)
for _v in ("alice.smith@example.com", "4111111111111111", "4111 1111 1111 1111", "123-45-6789", "123 45 6789",
           "DE89370400440532013000"):
    remember_secret(_v)

# Correct setups that hold no personal data in these spellings
CLEAN = [
    "123 45 6789",  # nine digits with no word naming an SSN: any number's
    "order 123456789",
    "ssn=000456789",  # area 000 is never issued
    "release 2024.1101.1200.0000",  # a dotted version: no card network, no Luhn
    "4111.1111.1111.1112",  # Luhn fails
    "10.20.30.40",
    "1.4111.1111.1111.1111",  # part of a longer dotted number
    "de12abcd-1234-5678-9abc-def012345678",  # a UUID: no IBAN
    "DE89-3704 0044-0532-0130-00",  # mixed separators: not one IBAN's groups
    "Tom &amp; Jerry &#169; 2026",
    f"zero{ZW}width note",
    "ＡＢＣ　full-width text",
]


def _k8s_line(note: str) -> str:
    """A ConfigMap create audited at level Request (kube-apiserver: the object in requestObject), with ``note``."""
    event = {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Request",
             "auditID": "53cbc01b-2806-4204-b07f-633e5113d1f7", "stage": "ResponseComplete",
             "requestURI": "/api/v1/namespaces/prod/configmaps", "verb": "create",
             "user": {"username": "bob", "groups": ["system:authenticated"]}, "sourceIPs": ["10.0.0.9"],
             "userAgent": "kubectl/v1.30.1",
             "objectRef": {"resource": "configmaps", "namespace": "prod", "name": "cfg", "apiVersion": "v1"},
             "responseStatus": {"metadata": {}, "code": 201},
             "requestObject": {"kind": "ConfigMap", "apiVersion": "v1",
                               "metadata": {"name": "cfg", "namespace": "prod"}, "data": {"note": note}},
             "requestReceivedTimestamp": "2026-12-05T10:00:01.100001Z",
             "stageTimestamp": "2026-12-05T10:00:01.200001Z"}
    text = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _outcome(tmp_path: Path, note: str) -> Outcome:
    path = tmp_path / "audit.log"
    path.write_text(_k8s_line(note) + "\n", encoding="utf-8")
    return verify_file(str(path), Settings(log_format="k8s"), [dm.CHECK], {}).outcomes[0]


@pytest.mark.parametrize(("spelling", "detector", "masked"), FOUND)
def test_each_spelling_is_found_at_its_line(tmp_path: Path, spelling: str, detector: str, masked: str) -> None:
    assert [h.detector for h in dm.detect(spelling, list(dm.DETECTORS))] == [detector]
    o = _outcome(tmp_path, spelling)
    assert o.status == FAILED
    (finding,) = o.findings
    text = finding.text()
    assert masked in text and "audit.log:1" in text and "requestObject.data.note" in text
    assert spelling not in text


@pytest.mark.parametrize("note", CLEAN)
def test_correct_values_give_no_finding(tmp_path: Path, note: str) -> None:
    assert dm.detect(note, list(dm.DETECTORS)) == []
    o = _outcome(tmp_path, note)
    assert o.status == PASSED and not o.findings


@pytest.mark.parametrize(("spelling", "detector", "masked"), FOUND)
def test_the_prefilters_hold_each_spelling(spelling: str, detector: str, masked: str) -> None:
    """Each spelling, as a Go encoder writes it, is where a prefilter of its detector (any of the three tables)
    matches: the block scan sends its line to the judge."""
    raw = _k8s_line(spelling).encode("utf-8")
    exprs = [e for table in (dm.PREFILTERS, dm.ENCODED_PREFILTERS, dm.EXTRA_PREFILTERS)
             for e in table.get(detector, ())]
    assert any(re.search(e, raw) for e in exprs)


def test_the_native_prefilter_sets_are_unchanged() -> None:
    """The new shapes are Hyperscan's (EXTRA_PREFILTERS): the C extension's pass still implements the other two."""
    from pytest_auditready.scan import native

    if native.lib is None:
        pytest.skip("the C extension is not built")
    assert dm.PREFILTERS == native.DM_PREFILTERS and dm.ENCODED_PREFILTERS == native.DM_ENCODED


def test_a_value_in_a_vault_path_gets_the_path_fix(tmp_path: Path) -> None:
    """L1: a card number in request.path: the fix is to keep personal data out of secret paths (a path is never
    HMAC'd, so no mount tuning applies); a value in the request's data keeps the HMAC fix."""
    base = {"time": "2026-01-05T08:00:05.123456Z", "type": "request",
            "auth": {"client_token": "hmac-sha256:ab", "accessor": "hmac-sha256:cd", "display_name": "token",
                     "policies": ["default"], "token_type": "service"},
            "request": {"id": "72cdfaeb-f15d-3793-75c6-75ebdef4bf52", "operation": "update",
                        "mount_type": "kv", "client_token": "hmac-sha256:ab", "namespace": {"id": "root"},
                        "path": "secret/data/cards/4111-1111-1111-1111", "remote_address": "127.0.0.1",
                        "data": {"note": "5555555555554444"}}}
    path = tmp_path / "audit.log"
    path.write_text(json.dumps(base) + "\n", encoding="utf-8")
    o = verify_file(str(path), Settings(log_format="vault"), [dm.CHECK], {}).outcomes[0]
    by_field = {("request.path" if "'request.path'" in f.text() else "data"): f.fix for f in o.findings}
    assert by_field["request.path"].startswith("keep personal data and card numbers out of secret paths")
    assert "audit_non_hmac_request_keys" not in by_field["request.path"]
    assert "audit_non_hmac_request_keys" in by_field["data"]


def test_a_real_logs_request_ids_send_no_line_to_the_judge() -> None:
    """The prefilters of the new spellings must not take a UUID's groups for a dashed IBAN: one OpenBao line in ten
    (its request id) was judged whole for it, which cost a third of verify's speed. A real log, its request ids made
    anew 3,000 times, holds no personal data and sends no line to the judge."""
    import random
    import re
    import uuid
    from pathlib import Path

    from pytest_auditready.checks.data_minimisation import DETECTORS, _prefilter

    rng = random.Random(7)
    lines = (Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "clean.log").read_bytes().splitlines()
    ids = re.compile(rb'"id":"[0-9a-f-]{36}"')
    data = b"\n".join(ids.sub(lambda _m: b'"id":"%s"' % str(uuid.UUID(int=rng.getrandbits(128), version=4)).encode(),
                              lines[i % len(lines)]) for i in range(3000))
    prefilter = _prefilter(tuple(DETECTORS))
    assert prefilter is not None and prefilter(data) == {}
