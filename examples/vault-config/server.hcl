# The team's OpenBao server configuration, kept as code. `pytest --auditready --auditready-vault-config
# examples/vault-config` boots a throw-away OpenBao from it (storage, listener and seal are replaced by the
# throw-away server's own) and audits it: see the README, "Gate changes to your vault configuration".

ui            = true
log_level     = "info"
disable_mlock = true

storage "raft" {
  path    = "/var/lib/openbao"
  node_id = "openbao-1"
}

listener "tcp" {
  address       = "0.0.0.0:8200"
  tls_cert_file = "/etc/openbao/tls/tls.crt"
  tls_key_file  = "/etc/openbao/tls/tls.key"
}

api_addr     = "https://openbao.example.internal:8200"
cluster_addr = "https://openbao.example.internal:8201"

# The audit log the audit reads: private to the server's user, digests instead of values.
audit "file" "file" {
  description = "primary audit log, shipped to the SIEM"
  options {
    file_path     = "/var/log/openbao/audit.log"
    mode          = "0600"
    hmac_accessor = "true"
    log_raw       = "false"
  }
}

# A second device of another type: the same entries streamed to the log collector on this host. When the
# collector is down its writes fail and the file device keeps the vault serving; skip_test lets the vault start
# while the collector is down (in CI there is none).
audit "socket" "collector" {
  description = "copy to the local log collector (fluent-bit)"
  options {
    address     = "127.0.0.1:5170"
    socket_type = "tcp"
    skip_test   = "true"
  }
}
