"""Secret detection over audit-log text.

``known``: named secret values (canaries, tokens, --canaries values) in every encoding a producer writes.
``secrets``: the detect-secrets adapter (the only module that imports detect-secrets) and the Vault token rule.
``hyperscan``: compiling Hyperscan databases in an isolated child, yes/no block matches, and ``LeakScanner``,
which prefilters raw blocks for anything that could be a secret and hands only that to the two judges above.
"""
