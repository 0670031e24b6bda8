"""`auditready keygen KEY`: make the sealer's Ed25519 key pair (KEY private, mode 0600; KEY.pub public)."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser
    p = sub.add_parser("keygen", help="make the Ed25519 key pair that seals audit logs",
                       description="Write a new Ed25519 private key to KEY (mode 0600; keep it with the sealer) and "
                       "its public key to KEY.pub (give it to whoever verifies). Never overwrites a file.")
    p.add_argument("key", metavar="KEY", help="path of the private key to create; the public key goes to KEY.pub")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from ..seal.chain import write_keypair
    from ..text import visible

    priv, pub, kid = write_keypair(args.key)
    # the names as every command shows a path: a newline or ESC in KEY neither starts a line (a forged ::error::)
    # nor acts on the terminal (red team rt92 F8)
    print(f"private key: {visible(str(priv))} (mode 0600): only the sealer needs it")
    print(f"public key:  {visible(str(pub))} (key id {kid}): verify with it (public_key in [tool.auditready], or "
          "auditready verify --public-key)")
    return 0
