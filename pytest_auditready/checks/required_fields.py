"""required_fields: each matched entry has time, identity, resource, action, result, source and request id.

An entry written before its request's outcome exists (``formats.REQUEST_TYPES``: a Vault/OpenBao request entry, a
Kubernetes RequestReceived event) needs no result of its own. A Kubernetes RequestReceived event is not counted as
judged for it either: it carries every other field, and its request's outcome is its later stage's event, judged
there; so such an event with every other field is excused by K8S_RECEIVED, and a log of RequestReceived events alone
(every outcome dropped: red team rt102 F2, a pipeline that de-duplicates by auditID keeps the first stage) judges
nothing and does not pass. Whether a RequestReceived event's request has a later stage in the log is completeness's
to judge: one with none, not in flight at the log's end, is a finding there."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from itertools import compress, repeat
from operator import attrgetter, is_
from typing import Any, Callable, Iterator, Optional, Sequence, Union

from ..auditlog.formats import CLOUDTRAIL_FIELDS, FORMATS, KEY_VAULT_URI, REQUEST_TYPES, field_sources, format_of
from ..auditlog.lines import NOT_ONE, long_fix, unscanned
from ..auditlog.model import Action, AuditEntry, BadLine, Entries, Record, is_ip
from ..auditlog.vault_json import (
    MIXED_FIX,
    NOT_VAULT,
    SERVER_LOG_FIX,
    SERVER_LOG_LINE,
    SERVER_OUTPUT,
    SERVER_OUTPUT_FIX,
)
from ..config import field_paths
from ..text import clip, listed
from .access_policy import RawLines, line_object
from .base import Check, CheckContext, Finding, Note, PlannedAction, Skip, Visitor, every_action, feed
from .completeness import WRAPPING_PATHS, alone

ID = "required_fields"
MEANING = field_sources(None)  # a Vault/OpenBao log's: what each field means and where it is read from
_FIX = FORMATS["vault"].fields_fix


def subjects(actions: Sequence[PlannedAction]) -> list[str]:
    return ["", *every_action(actions)]


_LOGIN_RE = re.compile(r"auth/.+/login(?:/[^/]+)?\Z")
# The JWT/OIDC auth method's steps before the caller holds any token (its PathsSpecial.Unauthenticated: openbao/openbao
# internal/builtin/credential/jwt/backend.go, hashicorp/vault-plugin-auth-jwt backend.go): the browser login (POST
# oidc/auth_url starts it, GET or POST oidc/callback ends it and returns the token, e.g. auth/oidc/oidc/callback for
# the UI) and the device flow's oidc/poll, which returns the token once the user approved the device (until then an
# error, authorization_pending); OpenBao's cel/login is a login.
_OIDC_LOGIN_RE = re.compile(r"auth/.+/oidc/(?:auth_url|callback|poll)\Z")
# A login's path within its auth mount: login, login/<name> (userpass, ldap, okta, radius), the JWT method's OIDC
# steps and CEL login; a login, the callback and the poll issue the token. "auth/userpass/users/login" names a user
# called "login".
_LOGIN_IN_MOUNT = re.compile(r"login(?:/[^/]+)?\Z|oidc/(?:auth_url|callback|poll)\Z|cel/login\Z")
_ISSUING_IN_MOUNT = re.compile(r"login(?:/[^/]+)?\Z|oidc/(?:callback|poll)\Z|cel/login\Z")
# The mount types of the JWT/OIDC method (one builtin plugin under two names): its own steps are no login elsewhere.
_JWT_TYPES = frozenset({"jwt", "oidc"})


def within_mount(request: dict[str, Any]) -> Optional[str]:
    """The request's path within its mount (request.mount_point, which Vault 1.12+ and OpenBao write; in a namespace
    Vault Enterprise prefixes it with the namespace's path, request.namespace.path, to which request.path is
    relative), or None when the entry names no mount its path lies in."""
    path, mount = request.get("path"), request.get("mount_point")
    if not isinstance(path, str) or not isinstance(mount, str) or not mount:
        return None
    ns = request.get("namespace")
    scope = ns.get("path") if isinstance(ns, dict) else None
    if isinstance(scope, str) and scope and mount.startswith(scope) and not path.startswith(mount):
        mount = mount[len(scope):]
    return path[len(mount):] if path.startswith(mount) else None


def login(request: dict[str, Any], issuing: bool = False) -> bool:
    """Whether a request is a login (or a JWT/OIDC login's step, made before the caller holds a token; ``issuing``:
    the steps that issue one), read within its auth mount (``within_mount``) where the entry names it, else by the
    path alone; the JWT method's own steps only on a mount of its type where the entry names one."""
    path, kind = request.get("path"), request.get("mount_type")
    if not isinstance(path, str):
        return False
    jwt = not isinstance(kind, str) or not kind or kind in _JWT_TYPES
    within = within_mount(request) if path.startswith("auth/") else None
    if within is not None:
        step = (_ISSUING_IN_MOUNT if issuing else _LOGIN_IN_MOUNT).match(within)
        return step is not None and (jwt or within.startswith("login"))
    oidc = jwt and _OIDC_LOGIN_RE.match(path) is not None
    if issuing:
        return (_LOGIN_RE.match(path) is not None and "/oidc/auth_url" not in path) or (
            oidc and not path.endswith("/oidc/auth_url"))
    return _LOGIN_RE.match(path) is not None or oidc


# Endpoints the vault serves without a token: each backend's PathsSpecial.Unauthenticated, which the router looks up
# before it asks for a token (openbao internal/vault/routing/router.go LoginPath: an entry ending in "*" is a prefix,
# "+" one path segment), so that their entries name no one, whatever the request's outcome ("unsupported path" too). The
# system backend's (openbao/openbao internal/vault/logical_system.go and hashicorp/vault vault/logical_system.go,
# NewSystemBackend): the UI's mounts and namespaces, the OpenAPI document, a wrapping token's look-up (the token is in
# the body) and the wrapping public key, replication status (Vault Enterprise also its DR secondary's operations,
# authorized by a DR operation token in the body), init, seal status, unseal, leader, health, an encoded root token's
# decoding, a login's MFA step (no token yet), the rekey and generate-root operations unseal-key holders run, and
# OpenBao's unauthenticated workflows (allowed by allow_unauthenticated_workflows); from the API docs ("This endpoint is
# unauthenticated"): the UI's feature flags and version, Vault Enterprise's pre-login custom messages (1.16+) and a
# namespace's default auth methods (1.21+), generate-recovery-token. The identity store's (openbao
# internal/vault/identity/store.go, vault/identity_store.go): the OIDC discovery documents and keys under .well-known,
# and an OIDC provider's token endpoint (the client's credentials, no vault token). Its userinfo endpoint is not among
# them: the provider's access token is a vault batch token of the user's entity (store_oidc_provider.go), so those
# entries name its entity_id. Left out: the four raft paths Vault Enterprise adds on a DR secondary only
# (storage/raft/autopilot/configuration and state, configuration, remove-peer), which need a token on any other node,
# and no entry says which node it was. The sys/ and identity/ mounts are at fixed paths.
_UNAUTHENTICATED_RE = re.compile(
    r"(?:sys/(?:internal/ui/(?:mounts(?:/.*)?|namespaces|feature-flags|version|unauthenticated-messages"
    r"|default-auth-methods)"
    r"|internal/specs/openapi"
    r"|wrapping/(?:lookup|pubkey)"
    r"|replication/(?:(?:dr|performance)/)?status"
    r"|replication/dr/secondary/(?:promote|disable|recover|update-primary|operation-token/delete"
    r"|license(?:/signed|/status)?|sys/config/reload/license|reindex)"
    r"|init|seal-status|unseal|leader|health|decode-token|mfa/validate"
    r"|(?:rekey|rekey-recovery-key)/(?:init|update|verify)"
    r"|(?:generate-root|generate-recovery-token)/(?:attempt|update)"
    r"|workflows/unauthed-execute/.*)"
    r"|identity/oidc/(?:(?:provider/)?[^/]+/)?\.well-known/.*"
    r"|identity/oidc/provider/[^/]+/token)\Z"
)
# The raft join handshake of an integrated-storage cluster (OpenBao, and Vault from which it forked: both list
# storage/raft/bootstrap/challenge and answer among the system backend's unauthenticated paths,
# vault/logical_system.go): a node joining (retry_join, at every start or rejoin) asks the challenge and posts its
# answer before it holds any token, proving itself with the cluster's seal. OpenBao 2.7.2 logs both with an auth
# object that names no one, on the leader and (refused "cannot write to readonly storage", then forwarded) on a
# standby: fixtures/openbao/ha.
_RAFT_JOIN_RE = re.compile(r"sys/storage/raft/bootstrap/(?:challenge|answer)\Z")
# The same lists of the backends a mount can put at any path, as paths within the mount, by the mount type each
# entry records (request.mount_type: "kv" for secret/acme/directory, a KV secret read that must name who made it).
# PKI (openbao internal/builtin/logical/pki/backend.go Backend; hashicorp/vault builtin/logical/pki/backend.go, with
# Vault's unified CRL and OCSP): any path under cert/ (a certificate by its serial, with or without separators, raw
# or PEM; the CA chain), the CA, its chain, the CRLs, each issuer's certificate and CRLs, the issuer list (LIST
# appends the "/"), OCSP, and ACME under the default directory and an issuer's, a role's and an issuer's role's
# (setupAcmeDirectory in both: directory, new-nonce (also the HEAD request, operation "header"), new-account,
# new-order, revoke-cert, key-change, account/+, authorization/+, challenge/+/+, orders, order/+ and its finalize
# and cert; not new-eab). SSH (openbao internal/builtin/logical/ssh/backend.go; hashicorp/vault
# builtin/logical/ssh/backend.go): vault-ssh-helper's OTP check "verify", the CA's public key and an issuer's. The
# Okta auth method (hashicorp/vault builtin/credential/okta/backend.go): its number challenge, verify/<nonce>, asked
# during a login. Logins are ``login``'s.
_ACME = (r"(?:issuer/[^/]+/)?(?:roles/[^/]+/)?acme/(?:directory|new-nonce|new-account|new-order|revoke-cert"
         r"|key-change|account/[^/]+|authorization/[^/]+|challenge/[^/]+/[^/]+|orders|order/[^/]+(?:/finalize|/cert)?)")
_PKI = (r"ca(?:/pem)?|ca_chain|(?:unified-)?crl(?:/delta)?(?:/pem)?"
        r"|issuer/[^/]+/(?:pem|der|json|(?:unified-)?crl(?:/delta)?(?:/der|/pem)?)|issuers/|(?:unified-)?ocsp(?:/.*)?|"
        + _ACME)
_IN_MOUNT = {"pki": r"cert/.*|" + _PKI, "ssh": r"verify|public_key|issuer/[^/]+/public_key", "okta": r"verify/.*"}
_AUTH_METHODS = frozenset({"okta"})  # of these mount types, the auth methods (mounted under auth/)
_MOUNT_UNAUTHENTICATED = {kind: re.compile(f"(?:{p})\\Z") for kind, p in _IN_MOUNT.items()}


def _any_mount(kind: str, pattern: str) -> str:
    """``pattern`` (a path within a mount of type ``kind``) under any mount path: an auth method's under auth/, a
    secrets engine's anywhere else."""
    return ("auth/.+/" if kind in _AUTH_METHODS else "(?!auth/).+/") + f"(?:{pattern})\\Z"


# An entry that names its mount's type but not its path (Vault 1.5 to 1.11) is read under any mount path.
_ANY_MOUNT = {kind: re.compile(_any_mount(kind, p)) for kind, p in _IN_MOUNT.items()}
# Every such path under any mount: what a rule may excuse before the entry's mount is read (``mount_unauthenticated``)
_MOUNT_UNAUTHENTICATED_RE = re.compile("|".join(p.pattern for p in _ANY_MOUNT.values()))
# An entry that names no mount type (Vault before 1.5) is read by the path alone, cert/ only as the PKI engine's
# routes name a certificate (path_fetch.go: cert/<serial of hex digits, ":" or "-">, its raw/pem, ca_chain, ca, crl,
# delta-crl), so that another engine's secret under cert/ is not taken for one.
_UNTYPED_MOUNT_RE = re.compile("|".join(
    _any_mount(k, r"cert/(?:[0-9A-Fa-f:-]+(?:/raw(?:/pem)?)?|ca_chain|ca|crl|delta-crl)|" + _PKI if k == "pki" else p)
    for k, p in _IN_MOUNT.items()))


def mount_unauthenticated(request: dict[str, Any]) -> bool:
    """Whether a request is on a path its mount's backend serves without a token (``_IN_MOUNT``), read within the
    mount its entry names: by its type (request.mount_type) and path (``within_mount``); under any mount path of
    that type where the entry names no mount path; by the path alone where it names no type."""
    path, kind = request.get("path"), request.get("mount_type")
    if not isinstance(path, str):
        return False
    if not isinstance(kind, str) or not kind:
        return _UNTYPED_MOUNT_RE.match(path) is not None
    within = within_mount(request)
    if within is None:
        typed = _ANY_MOUNT.get(kind)
        return typed is not None and typed.match(path) is not None
    own = _MOUNT_UNAUTHENTICATED.get(kind)
    return own is not None and own.match(within) is not None


_BAD_FIX = "find what rewrites or truncates the log (a pipeline, a full disk) and fix it"
# a field_map path that ends at an object or array (red team rt44 F4)
_NOT_ONE_FIX = ("map the field in field_map to a path that ends at one value (a key within the object, or an index: "
                "actor.names.0), or have the producer write one value there")
# (the producers write UTF-8: a hop that re-encodes to an 8-bit code page, red team rt44 F2, or damage)
_NOT_UTF8_FIX = ("find the hop that wrote bytes that are no UTF-8 (a re-encoding to an 8-bit code page such as "
                 "Windows-1252, or damage) and make it keep the producer's UTF-8; convert what it wrote back (iconv "
                 "-f WINDOWS-1252 -t UTF-8) or take the entries from the source")
# a line too long to read (``lines.too_long``): written so by the vault (a request or response of many MiB), or by
# a hop that joined lines
_LONG_FIX = ("find what wrote so long a line: an entry of a request or response of many MiB (lower the listener's "
             "max_request_size, 32 MiB by default), or a hop that joined lines; until then it cannot be judged")
# Recorded from OpenBao 2.7 with a `listener "unix"`: a request over a unix socket is logged with no remote_address
# (nor remote_port) at all, and nothing else in the entry says it came that way.
_UNIX_FIX = ("; a request over a unix socket listener (Vault Agent or Proxy on the same host) is logged with no "
             "remote_address at all: serve clients over TCP, or, if a unix listener is your accepted control, take "
             "source out of required_fields and record why")
# A help request (`vault path-help`, `GET /v1/<path>?help=1`: operation "help") is logged with no request.id at all:
# http/help.go's handleHelp sets none (hashicorp/vault#32026, reported on Vault 1.20; OpenBao #3439, fixed by
# openbao/openbao PR 3440). The entry still lacks its request id (it cannot be paired by one): the fix names the bug.
_HELP_FIX = ("; a help request (operation 'help': `vault path-help`, `?help=1`) is logged without a request id by "
             "a known bug (hashicorp/vault#32026, Vault 1.20 and later until it is fixed; OpenBao before the fix of "
             "openbao/openbao#3439): upgrade to a release with the fix, and until then pair such entries by path, "
             "operation, identity and time")
# Vault and OpenBao write in request.remote_address the host part of the connection's address, or of the
# X-Forwarded-For address the listener was told to take from a trusted proxy (x_forwarded_for_authorized_addrs): an
# IP address either way. Anything else (a host name, a word) names no source: a hop rewrote it, or the listener
# took a header a client wrote.
_ADDRESS_FIX = ("find the hop that rewrites request.remote_address and keep the vault's value; behind a proxy, list "
                "only that proxy in the listener's x_forwarded_for_authorized_addrs and have it send the address "
                "its connection came from")
_ADDRESS_WHAT = "a source that is an IP address"
_ADDRESSES_KEPT = 4096  # source values already judged (a log has few)
_SHOW = 20
_VAULT_TYPES = frozenset({"request", "response"})  # every entry a Vault/OpenBao audit device writes is one of them
# Vault and OpenBao write the policy decision in auth.policy_results; a request it refused ("allowed": false) fails
# with "permission denied", written in the entry's error (request and response entries alike: audit/entry_formatter.go
# copies policy_results and the outer error into both). Entries read line by line are judged in their block's text
# (booleans are never HMAC'd): only a line that holds the decision and not an error after an object is parsed.
_DENIED_MARKS = ((b'"allowed":false', b'},"error":"'), (b'"allowed": false', b'}, "error": "'))
_NL = b"\n"
_AUTH, _DECISION, _ALLOWED = attrgetter("auth"), attrgetter("policy_results"), attrgetter("allowed")
_REQUEST = attrgetter("request")
_BLANK = frozenset({b'"', b" ", b"\t", b"\\"})  # what may follow the opening quote of an empty or blank error
_DENIED_FIX = ("keep the vault's 'error' field in every entry: a pipeline stage that drops or renames it (a field "
               "filter, a mapping) hides why the vault refused the request")
# Every entry Vault (0.11+, when namespaces came) and OpenBao write names the namespace of its request:
# audit/entry_formatter.go FormatRequest and FormatResponse both set request.namespace from the request's context
# ({"id":"root"} in the root namespace, {"id":…,"path":"team-b/"} in another; an entry without one is never written:
# namespace.FromContext fails it), and request.path is relative to it. Vault 0.10 and older wrote none, and none of
# the fields Vault began writing later (``_LATER_FIELDS``). So an entry without a namespace lost it on the way (red
# team rt64 F2; its request may have been made in another tenant's namespace) when it carries one of those fields
# (red team rt69 F1: a filter that drops auth.token_type too leaves policy_results, mount_type, remote_port, ...), or
# comes after an entry that had either; an entry with neither is taken as Vault 0.10's (fixtures/real-vault: 2018
# entries before an upgrade's).
_NAMESPACE_KEY = re.compile(rb'"namespace\\*"\s*:\s*\{')
# The fields Vault began writing after namespaces came, each with its first release (object of the entry, key,
# release), from the hashicorp/vault pull requests that added them: token_type 1.0 (token types), token_ttl and
# token_issue_time 1.5 (#9091), mount_type 1.5 (#9167, "introduced in 1.5"), remote_port 1.9 (#12790), client_id
# 1.9 (#12919), mount_accessor 1.11 (#15342), policy_results 1.11 (#15457), mount_point 1.12 (#20411), the plugin's
# mount_class, mount_running_(plugin_)version, mount_running_sha256 and mount_is_external_plugin 1.14 (#19814), and
# Enterprise's forwarded and forwarded_from 1.14 (#20733). OpenBao (forked from Vault 1.14) writes them (recorded
# from OpenBao 2.7). Not among them: what Vault 0.10 wrote (fixtures/real-vault's 2018 entries: in auth client_token,
# accessor, display_name, policies, metadata, entity_id; in request id, operation, client_token(_accessor), path,
# data, policy_override, remote_address, wrap_ttl, headers), nor token_policies and identity_policies (#4747, June
# 2018: maybe a 0.10.x release's, so no proof).
_MOUNT = (("mount_type", "1.5"), ("mount_accessor", "1.11"), ("mount_point", "1.12"), ("mount_class", "1.14"),
          ("mount_running_version", "1.14"), ("mount_running_plugin_version", "1.14"),
          ("mount_running_sha256", "1.14"), ("mount_is_external_plugin", "1.14"))
_LATER_FIELDS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("auth", (("token_type", "1.0"), ("token_ttl", "1.5"), ("token_issue_time", "1.5"), ("policy_results", "1.11"))),
    ("request", (*_MOUNT, ("remote_port", "1.9"), ("client_id", "1.9"))),
    ("response", _MOUNT),
    ("", (("forwarded", "1.14"), ("forwarded_from", "1.14"))),
)
# a line that may carry one (only such a line is parsed: a key of the same name in request.data is the client's)
_LATER_KEY = re.compile(rb'"(?:token_type|token_ttl|token_issue_time|policy_results|mount_[a-z0-9_]+|remote_port'
                        rb'|client_id|forwarded(?:_from)?)\\*"\s*:')
_NAMESPACE_WHAT = "the namespace its path is relative to (request.namespace)"
_NAMESPACE_FIX = ("ship the vault's lines unchanged: remove the processor or filter that drops request.namespace (a "
                  "field filter, jq del(), a mapping that keeps request.path alone); if the device leaves it out "
                  "(Vault Enterprise 1.18+: `vault audit list -detailed` shows an exclude option naming "
                  "/request/namespace), enable a device whose exclude list keeps it")
_TYPE_FIX = ("find the hop that rewrites the vault's lines (a shipper's field renames or enrichments) or the writer "
             "that shares the vault's file, and keep the audit device's lines as written")
# CloudTrail's fields of who and from where (formats.CLOUDTRAIL_FIELDS) hold what CloudTrail writes there: the
# caller's type, ARN and principal id, the Identity Center user's id, the AWS service that acted (invokedBy), and as
# sourceIPAddress an IP address or an AWS service's name ("secretsmanager.amazonaws.com", "AWS Internal"): AWS
# CloudTrail User Guide, "CloudTrail userIdentity element" and "CloudTrail record contents". Never a placeholder for
# no value ("-", "null", "n/a": offline.reader.PLACEHOLDERS), which a hop writes where it blanked a field (a CSV or
# SIEM round trip): read as an empty field, as in generic JSON lines (red team rt57 F2). (What CloudTrail writes in
# place of a value, HIDDEN_DUE_TO_SECURITY_REASONS for an unknown user's userName, an empty principalId and the
# accountId ANONYMOUS_PRINCIPAL of an unauthenticated S3 call, is in none of these fields or is no placeholder.)
_CT_BLANKABLE = ("identity", "source")
_CT_WRITES = {"identity": "the caller's type, ARN and ids or the AWS service that acted",
              "source": "an IP address or an AWS service's name"}
# What the API server writes in an audit event's kind, apiVersion and responseStatus (k8s.io/apiserver
# pkg/apis/audit/v1 types.go and v1beta1, v1alpha1: Event's TypeMeta, ResponseStatus *metav1.Status whose Code is
# `int32 json:"code,omitempty"`; endpoints/filters/audit.go). kind is "Event"; apiVersion is audit.k8s.io/v1, or
# v1beta1 or v1alpha1 from an API server before 1.24 (--audit-log-version; kubernetes/kubernetes#108092 removed them).
# Either may be left out (the webhook backend's EventList items as `jq -c '.items[]'` gives them). A code is a JSON
# number, never 0 (omitempty leaves 0 out). A RequestReceived event is written before the request is handled, so it
# has no responseStatus: processCode sets one with the response's code (ResponseStarted), the Panic path and the
# deferred ResponseComplete theirs, and the buffered backend sends a deep copy of each stage's event.
_K8S_KINDS = frozenset({"Event"})
# A RequestReceived event names who asked for what, when and from where, and cannot name the outcome (it is written
# before the request is handled): the result is its request's later stage's (ResponseStarted, ResponseComplete or
# Panic), judged on that event. So a RequestReceived event that carries every other field is excused by this rule
# rather than counted as judged, and a log of such events alone (every outcome dropped, red team rt102 F2: a pipeline
# that de-duplicates by auditID keeps the first stage) judges nothing and does not pass. Whether its request has a
# later stage in the log is completeness's to judge (a request with none, not in flight at the log's end, is a
# finding there).
K8S_RECEIVED = ("a Kubernetes RequestReceived event is written before its request is handled, so it carries no "
                "result (responseStatus): the request's outcome is judged on its later stage's event (ResponseStarted, "
                "ResponseComplete or Panic), and completeness reports a request the log holds no later stage of")
_K8S_VERSIONS = frozenset({"audit.k8s.io/v1", "audit.k8s.io/v1beta1", "audit.k8s.io/v1alpha1"})
# A line as the API server writes it begins so (TypeMeta first, compact JSON): a line whose first object does not is
# parsed and judged (``Fields._k8s_values``), as is one with a "code" that is no positive integer, or a
# RequestReceived event's line that names a responseStatus.
_K8S_TYPED = re.compile(rb'^[^{\n]*\{(?!"kind":"Event","apiVersion":"audit\.k8s\.io/v1(?:beta1|alpha1)?",)', re.M)
_K8S_ODD_CODE = re.compile(rb'"code"\s*:\s*(?![1-9][0-9]*\s*[,}])')
_K8S_RECEIVED = re.compile(rb'"stage"\s*:\s*"RequestReceived"')
_K8S_VALUES_WHAT = "kind, apiVersion and responseStatus as the API server writes them"
_K8S_VALUES_FIX = ("find the hop that rewrites the API server's events (a shipper's or SIEM's field mapping, type "
                   "conversion or enrichment, a re-export) or the writer that shares the file, and ship the events as "
                   "the log backend (--audit-log-path) wrote them")
_BLANKED_FIX = ("; a placeholder is what an export, shipper or SIEM writes for a value it lost: find that hop, and "
                "take the records from the trail's own delivery (its S3 bucket, CloudWatch Logs)")
# A record whose userIdentity lacks the field its type names who by (offline.reader._WHO_BY_TYPE): CloudTrail writes
# it in every record of that type, so a hop cut it (a field filter, a mapping, an export's column list).
_CUT_FIX = ("; CloudTrail writes that field in every record of the caller's type: find the hop that cut it from the "
            "record (a shipper's field filter or mapping, an export's column list) and take the records from the "
            "trail's own delivery (its S3 bucket, CloudWatch Logs)")


def _k8s_odd_lines(first_line: int, data: bytes) -> set[int]:
    """The line numbers of a Kubernetes block's lines that may hold a kind, apiVersion or responseStatus the API
    server does not write (``_K8S_TYPED`` and the patterns after it): C-speed searches."""
    out = {line for pattern in (_K8S_TYPED, _K8S_ODD_CODE) for line, _ in _match_lines(pattern, first_line, data)}
    for line, at in _match_lines(_K8S_RECEIVED, first_line, data):
        end = data.find(b"\n", at)
        if data.find(b'"responseStatus"', data.rfind(b"\n", 0, at) + 1, len(data) if end < 0 else end) >= 0:
            out.add(line)
    return out


def _match_lines(pattern: "re.Pattern[bytes]", first_line: int, data: bytes) -> Iterator[tuple[int, int]]:
    """(line number, offset) of each match of ``pattern`` in ``data`` (whole lines from ``first_line``), each line
    counted on from the last match's."""
    line, at = first_line, 0
    for m in pattern.finditer(data):
        line += data.count(b"\n", at, m.start())
        at = m.start()
        yield line, at


def _k8s_odd_values(data: dict[str, Any]) -> list[str]:
    """What in a parsed Kubernetes audit event is not what the API server writes (``_K8S_KINDS`` above), as clauses
    ("kind \"EventX\" is not Event"); [] when nothing."""
    out = []
    kind, version = data.get("kind"), data.get("apiVersion")
    if "kind" in data and kind not in _K8S_KINDS:
        out.append(f"kind {clip(json.dumps(kind), 40)} is not Event, the kind of every audit event the API server "
                   "writes")
    if "apiVersion" in data and version not in _K8S_VERSIONS:
        out.append(f"apiVersion {clip(json.dumps(version), 40)} is none the API server writes (audit.k8s.io/v1; "
                   "v1beta1 and v1alpha1 before Kubernetes 1.24)")
    status = data.get("responseStatus")
    if "responseStatus" in data and data.get("stage") == "RequestReceived":
        shown = clip(json.dumps(status, separators=(",", ":")), 60)
        out.append(f"responseStatus {shown} is on a RequestReceived event, which the API server writes before the "
                   "request is handled, with no response yet")
    code = status.get("code") if isinstance(status, dict) else None
    if isinstance(status, dict) and "code" in status and (type(code) is not int or code == 0):
        out.append(f"responseStatus.code {clip(json.dumps(code), 40)} is no HTTP status the API server writes (a "
                   "JSON number, never 0: a code of 0 is left out), and the event does not show the request's "
                   "outcome")
    return out


def narrowed(wanted: Sequence[str]) -> str:
    """What a required_fields below the default leaves unasked, for the pass to say (red team rt74 F3: a pass that
    asked only for a time read as one of PCI DSS 10.2.2 and NIST AU-3); "" when every field the default asks for
    is asked."""
    from ..config import Settings

    left = [f for f in Settings.required_fields if f not in wanted]
    if not left:
        return ""
    return (f"Narrowed by settings: asked only for {listed(list(dict.fromkeys(wanted)))} (required_fields = "
            f"{json.dumps(list(wanted))}); not asked: {listed(left)}, which the default asks for: this pass is no "
            "evidence of them.")


def _trail_record(raw: bytes) -> Optional[dict[str, Any]]:
    """The CloudTrail record of one raw line (after any framing; an EventBridge event's detail), or None."""
    from ..auditlog.detect import eventbridge_detail

    obj = line_object(raw)
    detail = eventbridge_detail(obj)
    obj = detail if detail is not None else obj
    return obj if isinstance(obj, dict) else None


def missing(rec: Record, wanted: Sequence[str], denied: Optional[bool]) -> list[str]:
    """The wanted canonical fields ``rec`` lacks. A request is logged before its outcome exists, so it needs a
    result only when it was denied (``denied`` None: not known, as offline)."""
    out = []
    for f in wanted:
        v = getattr(rec, f)
        if v and not v.isspace():
            continue
        if f == "result" and rec.type in REQUEST_TYPES and not denied:
            continue
        out.append(f)
    return out


def _complete(r: Record) -> bool:
    """All seven canonical fields present (the common case, checked without a loop)."""
    return bool(r.time and r.identity and r.resource and r.action and (r.result or r.type in REQUEST_TYPES)
                and r.source and r.request_id) and not (
        r.time.isspace() or r.identity.isspace() or r.resource.isspace() or r.action.isspace()
        or r.source.isspace() or r.request_id.isspace() or (r.result.isspace() and r.type not in REQUEST_TYPES))


def _all_complete(b: Entries) -> bool:
    """True only if ``_complete`` holds for every entry of ``b`` (False: look at each)."""
    cols = (b.time, b.identity, b.resource, b.action, b.source, b.request_id)
    # A request needs no result (one without a policy decision, e.g. a login, has none).
    results = "" not in b.result or all(t in REQUEST_TYPES for r, t in zip(b.result, b.type) if not r)
    return (all(all(c) for c in cols) and results
            and not any(any(map(str.isspace, c)) for c in (*cols, b.result)))


@dataclass(frozen=True)
class Excuse:
    """A positive rule: an entry that carries what the vault writes for a request of its own (no client, hence no
    source address) may lack ``fields``, and nothing else. Missing evidence alone never matches a rule."""

    rule: str
    fields: frozenset[str]
    matches: Callable[[Record], bool]
    alone: bool = False  # the producer delivers such records in files of their own (see Check.alone_rules)


# A token the vault does not know gets "permission denied" before any policy is evaluated: its entries carry an auth
# object with no one in it and no policy decision ({"token_type":"default"}: fixtures/openbao/odd, Vault's
# audit/entry_formatter.go). An entry whose policies refused the request (auth.policy_results.allowed false) was made
# with a known token: who it was is written there, and the rule does not excuse its absence (``Fields._decided``).
_UNKNOWN_TOKEN = ("a request refused because its token is unknown to the vault (error 'permission denied', no auth "
                  "to log)")

# A request that fails while the vault checks its token, after the token was found (the route's existence check
# converts the request's data: "error converting input for field ..."; recorded from OpenBao 2.7, a bad
# `bound_claims` sent to auth/jwt/role/<name>): both entries carry an empty auth ({"token_type":"default"}) and the
# error, yet name the token by its accessor (request.client_token_accessor), which its creation's entry ties to who
# holds it. A successful entry, or one without that accessor, gets no excuse.
_TOKEN_CHECK_FAILED = ("a request that failed while the vault checked its token (an error before the auth object was "
                       "filled, e.g. 'error converting input'): the token is named by request.client_token_accessor")


_UNAUTHENTICATED = ("a request on an endpoint the vault serves without a token, one of its backends' "
                    "PathsSpecial.Unauthenticated (the UI's login page, the OpenAPI document, a wrapping token's "
                    "look-up, unseal-key operations, decode-token, a login's MFA step, replication status, OIDC "
                    "discovery and the OIDC provider's token endpoint; on a PKI mount its CA, CRLs, issuers, "
                    "certificates, OCSP and ACME; on an SSH mount its CA keys and vault-ssh-helper's OTP verify; "
                    "Okta's number challenge): no one to name")
_RAFT_JOIN = ("the raft join handshake a node of an integrated-storage cluster makes before it holds any token "
              "(sys/storage/raft/bootstrap/challenge and answer, at every start or rejoin of a node): no one to name")
_LOGIN = ("a login (auth/<method>/login, a JWT mount's cel/login) by a caller that holds no token yet: a "
          "successful login's response entry names who logged in, a failed login has no one to name")
_OIDC_LOGIN = ("an OIDC login (auth/<mount>/oidc/auth_url and oidc/callback in a browser, oidc/poll of the device "
               "flow) by a caller that holds no token yet: the response entry of the callback or poll that succeeded "
               "names who logged in")
_LOGINS = (_LOGIN, _OIDC_LOGIN)
_LOGIN_UNNAMED = ("The response entry of a login names no one and carries no error: a login that succeeded names who "
                  "logged in (auth, and the token it issued in response.auth), one that failed its error, so a hop "
                  "removed them")


def _answers_login(d: Optional[dict[str, Any]]) -> bool:
    """Whether a parsed login response carries what the login issued (response.auth: the new token and who holds it,
    or the MFA step it asks for, response.auth.mfa_requirement, before anyone is known)."""
    resp = d.get("response") if d is not None else None
    return isinstance(resp, dict) and isinstance(resp.get("auth"), dict)


def _accessor_named(d: Optional[dict[str, Any]]) -> bool:
    """Whether a parsed Vault/OpenBao entry has the auth object the vault writes before it fills one (nothing but
    token_type) and names its token's accessor (request.client_token_accessor). An auth object with anything else
    in it (a policy decision, a token) was filled: who it was is missing from it."""
    auth = d.get("auth") if d is not None else None
    if auth is not None and not (isinstance(auth, dict) and set(auth) <= {"token_type"}):
        return False
    req = d.get("request") if d is not None else None
    acc = req.get("client_token_accessor") if isinstance(req, dict) else None
    return isinstance(acc, str) and bool(acc.strip())

# Vault/OpenBao's own requests, as OpenBao 2.x writes them (recorded from real servers: fixtures/openbao/clean.log).
VAULT_EXCUSES = (
    Excuse("the audit device's self-test write when it is enabled (request on sys/audit/test with no token)",
           frozenset({"source", "identity"}),
           lambda r: r.type == "request" and r.resource == "sys/audit/test" and r.action == "update"
           and bool(r.request_id) and not r.identity),
    Excuse("a dev server's own root-token set-up (request ids dev-gen-root, dev-revoke-init-root)",
           frozenset({"source"}),
           lambda r: r.request_id in ("dev-gen-root", "dev-revoke-init-root")
           and r.resource in ("auth/token/create", "auth/token/revoke-self")),
    Excuse("a dev server's own mount of its KV store at start (sys/mounts/secret by its 'token', no request id)",
           frozenset({"source", "request_id"}),
           lambda r: r.resource == "sys/mounts/secret" and r.action == "update" and r.identity == "token"),
    # Recorded from OpenBao 2.7 (fixtures/openbao/odd): who is known only once a token is.
    Excuse(_LOGIN,
           frozenset({"identity"}),
           lambda r: _LOGIN_RE.match(r.resource) is not None and r.action == "update"),
    Excuse(_OIDC_LOGIN,
           frozenset({"identity"}),
           lambda r: _OIDC_LOGIN_RE.match(r.resource) is not None and r.action in ("read", "update")),
    Excuse(_UNAUTHENTICATED,
           frozenset({"identity"}),
           lambda r: (_UNAUTHENTICATED_RE.match(r.resource) is not None
                      or _MOUNT_UNAUTHENTICATED_RE.match(r.resource) is not None) and bool(r.source)),
    Excuse(_RAFT_JOIN,
           frozenset({"identity"}),
           lambda r: _RAFT_JOIN_RE.match(r.resource) is not None and r.action == "update" and bool(r.source)),
    Excuse(_UNKNOWN_TOKEN, frozenset({"identity"}),
           lambda r: r.result.startswith("error:") and "permission denied" in r.result),
    # The request entry the vault writes alone when a wrapping token is invalid (openbao internal/vault/wrapping.go,
    # validateWrappingToken; completeness.alone): recorded from OpenBao 2.7, sys/wrapping/unwrap sent with a wrapping
    # token that does not exist as its token.
    Excuse("a wrapping token refused as invalid (sys/wrapping/lookup, rewrap or unwrap, error 'wrapping token is not "
           "valid or does not exist'): the token sent was never known, so there is no one to name",
           frozenset({"identity"}),
           lambda r: r.resource in WRAPPING_PATHS and alone(r.type, r.resource, r.result) and bool(r.source)),
)


# CloudTrail's own records that are no request (AWS CloudTrail User Guide, "Insights events"): an Insights event
# reports an unusual rate of calls or errors, with the API it concerns inside insightDetails and no caller.
CLOUDTRAIL_EXCUSES = (
    Excuse("a CloudTrail Insights event (eventType AwsCloudTrailInsight) is CloudTrail's own analysis of call rates, "
           "not a request: it names no caller, source address or action of its own",
           frozenset({"identity", "resource", "action", "source"}),
           lambda r: r.type == "AwsCloudTrailInsight" and bool(r.request_id), alone=True),
)

# The API server's failed-authentication audit (apiserver endpoints/filters/authn_audit.go): the request is refused
# with 401 before anyone is known, so its event has an empty user.
K8S_EXCUSES = (
    Excuse("a request the API server refused at authentication (responseStatus.code 401) has no user to name",
           frozenset({"identity"}),
           lambda r: r.result == "401" and bool(r.source) and bool(r.request_id)),
)

# Any producer, read through field_map: a request refused at authentication, before anyone was known (red team rt86
# F4: Azure Key Vault logs the unauthenticated request the Azure SDK sends before each new client's first call, a 401
# with no identity, "Unauthenticated requests that result in a 401 response" in its logging docs; Cloud Audit Logs'
# status code 16 is UNAUTHENTICATED). Its result must say so: any other entry without who is a finding.
_REFUSED_UNKNOWN = frozenset({"401", "unauthorized", "unauthorised", "unauthenticated"})
_GCP_UNAUTHENTICATED = re.compile(r'"code"\s*:\s*16\b')


def _refused_unknown(result: str) -> bool:
    """Whether a mapped result says the request was refused because no one was authenticated."""
    value = result.strip().lower()
    return value in _REFUSED_UNKNOWN or (value[:1] == "{" and _GCP_UNAUTHENTICATED.search(value) is not None)


# The Okta System Log names Okta itself as the actor of what it does on its own (a lifecycle rule that deactivates
# a user, a session that expires, a reset by Okta Support): a SystemPrincipal, alternateId "system@okta.com",
# displayName "Okta System", its client object's fields all null, for no client sent a request (red team rt100 F5;
# okta-sdk-golang's LogActor examples; Panther's Okta support-reset rule matches those null client fields). Held to
# a field_map that reads who from actor.alternateId, and a line that holds the source's key (or an object above it
# in the mapped path) written null (``Fields._line_holds``): a key a hop dropped excuses nothing.
_OKTA_SYSTEM = ("an action Okta took itself (actor system@okta.com, a SystemPrincipal) has no client, so no source "
                "address")
# Azure Key Vault's AuditEvent logs hold a correlationId only when the client passed one: "An optional GUID that the
# client can pass to correlate client-side logs with service-side (Key Vault) logs" (Key Vault logging docs, the
# AZKVAuditLogs table, whose column is "CorrelationId"), and write it empty otherwise ("correlationId": "" in the
# docs' sample; a Log Analytics export of the table writes "CorrelationId": "", red team rt101). A request without one
# has no request id to log (red team rt100 F5). Held to a field_map that reads the request id from correlationId, an
# entry whose resource is a Key Vault's, and a line that holds the key written empty (``Fields._line_holds``): a
# key a hop dropped, or a null or placeholder in its place, is missing evidence, which excuses nothing.
_KEY_VAULT_UNCORRELATED = ("a Key Vault request whose client passed no correlation id (correlationId is \"an optional "
                           "GUID that the client can pass\", Key Vault's logging docs)")
_KEY_VAULT_RESOURCE = re.compile(KEY_VAULT_URI + r"(?:/|\Z)|/providers/microsoft\.keyvault/", re.IGNORECASE)


_CORRELATION_KEYS = ("correlationId", "CorrelationId")  # the diagnostic setting's, the AZKVAuditLogs table's
# (written empty, or as the nil GUID a client passes for none: .NET's Guid.Empty, which reader.no_request_id reads as
# no request id, red team rt102)
_EMPTY_CORRELATION = {k: re.compile(b'"' + k.encode() + rb'"\s*:\s*"(?:|0{8}-0{4}-0{4}-0{4}-0{12})"')
                      for k in _CORRELATION_KEYS}


def _key_vault(rec: Record) -> bool:
    """``rec``'s resource is a Key Vault's: a vault's or managed HSM's URI, or its Azure resource id."""
    return _KEY_VAULT_RESOURCE.search(rec.resource) is not None


JSONL_EXCUSES = (
    Excuse("a request refused at authentication (its result 401, Unauthorized or Unauthenticated) has no one to name",
           frozenset({"identity"}),
           lambda r: _refused_unknown(r.result) and bool(r.source) and bool(r.request_id)),
    Excuse(_OKTA_SYSTEM, frozenset({"source"}), lambda r: r.identity == "system@okta.com" and bool(r.request_id)),
    Excuse(_KEY_VAULT_UNCORRELATED, frozenset({"request_id"}),
           lambda r: bool(r.identity) and bool(r.source) and _key_vault(r)),
    Excuse(_KEY_VAULT_UNCORRELATED + ", refused at authentication (401) before anyone was known",
           frozenset({"identity", "request_id"}),
           lambda r: _refused_unknown(r.result) and bool(r.source) and _key_vault(r)),
)

_EXCUSES = {"vault": VAULT_EXCUSES, "cloudtrail": CLOUDTRAIL_EXCUSES, "k8s": K8S_EXCUSES, "jsonl": JSONL_EXCUSES}


def excused_by(rec: Record, lacking: Sequence[str], fmt: str) -> Optional[Excuse]:
    """The rule that excuses ``rec`` for lacking ``lacking``, if one covers every field it lacks."""
    for ex in _EXCUSES.get(fmt, ()):
        if ex.fields.issuperset(lacking) and ex.matches(rec):
            return ex
    return None


def _policies_refused(d: dict[str, Any]) -> bool:
    """Whether a parsed Vault/OpenBao entry carries the policy decision refusing its request
    (auth.policy_results.allowed false)."""
    auth = d.get("auth")
    pr = auth.get("policy_results") if isinstance(auth, dict) else None
    return isinstance(pr, dict) and pr.get("allowed") is False


def _later_field(raw: bytes) -> str:
    """The first field of ``_LATER_FIELDS`` a raw Vault/OpenBao line carries, as "auth.token_type (Vault 1.0+)";
    "" when it carries none (an entry Vault 0.10 or older could have written)."""
    if _LATER_KEY.search(raw) is None:
        return ""
    d = line_object(raw)
    if d is None:
        return ""
    for part, keys in _LATER_FIELDS:
        obj = d.get(part) if part else d
        if isinstance(obj, dict):
            for key, version in keys:
                if obj.get(key) is not None:
                    return f"{part + '.' if part else ''}{key} (Vault {version}+)"
    return ""


class Fields(Visitor):
    """Bad lines always; every entry's fields when there is no scenario to match entries to (offline)."""

    # a block's raw text, judged in the process that read it; the source values it has judged (a cache)
    stays = ("held", "raw", "_batch", "judged_addresses", "suspect", "k8s_odd")

    def __init__(self, ctx: CheckContext) -> None:
        self.wanted = tuple(ctx.settings.required_fields)
        self.narrowed = narrowed(self.wanted)  # said beside the pass
        self.every_entry = ctx.ledger is None
        self.all_fields = set(self.wanted) == set(MEANING)
        self.meaning = field_sources(ctx.settings)  # as the log's format (and field_map) names the fields
        self.fix = format_of(ctx.settings).fields_fix
        self.format = format_of(ctx.settings).name
        self.findings: list[Finding] = []
        self.more: dict[str, int] = {}  # what is lacking -> how many entries beyond the ones shown
        self.bad_more = 0
        # where the first entry of each count above is (file:line), when known: its roll-up points there
        self.more_where: dict[str, str] = {}
        self.bad_more_where = ""
        # index in findings -> what that entry lacks (for ``merge``); the findings not in it are unreadable lines
        self.lacking: dict[int, str] = {}
        # Vault/OpenBao, offline: entries the policies refused are judged for their error (``_refused``)
        self.refusals = self.every_entry and self.format == "vault" and "result" in self.wanted
        self.held: Optional[tuple[str, int, bytes]] = None  # the block whose entries come next
        self.raw = RawLines()  # the lines of the block being read (``_decided``)
        # Vault/OpenBao, offline: each entry's source must be an IP address (``_address``)
        self.addresses = self.every_entry and self.format == "vault" and "source" in self.wanted
        self.judged_addresses: dict[str, bool] = {}
        self._batch: Optional[Entries] = None  # the batch being judged (``_decided``)
        # CloudTrail, offline: a placeholder in a field of who or from where is no value (``_blanked``); the
        # fields judged, each with the paths it is read from (CloudTrail's own, or its field_map entry)
        mapped = dict(getattr(ctx.settings, "field_map", ()) or ())
        self.blankable = {f: field_paths(mapped[f]) if f in mapped
                          else tuple(tuple(p.split(".")) for p in CLOUDTRAIL_FIELDS[f])
                          for f in _CT_BLANKABLE if f in self.wanted} if (
            self.every_entry and self.format == "cloudtrail") else {}
        self.own_paths = frozenset(self.blankable) - set(mapped)  # read from CloudTrail's own paths
        self.placeholder_re: Optional[re.Pattern[bytes]] = None
        if self.blankable:
            from ..offline.reader import PLACEHOLDERS

            keys = sorted({p[-1] for paths in self.blankable.values() for p in paths})
            words = sorted(PLACEHOLDERS, key=len, reverse=True)
            # a line that may hold one: one of those keys with a placeholder as its string value, in any case
            self.placeholder_re = re.compile(
                rb'"(?:' + b"|".join(re.escape(k.encode()) for k in keys) + rb')"\s*:\s*"\s*(?i:'
                + b"|".join(re.escape(w.encode()) for w in words) + rb')\s*"')
        self.suspect = False  # the block being read holds such a line
        # Vault/OpenBao, offline: each entry names its request's namespace (``_namespaced``); whether an entry showed
        # a producer that writes it yet (by it, or by a field of ``_LATER_FIELDS``), and (for ``merge``) the entries
        # of this range with neither before the first that did
        self.namespaces = self.every_entry and self.format == "vault" and "resource" in self.wanted
        self.namespaced = False
        self.bare: list[Finding] = []
        self.bare_count = 0
        # Kubernetes, offline: each event's kind, apiVersion and responseStatus hold what the API server writes there
        # (``_K8S_KINDS`` above); the lines of the block being read that may not, to be parsed (``_k8s_values``)
        self.k8s_values = self.every_entry and self.format == "k8s"
        # Kubernetes, offline, with the result asked for: a RequestReceived event is not counted as judged for it
        # (K8S_RECEIVED), so that a log of such events alone, which records no request's outcome, judges nothing
        self.received = self.k8s_values and "result" in self.wanted
        self.k8s_odd: set[int] = set()
        # generic JSON lines: who is read from an Okta event's actor, and the keys its source is read through, to
        # find written null (_OKTA_SYSTEM); the request id from Key Vault's optional correlationId alone
        # (_KEY_VAULT_UNCORRELATED)
        jsonl = self.format == "jsonl"
        who = field_paths(mapped.get("identity", "")) if jsonl else ()
        okta_actor = bool(who) and all(p[-2:] == ("actor", "alternateId") for p in who)
        where = field_paths(mapped.get("source", "")) if okta_actor else ()
        keys = sorted({k for p in where for k in p if k and not k.isdigit()})
        self.null_source = (re.compile(rb'"(?:' + b"|".join(re.escape(k.encode()) for k in keys) + rb')"\s*:\s*null')
                            if keys else None)
        ids = field_paths(mapped.get("request_id", "")) if jsonl else ()
        names = {p[-1] for p in ids}  # the one name of Key Vault's correlation id the request id is read from
        self.empty_correlation: Optional[re.Pattern[bytes]] = (
            _EMPTY_CORRELATION[names.pop()] if len(names) == 1 and names <= set(_CORRELATION_KEYS) else None)

    def bad_line(self, bad: BadLine) -> None:
        if len(self.findings) - len(self.lacking) >= _SHOW:  # the unreadable lines shown (``lacking``: the entries)
            if not self.bad_more:
                self.bad_more_where = bad.where
            self.bad_more += 1
            return
        fix = (long_fix(bad.reason, _LONG_FIX) if unscanned(bad.reason) else
               SERVER_OUTPUT_FIX if bad.reason == SERVER_OUTPUT else
               SERVER_LOG_FIX if bad.reason == SERVER_LOG_LINE else
               MIXED_FIX if NOT_VAULT in bad.reason else
               _NOT_ONE_FIX if bad.reason.endswith(NOT_ONE) else
               _NOT_UTF8_FIX if bad.reason.startswith("not UTF-8") else _BAD_FIX)
        self.findings.append(Finding(ID, "", f"Line {bad.line} of {bad.file} is not a readable audit entry: "
                                     f"{bad.reason}.", fix, where=bad.where))

    def block(self, file: str, first_line: int, data: bytes) -> None:
        if self.refusals:
            # judged with its entries (``_refused``), when they are not decoded
            self.held = (file, first_line, data)
        if self.every_entry and self.format == "vault":  # (``_decided``, ``_token_named``)
            self.raw.block(file, first_line, data)
        if self.placeholder_re is not None:  # (``_blanked``)
            self.raw.block(file, first_line, data)
            self.suspect = self.placeholder_re.search(data) is not None
        if self.k8s_values:
            self.raw.block(file, first_line, data)
            self.k8s_odd = _k8s_odd_lines(first_line, data)
        if self.empty_correlation is not None or self.null_source is not None:  # (``_line_holds``)
            self.raw.block(file, first_line, data)

    def _line_holds(self, rec: Record, written: Optional[re.Pattern[bytes]]) -> bool:
        """Whether ``rec``'s line (kept for these rules) holds ``written``: the Okta source's key written null
        (``null_source``: Okta's clientless event), or the one correlation id key field_map reads written empty
        (``empty_correlation``: Key Vault's request whose client passed none). False without the pattern."""
        if written is None:
            return False
        raw = self.raw.get(rec.file, rec.line)
        return raw is not None and written.search(raw) is not None

    def _refused(self, batch: Entries) -> None:
        """A Vault/OpenBao entry whose policy decision refused the request must say why (its error). Decoded
        entries are judged by C-speed passes over their objects (an entry is looked at only in a batch that holds
        such an entry); others, in the raw text of their block."""
        held, self.held = self.held, None
        items = batch.decoded
        if items is not None:
            none = repeat(None)
            auths = list(map(_AUTH, items))
            decisions = list(map(_DECISION, auths) if None not in auths else
                             map(getattr, auths, repeat("policy_results"), none))
            if False not in map(_ALLOWED, filter(None, decisions)):  # the common case: no refusal in the batch
                return
            allowed = list(map(getattr, decisions, repeat("allowed"), none))
            refused = list(compress(range(len(allowed)), map(is_, allowed, repeat(False))))
            errors = list(map(getattr, map(items.__getitem__, refused), repeat("error"), repeat("")))
            if "" not in errors and not any(map(str.isspace, errors)):
                return
            for i, error in zip(refused, errors):
                if not error.strip():
                    self._refusal(batch.type[i], batch.where(i), batch.request_id[i])
            return
        if held is not None:
            self._refused_text(*held)

    def _refused_text(self, file: str, first_line: int, data: bytes) -> None:
        if _DENIED_MARKS[0][0] not in data and _DENIED_MARKS[1][0] not in data:
            return
        seen: set[int] = set()
        for mark, error_mark in _DENIED_MARKS:
            pos = data.find(mark)
            while pos >= 0:
                start = data.rfind(b"\n", 0, pos) + 1
                end = data.find(b"\n", pos)
                end = len(data) if end < 0 else end
                pos = data.find(mark, end)
                # The entry's own error follows an object ("auth", "request" or "response"), a value's error (as a
                # refused response's data.error) begins one: only a line without the first is parsed and judged.
                at = data.find(error_mark, start, end)
                if (at >= 0 and data[at + len(error_mark) : at + len(error_mark) + 1] not in _BLANK) or start in seen:
                    continue
                seen.add(start)
                d = line_object(data[start:end])
                if d is None or not _policies_refused(d):
                    continue  # not an entry (reported as a bad line), or one the policies allowed
                error = d.get("error")
                if isinstance(error, str) and error.strip():
                    continue
                req = d.get("request")
                rid = req.get("id") if isinstance(req, dict) else None
                kind = d.get("type")
                self._refusal(kind if isinstance(kind, str) else "", f"{file}:{first_line + data.count(_NL, 0, start)}",
                              rid if isinstance(rid, str) else "")

    def _refusal(self, kind: str, where: str, request_id: str) -> None:
        kind = kind if kind in _VAULT_TYPES else ""
        self._add(Finding(ID, "", f"The {kind + ' ' if kind else ''}entry records a request the vault's policies "
                          "refused (auth.policy_results.allowed is false) but has no error: the vault writes "
                          "'permission denied' there, so the result of the request (a denial and its reason) is "
                          "missing.", _DENIED_FIX, where=where, request_id=request_id),
                  "the error of a refused request")

    def entries(self, batch: Entries) -> None:
        if self.refusals:
            self._refused(batch)
        if self.k8s_values and self.k8s_odd:
            self._k8s_values(batch)
        if self.namespaces:
            self._namespaced(batch)
        if not self.every_entry or (self.all_fields and _all_complete(batch) and (
                self.format != "vault" or batch.type.count("request") + batch.type.count("response") == len(batch))
                and (not self.addresses or all(map(self._address, set(batch.source))))
                and not (self.blankable and self.suspect)):
            if self.every_entry and self.received:  # (every entry complete: each RequestReceived event excused)
                n = batch.type.count("RequestReceived")
                if n:
                    self.excuse(K8S_RECEIVED, n)
            return
        self._batch = batch
        try:
            for rec in batch.records():
                self.entry(rec)
        finally:
            self._batch = None

    def _k8s_values(self, batch: Entries) -> None:
        """The events of ``batch`` on lines that may hold a kind, apiVersion or responseStatus the API server does
        not write (``_k8s_odd_lines``), each parsed and judged (``_k8s_odd_values``): a finding at its line."""
        odd = self.k8s_odd
        for i in [i for i, line in enumerate(batch.lines) if line in odd]:
            raw = self.raw.get(batch.file, batch.lines[i])
            data = line_object(raw) if raw is not None else None
            said = _k8s_odd_values(data) if data is not None else []
            if said:
                stage = batch.type[i]
                self._add(Finding(ID, "", f"The {clip(stage, 40) + ' ' if stage else ''}event's {'; its '.join(said)}"
                                  ": a hop rewrote the event or something else wrote it, so it is not the record the "
                                  "API server made of the request.", _K8S_VALUES_FIX, where=batch.where(i),
                                  request_id=batch.request_id[i]), _K8S_VALUES_WHAT)

    def _namespaced(self, batch: Entries) -> None:
        """The entries of ``batch`` that lack request.namespace where their producer writes it (``_NAMESPACE_KEY``
        above): from the decoded objects at C speed (each line is read only in a batch with an entry without one),
        else in each entry's line."""
        items = batch.decoded
        if items is not None:
            spaces = [getattr(r, "namespace", None) for r in map(_REQUEST, items)]
            if None not in spaces:
                self.namespaced = True
                return
            named = [space is not None for space in spaces]
        else:
            lines = [self.raw.get(batch.file, line) for line in batch.lines]
            named = [raw is None or _NAMESPACE_KEY.search(raw) is not None for raw in lines]
        for i, has in enumerate(named):
            if has:
                self.namespaced = True
                continue
            raw = self.raw.get(batch.file, batch.lines[i])
            if raw is None:
                continue
            later = _later_field(raw)
            if not later and not self.namespaced:  # Vault 0.10 or older, unless a range before says otherwise
                self.bare_count += 1
                if len(self.bare) < _SHOW:
                    self.bare.append(self._no_namespace(batch, i, ""))
                continue
            self.namespaced = self.namespaced or bool(later)  # a producer that writes namespaces, here and after
            self._add(self._no_namespace(batch, i, later), _NAMESPACE_WHAT)

    def _no_namespace(self, batch: Entries, i: int, later: str) -> Finding:
        """``later``: the field of the entry that shows a producer writing namespaces (``_later_field``), or ""."""
        kind = batch.type[i] if batch.type[i] in _VAULT_TYPES else ""
        why = f"its {later}" if later else "an entry before it"
        return Finding(ID, "", f"The {kind + ' ' if kind else ''}entry has no request.namespace, which Vault (0.11+) "
                       "and OpenBao write in every entry ({\"id\":\"root\"} in the root namespace; "
                       f"{why} shows a producer that does): a hop between the vault and this file took it out, or "
                       "(Vault Enterprise 1.18+) the audit device itself, through an exclude option naming it. "
                       "request.path is relative to the namespace, so the entry does not say which secret it concerns "
                       "(a request made in another namespace reads as one on the root namespace's path).",
                       _NAMESPACE_FIX, where=batch.where(i), request_id=batch.request_id[i])

    def _decided(self, rec: Record) -> bool:
        """Whether ``rec`` (of the batch being judged) carries the vault's policy decision refusing it, read from
        the batch's decoded objects or its block's text (only asked for a rare entry: see _UNKNOWN_TOKEN)."""
        batch = self._batch
        if batch is None:
            return False
        if batch.decoded is not None:
            auth = batch.decoded[list(batch.lines).index(rec.line)].auth
            pr = getattr(auth, "policy_results", None)
            return getattr(pr, "allowed", None) is False
        raw = self.raw.get(rec.file, rec.line)
        d = line_object(raw) if raw is not None else None
        return d is not None and _policies_refused(d)

    def _login_answered(self, rec: Record) -> bool:
        """Whether ``rec`` (of the block being judged) is a login's response with what it issued (``_answers_login``);
        an entry whose line is not at hand is taken as one (no finding without the line to show it)."""
        raw = self.raw.get(rec.file, rec.line)
        return raw is None or _answers_login(line_object(raw))

    def _request(self, rec: Record) -> Optional[dict[str, Any]]:
        """The request object of ``rec``'s line (of the block being judged), or None when the line is not at hand."""
        raw = self.raw.get(rec.file, rec.line)
        d = line_object(raw) if raw is not None else None
        req = d.get("request") if d is not None else None
        return req if isinstance(req, dict) else None

    def _public_mount(self, rec: Record) -> bool:
        """Whether ``rec`` (of the block being judged) is on a path its mount serves without a token
        (``mount_unauthenticated``); an entry whose line is not at hand is taken as one."""
        req = self._request(rec)
        return req is None or mount_unauthenticated(req)

    def _login_in_mount(self, rec: Record, issuing: bool = False) -> bool:
        """Whether ``rec`` (of the block being judged) is a login, or with ``issuing`` one of its steps that issue a
        token, read within its auth mount (``login``); an entry whose line is not at hand is judged by its path, as
        the rule did."""
        req = self._request(rec)
        if req is None:
            return not issuing or not rec.resource.endswith("/oidc/auth_url")
        return login(req, issuing)

    def _token_named(self, rec: Record) -> bool:
        """Whether ``rec`` (of the block being judged) names its token's accessor (``_TOKEN_CHECK_FAILED``)."""
        raw = self.raw.get(rec.file, rec.line)
        return raw is not None and _accessor_named(line_object(raw))

    def entry(self, rec: Record) -> None:
        if not self.every_entry:
            return
        if self.held is not None:  # entries one by one: the refused ones are found in their block's text
            held, self.held = self.held, None
            self._refused_text(*held)
        if self.format == "vault" and rec.type not in _VAULT_TYPES:
            self._add(Finding(ID, "", f"The entry's type {clip(rec.type, 40)!r} is neither request nor response: Vault "
                              "and OpenBao write no other entry, so a hop rewrote the line or something else wrote "
                              "it, and completeness cannot pair it.", _TYPE_FIX, where=rec.where,
                              request_id=rec.request_id), "the entry type (request or response)")
            return
        if self.addresses and rec.source and not self._address(rec.source):
            kind = f"{rec.type} entry" if rec.type else "entry"
            self._add(Finding(ID, "", f"The {kind} names {clip(rec.source, 60)!r} as its source address "
                              "(request.remote_address), which is no IP address: Vault and OpenBao write the "
                              "address the request came from there, so a hop rewrote it or the listener took an "
                              "X-Forwarded-For header a client wrote, and the entry does not show where the "
                              "request came from.", _ADDRESS_FIX, where=rec.where, request_id=rec.request_id),
                      _ADDRESS_WHAT)
        blanked = self._blanked(rec) if self.blankable else {}
        if not blanked and self.all_fields and _complete(rec):
            self._received(rec)
            return
        lacking = missing(rec, self.wanted, None)
        if blanked:
            lacking = [f for f in self.wanted if f in lacking or f in blanked]
        if not lacking:
            self._received(rec)
            return
        excuse = excused_by(rec, lacking, self.format)
        if excuse is not None and excuse.rule == _UNKNOWN_TOKEN and self._decided(rec):
            excuse = None  # the policies refused a known token: who it was is missing
        if (excuse is not None and excuse.rule == _UNAUTHENTICATED and _UNAUTHENTICATED_RE.match(rec.resource) is None
                and not self._public_mount(rec)):
            excuse = None  # a path its mount does not serve without a token (another type, another place in it)
        if excuse is not None and excuse.rule in _LOGINS and not self._login_in_mount(rec):
            excuse = None  # a path within an auth mount that only looks like a login (a user or role named "login")
        if (excuse is not None and excuse.rule in _LOGINS and rec.type == "response"
                and not rec.result.startswith("error") and self._login_in_mount(rec, issuing=True)
                and not self._login_answered(rec)):
            self._add(Finding(ID, "", _LOGIN_UNNAMED + ".", self.fix, where=rec.where, request_id=rec.request_id),
                      self.meaning["identity"])
            return
        if excuse is not None and excuse.rule == _OKTA_SYSTEM and not self._line_holds(rec, self.null_source):
            excuse = None  # "system@okta.com" read from elsewhere than an Okta event's actor, or no null client
        if (excuse is not None and excuse.rule.startswith(_KEY_VAULT_UNCORRELATED)
                and not self._line_holds(rec, self.empty_correlation)):
            excuse = None  # a request id mapped elsewhere too, or a correlationId the line does not hold empty
        if excuse is not None:
            self.excuse(excuse.rule)
            return
        if (self.format == "vault" and lacking == ["identity"] and rec.result.startswith("error")
                and self._token_named(rec)):
            self.excuse(_TOKEN_CHECK_FAILED)
            return
        what = "; ".join(self.meaning[f] for f in lacking)
        kind = f"{rec.type} entry" if rec.type else "entry"
        fix = self.fix + (_UNIX_FIX if self.format == "vault" and lacking == ["source"] else "") + (
            _HELP_FIX if self.format == "vault" and "request_id" in lacking and rec.action == "help" else "")
        said = f"The {kind} lacks {what}."
        if blanked:
            shown = [f"{path} {json.dumps(value)}" for f in lacking for path, value in blanked.get(f, ())]
            many = len(shown) > 1
            writes = [_CT_WRITES[f] for f in lacking if f in blanked and f in self.own_paths]
            are = "are placeholders" if many else "is a placeholder"
            hop = f", where CloudTrail writes {' and '.join(writes)}, so a hop blanked {'them' if many else 'it'}"
            said = f"The {kind} lacks {what}: its {listed(shown)} {are} for no value{hop if writes else ''}."
            fix += _BLANKED_FIX
        gap = self._who_gap(rec) if "identity" in lacking and "identity" not in blanked else ""
        if gap:  # which field of the caller's type CloudTrail names who by is missing (offline.reader.who_gap)
            said = f"{said[:-1]}{'; ' if blanked else ': '}{gap}."
            fix += "" if blanked else _CUT_FIX
        self._add(Finding(ID, "", said, fix, where=rec.where, request_id=rec.request_id), what)

    def _received(self, rec: Record) -> None:
        """A Kubernetes RequestReceived event with every field but the result (which it cannot carry): excused from
        the count of what was judged, by K8S_RECEIVED, as the outcome it lacks is its later stage's to show."""
        if self.received and rec.type == "RequestReceived":
            self.excuse(K8S_RECEIVED)

    def _who_gap(self, rec: Record) -> str:
        """CloudTrail, read by its own paths: why ``rec``'s userIdentity names no one by its type's rule, read from
        the record's line ("" when it is not at hand or the rule is not why)."""
        if "identity" not in self.own_paths:
            return ""
        from ..offline.reader import who_gap

        raw = self.raw.get(rec.file, rec.line)
        record = _trail_record(raw) if raw is not None else None
        return who_gap(record) if record is not None else ""

    def _blanked(self, rec: Record) -> dict[str, list[tuple[str, str]]]:
        """CloudTrail: canonical field -> (path, value) of its paths in ``rec`` that hold a placeholder for no value
        (``_CT_BLANKABLE``), read from the record's line where the block's text shows one. (The reader reads such a
        field as empty, offline.reader.is_placeholder: the record as read no longer says which path held what.)"""
        from ..offline.reader import is_placeholder, leaf

        raw = self.raw.get(rec.file, rec.line) if self.suspect else None
        pattern = self.placeholder_re
        record = _trail_record(raw) if raw is not None and pattern is not None and pattern.search(raw) else None
        if record is None:
            return {}
        out: dict[str, list[tuple[str, str]]] = {}
        for f, paths in self.blankable.items():
            found = [(".".join(p), v) for p in paths for v in (leaf(record, p),) if isinstance(v, str) and
                     is_placeholder(v)]
            if found:
                out[f] = found
        return out

    def _address(self, source: str) -> bool:
        """Whether ``source`` (a Vault/OpenBao request.remote_address) is an IP address, or not written at all."""
        ok = self.judged_addresses.get(source)
        if ok is None:
            if len(self.judged_addresses) >= _ADDRESSES_KEPT:
                self.judged_addresses.clear()
            ok = self.judged_addresses[source] = not source or is_ip(source)
        return ok

    def _add(self, finding: Finding, what: str) -> None:
        """One entry's finding, under the limit of what is shown (beyond it, counted by ``what``)."""
        if len(self.lacking) >= _SHOW:
            self._more(what, finding.where)
            return
        self.lacking[len(self.findings)] = what
        self.findings.append(finding)

    def _more(self, what: str, where: str, n: int = 1) -> None:
        """``n`` more entries that lack ``what``, counted past those shown, the first of them at ``where`` ("" when not
        known: its roll-up points at the first that is)."""
        if where and what not in self.more_where:
            self.more_where[what] = where
        self.more[what] = self.more.get(what, 0) + n

    def merge(self, later: Visitor) -> None:
        """``later``'s findings after this one's, under the same limits of what is shown."""
        assert isinstance(later, Fields)
        other = len(self.lacking)
        bad = len(self.findings) - other
        for i, f in enumerate(later.findings):
            what = later.lacking.get(i)
            if what is None:  # a bad line
                if bad >= _SHOW:
                    if not self.bad_more:
                        self.bad_more_where = f.where
                    self.bad_more += 1
                    continue
                bad += 1
            elif other >= _SHOW:
                self._more(what, f.where)
                continue
            else:
                other += 1
                self.lacking[len(self.findings)] = what
            self.findings.append(f)
        if self.namespaced:  # the entries of ``later`` before its first with a namespace come after one of this
            for f in later.bare:
                self._add(f, _NAMESPACE_WHAT)
            if later.bare_count > len(later.bare):
                self._more(_NAMESPACE_WHAT, "", later.bare_count - len(later.bare))
        else:
            self.bare += later.bare[: _SHOW - len(self.bare)]
            self.bare_count += later.bare_count
        self.namespaced = self.namespaced or later.namespaced
        if later.bad_more and not self.bad_more:
            self.bad_more_where = later.bad_more_where
        self.bad_more += later.bad_more
        for what, n in later.more.items():
            self._more(what, later.more_where.get(what, ""), n)
        self.merge_excused(later)

    def finish(self) -> Iterator[Any]:  # findings, a skip, a note (what a narrowed pass leaves out)
        if self.narrowed:
            yield Note("", self.narrowed)
        yield from self.findings
        # each count past those shown as one finding that stands for them all (``entries``), at the first of them
        if self.bad_more:
            yield Finding(ID, "", f"{self.bad_more} more lines are not readable audit entries.", _BAD_FIX,
                          where=self.bad_more_where, entries=self.bad_more)
        for what, n in self.more.items():
            yield Finding(ID, "", f"{n} more entries lack {what}.", self.fix, where=self.more_where.get(what, ""),
                          entries=n)


def run(ctx: CheckContext) -> Iterator[Union[Finding, Skip, Note]]:
    yield from feed(Fields(ctx), ctx).finish()
    if ctx.ledger is None:
        return
    wanted = ctx.settings.required_fields
    for a in ctx.ledger.actions:
        m = ctx.match(a.name)
        if not m.entries:
            yield Skip(a.name, "no entry matched this action (see completeness)")
            continue
        for e in m.entries:
            lacking = missing(e.record, wanted, a.denied)
            if lacking:
                what = "; ".join(MEANING[f] for f in lacking)
                yield Finding(ID, a.name, f"The {e.type} entry for {a.name} lacks {what}.", _FIX,
                              where=e.where, request_id=e.request_id or a.request_id)
    yield from _stand_in_source(ctx)


def _ip(text: str) -> str:
    import ipaddress

    try:
        ip = ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return text
    mapped = getattr(ip, "ipv4_mapped", None)
    return str(mapped or ip)


# What makes a vault log a hop's address instead of the client's, told apart where the run's entries show it (red
# team rt83 F1, F5). Some routes with the client's address and others with a stand-in: the hop forwards it on some
# routes only (nginx: a location's own proxy_set_header drops every one it would inherit, X-Forwarded-For included;
# haproxy: a backend without option forwardfor; an ingress's per-path annotation), and a listener that trusts the
# hop takes a request without the header as from the hop (x_forwarded_for_reject_not_present = false, the default).
_SOME_ROUTES_FIX = ("make the proxy forward the client's address on every route to the vault: in nginx a location "
                    "with its own proxy_set_header inherits none from the server, so repeat proxy_set_header "
                    "X-Forwarded-For $proxy_add_x_forwarded_for there, with no fixed value in its place (in haproxy: "
                    "option forwardfor in every backend; in an ingress: the per-path annotations); and set "
                    "x_forwarded_for_reject_not_present = true on the vault's listener, so that a request without "
                    "it is refused, not logged as from the proxy")
# Every entry with one address that is not the client's: the log alone cannot say which hop or setting did it.
_ALL_ROUTES_FIX = ("find which of these fits: the vault does not take X-Forwarded-For from the proxy (set "
                   "x_forwarded_for_authorized_addrs on its listener to the proxy's addresses, and have the proxy send "
                   "X-Forwarded-For); it does, but the proxy sends none (have it send $proxy_add_x_forwarded_for, and "
                   "set x_forwarded_for_reject_not_present = true); a TCP load balancer or passthrough (send the "
                   "PROXY protocol, haproxy send-proxy-v2, and set proxy_protocol_behavior = \"allow_authorized\" "
                   "with proxy_protocol_authorized_addrs listing it); or, if the logged address is none of your "
                   "hops', a proxy that sets a fixed X-Forwarded-For or passes on one the client wrote, which the "
                   "vault trusts (have it send the address its connection came from). Or run the audit from where "
                   "your clients are; a container's published port does the same (the vault logs its network's "
                   "gateway): run the audit from the container's network, and if clients reach the vault that way "
                   "too, their addresses are lost alike")
_ROUTES_SHOWN = 6


def _route(path: str) -> str:
    """The mount-level route of an API path, as a proxy's location usually names it: "secret/", "sys/",
    "auth/token/"."""
    parts = path.strip("/").split("/")
    return "/".join(parts[: 2 if parts[0] == "auth" and len(parts) > 2 else 1]) + "/"


def _stand_in_source(ctx: CheckContext) -> Iterator[Finding]:
    """Live: each of the run's accesses must be logged with the address its connection came from (PCI DSS 10.2.2's
    origination). An access whose entries name only another address was logged with a stand-in: a proxy, load
    balancer or NAT the vault logs instead of the client, on every route or on some only."""
    ours = {_ip(a) for a in getattr(ctx.facts, "client_addresses", None) or ()}
    if not ours or ctx.ledger is None:
        return
    stood: list[tuple[Action, list[AuditEntry], set[str]]] = []  # (action, its entries, the addresses logged)
    clean: list[Action] = []
    for a in ctx.ledger.actions:
        entries = [e for e in ctx.match(a.name).entries if _ip(e.remote_address)]
        logged = {_ip(e.remote_address) for e in entries}
        if not logged:
            continue  # no source at all: found as a missing field
        if logged & ours:
            clean.append(a)
        else:
            stood.append((a, entries, logged))
    if not stood:
        return
    others = sorted(set().union(*(s for _, _, s in stood)))
    sent = ", ".join(sorted(ours))
    first = stood[0][1][0]
    if not clean:
        yield Finding(ID, "", f"The run's requests were sent from {sent}, and the vault logged them as from "
                      f"{', '.join(others)}: a proxy, load balancer or NAT between them is logged instead of the "
                      "client, so no entry shows where a request came from.", _ALL_ROUTES_FIX,
                      where=first.where, request_id=first.request_id)
        return
    bad_routes = sorted({_route(a.path) for a, _, _ in stood})
    good_routes = sorted({_route(a.path) for a in clean} - set(bad_routes))
    lines = [[str(e.line) if e.file == first.file else e.where for e in entries] for _, entries, _ in stood]
    shown = [f"{a.operation} {a.path} (line{'s' if len(at) > 1 else ''} {', '.join(at)})"
             for (a, _, _), at in zip(stood, lines)]
    more = len(shown) - _ROUTES_SHOWN
    listed = "; ".join(shown[:_ROUTES_SHOWN]) + (f"; and {more} more" if more > 0 else "")
    good = (f", while those on {', '.join(good_routes)} name the client" if good_routes else
            ", while others on the same routes name the client")
    yield Finding(ID, "", f"The run's requests were sent from {sent}; the vault logged {len(stood)} of its "
                  f"{len(stood) + len(clean)} accesses as from {', '.join(others)}, those on "
                  f"{', '.join(bad_routes)}{good}: a proxy or load balancer forwards the client's address on some "
                  f"routes only, so these entries do not show where the access came from: {listed}.",
                  _SOME_ROUTES_FIX, where=first.where, request_id=first.request_id or stood[0][0].request_id)


CHECK = Check(
    id=ID,
    title="Who, what, which secret, when, result, source",
    requirement="each matched entry has non-empty: " + ", ".join(MEANING)
    + "; a Vault/OpenBao entry is a request or a response",
    run=run,
    subjects=subjects,
    visitor=Fields,
    alone_rules=frozenset(e.rule for rules in _EXCUSES.values() for e in rules if e.alone),
)
