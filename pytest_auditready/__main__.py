"""`python -m pytest_auditready`: the auditready command."""

from .cli import run

run()
