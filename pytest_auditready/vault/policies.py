"""The path stanzas of a Vault/OpenBao ACL policy's text, as the audit token reads it (``sys/policies/acl/<name>``).

Only what ``log_protection`` judges is read: each ``path "PATTERN" { ... }`` and its capabilities (the legacy
``policy = "read"`` / ``"write"`` / ``"sudo"`` / ``"deny"`` as the capabilities it stands for). Parameter constraints
(``allowed_parameters`` and the like) are not read: the vault's own answer (``sys/capabilities-self``) decides what
a path grants. The text is HCL 1, read with the tokenizer of the server configuration (``vault.config``), or JSON.
"""

from __future__ import annotations

import json
from typing import Any

from .config import _HclError, _Item, _parse_body, _tokens

# The legacy ``policy`` field of a path stanza, as the capabilities it grants (Vault's policy docs).
_LEGACY = {"deny": ("deny",), "read": ("read", "list"), "write": ("create", "read", "update", "delete", "list"),
           "sudo": ("create", "read", "update", "delete", "list", "sudo")}

Grant = tuple[str, tuple[str, ...]]  # (path pattern, capabilities)


def policy_paths(text: str) -> list[Grant]:
    """(path pattern, capabilities) of each path stanza of ``text``, in their order. Raises ValueError (naming no
    part of the text) when it is no policy this reader understands."""
    body = text.strip()
    if not body:
        return []
    if body.startswith("{"):
        try:
            doc = json.loads(body)
        except ValueError as exc:
            raise ValueError(f"not JSON ({type(exc).__name__})") from None
        return _json_paths(doc)
    try:
        items = _parse_body(_tokens(text), 0, 0)[0]
    except _HclError as exc:
        raise ValueError(f"line {exc.line}: {exc.what}") from None
    out: list[Grant] = []
    for item in items:
        if item.key.lower() != "path" or item.members is None:
            continue
        if len(item.labels) == 1:  # path "PATTERN" { ... }
            out.append((item.labels[0], _capabilities(text, item.body)))
        elif not item.labels:  # path { "PATTERN" { ... } } or path = { "PATTERN" = { ... } }
            out += [(sub.key, _capabilities(text, sub.members)) for sub in item.body if sub.members is not None]
    return out


def _capabilities(text: str, body: list[_Item]) -> tuple[str, ...]:
    caps: list[str] = []
    for sub in body:
        key = sub.key.lower()
        if key == "capabilities" and sub.members is None and sub.value is None:  # a list: its strings
            caps += [json.loads(t.text) for t in _tokens(text[sub.start:sub.end]) if t.kind == "str"]
        elif key == "policy" and sub.value is not None and sub.value.kind == "str":
            caps += _LEGACY.get(str(json.loads(sub.value.text)).lower(), ())
    return tuple(dict.fromkeys(str(c).lower() for c in caps))


def _json_paths(doc: Any) -> list[Grant]:
    paths = doc.get("path") if isinstance(doc, dict) else None
    blocks = paths if isinstance(paths, list) else [paths] if isinstance(paths, dict) else []
    out: list[Grant] = []
    for block in blocks:
        for pattern, rule in (block.items() if isinstance(block, dict) else ()):
            rules = rule if isinstance(rule, list) else [rule]
            caps: list[str] = []
            for r in (r for r in rules if isinstance(r, dict)):
                listed = r.get("capabilities")
                caps += [str(c) for c in listed] if isinstance(listed, list) else []
                legacy = r.get("policy")
                caps += _LEGACY.get(str(legacy).lower(), ()) if isinstance(legacy, str) else ()
            out.append((str(pattern), tuple(dict.fromkeys(c.lower() for c in caps))))
    return out
