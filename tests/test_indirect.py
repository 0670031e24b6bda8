"""scan.indirect's is_indirect_reference gives detect-secrets' answer, in linear time (red team rt101)."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

from detect_secrets.filters.heuristic import is_indirect_reference as reference

from pytest_auditready.scan.indirect import is_indirect_reference

# A KV v2 write's request entry as OpenBao 2.7.2 wrote it, its data replaced by the test
_KV_WRITES = Path(__file__).resolve().parent.parent / "fixtures" / "openbao" / "rt101-values" / "kv-keys.log"


def test_every_short_line_of_the_characters_that_matter_gets_detect_secrets_answer() -> None:
    """Every line of up to 7 of an operator, a blank, a word character, brackets and a vertical tab, and random
    lines of up to 24 characters with Unicode word and space characters: the same answer as detect-secrets."""
    for size in range(8):
        for chars in itertools.product("a: =(]\v", repeat=size):
            line = "".join(chars)
            assert is_indirect_reference(line) == reference(line), repr(line)
    rnd = random.Random(101)
    alphabet = "a_.-: =!([])\v\t\"x\u00e9\u0660\u2028"
    found = 0
    for _ in range(50_000):
        line = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 24)))
        assert is_indirect_reference(line) == reference(line), repr(line)
        found += reference(line)
    assert found > 1_000  # both answers were seen often


def test_the_documented_forms_and_the_bound() -> None:
    """detect-secrets' own examples are references; a plain pair is not; past 1,000 characters nothing is."""
    assert is_indirect_reference("secret = get_secret_key()")
    assert is_indirect_reference("secret = request.headers['apikey']")
    assert is_indirect_reference('password: os.environ["KEY"]')
    assert not is_indirect_reference('{"password": "os.environ[KEY]"}')  # a quote before the run, not an operator
    assert not is_indirect_reference("secret = get_secret_key(\v)")
    long = "secret = get(" + "x" * 990 + ")"
    assert reference(long) is False and is_indirect_reference(long) is False



def test_the_scanners_settings_use_it_in_place_of_detect_secrets_own() -> None:
    """Inside the scanner's settings, detect-secrets runs this filter and not its own expression (whose cost on a
    KV write of 450 keys of 700 characters was 13 s a line, red team rt101)."""
    from detect_secrets.settings import get_filters

    from pytest_auditready.scan.secrets import INDIRECT_FILTER, OWN_INDIRECT_FILTER, held

    with held():
        paths = {getattr(f, "path", "") for f in get_filters()}
    assert OWN_INDIRECT_FILTER in paths and INDIRECT_FILTER not in paths, paths


def test_a_write_of_many_long_keys_is_judged_as_before(tmp_path: Path) -> None:
    """A KV write of 200 keys of 900 characters, as a real OpenBao writes it (digested values, plain names): no
    finding, and no hang (a deadline against one, not a timing: speed is bench/'s to measure)."""
    import subprocess
    import sys

    entry = json.loads(_KV_WRITES.read_text().splitlines()[0])
    assert entry["type"] == "request" and entry["request"]["operation"] in ("create", "update")
    entry["request"]["data"] = {"data": {f"f{i:04d}_" + "k" * 900: "hmac-sha256:" + "ab" * 32 for i in range(200)}}
    log = tmp_path / "audit.log"
    log.write_text(json.dumps(entry, separators=(",", ":")) + "\n")
    log.chmod(0o600)
    r = subprocess.run([sys.executable, "-m", "pytest_auditready.cli", "verify", str(log), "--jobs", "1"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert "PASS no_secret_leak" in r.stdout and "Traceback" not in r.stderr, r.stdout[-2000:] + r.stderr[-2000:]
