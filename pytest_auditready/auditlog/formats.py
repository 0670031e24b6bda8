"""What differs between the log formats the checks read (log_format), in one place: where each canonical field
comes from, which keys name things rather than hold them, whether a file's entries are in time order, whether
values are HMAC'd, and what each check's message and fix say about the format.

The checks read ``format_of(settings)``; the offline readers read the field paths.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence

from ..config import field_alternatives

# Kubernetes audit events (audit.k8s.io/v1, one Event a line from the log backend): log_format = "k8s" is
# "jsonl" with this field_map (entries of field_map replace these).
K8S_FIELDS: Mapping[str, str] = {
    "type": "stage",
    "time": "requestReceivedTimestamp",
    "identity": "user.username",
    "resource": "requestURI",
    "action": "verb",
    "result": "responseStatus.code",
    "source": "sourceIPs.0",
    "request_id": "auditID",
}

# Entry types written before the request's outcome exists, so they carry no result: a Vault/OpenBao request
# entry, a Kubernetes event at stage RequestReceived (an audit policy that does not omit that stage).
REQUEST_TYPES = frozenset({"request", "RequestReceived"})

# The API server's long-running requests: a watch or proxy verb, or a request on a pod's attach, exec, log, proxy or
# portforward subresource (k8s.io/apiserver BasicLongRunningRequestCheck over RequestInfo): written when they end
# (ResponseComplete), with the requestReceivedTimestamp of their start, minutes or hours before the events around
# them. A non-resource path (neither /api nor /apis) is long-running under /debug/pprof/ (the profiler, whose
# profile and trace run for their ?seconds=), or by the deprecated --long-running-request-regexp.
_K8S_LONG_RUNNING_RE = re.compile(r"(?:/|^)(?:(?:watch|proxy)(?:/|$)|(?:logs?|portforward|exec|attach)/?$)")
_K8S_LONG_RUNNING_SUBRESOURCES = frozenset({"attach", "exec", "proxy", "log", "portforward"})
# A namespace's own subresources (RequestInfoFactory's namespaceSubresources): /namespaces/<ns>/status is the
# namespace's, not a resource named "status" in it.
_K8S_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


def _k8s_long_running_uri(uri: str) -> bool:
    """Whether a request URI names a long-running request, as the API server's RequestInfo reads it: after
    /api/<version> or /apis/<group>/<version>, an optional watch/proxy verb and namespaces/<ns>, the parts are
    resource/name/subresource. A Secret named "logs" or "exec" is a resource name, not a subresource."""
    path = uri.partition("?")[0]
    parts = path.strip("/").split("/")
    skip = {"api": 2, "apis": 3}.get(parts[0])
    if skip is None:  # a non-resource request: the profiler's, and the old regexp's
        return path.startswith("/debug/pprof/") or _K8S_LONG_RUNNING_RE.search(path) is not None
    if len(parts) <= skip:
        return False
    parts = parts[skip:]
    if parts[0] in ("watch", "proxy"):
        return True
    if parts[0] == "namespaces" and len(parts) > 2 and parts[2] not in _K8S_NAMESPACE_SUBRESOURCES:
        parts = parts[2:]
    return len(parts) >= 3 and parts[2] in _K8S_LONG_RUNNING_SUBRESOURCES


def k8s_long_running(rec: Any) -> bool:
    """A Kubernetes event of a long-running request past its start (watch, proxy, exec, attach, port-forward,
    log): its time is when the request began, not when the event was written."""
    if getattr(rec, "type", "") == "RequestReceived":
        return False
    return rec.action in ("watch", "proxy") or _k8s_long_running_uri(rec.resource)


# The API server's timeout of a request that is not long-running (kube-apiserver --request-timeout, default 1m0s):
# its event past RequestReceived (written when the stage is reached, in file order) carries the time the request
# was received, so it follows events received up to that long after it (a slow list, an admission webhook's wait).
K8S_REQUEST_TIMEOUT_NS = 60 * 10**9

# AWS CloudTrail records: each field from the first of its paths that holds a value ("result" is "error:
# <errorCode>" or "success" unless field_map names a path). A placeholder for no value ("-", "null") in any path of
# identity or source is no value: CloudTrail never writes one there (checks.required_fields names it).
CLOUDTRAIL_FIELDS: Mapping[str, tuple[str, ...]] = {
    "time": ("eventTime",),
    # an IAM Identity Center user (type IdentityCenterUser) has no ARN or principal id: onBehalfOf.userId names them;
    # a SAML or web identity user may be written with userName alone, another account (AWSAccount, an anonymous S3
    # request's "anonymous") by accountId alone (offline.reader._WHO_BY_TYPE): named so, not by the type's word
    "identity": ("userIdentity.arn", "userIdentity.principalId", "userIdentity.onBehalfOf.userId",
                 "userIdentity.invokedBy", "userIdentity.userName", "userIdentity.accountId", "userIdentity.type"),
    "resource": ("resources.0.ARN", "requestParameters.secretId", "requestParameters.name",
                 "requestParameters.keyId", "eventSource"),
    "action": ("eventName",),
    "source": ("sourceIPAddress",),
    "request_id": ("requestID", "eventID"),
    "type": ("eventType",),  # AwsApiCall, AwsServiceEvent, AwsConsoleSignIn, AwsCloudTrailInsight, ...
}

VAULT_FIELDS: Mapping[str, tuple[str, ...]] = {
    "time": ("time",),
    "identity": ("auth.display_name", "auth.entity_id", "auth.accessor"),
    "resource": ("request.path",),
    "action": ("request.operation",),
    "source": ("request.remote_address",),
    "request_id": ("request.id",),
}

# AWS CloudTrail's own fields that name things rather than hold them (CloudTrail record contents, userIdentity
# element, S3 and EC2 examples): the access key id of the caller (an identifier CloudTrail logs in every record by
# design; the secret key is never logged), the name or ARN of the secret asked for, the caller's idempotency token,
# the event, request and credential ids CloudTrail and the services generate (an IAM Identity Center
# credentialId, S3's x-amz-id-2 / x-amz-request-id / x-amz-version-id), a SAML provider's name qualifier (a hash of
# issuer, account and provider name) and an EC2 key pair's fingerprint (a hash of its public key). Also the
# pagination cursors the AWS APIs hand back and take again (NextToken, S3's Marker and continuation-token: "a token
# that indicates where the next page begins", opaque and worth nothing without the caller's own credentials), the
# upload id of an S3 multipart upload and the session id of an SSM or CloudShell session (ids the service issues,
# logged beside the placeholder that hides the session's token), and an OAuth client id (RFC 6749 2.2: "The client
# identifier is not a secret"; Cognito app clients, IAM Identity Center OIDC clients).
CLOUDTRAIL_STRUCTURAL_KEYS = frozenset({"accessKeyId", "secretId", "clientRequestToken", "principalId", "eventID",
                                        "requestID", "sharedEventID", "credentialId", "x-amz-id-2",
                                        "x-amz-request-id", "x-amz-version-id", "versionId", "nameQualifier",
                                        "identityProvider", "keyFingerprint", "clientToken",
                                        "nextToken", "NextToken", "marker", "Marker", "nextMarker", "NextMarker",
                                        "continuation-token", "continuationToken", "ContinuationToken",
                                        "NextContinuationToken", "start-after", "paginationToken",
                                        "PaginationToken", "uploadId", "UploadId", "sessionId", "SessionId",
                                        "clientId", "ClientId"})
# AWS's API fields named "...Name" hold the names of resources and principals (IAM user, role and session names,
# function, stack, bucket, key pair, log group names) and "...VersionId" or "S3ObjectVersion" the version ids S3
# generates: identifiers, never values. Generated names carry random suffixes that read as high-entropy strings:
# CloudFormation's role names (eksctl-...-NodeInstanceRole-1X2Y3Z4W5V6U), IAM Identity Center's permission-set roles
# (AWSReservedSSO_AdministratorAccess_0123456789abcdef), which every SSO session's userIdentity names. So do the
# fields named "...Id", "...Arn" and their lists ("...Ids", "...IdList", "...Arns"): the id, name or ARN of a
# resource, a secret's included (Secrets Manager's secretIdList of BatchGetSecretValue, RDS and Redshift Data API's
# secretArn, Glue's SecretId, DMS's SecretsManagerSecretId: the name of the secret, never its value), whose
# "secret" trips the keyword detector and whose random suffix (-AbCdEf) the entropy ones; unless the key names a
# credential (a token, a password, a secret's value or a key's secret part).
CLOUDTRAIL_NAME_KEYS = (r"(?:[Nn]ame|[Vv]ersion[Ii]d|[Oo]bject[Vv]ersion)\Z"
                        r"|\A(?!.*(?i:token|passw|pwd|private|credential|cookie|secret_?(?:value|string|binary|key)"
                        r"|access_?key))[A-Za-z][A-Za-z0-9]*(?:Id|ID|Arn|ARN)(?:s|List)?\Z")
# Texts AWS writes in place of a value it will not log (documented: a failed sign-in's user name, an EC2 key
# pair's private key, user data): never the value itself.
CLOUDTRAIL_PLACEHOLDERS = frozenset({"HIDDEN_DUE_TO_SECURITY_REASONS", "<sensitiveDataRemoved>"})


def _sts_credentials_without_secret_key(rec: Mapping[str, Any]) -> bool:
    """An AWS STS call's response credentials as STS issues them and CloudTrail logs them: the access key id, the
    session token and the expiry, never the secret access key (with it, the triple is a usable credential)."""
    if rec.get("eventSource") != "sts.amazonaws.com":
        return False
    creds = rec.get("responseElements")
    creds = creds.get("credentials") if isinstance(creds, Mapping) else None
    return isinstance(creds, Mapping) and not any("secret" in str(k).lower() for k in creds)


@dataclass(frozen=True)
class ByDesign:
    """A value a producer writes at ``path`` of its records by design, where ``applies`` holds: not a leak."""

    path: tuple[str, ...]
    why: str
    applies: Callable[[Mapping[str, Any]], bool]

    def value(self, rec: Mapping[str, Any]) -> Optional[str]:
        """The value this rule excuses in ``rec``, if the rule applies to it."""
        if not self.applies(rec):
            return None
        v: Any = rec
        for k in self.path:
            v = v.get(k) if isinstance(v, Mapping) else None
        if isinstance(v, list) and len(v) == 1:  # a one-value list (a Kubernetes user's extra values)
            v = v[0]
        return v if isinstance(v, str) else None


CLOUDTRAIL_BY_DESIGN = (
    ByDesign(("responseElements", "credentials", "sessionToken"),
             "AWS STS (AssumeRole*, GetSessionToken, GetFederationToken) returns temporary credentials, and "
             "CloudTrail logs their access key id and session token but never the secret access key, without "
             "which the token signs nothing", _sts_credentials_without_secret_key),
)

# Kubernetes API objects that hold secrets by definition, found at any audit level that records objects (Request,
# RequestResponse): kind -> (what to call it, the paths of its secret values; "*" is every key or item).
K8S_SECRET_OBJECTS: Mapping[str, tuple[str, tuple[tuple[str, ...], ...]]] = {
    "Secret": ("a Kubernetes Secret's data", (("data", "*"), ("stringData", "*"))),
    "SecretList": ("a Kubernetes Secret's data", (("items", "*", "data", "*"), ("items", "*", "stringData", "*"))),
    "TokenRequest": ("a service account token a TokenRequest issued", (("status", "token"),)),
    "TokenReview": ("the bearer token of a TokenReview", (("spec", "token"),)),
}

# EKS's authenticator (aws-iam-authenticator; EKS access entries) writes the AWS identity it verified into the
# user's extra values: arn, canonicalArn, sessionName, principalId and accessKeyId, the access key id the caller
# signed its sts:GetCallerIdentity token with. An access key id is an identifier (AWS: "not a secret"; CloudTrail
# logs it in every record); the secret access key never reaches the API server.
_AWS_KEY_ID_RE = re.compile(r"(?:AKIA|ASIA)[A-Z0-9]{16}\Z")


def _one(extra: Any, key: str) -> str:
    v = extra.get(key) if isinstance(extra, Mapping) else None
    return v[0] if isinstance(v, list) and len(v) == 1 and isinstance(v[0], str) else ""


def _eks_access_key_id(rec: Mapping[str, Any]) -> bool:
    """The event's user was authenticated by EKS's AWS IAM authenticator (its ARN beside the key id) and its
    accessKeyId has an access key id's shape."""
    user = rec.get("user")
    extra = user.get("extra") if isinstance(user, Mapping) else None
    return (_one(extra, "arn").startswith("arn:aws") and bool(_one(extra, "canonicalArn") or _one(extra, "principalId"))
            and _AWS_KEY_ID_RE.match(_one(extra, "accessKeyId")) is not None)


K8S_BY_DESIGN = (
    ByDesign(("user", "extra", "accessKeyId"),
             "EKS's AWS IAM authenticator names the access key id the caller signed with among the user's extra "
             "values, beside its ARN: an identifier, never the secret access key", _eks_access_key_id),
)

# Query parameters of a request URI that carry a credential by definition (RFC 6750 2.3: "access_token", the
# bearer token in the URI; OAuth's id and refresh tokens and client secret): a Kubernetes event's requestURI
# holds one in clear when a client sent it there, a leak whatever its shape.
_URI_CREDENTIAL_PARAMS = frozenset({"access_token", "id_token", "refresh_token", "client_secret"})
URI_CREDENTIAL = "a credential in a request URI's query"
SECRET_PATCH = "a Kubernetes Secret's data in a patch"
_SECRET_FIELDS = ("data", "stringData")


def _secret_patch(body: Any) -> list[tuple[str, str]]:
    """(key, value) of the Secret data a patch body sets, each under the key it sits under: a strategic merge or
    JSON merge patch (an object without kind: {"data": {...}, "stringData": {...}}), or a JSON patch (RFC 6902:
    operations whose path is under /data or /stringData, their value a string or an object of them)."""
    out: list[tuple[str, str]] = []
    if isinstance(body, Mapping) and "kind" not in body:
        for f in _SECRET_FIELDS:
            data = body.get(f)
            if isinstance(data, Mapping):
                out.extend((str(k), v) for k, v in data.items() if isinstance(v, str) and v)
    elif isinstance(body, list):
        for op in body:
            path = op.get("path") if isinstance(op, Mapping) else None
            if not isinstance(path, str) or path.split("/")[1:2] not in (["data"], ["stringData"]):
                continue
            v = op.get("value")
            if isinstance(v, str) and v:
                out.append(("value", v))
            elif isinstance(v, Mapping):
                out.extend((str(k), s) for k, s in v.items() if isinstance(s, str) and s)
    return out


def k8s_defined_secrets(rec: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(what, key, value) of the values a Kubernetes event holds that are secrets by definition beyond its objects
    (K8S_SECRET_OBJECTS): a bearer token or other OAuth credential in the requestURI's query, and the data a patch
    of a Secret sets (a patch body names no kind: the event's objectRef says it is a Secret)."""
    out: list[tuple[str, str, str]] = []
    uri = rec.get("requestURI")
    if isinstance(uri, str) and "?" in uri:
        out.extend((URI_CREDENTIAL, name, v) for name, v in urllib.parse.parse_qsl(uri.partition("?")[2])
                   if name.lower() in _URI_CREDENTIAL_PARAMS and v.strip())
    ref = rec.get("objectRef")
    if (isinstance(ref, Mapping) and ref.get("resource") == "secrets" and not ref.get("apiGroup")
            and not ref.get("subresource")):
        out.extend((SECRET_PATCH, k, v) for k, v in _secret_patch(rec.get("requestObject")))
        notes = rec.get("annotations")
        for name, said in (notes.items() if isinstance(notes, Mapping) else ()):
            if isinstance(name, str) and name.startswith(K8S_PATCH_ANNOTATION) and isinstance(said, str):
                try:
                    patch = json.loads(said)
                except ValueError:
                    continue
                if isinstance(patch, Mapping):
                    out.extend((SECRET_PATCH, k, v) for k, v in _secret_patch(patch.get("patch")))
    return out


# The audit annotation a mutating admission webhook's patch is recorded under, at level Request and above
# (k8s.io/apiserver's mutating.PatchAuditAnnotationPrefix, then round_N_index_M): a JSON object whose "patch" is
# the JSON patch the webhook applied, to a Secret's data too (a webhook that fills a Secret from a vault).
K8S_PATCH_ANNOTATION = "patch.webhook.admission.k8s.io/"

# The audit annotations the API server writes itself with values it controls that hold only the actor, fixed text or
# its own numbers and ids (kubernetes/apiserver): authorization.k8s.io/decision, "allow" or "forbid"
# (pkg/endpoints/filters/authorization.go); k8s.io/deprecated, "true", and k8s.io/removed-release, a release number
# (pkg/endpoints/metrics/metrics.go); apiserver.k8s.io/unsafe-delete-ignore-read-error, "" (endpoints/handlers/
# delete.go); authentication.kubernetes.io/issued-credential-id, "JTI=" and the id of a token a TokenRequest issued
# (kubernetes pkg/registry/core/serviceaccount/storage/token.go); authentication.k8s.io/legacy-token and
# stale-token, the service account the request's own token names (kubernetes pkg/serviceaccount/jwt.go,
# claims.go: "subject: system:serviceaccount:NS:NAME, seconds after warning threshold: N"); Pod Security
# Admission's enforce-policy ("LEVEL:VERSION" of the namespace's labels) and exempt ("namespace", "user" or
# "runtimeClass"). By prefix: apiserver.latency.k8s.io/* (durations: endpoints/filters/audit.go,
# endpoints/request/webhook_duration.go), and (missing-san|insecure-sha1).invalid-cert.kubernetes.io/HOST, whose
# value is the check's fixed reason (pkg/util/x509metrics/server_cert_deprecations.go).
# Every other annotation is judged as the request's object is: what a mutating webhook's patch set
# (patch.webhook.admission.k8s.io/round_N_index_M, at level Request and above), the names a webhook's configuration
# gives (mutation.webhook..., failed-open.*), a ValidatingAdmissionPolicy's messages (validation.policy.admission.
# k8s.io/validation_failure) and its auditAnnotations (POLICY/KEY: any CEL value), an admission webhook's
# AdmissionResponse.auditAnnotations (WEBHOOK/KEY: the webhook's words), Pod Security's audit-violations (container
# names and field values), and keys no one documents. authorization.k8s.io/reason names the binding, role and
# subject that allowed the request, or an authorizer webhook's own words: judged, the actor named again excused
# (LogFormat.identity_echo).
K8S_SERVER_ANNOTATIONS = frozenset({"authorization.k8s.io/decision", "k8s.io/deprecated", "k8s.io/removed-release",
                                    "apiserver.k8s.io/unsafe-delete-ignore-read-error",
                                    "authentication.kubernetes.io/issued-credential-id",
                                    "authentication.k8s.io/legacy-token", "authentication.k8s.io/stale-token",
                                    "pod-security.kubernetes.io/enforce-policy", "pod-security.kubernetes.io/exempt"})
_K8S_SERVER_ANNOTATION_RE = re.compile(r"apiserver\.latency\.k8s\.io/|(?:missing-san|insecure-sha1)"
                                       r"\.invalid-cert\.kubernetes\.io/")


def k8s_server_annotation(key: str) -> bool:
    """Whether a Kubernetes event's audit annotation ``key`` is one the API server writes with a value of its own
    (K8S_SERVER_ANNOTATIONS): evidence in clear, not judged for personal data as content is."""
    return key in K8S_SERVER_ANNOTATIONS or _K8S_SERVER_ANNOTATION_RE.match(key) is not None


_MAX_POINTER = 64  # keys of a JSON pointer read as an object's path: a hostile one as deep as its length is not


def _pointer(path: str) -> list[str]:
    """The keys of a JSON pointer (RFC 6901), list indexes and the append mark "-" left out: where a value sits as
    the object's own walk names it (a list's items sit at the list's path)."""
    keys = [k.replace("~1", "/").replace("~0", "~") for k in path.split("/")[1:]]
    return [k for k in keys if k != "-" and not k.isdigit()]


def k8s_annotation_value(key: str, value: str) -> Any:
    """A judged audit annotation's value as data_minimisation reads it: a JSON object or list (what the API server
    writes of a webhook's patch or mutation, a policy's failures; a webhook's own JSON) decoded, and a webhook patch's
    operations (RFC 6902) as the objects they write ({"path": "/metadata/annotations/owner", "value": V} as
    {"metadata": {"annotations": {"owner": V}}}), so a value is judged under the key it sets, as in the request's
    object; any other value as it is."""
    if not value.startswith(("{", "[")):
        return value
    try:
        decoded = json.loads(value)
    except (ValueError, RecursionError):  # (no JSON, or nested past the interpreter's limit: judged as text)
        return value
    patch = decoded.get("patch") if isinstance(decoded, dict) and key.startswith(K8S_PATCH_ANNOTATION) else None
    if isinstance(patch, list):
        written: list[Any] = []
        for op in patch:
            keys = _pointer(op["path"]) if isinstance(op, dict) and isinstance(op.get("path"), str) else []
            if not (isinstance(op, dict) and "value" in op and len(keys) <= _MAX_POINTER):
                # (remove, move, copy: no value of their own; the pointers are judged as text; a pointer deeper than
                # any object's is judged as the operation it is)
                written.append(op)
                continue
            v = op["value"]
            for k in reversed(keys):
                v = {k: v}
            written.append(v)
        decoded["patch"] = written
    return decoded


# Values CloudTrail never logs, which a record therefore holds only if something wrote them in (AWS CloudTrail User
# Guide, "CloudTrail record contents": responseElements "can be null" and sensitive parameters are written as
# HIDDEN_DUE_TO_SECURITY_REASONS): a secret's value in a Secrets Manager request or answer (secretString,
# secretBinary, BatchGetSecretValue's secretValues), the secret access key of a credential STS or IAM issues
# (AssumeRole*'s credentials, CreateAccessKey's accessKey), the value of an SSM SecureString parameter or of one
# read WithDecryption, and the plaintext KMS returns (Decrypt, GenerateDataKey). Secrets by definition, whatever their
# shape.
CLOUDTRAIL_SECRET = "a secret value CloudTrail never logs"
_CT_SECRET_KEYS = frozenset({"secretString", "secretBinary", "SecretString", "SecretBinary", "secretAccessKey",
                             "SecretAccessKey", "plaintext", "Plaintext"})


def cloudtrail_defined_secrets(rec: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(what, key, value) of the values a CloudTrail record holds that are secrets by definition (above), in its
    requestParameters and responseElements; CloudTrail's own placeholders are none."""
    out: list[tuple[str, str]] = []
    params = rec.get("requestParameters")
    decrypted = isinstance(params, Mapping) and True in (params.get("withDecryption"), params.get("WithDecryption"))
    stack: list[tuple[str, Any]] = [("", params), ("", rec.get("responseElements"))]
    while stack:
        key, v = stack.pop()
        if isinstance(v, Mapping):
            value = v.get("value")  # an SSM parameter's
            if isinstance(value, str) and (v.get("type") == "SecureString" or (decrypted and "name" in v)):
                out.append(("value", value))
            stack.extend((str(k), x) for k, x in v.items())
        elif isinstance(v, list):
            stack.extend((key, x) for x in v)
        elif key in _CT_SECRET_KEYS and isinstance(v, str):
            out.append((key, v))
    return [(CLOUDTRAIL_SECRET, k, v) for k, v in out if v.strip() and v not in CLOUDTRAIL_PLACEHOLDERS]


# Generic JSON lines (log_format = "jsonl"): keys whose values are identifiers in the audit logs teams feed this way,
# whatever the producer. Their values are judged by the detectors of a secret's own format (a GitHub token, an AWS
# key, a private key), not by entropy or keyword, which every random id trips (scan.secrets.NOT_BY_NAME): a key
# that names an id (id, *_id, *Id, *ID, uuid, guid: Okta's uuid and transaction.id, 1Password's 26-character
# uuids, Google's insertId, Azure's correlationId, GitHub's _document_id), a name (*_name, *Name: GitHub's
# secret_name is the NAME of an Actions secret) or a digest (*Fingerprint, *Hash, *_sha256, checksum: Okta's
# debugData deviceFingerprint, 32 hex digits on every sign-in, read as a high-entropy secret and, twenty sign-ins
# on, keeping a real token past the check's cap unnamed: red team rt100 F1), unless it names a session, token,
# key, secret value, password or credential (a web session id is a bearer credential; an access key id is reported
# where it is not the producer's own field, as a lead to its key; a password's hash can be cracked).
JSONL_NAME_KEYS = (r"\A(?!.*(?i:session|token|key|secret_?value|passw|pwd|private|credential|cookie))"
                   r".*(?:(?<![A-Za-z])(?i:id|uuid|guid|name|fingerprint|hash|digest|checksum|sha\d*|md5)"
                   r"|[a-z0-9](?:Id|ID|Uuid|UUID|Name|Fingerprint|Hash|Digest|Checksum))\Z")
# An event's auditID: a UUID the API server makes, unless the client sent an Audit-ID header, which it takes as it
# is (kubernetes PR 99237): judged by a secret's own format only (a random id passes every entropy limit), so a
# credential sent as Audit-ID is found (red team rt32, F2). And the keys JSONL_NAME_KEYS names, in the objects a
# Request or RequestResponse event records: a Secret is named by its name in ordinary objects (a Pod's
# volumes[].secret.secretName, an Ingress's spec.tls[].secretName, cert-manager's spec.secretName, a ConfigMap's
# SECRET_NAME), and the keyword detector took each such name for a secret (red team rt98 F1).
K8S_NAME_KEYS = r"\AauditID\Z|" + JSONL_NAME_KEYS
# The API server's own ids of an object (uid; resourceVersion), and the continue token of a paged list (its own
# encoding of where the next page starts: a resource version and a namespace/name key). The labels the Deployment
# and StatefulSet/DaemonSet controllers add (pod-template-hash, controller-revision-hash: a hash of the pod
# template), the ids a kubelet reports in a Node's status.nodeInfo (machineID, systemUUID, bootID: "for unique
# machine identification in the cluster"), and the API server's own audit annotations that name a service account
# token's Secret (legacy-token-*-secret: the Secret's name, not its data) and the service account a legacy token names
# (authentication.k8s.io/legacy-token: the token's own subject, "system:serviceaccount:NS:NAME", kubernetes
# pkg/serviceaccount/jwt.go; the keyword detector took it for a token under a key naming one).
K8S_STRUCTURAL_KEYS = frozenset({"uid", "resourceVersion", "continue", "pod-template-hash",
                                 "controller-revision-hash", "machineID", "systemUUID", "bootID",
                                 "authentication.k8s.io/legacy-token",
                                 "authentication.k8s.io/legacy-token-autogenerated-secret",
                                 "authentication.k8s.io/legacy-token-manual-secret"})

# Keys whose values are request paths or URIs, judged part by part (segments, query parameters).
VAULT_PATH_KEYS = frozenset({"path", "mount_point", "creation_path", "request_uri"})
# An object's selfLink (metadata and list metadata, written by API servers before 1.20) is its own API URL: a path
# of the same kind as requestURI, whose generated names (a Deployment's pods) read as random when taken whole.
K8S_PATH_KEYS = frozenset({"requestURI", "selfLink"})

# Fields a format writes in clear text by design and that an audit needs as they are (who, from where, when, which
# request): data_minimisation does not judge them (a dotted path covers what lies below it). An identity is often an
# e-mail address (OIDC, userpass, SSO session names): it is the evidence of who acted, not data to minimise. Every
# other value is judged: a Vault request's or response's data, a request path, an error, a header.
VAULT_CLEAR_TEXT = (
    "time", "type",
    "auth.display_name", "auth.entity_id", "auth.metadata", "auth.policies", "auth.token_policies",
    "auth.identity_policies", "auth.external_namespace_policies", "auth.policy_results", "auth.token_type",
    "auth.token_issue_time", "auth.token_ttl", "auth.remaining_uses",
    "request.id", "request.client_id", "request.operation", "request.remote_address", "request.remote_port",
    "request.mount_point", "request.mount_type", "request.mount_accessor", "request.mount_running_version",
    "request.mount_class", "request.namespace",
    # the decimal serial of the verified mTLS client certificate (audit format.go getClientCertificateSerialNumber):
    # public evidence of which certificate (data_minimisation.SERIALS: not judged as a card number either)
    "request.client_certificate_serial_number",
    "response.auth.display_name", "response.auth.entity_id", "response.auth.metadata", "response.auth.policies",
    "response.auth.token_policies", "response.auth.identity_policies", "response.mount_point",
    "response.mount_type", "response.mount_accessor", "response.mount_running_plugin_version",
    "response.mount_class",
)
# The API server's own words: who (user, impersonatedUser), from where (sourceIPs), when, the event's ids (its own
# audit annotations: k8s_server_annotation, which dotted paths cannot name). And the identities the API's own objects
# name as such, which a change audit needs as written (an OIDC user name is an e-mail address): whom a RoleBinding or
# ClusterRoleBinding grants (subjects), whom a SubjectAccessReview asks about (spec.user), whom a
# CertificateSigningRequest is for (spec.username), whom a TokenReview or SelfSubjectReview found (status.user,
# status.userInfo).
K8S_CLEAR_TEXT = ("kind", "apiVersion", "level", "stage", "auditID", "verb", "user", "impersonatedUser",
                  "sourceIPs", "requestReceivedTimestamp", "stageTimestamp",
                  "requestObject.subjects", "responseObject.subjects", "requestObject.spec.user",
                  "responseObject.spec.user", "requestObject.spec.username", "responseObject.spec.username",
                  "responseObject.status.user", "responseObject.status.userInfo")
# AWS's own record fields: who (userIdentity; a federated or SSO session name is often an e-mail address), from
# where, when, which event, account and resources; and the identities an STS or IAM call creates or names (the
# session it starts, the SAML subject, the IAM user it manages or renames): who the following records will name. A
# sign-in event's additionalEventData.UserName is who signed in (IAM Identity Center's UserAuthentication,
# CredentialChallenge and CredentialVerification, whose userIdentity has no ARN: often an e-mail address). An SSH
# public key sent to EC2 Instance Connect (SendSSHPublicKey, SendSerialConsoleSSHPublicKey) or uploaded to IAM or
# Transfer Family is public material logged as sent, its comment "user@host" (ssh-keygen's default) included.
# AssumeRoleWithSAML's and AssumeRoleWithWebIdentity's principalTags are the attributes the identity provider
# asserted for who signs in (PrincipalTag:Email beside the subject): the session's identity. An AssumeRole's tags
# are what its caller chose to send, judged as any request parameter.
CLOUDTRAIL_CLEAR_TEXT = ("eventVersion", "eventTime", "eventID", "requestID", "sharedEventID", "eventSource",
                         "eventName", "eventType", "eventCategory", "awsRegion", "userIdentity", "sourceIPAddress",
                         "recipientAccountId", "vpcEndpointId", "vpcEndpointAccountId", "tlsDetails", "resources",
                         "readOnly", "managementEvent", "sessionCredentialFromConsole",
                         "requestParameters.roleSessionName", "requestParameters.sourceIdentity",
                         "requestParameters.userName", "requestParameters.newUserName",
                         "requestParameters.principalTags",
                         "responseElements.assumedRoleUser",
                         "responseElements.federatedUser", "responseElements.subject",
                         "responseElements.sourceIdentity", "responseElements.user.userName",
                         "responseElements.user.arn", "additionalEventData.UserName",
                         "requestParameters.sSHPublicKey", "requestParameters.sSHPublicKeyBody",
                         "requestParameters.sshPublicKeyBody", "responseElements.sSHPublicKey")

_WHAT = {
    "time": "when",
    "identity": "who",
    "resource": "which secret",
    "action": "what action",
    "source": "where from",
    "request_id": "the request id",
}
_RESULT = {
    "vault": "the result (success, or error with its reason)",
    "cloudtrail": "the result (success, or errorCode)",
}


@dataclass(frozen=True)
class LogFormat:
    name: str
    title: str  # how messages name a log of this format
    hmac_values: bool = False  # values are logged as hmac-sha256 digests, so digests are expected
    structural_keys: frozenset[str] = frozenset()  # keys never judged by the secret scan (beyond the vault's own)
    name_keys: str = ""  # a regex over key names (searched) whose values are identifiers by design: never judged
    placeholders: frozenset[str] = frozenset()  # texts the producer writes in place of a value it hides
    # the keys from a line to its producer's record (record_root): () but for JSON lines read inside a wrapper
    root: tuple[str, ...] = ()
    by_design: tuple[ByDesign, ...] = ()  # values the producer logs by design where a rule says so
    # (what, key, value) of a record's values that are secrets by definition, beyond secret_objects
    defined_secrets: Optional[Callable[[Mapping[str, Any]], list[tuple[str, str, str]]]] = None
    defined_labels: tuple[str, ...] = ()  # the whats defined_secrets names them by
    path_keys: frozenset[str] = VAULT_PATH_KEYS  # keys of request paths or URIs: judged part by part
    # path keys whose segments name what was accessed (a mapped resource): each judged by a secret's own format only,
    # as a Vault/OpenBao request path's are
    resource_keys: frozenset[str] = frozenset()
    secret_objects: Mapping[str, tuple[str, tuple[tuple[str, ...], ...]]] = field(default_factory=dict)
    own_integrity: str = ""  # the integrity mechanism the format has of its own ("" for none)
    own_integrity_where: str = ""  # where a copy keeps it
    own_integrity_fix: str = ""  # how to have it
    fields_fix: str = ("keep these fields in every entry, and check that field_map in [tool.auditready] names the "
                       "JSON paths your log uses")
    precision_fix: str = "keep the source's own sub-second time in the time field; do not round or reformat it"
    # a time that is not RFC 3339 with an offset: how to have one
    time_fix: str = ("map time in field_map to a field that holds an RFC 3339 time with its offset (e.g. "
                     "2026-01-02T03:04:05.123Z); an epoch number is read as a time only where epoch_unit in "
                     "[tool.auditready] names its unit (epoch_unit = \"ms\" for GitHub's audit log stream): set it, or "
                     "have the producer or the shipper write RFC 3339")
    known_fix: str = ("find the stage that writes the value in clear text (a field mapping, an enrichment, a "
                      "debug log) and make it drop or hash it; rotate the value")
    order_skip: str = ""  # why file order proves nothing, when a file's entries are not written in time order
    # entries whose time is not when they were written, so file order says nothing of them, and the rule's words
    order_exempt: Optional[Callable[[Any], bool]] = None
    order_exempt_rule: str = ""
    # how much earlier than the entries before it an entry's time may be, beyond max_skew, when the time is when the
    # request was received and the entry is written when it ends (0: none), and the rule's words
    order_latency_ns: int = 0
    order_latency_rule: str = ""
    # data_minimisation: the fields written in clear text by design that an audit needs (dotted paths, a path
    # covers what lies below it), and how to stop personal data or card numbers reaching the log
    clear_text: tuple[str, ...] = ()
    # data_minimisation: fields the producer writes in its own words about the request's caller (an error message
    # that names the user it refused, an answer that says who the caller is): an e-mail address there that the
    # line's clear-text fields hold too is that identity repeated, not more personal data
    identity_echo: tuple[str, ...] = ()
    # the producer writes each entry as one line and never an empty one, so an empty line in its log stands where an
    # entry was removed (offline.reader.NoBlankLines); other formats' exports may hold blank lines
    no_blank_lines: bool = False
    minimise_fix: str = ("find the stage that writes the value in clear text (a field mapping, an enrichment, a debug "
                         "log) and make it drop, mask or hash it; restrict and purge what the log already holds")


# Keys of a Vault/OpenBao entry's data that name who, not a secret: a login name beside its password (a KV
# secret's username, the database engine's generated one, v-<name>-<role>-<20 random>-<time>, which reads as
# high-entropy base64 nine times in ten: red team rt35 F4). Judged by a secret's own format only (LogFormat.name_keys),
# and no secret's data (scan.secret_data). In any case, and after a prefix the way teams name environment variables
# and fields (POSTGRES_USER, DB_USERNAME, dbUser, admin_email: red team rt42 F11; PGUSER, ADMIN_USERS, user_id, and
# the directory's names, sAMAccountName, userPrincipalName, an LDAP binddn: rt49 F3); a bare "account" alone (a
# bank_account is no name). An address is personal data: data_minimisation judges it.
VAULT_NAME_KEYS = (r"(?:\A|[_.-]|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z]))"
                   r"(?i:users?(?:[_-]?(?:name|id|principal[_-]?name))?|login|account[_-]?name|e-?mail|bind[_-]?dn|upn)"
                   r"\Z|\A(?i:account)\Z"
                   # a variable's name run together in one case: libpq's PGUSER, DBUSER, pguser (red team rt49 F3)
                   r"|\A(?:[A-Z0-9]+USER(?:NAME)?|[a-z0-9]+user(?:name)?)\Z")

FORMATS: Mapping[str, LogFormat] = {
    "vault": LogFormat(
        "vault", "Vault/OpenBao", hmac_values=True, no_blank_lines=True, name_keys=VAULT_NAME_KEYS,
        fields_fix="log the entries as the vault writes them: make every pipeline stage keep these fields, and "
        "behind a proxy or load balancer set x_forwarded_for_authorized_addrs so that remote_address is the real "
        "client",
        precision_fix="stop the pipeline from rounding or reformatting 'time'; keep the vault's nanosecond "
        "RFC3339Nano value",
        time_fix="ship the vault's own 'time' field unchanged (RFC 3339, e.g. 2026-01-02T03:04:05.123456789Z)",
        known_fix="log HMAC'd values only: remove log_raw from every audit device, and take the key out of "
        "audit_non_hmac_request_keys / audit_non_hmac_response_keys of the mount (bao secrets tune)",
        clear_text=VAULT_CLEAR_TEXT,
        minimise_fix="log HMAC'd values only: take the key out of audit_non_hmac_request_keys / "
        "audit_non_hmac_response_keys of the mount (bao secrets tune), remove log_raw from every audit device, "
        "store such a value as a JSON string (the vault HMACs strings only: a number is logged as it is), and keep "
        "personal data and card numbers out of secret paths; restrict and purge what the log already holds",
    ),
    "jsonl": LogFormat("jsonl", "JSON lines"),
    "k8s": LogFormat(
        "k8s", "Kubernetes audit", structural_keys=K8S_STRUCTURAL_KEYS, path_keys=K8S_PATH_KEYS,
        name_keys=K8S_NAME_KEYS,
        secret_objects=K8S_SECRET_OBJECTS, by_design=K8S_BY_DESIGN, defined_secrets=k8s_defined_secrets,
        defined_labels=(URI_CREDENTIAL, SECRET_PATCH),
        known_fix="lower the audit policy for secrets, configmaps, serviceaccounts/token and tokenreviews to level "
        "Metadata (Request and RequestResponse record the object, a Secret's data included), and have clients send "
        "tokens in the Authorization header, never in the URI's query; rotate the value",
        precision_fix="keep the API server's requestReceivedTimestamp as written (RFC 3339 with microseconds)",
        time_fix="keep the API server's requestReceivedTimestamp as written (RFC 3339 with microseconds, e.g. "
        "2026-01-02T03:04:05.123456Z)",
        order_exempt=k8s_long_running,
        clear_text=K8S_CLEAR_TEXT,
        # a Forbidden status names the user the authorizer refused ('User "x" cannot get resource ...'); a
        # SelfSubjectReview (kubectl auth whoami) answers the caller's own user info; RBAC's reason names the User
        # or Group it allowed ('RBAC: allowed by ClusterRoleBinding "b" of ClusterRole "r" to User "x"':
        # plugin/pkg/auth/authorizer/rbac), which is the actor or one of its groups
        identity_echo=("responseStatus.message", "responseStatus.details", "responseObject.status.userInfo",
                       "annotations.authorization.k8s.io/reason"),
        minimise_fix="lower the audit policy for the resource to level Metadata (Request and RequestResponse record "
        "the object), and keep personal data out of object names, labels and query parameters; restrict and purge "
        "what the log already holds",
        order_exempt_rule="a long-running request's event (watch, proxy, exec, attach, port-forward, log) is written "
        "when the request ends, with the requestReceivedTimestamp of its start",
        order_latency_ns=K8S_REQUEST_TIMEOUT_NS,
        order_latency_rule="an event is written when its stage is reached (RequestReceived once the caller is "
        "authenticated), with the requestReceivedTimestamp of the request's start: up to the API server's request "
        "timeout (k8s_request_timeout) before the events written while it ran",
    ),
    "cloudtrail": LogFormat(
        "cloudtrail", "CloudTrail", structural_keys=CLOUDTRAIL_STRUCTURAL_KEYS, name_keys=CLOUDTRAIL_NAME_KEYS,
        placeholders=CLOUDTRAIL_PLACEHOLDERS, by_design=CLOUDTRAIL_BY_DESIGN,
        defined_secrets=cloudtrail_defined_secrets, defined_labels=(CLOUDTRAIL_SECRET,),
        own_integrity="the trail's signed digest files",
        own_integrity_where="its S3 key's AWSLogs/ACCOUNT/CloudTrail-Digest/REGION folder",
        own_integrity_fix="turn on log file validation for the trail, and copy the digest folder with the logs "
        "(aws s3 sync s3://BUCKET/AWSLogs/ DIR/AWSLogs/) and each digest's signature (README: 'AWS CloudTrail')",
        precision_fix="CloudTrail records whole seconds: correlate by requestID and eventID, and set "
        "timestamp_digits = 0 only if your controls accept second precision",
        time_fix="keep CloudTrail's eventTime as delivered (RFC 3339 UTC, e.g. 2026-01-02T03:04:05Z)",
        order_skip="CloudTrail keeps the records of a file in no particular order, so file order is not checked",
        clear_text=CLOUDTRAIL_CLEAR_TEXT,
        # an AccessDenied errorMessage names the caller's ARN ("User: arn:aws:sts::...:assumed-role/R/<session> is
        # not authorized to perform ..."), whose session name is often an e-mail address (IAM Identity Center);
        # additionalEventData is what the service adds of its own ("data about the event that was not part of the
        # request or response"), where services name the caller again (Amazon Managed Grafana's user.name of a
        # SAMLUser, S3's and sign-in's details)
        identity_echo=("errorMessage", "additionalEventData"),
        minimise_fix="keep personal data and card numbers out of what the callers send AWS (resource names, "
        "descriptions, tags, parameters: CloudTrail logs request parameters as sent); restrict and purge what the "
        "trail's bucket already holds",
    ),
}


# Documented values that look random and are no secret, under names the rule above leaves out: Google APIs' page
# tokens (AIP-158: an opaque cursor to the next page, of no use without the caller's own credentials), GitHub's
# hashed_token (the audit log stream's "SHA-256 hash of the access token", base64: a digest, not the token), and
# Okta's authenticationContext externalSessionId and rootSessionId (the System Log's id that "all of the user's
# future-generated events in this sign-in session are going to share": a correlation id, not the session cookie).
JSONL_ID_KEYS = ("pageToken", "nextPageToken", "page_token", "next_page_token", "hashed_token", "externalSessionId",
                 "rootSessionId")
# The canonical fields whose values are evidence of who, when, from where, what and which request: the keys their
# field_map paths end in name values by design (judged as the keys above).
_EVIDENCE = ("type", "time", "identity", "action", "source", "request_id")
_JSONL_FORMATS: dict[tuple[tuple[str, str], ...], LogFormat] = {}


def _last_keys(path: str) -> set[str]:
    """The keys a dotted field_map path may end in: its last segment, or the last ones joined (a key may hold dots:
    Teleport's "addr.remote"); a list index names none (the key before it)."""
    parts = [p for p in path.split(".") if p]
    while parts and parts[-1].isdigit():
        parts.pop()
    return {".".join(parts[i:]) for i in range(len(parts)) if not parts[i].isdigit()}


_GCP_AUDIT_LOG = "type.googleapis.com/google.cloud.audit.AuditLog"


def record_root(field_map: Any) -> tuple[str, ...]:
    """The keys every path of ``field_map`` goes through before its field: where each line holds its producer's
    record, when a SIEM or a shipper wraps it (an Elasticsearch hit's ``_source``, a Splunk HEC event's ``event``, a
    decode_json_fields target); () for a record that is the line. The producer's own rules (an AuditLog's status
    left out, an Okta event's targets, a SecretPayload's data) look for its record there (red team rt100 F4)."""
    parents = [tuple(path.split("."))[:-1] for spec in dict(field_map or ()).values()
               for path in field_alternatives(spec)]
    if len(parents) < 2:
        return ()
    root = parents[0]
    for keys in parents[1:]:
        n = 0
        while n < min(len(root), len(keys)) and root[n] == keys[n]:
            n += 1
        root = root[:n]
    return root


def producer_record(data: Any, root: Sequence[str]) -> Any:
    """The producer's record in the parsed line ``data``, at ``root`` (record_root); None when nothing is there."""
    for key in root:
        data = data.get(key) if isinstance(data, dict) else None  # (parsed JSON; typing's Mapping is slower)
    return data


def gcp_audit(obj: Any) -> bool:
    """``obj`` is a Cloud Logging entry of Cloud Audit Logs (its protoPayload an AuditLog)."""
    payload = obj.get("protoPayload") if isinstance(obj, Mapping) else None
    return isinstance(payload, Mapping) and payload.get("@type") == _GCP_AUDIT_LOG


def gcp_status_left_out(obj: Any, path: Sequence[str]) -> Optional[str]:
    """The result a Cloud Audit Logs entry gives by leaving it out, for a field_map path into its AuditLog's status
    ("0" for ``protoPayload.status.code``, "{}" for ``protoPayload.status``): proto3 JSON omits a field at its
    default, so a success's google.rpc.Status (code 0, OK) is written as {} or not at all. None for any other
    entry, path, or a status that is there."""
    obj = gcp_status_entry(obj, path)
    if obj is None:
        return None
    path = path[_status_at(path):]
    status = obj["protoPayload"].get("status")
    if len(path) == 2:
        return "{}" if status is None else None
    if path[2] != "code" or not (status is None or (isinstance(status, Mapping) and "code" not in status)):
        return None
    return "0"


def _status_at(path: Sequence[str]) -> int:
    """Where ``path`` goes into an AuditLog's status (protoPayload.status), -1 for nowhere."""
    return next((i for i in range(len(path) - 1) if (path[i], path[i + 1]) == ("protoPayload", "status")), -1)


def gcp_status_path(path: Sequence[str]) -> bool:
    """``path`` names an AuditLog's status (protoPayload.status or its code), at the entry or inside a wrapper."""
    at = _status_at(path)
    return at >= 0 and len(path) - at <= 3


def gcp_status_entry(obj: Any, path: Sequence[str]) -> Optional[Mapping[str, Any]]:
    """The Cloud Audit Logs entry in ``obj`` whose AuditLog status ``path`` names (``gcp_status_path``): the line
    itself, or the entry inside a SIEM's or a shipper's wrapper the path goes through; None for any other."""
    if not gcp_status_path(path):
        return None
    entry = producer_record(obj, path[:_status_at(path)])
    return entry if gcp_audit(entry) else None


# A Google Cloud audit log entry (a LogEntry whose protoPayload is an AuditLog) of Secret Manager: the data of a
# SecretPayload in its request (AddSecretVersion) or response (AccessSecretVersion) is the secret itself, which the
# AuditLog never records ("request ... should never include user-generated data"): in the log, it is a leak whatever
# its shape (as formats.cloudtrail_defined_secrets for CloudTrail).
SECRET_MANAGER_SECRET = "a secret value Secret Manager's audit log never records"
_SECRET_MANAGER = "secretmanager.googleapis.com"


def secret_manager_defined_secrets(rec: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(what, key, value) of each SecretPayload's data in a Secret Manager audit entry's request or response."""
    proto = rec.get("protoPayload")
    if not isinstance(proto, Mapping) or proto.get("serviceName") != _SECRET_MANAGER:
        return []
    out: list[tuple[str, str, str]] = []
    for v in _objects(proto.get("request"), proto.get("response")):
        payload = v.get("payload")
        data = payload.get("data") if isinstance(payload, Mapping) else None
        if isinstance(data, str) and data.strip():
            out.append((SECRET_MANAGER_SECRET, "data", data))
    return out


def _objects(*roots: Any) -> Iterator[Mapping[str, Any]]:
    """Every JSON object in ``roots``, at any depth (in no fixed order)."""
    stack = list(roots)
    while stack:
        v = stack.pop()
        if isinstance(v, Mapping):
            yield v
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)


# An Azure Key Vault SecretBundle (the answer of Get Secret, Set Secret, Get Deleted Secret: {"value": ..., "id":
# "https://<vault>.vault.azure.net/secrets/<name>/<version>", "attributes": ...}), as an application or an SDK's
# HTTP logging writes it: Key Vault's own AuditEvent logs name a secret by its id and never record its value
# (learn.microsoft.com: AZKVAuditLogs' columns), so the value beside such an id is a leak whatever its shape (a
# short password passes every detector) (red team rt86 F6).
KEY_VAULT_SECRET = "a secret value Key Vault's logs never record"
# A Key Vault's or managed HSM's URI up to its path, in each Azure cloud (the public, China, US Government and German)
KEY_VAULT_URI = (r"https://[^/\s]+\.(?:vault|managedhsm)\.(?:azure\.net|azure\.cn|usgovcloudapi\.net|microsoftazure\.de)"
                 r"(?::443)?")
KEY_VAULT_SECRET_ID = re.compile(KEY_VAULT_URI + r"/(?:deleted)?secrets/[^/\s]", re.IGNORECASE)


def key_vault_defined_secrets(rec: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(what, key, value) of each Key Vault SecretBundle's value in ``rec``, at any depth."""
    out: list[tuple[str, str, str]] = []
    for v in _objects(rec):
        value, ident = v.get("value"), v.get("id")
        if isinstance(value, str) and value.strip() and isinstance(ident, str) and KEY_VAULT_SECRET_ID.match(ident):
            out.append((KEY_VAULT_SECRET, "value", value))
    return out


def _jsonl_defined_secrets(rec: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """The values a generic JSON-lines entry holds that are secrets by definition: Secret Manager's, Key Vault's."""
    return secret_manager_defined_secrets(rec) + key_vault_defined_secrets(rec)


def _wrapped_secrets(root: Sequence[str], rec: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """_jsonl_defined_secrets of the producer's record at ``root`` in ``rec`` (a SIEM's or a shipper's wrapper)."""
    inner = producer_record(rec, root)
    return _jsonl_defined_secrets(inner) if isinstance(inner, Mapping) else []


def jsonl_format(field_map: Any) -> LogFormat:
    """The generic JSON lines format as ``field_map`` reads it: the keys of the mapped evidence fields (who, when,
    from where, what, which request) name values by design; the resource is judged as a Vault request path is,
    part by part: its segments name what was accessed (a secrets platform's "secret": "prod/db-password", a Key
    Vault URI's 32-hex version id) and are judged by a secret's own format only, its query by every detector."""
    key = tuple(dict(field_map or ()).items())
    fmt = _JSONL_FORMATS.get(key)
    if fmt is None:
        mapped = {k for name, spec in key if name in _EVIDENCE for p in field_alternatives(spec) for k in _last_keys(p)}
        resource = {k for name, spec in key if name == "resource" for p in field_alternatives(spec)
                    for k in _last_keys(p)}
        exact = "|".join(re.escape(k) for k in sorted(set(JSONL_ID_KEYS) | mapped))
        root = record_root(key)
        fmt = LogFormat("jsonl", "JSON lines", name_keys=f"{JSONL_NAME_KEYS}|\\A(?:{exact})\\Z",
                        path_keys=VAULT_PATH_KEYS | resource, resource_keys=frozenset(resource), root=root,
                        defined_secrets=_jsonl_defined_secrets if not root else partial(_wrapped_secrets, root),
                        defined_labels=(SECRET_MANAGER_SECRET, KEY_VAULT_SECRET))
        _JSONL_FORMATS[key] = fmt
    return fmt


def format_of(settings: Any) -> LogFormat:
    name = getattr(settings, "log_format", "vault")
    if name == "jsonl":
        return jsonl_format(getattr(settings, "field_map", ()))
    return FORMATS.get(name, FORMATS["vault"])


def field_sources(settings: Any) -> dict[str, str]:
    """Canonical field -> what the entries' field means and where it is read from, for messages: "who
    (auth.display_name, auth.entity_id or auth.accessor)"."""
    fmt = format_of(settings)
    mapped = dict(getattr(settings, "field_map", ()) or ())
    if fmt.name == "vault":
        paths: dict[str, tuple[str, ...]] = dict(VAULT_FIELDS)
    elif fmt.name == "cloudtrail":
        paths = dict(CLOUDTRAIL_FIELDS)
    elif fmt.name == "k8s":
        paths = {k: (v,) for k, v in K8S_FIELDS.items()}
    else:
        paths = {}
    if fmt.name != "vault":
        paths.update({k: field_alternatives(v) for k, v in mapped.items()})
    out = {}
    for name, what in _WHAT.items():
        where = paths.get(name, ())
        text = " or ".join(where) if len(where) < 3 else ", ".join(where[:-1]) + " or " + where[-1]
        out[name] = f"{what} ({text})" if text else f"{what} (no field_map entry)"
    result = paths.get("result")
    if fmt.name == "cloudtrail" and "request_id" not in mapped:
        out["request_id"] = "the request id (eventID, in every record; requestID beside it where the call has one)"
    if fmt.name == "cloudtrail":  # as offline.reader reads them: eventName names an API only with its eventSource
        if "action" not in mapped:
            out["action"] = "what action (eventName, with the eventSource it belongs to)"
        if "identity" not in mapped:
            out["identity"] = ("who (userIdentity.type, with userIdentity.arn and principalId for a user or role, "
                               "onBehalfOf.userId for an Identity Center user, principalId or userName for a SAML "
                               "or web identity user, accountId or principalId for another account; "
                               "userIdentity.invokedBy for an AWS service)")
    out["result"] = (f"the result ({' or '.join(result)})" if result and fmt.name != "vault"
                     else _RESULT.get(fmt.name, "the result (no field_map entry)"))
    return {k: out[k] for k in ("time", "identity", "resource", "action", "result", "source", "request_id")}
