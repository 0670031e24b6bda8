#!/bin/sh
# Run against the throw-away server: BAO_ADDR/VAULT_ADDR and BAO_TOKEN/VAULT_TOKEN point at it, `bao` is on PATH.
set -eu

# The KV v2 mount the applications use (the audit plants its canaries under secret/auditready/). A dev server
# has one already.
bao secrets list -format=json | grep -q '"secret/"' || bao secrets enable -path=secret -version=2 kv

# Audit the correlation header the gateway sets, as an HMAC digest (hmac=true): a header can carry a secret.
bao write sys/config/auditing/request-headers/x-correlation-id hmac=true

# The payments service logs in with AppRole and gets its policy.
bao auth enable approle
bao write auth/approle/role/payments token_policies=app-payments token_ttl=15m
