"""The test suite (a package, so test files share helpers such as ``tests._native_runs``).

PYTEST_DONT_REWRITE: an editable install's ``*.egg-info/SOURCES.txt`` lists this package, so pytest marks ``tests``
for rewriting in every session; an inner in-process run (pytester) would then warn "already imported", an internal
error under ``-W error``. Test modules are rewritten by their own file names, not through this marker."""
