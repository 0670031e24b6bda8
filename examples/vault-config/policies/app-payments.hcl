# The payments service reads its own secrets, nothing else.
path "secret/data/payments/*" {
  capabilities = ["read"]
}
