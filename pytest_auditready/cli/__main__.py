"""`python -m pytest_auditready.cli`: the auditready command."""

import sys

from . import main

sys.exit(main())
