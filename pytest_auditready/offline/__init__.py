"""Offline verification of exported audit logs: streaming readers and the engine that feeds the checks' visitors."""
