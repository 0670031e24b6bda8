# Least-privilege policy for the token that runs `pytest --auditready` against your own Vault/OpenBao.
# Write it with:  vault policy write auditready examples/auditready-policy.hcl
# and run with a token holding it:  VAULT_TOKEN=$(vault token create -policy=auditready -ttl=1h -field=token)
# "secret" is the KV v2 mount (kv_mount) and "auditready" the prefix (prefix): change both together.

# per-run policies for the scenario's identities (auditready-<run id>-reader/-writer)
path "sys/policies/acl/auditready-*" {
  capabilities = ["create", "read", "update", "delete"]
}
# read the policies the unprivileged identity holds (unprivileged_policies and default): to refuse a name the vault
# does not have, and to ask about every path they name (a token role, an AppRole role, a user or a group by its
# real name; a KV path of the default policy); and the policies of a role or user it may log in as, or of a token
# role it may make tokens of (their names listed to match a role's allowed_policies_glob)
path "sys/policies/acl/*" {
  capabilities = ["read"]
}
path "sys/policies/acl" {
  capabilities = ["list"]
}
# the names of the token roles, identity groups, AppRole roles and userpass users (names only), a second source of
# real names to ask about; and a role's or user's settings (its token_policies: never a SecretID or password), for a
# SecretID or password the unprivileged identity may make (a listing through a "+" segment is granted on the folder
# with its trailing "/")
path "auth/token/roles" {
  capabilities = ["list"]
}
path "identity/group/name" {
  capabilities = ["list"]
}
path "identity/group/id" {
  capabilities = ["list"]
}
path "auth/+/role/" {
  capabilities = ["list"]
}
path "auth/+/users/" {
  capabilities = ["list"]
}
path "auth/+/role/+" {
  capabilities = ["read"]
}
path "auth/+/users/+" {
  capabilities = ["read"]
}
# a token role's settings (allowed_policies: the policies its tokens may carry), for the tokens of a role the
# unprivileged identity may make (auth/token/create/<role>)
path "auth/token/roles/*" {
  capabilities = ["read"]
}

# look itself up (its policies, its time to live), as the default policy lets every token; given here too, for a
# token made without the default policy (-no-default-policy, a role's token_no_default_policy)
path "auth/token/lookup-self" {
  capabilities = ["read"]
}

# issue the scenario's short-lived tokens; sudo lets them carry policies this token does not hold
path "auth/token/create" {
  capabilities = ["create", "update", "sudo"]
}
path "auth/token/revoke-accessor" {
  capabilities = ["update"]
}
path "auth/token/lookup-accessor" {
  capabilities = ["update"]
}

# check that the KV mount is version 2, and remove/verify the canaries after the run
path "sys/mounts/secret" {
  capabilities = ["read"]
}
path "secret/metadata/auditready/*" {
  capabilities = ["read", "delete"]
}

# list the secrets engines and auth methods: keys a mount logs without HMAC, and auth methods whose roles or users
# an ordinary identity could write (each a way to a token of any policy)
path "sys/mounts" {
  capabilities = ["read"]
}
path "sys/auth" {
  capabilities = ["read"]
}
# and those of every namespace (OpenBao, Vault Enterprise; a vault without namespaces answers 404), two levels deep
# here: the audit devices write each namespace's requests
path "sys/namespaces" {
  capabilities = ["list"]
}
path "+/sys/namespaces" {
  capabilities = ["list"]
}
path "+/sys/mounts" {
  capabilities = ["read"]
}
path "+/sys/auth" {
  capabilities = ["read"]
}
path "+/+/sys/mounts" {
  capabilities = ["read"]
}
path "+/+/sys/auth" {
  capabilities = ["read"]
}

# read which request headers the vault audits, to send a canary in each (a header audited without hmac = true
# writes it in clear); the endpoint requires sudo
path "sys/config/auditing/request-headers" {
  capabilities = ["read", "sudo"]
}

# see the audit devices (log_raw, the device behind the log) and ask their HMAC of the run's values
path "sys/audit" {
  capabilities = ["read", "sudo"]
}
path "sys/audit-hash/*" {
  capabilities = ["update"]
}

# ask what the unprivileged identity may do on sys/audit, by its token's accessor, where a hardened default policy
# does not let it ask itself (sys/capabilities-self)
path "sys/capabilities-accessor" {
  capabilities = ["update"]
}
