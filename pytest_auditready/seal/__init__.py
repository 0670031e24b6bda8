"""Tamper evidence for JSON-lines audit logs: a signed digest chain beside the log (``LOG.digests``), the
sealer that writes it, its verifier, and a verifier for AWS CloudTrail digest files. No pytest here."""

from __future__ import annotations

from .chain import digests_path_for, key_id, load_private_key, load_public_key, write_keypair
from .sealer import Sealer, SealSummary, seal
from .verify import Problem, SealReport, verify_log

__all__ = [
    "Problem",
    "SealReport",
    "SealSummary",
    "Sealer",
    "digests_path_for",
    "key_id",
    "load_private_key",
    "load_public_key",
    "seal",
    "verify_log",
    "write_keypair",
]
