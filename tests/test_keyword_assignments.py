"""A credential assigned to a key that names one, inside a value (a connection string, a DSN, a command line, an
environment assignment), is a leak: detect-secrets' keyword detector sees only ``"key": "value"`` pairs and quoted
assignments, so "Server=db;Password=S3cr3t!;" in a logged value passed. Placeholders, masks, references, words for
nothing and paging cursors stay clean."""

from __future__ import annotations

import json

import pytest

from tests.test_url_passwords import ROOT, _entry, leak_lines, scanner  # noqa: F401  (the scanner fixture)

LEAKS = [
    "Server=db.internal;Database=app;User Id=app;Password=S3cr3tPassw0rd!;",  # ADO.NET
    "Driver={ODBC Driver 18};Server=tcp:db,1433;Uid=app;Pwd=Zq7vXw4Lp9;",  # ODBC
    "host=db.internal port=5432 dbname=app user=app password=S3cr3tLibpq0rd!",  # libpq
    "jdbc:postgresql://db.internal:5432/app?user=app&password=Zq7vXw4Jdbc9",  # JDBC
    "PGPASSWORD=S3cr3tPgpass0rd! psql -h db.internal -U app",  # an environment assignment
    "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "deploy --api-key=3f9a1c2b7d4e5f60 --region eu-west-1",  # a command line
    "client_secret=Zq7vXw4Lp9sKd2 grant_type=client_credentials",
    "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Zq7vXw4AzureKd2Zq7vXw4Lp9==;EndpointSuffix=core.windows.net",
    "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=Zq7vXw4SbusKd2abc=",
    "db_pass=Zq7vXw4DbPass",
]
CLEAN = [
    "password=${DB_PASSWORD}", "Password=<your password>;", "password=****", "password=(redacted)", "password=",
    "password=true", "--password-file=/run/secrets/db", "password=@/run/secrets/db", "passwordless=true",
    "nextToken=AAAABBBBCCCCDDDDEEEE", "pageToken=next-page-0002", "token_type=bearer",
    "password=hmac-sha256:" + "ab" * 32, "the password is required (password=required)",
    "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey",
]


@pytest.mark.parametrize("text", LEAKS)
def test_a_credential_assigned_inside_a_value_is_found(scanner, text):  # noqa: F811
    hits = scanner.scan_block(_entry(text).encode(), 1)
    assert [h.line for h in hits] == [1]
    assert "Secret Keyword" in {g.kind for g in hits[0].generic}


@pytest.mark.parametrize("text", CLEAN)
def test_placeholders_references_and_cursors_are_no_credential(scanner, text):  # noqa: F811
    assert scanner.scan_block(_entry(text).encode(), 1) == []


@pytest.mark.parametrize("pure", [False, True], ids=["native", "pure"])
def test_verify_finds_each_at_its_line_and_nothing_else(tmp_path, pure):
    """A real OpenBao log with the leaks (each a credential of its own) planted in some entries' data and the clean
    texts in others: a no_secret_leak finding at each leak's line and at no other; the values never reach the
    output."""
    src = (ROOT / "openbao/clean.log").read_text().splitlines()
    planted = set()
    for n, text in enumerate(LEAKS[:6] + CLEAN[:8]):
        at = 8 + 6 * n
        entry = json.loads(src[at])
        entry.setdefault("response", {}).setdefault("data", {})["connection"] = text
        src[at] = json.dumps(entry, separators=(",", ":"))
        if text in LEAKS:
            planted.add(at + 1)
    found, shown = leak_lines(tmp_path, "audit.log", "\n".join(src) + "\n", pure)
    assert found == planted
    assert not any(v in shown for v in ("S3cr3t", "Zq7vXw4", "wJalrXUtnFEMI"))


@pytest.mark.parametrize(("key", "value", "found"), [
    # an Azure AD token's claim (MS-OIDCE 2.2: "The URL at which the end user can change their password"), as Key
    # Vault logs it in identity.claim: where to change a password, not one (red team rt16 F8)
    ("pwd_url", "https://portal.microsoftonline.com/ChangePassword.aspx", False),
    ("password_reset_link", "https://sso.example.com/reset", False),
    # a URL that carries a credential under such a key still is one
    ("pwd_url", "https://h.example.com/reset?token=Zq7vXw4Lp9sKd2Mn", True),
    ("password_url", "https://app:Zq7vXw4Lp9sKd2@db.example.com/", True),
    # and a URL under the credential's own key is judged as its value
    ("password", "https://portal.microsoftonline.com/ChangePassword.aspx", True),
    # Infisical's audit log names the secret read by its key (event.metadata.secretKey): a secret's name, upper-case
    # words joined by "_" as secret managers and environments write them, not the secret (red team rt16 F6)
    ("secretKey", "DB_PASSWORD", False),
    ("secretKey", "GITHUB_TOKEN", False),
    ("secretKey", "AWS_SECRET_ACCESS_KEY", False),
    # a secret under the same key is still one
    ("secretKey", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", True),
    ("secretKey", "Zq7vXw4Lp9sKd2", True),
    ("secretKey", "zq7vxw4lp9skd2_x", True),  # lower case: no name of that form
])
def test_what_is_about_a_credential_or_names_one_is_none(key: str, value: str, found: bool) -> None:
    from pytest_auditready.scan.secrets import GenericScanner

    with GenericScanner() as g:
        assert bool(g.scan_value(key, value)) is found
