"""A credential in a configuration text inside a logged value is a leak: a YAML, properties or .env text (a
ConfigMap's "application.yml": "spring:\n  datasource:\n    password: ..."; Helm values; a Compose file's
environment), a quoted assignment (HCL, TOML, INI, an XML attribute: 'password = "..."'), and XML (Maven's
"<password>...</password>", .NET's '<add key="ApiKey" value="..."/>'). detect-secrets' keyword detector reads such
text only in files it knows, and the ``KEY=value`` rule (test_keyword_assignments.py) took only unquoted values, so
a Kubernetes audit event at RequestResponse level holding one passed. Templates, references, encrypted values, YAML
blocks and tags, prose after a colon, paging cursors, idempotency tokens and a Secret's name stay clean."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.scan import native
from tests.conftest import remember_secret
from tests.test_url_passwords import ROOT, _entry, leak_lines, scanner  # noqa: F401  (the scanner fixture)

# Each a credential of its own, remembered: no output may show one.
SECRETS = ["Tr0ub4dor-and-3x", "Zq7vXw4YamlPw9", "9fQ2-xLp7-Zr4k-88aa", "Zq7 vXw4 quoted", "hunter22-list",
           "Zq7vXw4ComposeTk", "wJalrXUtnFEMI-K7MDENG-yaml", "Zq7vXw4PropsPw", "Zq7vXw4CrLfPw", "S3cr3tXml9q",
           "Zq7vXw4Tomcat", "Zq7vXw4 Hcl Pw", "Zq7vXw4AppSettings", "Zq7vXw4Entry", "Zq7vXw4NsPw", "Zq7vXw4IniQ",
           "Zq7vXw4ArgsPw", "Zq7vXw4Mysql9", "Zq7vXw4ApiKey2", "Zq7vXw4TokenA", "Zq7vXw4Client"]
for _s in SECRETS:
    remember_secret(_s)

LEAKS = [
    f"spring:\n  datasource:\n    url: jdbc:postgresql://db:5432/app\n    username: app\n    password: {SECRETS[0]}\n",
    f"database:\n  host: db\n  Password: {SECRETS[1]}  # rotated monthly\n",
    f"API_TOKEN: {SECRETS[2]}",
    f'auth:\n  client_secret: "{SECRETS[3]}"\n',
    f"users:\n  - name: ci\n  - password: {SECRETS[4]}\n",
    f"services:\n  app:\n    environment:\n      GITHUB_TOKEN: '{SECRETS[5]}'\n",
    f"aws:\n\taccess_key: AKIAIOSFODNN7EXAMPLE\n\tsecret_access_key: {SECRETS[6]}\n",
    f"db.user: app\ndb.password: {SECRETS[7]}\n",  # a properties file written with colons
    f"db:\r\n  password: {SECRETS[8]}\r\n  port: 5432\r\n",  # written on Windows (CR LF)
    f"<settings><servers><server><id>nexus</id><username>ci</username><password>{SECRETS[9]}</password></server>"
    "</servers></settings>",  # Maven's settings.xml
    f'<Resource name="jdbc/app" auth="Container" username="app" password="{SECRETS[10]}" />',  # Tomcat
    f'variable "db" {{\n  password = "{SECRETS[11]}"\n}}\n',  # HCL, a quoted value with spaces
    f'<appSettings><add key="ApiKey" value="{SECRETS[12]}" /></appSettings>',  # .NET
    f'<properties><entry key="db.secret">{SECRETS[13]}</entry></properties>',  # Java's XML properties
    f"<db:password type='plain'>{SECRETS[14]}</db:password>",  # an element with a namespace and attributes
    f"[database]\npassword = '{SECRETS[15]}'\n",  # INI, single quotes
]
CLEAN = [
    "spring:\n  datasource:\n    password: ${DB_PASSWORD}\n",
    "password: '{{ .Values.db.password }}'\n",
    "password: |\n  kept in the vault\n",
    "password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n",
    "password: ENC[AES256_GCM,data:Zq7vXw4=,iv:abc=,tag:def=,type:str]\n",
    "password: vault:secret/data/app#password\n",
    "password: ref+vault://secret/app#/password\n",
    "password: <set me>\n",
    "password: '********'\n",
    "password: ~\npassword_file: /run/secrets/db\n",
    "token: not found\n",
    "error validating token: invalid signature\n",
    "nextToken: AAAABBBBCCCCDDDD\n",
    "tls:\n  existingSecret: my-tls-secret\n",
    "password: hmac-sha256:" + "ab" * 32 + "\n",
    "passwordless: true\nsecretName: app-db\n",
    "<NextToken>AAAABBBBCCCCDDDD</NextToken>", "<password>${DB_PASSWORD}</password>", "<password></password>",
    "<clientToken>a1b2c3d4-e5f6</clientToken>", 'token_type="Bearer"', 'password="{{ .Values.pw }}"', 'password = ""',
    '<add key="Environment" value="production"/>', "<password>******</password>", 'token="true"',
]


# A container's command line in a Pod spec, each flag and its value two items of "args" or "command".
ARGS_LEAKS = [
    ["--db-password", SECRETS[16], "--port", "8080"],
    ["mysql", "-u", "root", "--password", SECRETS[17]],
    ["--api-key", SECRETS[18]],
    ["-token", SECRETS[19]],
    ["serve", "--client-secret", SECRETS[20]],
]
ARGS_CLEAN = [
    ["--password-file", "/run/secrets/db"], ["--token", "$(TOKEN)"], ["--password", "${DB_PASSWORD}"],
    ["--secret", "true"], ["--token-ttl", "3600"], ["--next-token", "zzzz-page-2"], ["--password"],
    ["--password", "--verbose"], ["--secret-name", "app-db"], ["--password", "****"],
]


def _pod(args: list[str], n: int = 0) -> dict[str, Any]:
    return {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": f"app-{n}"},
            "spec": {"containers": [{"name": "app", "image": "registry.example.com/app:1", "args": args}]}}


@pytest.mark.parametrize("args", ARGS_LEAKS)
def test_a_credential_after_its_flag_in_a_command_line_is_found(scanner, args):  # noqa: F811
    hits = scanner.scan_block(_entry(json.dumps(_pod(args))).encode(), 1)
    assert [h.line for h in hits] == [1], args
    assert "Command-line Credential" in {g.kind for g in hits[0].generic}


@pytest.mark.parametrize("args", ARGS_CLEAN)
def test_a_flag_without_a_credential_after_it_is_none(scanner, args):  # noqa: F811
    assert scanner.scan_block(_entry(json.dumps(_pod(args))).encode(), 1) == []


@pytest.mark.parametrize("text", LEAKS)
def test_a_credential_in_a_configuration_text_inside_a_value_is_found(scanner, text):  # noqa: F811
    hits = scanner.scan_block(_entry(text).encode(), 1)
    assert [h.line for h in hits] == [1], text
    assert "Secret Keyword" in {g.kind for g in hits[0].generic}


@pytest.mark.parametrize("text", CLEAN)
def test_templates_references_blocks_and_prose_are_no_credential(scanner, text):  # noqa: F811
    assert scanner.scan_block(_entry(text).encode(), 1) == []


def k8s_log_of(objects: list[tuple[dict[str, Any], bool]]) -> tuple[str, set[int]]:
    """A real Kubernetes audit log with an event at RequestResponse level for each (object, leaks) after its own
    events; the log's text and the lines of the objects that leak."""
    src = (ROOT / "k8s/real/correct.log").read_text().splitlines()
    base = json.loads(src[3])
    lines, leaky = list(src), set()
    for n, (obj, leaks) in enumerate(objects):
        event = dict(base, level="RequestResponse", auditID=f"00000000-0000-4000-8000-{n:012d}", requestObject=obj)
        lines.append(json.dumps(event, separators=(",", ":")))
        if leaks:
            leaky.add(len(lines))
    return "\n".join(lines) + "\n", leaky


@pytest.mark.parametrize("kind", ["ConfigMap", "Pod"])
@pytest.mark.parametrize("pure", [False, True], ids=["native", "pure"])
def test_verify_finds_each_at_its_line_and_nothing_else(tmp_path: Path, pure: bool, kind: str) -> None:
    """A real Kubernetes audit log with ConfigMaps (the texts) or Pods (the command lines) written at RequestResponse
    level, one for each leak and one for each clean case: a no_secret_leak finding at each leak's line and at no
    other (fewer than the check's 20 distinct secrets a file); no value reaches the output."""
    if not pure and native.lib is None:
        pytest.skip("the C extension is not built")
    objects: list[tuple[dict[str, Any], bool]] = (
        [({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "app"}, "data": {"application.yml": text}},
          text in LEAKS) for text in LEAKS + CLEAN] if kind == "ConfigMap"
        else [(_pod(args), args in ARGS_LEAKS) for args in ARGS_LEAKS + ARGS_CLEAN])
    text, leaky = k8s_log_of(objects)
    found, shown = leak_lines(tmp_path, "k8s.log", text, pure)
    assert found == leaky, (found, leaky)
    assert not any(v in shown for v in SECRETS)


def test_the_flag_prefilter_finds_what_pythons_re_finds() -> None:
    """The whole-line prefilter for a flag and its value (scan/hyperscan.py) finds every line Python's re does, in
    contexts where the same expression with a bounded repeat ("{0,64}") was missed by the Hyperscan library (an
    earlier "-" on the line)."""
    import random
    import re

    import hyperscan

    from pytest_auditready.scan.hyperscan import _FLAG_VALUE, _WHOLE_LINE_PREFILTERS

    assert _FLAG_VALUE in _WHOLE_LINE_PREFILTERS
    expr = _FLAG_VALUE.encode("latin-1")
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=[expr], ids=[0], elements=1, flags=[hyperscan.HS_FLAG_CASELESS])
    rx = re.compile(expr, re.IGNORECASE)
    rng = random.Random(2)
    parts = [[b'"', b'\\"', b'\\\\"', b"%22", b'x"', b""], [b"-", b"--", b"---", b"", b"x-"],
             [b"", b"db-", b"db_", b"a.b-", b"x"], [b"token", b"password", b"api-key", b"apikey", b"Secret", b"tok"],
             [b'"', b'\\"', b"%22", b""], [b", ", b",", b" , ", b";"], [b'"', b'\\"', b"%22", b"x"]]
    before = [b'pp:1\\", \\"args\\": [', b'{"a":', b"x" * 70, b'\\"', b"", b"--x ", b'"-', b'\\\\\\"', b"-" * 100,
              b'"-' + b"a" * 80]
    found = 0
    for _ in range(20000):
        data = (rng.choice(before) + rng.choice(before) + b"".join(rng.choice(p) for p in parts) + b'Zq7"]'
                + rng.choice(before))
        hits: list[int] = []
        db.scan(data, match_event_handler=lambda _i, _s, e, _f, _c, hits=hits: hits.append(e))
        assert bool(hits) == bool(rx.search(data)), data
        found += bool(hits)
    assert found > 2000
