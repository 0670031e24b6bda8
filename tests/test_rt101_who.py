"""required_fields' "who", red team rt101: two wrong verdicts, each fixed for its class of input.

F1 (a miss): a CloudTrail record whose userIdentity was cut down to its type passed, for every type but the four
named by ARN and principal id. Each type names who acted by its own fields (AWS CloudTrail User Guide, "CloudTrail
userIdentity element"): an AWS service by invokedBy, a SAML or web identity user by principalId or userName, an
Identity Center user by onBehalfOf.userId, another account by accountId or principalId (an anonymous S3 request:
principalId "", accountId "anonymous"); any other type (Unknown, a new one) by one of arn, principalId, userName,
invokedBy, onBehalfOf.userId. A key a hop dropped and a placeholder it wrote in its place are the same finding.

F2 (a false alarm): requests OpenBao serves without a token (each builtin backend's PathsSpecial.Unauthenticated:
PKI's ACME and certificate reads, SSH's OTP verify, the JWT method's device-flow poll and CEL login, the system
backend's OpenAPI document, decode-token, wrapping public key, ...) were reported as lacking who. They are excused,
counted under their rule, read within the mount the entry names (its type and path): the same path on a mount of
another type, or made with a token whose identity a hop stripped, is a finding at its line.

fixtures/cloudtrail/rt101 and fixtures/openbao/rt101 (real OpenBao 2.7.2 logs) say where each record came from.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import FAILED, PASSED
from pytest_auditready.checks.required_fields import (
    _LOGIN_UNNAMED,
    _OIDC_LOGIN,
    _UNAUTHENTICATED,
    _UNAUTHENTICATED_RE,
    login,
    mount_unauthenticated,
)
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import offline_checks, verify_file

from .test_cloudtrail_placeholders import SHAPES, failed, judged

ROOT = Path(__file__).resolve().parents[1]
CT = ROOT / "fixtures" / "cloudtrail" / "rt101"
BAO = ROOT / "fixtures" / "openbao" / "rt101"
RECORDED = BAO / "unauthenticated.log"
RED_TEAM = BAO / "unauth-real.log"
RF = [c for c in offline_checks(BUILTIN) if c.id == "required_fields"]
Rec = dict[str, Any]


# -- F1: CloudTrail, who by each userIdentity type ----------------------------------------------------------------

def _records(name: str = "identities.json") -> list[Rec]:
    records: list[Rec] = json.loads((CT / name).read_text())["Records"]
    return records


def _found(out: dict[str, tuple[str, list[tuple[str, str]]]]) -> list[tuple[str, str]]:
    return out["required_fields"][1]


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_documented_and_real_caller_shape_names_who(tmp_path: Path, shape: str) -> None:
    """Each type as CloudTrail writes it (AWSService, AWSAccount cross-account and anonymous, SAMLUser with userName
    alone, WebIdentityUser, IdentityCenterUser, Unknown, an AWS service event with no type): zero findings."""
    out = judged(SHAPES[shape](tmp_path, _records()), timestamp_digits=0)
    assert failed(out) == {} and out["required_fields"] == (PASSED, [])


@pytest.mark.parametrize("fixture", ["blind/records.json", "unseen/correct.json"])
def test_the_earlier_documented_records_still_pass(tmp_path: Path, fixture: str) -> None:
    records = json.loads((ROOT / "fixtures" / "cloudtrail" / fixture).read_text())["Records"]
    out = judged(SHAPES["records"](tmp_path, records), timestamp_digits=0)
    assert out["required_fields"][0] == PASSED, _found(out)


# The red team's records, each userIdentity cut down to its type (the last: invokedBy blanked): what each names.
RED_TEAM_SAID = [
    'of type "AWSService", which CloudTrail writes with invokedBy naming the AWS service that acted, and invokedBy '
    "is missing",
    'of type "SAMLUser", which CloudTrail writes with principalId or userName naming a SAML-federated user, and '
    "principalId is missing; userName is missing",
    'of type "IdentityCenterUser", which CloudTrail writes with onBehalfOf.userId naming an IAM Identity Center user, '
    "and onBehalfOf.userId is missing",
    'of type "AWSAccount", which CloudTrail writes with accountId or principalId naming the other AWS account, and '
    "accountId is missing; principalId is missing",
    'of type "WebIdentityUser", which CloudTrail writes with principalId or userName naming a web identity federated '
    "user, and principalId is missing; userName is missing",
    'its userIdentity.invokedBy "-" is a placeholder for no value',
]


@pytest.mark.parametrize("shape", list(SHAPES))
def test_the_red_teams_records_each_lack_who_at_their_line(tmp_path: Path, shape: str) -> None:
    out = judged(SHAPES[shape](tmp_path, _records("red-team.json")), timestamp_digits=0)
    assert list(failed(out)) == ["required_fields"]
    found = _found(out)
    assert [line for line, _ in found] == ["1", "2", "3", "4", "5", "6"]
    for (_, text), said in zip(found, RED_TEAM_SAID):
        assert "lacks who" in text and said in text, text
    assert "find the hop that cut it from the record" in found[0][1]


# record of identities.json -> the keys (within userIdentity) that name who, every one of which is cut
CUT: dict[str, tuple[int, tuple[str, ...]]] = {
    "AWSService (ec2)": (0, ("invokedBy",)),
    "AWSService (lambda)": (1, ("invokedBy",)),
    "AWSAccount (another account)": (2, ("accountId", "principalId")),
    "SAMLUser (userName alone)": (3, ("userName",)),
    "IdentityCenterUser (real)": (4, ("onBehalfOf.userId",)),
    "WebIdentityUser": (5, ("principalId", "userName")),
    "IdentityCenterUser (documented)": (6, ("onBehalfOf.userId",)),
    "AWSAccount (anonymous S3)": (7, ("accountId",)),
    "Unknown (its accountId kept)": (8, ("principalId", "userName")),
    "Unknown (Anonymous)": (9, ("principalId",)),
    "AWS service event (no type)": (10, ("invokedBy",)),
}
_GONE = object()
HOW: dict[str, Any] = {"dropped": _GONE, "empty": "", "null": None, "placeholder": "-", "N/A": "N/A"}


def _set(ui: Rec, dotted: str, value: Any) -> None:
    *head, last = dotted.split(".")
    for k in head:
        ui = ui[k]
    if value is _GONE:
        ui.pop(last, None)
    else:
        ui[last] = value


@pytest.mark.parametrize("how", list(HOW))
@pytest.mark.parametrize("case", list(CUT))
def test_a_type_without_its_own_identifying_field_lacks_who(tmp_path: Path, case: str, how: str) -> None:
    """Dropped, emptied, nulled or blanked with a placeholder: the same verdict, at the record's line."""
    i, keys = CUT[case]
    records = _records()
    for key in keys:
        _set(records[i]["userIdentity"], key, HOW[how])
    out = judged(SHAPES["records"](tmp_path, records), timestamp_digits=0)
    assert out["required_fields"][0] == FAILED, out
    ((line, text),) = _found(out)
    assert line == str(i + 1) and "lacks who" in text, text


@pytest.mark.parametrize(("i", "key"), [(2, "accountId"), (2, "principalId"), (5, "principalId"), (5, "userName"),
                                        (8, "userName"), (8, "accountId")])
def test_one_of_a_types_alternatives_is_enough(tmp_path: Path, i: int, key: str) -> None:
    """No wolf cried: a type named by principalId or userName (accountId or principalId) keeps the other."""
    records = _records()
    del records[i]["userIdentity"][key]
    out = judged(SHAPES["records"](tmp_path, records), timestamp_digits=0)
    assert out["required_fields"] == (PASSED, [])


@pytest.mark.parametrize(("ui", "names"), [
    ({"type": "Unknown"}, False),
    ({"type": "Unknown", "accountId": "123456789012"}, False),  # the account that granted permissions, not who
    ({"type": "Directory", "userName": "jdoe"}, True),
    ({"type": "ServicePrincipal2031", "principalId": "AIDAEXAMPLE"}, True),
    ({"type": "ServicePrincipal2031", "accountId": "123456789012"}, False),
    ({"type": "ServicePrincipal2031", "arn": "n/a"}, False),
])
def test_an_unknown_or_new_type_names_who_by_any_caller_field(tmp_path: Path, ui: Rec, names: bool) -> None:
    records = _records()
    records[0]["userIdentity"] = ui
    out = judged(SHAPES["records"](tmp_path, records), timestamp_digits=0)
    if names:
        assert out["required_fields"] == (PASSED, [])
        return
    ((line, text),) = _found(out)
    assert line == "1" and "lacks who" in text, text
    blanked = 'its userIdentity.arn "n/a" is a placeholder for no value'
    named_by = (f"of type {json.dumps(ui['type'])} and names no caller by arn, principalId, userName, invokedBy or "
                "onBehalfOf.userId")
    assert (blanked if ui.get("arn") else named_by) in text, text


# -- F2: OpenBao, requests served without a token ------------------------------------------------------------------

def _entries(path: Path) -> list[Rec]:
    return [json.loads(ln) for ln in path.read_text().splitlines()]


def _who(e: Rec) -> bool:
    auth = e.get("auth") or {}
    return any(auth.get(k) for k in ("display_name", "entity_id", "accessor"))


def _outcome(path: Path) -> Any:
    res = verify_file(str(path), Settings(require_tamper_evidence=False, retention_days=0), RF, {})
    (out,) = res.outcomes
    return out


def _write(tmp_path: Path, entries: list[Rec], name: str = "audit.log") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in entries))
    path.chmod(0o600)
    return path


def _lines(out: Any) -> list[int]:
    return sorted(int(f.where.rsplit(":", 1)[1]) for f in out.findings)


def _anonymous(entries: list[Rec]) -> list[Rec]:
    """The entries of requests made without a token that are no login's nor the device's self-test."""
    return [e for e in entries if not _who(e) and not e["request"]["path"].startswith("auth/")
            and e["request"]["path"] != "sys/audit/test" and not e["request"].get("id", "").startswith("dev-")]


@pytest.mark.parametrize("path", [RED_TEAM, RECORDED], ids=lambda p: p.name)
def test_requests_served_without_a_token_pass_excused_counted_and_said(path: Path) -> None:
    """Both real logs pass with zero findings; every anonymous entry is excused under the rule that names the
    producer's unauthenticated endpoints, counted, and the rest is judged."""
    out = _outcome(path)
    assert out.status == PASSED and not out.findings, [f.text() for f in out.findings]
    excused = dict(out.tally.excused)
    assert excused[_UNAUTHENTICATED] == len(_anonymous(_entries(path)))
    assert "PathsSpecial.Unauthenticated" in _UNAUTHENTICATED and out.tally.judged > 0


# every class the red team hit, and the rest of each builtin backend's list (fixtures/openbao/rt101/README.md)
CLASSES = [
    r"pki/acme/directory", r"pki/acme/new-nonce", r"pki/acme/new-account", r"pki/acme/new-order",
    r"pki/acme/authorization/.+", r"pki/acme/order/[^/]+", r"pki/acme/order/.+/finalize", r"pki/acme/order/.+/cert",
    r"pki/acme/revoke-cert", r"pki/acme/key-change", r"pki/acme/account/.+", r"pki/acme/challenge/.+/.+",
    r"pki/acme/orders", r"pki/roles/web/acme/.+", r"pki/issuer/root/acme/.+", r"pki/issuer/root/roles/web/acme/.+",
    r"team/pki/acme/directory", r"pki/cert/[0-9a-f]{40}", r"pki/cert/[0-9a-f:]{59}", r"pki/cert/.+/raw/pem",
    r"pki/cert/ca_chain", r"pki/cert/ca", r"pki/ca", r"pki/ca/pem", r"pki/ca_chain", r"pki/crl(/delta)?(/pem)?",
    r"pki/issuer/root/(pem|der|json)", r"pki/issuer/root/crl(/delta|/pem)?", r"pki/issuers/", r"pki/ocsp/.+",
    r"team/pki/.+", r"ssh/verify", r"ssh/public_key", r"ssh/issuer/default/public_key",
    r"identity/oidc/\.well-known/.+", r"identity/oidc/provider/default/\.well-known/.+",
    r"identity/oidc/provider/default/token", r"sys/internal/specs/openapi", r"sys/internal/ui/(mounts|namespaces)",
    r"sys/wrapping/(pubkey|lookup)", r"sys/decode-token", r"sys/mfa/validate", r"sys/replication/status",
    r"sys/rekey/init", r"sys/generate-root/attempt",
]


@pytest.mark.parametrize("pattern", CLASSES)
def test_each_unauthenticated_class_is_in_the_real_logs_and_served_so(pattern: str) -> None:
    """Each class has real entries, and each of them is on an endpoint the rule excuses, read within its mount."""
    hits = [e for p in (RED_TEAM, RECORDED) for e in _anonymous(_entries(p))
            if re.fullmatch(pattern, e["request"]["path"])]
    assert hits, pattern
    for e in hits:
        req = e["request"]
        assert _UNAUTHENTICATED_RE.match(req["path"]) or mount_unauthenticated(req), req["path"]


def test_the_jwt_methods_steps_before_a_token_are_logins() -> None:
    """oidc/auth_url, callback and poll (on a jwt and an oidc mount), cel/login and login: excused as logins, the
    callback, poll and logins as the steps that issue a token."""
    seen = {}
    for e in _entries(RECORDED):
        req = e["request"]
        if req["path"].startswith(("auth/jwt/", "auth/oidc/")):
            seen[req["path"]] = (login(req), login(req, issuing=True))
    assert seen == {"auth/jwt/oidc/auth_url": (True, False), "auth/jwt/oidc/callback": (True, True),
                    "auth/jwt/oidc/poll": (True, True), "auth/oidc/oidc/poll": (True, True),
                    "auth/jwt/cel/login": (True, True), "auth/jwt/login": (True, True)}
    assert dict(_outcome(RECORDED).tally.excused)[_OIDC_LOGIN] == 8


def _strip_who(e: Rec) -> None:
    """A hop that drops who made the request (jq 'del(.auth.display_name, .auth.entity_id, .auth.accessor)')."""
    for k in ("display_name", "entity_id", "accessor"):
        e["auth"].pop(k, None)


LOOK_ALIKES = ("kv/acme/directory", "kv/cert/0a1b2c", "kv/public_key", "pki/roles/ca")


def test_a_look_alike_made_with_a_token_whose_identity_a_hop_stripped_lacks_who(tmp_path: Path) -> None:
    """KV secrets at acme/directory, cert/..., public_key and a PKI role named "ca", each written and read with the
    root token: with who stripped, each of their entries is a finding at its line, and nothing else is."""
    entries = _entries(RECORDED)
    want = []
    for n, e in enumerate(entries, 1):
        if e["request"]["path"] in LOOK_ALIKES:
            assert _who(e)
            _strip_who(e)
            want.append(n)
    assert len(want) == 4 * 4  # each written and read: a request and a response entry each
    out = _outcome(_write(tmp_path, entries))
    assert out.status == FAILED
    assert _lines(out) == want[:20]
    assert all("lacks who (auth.display_name, auth.entity_id or auth.accessor)" in f.message for f in out.findings)


def _one(path_re: str, kind: str = "request", log: Path = RECORDED) -> tuple[list[Rec], int]:
    """The entries of ``log`` and the index of the first ``kind`` entry on a path matching ``path_re``."""
    entries = _entries(log)
    i = next(i for i, e in enumerate(entries) if e["type"] == kind and re.fullmatch(path_re, e["request"]["path"]))
    return entries, i


Edit = Callable[[Rec], None]


def _mount(kind: str, point: Optional[str] = None) -> Edit:
    def edit(req: Rec) -> None:
        req["mount_type"] = kind
        if point is not None:
            req["mount_point"] = point
    return edit


def _no(*keys: str) -> Edit:
    def edit(req: Rec) -> None:
        for k in keys:
            req.pop(k, None)
    return edit


def _path(path: str) -> Edit:
    def edit(req: Rec) -> None:
        req["path"] = path
    return edit


def _namespaced(req: Rec) -> None:
    """As Vault Enterprise writes a request in namespace team1/: the path relative to it, the mount point not."""
    req["namespace"] = {"id": "Xk2pQ", "path": "team1/"}
    req["mount_point"] = "team1/" + req["mount_point"]


# (an anonymous entry, how its request is rewritten) -> still served without a token?
MOVED: dict[str, tuple[str, Edit, bool]] = {
    "acme on a kv mount": (r"pki/acme/directory", _mount("kv"), False),
    "cert serial on a kv mount": (r"pki/cert/[0-9a-f]{40}", _mount("kv"), False),
    "ssh verify on a kv mount": (r"ssh/verify", _mount("kv"), False),
    "public_key on a pki mount": (r"ssh/public_key", _mount("pki", "ssh/"), False),
    "acme under another mount point": (r"pki/acme/directory", _mount("pki", "pki/acme/"), False),
    "secret/acme/directory on kv": (r"pki/acme/directory", lambda r: (_mount("kv", "secret/")(r),
                                                                      _path("secret/acme/directory")(r)), False),
    "a pki role named ca": (r"pki/ca", _path("pki/roles/ca"), False),
    "a nested pki mount": (r"team/pki/acme/directory", lambda r: None, True),
    "no mount point (Vault 1.5-1.11)": (r"pki/acme/new-nonce", _no("mount_point"), True),
    "no mount point, kv type": (r"pki/acme/new-nonce", lambda r: (_no("mount_point")(r), _mount("kv")(r)), False),
    "no mount type (Vault < 1.5), pki cert": (r"pki/cert/[0-9a-f]{40}", _no("mount_point", "mount_type"), True),
    "no mount type, kv secret under cert/": (r"pki/cert/[0-9a-f]{40}", lambda r: (
        _no("mount_point", "mount_type")(r), _path("kv/cert/app-db")(r)), False),
    "in a namespace": (r"pki/acme/order/.+/finalize", _namespaced, True),
    "in a namespace, kv type": (r"ssh/verify", lambda r: (_namespaced(r), _mount("kv")(r)), False),
    "sys/rekey/init": (r"sys/rekey/init", lambda r: None, True),
    "sys/rekey/backup (needs a token)": (r"sys/rekey/init", _path("sys/rekey/backup"), False),
    "the OIDC provider's userinfo (a batch token's)": (r"identity/oidc/provider/default/token",
                                                      _path("identity/oidc/provider/default/userinfo"), False),
    "okta's number challenge": (r"auth/jwt/oidc/auth_url", lambda r: (
        _mount("okta", "auth/okta/")(r), _path("auth/okta/verify/6ea1f3b2")(r)), True),
    "verify/* on a jwt mount": (r"auth/jwt/oidc/auth_url", _path("auth/jwt/verify/6ea1f3b2"), False),
}


@pytest.mark.parametrize("case", list(MOVED))
def test_an_anonymous_entry_is_excused_only_where_its_mount_serves_it_without_a_token(tmp_path: Path,
                                                                                        case: str) -> None:
    pattern, edit, served = MOVED[case]
    entries, i = _one(pattern)
    rid = entries[i]["request"]["id"]
    both = [n for n, e in enumerate(entries) if e["request"].get("id") == rid]
    for n in both:  # the request and its response alike
        edit(entries[n]["request"])
    out = _outcome(_write(tmp_path, entries))
    if served:
        assert out.status == PASSED, [f.text() for f in out.findings]
        return
    assert out.status == FAILED and _lines(out) == [n + 1 for n in both], [f.text() for f in out.findings]
    assert all("lacks who" in f.message for f in out.findings)


def test_a_jwt_step_on_a_mount_of_another_type_is_no_login(tmp_path: Path) -> None:
    """oidc/poll and cel/login are the JWT method's: on a userpass mount they name no step before a token."""
    entries = _entries(RECORDED)
    want = []
    for n, e in enumerate(entries, 1):
        if e["request"]["path"] in ("auth/jwt/oidc/poll", "auth/jwt/cel/login"):
            e["request"]["mount_type"] = "userpass"
            want.append(n)
    out = _outcome(_write(tmp_path, entries))
    assert out.status == FAILED and _lines(out) == want


def test_a_device_flow_poll_that_succeeded_without_naming_who_lacks_it(tmp_path: Path) -> None:
    """The red team's poll (authorization pending: its response carries the error in response.data) passes; a poll
    response with no error and no response.auth (the token it issued, and who holds it) was cut by a hop."""
    entries, i = _one(r"auth/jwt/oidc/poll", "response", RED_TEAM)
    assert entries[i]["response"]["data"]["error"].startswith("hmac-sha256:") and not _who(entries[i])
    assert _outcome(_write(tmp_path, entries, "pending.log")).status == PASSED
    cut = copy.deepcopy(entries)
    del cut[i]["response"]["data"]
    out = _outcome(_write(tmp_path, cut, "cut.log"))
    assert out.status == FAILED and _lines(out) == [i + 1]
    assert out.findings[0].message.startswith(_LOGIN_UNNAMED)
    cut[i]["response"]["auth"] = {"client_token": "hmac-sha256:" + "ab" * 32, "display_name": "oidc-alice"}
    assert _outcome(_write(tmp_path, cut, "issued.log")).status == PASSED


def test_who_saw_it_names_a_user_or_account_written_without_arn_or_principal_id(
        capsys: pytest.CaptureFixture[str]) -> None:
    """`auditready access` (one engine with required_fields) names a SAML user written with userName alone, and an
    anonymous S3 request's account, by those fields, not by the type's word ("SAMLUser", "AWSAccount"), which
    names no one."""
    from pytest_auditready.cli import main

    code = main(["access", "*", str(CT / "identities.json")])
    out = capsys.readouterr().out
    assert code != 2, out  # (1: the fixture's records are years apart, holes in the period asked about)
    who = {line.split()[0] for line in out.splitlines()[2:] if line and not line.startswith(("read ", "the "))}
    assert {"some.user@my.company.com", "anonymous"} <= who, out
    assert not who & {"SAMLUser", "AWSAccount", "WebIdentityUser", "IdentityCenterUser", "Unknown"}, out
