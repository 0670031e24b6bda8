"""The engine: one driver (``driver``) feeds every check's visitor, whether the lines come from exported files or
from a live run's log source. No pytest here."""
