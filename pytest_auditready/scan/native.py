"""The optional C extension (``pytest_auditready._native``, built from ``_native.c`` by setup.py), or None.

Every function of it has a pure-Python (or Hyperscan) equivalent in the package, which stays the reference: the
extension is used when it was built and imports, unless AUDITREADY_PURE_PYTHON=1 asks for the pure path (the
tests run both and compare). Callers look ``lib`` up when they set up (a scanner, a reader), not per line.
"""

from __future__ import annotations

import os
from typing import Any, Optional

PURE_ENV = "AUDITREADY_PURE_PYTHON"


def load() -> Optional[Any]:
    """The extension module, or None when it is absent, fails to import, or PURE_ENV is set (to anything but ""
    or "0")."""
    if os.environ.get(PURE_ENV, "") not in ("", "0"):
        return None
    import importlib

    try:
        return importlib.import_module("pytest_auditready._native")
    except ImportError:
        return None


lib: Optional[Any] = load()


# data_minimisation's prefilters as ``_native.dm_lines`` implements them (bit i: the i-th detector here). The check
# uses the C pass only while its PREFILTERS are exactly these: a changed pattern falls back to Hyperscan.
DM_PREFILTERS: dict[str, tuple[bytes, ...]] = {
    "card": (rb"(?:^|[^0-9A-Za-z]|\\[A-Za-z]|\\u[0-9A-Fa-f]{4})\d{13}",
             rb"(?:^|[^0-9A-Za-z\-]|\\[A-Za-z]|\\u[0-9A-Fa-f]{4})\d{4}[ \-]\d{4,6}[ \-]\d{4}"),
    "email": (rb"@[A-Za-z0-9\-]+\.", rb"%40[A-Za-z0-9\-]+\."),
    "phone": (rb"\+[1-9][\d ().\-]{6}", rb"\(\d{3}\) ?\d{3}[\-.]\d{4}", rb"\d{3}[\-.]\d{3}[\-.]\d{4}"),
    "iban": (rb"[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2}",),
    "national_id": (rb"\d{3}-\d{2}-\d{4}", rb"[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]"),
}
DM_BITS = {name: 1 << i for i, name in enumerate(DM_PREFILTERS)}
# ... and its ENCODED_PREFILTERS, which ``dm_lines`` looks for too when DM_ENCODED_BIT is in its mask.
_DM_ESCAPE = rb"\\u00(?:2[0-57-9a-fA-F]|3[0-9abdfABDF]|[4-6][0-9a-fA-F]|7[0-9a-eA-E])"
_DM_SPACE = rb"(?:\+|%20)"
DM_ENCODED: dict[str, tuple[bytes, ...]] = {
    "card": (_DM_ESCAPE, rb"\d{4}" + _DM_SPACE + rb"\d{4,6}" + _DM_SPACE + rb"\d{4}"),
    "email": (_DM_ESCAPE,),
    "phone": (_DM_ESCAPE, rb"%2[bB][1-9]", rb"%28\d{3}%29", rb"\+[1-9]\d{0,3}" + _DM_SPACE + rb"\(?\d",
              rb"\d{3}" + _DM_SPACE + rb"\d{3}[\-.]\d{4}"),
    "iban": (_DM_ESCAPE, rb"[A-Z]{2}\d{2}" + _DM_SPACE + rb"[A-Z0-9]{4}" + _DM_SPACE + rb"[A-Z0-9]{4}"),
    "national_id": (_DM_ESCAPE, rb"[A-Z]{2}" + _DM_SPACE + rb"\d{2}" + _DM_SPACE + rb"?\d{2}"),
}
DM_ENCODED_BIT = 32
