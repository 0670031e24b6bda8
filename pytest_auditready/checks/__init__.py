"""The built-in checks, one module per check id (ids are forever)."""

from __future__ import annotations

from . import (
    access_policy,
    completeness,
    data_minimisation,
    denied_access_logged,
    fail_closed,
    integrity_digest,
    log_protection,
    no_secret_leak,
    required_fields,
    retention,
    tamper_evidence,
    timestamp_accuracy,
    timestamp_precision,
)
from .base import Check

BUILTIN: tuple[Check, ...] = tuple(
    m.CHECK
    for m in (
        completeness,
        required_fields,
        timestamp_precision,
        timestamp_accuracy,
        no_secret_leak,
        integrity_digest,
        denied_access_logged,
        log_protection,
        tamper_evidence,
        retention,
        data_minimisation,
        access_policy,
        fail_closed,
    )
)
