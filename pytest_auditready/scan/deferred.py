"""``requests``, imported only if detect-secrets ever uses it.

Every detect-secrets detector module imports ``requests`` for one optional feature: verifying a found secret
against the live service, which nothing here asks for (and which would send the secret over the network). That
import is 35 ms of every start-up (a quarter of a small verify's) and 4 MB of memory (TLS and charset libraries).

``deferred_requests`` puts a stand-in module under the name while detect-secrets is first imported and its detector
modules loaded, then takes the name back, so that any later ``import requests`` gets the real package as usual. The
detect-secrets modules keep the stand-in: the first attribute read from it imports the real package and answers from
it from then on. Two detector modules name ``requests.Response`` in a return annotation, evaluated when the function
is defined: while the stand-in is installed that one name is answered with a placeholder class (an annotation nobody
reads), every other name imports the real package at once.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys
import types
from typing import Any, Iterator

NAME = "requests"
_ANNOTATIONS_ONLY = frozenset({"Response"})


class _Placeholder:
    """Stands for ``requests.Response`` in annotations evaluated while the stand-in is installed."""


class _Deferred(types.ModuleType):
    """Stands for ``requests``. ``__spec__`` is None, so an ``import requests`` statement binds it without
    touching any other attribute (unlike importlib's LazyLoader, which Python 3.11 loads on import)."""

    installed = True

    def __getattr__(self, name: str) -> Any:
        if name in _ANNOTATIONS_ONLY and type(self).installed and name not in self.__dict__:
            return _Placeholder
        real = importlib.import_module(NAME) if sys.modules.get(NAME) is not self else _import_real(self)
        self.__dict__.update(vars(real))
        return getattr(real, name)


def _import_real(stand_in: _Deferred) -> types.ModuleType:
    del sys.modules[NAME]
    try:
        return importlib.import_module(NAME)
    except BaseException:
        sys.modules.setdefault(NAME, stand_in)
        raise


@contextlib.contextmanager
def deferred_requests() -> Iterator[None]:
    """While inside: ``import requests`` gives the stand-in (unless it is imported already, or not installed)."""
    if NAME in sys.modules or importlib.util.find_spec(NAME) is None:
        yield
        return
    stand_in = type("_DeferredRequests", (_Deferred,), {})(NAME)  # a class of its own: ``installed`` is its own
    sys.modules[NAME] = stand_in
    try:
        yield
    finally:
        type(stand_in).installed = False
        if sys.modules.get(NAME) is stand_in:
            del sys.modules[NAME]
