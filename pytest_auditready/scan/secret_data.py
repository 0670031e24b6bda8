"""A secret's data written in clear in a Vault/OpenBao entry, whatever its key or shape.

The vault HMACs every string of a request's and a response's data (OpenBao and Vault docs, "Audit devices": "the
values of the strings are hashed with a salt"), unless a mount is tuned to leave keys in clear
(``audit_non_hmac_request_keys`` / ``_response_keys``, sys/mounts/<mount>/tune) or the device logs raw. On some
paths every value of that data is the secret itself, whatever its key is called and however short it is (a PIN, a
word: no detector would name it):

- a KV (or its old name, generic) mount's secret: version 1's data, version 2's ``data.data`` on ``<mount>/data/``
  (written, patched, read), but for a key that names who (``IDENTITY_KEY``: a username beside its password); KV
  version 2's other endpoints (metadata, config, delete, undelete, destroy, subkeys) carry no secret value;
- a cubbyhole's data;
- what sys/wrapping/wrap is asked to wrap, and what sys/wrapping/unwrap answers.

log_protection fails such a tuning of a KV mount on a live vault ("on a KV mount every value is a secret"); here
the log itself shows it. A value is named by its key and fingerprint, never shown.
"""

from __future__ import annotations

import re
from typing import Any, Iterator, Optional

from ..auditlog.formats import VAULT_NAME_KEYS
from . import native

KIND = "Vault Secret Data"
_KV = frozenset({"kv", "generic"})
# KV version 2's endpoints besides data/ (OpenBao API docs, "KV secrets engine - version 2"): none carries a
# secret's value; a version 1 secret of such a name is told from them by its keys (_V2_KEYS)
_KV2_OTHER = frozenset({"metadata", "config", "delete", "undelete", "destroy", "subkeys"})
# the keys of version 2's answers and requests that are no secret's data: a version's metadata (created_time,
# custom_metadata, deletion_time, destroyed, version), a write's options (cas), the mount's and a secret's settings
_V2_KEYS = frozenset({"cas_required", "created_time", "current_version", "custom_metadata", "delete_version_after",
                      "deletion_time", "destroyed", "max_versions", "metadata", "oldest_version", "options",
                      "subkeys", "updated_time", "version", "versions", "data"})
# A key that names who a secret belongs to, not the secret: a login name beside its password (a database's
# username). Teams tune such keys to read the log; a secret it is not.
IDENTITY_KEY = re.compile(VAULT_NAME_KEYS)
# (and a \u escape: it may spell any key or value, "\u0064ata"; Go writes none of a letter, so such a line is rare)
_GATE = (rb'"mount_type"[ \t\r]*:[ \t\r]*"(?:kv|generic|cubbyhole)"', rb"sys/wrapping/", rb"\\u")
_BY_DESIGN = re.compile(r"[\s\\]*\Z|hmac-sha256:|[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ]")


def candidate_lines(data: bytes) -> list[int]:
    """The starts of the lines of ``data`` (whole lines) that may hold secret data in clear: by the C extension's
    gate when it is built (``secret_data_lines``), else every line on such a mount or path; and every line with a
    \\u escape, which may spell a key or a value the gates look for."""
    lib = native.lib
    if lib is not None and hasattr(lib, "secret_data_lines"):
        return list(lib.secret_data_lines(data))
    from .hyperscan import match_ends

    ends = match_ends(_GATE)
    found = ends(data) if ends is not None else [m.end() for rx in _GATE for m in re.finditer(rx, data)]
    return sorted({data.rfind(b"\n", 0, end) + 1 for end in found})


def _strings(value: Any, key: str) -> Iterator[tuple[str, str]]:
    """Every string in ``value`` (at any depth) with the key it sits under at the region's top."""
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v, key)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v, key)


def _regions(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The objects of the entry that are a secret's data: (where, object)."""
    req = doc.get("request")
    if not isinstance(req, dict) or req.get("operation") == "list":
        return
    resp = doc.get("response")
    sides = [("request", req)] + ([("response", resp)] if isinstance(resp, dict) else [])
    path = req.get("path")
    path = path if isinstance(path, str) else ""
    kind = req.get("mount_type") or (resp.get("mount_type") if isinstance(resp, dict) else None)
    mount = req.get("mount_point") or (resp.get("mount_point") if isinstance(resp, dict) else None)
    if kind in _KV:
        rel = path[len(mount):] if isinstance(mount, str) and mount and path.startswith(mount) else \
            path.partition("/")[2]
        first = rel.partition("/")[0]
        for side, obj in sides:
            data = obj.get("data")
            if not isinstance(data, dict) or not data:
                continue
            if first == "data" and isinstance(data.get("data"), dict):  # version 2: the secret in data.data
                yield f"{side}.data.data", data["data"]
            elif (first in _KV2_OTHER or first == "data") and set(data) <= _V2_KEYS:
                continue  # version 2's metadata, settings, versions
            else:  # version 1 (or generic): the data is the secret
                yield f"{side}.data", data
    elif kind == "cubbyhole":
        for side, obj in sides:
            if isinstance(obj.get("data"), dict):
                yield f"{side}.data", obj["data"]
    elif path == "sys/wrapping/wrap" and isinstance(req.get("data"), dict):
        yield "request.data", req["data"]
    elif path == "sys/wrapping/unwrap" and isinstance(resp, dict) and isinstance(resp.get("data"), dict):
        yield "response.data", resp["data"]


def clear_values(doc: Optional[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """The secret data ``doc`` (a parsed Vault/OpenBao entry) holds in clear: (where, key, value), where the
    vault writes a digest. Empty strings, digests and RFC 3339 times (a version's created_time) are no value; a key
    that names who (IDENTITY_KEY) holds none."""
    if doc is None:
        return []
    out: list[tuple[str, str, str]] = []
    for where, region in _regions(doc):
        for key, value in region.items():
            if IDENTITY_KEY.match(key):
                continue
            for _, v in _strings(value, key):
                if _BY_DESIGN.match(v) is None:
                    out.append((where, key, v))
    return out
