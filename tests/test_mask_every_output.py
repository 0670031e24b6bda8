"""What no_secret_leak names a secret is never shown by another output, however the value is quoted or cut (blind
red team rt47): the access review in report.html and evidence.json, a request id past the 20 secrets the check
names, a value another check quotes cut short, a Kubernetes reason that quotes with JSON's double quotes or none.
Each both ways: the credential (and its head) is in no output, and a plain value in its place is shown as it is."""

from __future__ import annotations

import json
import secrets
import string
from pathlib import Path
from typing import Any, Callable

import pytest

from pytest_auditready.text import PIECE, clip
from tests.conftest import remember_secret
from tests.test_mask_request_ids import _event, _outputs, fingerprint
from tests.test_token_keys import _base

ROOT = Path(__file__).resolve().parent.parent / "fixtures"
_ALNUM = string.ascii_letters + string.digits


def _random() -> str:
    """A credential no format names: 34 random letters and digits, found by its randomness alone."""
    return remember_secret("".join(secrets.choice(_ALNUM) for _ in range(34)))


def _ghp() -> str:
    return remember_secret("ghp_" + "".join(secrets.choice(_ALNUM) for _ in range(36)))


def _vault_pair(change: Callable[[dict[str, Any]], None]) -> str:
    """A real OpenBao log (fixtures/openbao/clean.log) with ``change`` made to both entries of its first KV write."""
    lines = (ROOT / "openbao" / "clean.log").read_text().splitlines()
    docs = [json.loads(ln) for ln in lines]
    rid = next(d["request"]["id"] for d in docs if d["type"] == "request" and d["request"].get("mount_type") == "kv"
               and d["request"].get("operation") in ("create", "update"))
    for i, d in enumerate(docs):
        if d["request"].get("id") == rid:
            change(d)
            lines[i] = json.dumps(d, separators=(",", ":"))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("field", ["remote_address", "display_name", "path"])
def test_a_random_credential_named_by_the_check_is_masked_in_the_access_review(tmp_path: Path, field: str) -> None:
    """A random credential logged in clear (found by its randomness only) and also the entry's source, name or path:
    terminal, JSON, SARIF and JUnit masked it, but report.html and evidence.json showed it in the access review."""
    token = _random()

    def plant(d: dict[str, Any]) -> None:
        d["request"]["data"] = {"note": token}
        if field == "display_name":
            d["auth"]["display_name"] = token
        elif field == "path":
            d["request"]["path"] = f"secret/data/{token}"
        else:
            d["request"]["remote_address"] = token

    doc, shown = _outputs(tmp_path, _vault_pair(plant))
    assert token not in shown and token[:12] not in shown
    named = [f["message"] for o in doc["outcomes"] if o["check"] == "no_secret_leak" for f in o["findings"]]
    assert any(f"sha256 {fingerprint(token)}" in m for m in named), named
    review = json.loads((tmp_path / "out" / "ev" / "evidence.json").read_text())["review"]
    assert f"sha256 {fingerprint(token)}>" in json.dumps(review)


def test_a_plain_source_stays_in_the_access_review(tmp_path: Path) -> None:
    def plant(d: dict[str, Any]) -> None:
        d["request"]["data"] = {"note": _random()}
        d["request"]["remote_address"] = "198.51.100.23"

    _outputs(tmp_path, _vault_pair(plant))
    review = json.loads((tmp_path / "out" / "ev" / "evidence.json").read_text())["review"]
    assert "198.51.100.23" in json.dumps(review)


def test_a_random_request_id_is_masked_past_the_secrets_named(tmp_path: Path) -> None:
    """22 auditIDs that are GitHub tokens, then a random credential as the auditID of an event another check
    reports: past the 20 secrets the check names, it was printed in every output (a format's own shapes were
    judged, randomness was not); a UUID stays as written (test_mask_request_ids)."""
    lines, base = _base()
    random = _random()
    lines += [_event(base, _ghp()) for _ in range(22)] + [_event(base, random, backwards=True)]
    doc, shown = _outputs(tmp_path, "\n".join(lines) + "\n")
    assert random not in shown
    said = [f["request_id"] for o in doc["outcomes"] if o["check"] == "timestamp_accuracy" for f in o["findings"]]
    assert said == [f"<Base64 High Entropy String sha256 {fingerprint(random)}>"], said


@pytest.mark.parametrize(("field", "value"), [
    ("remote_address", "192.168.100.100 via proxy {}"),  # required_fields quotes 60 characters
    ("type", "rq {}"),  # required_fields quotes 40
    ("time", "2026-12-05 {}"),  # timestamp_precision quotes 40
])
def test_a_credential_cut_short_by_a_quote_shows_no_head(tmp_path: Path, field: str, value: str) -> None:
    """Another check quotes a value cut to 40 or 60 characters: a credential across the cut lost its shape, so
    nothing recognised it and its first 30 characters went out. A cut never falls inside a token's run now."""
    token = _ghp()

    def plant(d: dict[str, Any]) -> None:
        if field == "remote_address":
            d["request"][field] = value.format(token)
        else:
            d[field] = value.format(token)

    doc, shown = _outputs(tmp_path, _vault_pair(plant))
    assert token[:12] not in shown
    # (retention's findings name days, today's among them: no quote of the value)
    quoted = [f["message"] for o in doc["outcomes"] if o["check"] not in ("no_secret_leak", "retention")
              for f in o["findings"] if value.split(" ")[0] in f["message"]]
    assert quoted and all("\u2026" in m for m in quoted), quoted


def test_kubernetes_reasons_quoted_as_json_show_no_credential(tmp_path: Path) -> None:
    """A reader's reason quotes with JSON's double quotes (its sourceIPs ["..."]) or none (a request's URI):
    only single-quoted values were masked, so a token in sourceIPs was printed whole and in a stage or URI nearly
    whole. A correct event beside them is no finding."""
    lines, base = _base()
    token = _ghp()
    bad = [dict(base, sourceIPs=[token]), dict(base, stage=token), dict(base, level=token)]
    uri = dict(base, requestURI=f"/api/v1/namespaces/default/secrets/{token}")
    uri.pop("objectRef", None)
    lines += [json.dumps(e) for e in (*bad, uri)]
    doc, shown = _outputs(tmp_path, "\n".join(lines) + "\n")
    assert token[:12] not in shown
    unread = [f["message"] for o in doc["outcomes"] if o["check"] == "required_fields" for f in o["findings"]]
    assert len(unread) == 4 and f'["<GitHub Token sha256 {fingerprint(token)}>"]' in " ".join(unread), unread


def test_a_log_of_numbers_past_pythons_digits_is_read_not_refused(tmp_path: Path) -> None:
    """Every line holding a 5000-digit number was refused as JSON spread over several lines (exit 2); the same line
    among others was a finding at its line. Now each is a finding that names the limit."""
    lines = [ln for ln in (ROOT / "openbao" / "clean.log").read_text().splitlines() if '"remote_port":' in ln][:2]
    big = [ln.replace('"remote_port":', '"remote_port":' + "9" * 5000 + ",\"x\":", 1) for ln in lines]
    doc, _ = _outputs(tmp_path, "\n".join(big) + "\n")
    said = [f["message"] for o in doc["outcomes"] if o["check"] == "required_fields" for f in o["findings"]]
    assert len(said) == 2 and all("4300 digits" in m for m in said), said


@pytest.mark.parametrize("text", ["192.168.1.1 via ghp_abcdefghijklmnop", "a/b/c=d&e?f", "x" * 100,
                                  "2026-12-05T10:00:00.123456789Z and more", "short"])
@pytest.mark.parametrize("limit", [1, 8, 15, 24, 40])
def test_clip_never_shows_part_of_a_run(text: str, limit: int) -> None:
    import re

    out = clip(text, limit)
    if len(text) <= limit:
        assert out == text
        return
    head = out[:-1]
    assert out.endswith("\u2026") and len(head) <= limit and text.startswith(head)
    runs = {m.group() for m in re.finditer(PIECE + "+", text)}
    assert all(m.group() in runs for m in re.finditer(PIECE + "+", head) if m.end() == len(head)), (head, runs)
