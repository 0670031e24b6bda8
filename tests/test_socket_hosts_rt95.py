"""Which socket device addresses send the audit stream off the host (red team rt95, F6): Go dials the unspecified
address (0.0.0.0, ::) on the local host, and an IPv4-mapped loopback address ([::ffff:127.0.0.1]) is loopback, so
neither sends "over TCP in clear to another host"; every other address and any name but localhost does."""

from __future__ import annotations

import pytest

from pytest_auditready.checks.log_protection import _off_host


@pytest.mark.parametrize("address, off", [
    ("0.0.0.0:5170", False), ("[::]:5170", False), ("[::ffff:127.0.0.1]:5170", False), ("127.0.0.1:5170", False),
    ("[::1]:5170", False), ("localhost:5170", False), ("logs.localhost:5170", False),
    ("[::ffff:0.0.0.0]:5170", False),
    ("10.0.0.1:5170", True), ("[::ffff:10.0.0.1]:5170", True), ("siem.example.com:5170", True), ("[2001:db8::1]:1", True),
])
def test_an_address_this_host_dials_itself_stays_on_the_host(address: str, off: bool) -> None:
    assert _off_host(address) is off
