"""Audit-log model, readers and sources."""
