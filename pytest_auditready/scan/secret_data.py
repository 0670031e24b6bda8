"""A secret's data written in clear in a Vault/OpenBao entry, whatever its key or shape.

The vault HMACs every string of a request's and a response's data (OpenBao and Vault docs, "Audit devices": "the
values of the strings are hashed with a salt"), unless a mount is tuned to leave keys in clear
(``audit_non_hmac_request_keys`` / ``_response_keys``, sys/mounts/<mount>/tune) or the device logs raw. On some
paths every value of that data is the secret itself, whatever its key is called and however short it is (a PIN, a
word: no detector would name it):

- a KV (or its old name, generic) mount's secret: version 1's data, version 2's ``data.data`` on ``<mount>/data/``
  (written, patched, read), but for a key that names who (``IDENTITY_KEY``: a username beside its password); KV
  version 2's other endpoints (metadata, config, delete, undelete, destroy, subkeys) carry no secret value;
- a cubbyhole's data (a namespace's cubbyhole is typed ns_cubbyhole);
- what sys/wrapping/wrap is asked to wrap, and what sys/wrapping/unwrap answers.

A number there is in clear on every vault, tuned or not ("only strings ... are HMAC'd. Other data types, like
integers, booleans, and so on, are passed through in plaintext": Vault's audit device docs): a PIN written as 4821
is judged as a string is; a boolean, one bit, is not, nor a number under a key that names a setting (a port).

log_protection fails such a tuning of a KV mount on a live vault ("on a KV mount every value is a secret"); here
the log itself shows it. A value is named by its key and fingerprint, never shown.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterator, NamedTuple, Optional

from ..auditlog.formats import VAULT_NAME_KEYS
from . import native

KIND = "Vault Secret Data"
_KV = frozenset({"kv", "generic"})
# the keys of version 2's answers and requests that are no secret's data: a version's metadata (created_time,
# custom_metadata, deletion_time, destroyed, version), a write's options (cas), the mount's and a secret's settings
# (OpenBao's metadata answer adds current_metadata_version and metadata_cas_required, red team rt43 F4; its metadata
# write takes metadata_cas, the check-and-set of the metadata's version: rt46 F7)
_V2_KEYS = frozenset({"cas_required", "created_time", "current_version", "custom_metadata", "delete_version_after",
                      "deletion_time", "destroyed", "max_versions", "metadata", "oldest_version", "options",
                      "subkeys", "updated_time", "version", "versions", "data", "current_metadata_version",
                      "metadata_cas_required", "metadata_cas", "created_by", "last_updated_by"})
# A number under a key that names a setting, an id or a time (a port, a timeout, a count, a size, a limit, a rate, a
# level, an account's or a user's id, an epoch time): configuration kept beside a secret (Terraform's data_json =
# jsonencode({port = 5432})), no secret however it is logged. A PIN, a code, an OTP is judged (a card number too,
# and by data_minimisation).
_SETTING_WORDS = (
    "port|ttl|timeout|interval|retry|retries|attempts|count|size|limit|replicas|workers|threads|priority|weight|index"
    "|db|database|pool|backoff|concurrency|batch|rate|qps|rps|burst|shards?|partitions?|level|verbosity|year|duration"
    "|delay|offset|length|capacity|quota|threshold|percent|ratio|id|uid|gid|at|epoch|seconds|secs|ms|minutes|hours"
    "|days|expiry|expires|version"
    # times and lifetimes (an OAuth token answer's expires_in, a number by RFC 6749 5.1; a JWT's exp, iat, nbf) and a
    # key derivation's or a network's settings (red team rt49 F5)
    "|time|timestamp|date|created|updated|modified|expiration|expires_?in|exp|iat|nbf|not_?before|not_?after|month"
    "|iterations|rounds|cost|bits|mtu|cpus?|memory|mem|mb|gb|kb|mib|gib|bytes")
_SETTING_NUMBER = re.compile(
    rf"(?:\A|[_.-]|(?<=[a-z0-9])(?=[A-Z]))(?i:{_SETTING_WORDS})s?\Z"
    # a max or min prefix: max_conns, MAX_CONNS, maxConns; not the first letters of a word (MINIO_ROOT_PASSWORD:
    # red team rt49 F1)
    r"|\A(?i:max|min)(?:[_.-]|\Z)|\A(?:max|min|Max|Min)(?=[A-Z0-9])")
# A number no secret is written as: a fraction or an exponent (a model's temperature 0.7, a sample rate), or fewer
# than three digits (a 0/1 flag, a count of CPUs: red team rt46 F5). A PIN, a CVV, a code, an account's number is a
# whole number of three digits or more.
_NO_SECRET_NUMBER = re.compile(r"-?(?:[0-9]{1,2}\Z|[0-9]*[.eE])")
# a version 2 metadata answer whatever else a newer vault adds to it
_V2_METADATA = frozenset({"current_version", "oldest_version", "versions"})
# what each of version 2's other endpoints is asked and answers (OpenBao API docs, "KV secrets engine - version 2"):
# config takes no sub-path; delete, undelete and destroy take versions; subkeys answers subkeys and metadata. A
# version 1 secret at such a path with other keys is a secret ({"data": 73104829} at kv1/config/app: red team rt49
# F7); metadata/ is judged by all of version 2's keys, as a newer vault adds to its answer.
_V2_ENDPOINT_KEYS = {
    "config": frozenset({"max_versions", "cas_required", "delete_version_after"}),
    "delete": frozenset({"versions"}), "undelete": frozenset({"versions"}), "destroy": frozenset({"versions"}),
    "subkeys": frozenset({"subkeys", "metadata"}),
}
# the keys under which the vault writes a number of its own beside a secret (version 2's options.cas, a version's
# number; a raw answer's http_status_code, a KV 404; the lease hint KV version 1 reads from "ttl"): no secret's
_OWN_NUMBERS = frozenset({"cas", "version", "current_version", "oldest_version", "max_versions",
                          "current_metadata_version", "metadata_cas", "http_status_code", "ttl"})
# A key that names who a secret belongs to, not the secret: a login name beside its password (a database's
# username). Teams tune such keys to read the log; a secret it is not.
IDENTITY_KEY = re.compile(VAULT_NAME_KEYS)  # (searched)
_CUBBYHOLE = frozenset({"cubbyhole", "ns_cubbyhole"})
# (and an escape, "\u0064ata" or "sys\/wrapping": it may spell any key or value; Go writes neither, so such a line
# is rare)
_GATE = (rb'"mount_type"[ \t\r]*:[ \t\r]*"(?:kv|generic|(?:ns_)?cubbyhole)"', rb"sys/wrapping/", rb"\\[u/]")
# what the vault writes in clear by design, whole: nothing, a digest, an RFC 3339 time (a version's created_time)
_BY_DESIGN = re.compile(r"[\s\\]*\Z|hmac-sha256:[0-9a-f]{64}\Z"
                        # a real date and time, up to nanoseconds, as the vault writes one (RFC 3339's ranges: not a
                        # secret shaped like one, 9999-99-99 or digits in a long fraction: red team rt46 F8)
                        r"|[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9]"
                        r":(?:[0-5][0-9]|60)(?:\.[0-9]{1,9})?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])\Z")


def candidate_lines(data: bytes) -> list[int]:
    """The starts of the lines of ``data`` (whole lines) that may hold secret data in clear: by the C extension's
    gate when it is built (``secret_data_lines``), else every line on such a mount or path or that names no mount
    type before its data (``_unnamed_mount``); and every line with a \\u escape, which may spell a key or a value
    the gates look for."""
    lib = native.lib
    if lib is not None and hasattr(lib, "secret_data_lines"):
        return list(lib.secret_data_lines(data))
    from .hyperscan import match_ends

    ends = match_ends(_GATE)
    found = ends(data) if ends is not None else [m.end() for rx in _GATE for m in re.finditer(rx, data)]
    starts = {data.rfind(b"\n", 0, end) + 1 for end in found}
    at = 0
    for ln in data.split(b"\n"):  # lines that name no mount type before their data (as the C gate)
        dt = ln.find(b'"data"')
        if dt >= 0 and not 0 <= ln.find(b'"mount_type"') < dt:
            starts.add(at)
        at += len(ln) + 1
    return sorted(starts)


def _scalars(value: Any, path: str, key: str) -> Iterator[tuple[str, str, str, bool]]:
    """Every string and number in ``value`` (at any depth, in order; no recursion: a vault takes data nested
    10,000 deep): (the path of keys it sits under from the region's top, the key it sits under, its text, whether
    it is a number). A list's items sit under the list's key."""
    stack: list[tuple[Any, str, str]] = [(value, path, key)]
    while stack:
        v, at, k = stack.pop()
        if isinstance(v, str):
            yield at, k, v, False
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            yield at, k, json.dumps(v), True
        elif isinstance(v, dict):
            stack.extend((inner, f"{at}.{name}", str(name)) for name, inner in reversed(list(v.items())))
        elif isinstance(v, list):
            stack.extend((inner, at, k) for inner in reversed(v))


def _v2_other(first: str, rel: str, data: dict[str, Any]) -> bool:
    """Whether ``data``, at ``rel`` within a KV mount (``first``: its first segment), is what one of version 2's
    endpoints other than a secret's data is asked or answers."""
    keys = set(data)
    if first == "config":
        return rel.rstrip("/") == "config" and keys <= _V2_ENDPOINT_KEYS["config"]
    if first in _V2_ENDPOINT_KEYS:
        return keys <= _V2_ENDPOINT_KEYS[first]
    return first in ("metadata", "data") and (keys <= _V2_KEYS or _V2_METADATA <= keys)


def _unnamed_mount(path: str, sides: list[tuple[str, Any]]) -> tuple[Optional[str], Optional[str]]:
    """The mount type and point of an entry that names no mount type (Vault before 1.5 wrote none: hashicorp/vault
    PR 9167; a hop may drop it), where its path or data tells: the cubbyhole is always at cubbyhole/ (it cannot be
    moved or enabled twice: Vault's cubbyhole docs); a KV version 2 secret is written as {"data": {...}} (and
    "options") and read as {"data": {...}, "metadata": {"version": ...}} under <mount>/data/. A version 1 secret
    cannot be told from another endpoint's data."""
    if path.startswith("cubbyhole/"):
        return "cubbyhole", "cubbyhole/"
    if "/data/" not in path:
        return None, None
    for side, obj in sides:
        data = obj.get("data") if isinstance(obj, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("data"), dict):
            continue
        if (side == "request" and set(data) <= {"data", "options"}) or (side == "response" and _kv2_read(data)):
            return "kv", path[:path.index("/data/") + 1]
    return None, None


def _kv2_read(data: dict[str, Any]) -> bool:
    """Whether ``data`` (a response's) is what KV version 2 answers a read with: the secret in data, and its
    version's metadata."""
    meta = data.get("metadata")
    return isinstance(data.get("data"), dict) and isinstance(meta, dict) and "version" in meta


def _regions(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], bool]]:
    """The objects of the entry that are a secret's data: (where, object, whether its numbers are the secret's:
    not in what sys/wrapping/unwrap answers, which may be any endpoint's answer, its settings' numbers too)."""
    req = doc.get("request")
    if not isinstance(req, dict) or req.get("operation") == "list":
        return
    resp = doc.get("response")
    sides = [("request", req)] + ([("response", resp)] if isinstance(resp, dict) else [])
    path = req.get("path")
    path = path if isinstance(path, str) else ""
    kind = req.get("mount_type") or (resp.get("mount_type") if isinstance(resp, dict) else None)
    mount = req.get("mount_point") or (resp.get("mount_point") if isinstance(resp, dict) else None)
    if kind is None and "mount_type" not in req and not (isinstance(resp, dict) and "mount_type" in resp):
        kind, mount = _unnamed_mount(path, sides)
    if kind in _KV:
        # In a namespace the path is the namespace's own and the mount point is written from the root
        # ("team/kv/metadata/app" on "ns1/team/kv/": red team rt43 F4)
        space = req.get("namespace")
        space = space.get("path") if isinstance(space, dict) else None
        if isinstance(mount, str) and isinstance(space, str) and space and mount.startswith(space):
            mount = mount[len(space):]
        rel = path[len(mount):] if isinstance(mount, str) and mount and path.startswith(mount) else \
            path.partition("/")[2]
        first = rel.partition("/")[0]
        for side, obj in sides:
            data = obj.get("data")
            if not isinstance(data, dict) or not data:
                continue
            if first == "data" and isinstance(data.get("data"), dict):  # version 2: the secret in data.data
                yield f"{side}.data.data", data["data"], True
                rest = {k: v for k, v in data.items() if k not in _V2_KEYS}
                if rest:  # beside it, no key of version 2's own: a version 1 secret at data/..., its other keys
                    yield f"{side}.data", rest, True
            elif _v2_other(first, rel, data):
                continue  # version 2's metadata, settings, versions
            else:  # version 1 (or generic): the data is the secret
                yield f"{side}.data", data, True
    elif kind in _CUBBYHOLE:
        for side, obj in sides:
            if isinstance(obj.get("data"), dict):
                yield f"{side}.data", obj["data"], True
    elif path == "sys/wrapping/wrap" and isinstance(req.get("data"), dict):
        yield "request.data", req["data"], True
    elif path == "sys/wrapping/unwrap" and isinstance(resp, dict) and isinstance(resp.get("data"), dict):
        data = resp["data"]
        if _kv2_read(data):  # a KV version 2 read it wrapped (kv get -wrap-ttl): its own numbers too (rt49 F4)
            yield "response.data.data", data["data"], True
        else:
            yield "response.data", data, False


class ClearValue(NamedTuple):
    """A value of a secret's data written in clear."""

    where: str  # the object holding the secret's data: "request.data.data", "response.data"...
    path: str  # the keys to the value from that object's top, joined by "." ("db.password")
    key: str  # the key the value sits under ("password"; a list's items sit under the list's key)
    value: str  # as text (a number as JSON writes it)
    number: bool  # a JSON number, which the vault writes as it is whatever the tuning


def clear_values(doc: Optional[dict[str, Any]]) -> list[ClearValue]:
    """The secret data ``doc`` (a parsed Vault/OpenBao entry) holds in clear, where the vault writes a digest, or, for
    a number, where it writes it as it is. Empty strings, digests and RFC 3339 times (a version's created_time) are
    no value; a key that names who (IDENTITY_KEY) holds none, at any depth."""
    if doc is None:
        return []
    out: list[ClearValue] = []
    for where, region, numbers in _regions(doc):
        for top, value in region.items():
            for path, key, v, number in _scalars(value, top, top):
                if not number:
                    if IDENTITY_KEY.search(key):
                        continue
                elif (key in _OWN_NUMBERS or not numbers or _SETTING_NUMBER.search(key)
                      or _NO_SECRET_NUMBER.match(v)):  # (a number is no one's name: red team rt46 F4)
                    continue
                if _BY_DESIGN.match(v) is None:
                    out.append(ClearValue(where, path, key, v, number))
    return out
