#!/usr/bin/env python3
"""udp.py: a UDP flow through sluice's C ABI (ctypes).

    udp.py [--lib PATH/libsluice.so] [HOST PORT]

Opens a datagram flow through the direct outbound, sends three datagrams to
HOST:PORT and prints each reply with its source. Without HOST PORT it starts
a UDP echo server of its own on 127.0.0.1 (standing in for a DNS server) and
checks that every datagram comes back; exit status 0 when all did.

Callbacks arrive on the engine's loop thread; the main thread reaches that
thread with sluice_engine_post only.
"""
import ctypes
import ctypes.util
import os
import socket
import sys
import threading

c_int, c_void_p, c_char_p, c_size_t = ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t
u8p = ctypes.POINTER(ctypes.c_uint8)

SLUICE_OK = 0
SLUICE_DATAGRAM_CALLBACKS_VERSION = 1

ON_DATAGRAM = ctypes.CFUNCTYPE(c_int, c_void_p, c_char_p, ctypes.c_uint16, u8p, c_size_t, c_void_p)
ON_ERROR = ctypes.CFUNCTYPE(None, c_void_p, c_int, c_void_p)
ON_CLOSE = ctypes.CFUNCTYPE(None, c_void_p, c_void_p)
POST_CB = ctypes.CFUNCTYPE(None, c_void_p)
SOCKET_CB = ctypes.CFUNCTYPE(c_int, c_int, c_int, c_int, c_void_p)


class DatagramCallbacks(ctypes.Structure):
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("on_datagram", ON_DATAGRAM),
        ("on_error", ON_ERROR),
        ("on_close", ON_CLOSE),
    ]


def load(path):
    lib = ctypes.CDLL(path)
    sig = {
        "sluice_strerror": (c_char_p, [c_int]),
        "sluice_engine_new": (c_int, [c_void_p, ctypes.POINTER(c_void_p)]),
        "sluice_engine_start": (c_int, [c_void_p]),
        "sluice_engine_stop": (c_int, [c_void_p]),
        "sluice_engine_free": (None, [c_void_p]),
        "sluice_engine_post": (c_int, [c_void_p, POST_CB, c_void_p]),
        "sluice_engine_set_socket_hook": (c_int, [c_void_p, SOCKET_CB, c_void_p]),
        "sluice_instance_new": (c_int, [c_void_p, c_char_p, c_size_t, ctypes.POINTER(c_void_p)]),
        "sluice_instance_get0_session": (c_int, [c_void_p, c_char_p, ctypes.POINTER(c_void_p)]),
        "sluice_datagram_callbacks_init": (c_int, [ctypes.POINTER(DatagramCallbacks),
                                                   ctypes.c_uint32]),
        "sluice_datagram_open": (c_int, [c_void_p, ctypes.POINTER(DatagramCallbacks), c_void_p,
                                         c_void_p, ctypes.POINTER(c_void_p)]),
        "sluice_datagram_send": (c_int, [c_void_p, c_char_p, ctypes.c_uint16, c_char_p, c_size_t]),
        "sluice_datagram_close": (c_int, [c_void_p]),
    }
    for name, (res, args) in sig.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    return lib


CONFIG = b'{"outbounds": [{"type": "direct", "tag": "direct"}]}'
MESSAGES = [b"ping 1", b"ping 2", b"a longer third datagram " * 20]


def echo_server():
    """A UDP echo on 127.0.0.1 in a daemon thread; returns its port."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))

    def serve():
        while True:
            data, addr = s.recvfrom(65536)
            s.sendto(data, addr)

    threading.Thread(target=serve, daemon=True).start()
    return s.getsockname()[1]


class Flow:
    def __init__(self, lib, host, port):
        self.lib, self.host, self.port = lib, host, port
        self.replies = []
        self.done = threading.Event()
        self.closed = threading.Event()
        self.status = SLUICE_OK
        self.flow = c_void_p()
        self.cb = DatagramCallbacks()
        lib.sluice_datagram_callbacks_init(ctypes.byref(self.cb), SLUICE_DATAGRAM_CALLBACKS_VERSION)
        self.cb.on_datagram = ON_DATAGRAM(self.on_datagram)
        self.cb.on_error = ON_ERROR(self.on_error)
        self.cb.on_close = ON_CLOSE(self.on_close)
        self.start_cb = POST_CB(self.start)
        self.close_cb = POST_CB(self.close)
        self.socket_cb = SOCKET_CB(self.on_socket)

    def on_socket(self, fd, kind, _family, _user):
        print("udp.py: outbound socket fd %d (kind %d)" % (fd, kind), file=sys.stderr)
        return 0  # VpnService.protect(fd) would go here

    def start(self, _user):  # loop thread
        session = c_void_p()
        rc = self.lib.sluice_instance_get0_session(self.instance, None, ctypes.byref(session))
        if rc == SLUICE_OK:
            rc = self.lib.sluice_datagram_open(session, ctypes.byref(self.cb), None, None,
                                               ctypes.byref(self.flow))
        for m in MESSAGES if rc == SLUICE_OK else []:
            # The payload is copied before sluice_datagram_send returns.
            rc = self.lib.sluice_datagram_send(self.flow, self.host.encode(), self.port, m, len(m))
            if rc != SLUICE_OK:
                break
        if rc != SLUICE_OK:
            self.status = rc
            self.done.set()

    def on_datagram(self, _flow, host, port, data, length, _user):
        payload = ctypes.string_at(data, length)  # borrowed: copy now
        print("udp.py: %d bytes from %s:%d" % (length, host.decode(), port), file=sys.stderr)
        self.replies.append(payload)
        if len(self.replies) == len(MESSAGES):
            self.done.set()
        return 0

    def on_error(self, _flow, error, _user):
        self.status = error
        self.done.set()

    def close(self, _user):  # loop thread
        if self.flow:
            self.lib.sluice_datagram_close(self.flow)
        else:
            self.closed.set()

    def on_close(self, _flow, _user):
        self.closed.set()

    def run(self):
        lib = self.lib
        engine = c_void_p()
        rc = lib.sluice_engine_new(None, ctypes.byref(engine))
        if rc != SLUICE_OK:
            raise RuntimeError("engine: " + lib.sluice_strerror(rc).decode())
        try:
            self.instance = c_void_p()
            rc = lib.sluice_engine_set_socket_hook(engine, self.socket_cb, None)
            if rc == SLUICE_OK:
                rc = lib.sluice_instance_new(engine, CONFIG, len(CONFIG),
                                             ctypes.byref(self.instance))
            if rc == SLUICE_OK:
                rc = lib.sluice_engine_start(engine)
            if rc == SLUICE_OK:
                rc = lib.sluice_engine_post(engine, self.start_cb, None)
            if rc != SLUICE_OK:
                raise RuntimeError(lib.sluice_strerror(rc).decode())
            self.done.wait(10)
            lib.sluice_engine_post(engine, self.close_cb, None)
            self.closed.wait(10)
            lib.sluice_engine_stop(engine)
        finally:
            lib.sluice_engine_free(engine)
        if self.status != SLUICE_OK:
            print("udp.py: %s" % lib.sluice_strerror(self.status).decode(), file=sys.stderr)
        return self.status


def main(argv):
    lib_path = os.environ.get("SLUICE_LIB") or ctypes.util.find_library("sluice") or "libsluice.so"
    if argv[:1] == ["--lib"]:
        lib_path, argv = argv[1], argv[2:]
    own = len(argv) < 2
    host, port = ("127.0.0.1", echo_server()) if own else (argv[0], int(argv[1]))
    f = Flow(load(lib_path), host, port)
    status = f.run()
    for r in f.replies:
        print(r.decode("utf-8", "replace"))
    if own:
        return 0 if status == SLUICE_OK and sorted(f.replies) == sorted(MESSAGES) else 1
    return 0 if status == SLUICE_OK and f.replies else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
