"""pytest-auditready: prove a secrets vault's audit trail is audit-ready."""

__version__ = "0.1.0"
