"""Secret detection: known values in every encoding and alignment; Vault tokens; detect-secrets as the judge,
value by value, never flagging digests, UUIDs or structural fields of the format."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest

from pytest_auditready.scan.known import KnownValues, encodings
from pytest_auditready.scan.secrets import VAULT_TOKEN_RE, GenericScanner

# fixed (not random): xdist workers must collect the same parameter ids
VALUE = "p@ss/w+rd=\"q\\é-Zm9vYmFyLXRlc3QtY2FuYXJ5LXZhbHVlLTQyNDI0Mg"


def test_needles_cover_spec_list():
    """raw, base64 (standard, URL-safe), hex (lower, upper) are needles, and (beyond the SPEC's list) base32 (matched
    in either case), the base64 of the UTF-16 forms and of the hex; hex with separators is read joined; URL-encoded, JSON-escaped and HTML-escaped forms are spellings of each needle's
    characters (tests/test_go_escapes.py)."""
    kinds = set(encodings(VALUE).values())
    assert {"raw", "base64", "hex", "HEX", "base32", "base64 of UTF-16"} <= kinds <= {
        "raw", "base64", "base64url", "hex", "HEX", "base32", "base64 of UTF-16", "base64 of base64",
        "base64url of base64", "base64 of hex"}  # (the last: red team rt65)


@pytest.mark.parametrize("pad", [b"", b"a", b"ab", b"abc", b"abcd"])
@pytest.mark.parametrize("encode", [lambda b: base64.b32encode(b).decode(),
                                    lambda b: base64.b32encode(b).decode().rstrip("="),
                                    lambda b: base64.b64encode(b.decode().encode("utf-16-le")).decode()],
                         ids=["base32", "base32-unpadded", "base64-utf16"])
def test_base32_and_utf16_base64_found_at_any_alignment(pad, encode):
    """A value base32-encoded (an OTP seed's encoding, RFC 4648) or base64-encoded as UTF-16LE (PowerShell's
    -EncodedCommand), inside a longer encoded string at any alignment."""
    k = KnownValues({"canary:c1": VALUE})
    blob = encode(pad + VALUE.encode() + b"-trailing")
    assert [h.name for h in k.find(f'{{"x": "{blob}"}}')] == ["canary:c1"]


@pytest.mark.parametrize("spelled", ["{v}", "{v_amp}", "{v_dec}", "{v_hex}", "{v_json}"])
def test_html_escaped_characters_are_found(spelled):
    """A SIEM's HTML or XML export escapes & < > " ' (named or numeric references), and a JSON hop after it may
    escape the & again: each is a spelling of the value."""
    value = 'Pw&<sec>"ret\'9x7Q'
    forms = {"v": value, "v_amp": value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
             .replace('"', "&quot;").replace("'", "&apos;"),
             "v_dec": "".join(f"&#{ord(c)};" if not c.isalnum() else c for c in value),
             "v_hex": "".join(f"&#x{ord(c):X};" if not c.isalnum() else c for c in value),
             "v_json": value.replace("&", "\\u0026amp;").replace("<", "\\u0026lt;").replace('"', "&quot;")
             .replace(">", "&gt;").replace("'", "&#39;")}
    k = KnownValues({"canary:c1": value})
    assert [h.name for h in k.find("x " + spelled.format(**forms) + " y")] == ["canary:c1"]
    assert k.find("x " + forms["v_amp"].replace("&lt;", "&le;") + " y") == []


@pytest.mark.parametrize("pad", [b"", b"a", b"ab", b"abc"])
@pytest.mark.parametrize(
    "encode",
    [
        lambda b: base64.b64encode(b).decode(),
        lambda b: base64.urlsafe_b64encode(b).decode(),
        lambda b: base64.b64encode(b).decode().rstrip("="),
    ],
    ids=["std", "urlsafe", "unpadded"],
)
def test_base64_found_at_any_alignment(pad, encode):
    k = KnownValues({"canary:c1": VALUE})
    blob = encode(pad + VALUE.encode() + b"-trailing")
    assert [h.name for h in k.find(f'{{"x": "{blob}"}}')] == ["canary:c1"]


@pytest.mark.parametrize(
    "form, enc",
    [
        (VALUE, "raw"),
        (VALUE.encode().hex(), "hex"),
        (VALUE.encode().hex().upper(), "HEX"),
        (quote(VALUE, safe=""), "url-encoded"),
        (json.dumps(VALUE)[1:-1], "json-escaped"),
    ],
    ids=["raw", "hex", "HEX", "url", "json"],
)
def test_each_encoding_found(form, enc):
    hits = KnownValues({"canary:c1": VALUE}).find("prefix " + form + " suffix")
    assert any(h.encoding == enc or h.encoding == "raw" for h in hits)


def test_absent_value_not_found():
    assert KnownValues({"canary:c1": VALUE}).find("hmac-sha256:" + "0" * 64) == []


@pytest.mark.parametrize(
    "token",
    [
        "hvs.CAESIJ7aXb2kQ9vLmN3pR8sT4uW6yZ1cE5fG",
        "hvb.AAAAAQJ7aXb2kQ9vLmN3pR8sT4uW6yZ1cE5fGhvb",
        "hvr.CAESIJ7aXb2kQ9vLmN3pR8sT4uW6yZ1cE5fG",
        "s.QKsN1nAjipgbnsXaftJW0ETt",
        "b.AAAAAQJ7aXb2kQ9vLmN3pR8sT4uW6yZ1cE5fG",
    ],
)
def test_vault_token_forms(token):
    assert VAULT_TOKEN_RE.search(f'"x": "{token}"')
    with GenericScanner() as g:
        assert [h.kind for h in g.scan_value("header", token)] == ["Vault Token"]


@pytest.mark.parametrize("text", ["sys.mounts", "s.short", "accounts.QKsN1nAjipgbnsXaftJW0ETt", "mount_accessor"])
def test_vault_token_regex_does_not_overmatch(text):
    assert not VAULT_TOKEN_RE.search(text)


@pytest.mark.parametrize(
    "key, value, kind",
    [
        ("x", "AKIAIOSFODNN7EXAMPLE", "AWS Access Key"),
        ("password", "hunter2-but-longer", "Secret Keyword"),
        ("authorization", "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
         "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "JSON Web Token"),
        ("key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA", "Private Key"),
        # after an *_id key on the same line, detect-secrets' whole-line scan would hide this one
        ("note", "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", "GitHub Token"),
    ],
)
def test_detect_secrets_judges_each_value(key, value, kind):
    with GenericScanner() as g:
        kinds = [h.kind for h in g.scan_value(key, value)]
    assert kind in kinds
    assert all(value not in repr(h) for h in g.scan_value.__self__._cache.get((key, value), ()))


@pytest.mark.parametrize(
    "key, value",
    [
        ("client_token", "hmac-sha256:" + "ab" * 32),
        ("id", "39de5b8a-baec-2ff0-a7be-968233ac9da9"),
        ("created_time", "2026-11-22T18:51:49.975254348Z"),
        ("client_id", "0DHqvq2D77kL2/JTPSZkTMJbkFVmUu0TzMi0jiXcFy8="),
        ("path", "secret/data/auditready/20261122t190401-22b787/c1"),
        ("error", "1 error occurred:\n\t* permission denied\n\n"),
    ],
)
def test_no_false_positive_on_audit_format_values(key, value):
    with GenericScanner() as g:
        assert g.scan_value(key, value) == ()


def test_scanner_must_be_entered():
    with pytest.raises(RuntimeError, match="must be entered"):
        GenericScanner().scan_value("x", "AKIAIOSFODNN7EXAMPLE")


def test_request_paths_are_judged_per_segment():
    # whole paths with a random run id read as high-entropy base64 to detect-secrets about 2% of the time
    import secrets as rnd

    with GenericScanner() as g:
        for _ in range(300):
            rid = f"20261122t163212-{rnd.token_hex(3)}"
            for p in (f"sys/policies/acl/auditready-{rid}-writer", f"secret/data/auditready/{rid}/c1"):
                assert g.scan_value("path", p) == (), p
        # a secret that is a segment of a path is still found
        assert "GitHub Token" in [h.kind for h in g.scan_value("path",
                                                               "secret/data/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")]
        assert [h.kind for h in g.scan_value("path", "auth/token/lookup/s.QKsN1nAjipgbnsXaftJW0ETt")] == ["Vault Token"]
