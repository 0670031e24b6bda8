"""A credential a logged command line passes as an argument is found; the same tools' other arguments are not.

The Kubernetes API server logs an exec request's command as the ``command`` parameters of its requestURI, and a
container's command and args in a Pod's object (Request level and above). ``kubectl exec db-0 -- mysql -uroot
-pXXXX`` put the password in the log, and no key named it: before, it passed without canaries (red team report
rt11, section 11; only ``--password X`` pairs in an args list were found). scan.argv reads the tools whose manuals
give a flag that takes a credential (MySQL/MariaDB ``-pX``, ``redis-cli -a``, ``curl -u user:pw``, ``sshpass -p``,
``mongosh -p``, ``zip -P``, ``7z -p``, ``smbclient -U user%pw``, ``ldapsearch -w``, ``sqlcmd -P``, ``docker login
-p``, OpenSSL's ``pass:``, ``htpasswd -b``), in argument lists, in exec URIs and in shell command lines
(``sh -c "..."``). The same tools without a credential (a prompt, a port, a reference to a variable or file) are
no finding.
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.scan import argv
from tests.conftest import remember_secret
from tests.test_blind_encodings import KV_READ, _in_data, _lines, _planted, _verify
from tests.test_url_passwords import ROOT, leak_lines

PW = "Wq8rT2vLx9Pz"  # the credential each leaking command line passes
for _n in ("", *map(str, range(18))):
    remember_secret(PW + _n)

LEAKS = [
    ["mysql", "-uroot", f"-p{PW}"],
    ["/usr/bin/mariadb-dump", "-h", "db", f"-p{PW}", "app"],
    ["redis-cli", "-h", "cache", "-a", PW, "ping"],
    ["redis-cli", "--pass", PW],
    ["curl", "-s", "-u", f"admin:{PW}", "https://api.internal/health"],
    ["curl", f"-uadmin:{PW}", "https://api.internal/"],
    ["curl", "--user", f"admin:{PW}", "https://api.internal/"],
    ["curl", f"--user=admin:{PW}", "https://api.internal/"],
    ["sshpass", "-p", PW, "ssh", "ops@10.0.0.9"],
    ["mongosh", "--host", "mongo", "-u", "root", "-p", PW],
    ["zip", "-P", PW, "backup.zip", "dump.sql"],
    ["7z", "a", f"-p{PW}", "backup.7z", "dump.sql"],
    ["smbclient", "//fs/share", "-U", f"svc%{PW}"],
    ["ldapsearch", "-x", "-D", "cn=admin,dc=example,dc=org", "-w", PW, "-b", "dc=example,dc=org"],
    ["sqlcmd", "-S", "db", "-U", "sa", "-P", PW],
    ["docker", "login", "-u", "ci", "-p", PW, "registry.example.com"],
    ["openssl", "pkcs12", "-export", "-in", "c.pem", "-passout", f"pass:{PW}"],
    ["htpasswd", "-b", "/etc/nginx/.htpasswd", "admin", PW],
    ["htpasswd", "-nb", "admin", PW],
    ["env", "LANG=C", "sudo", "mysql", f"-p{PW}"],
    ["app", "--db-password", PW],
]
CLEAN = [
    ["mysql", "-uroot", "-p", "appdb"],  # "-p" alone prompts: the next word is the database
    ["mysql", "-h", "db", "-P", "3306", "-e", "select 1"],  # -P is the port
    ["mysql", "-p$MYSQL_PWD"],  # a reference to a variable
    ["redis-cli", "-a", "$(cat /run/secrets/redis)"],
    ["curl", "-u", "admin", "https://api.internal/"],  # no password: curl asks for it
    ["curl", "-sSfL", "https://example.com/install.sh"],
    ["docker", "run", "-p", "8080:80", "nginx"],  # -p of run publishes a port
    ["docker", "login", "--password-stdin", "-u", "ci", "registry.example.com"],
    ["openssl", "pkcs12", "-export", "-passout", "env:P12_PASSWORD"],
    ["htpasswd", "-c", "/etc/nginx/.htpasswd", "admin"],
    ["zip", "-r", "backup.zip", "data"],
    ["7z", "x", "backup.7z"],
    ["psql", "--no-password", "appdb"],
    ["sshpass", "-f", "/run/secrets/ssh", "ssh", "ops@10.0.0.9"],
]


@pytest.mark.parametrize("args", LEAKS, ids=lambda a: " ".join(a[:2]))
def test_each_tools_credential_is_found_in_an_argument_list(args: list[str]) -> None:
    assert [value for _, value in argv.in_command(args)] == [PW]


@pytest.mark.parametrize("args", CLEAN, ids=lambda a: " ".join(a[:3]))
def test_the_same_tools_without_a_credential_are_none(args: list[str]) -> None:
    assert list(argv.in_command(args)) == []


@pytest.mark.parametrize("args", LEAKS[:6] + CLEAN[:6], ids=lambda a: " ".join(a[:3]))
def test_a_shell_command_line_is_read_as_its_words(args: list[str]) -> None:
    """``sh -c "<the same command>"``: what the list gives, less a flag naming a credential (prose has such
    words: only the tools' own flags are read in text)."""
    line = " ".join(a if " " not in a else f"'{a}'" for a in args)
    assert list(argv.in_command(["sh", "-c", line])) == list(argv.in_command(args, generic=False))


def test_an_exec_uri_is_its_command() -> None:
    uri = "/api/v1/namespaces/prod/pods/db-0/exec?command=mysql&command=-uroot&command=-p" + PW + "&container=db"
    assert argv.exec_command(uri) == ["mysql", "-uroot", "-p" + PW]
    assert argv.exec_command("/exec/prod/db-0/db?command=ls") == ["ls"]  # the kubelet's own API
    assert argv.exec_command("/api/v1/namespaces/prod/pods/db-0/log?command=x") is None
    assert argv.exec_command("/api/v1/namespaces/prod/pods/db-0/exec") is None


def _exec_uri(args: list[str]) -> str:
    query = urllib.parse.urlencode([("command", a) for a in args] + [("container", "db"), ("stdout", "true")])
    return "/api/v1/namespaces/prod/pods/db-0/exec?" + query


def _pod(command: list[str]) -> dict[str, Any]:
    return {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "job-0"},
            "spec": {"containers": [{"name": "job", "image": "mysql:8", "command": command}]}}


@pytest.mark.parametrize("pure", [False, True], ids=["native", "pure"])
def test_verify_finds_each_at_its_line_and_nothing_else(tmp_path: Path, pure: bool) -> None:
    """A real Kubernetes audit log with one exec event (its URI as the API server writes it, "&" as \\u0026) and
    one Pod created at Request level per command line, run as is and through ``sh -c``: a no_secret_leak finding
    at each leaking line (six leaks, three lines each: fewer than the check's 20 distinct secrets a file) and at
    no other; no value reaches the output."""
    src = (ROOT / "k8s/real/correct.log").read_text().splitlines()
    exec_event, pod_event = json.loads(src[10]), json.loads(src[3])
    lines, leaky = list(src), set()
    for n, (args, leaks) in enumerate([(a, True) for a in LEAKS[:6]] + [(a, False) for a in CLEAN]):
        # each line a credential of its own: a finding names the first line of a credential
        cmds = [[a.replace(PW, f"{PW}{3 * n + m}") for a in args] for m in range(3)]
        for m, event in enumerate((dict(exec_event, requestURI=_exec_uri(cmds[0])),
                                   dict(exec_event, requestURI=_exec_uri(["sh", "-c", " ".join(cmds[1])])),
                                   dict(pod_event, level="Request", requestObject=_pod(cmds[2])))):
            event["auditID"] = f"00000000-0000-4000-8000-{3 * n + m:012d}"
            # as Go's encoder writes it (the API server's): "&", "<" and ">" escaped
            lines.append(json.dumps(event, separators=(",", ":")).replace("&", "\\u0026").replace("<", "\\u003c")
                         .replace(">", "\\u003e"))
            if leaks:
                leaky.add(len(lines))
    found, shown = leak_lines(tmp_path, "k8s.log", "\n".join(lines) + "\n", pure)
    assert found == leaky, (sorted(found - leaky), sorted(leaky - found))
    assert PW not in shown
    assert "A command line in the log passes a credential as 'mysql -p'" in shown


@pytest.mark.parametrize("pure", [False, True], ids=["native", "pure"])
def test_a_command_line_in_a_vault_value_is_read_too(tmp_path: Path, pure: bool) -> None:
    """A shell command line in a value of a real OpenBao entry (a KV note a mount logs in clear; a CI job's
    metadata): found at its lines, while the same tool with a prompt is not. (This line holds nothing else the scan
    looks at: the scanner's prefilter must send it to the judge for the command line alone.)"""
    found = _verify(tmp_path, {"leak.log": _planted(_in_data, f"mysql -h db -uroot -p{PW}4 -e 'select 1'"),
                               "clean.log": _planted(_in_data, "mysql -h db -uroot -p appdb -e 'select 1'")}, pure)
    assert _lines(found["leak.log"]["no_secret_leak"]) == set(KV_READ)
    assert found["clean.log"]["no_secret_leak"] == []
