"""detect-secrets' ``is_indirect_reference`` filter, in linear time.

detect-secrets drops a candidate whose line looks like ``secret = get_secret()`` or ``secret = headers['key']``: its
expression ``([^\\v=!:]*)\\s*(:=?|[!=]{1,3})\\s*([\\w.-]+[\\[\\(][^\\v]*[\\]\\)])`` searched in lines of up to 1,000
characters. Python's ``re`` tries that search from every position and backtracks over each, so a line without an
assignment costs the square of its length: about 13 ms for a 1,000-character line. A log line that holds hundreds
of long keys (a KV write of 450 keys of 700 characters: red team rt101) is judged one key at a time, so a single
line took 13 s to verify. This function gives the same answer by one pass over the line (tests/test_indirect.py
compares the two on every short line of the characters that matter), and the scanner's settings use it in place of
detect-secrets' own (scan.secrets).
"""

from __future__ import annotations

_LIMIT = 1000  # detect-secrets' own bound: a longer line is never an indirect reference
_OPERATOR = frozenset(":=!")  # a character of ":", ":=", "=", "==", "===", "!=", "!=="
_OPENERS = frozenset("[(")  # (tested with `in` on the line first, where no such character is, nearly always)
_CLOSERS = frozenset("])")


def _word(c: str) -> bool:
    """``c`` is in ``[\\w.-]`` as ``re`` reads a str pattern (\\w: str.isalnum() or "_")."""
    return c.isalnum() or c in "_.-"


def is_indirect_reference(line: str) -> bool:
    """detect-secrets' filter of that name: ``line`` holds an operator, optional blanks, a run of ``[\\w.-]``, an
    opening bracket or parenthesis, and later a closing one with no vertical tab between them. The name ``line``
    is what detect-secrets hands a filter by."""
    n = len(line)
    if n > _LIMIT or ("[" not in line and "(" not in line) or ("]" not in line and ")" not in line):
        return False
    # closes[p]: from p on, a closing bracket comes before any vertical tab
    closes = [False] * (n + 1)
    for p in range(n - 1, -1, -1):
        c = line[p]
        closes[p] = c in _CLOSERS or (c != "\v" and closes[p + 1])
    start = 0  # where the run of [\w.-] that ends before the current position starts
    for k, c in enumerate(line):
        if c in _OPENERS and closes[k + 1] and start < k:
            i = start - 1  # before the run: blanks, then an operator's character
            while i >= 0 and line[i].isspace():
                i -= 1
            if i >= 0 and line[i] in _OPERATOR:
                return True
        if not _word(c):
            start = k + 1
    return False
