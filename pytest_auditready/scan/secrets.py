"""The detect-secrets adapter: the only module that imports detect-secrets.

Its line-based file scan is the judge of its detectors' hits. We feed it one value at a time (as a one-key JSON
line, so that keyword detectors still see the key), always inside its settings context (``default_settings``:
outside it ``scan_line`` silently finds nothing), because on a whole audit line its ``is_likely_id_string``
filter hides any secret that comes after an ``*_id`` key, and it reports every ``hmac-sha256:`` digest as a hex
secret. Results never hold the value itself: a hit names the kind, the key it sat under and a short SHA-256
fingerprint.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import sys
import threading
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Optional

from ..auditlog.model import HMAC_RE
from ..text import UUID
from . import argv, tokens
from .deferred import deferred_requests
from .known import MIN_LEN, fingerprint

if TYPE_CHECKING:
    from ..auditlog.formats import LogFormat

# Vault / OpenBao tokens, which detect-secrets has no detector for (scan.tokens has them and other formats).
VAULT_TOKEN_RE = tokens.RULES[0].pattern
_UUID_RE = re.compile(UUID + r"\Z")
_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?\Z")
# Keys of the Vault/OpenBao audit format whose values the vault itself computes or composes: ids, addresses, names
# and times. Judged only by the detectors of a secret's own format (a Vault token, a GitHub token, a JWT...), never
# by their randomness or their key's name: a client id is a random hash, and a run id in a name reads as
# high-entropy base64 about one run in ten. What a
# caller sends can still reach them: `bao token create -display-name=<a token>` is logged as display_name
# "token-<the token>" in clear, a mount may be enabled at a path that holds a token, and a proxy may put whatever
# a client sent as X-Forwarded-For into the remote address.
STRUCTURAL_KEYS = frozenset(
    {
        "time",
        "type",
        "operation",
        "mount_type",
        "mount_class",
        "mount_accessor",
        "mount_point",
        "mount_running_version",
        "mount_running_plugin_version",
        "token_type",
        "token_issue_time",
        "client_id",
        "remote_address",
        "namespace_id",
        "display_name",
    }
)
# Keys whose values are request paths: judged per segment (see GenericScanner.scan_value). request_uri: the HTTP
# request's target newer Vault logs beside the path (audit/types.go), "/v1/" + namespace + path + query string.
PATH_KEYS = frozenset({"path", "mount_point", "creation_path", "request_uri"})
# Values that only name a thing or stand for a hidden one, in any producer's log: an AWS ARN (a resource's name:
# "arn:partition:service:region:account:resource"), and a redaction mask ("****", "[REDACTED]", "<hidden>").
_ARN_RE = re.compile(r"arn:aws(?:-[a-z]+)*:[a-z0-9-]+:[a-z0-9-]*:(?:\d{12}|aws)?:\S+\Z")
# A resource name (Google's AIP-122, as Cloud Logging writes a LogEntry's trace, "projects/<project>/traces/<32 hex
# digits>", and every API its resources: "projects/p/locations/l/keyRings/r/cryptoKeys/k"): collection ids (lower
# camel case words) each followed by one resource id. Read whole, the words and a random id make one long
# high-entropy base64 string; each id is judged on its own (a secret as an id is still found). A base64 secret that
# holds slashes does not alternate such words with what follows them.
_RESOURCE_NAME_RE = re.compile(r"(?:[a-z]{3,}(?:[A-Z][a-z]+)*/[^/\s]+/)*[a-z]{3,}(?:[A-Z][a-z]+)*/[^/\s]+\Z")
# A trace's or span's id in a resource name (a LogEntry's trace, "projects/p/traces/<32 hex digits>"; Cloud Trace's
# spans): a random correlation id, like the trace headers' (see _TRACE_KEYS), judged by its shape only.
_TRACE_COLLECTIONS = frozenset({"traces", "spans"})
_TRACE_ID_RE = re.compile(r"[0-9a-f]{16}(?:[0-9a-f]{16})?\Z")
# A name Kubernetes generates (apimachinery's util/rand, whose alphabet "bcdfghjklmnpqrstvwxz2456789" has no vowels
# and no 0, 1, 3): a ReplicaSet's "<deployment>-<pod-template-hash>", its pods' "<replicaset>-<5 characters>", a
# Job's or a generateName's pods. Random by design, it reads as high-entropy base64 about one pod in twenty (a long
# deployment name of many distinct letters); written in objectRef.name, the requestURI, a service account token's
# pod-name extra. Only that shape: DNS label segments of at most 20 characters, one a word (letters only), then the
# random parts in that alphabet; a long lowercase hex or base32 string is not one.
_K8S_GENERATED_NAME_RE = re.compile(
    r"(?=[a-z0-9-]{1,253}\Z)(?:[a-z0-9]{1,20}-)*[a-z]{2,20}(?:-[a-z0-9]{1,20})*"
    r"-[bcdfghjklmnpqrstvwxz2456789]{5,10}(?:-[bcdfghjklmnpqrstvwxz2456789]{5})?\Z")
_MASK_RE = re.compile(r"(?:\*{3,}|[\[<(]?(?:redacted|hidden|masked|removed|sensitive[ _-]?data[ _-]?removed)[\]>)]?)\Z",
                      re.IGNORECASE)
# Digests: a key that names a hash, a checksum or an entity tag, holding exactly one digest's worth of hex or base64
# (MD5, SHA-1, SHA-224/256/384/512), optionally as "<algorithm>:<digest>", quoted, or with an S3 multipart "-<parts>"
# suffix. A digest of content (a Lambda function's CodeSha256, S3's x-amz-checksum-sha256, Content-MD5 and ETag, a
# Helm chart's checksum/config annotation, the API server's OpenAPI v3 "?hash=") is no credential: it names what it
# hashes and cannot be reversed. A key that also names a credential is left out: a password hash is crackable, and
# a key such as "token_sha256" or "api_key_digest" may hold the credential itself under a misleading name (Helm's
# "checksum/secret" names a digest of a Secret's manifest, and stays skipped).
# A key that is only "sha", "sum" or "commit" names one too: Vault's transit/hash and sys/tools/hash answer with "sum";
# a CI's OIDC token (GitHub Actions, GitLab) carries the commit's SHA as its "sha" claim, which a JWT role's
# claim_mappings writes into the token's metadata (auth.metadata.sha, in clear); a commit id is the commit's digest.
_DIGEST_KEY_RE = re.compile(r"(?i)(?:sha-?(?:1|224|256|384|512)|md5|checksum|digest|etag|hash"
                            r"|(?:\A|[_-])(?:sha|sum|commit)\Z)")
_CREDENTIAL_KEY_RE = re.compile(r"(?i)pass|pwd|token|credential|api_?key|private")
_DIGEST_VALUE_RE = re.compile(
    r'"?(?:(?:sha-?(?:1|224|256|384|512)|md5):)?'
    r"(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{56}|[0-9a-fA-F]{64}|[0-9a-fA-F]{96}|[0-9a-fA-F]{128}"
    r"|[A-Za-z0-9+/_-]{22}(?:==)?|[A-Za-z0-9+/_-]{27}=?|[A-Za-z0-9+/_-]{38}(?:==)?|[A-Za-z0-9+/_-]{43}=?"
    r"|[A-Za-z0-9+/_-]{64}|[A-Za-z0-9+/_-]{86}(?:==)?)"
    r'(?:-\d{1,5})?"?\Z')


# Token accessors (Vault/OpenBao audit: auth.accessor, request.client_token_accessor, wrap_info.accessor and
# wrapped_accessor; response data of token look-ups): HMAC'd by default, logged in clear by a device with
# hmac_accessor=false. An accessor cannot authenticate (the Vault docs: it only looks up, renews or revokes the
# token, with a policy that allows that); it is what an operator revokes a token seen in the log by. Its shape is 24
# base62 characters, with a namespace's ".<5 characters>" suffix in Vault Enterprise: any other value under such a
# key is judged as usual. (Random base62 of 24 characters passes the base64 entropy limit one time in twenty.)
_ACCESSOR_KEY_RE = re.compile(r"(?:\A|_)accessor\Z")
_ACCESSOR_VALUE_RE = re.compile(r"[A-Za-z0-9]{24}(?:\.[A-Za-z0-9]{5})?\Z")
# Request headers that only correlate a request (a team audits them with hmac=false, sys/config/auditing/
# request-headers, to follow one request across systems): W3C traceparent, Zipkin B3, Jaeger, AWS X-Ray, Google
# Cloud Trace, Datadog, and the request and correlation ids proxies add. Their values are random ids: 32 hex digits
# read as a hex secret. Only an id's shape is taken (hex digits, up to a SHA-256's 64; a UUID; the formats'
# separators; go-chi's middleware.RequestID, "<host>/<10 base62>-<counter of 6 digits or more>": red team rt88 F5;
# a ULID, 26 characters of Crockford's base32, after a type's prefix or not: "req_01HQ3Z8X9V2K7YB5N4T6W1C0DE");
# anything else under such a header is judged as usual.
_TRACE_KEYS = frozenset({"traceparent", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "b3", "uber-trace-id",
                         "x-amzn-trace-id", "x-cloud-trace-context", "x-datadog-trace-id", "x-datadog-parent-id",
                         "x-request-id", "x-correlation-id", "request-id", "x-trace-id", "x-span-id"})
_TRACE_VALUE_RE = re.compile(r"(?:(?:Root=|Self=)?[0-9a-fA-F]{1,64}(?:[-:/;][0-9a-fA-F]{1,64}){0,4}(?:;o=[01])?"
                             r"|[A-Za-z0-9.-]{1,253}/[A-Za-z0-9]{10}-[0-9]{6,19}|(?:[a-z]{1,16}_)?[0-9A-HJKMNP-TV-Z]{26})\Z")

# A certificate's serial number (Vault 1.17+ request.client_certificate_serial_number; a PKI issue's serial_number):
# public, written in every copy of the certificate. Only its shape is taken: decimal, up to 40 hex digits (an SSH
# certificate's serial is written without leading zeros, strconv.FormatUint(serial, 16): any count of digits), or hex
# bytes with colons or dashes.
_SERIAL_KEY_RE = re.compile(r"(?:\A|_)serial_number\Z")
_SERIAL_VALUE_RE = re.compile(r"\d{1,49}\Z|[0-9a-fA-F]{1,40}\Z|[0-9a-fA-F]{2}(?:[:-][0-9a-fA-F]{2}){1,19}\Z")


# A lease id (Vault/OpenBao: the path that made the secret, "/", then 24 base62 characters, with a namespace's
# ".<5 characters>" suffix in Vault Enterprise; response.secret.lease_id, written in clear: audit/hashstructure.go
# hashes no Secret). Like an accessor it cannot authenticate: it names a lease to renew or revoke, with a token whose
# policy allows that. The sys/leases endpoints take it in their path (sys/leases/revoke/<lease id>).
_LEASE_KEY_RE = re.compile(r"(?:\A|_)lease_id\Z")
_LEASE_VALUE_RE = re.compile(r"(?:[^\s/]+/)+[A-Za-z0-9]{24}(?:\.[A-Za-z0-9]{5})?\Z")
_LEASE_PATH_RE = re.compile(r"(?:/v1/)?(?:[^?]*/)?sys/leases/(?:lookup|renew|revoke|revoke-force|revoke-prefix)/"
                            r"(?:[^/?\s]+/)+([A-Za-z0-9]{24}(?:\.[A-Za-z0-9]{5})?)(?:\?|\Z)")


def _stands_alone(match: str, text: str) -> bool:
    """``match`` occurs in ``text`` at least once with no uppercase letter or digit right before or after it (or
    ``match`` is not found as is: the detector saw it through an encoding, and is trusted)."""
    at = text.find(match) if match else -1
    if at < 0:
        return True
    while at >= 0:
        end = at + len(match)
        if (at == 0 or text[at - 1] not in _UPPER_ALNUM) and (end == len(text) or text[end] not in _UPPER_ALNUM):
            return True
        at = text.find(match, at + 1)
    return False


# A nonce (a number used once: OIDC's nonce and Vault's client_nonce, transit's convergent-encryption nonce, a
# generate-root or rekey nonce): public by design, sent beside what it protects. Only its shape is taken: hex,
# base64 or base64url of at most 64 characters, or a UUID.
_NONCE_KEY_RE = re.compile(r"(?i)(?:\A|_)nonce\Z")
_NONCE_VALUE_RE = re.compile(r"[A-Za-z0-9+/_-]{8,64}={0,2}\Z")


# Response headers whose value a protocol makes public, each with the shape its protocol gives it. A Vault/OpenBao
# mount tuned with allowed_response_headers passes those of its plugin's headers to the client, and the audit device
# writes them in response.headers, never HMAC'd: the router filters the plugin's headers by that list (openbao
# internal/vault/routing/router.go, filteredHeaders), the entry copies resp.Headers (internal/audit/format.go) and
# HashResponse leaves them as they are (hashstructure.go). (Request headers are written only where
# sys/config/auditing/request-headers names them, HMAC'd unless hmac=false; passthrough_request_headers reach the
# plugin, not the log; audit_non_hmac_*_keys name data keys, not headers.) The PKI engine's ACME server sets
# Replay-Nonce on every answer (internal/builtin/logical/pki/path_acme_nonce.go, acme_wrappers.go), and the docs tell
# operators to allow it (website/content/docs/api/secret/pki.mdx, "ACME required headers"; bao pki health-check's
# allow_acme_headers): a number used once that the server hands to any client, unauthenticated ones too (HEAD
# new-nonce), to be sent back in its next signed request (RFC 8555 6.5.1: "Replay-Nonce: 1*base64url"). OpenBao's
# and Vault's are 62 characters of random base64url (go-secure-stdlib nonceutil: "vault0", an AES-GCM IV and the
# sealed counter and expiry), random by construction: only the detectors of a secret's own format judge one (a
# token placed under that name is still found, and any other shape is judged as usual). The engine's other headers
# (Location and Link, URLs whose ids are UUIDs; Cache-Control; Last-Modified; a Retry-After's seconds or date) read as
# no secret and stay judged by every detector, so a credential in a URL's user information or query is still found.
_PUBLIC_HEADERS = {"replay-nonce": re.compile(r"[A-Za-z0-9_-]{1,128}\Z")}
_PUBLIC_HEADER_LENGTHS = frozenset(map(len, _PUBLIC_HEADERS))  # (most keys are told by their length alone)


def public_header(key: str, value: str) -> bool:
    """``value`` is a header's that its protocol makes public (``_PUBLIC_HEADERS``: ACME's Replay-Nonce), in the
    protocol's shape, under that header's name (any case: a plugin's headers keep its spelling, audited request
    headers are written lower-case)."""
    shape = _PUBLIC_HEADERS.get(key.lower()) if len(key) in _PUBLIC_HEADER_LENGTHS else None
    return shape is not None and shape.match(value) is not None


def correlation_id(key: str, value: str) -> bool:
    """``value`` is a token accessor under an accessor key, a lease id under a lease id key, a trace or request id
    under a correlation header, a certificate's serial number under a serial number key, or a nonce under a nonce
    key."""
    if _NONCE_KEY_RE.search(key) is not None:
        return _NONCE_VALUE_RE.match(value) is not None
    if _ACCESSOR_KEY_RE.search(key) is not None:
        return _ACCESSOR_VALUE_RE.match(value) is not None
    if _LEASE_KEY_RE.search(key) is not None:
        return _LEASE_VALUE_RE.match(value) is not None
    if _SERIAL_KEY_RE.search(key) is not None:
        return _SERIAL_VALUE_RE.match(value) is not None
    return key.lower() in _TRACE_KEYS and _TRACE_VALUE_RE.match(value) is not None


# Request headers whose value is a credential by definition (RFC 9110 11.6.2 and 11.7.2: Authorization and
# Proxy-Authorization carry the client's credentials; X-Vault-Token is a Vault token; X-Api-Key, X-Auth-Token and
# X-Amz-Security-Token are API keys and session tokens): a Vault/OpenBao device logs a header named in
# sys/config/auditing/request-headers, in clear with hmac=false. Such a value is a leak whatever its shape: a Basic
# password or an opaque bearer token has none a detector knows. A cookie is one when its name says it holds a
# session or a login.
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "x-vault-token", "x-api-key", "x-auth-token",
                                "x-amz-security-token"})
HEADER_CREDENTIAL = "a credential in a request header logged in clear"
# A plugin's response headers a mount lets through (allowed_response_headers) are written in response.headers, never
# HMAC'd (_PUBLIC_HEADERS): a session cookie one sets (Set-Cookie), or a credential header, is in clear there.
RESPONSE_HEADER_CREDENTIAL = "a credential in a response header logged in clear"
HEADER_KINDS = frozenset({HEADER_CREDENTIAL, RESPONSE_HEADER_CREDENTIAL})
COMMAND_LINE = "Command-line Credential"  # a credential a logged command line passes as an argument (scan.argv)
_SESSION_COOKIE_RE = re.compile(r"(?i)sess|sid|auth|token|jwt|oauth|saml|login|remember")
_AUTH_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*[ \t]+(?=\S)")
# The IANA HTTP Authentication Scheme Registry's names (and AWS's): one alone carries no credentials.
_AUTH_SCHEMES = frozenset({"basic", "bearer", "digest", "dpop", "gnap", "hoba", "mutual", "negotiate", "ntlm",
                           "privatetoken", "scram-sha-1", "scram-sha-256", "vapid", "concealed", "aws4-hmac-sha256"})


def _clear(value: str) -> bool:
    """``value`` holds something in clear: not empty, not an HMAC digest, not a redaction mask."""
    v = value.strip()
    return bool(v) and HMAC_RE.match(v) is None and _MASK_RE.match(v) is None


def header_credentials(data: Any) -> list[tuple[str, str, str]]:
    """(HEADER_CREDENTIAL or RESPONSE_HEADER_CREDENTIAL, header name, value) for each credential in clear among a
    Vault/OpenBao entry's audited request headers (``request.headers``: name -> list of values) and the response
    headers its mount lets through (``response.headers``: a Set-Cookie's cookie, before its attributes)."""
    out: list[tuple[str, str, str]] = []
    for side, kind, cookie_header in (("request", HEADER_CREDENTIAL, "cookie"),
                                      ("response", RESPONSE_HEADER_CREDENTIAL, "set-cookie")):
        block = data.get(side) if isinstance(data, Mapping) else None
        headers = block.get("headers") if isinstance(block, Mapping) else None
        if not isinstance(headers, Mapping):
            continue
        for name, values in headers.items():
            if not isinstance(name, str):
                continue
            low = name.lower()
            for v in values if isinstance(values, list) else [values]:
                if not isinstance(v, str):
                    continue
                if low in CREDENTIAL_HEADERS:
                    m = _AUTH_SCHEME_RE.match(v.strip())  # "Basic <credentials>", "Bearer <token>": the part after
                    if _clear(v.strip()[m.end():] if m else v) and v.strip().lower() not in _AUTH_SCHEMES:
                        out.append((kind, name, v))
                elif low == cookie_header:  # a request's cookies; a response's one cookie, then its attributes
                    for part in v.split(";") if side == "request" else v.split(";")[:1]:
                        cookie, eq, val = part.strip().partition("=")
                        if eq and _SESSION_COOKIE_RE.search(cookie) and _clear(val):
                            out.append((kind, name, part.strip()))
    return out


# A raw public key under a key that names one: Vault's transit engine reads an ed25519 key's public half
# (transit/keys/<name>: keys.<version>.public_key) as the base64 of its 32 bytes (RSA and ECDSA keys as a PEM
# "PUBLIC KEY" block, see public_pem). Public by definition, like a certificate; any other value there is judged.
# So is a WireGuard public key (32 bytes too), which CNI plugins publish on every node: Cilium's CiliumNode annotation
# network.cilium.io/wg-pub-key, Calico's Node annotation projectcalico.org/WireguardPublicKey (red team rt33, F3) and
# its IPv6 tunnel's ...V6 (Node status wireguardPublicKeyV6), Kilo's kilo.squat.ai/key (red teams rt42 F9, rt43 F8).
_PUBLIC_KEY_KEY_RE = re.compile(r"(?i)(?:\A|[_./-]|(?<=[a-z]))pub(?:lic)?[_-]?key(?:[_-]?v?[46])?\Z"
                                r"|\Akilo\.squat\.ai/key\Z")
_RAW_KEY_RE = re.compile(r"[A-Za-z0-9+/]{43}=?\Z")


def raw_public_key(key: str, value: str) -> bool:
    """``value`` is the base64 of a 32-byte public key (ed25519, X25519) under a ``key`` that names a public key."""
    return _PUBLIC_KEY_KEY_RE.search(key) is not None and _RAW_KEY_RE.match(value) is not None


# A git object id (40 hex digits, 64 in a SHA-256 repository) under a key that names a revision or a version: Argo
# CD's Application status.sync.revision, a commit as the app.kubernetes.io/version label (the Kubernetes docs'
# "revision hash"), CodeBuild's sourceVersion ("the commit ID, branch, or Git tag"): a commit's name (red team rt33,
# F3); a multi-source Application's list of them, status.sync.revisions (red team rt42, F10).
# So does a key that names a tag, a release or a ref: CI tags an image with the full commit id (GitHub Actions'
# ${{ github.sha }} as ImageTag / IMAGE_TAG), Sentry's release is the commit id (SENTRY_RELEASE), the OCI label
# convention's VCS_REF (red team rt65, F6). A 40-hex value under a key that names a credential is still judged (a
# legacy GitHub token is 40 hex digits: digest() refuses _CREDENTIAL_KEY_RE's keys first).
_REVISION_KEY_RE = re.compile(r"(?i)(?:\A|[_./-]|(?<=[a-z]))(?:revision|version|tag|release|ref)s?\Z")
_COMMIT_RE = re.compile(r"(?:[0-9a-f]{40}|[0-9a-f]{64})\Z")


def digest(key: str, value: str) -> bool:
    """``value`` is one content digest under a ``key`` that names a digest (see _DIGEST_KEY_RE), or a git commit's id
    under one that names a revision or a version."""
    if _CREDENTIAL_KEY_RE.search(key) is not None:
        return False
    return ((_DIGEST_VALUE_RE.match(value) is not None and _DIGEST_KEY_RE.search(key) is not None)
            or (_COMMIT_RE.match(value) is not None and _REVISION_KEY_RE.search(key) is not None))


# PEM blocks that hold public material only (RFC 7468): certificates, certificate requests, CRLs and public keys.
# A Kubernetes CertificateSigningRequest's spec.request and status.certificate, a webhook's caBundle, a CA bundle
# in a ConfigMap: public by definition, written raw or base64-encoded. A text with any other block (a private key)
# is judged as usual.
_PEM_BLOCK_RE = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\s+[A-Za-z0-9+/=\s]+?-----END \1-----\s*")
_PUBLIC_PEM = frozenset({"CERTIFICATE", "TRUSTED CERTIFICATE", "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST",
                         "X509 CRL", "PUBLIC KEY"})


def _b64_bytes(text: str, urlsafe: bool = False) -> Optional[bytes]:
    """The bytes ``text`` encodes in base64, its padding optional (with ``urlsafe``, "-" and "_" read as "+" and
    "/"); None when it is no base64."""
    if urlsafe:
        text = text.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


PRIVATE_KEY = "Private Key"  # (detect-secrets' name of the kind, found raw by its PrivateKeyDetector)
PEM_B64 = "LS0tLS1CRUdJTi"  # base64 of a PEM block's opening, "-----BEGIN"
# the run of base64 it opens: a kubeconfig's client-key-data, a Helm value, a properties file's key=..., inside a
# longer text (a ConfigMap's file, an SSM String parameter)
_PEM_B64_RUN = re.compile(PEM_B64 + r"[A-Za-z0-9+/]{16,}={0,2}")
_PRIVATE_PEM = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----")


# What ends a private key's block: its END line, or the next block's BEGIN (RFC 7468; RFC 4716's "---- BEGIN SSH2
# ENCRYPTED PRIVATE KEY ----"), or a PuTTY key file's next header line.
_KEY_BLOCK_END = re.compile(r"-{4,5} ?(?:END|BEGIN) |PuTTY-User-Key-File-")
_NOT_KEY_BODY = re.compile(r"\\[nrt]|[^A-Za-z0-9+/=]")  # an escaped line end (a value written twice), or no base64
_KEY_BODY_MIN = 16  # a body shorter than this is no key's (a header quoted in prose): the value names it


def _key_bodies(header: str, text: str) -> list[str]:
    """The body of each private key block that ``header`` (what PrivateKeyDetector reports: "BEGIN RSA PRIVATE KEY",
    "PuTTY-User-Key-File-2") opens in ``text``: its base64 (and header fields), whitespace, dashes and escaped line
    ends removed, so that the same key is one name however its lines are written, and two keys are two."""
    bodies: list[str] = []
    at = text.find(header) if header else -1
    while at >= 0:
        start = at + len(header)
        end = _KEY_BLOCK_END.search(text, start)
        body = _NOT_KEY_BODY.sub("", text[start : end.start() if end is not None else len(text)])
        if len(body) >= _KEY_BODY_MIN and body not in bodies:
            bodies.append(body)
        at = text.find(header, start)
    return bodies


_DENYLISTS: dict[str, tuple[re.Pattern[str], ...]] = {}  # detect-secrets' regex detectors' regexes, by kind


def _whole_secrets(kind: str, reported: str, part: str) -> Optional[list[str]]:
    """What a detector that reports a constant or its format's prefix found in ``part``, each secret whole: a private
    key's body (PrivateKeyDetector reports the block's header: every RSA key would be one name, and one key
    accepted would accept every later one; red team rt65 F1), a token a detector's regex matches whole where it
    reports a group that only begins it (GitHub's "ghp", GitLab's "glsoat"). None for a detector that reports the
    secret itself."""
    if kind == PRIVATE_KEY:
        return _key_bodies(reported, part) or None
    if not _DENYLISTS:
        from detect_secrets.settings import get_plugins

        for plugin in get_plugins():
            denylist = getattr(plugin, "denylist", None)
            if denylist is not None:
                _DENYLISTS[str(plugin.secret_type)] = tuple(denylist)
    wholes = [m.group(0) for rx in _DENYLISTS.get(kind, ()) for m in rx.finditer(part)
              if m.group(0) != reported and m.group(0).startswith(reported)]
    return list(dict.fromkeys(wholes)) or None


def pem_private_b64(text: str) -> list[str]:
    """The runs of base64 in ``text`` that encode a PEM private key (``-----BEGIN ... PRIVATE KEY-----``), each as
    written: a secret by definition, wherever it stands in a text. (Public blocks, a certificate or a CA bundle, are
    none.)"""
    found = []
    for m in _PEM_B64_RUN.finditer(text):
        raw = _b64_bytes(m.group())
        if raw is not None and _PRIVATE_PEM.search(raw[:200].decode("ascii", "replace")) is not None:
            found.append(m.group())
    return found


def public_pem(value: str) -> bool:
    """``value`` (raw, or base64 of the text) is nothing but PEM blocks of public material."""
    text = value.strip()
    if not text.startswith("-----BEGIN "):
        if not text.startswith(PEM_B64) or _B64_RE.match(text) is None:
            return False
        raw = _b64_bytes(text)
        if raw is None:
            return False
        text = raw.decode("ascii", "replace").strip()  # (a replacement character is no PEM)
    pos, blocks = 0, 0
    while pos < len(text):
        m = _PEM_BLOCK_RE.match(text, pos)
        if m is None or m.group(1) not in _PUBLIC_PEM:
            return False
        pos, blocks = m.end(), blocks + 1
    return blocks > 0


def public_der(value: str) -> bool:
    """``value`` is the base64 of one DER X.509 certificate or certificate request (PKI's ``format=der``): public.
    (A DER private key parses as neither.)"""
    text = value.strip()
    data = _b64_bytes(text) if _B64_RE.match(text) is not None else None
    if data is None:
        return False
    from cryptography import x509

    for load in (x509.load_der_x509_certificate, x509.load_der_x509_csr):
        try:
            load(data)
        except (ValueError, TypeError):
            continue
        return True
    return False


# Objects that carry a value under a name of its own ({"name": "DB_PASSWORD", "value": "..."}: Kubernetes and ECS
# environment variables, CloudFormation parameters, tags): the value is judged under its name as key.
NAMED_VALUES = (("name", "value"), ("Name", "Value"), ("key", "value"), ("Key", "Value"),
                ("parameterKey", "parameterValue"), ("ParameterKey", "ParameterValue"))
# A named value's type saying that the value names where the secret is kept, not the secret (AWS CodeBuild's
# environment variables of type SECRETS_MANAGER, "secret-id:json-key", and PARAMETER_STORE, a parameter's name).
_REFERENCE_TYPES = frozenset({"SECRETS_MANAGER", "PARAMETER_STORE"})
MAX_EMBED = 4  # JSON documents inside string values are looked into this many levels deep
_B64_RE = re.compile(r"[A-Za-z0-9+/_-]{8,}={0,2}\Z")
# How the base64 text of a JSON document begins: "{" or "[" then a quote, a brace, a bracket or white space.
_B64_JSON_OPENINGS = frozenset({"ey", "ew", "e3", "W3", "Wy", "W1", "Ww"})
# Detectors the block scanner prefilters with expressions of its own (scan.hyperscan), not with their regexes.
OWN_PREFILTERS = frozenset({"Base64HighEntropyString", "HexHighEntropyString", "KeywordDetector", "IPPublicDetector"})
# Detectors that judge a value by its randomness or by the name it sits under, not by a secret's own format: not
# asked about a value under a key that names an identifier (LogFormat.name_keys).
NOT_BY_NAME = ("Base64 High Entropy String", "Hex High Entropy String", "Secret Keyword")
_QUOTES_ESCAPED = re.compile(r"\\+([\"'])")  # a quote written with its escapes (at any depth), as the quote
_ESCAPED_OBJECT = re.compile(r'\{\\+"')  # a JSON object's opening in a text that escapes its quotes
CACHE_MAX = 50_000  # judged (key, value) pairs kept; the cache is emptied when full so memory stays flat
# An AWS access key id is 20 characters of its own (AKIA, ASIA, ... and 16 more of [A-Z0-9]); detect-secrets finds
# its shape anywhere, also inside a longer run of the same alphabet: a 1Password item's 26-character uuid, an IAM
# unique id (AROA + 17), any random uppercase id holds "A3T?" + 16 characters one time in a few thousand. Such a
# run is another identifier, never the key id: only a match that stands alone is one.
_AWS_KEY_ID_KIND = "AWS Access Key"
# Keys whose value is a credential by Vault's and OpenBao's API, whatever its shape (red team rt21): an AppRole
# SecretID (a UUID unless set by custom-secret-id: the login's request data, the secret-id endpoints' answers), which
# every UUID filter would pass, and the ones below. The vault HMACs them; a mount tuned with
# audit_non_hmac_request_keys/_response_keys naming one, or a device with log_raw, writes it in clear.
# (secret_id_accessor is another key: an accessor.)
VAULT_CREDENTIALS = {
    "secret_id": "Vault AppRole SecretID",
    # an SSH one-time password (ssh/verify's otp, a UUID: internal/builtin/logical/ssh/path_verify.go)
    "otp": "Vault One-Time Password",
    # a TOTP code (totp/code/<name>'s answer and the code sent back to validate: six digits; red team rt35), an
    # OIDC authorization code (auth/<jwt mount>/oidc/callback, identity/oidc/provider/<name>/token)
    "code": "Vault One-Time Code",
    # what the request is about is the secret itself: transit's plaintext (base64 of any data: a card number, a
    # password; path_encrypt.go, path_decrypt.go, path_datakey.go), an unseal or rekey key share, an SSH OTP or key
    # in ssh/creds' answer, a TOTP seed given to totp/keys (base32 of 10 or 20 bytes: below every entropy limit)
    "plaintext": "Vault Transit Plaintext",
    "key": "Vault Key Material",
    # a password of any shape (a PIN, "123456789"): userpass's, ldap's, radius's
    "password": "Password",
    # a token, also one whose id was chosen (auth/token/create's id: a UUID): auth/token/lookup's and revoke's
    # token, an entry's client_token under log_raw
    "token": "Vault Token",
    "client_token": "Vault Token",
}
_BASIC_AUTH_KIND = "Basic Auth Credentials"
# A key that names a token (API_TOKEN, authToken, access_token, x-amz-security-token): detect-secrets' keyword
# detector names passwords, secrets and API keys but not tokens, so a short token under such a key (an environment
# variable of a Pod or an ECS task, a JSON configuration inside a ConfigMap) passed every detector. Its value, one
# word that scan.tokens.credential takes (no paging cursor, idempotency token, reference, mask or placeholder), is a
# Secret Keyword. A value with spaces is a message (Kubernetes' authentication.k8s.io/stale-token annotation); a key
# in which the token is the object of "from", "of"... names something else (AWS STS's subjectFromWebIdentityToken:
# the token's subject, a user id or "system:serviceaccount:ns:name" for every EKS pod with an IAM role).
_TOKEN_KEY_RE = re.compile(r"(?i)token\Z")
_KEY_WORD_RE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")  # a key's words: camelCase, snake_case, kebab-case
_OF_WORDS = frozenset({"from", "of", "for", "by", "in", "to", "about"})
# A key about a credential rather than holding one, by its last word, with a value that is a state, a result, a
# number or a time: CloudTrail's root password change ("PasswordUpdated": "Success"), RDS's managed master password
# ("secretStatus": "creating"), IAM's "PasswordLastUsed". detect-secrets' keyword detector takes any value under a
# key holding "password" or "secret".
_ABOUT_WORDS = frozenset({"status", "state", "updated", "changed", "type", "policy", "length", "age", "required",
                          "enabled", "count", "date", "time", "version", "stage", "stages", "result", "reset", "used",
                          "expires", "expiry", "expiration", "rotated", "created", "modified", "strength", "format",
                          "mode", "algorithm", "method", "scheme"})
_STATE_VALUE_RE = re.compile(r"[A-Za-z][A-Za-z_\- ]{0,39}\Z|\d{1,12}\Z"
                             r"|\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\Z")
_KEYWORD_KIND = "Secret Keyword"


def _key_words(key: str) -> list[str]:
    return [w.lower() for w in _KEY_WORD_RE.findall(key)]


# Query parameters that carry a credential by their protocol, with the least length a value of one has: an Azure SAS
# token's and a presigned URL's signature (sig; AWS's Signature and X-Amz-Signature; Google's X-Goog-Signature),
# OAuth 2.0's authorization code (RFC 6749 4.1.2: short-lived, but it buys a token), and an auth parameter (a token,
# or base64 user:password). detect-secrets' keywords name none of them, and a short one reads as no high entropy.
QUERY_CREDENTIALS = {"sig": 16, "signature": 16, "x-amz-signature": 16, "x-goog-signature": 16, "code": 8,
                     "auth": 8}


def _query_credential(name: str, value: str) -> bool:
    """A query parameter's value is a credential by the parameter's name (QUERY_CREDENTIALS): long enough, no
    placeholder or reference (``tokens.credential``), one word, and random-looking (a digit, or both cases), so that
    a word such as ``code=pending`` is none."""
    least = QUERY_CREDENTIALS.get(name.lower())
    return (least is not None and len(value) >= least and tokens.credential(name, value)
            and not any(c.isspace() for c in value)
            and (any(c.isdigit() for c in value) or (any(c.isupper() for c in value)
                                                     and any(c.islower() for c in value))))


# A value longer than WINDOW_MAX is judged by detect-secrets in windows of WINDOW characters that overlap by
# OVERLAP: some detectors' regexes are quadratic in the length of a line (npm's "//.+/:_authToken=" is retried from
# every "//"), so one hostile value of megabytes would take hours; a secret shorter than OVERLAP is whole in one.
WINDOW_MAX, WINDOW, OVERLAP = 32 * 1024, 16 * 1024, 1024


def _windows(value: str) -> list[str]:
    if len(value) <= WINDOW_MAX:
        return [value]
    return [value[i:i + WINDOW + OVERLAP] for i in range(0, len(value) - OVERLAP, WINDOW)]


# A value judged as more than PREFILTER_MIN texts (a request path of thousands of segments: a client may send a URL of
# about a megabyte, Go's default limit on a request's head) has its texts prefiltered before detect-secrets reads
# them, at 0.2 ms each (red team rt53, F7: one such path took 14 s). Fewer are judged as before, without it.
PREFILTER_MIN = 32
_PIECE_RE = re.compile(r"[/?&]")


def _names_a_token(key: str) -> bool:
    """``key`` names a token (its last word), not something of one (subjectFromWebIdentityToken)."""
    if _TOKEN_KEY_RE.search(key) is None:  # (most keys: no need to split them into words)
        return False
    words = _key_words(key)
    return bool(words) and words[-1] == "token" and _OF_WORDS.isdisjoint(words[:-1])


# The last words of keys that name a shared secret, which detect-secrets' keywords miss: an IPsec or VPN pre-shared
# key (EC2's CreateVpnConnection "tunnelOptions[].preSharedKey", a WireGuard peer's "presharedKey", Wi-Fi's "psk")
# and a passphrase (red team rt50 F6: a human-chosen one has no entropy to find it by).
_SHARED_SECRET_WORDS = (("shared", "key"), ("presharedkey",), ("psk",), ("passphrase",))


_SHARED_SECRET_KEY_RE = re.compile(r"(?i)(?:key|psk|passphrase)\Z")


# Environment variables that hold a credential under a name detect-secrets' keywords miss (red team rt65, F3), as a
# Kubernetes Pod's env[], an ECS task definition's environment[] or CodeBuild's PLAINTEXT variables carry them in
# the audit log: a password by its last word (RABBITMQ_DEFAULT_PASS, SMTP_PASS, REDIS_AUTH, LDAP_BIND_CREDENTIALS,
# CREDENTIALS=user:password) or last two (RABBITMQ_ERLANG_COOKIE; Elixir's RELEASE_COOKIE, the same cookie); a key
# by "<purpose>_KEY" (APP_KEY, JWT_SIGNING_KEY, ENCRYPTION_KEY, MASTER_KEY). Only names written as environment
# variables are (upper case, words joined by "_"): "auth" or "credentials" elsewhere often name a method or an
# object. A "*_KEY" also names a key's id or file (GPG_KEY=4AEE18F83AFDEB23, SIGNING_KEY=/keys/sign.pem): only a
# random-looking value counts there (_key_material).
ENV_NAME_RE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*\Z")
_ENV_PASSWORD_LAST = frozenset({"PASS", "AUTH", "CREDENTIAL", "CREDENTIALS", "CREDS"})
_ENV_PASSWORD_PAIRS = frozenset({("ERLANG", "COOKIE"), ("RELEASE", "COOKIE")})
_ENV_KEY_PURPOSES = frozenset({"APP", "SIGNING", "SIGN", "ENCRYPTION", "ENCRYPT", "ENC", "MASTER", "SESSION", "HMAC",
                               "JWT", "AES", "CIPHER", "CRYPT", "CRYPTO", "SEALING", "WRAPPING", "COOKIE"})
_KEY_FILE_RE = re.compile(r"(?i).*\.(?:pem|key|crt|cer|der|p8|p12|pfx|jks|json|txt|asc|gpg|pub)\Z")
_HEX_KEY_RE = re.compile(r"[0-9a-fA-F]{32,}\Z")
_B64_KEY_RE = re.compile(r"[A-Za-z0-9+/_-]{22,}={0,2}\Z")


# The end of such a name, for the block scanner's prefilter (scan.hyperscan: a superset, matched caseless, followed
# by the name's closing quote).
ENV_CREDENTIAL_NAME_END = (r"(?:_pass|_auth|credentials?|creds|(?:erlang|release)_cookie|(?:"
                           + "|".join(sorted(p.lower() for p in _ENV_KEY_PURPOSES)) + r")_key)")


def _key_material(value: str) -> bool:
    """``value`` reads as a key itself, not as a key's id, file or resource name: one word, no path or file name,
    and random-looking (capitals, small letters and digits; or 32+ hex digits; or 22+ base64 characters of both
    cases)."""
    if any(c.isspace() for c in value) or "://" in value or _KEY_FILE_RE.match(value) is not None:
        return False
    if _RESOURCE_NAME_RE.match(value) is not None or value.startswith(("alias/", "./", "~")):
        return False
    return (tokens._random_body(value) or _HEX_KEY_RE.match(value) is not None
            or (_B64_KEY_RE.match(value) is not None and value.lower() != value and value.upper() != value))


# A value under a name ending in _AUTH that reads as a credential, not as a mode: one that mixes capitals, small
# letters and digits, or holds a character of a "user:password" pair or of a password's symbols.
_AUTH_SYMBOLS = frozenset(":@!#$%^&*+=/?~")


def _auth_credential(value: str) -> bool:
    """``value`` under a name ending in _AUTH holds a credential (REDIS_AUTH, a registry's "user:password"), not one
    of the modes the same names take ("htpasswd", "requested", "VerifyClientCertIfGiven", "SCRAM-SHA-512": the
    docker-registry chart, Bitnami's Kafka, MinIO; red team rt69)."""
    return tokens._random_body(value) or (len(value) >= 8 and any(c in _AUTH_SYMBOLS for c in value))


def _env_credential(key: str, value: str) -> bool:
    """``key``, an environment variable's name, names a password or a key that ``value`` holds (above)."""
    if ENV_NAME_RE.match(key) is None:
        return False
    words = key.split("_")
    if words[-1] == "AUTH":
        return _auth_credential(value)
    if words[-1] in _ENV_PASSWORD_LAST or tuple(words[-2:]) in _ENV_PASSWORD_PAIRS:
        return True
    return words[-1] == "KEY" and len(words) > 1 and words[-2] in _ENV_KEY_PURPOSES and _key_material(value)


def _names_a_shared_secret(key: str) -> bool:
    """``key`` names a pre-shared key or a passphrase (_SHARED_SECRET_WORDS), not something of one (pskIdentity)."""
    if _SHARED_SECRET_KEY_RE.search(key) is None:  # (most keys: no need to split them into words)
        return False
    words = tuple(_key_words(key))
    return any(words[-len(w):] == w for w in _SHARED_SECRET_WORDS)


def _about_a_credential(key: str, value: str) -> bool:
    """``value`` under ``key`` tells a credential's state, result or time (_ABOUT_WORDS), or where to change it (a
    key ending in _PLACE_WORDS holding a plain URL: an Azure AD token's pwd_url claim), not the credential."""
    words = _key_words(key)
    return bool(words) and ((words[-1] in _ABOUT_WORDS and _STATE_VALUE_RE.match(value) is not None)
                            or (words[-1] in _PLACE_WORDS and _PLAIN_URL_RE.match(value) is not None)
                            or _ENV_NAME_RE.match(value) is not None)


_PLACE_WORDS = frozenset({"url", "uri", "link", "href", "endpoint"})
# A secret's name as secret managers and environments write it (Infisical's secretKey, Doppler's and GitHub's
# secret names, an environment variable): upper-case words joined by "_" ("DB_PASSWORD", "GITHUB_TOKEN"). It names
# a credential; no generator writes one this way.
_ENV_NAME_RE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\Z")
_PLAIN_URL_RE = re.compile(r"https?://[^\s@/?#]+(?:/[^\s?#@]*)?\Z")  # no user information, no query
_UPPER_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
# Detectors whose format is a short prefix: random identifiers start with it by chance, as often as they pass the
# entropy limit. Artifactory's encrypted password is "AP" and one of 0-9A-F (1 in 240 base62 ids, 1 in 73 random
# uppercase ones starting with A): under a key that names an identifier by design (LogFormat.name_keys) only the
# detector's documented long form counts, Artifactory's API key ("AKCp" and 69 more base62 characters, 73 in all).
_PREFIX_ONLY = {"Artifactory Credentials": re.compile(r"(?<![A-Za-z0-9])AKCp[A-Za-z0-9]{60,}")}


def _display_name_given(key: str, value: str) -> list[str]:
    """The name a token was created with, as far as it can be told from the display name the vault logs: the token
    store writes "token-" and the name with every character but letters, digits and "-" made "-"
    (displayNameSanitize), so a credential given as -display-name is logged with its "_" and "." as "-" (red teams
    rt35 F7, rt42 F7, rt43 F7). Its readings, for the detectors of a secret's own format: a Vault token's or
    SendGrid's dots back where the format has them (so that s.<24> is named by its own fingerprint), then every
    "-" as "_" (ghp_..., sk_live_..., npm_...). A JSON Web Token's dots cannot be told from its own "-": see
    _SANITIZED_JWT."""
    if key != "display_name" or not value.startswith("token-") or "-" not in value[6:]:
        return []
    name, readings = value[6:], []
    # at the name's start, or after a word of it ("ci-", "deploy-", "Bearer-": red team rt46 F6)
    dotted = next((m for m in _DOTTED_PREFIX.finditer(name) if tokens._random_body(name[m.end():])), None)
    if dotted is not None:  # (a random body, not a name's words)
        readings.append(f"{dotted.group(1)}.{name[dotted.end():]}")
    if len(name) == 69 and name.startswith("SG-") and name[25] == "-":
        readings.append(f"SG.{name[3:25]}.{name[26:]}")
    return [*readings, name.replace("-", "_")]


_DOTTED_PREFIX = re.compile(r"(?:\A|(?<=-))(hv[sbr]|[sbr])-(?=[A-Za-z0-9])")
# A JSON Web Token given as -display-name: its header and claims are each the base64url of a JSON object ("eyJ"),
# and its dots are logged as "-" like its own "-" and "_" (so no exact reading: named as logged), at the name's
# start or after a word of it ("Bearer <token>")
_SANITIZED_JWT = re.compile(r"\Atoken-(?:[A-Za-z0-9]+-)*?(eyJ[A-Za-z0-9-]{8,}-eyJ[A-Za-z0-9-]{8,}-[A-Za-z0-9-]{8,})\Z")
JWT_KIND = "JSON Web Token"  # as detect-secrets' JwtTokenDetector names one


@dataclass(frozen=True)
class GenericHit:
    kind: str  # detector name, e.g. "AWS Access Key", "Vault Token"
    key: str  # the JSON key the value sat under
    fingerprint: str
    personal: bool = False  # what was found is personal data (GenericScanner.personal): shown with no fingerprint


@dataclass(frozen=True)
class DetectorRegex:
    """One regex of a detect-secrets detector, as plain data for another regex engine."""

    pattern: str
    ignorecase: bool
    dotall: bool
    verbose: bool


def skippable(key: str, value: str, structural: frozenset[str] = STRUCTURAL_KEYS,
              placeholders: frozenset[str] = frozenset()) -> bool:
    """Values the judge never flags: short ones, structural fields, HMAC digests, UUIDs, timestamps, ARNs,
    Kubernetes generated names, redaction masks, the producer's own placeholders for a hidden value, content digests
    under a key that names one, token accessors, trace ids and certificate serial numbers in their own shapes, a raw
    public key under a key that names one, and public PEM material (certificates, requests, public keys), also a
    certificate or request in DER (base64)."""
    return (
        len(value) < MIN_LEN
        or key in structural
        or value in placeholders
        or HMAC_RE.match(value) is not None
        or _UUID_RE.match(value) is not None
        or _TIME_RE.match(value) is not None
        or _ARN_RE.match(value) is not None
        or _K8S_GENERATED_NAME_RE.match(value) is not None
        or _MASK_RE.match(value) is not None
        or digest(key, value)
        or correlation_id(key, value)
        or raw_public_key(key, value)
        or (value[:1] in "-L" and public_pem(value))
        or (value[:2] == "MI" and public_der(value))
    )


def json_document(value: str) -> Any:
    """The JSON object or array a string value holds, written as is, URL-encoded or base64-encoded (a policy
    document, a kubectl last-applied-configuration, a secret's JSON, an encryption context); None otherwise."""
    text = value.strip()
    if text[:3].upper() in ("%7B", "%5B"):
        text = urllib.parse.unquote(text)
    elif text[:2] in _B64_JSON_OPENINGS and _B64_RE.match(text):
        raw = _b64_bytes(text, urlsafe=True)
        try:
            text = raw.decode("utf-8") if raw is not None else ""
        except ValueError:
            return None
    if text[:1] not in ("{", "["):
        return None
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return doc if isinstance(doc, (dict, list)) else None


def _at(obj: Any, path: tuple[str, ...], key: str = "") -> Iterator[tuple[str, str]]:
    """(key, string value) at ``path`` of ``obj``; "*" is every key of an object or item of a list."""
    if not path:
        if isinstance(obj, str) and obj:
            yield key, obj
        return
    head, rest = path[0], path[1:]
    if head == "*":
        items = obj.items() if isinstance(obj, Mapping) else ((key, v) for v in obj) if isinstance(obj, list) else ()
        for k, v in items:
            yield from _at(v, rest, str(k))
    elif isinstance(obj, Mapping) and head in obj:
        yield from _at(obj[head], rest, head)


_OBJECTS_IN_PROSE = 4  # at most so many JSON objects are taken out of one string


def _quoted_objects(text: str) -> list[dict[str, Any]]:
    """The JSON objects a string quotes inside other text (an error message that echoes a request's body)."""
    found: list[dict[str, Any]] = []
    decoder = json.JSONDecoder()
    at = text.find('{"')
    while at >= 0 and len(found) < _OBJECTS_IN_PROSE:
        try:
            obj, end = decoder.raw_decode(text, at)
        except (ValueError, RecursionError):
            at = text.find('{"', at + 2)
            continue
        if isinstance(obj, dict):
            found.append(obj)
        at = text.find('{"', end)
    return found


def record_values(data: Any, fmt: Optional[LogFormat] = None
                  ) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    """What a parsed log record holds, for the judges: the (key, value) pairs to judge, and the (kind, key, value)
    of values that are secrets by definition (a Kubernetes Secret's data; a credential header a Vault device
    logged in clear, see header_credentials; the list item after a command-line flag naming a credential).

    Every string value is taken with the key it sits under (list items take their list's key; a long key is taken
    as a value too: keys can carry data); a JSON document inside a string is taken as the values it holds; a
    name/value object's value is also taken under its name; values the format logs by design are left out."""
    by_design: set[tuple[str, str]] = set()
    secret_objects: Mapping[str, tuple[str, tuple[tuple[str, ...], ...]]] = {}
    structural = STRUCTURAL_KEYS | (fmt.structural_keys if fmt is not None else frozenset())
    name_keys = re.compile(fmt.name_keys) if fmt is not None and fmt.name_keys else None
    if fmt is not None:
        secret_objects = fmt.secret_objects
        if isinstance(data, Mapping):
            for rule in fmt.by_design:
                v = rule.value(data)
                if v is not None:
                    by_design.add((rule.path[-1], v))
    pairs: list[tuple[str, str]] = []
    secrets = header_credentials(data)  # its pairs are judged too: a known value's hit names the header
    found: set[tuple[str, str]] = set()
    if fmt is not None and fmt.defined_secrets is not None and isinstance(data, Mapping):
        for label, k, s in fmt.defined_secrets(data):
            secrets.append((label, k, s))
            found.add((k, s))
    stack: list[tuple[str, Any, int]] = [("", data, 0)]
    while stack:
        key, v, depth = stack.pop()
        if isinstance(v, str):
            doc = json_document(v) if depth < MAX_EMBED and len(v) >= MIN_LEN else None
            if doc is not None:
                stack.append((key, doc, depth + 1))
                continue
            if depth < MAX_EMBED and '{"' in v:  # a JSON object quoted in prose (Vault's "error converting input
                for inner in _quoted_objects(v):  # {...}", which echoes what was sent): its values, by their names
                    stack.append((key, inner, depth + 1))
            elif depth < MAX_EMBED and "{\\" in v and _ESCAPED_OBJECT.search(v):  # the same, its quotes escaped
                for inner in _quoted_objects(_QUOTES_ESCAPED.sub(r"\1", v)):  # ("{\"password\":...}": Go's %q, repr())
                    stack.append((key, inner, depth + 1))
            if (key, v) not in by_design and (key, v) not in found:
                pairs.append((key, v))
            if PEM_B64 in v:
                for run in pem_private_b64(v):
                    if (key, run) not in found:
                        secrets.append((PRIVATE_KEY, key, run))
                        found.add((key, run))
            if len(v) >= MIN_LEN and (" " in v or "command=" in v):  # a command line: an exec request's, a shell's
                words = argv.exec_command(v) if "command=" in v else None
                generic = words is not None
                if words is None and " " in v:
                    words = argv.shell_words(v)
                for flag, credential in argv.in_command(words or (), generic):
                    if (flag, credential) not in found:
                        secrets.append((COMMAND_LINE, flag, credential))
                        found.add((flag, credential))
        elif isinstance(v, Mapping):
            kind = v.get("kind")
            if isinstance(kind, str) and kind in secret_objects:
                label, paths = secret_objects[kind]
                for path in paths:
                    for k, s in _at(v, path):
                        secrets.append((label, k, s))
                        found.add((k, s))
            named = ""  # the key of a value taken under its name: not taken again under that key
            for name_key, value_key in NAMED_VALUES:
                name, value = v.get(name_key), v.get(value_key)
                if isinstance(vtype := v.get("type"), str) and vtype in _REFERENCE_TYPES:
                    break
                if isinstance(name, str) and isinstance(value, str) and name and value:
                    stack.append((name, value, depth))
                    # (under "value" it would be judged with its name left out: a commit id as IMAGE_TAG's value
                    # read as a hex secret, red team rt65 F6; but a name of the format's structure, "type", or of
                    # its identifiers would judge it by less than every detector)
                    named = value_key if name not in structural and (
                        name_keys is None or name_keys.search(name) is None) else ""
                    break
            public = _JWK_PUBLIC if isinstance(v.get("kty"), str) else frozenset()
            for k, vv in v.items():
                if k in public or k == named:
                    continue  # a JSON Web Key's public member (its private ones, d, p, q..., k, are judged)
                if public and k in _JWK_PRIVATE and isinstance(vv, str) and tokens.credential(k, vv):
                    if (k, vv) not in found:  # a secret by its member's name, however short (a 128-bit k)
                        secrets.append((JWK_PRIVATE, k, vv))
                        found.add((k, vv))
                    continue
                if isinstance(k, str) and len(k) > 16:  # under its parent's key, unless that names a token: a
                    # key is no token's value ("serviceAccountToken":{"expirationSeconds":...}, _names_a_token)
                    pairs.append((key if not _names_a_token(key) else "", k))
                stack.append((k if isinstance(k, str) else key, vv, depth))
        elif isinstance(v, list):
            for vv in v:
                stack.append((key, vv, depth))
            # a command line as a list (a container's command and args: "--db-password", "..."; "mysql", "-pX"): a
            # value is a credential by where it stands (scan.argv)
            if len(v) > 1 and all(isinstance(a, str) for a in v):
                for flag, value in argv.credentials(v):
                    if (key, value) not in found:
                        secrets.append((COMMAND_LINE, flag, value))
                        found.add((key, value))
    return pairs, secrets


# A JSON Web Key's members that are public (RFC 7517 section 4, RFC 7518 section 6: an RSA key's modulus n and
# exponent e, an elliptic curve's or OKP key's x, y and crv, the key's id, use and certificate chain): a JWKS as a
# vault's or an IdP's discovery endpoint answers it (OpenBao's identity/oidc/.well-known/keys, red team rt35 F3).
# Its private members (d, p, q, dp, dq, qi, oth) and a symmetric key's k are secrets.
_JWK_PUBLIC = frozenset({"kty", "n", "e", "x", "y", "crv", "kid", "alg", "use", "key_ops", "x5c", "x5t", "x5t#S256",
                         "x5u"})
# ... and its private ones: a secret by the member's name inside a key, however short (RFC 7517 A.3's 128-bit
# A128KW key is 22 characters, which no entropy limit reaches: red team rt42, F8)
_JWK_PRIVATE = frozenset({"d", "p", "q", "dp", "dq", "qi", "k"})
JWK_PRIVATE = "JSON Web Key Private Member"


# A JSON string, or the one a cut line ends inside (no closing quote).
_LOOSE_STRING = re.compile(r'"((?:[^"\\]|\\.)*)("|\\?\Z)', re.S)
_KEY_AFTER = re.compile(r"\s*:")


def _unescaped(raw: str) -> str:
    """A JSON string's body decoded; one cut inside an escape loses that escape (the line ends there)."""
    for cut in range(min(6, len(raw)) + 1):
        try:
            out = json.loads('"' + raw[: len(raw) - cut] + '"')
            return out if isinstance(out, str) else raw
        except ValueError:
            continue
    return raw


INFLATED_LINES = 2000  # the lines of an inflated text judged one by one; a longer text is judged whole


def _inflated_pairs(key: str, text: str) -> list[tuple[str, str]]:
    """What an inflated gzip body holds, for the judge: a JSON document's values under their keys
    (``record_values``, as a log record's), else each line of the text under ``key`` (the whole text when it has
    more than INFLATED_LINES lines)."""
    if text[:1] in ("{", "["):
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if isinstance(doc, (dict, list)):
            pairs, defined = record_values(doc)
            return [*pairs, *((k, v) for _kind, k, v in defined)]
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return [(key, ln) for ln in lines] if len(lines) <= INFLATED_LINES else [(key, text)]


def loose_values(text: str) -> list[tuple[str, str]]:
    """What a line that is no whole JSON document holds, for the judges, as ``record_values`` takes a parsed one
    apart: each string value under the key it follows (a list's items under the list's key), a string cut by the
    line's end included; a long key also as a value; and the text outside strings (a syslog header, numbers, words
    that are not JSON) under "line". A line a hop cut at its size limit is so judged value by value, as it would be
    whole, never as one run of text in which the quotes and names around a value make it look random. The rest of
    a cut line (it begins inside a string) is read both ways, and the reading that leaves less outside strings is
    taken: every character is judged either way."""
    opens = text.find("{")
    if opens > 0 and "{" in text[: text.find('"') + 1]:  # text before the object (a header): judged as it is
        head, body = text[:opens], text[opens:]
    else:
        head, body = "", text
    pairs, rest = _loose(body)
    if rest and '"' in body and "{" not in body[: body.find('"')]:  # no object opens before the first quote: a rest?
        other, other_rest = _loose('"' + body)
        if len(other_rest) < len(rest):
            pairs, rest = other, other_rest
    if not any(key for key, _value in pairs):  # no name and value: no JSON (key="value" text keeps its names whole)
        return [("line", text)]
    rest = " ".join(part for part in (head.strip(), rest) if part)
    return [*pairs, ("line", rest)] if rest else pairs


def _loose(text: str) -> tuple[list[tuple[str, str]], str]:
    """``loose_values`` reading ``text`` from its first quote as the start of a string."""
    pairs: list[tuple[str, str]] = []
    outside: list[str] = []
    key, pos = "", 0
    for m in _LOOSE_STRING.finditer(text):
        outside.append(text[pos : m.start()])
        value = _unescaped(m.group(1))
        pos = m.end()
        if m.group(2) == '"' and _KEY_AFTER.match(text, pos):
            key = value
            if len(value) > 16:
                pairs.append(("", value))
        elif value:
            pairs.append((key, value))
    outside.append(text[pos:])
    return pairs, " ".join(part.strip() for part in outside if part.strip())


_LOADING = threading.Lock()  # a live run loads detect-secrets in a thread of its own while the vault starts


def _load_detect_secrets() -> None:
    """Import detect-secrets and its detector modules once, with ``requests`` deferred (scan.deferred). Safe from
    two threads: the second waits until the first is done."""
    with _LOADING:
        if "detect_secrets.core.scan" in sys.modules:
            return
        with deferred_requests():
            import detect_secrets.core.scan  # noqa: F401
            from detect_secrets.settings import default_settings, get_plugins

            with default_settings():  # loads every detector module
                list(get_plugins())


ALLOWLIST_FILTER = "detect_secrets.filters.allowlist.is_line_allowlisted"
# detect-secrets' indirect-reference filter searches each candidate's line with an expression that backtracks from
# every position (the square of a line of up to 1,000 characters: 13 s for one KV write of 450 keys of 700
# characters, red team rt101); scan.indirect gives its answers in one pass, and stands in its place.
INDIRECT_FILTER = "detect_secrets.filters.heuristic.is_indirect_reference"
OWN_INDIRECT_FILTER = "pytest_auditready.scan.indirect.is_indirect_reference"


class _Settings:
    """detect-secrets' default settings, entered once however many scanners nest inside (``held``): entering them
    empties its caches and loads every detector again, 1.5 ms a scanner, and a run over 1,000 small files makes one
    scanner a file."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.ctx: Any = None
        self.registered = False

    def enter(self) -> None:
        with self.lock:
            if self.depth == 0:
                _load_detect_secrets()  # lazy: detect-secrets is slow to import
                from detect_secrets.settings import default_settings

                ctx = default_settings()
                ctx.__enter__()
                # A log's text must never silence its own judge: detect-secrets drops a hit on a line (or after a
                # line) carrying "pragma: allowlist secret", and such a comment travels with configuration copied
                # from a repository into a ConfigMap, a request body or a CloudTrail parameter.
                from detect_secrets.settings import get_settings

                settings = get_settings()
                if INDIRECT_FILTER in settings.filters:  # the same filter in linear time (scan.indirect)
                    settings.filters[OWN_INDIRECT_FILTER] = {}
                settings.disable_filters(ALLOWLIST_FILTER, INDIRECT_FILTER)
                self.ctx = ctx
                if not self.registered:
                    import atexit

                    atexit.register(self.close)
                    self.registered = True
            self.depth += 1

    def close(self) -> None:
        """At exit, the settings a scanner never left (one a run dropped on Ctrl-C) are left before the interpreter
        tears its modules down, which would otherwise print the generator's error."""
        with self.lock:
            ctx, self.ctx, self.depth = self.ctx, None, 0
        if ctx is not None:
            with contextlib.suppress(Exception):
                ctx.__exit__(None, None, None)

    def exit(self, *exc: Any) -> None:
        with self.lock:
            if self.depth == 0:
                return  # left already (``close``)
            self.depth -= 1
            if self.depth == 0:
                ctx, self.ctx = self.ctx, None
                ctx.__exit__(*(exc or (None, None, None)))


_SETTINGS = _Settings()


@contextlib.contextmanager
def held() -> Iterator[None]:
    """detect-secrets' settings entered for the block: the scanners made inside it (one a file of a run) share
    them instead of each entering them again."""
    _SETTINGS.enter()
    try:
        yield
    finally:
        _SETTINGS.exit()


def preload() -> threading.Thread:
    """Start loading detect-secrets' detectors, Hyperscan and the seal's cryptography in a thread of their own (a
    live run does it while the vault starts and the scenario runs, which wait on the network). ``requests`` stays
    deferred: the live client is the standard library's, and whoever imports requests meanwhile gets the stand-in,
    which forwards every name to the real package. A failure here is left to the judge, which loads them again
    and says what is wrong."""

    def load() -> None:
        try:
            import hyperscan  # noqa: F401

            _load_detect_secrets()
            # what the embedded target's seal of its log imports (seal.chain: 45 ms), which would follow the scenario
            from cryptography.hazmat.primitives import serialization  # noqa: F401
            from cryptography.hazmat.primitives.asymmetric import ed25519  # noqa: F401
        except Exception:  # reported where they are needed
            pass

    thread = threading.Thread(target=load, name="auditready-preload", daemon=True)
    thread.start()
    return thread


def detector_regexes() -> tuple[list[DetectorRegex], list[str]]:
    """The regexes of every active detector except those in OWN_PREFILTERS, and the names of detectors that have
    none to offer (a caller that cannot prefilter those must hand everything to the judge)."""
    _load_detect_secrets()
    from detect_secrets.settings import default_settings, get_plugins

    out: list[DetectorRegex] = []
    unknown: list[str] = []
    with default_settings():
        plugins = list(get_plugins())
    for plugin in plugins:
        name = type(plugin).__name__
        if name in OWN_PREFILTERS:
            continue
        denylist = getattr(plugin, "denylist", None)
        if denylist is None:
            unknown.append(name)
            continue
        for rx in denylist:
            pat = rx.pattern if isinstance(rx.pattern, str) else rx.pattern.decode()
            out.append(DetectorRegex(pat, bool(rx.flags & re.IGNORECASE), bool(rx.flags & re.DOTALL),
                                     bool(rx.flags & re.VERBOSE)))
    return out, unknown


class GenericScanner:
    """Finds secrets nobody told us about in string values. Use as a context manager around a batch of scans:
    detect-secrets only finds anything inside its settings context."""

    def __init__(self, structural: Iterable[str] = (), fmt: Optional[LogFormat] = None) -> None:
        self._cache: dict[tuple[str, str], tuple[GenericHit, ...]] = {}
        self._ctx: Any = None
        extra = frozenset(structural) | (fmt.structural_keys if fmt is not None else frozenset())
        self.structural = STRUCTURAL_KEYS | extra  # keys whose values are not judged (the vault's own: see below)
        self.own = STRUCTURAL_KEYS - extra  # judged only by the detectors of a secret's own format
        self.placeholders = fmt.placeholders if fmt is not None else frozenset()
        self.path_keys = fmt.path_keys if fmt is not None else PATH_KEYS
        self.resource_keys = fmt.resource_keys if fmt is not None else frozenset()  # (LogFormat.resource_keys)
        # keys whose values the format writes as identifiers by design (LogFormat.name_keys): never judged
        self.names = re.compile(fmt.name_keys) if fmt is not None and fmt.name_keys else None
        self.vault = fmt is None or fmt.name == "vault"  # keys that are credentials by Vault's API (VAULT_CREDENTIALS)
        # Which of the texts handed to detect-secrets could hold anything it finds: a superset (the block scanner's
        # databases, scan.hyperscan). None: every text is read.
        self.prefilter: Optional[Callable[[list[str]], list[bool]]] = None
        # Whether a value found under a key is personal data (no_secret_leak gives it data_minimisation's test): its
        # hit is marked so, and a finding gives it no fingerprint (a keyed hash of a value of few possible ones gives
        # it back). None: none is.
        self.personal: Optional[Callable[[str, str], bool]] = None

    def __enter__(self) -> GenericScanner:
        _SETTINGS.enter()
        self._ctx = _SETTINGS
        return self

    def __exit__(self, *exc: object) -> None:
        ctx, self._ctx = self._ctx, None
        if ctx is not None:
            ctx.exit(*exc)

    def skips(self, key: str, value: str) -> bool:
        """``skippable`` with this scanner's structural keys and placeholders (a key of the vault's own,
        STRUCTURAL_KEYS, only for the detectors that judge a value by its randomness or its key: see
        ``scan_value``); never a credential by Vault's API in clear."""
        if self._vault_credential(key, value):
            return False
        structural = self.structural - self.own if key in self.own else self.structural
        return skippable(key, value, structural, self.placeholders)

    def _vault_credential(self, key: str, value: str) -> Optional[str]:
        """The kind of a value that is a credential by Vault's API where it sits (VAULT_CREDENTIALS), in clear."""
        kind = VAULT_CREDENTIALS.get(key) if self.vault else None
        return kind if kind is not None and len(value) >= MIN_LEN and _clear(value) else None

    def scan_value(self, key: str, value: str) -> tuple[GenericHit, ...]:
        if self._ctx is None:
            raise RuntimeError("GenericScanner must be entered (with ...:) before scanning")
        if self.skips(key, value):
            return ()
        cached = self._cache.get((key, value))
        if cached is not None:
            return cached
        if len(self._cache) > CACHE_MAX:
            self._cache.clear()
        from .known import gunzipped

        plain = gunzipped(value)
        if plain is not None:  # one gzip body in base64 (a ConfigMap's binaryData, a Helm release): its bytes are
            # random by construction, so a secret is in what it inflates to, judged instead (red team rt65 F4)
            self._cache[(key, value)] = hits = tuple(self.scan_strings(_inflated_pairs(key, plain)))
            return hits
        from detect_secrets.core.scan import _process_line_based_plugins

        found: dict[str, GenericHit] = {}
        unnamed: dict[str, GenericHit] = {}  # HTTP credentials of no format: only where nothing else is found
        header = key.lower() in CREDENTIAL_HEADERS  # its value is one credential, named by header_credentials
        parts = self._parts(key, value)
        # anywhere in the value, a path whole (scan.tokens); and in each part that is not a piece of it: a query
        # parameter's value decoded ("?auth=Basic+dXNlcjpwYXNz%3D"), a JSON document's values
        # (a display name's readings first: a credential they name is named by its own fingerprint, see
        # _display_name_given)
        given = _display_name_given(key, value)
        # (a part as written is in the value: a segment, a parameter's value without escapes; looking each up in a
        # long value took time quadratic in it)
        written = _PIECE_RE.split(value)
        pieces = frozenset((value, *written)) | frozenset(w.partition("=")[2] for w in written if "=" in w)
        texts = [*given, value] + [part for part in dict.fromkeys(p for _, p in parts) if part not in pieces]
        for kind, credential in (found_token for text in texts for found_token in tokens.find(text)):
            if kind not in tokens.HTTP_KINDS:
                found.setdefault(kind, GenericHit(kind, key, fingerprint(credential)))
            elif not header:
                unnamed.setdefault(kind, GenericHit(kind, key, fingerprint(credential)))
        # each part once (a path may repeat a segment 100,000 times); then, for URL-encoded text (a connection string
        # in a query parameter of a logged URI, "AccountKey%3D..."), the text decoded, read by the detectors of a
        # secret's own format only (its randomness and its key's name were judged as written)
        decoded = urllib.parse.unquote(value) if "%" in value else value
        judged = [(k, p, False) for k, p in dict.fromkeys(parts)] + ([(key, decoded, True)] if decoded != value else [])
        judged += [(key, name, True) for name in given]
        jwt = _SANITIZED_JWT.match(value) if key == "display_name" else None
        if jwt is not None:
            found.setdefault(JWT_KIND, GenericHit(JWT_KIND, key, fingerprint(jwt.group(1))))
        params: dict[str, GenericHit] = {}  # credentials of a URI's further query parameters, by fingerprint
        more: dict[str, GenericHit] = {}  # further private keys or tokens of a kind found in the value, likewise
        # A Vault/OpenBao request path's segments name what was accessed, written in clear by design: a tenant id or
        # a content digest as one (secret/data/tenants/8f14e45f.../db) reads as high-entropy hex (red team rt40,
        # F12). Judged by a secret's own format only (a token in auth/token/lookup/<token> still is); a query's
        # parameters, by every detector.
        segments = (frozenset(value.partition("?")[0].split("/"))
                    if (self.vault or key in self.resource_keys) and key in self.path_keys else frozenset())
        read = [[json.dumps({part_key: window}) for window in _windows(part)] for part_key, part, _ in judged]
        if self.prefilter is not None and sum(map(len, read)) > PREFILTER_MIN:
            flags = iter(self.prefilter([text for texts_of in read for text in texts_of]))
            read = [[text for text in texts_of if next(flags)] for texts_of in read]
        for (part_key, part, own_format), texts_of in zip(judged, read):
            if own_format:
                for kind, credential in tokens.find(part):
                    if kind not in tokens.HTTP_KINDS:
                        found.setdefault(kind, GenericHit(kind, key, fingerprint(credential)))
            elif part_key != key and key in self.path_keys and _query_credential(part_key, part):
                hit = self._hit(_KEYWORD_KIND, part_key, part)
                if found.setdefault(_KEYWORD_KIND, hit) is not hit:  # another parameter's credential: one too
                    params.setdefault(hit.fingerprint, hit)  # (red team rt32, F6: named by the order of the two)
            lines = list(enumerate(texts_of, 1))
            for secret in _process_line_based_plugins(lines=lines, filename="audit.log") if lines else ():
                kind = str(secret.type)
                if own_format and (kind in NOT_BY_NAME or kind in (_AWS_KEY_ID_KIND, _BASIC_AUTH_KIND)):
                    continue
                if kind in NOT_BY_NAME and part_key == key and part in segments:
                    continue
                if kind == _AWS_KEY_ID_KIND and not _stands_alone(secret.secret_value or "", part):
                    continue  # inside a longer uppercase id (see _AWS_KEY_ID_KIND)
                if kind == _BASIC_AUTH_KIND and tokens.placeholder(secret.secret_value or ""):
                    continue  # a placeholder or a mask as the password, "xxxxx" (see scan.tokens.placeholder)
                value_found = secret.secret_value or ""
                if len(value_found) >= MIN_LEN and value_found in part_key and value_found not in part:
                    continue  # the key's, which is judged as a value of its own where it may hold one (F7 below)
                if kind in NOT_BY_NAME and value_found == part_key != part and f"'{part_key}'" not in part:
                    continue  # the quoted key, read as a string of its own (an id as a map's key: F7 below)
                # A detector that reports a constant or its format's prefix (PrivateKeyDetector the block's
                # header, GitHub's "ghp"): each secret it matched is named by the whole of it (_whole_secrets).
                wholes = _whole_secrets(kind, value_found, part)
                if wholes is not None:
                    for whole in wholes:
                        hit = self._hit(kind, key, whole)
                        if found.setdefault(kind, hit) is not hit:
                            more.setdefault(hit.fingerprint, hit)  # another key or token in the same value
                    continue
                hit = self._hit(kind, key, value_found if len(value_found) >= MIN_LEN else part)
                if (found.setdefault(kind, hit) is not hit and kind == _KEYWORD_KIND and part_key != key
                        and key in self.path_keys):
                    params.setdefault(hit.fingerprint, hit)  # another query parameter's credential
        if _KEYWORD_KIND in found and _about_a_credential(key, value):
            del found[_KEYWORD_KIND]
        if (not found and key not in self.path_keys
                and ((_names_a_token(key) and not any(c.isspace() for c in value)) or _names_a_shared_secret(key)
                     or _env_credential(key, value))
                and tokens.credential(key, value)):
            found[_KEYWORD_KIND] = self._hit(_KEYWORD_KIND, key, value)
        if (key in self.own or (self.names is not None and self.names.search(key) is not None)
                or public_header(key, value)):
            # a key the format names identifiers by (LogFormat.name_keys), or whose value the vault computes or
            # composes (STRUCTURAL_KEYS), or a header its protocol makes public (public_header: ACME's Replay-Nonce):
            # random ids, generated names and nonces trip the entropy and keyword detectors, and a short prefix
            # (_PREFIX_ONLY), so only the detectors of a secret's own format judge it
            for kind in NOT_BY_NAME:
                found.pop(kind, None)
            for kind, longer in _PREFIX_ONLY.items():
                if kind in found and longer.search(value) is None:
                    del found[kind]
        if not found:
            found = unnamed
        vault_kind = self._vault_credential(key, value)
        if vault_kind is not None and not found:  # (found by a detector too: named once, as the detector names it)
            found = {vault_kind: GenericHit(vault_kind, key, fingerprint(value))}
        if _KEYWORD_KIND in found:
            params.pop(found[_KEYWORD_KIND].fingerprint, None)
            found.update((f"{_KEYWORD_KIND}/{fp}", h) for fp, h in params.items())
        for fp, h in more.items():
            if h.kind in found and found[h.kind].fingerprint != fp:
                found.setdefault(f"{h.kind}/{fp}", h)
        # detect-secrets runs its plugins in no fixed order: sort, so that every run reports the same findings
        hits = tuple(sorted(found.values(), key=lambda h: (h.kind, h.fingerprint)))
        self._cache[(key, value)] = hits
        return hits

    def _hit(self, kind: str, key: str, text: str) -> GenericHit:
        """A hit of ``kind`` under ``key``, named by ``text``'s fingerprint, marked when ``text`` is personal data
        (``personal``)."""
        return GenericHit(kind, key, fingerprint(text), self.personal is not None and self.personal(key, text))

    def _parts(self, key: str, value: str) -> list[tuple[str, str]]:
        """What a value is judged as. A request path or URI part by part: a secret in a path is a segment of its
        own, and one in a query string is a parameter's value (judged under the parameter's name), while the whole
        path (mount, prefix, a random run id, a generated name) often reads as high-entropy base64 when it is not."""
        if key not in self.path_keys:
            if _RESOURCE_NAME_RE.match(value) is not None:  # each id of a resource name on its own
                segs = value.split("/")
                return [(key, p) for c, p in zip(segs[::2], segs[1::2]) if len(p) >= MIN_LEN
                        and not (c in _TRACE_COLLECTIONS and _TRACE_ID_RE.match(p) is not None)]
            return [(key, value)]
        path, _, query = value.partition("?")
        lease = _LEASE_PATH_RE.match(value)  # a lease id in a sys/leases path: no credential (see correlation_id)
        parts = [(key, p) for p in path.split("/") if len(p) >= MIN_LEN and not (lease and p == lease.group(1))
                 and _K8S_GENERATED_NAME_RE.match(p) is None]
        for name, v in urllib.parse.parse_qsl(query):
            if self.skips(name, v):
                continue
            doc = json_document(v)
            if doc is not None:  # a document in a parameter: judged as the values it holds
                parts.extend(record_values(doc)[0])
            else:
                parts.append((name or key, v))
        return parts

    def scan_strings(self, pairs: Iterable[tuple[str, str]]) -> Iterator[GenericHit]:
        """The hits in ``pairs``, each (kind, key, value) once: a value under two keys is a hit under each (each key
        is fixed on its own: red team rt80 F1)."""
        seen: set[tuple[str, str, str]] = set()
        for key, value in pairs:
            for hit in self.scan_value(key, value):
                if (hit.kind, hit.key, hit.fingerprint) not in seen:
                    seen.add((hit.kind, hit.key, hit.fingerprint))
                    yield hit
