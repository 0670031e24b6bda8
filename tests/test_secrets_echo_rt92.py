"""No secret in any output, in the forms a blind red team found echoed (rt92 F1-F7, F11).

F1: a URL whose password holds a "/" (AWS's documented secret access key does) was shown whole: RFC 3986 reads the
"/" as the path's start, and the user:password@ check stopped there. F2: a failing command's stderr showed an AWS
secret key after AWS_SECRET_ACCESS_KEY=, a GitHub classic token and a Slack token. F3, F4, F6: a known value written
percent-encoded ("%2E"), as HTML character references, or in part (not from its first character) was quoted as the
key or field it was found in. F5: a refused file's quoted start showed most of a Slack token and a DSN's password.
F7: evidence.json lost its true/false literals to a "Secret Keyword" mask ("x-api-key": true,). F11: a library's
warnings were printed around the one-line refusal."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

from pytest_auditready.auditlog.detect import _show
from pytest_auditready.auditlog.sources import blank_secrets
from pytest_auditready.cli import main
from pytest_auditready.config import strip_userinfo
from pytest_auditready.report.common import masked_tokens
from pytest_auditready.text import redact, userinfo_end
from tests.test_blind_sources import command_error

ROOT = Path(__file__).resolve().parents[1]
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # AWS's documented example (IAM User Guide)
GHP = "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"
SLACK = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"  # the shape Slack's docs show
CANARY = "q7Wm2Rx9Lk4Tz8Vn3Bp6Hs1Jd5Fg0Yc"
TOKEN = "s.tYFZMQk3Qt194Zq7bhQesSrr"


def _decoded(text: str) -> str:
    """``text`` with every layer of percent-encoding, HTML references and \\u escapes a reader could undo undone."""
    for _ in range(4):
        text = html.unescape(urllib.parse.unquote(re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m[1], 16)),
                                                         text)))
    return text


def _pieces_of(text: str, value: str, n: int = 12) -> list[str]:
    """The runs of ``n`` characters of ``value`` that ``text``, decoded, shows."""
    shown = _decoded(text)
    return [value[i:i + n] for i in range(len(value) - n + 1) if value[i:i + n] in shown]


# -- F1 ---------------------------------------------------------------------------------------------------------------
URLS = [f"s3://AKIAIOSFODNN7EXAMPLE:{AWS_SECRET}@my-bucket/audit.log", f"gs://svc:{AWS_SECRET}@bucket/x.log",
        f"az://acct:{AWS_SECRET}==@container/x", f"https://admin:{AWS_SECRET}@host/x.log"]


@pytest.mark.parametrize("url", URLS, ids=["s3", "gs", "az", "https"])
@pytest.mark.parametrize("command", ["verify", "access"])
def test_a_password_holding_a_slash_is_never_shown(capsys: pytest.CaptureFixture[str], url: str,
                                                   command: str) -> None:
    args = ["access", "secret/*", url] if command == "access" else ["verify", url]
    assert main(args) == 2
    out = capsys.readouterr()
    said = out.out + out.err
    assert len(out.err.strip().splitlines()) == 1, said
    assert not _pieces_of(said, AWS_SECRET, 8), said
    if not url.startswith("https"):
        assert "user name and password" in said, said


def test_where_a_urls_userinfo_ends() -> None:
    assert userinfo_end(URLS[0]) == URLS[0].index("@") + 1
    assert userinfo_end("s3://bucket/alice@example.com.log") == -1  # an e-mail address in an object key
    assert userinfo_end("https://vault:8200/v1/auth/userpass/login/alice@example.com") == -1  # a host's port
    assert strip_userinfo(f"https://admin:{AWS_SECRET}@vault.example:8200") == ("https://vault.example:8200", True)


# -- F2 ---------------------------------------------------------------------------------------------------------------
STDERR = (f"fatal: {GHP} rejected", f"slack: invalid_auth for {SLACK}", f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}")


def test_a_failing_commands_credentials_are_blanked(tmp_path: Path) -> None:
    script = tmp_path / "fail.sh"
    script.write_text("".join(f"echo '{ln}' >&2\n" for ln in STDERR) + "exit 1\n")
    text = command_error(f"sh {script}")
    assert "exited with status 1" in text and "AWS_SECRET_ACCESS_KEY=" in text, text
    for secret in (AWS_SECRET, GHP, SLACK):
        assert not _pieces_of(text, secret), text


def test_a_key_of_no_known_shape_alone_is_blanked() -> None:
    said = blank_secrets(f"the key {AWS_SECRET} was refused", {})
    assert not _pieces_of(said, AWS_SECRET, 6) and said.startswith("the key <"), said


def test_blanking_keeps_a_commands_plain_words() -> None:
    said = ("error: You must be logged in to the server (Unauthorized) | open /var/log/vault/audit.log: permission "
            "denied at 2026-03-02T10:00:00.123Z")
    assert blank_secrets(said, {}) == said


# -- F3, F4, F6 -------------------------------------------------------------------------------------------------------
def _entities(text: str) -> str:
    return "".join(f"&#{ord(c)};" for c in text)


def _pair(**change: str) -> list[str]:
    """The first request answered of a real OpenBao log and its response, with ``change`` made to both."""
    entries = [json.loads(ln) for ln in (ROOT / "fixtures/openbao/rt72/openbao-2.7.2.log").read_text().splitlines()]
    done = {e["request"].get("id") for e in entries if e["type"] == "response"}
    req = next(e for e in entries if e["type"] == "request" and e["request"].get("id") in done
               and e["request"].get("remote_address"))
    resp = next(e for e in entries if e["type"] == "response" and e["request"].get("id") == req["request"]["id"])
    for e in (req, resp):
        for key, value in change.items():
            if key == "data":  # a key a client chose, holding the canary: the finding names the key
                e["request"]["data"] = {value: CANARY}
            else:
                e["request"][key] = value
    return [json.dumps(req), json.dumps(resp)]


CASES = {
    "token-key-percent": {"data": TOKEN.replace(".", "%2E")},
    "token-key-entities": {"data": _entities(TOKEN)},
    "canary-address-entities": {"remote_address": _entities(CANARY)},
    "canary-split": {"path": "secret/data/" + CANARY[:16], "remote_address": CANARY[16:]},
    "token-tail-key": {"data": TOKEN[-18:]},
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_known_value_in_disguise_is_never_quoted(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   case: str) -> None:
    log = tmp_path / "audit.log"
    log.write_text("".join(ln + "\n" for ln in _pair(**CASES[case])))
    log.chmod(0o600)
    canaries = tmp_path / "canaries.txt"
    canaries.write_text(f"{CANARY}\n{TOKEN}\n")
    out = tmp_path / "out"
    main(["verify", str(log), "--canaries", str(canaries), "--json", str(out / "r.json"), "--junit",
          str(out / "j.xml"), "--sarif", str(out / "s.sarif"), "--evidence", str(out / "ev")])
    texts = {"terminal": capsys.readouterr().out}
    texts.update({p.name: p.read_text() for p in out.rglob("*") if p.is_file()})
    for name, text in texts.items():
        for value in (CANARY, TOKEN):
            assert not _pieces_of(text, value, 8), (name, _pieces_of(text, value, 8))
    json.loads(texts["evidence.json"])


# -- F5 ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("line", "secret"), [(SLACK, SLACK[5:]), ("x postgres://a:correct-horse-battery-staple@h/db",
                                                                   "correct-horse-battery-staple")])
def test_a_refused_files_start_shows_no_credential(line: str, secret: str) -> None:
    shown = _show(line.encode() + b"\n")
    assert not _pieces_of(shown, secret, 6), shown


# -- F7 ---------------------------------------------------------------------------------------------------------------
def test_json_literals_under_a_credentials_name_are_no_credential() -> None:
    doc = json.dumps({"run": {"ran": True, "items": 3}, "headers": {"authorization": True, "x-api-key": False,
                                                                    "x-vault-token": None}}, indent=2)
    assert masked_tokens(doc) == doc
    assert "<Secret Keyword" in masked_tokens('password: "hunter2-Xq9"\napi_key = Zq8wL0pT6sDk1\n')


# -- F11 --------------------------------------------------------------------------------------------------------------
def test_a_librarys_warnings_do_not_surround_the_refusal(tmp_path: Path) -> None:
    code = ("import logging, sys\n"
            "from pytest_auditready.cli import main, verify\n"
            "from pytest_auditready.errors import AuditReadyError\n"
            "def run(args):\n"
            "    logging.getLogger('gcsfs').warning('Could not determine bucket type for bucket name b')\n"
            "    raise AuditReadyError('cannot list gs://b/x', 'check it')\n"
            "verify.run = run\n"
            "sys.exit(main(['verify', 'gs://b/x']))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == ["auditready: cannot list gs://b/x; fix: check it"], proc.stderr


def test_every_run_of_twelve_characters_of_a_known_value_is_withheld() -> None:
    """Wherever in the value a run begins, in whatever text around it; eleven characters are kept (a run that short
    is no secret's, and words must stay whole)."""
    import random
    import string

    rnd = random.Random(92)
    secrets = {"canary:1": CANARY, "token:admin": TOKEN}
    for value in (CANARY, TOKEN):
        for _ in range(2000):
            a = rnd.randrange(0, len(value) - 12)
            b = rnd.randrange(a + 12, len(value) + 1)
            around = [''.join(rnd.choice(string.ascii_letters + " /:'.") for _ in range(rnd.randrange(30)))
                      for _ in range(2)]
            text = around[0] + value[a:b] + around[1] + " then " + value
            shown = redact(text, secrets)
            assert not _pieces_of(shown, value), (text, shown)
    assert redact(f"x {CANARY[:11]} y", secrets) == f"x {CANARY[:11]} y"
