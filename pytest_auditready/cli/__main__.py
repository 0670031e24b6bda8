"""`python -m pytest_auditready.cli`: the auditready command."""

from . import run

run()
