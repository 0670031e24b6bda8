"""`python -m pytest_auditready`: the auditready command."""

import sys

from .cli import main

sys.exit(main())
