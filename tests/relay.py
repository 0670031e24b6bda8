"""The part of the audited session's conftest that puts a hop between the embedded target's socket or http audit
device and auditready's receiver (``EmbeddedTarget(socket_relay=...)``): a loopback listener that hands each
connection of the device to ``_pipe(down, (host, port))``, which the test's own conftest text defines. Appended to
that text; it holds no ``{}`` so that the text before it can be a format string."""

RELAY_LISTENER = '''
_listeners = []

def _relay(address):
    host, port = address.rsplit(":", 1)
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    _listeners.append(ls)

    def accept():
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            threading.Thread(target=_pipe, args=(c, (host, int(port))), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return "127.0.0.1:%d" % ls.getsockname()[1]

def pytest_auditready_make_target(settings, config):
    return EmbeddedTarget(settings, socket_relay=_relay)

def pytest_unconfigure(config):
    for ls in _listeners:
        ls.shutdown(socket.SHUT_RDWR)
        ls.close()
'''
