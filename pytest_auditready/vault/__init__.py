"""Target adapters: the embedded OpenBao dev server, or a URL of an existing Vault/OpenBao."""
