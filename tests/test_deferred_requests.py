"""detect-secrets is imported with ``requests`` deferred (scan.deferred): a verify never loads requests, detect-secrets
still finds what it finds, and whoever imports requests afterwards gets the real package. Each test runs in a
fresh interpreter (this one imported requests already, for pytester: see conftest)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).parent.parent / "fixtures"


def _python(code: str, tmp_path: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_verify_finds_secrets_without_loading_requests(tmp_path: Path) -> None:
    log = tmp_path / "leaky.log"
    log.write_bytes((FIXTURES / "openbao" / "leaky.log").read_bytes())
    log.chmod(0o600)
    code = (
        "import contextlib, io, json, sys\n"
        "from pytest_auditready.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        f"    code = main(['verify', '--jobs', '1', '-q', {str(log)!r}])\n"
        "print(json.dumps({'code': code, 'leak': 'FAIL no_secret_leak' in out.getvalue(),\n"
        "                  'requests': 'requests' in sys.modules, 'urllib3': 'urllib3' in sys.modules}))\n"
    )
    got = _python(code, tmp_path)
    assert got == {"code": 1, "leak": True, "requests": False, "urllib3": False}


def test_requests_imported_afterwards_is_the_real_package_everywhere(tmp_path: Path) -> None:
    code = (
        "import json, sys\n"
        "from pytest_auditready.scan.secrets import GenericScanner\n"
        "with GenericScanner() as g:\n"
        "    found = bool(g.scan_value('password', 'hunter2-Xq8#vLp2!mZ'))\n"
        "stand_in = sys.modules['detect_secrets.plugins.base'].requests\n"
        "before = 'requests' in sys.modules\n"
        "import requests\n"
        "print(json.dumps({'found': found, 'before': before, 'real': requests.__spec__ is not None,\n"
        "                  'forwarded': stand_in.exceptions.RequestException is requests.exceptions.RequestException}))\n"
    )
    got = _python(code, tmp_path)
    assert got == {"found": True, "before": False, "real": True, "forwarded": True}


def test_only_the_return_annotation_gets_the_placeholder(tmp_path: Path) -> None:
    code = (
        "import json, sys\n"
        "from pytest_auditready.scan.secrets import detector_regexes\n"
        "detector_regexes()\n"
        "from pytest_auditready.scan.deferred import _Placeholder\n"
        "import detect_secrets.plugins.ibm_cloud_iam as m\n"
        "ann = m.verify_cloud_iam_api_key.__annotations__['return']\n"
        "stand_in = m.requests\n"
        "post = stand_in.post\n"  # any other name: the real package, at once
        "import requests\n"
        "print(json.dumps({'placeholder': ann is _Placeholder, 'post': post is requests.post,\n"
        "                  'response': stand_in.Response is requests.Response}))\n"
    )
    got = _python(code, tmp_path)
    assert got == {"placeholder": True, "post": True, "response": True}


def test_nothing_is_deferred_when_requests_is_imported_already() -> None:
    import requests

    from pytest_auditready.scan.deferred import deferred_requests

    with deferred_requests():
        assert sys.modules["requests"] is requests
    assert sys.modules["requests"] is requests
