#!/usr/bin/env python3
"""Benchmark reading an audit log from a loopback S3 server (moto) against reading the same local file, in one run.

    python bench/objectstore.py [--size-mb 200] [--gzip] [--repeat 3] [--verify]

Builds a Vault/OpenBao log of --size-mb from fixtures/openbao/clean.log (repeated), writes it to a private temp
folder and to a bucket on a moto server started on 127.0.0.1 (fake credentials, AWS_ENDPOINT_URL in the
environment, as a user's shell would give them), then reads both through the reader the checks use
(``open_log`` + ``blocks``: fsspec/s3fs ranged GETs for the URL) and prints MB/s of each and their ratio, medians
of --repeat runs. With --verify it times `verify_file` (every offline check) instead of the bare read.
Needs the objectstore and test extras (fsspec, s3fs, moto[server]).
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _read(path: str) -> int:
    from pytest_auditready.offline.reader import FileStats, blocks, open_log

    stats = FileStats()
    f = open_log(path)
    try:
        for _ in blocks(f, path, stats):
            pass
    finally:
        f.close()
    return stats.bytes


def _verify(path: str) -> int:
    import dataclasses

    from pytest_auditready.checks import BUILTIN
    from pytest_auditready.config import Settings
    from pytest_auditready.engine.files import offline_checks, verify_file

    settings = dataclasses.replace(Settings(), require_tamper_evidence=False, retention_days=0)
    return verify_file(path, settings, offline_checks(BUILTIN), {}).stats.bytes


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size-mb", type=int, default=200)
    ap.add_argument("--gzip", action="store_true", help="store the log gzip'd (as rotated sets and CloudTrail are)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--verify", action="store_true", help="time every offline check, not only the read")
    args = ap.parse_args()

    import boto3
    from moto.server import ThreadedMotoServer

    clean = (ROOT / "fixtures" / "openbao" / "clean.log").read_bytes()
    data = clean * max(1, (args.size_mb << 20) // len(clean))
    body = gzip.compress(data, compresslevel=1) if args.gzip else data
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update(AWS_ACCESS_KEY_ID="AKIAFAKEFORMOTO00000", AWS_SECRET_ACCESS_KEY="fake",
                      AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=f"http://{host}:{port}",
                      AWS_EC2_METADATA_DISABLED="true")
    try:
        with tempfile.TemporaryDirectory(prefix="auditready-bench-") as tmp:
            local = Path(tmp) / ("audit.log.gz" if args.gzip else "audit.log")
            local.write_bytes(body)
            local.chmod(0o600)
            s3 = boto3.client("s3")
            s3.create_bucket(Bucket="bench")
            s3.put_object(Bucket="bench", Key=f"vault/{local.name}", Body=body)
            url = f"s3://bench/vault/{local.name}"
            run = _verify if args.verify else _read
            times: dict[str, list[float]] = {"local": [], "s3": []}
            for _ in range(args.repeat):
                for name, path in (("local", str(local)), ("s3", url)):
                    t = time.perf_counter()
                    n = run(path)
                    times[name].append(time.perf_counter() - t)
                    assert n == len(data), (name, n, len(data))
    finally:
        server.stop()
    mb = len(data) / 1e6
    rate = {k: mb / statistics.median(v) for k, v in times.items()}
    what = "verify_file (all offline checks)" if args.verify else "open_log + blocks"
    print(f"{mb:.0f} MB {'gzip' if args.gzip else 'plain'} Vault log, {what}, median of {args.repeat}:")
    print(f"  local file        {rate['local']:8.1f} MB/s")
    print(f"  loopback S3 (moto) {rate['s3']:7.1f} MB/s")
    print(f"  ratio S3/local    {rate['s3'] / rate['local']:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
