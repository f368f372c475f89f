#!/usr/bin/env python3
"""fetch.py: embedding sluice from Python through its C ABI (ctypes).

    fetch.py [--lib PATH/libsluice.so] HOST PORT [PATH]

The library comes from --lib, else $SLUICE_LIB, else the system's
libsluice.so. Starts an engine on its own thread, loads a configuration (a
SOCKS5 inbound on 127.0.0.1 with an OS-chosen port, and a direct outbound),
opens a tunnel stream to HOST:PORT through the direct session, sends an
HTTP/1.0 GET for PATH (default "/") and prints the response.

Callbacks arrive on the engine's loop thread (ctypes takes the GIL for
them); sluice objects are touched only there, so the main thread posts one
function with sluice_engine_post and waits for the stream to close.
"""
import ctypes
import ctypes.util
import os
import sys
import threading

# --- the C ABI, from include/sluice/sluice.h ---------------------------------
c_int, c_void_p, c_char_p, c_size_t = ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t
u8p = ctypes.POINTER(ctypes.c_uint8)

SLUICE_OK = 0
SLUICE_STREAM_CALLBACKS_VERSION = 1

ON_OPEN = ctypes.CFUNCTYPE(c_int, c_void_p, c_int, c_char_p, c_void_p)
ON_DATA = ctypes.CFUNCTYPE(c_int, c_void_p, u8p, c_size_t, c_void_p)
ON_EOF = ctypes.CFUNCTYPE(c_int, c_void_p, c_void_p)
ON_WRITE_COMPLETE = ctypes.CFUNCTYPE(c_int, c_void_p, c_void_p, c_int, c_void_p)
ON_ERROR = ctypes.CFUNCTYPE(None, c_void_p, c_int, c_void_p)
ON_CLOSE = ctypes.CFUNCTYPE(None, c_void_p, c_void_p)
POST_CB = ctypes.CFUNCTYPE(None, c_void_p)
# sluice_socket_cb(fd, kind, family, user): 0 lets the socket proceed.
SOCKET_CB = ctypes.CFUNCTYPE(c_int, c_int, c_int, c_int, c_void_p)
SOCKET_KINDS = {1: "TCP", 2: "UDP", 3: "QUIC"}
SLUICE_ERR_CALLBACK_FAILURE = -903


class StreamCallbacks(ctypes.Structure):
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("on_open", ON_OPEN),
        ("on_data", ON_DATA),
        ("on_eof", ON_EOF),
        ("on_write_complete", ON_WRITE_COMPLETE),
        ("on_error", ON_ERROR),
        ("on_close", ON_CLOSE),
    ]


def load(path):
    lib = ctypes.CDLL(path)
    sig = {
        "sluice_version": (c_char_p, []),
        "sluice_strerror": (c_char_p, [c_int]),
        "sluice_engine_new": (c_int, [c_void_p, ctypes.POINTER(c_void_p)]),
        "sluice_engine_start": (c_int, [c_void_p]),
        "sluice_engine_stop": (c_int, [c_void_p]),
        "sluice_engine_free": (None, [c_void_p]),
        "sluice_engine_post": (c_int, [c_void_p, POST_CB, c_void_p]),
        "sluice_engine_failure_reason": (c_char_p, [c_void_p]),
        "sluice_instance_new": (c_int, [c_void_p, c_char_p, c_size_t, ctypes.POINTER(c_void_p)]),
        "sluice_instance_inbound_port": (c_int, [c_void_p, c_char_p, ctypes.POINTER(ctypes.c_uint16)]),
        "sluice_instance_get0_session": (c_int, [c_void_p, c_char_p, ctypes.POINTER(c_void_p)]),
        "sluice_stream_callbacks_init": (c_int, [ctypes.POINTER(StreamCallbacks), ctypes.c_uint32]),
        "sluice_stream_open": (c_int, [c_void_p, c_char_p, ctypes.c_uint16,
                                       ctypes.POINTER(StreamCallbacks), c_void_p,
                                       ctypes.POINTER(c_void_p)]),
        "sluice_stream_write": (c_int, [c_void_p, c_void_p, c_size_t, c_void_p]),
        "sluice_stream_close": (c_int, [c_void_p]),
        "sluice_stream_failure_reason": (c_char_p, [c_void_p]),
        "sluice_engine_set_socket_hook": (c_int, [c_void_p, SOCKET_CB, c_void_p]),
    }
    for name, (res, args) in sig.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    return lib


CONFIG = b"""{
  "inbounds": [{"type": "socks", "tag": "socks-in", "listen": "127.0.0.1", "listen_port": 0}],
  "outbounds": [{"type": "direct", "tag": "direct"}]
}"""


class Fetch:
    """One HTTP GET through a sluice stream. Every method but run() is a
    callback on the loop thread."""

    def __init__(self, lib, host, port, path):
        self.lib, self.host, self.port = lib, host, port
        # Written without a copy: this buffer must live until on_write_complete.
        self.request = ctypes.create_string_buffer(
            ("GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: sluice-fetch.py\r\n\r\n"
             % (path, host)).encode())
        self.response = bytearray()
        self.status = SLUICE_OK
        self.closed = threading.Event()
        # ctypes callbacks must stay referenced while C may call them.
        self.cb = StreamCallbacks()
        lib.sluice_stream_callbacks_init(ctypes.byref(self.cb), SLUICE_STREAM_CALLBACKS_VERSION)
        self.cb.on_open = ON_OPEN(self.on_open)
        self.cb.on_data = ON_DATA(self.on_data)
        self.cb.on_eof = ON_EOF(self.on_eof)
        self.cb.on_write_complete = ON_WRITE_COMPLETE(self.on_write_complete)
        self.cb.on_error = ON_ERROR(self.on_error)
        self.cb.on_close = ON_CLOSE(self.on_close)
        self.post_cb = POST_CB(self.start)
        self.socket_cb = SOCKET_CB(self.on_socket)

    def on_socket(self, fd, kind, family, _user):
        # Every outbound socket, before it connects: where an Android VPN
        # app calls VpnService.protect(fd). Nonzero would refuse it.
        print("fetch.py: outbound %s socket fd %d" % (SOCKET_KINDS.get(kind, "?"), fd),
              file=sys.stderr)
        return 0

    def start(self, _user):
        port = ctypes.c_uint16()
        if self.lib.sluice_instance_inbound_port(self.instance, b"socks-in", ctypes.byref(port)) == 0:
            print("fetch.py: SOCKS5 inbound on 127.0.0.1:%d" % port.value, file=sys.stderr)
        session, stream = c_void_p(), c_void_p()
        rc = self.lib.sluice_instance_get0_session(self.instance, None, ctypes.byref(session))
        if rc == SLUICE_OK:
            rc = self.lib.sluice_stream_open(session, self.host.encode(), self.port,
                                             ctypes.byref(self.cb), None, ctypes.byref(stream))
        if rc != SLUICE_OK:
            self.fail(rc)
            self.closed.set()

    def fail(self, rc):
        if self.status == SLUICE_OK:
            self.status = rc

    def on_open(self, stream, status, reason, _user):
        if status != SLUICE_OK:
            print("fetch.py: connect failed: %s (%s)" % (
                self.lib.sluice_strerror(status).decode(), reason.decode()), file=sys.stderr)
            self.fail(status)
            self.lib.sluice_stream_close(stream)
            return 0
        rc = self.lib.sluice_stream_write(stream, self.request, len(self.request.value), None)
        if rc != SLUICE_OK:
            # A nonzero return alone leaves the stream silent until it is
            # closed: close it, then report the failure.
            self.fail(rc)
            self.lib.sluice_stream_close(stream)
            return SLUICE_ERR_CALLBACK_FAILURE
        return 0

    def on_data(self, _stream, data, length, _user):
        self.response += ctypes.string_at(data, length)  # borrowed: copy now
        return 0

    def on_eof(self, stream, _user):
        self.lib.sluice_stream_close(stream)
        return 0

    def on_write_complete(self, _stream, _ctx, status, _user):
        if status != SLUICE_OK:
            self.fail(status)
        return 0

    def on_error(self, stream, error, _user):
        print("fetch.py: stream failed: %s (%s)" % (
            self.lib.sluice_strerror(error).decode(),
            self.lib.sluice_stream_failure_reason(stream).decode()), file=sys.stderr)
        self.fail(error)
        self.lib.sluice_stream_close(stream)

    def on_close(self, _stream, _user):
        self.closed.set()

    def run(self):
        lib = self.lib
        engine = c_void_p()
        rc = lib.sluice_engine_new(None, ctypes.byref(engine))
        if rc != SLUICE_OK:
            raise RuntimeError("engine: " + lib.sluice_strerror(rc).decode())
        try:
            # Before start, this thread is the engine's loop thread.
            self.instance = c_void_p()
            rc = lib.sluice_engine_set_socket_hook(engine, self.socket_cb, None)
            if rc == SLUICE_OK:
                rc = lib.sluice_instance_new(engine, CONFIG, len(CONFIG),
                                             ctypes.byref(self.instance))
            if rc != SLUICE_OK:
                raise RuntimeError("config: %s: %s" % (
                    lib.sluice_strerror(rc).decode(),
                    lib.sluice_engine_failure_reason(engine).decode()))
            for step in (lambda: lib.sluice_engine_start(engine),
                         lambda: lib.sluice_engine_post(engine, self.post_cb, None)):
                rc = step()
                if rc != SLUICE_OK:
                    raise RuntimeError(lib.sluice_strerror(rc).decode())
            if not self.closed.wait(30):
                raise RuntimeError("timed out")
            lib.sluice_engine_stop(engine)
        finally:
            lib.sluice_engine_free(engine)
        return self.status


def main(argv):
    lib_path = os.environ.get("SLUICE_LIB") or ctypes.util.find_library("sluice") or "libsluice.so"
    if argv[:1] == ["--lib"]:
        lib_path, argv = argv[1], argv[2:]
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    lib = load(lib_path)
    print("fetch.py: libsluice %s" % lib.sluice_version().decode(), file=sys.stderr)
    f = Fetch(lib, argv[0], int(argv[1]), argv[2] if len(argv) > 2 else "/")
    status = f.run()
    sys.stdout.write(f.response.decode("utf-8", "replace"))
    return 0 if status == SLUICE_OK else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
