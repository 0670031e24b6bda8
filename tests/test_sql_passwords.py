"""A password a SQL statement sets is a credential in clear wherever the statement is logged: a database proxy's
audit event (Teleport's db.session.query, ``db_query``), a database's own query log. ``ALTER USER .. PASSWORD 'x'``
and ``IDENTIFIED BY 'x'`` have no "=" or ":", so no keyword rule read them, and they passed (red team rt16 F1),
where the same password on a command line was found. The statement forms of PostgreSQL, MySQL/MariaDB, SQL Server
and Oracle are read; a bind parameter, NULL, a mask, or the word "password" in a query that sets none is not."""

from __future__ import annotations

import json
import secrets
import string
from pathlib import Path

import pytest

from pytest_auditready.scan import native, tokens
from tests.conftest import remember_secret
from tests.test_url_passwords import jsonl_config, leak_lines

PW = "Wq8vT3xZ9nL2pR6k"
SETS = [
    f"ALTER USER app WITH PASSWORD '{PW}';",
    f"CREATE ROLE reporting LOGIN ENCRYPTED PASSWORD '{PW}' VALID UNTIL '2027-01-01';",
    f"CREATE USER 'app'@'%' IDENTIFIED BY '{PW}';",
    f"ALTER USER 'app'@'%' IDENTIFIED WITH caching_sha2_password BY '{PW}'",
    f"GRANT ALL ON shop.* TO 'app'@'%' IDENTIFIED BY '{PW}'",
    f"SET PASSWORD FOR 'bob'@'localhost' = '{PW}';",
    f"SET PASSWORD = PASSWORD('{PW}')",
    f"CREATE LOGIN app WITH PASSWORD = '{PW}', CHECK_POLICY = ON",
    f"ALTER USER scott IDENTIFIED BY {PW};",
    f'ALTER USER scott IDENTIFIED BY "{PW}"',
    f"alter user app\n  with password '{PW}'",
]
SETS_NONE = [
    "SELECT id, password_hash FROM users WHERE email = $1",
    "UPDATE users SET password = $1 WHERE id = $2",
    "ALTER ROLE app PASSWORD NULL;",
    "ALTER USER app WITH PASSWORD $1",
    "ALTER USER app WITH PASSWORD '********'",
    "CREATE USER app IDENTIFIED BY ?",
    "CREATE USER app IDENTIFIED BY :new_password",
    "CREATE USER ops IDENTIFIED EXTERNALLY;",
    "SET password_encryption = 'scram-sha-256';",
    "Please enter your password 'again'",
]


@pytest.mark.parametrize("statement", SETS)
def test_each_form_that_sets_a_password_is_read(statement: str) -> None:
    assert [c for k, c in tokens.find(statement) if k == "SQL Password"] == [PW]


@pytest.mark.parametrize("statement", SETS_NONE)
def test_statements_that_set_none_are_not(statement: str) -> None:
    assert not [c for k, c in tokens.find(statement) if k == "SQL Password"]


FIELDS = {"time": "time", "identity": "user", "resource": "db_uri", "action": "event", "result": "code",
          "source": "addr.remote", "request_id": "uid"}


def _query(n: int, query: str) -> str:
    """A Teleport db.session.query event as its audit log writes it (one JSON object a line)."""
    return json.dumps({
        "cluster_name": "teleport.example.com", "code": "TDB02I", "db_name": "orders", "db_protocol": "postgres",
        "db_query": query, "db_service": "orders-db", "db_uri": "orders.example.internal:5432", "db_user": "admin",
        "event": "db.session.query", "sid": "21636369-8b52-4b4a-97b7-50923ceb3ffd", "success": True,
        "time": f"2026-03-05T04:00:{n:02d}.404Z", "uid": f"71d2af72-93b0-4a04-8d08-{n:012d}", "user": "alice",
        "addr.remote": "151.181.228.114:51770"}, separators=(",", ":"))


@pytest.mark.parametrize("pure", [False, True], ids=["native", "pure"])
def test_a_teleport_query_log_is_judged_at_each_line(tmp_path: Path, pure: bool) -> None:
    if not pure and native.lib is None:
        pytest.skip("the C extension is not built")
    passwords = [remember_secret("".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(14)))
                 for _ in range(3)]
    queries = ["select * from orders limit 10;", *SETS_NONE[:4],
               f"ALTER USER app WITH PASSWORD '{passwords[0]}';",
               f"CREATE USER 'etl'@'%' IDENTIFIED BY '{passwords[1]}';",
               f"ALTER USER scott IDENTIFIED BY {passwords[2]};"]
    cfg = jsonl_config(tmp_path, FIELDS)
    text = "".join(_query(n, q) + "\n" for n, q in enumerate(queries, 1))
    found, shown = leak_lines(tmp_path, "teleport.jsonl", text, pure, cfg)
    assert found == {6, 7, 8}, found
    assert not any(p in shown for p in passwords)
