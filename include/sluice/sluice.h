/* sluice/sluice.h: the stable C ABI of sluice.
 *
 * Copyright 2026 the sluice authors. Apache-2.0.
 *
 * This header is the ABI: functions are only added, structs only grow at
 * their end (each field says "since vN"), numbers never change. The C++
 * headers next to it are source-stable only.
 *
 * Objects and ownership
 *
 *   sluice_engine    one libuv loop with its buffer pool; owns everything
 *                    created on it. sluice_engine_new / sluice_engine_free.
 *   sluice_instance  a running configuration (sing-box style JSON): its
 *                    outbound sessions and inbound listeners.
 *                    sluice_instance_new / sluice_instance_close.
 *   sluice_session   one outbound of an instance, borrowed from it
 *                    (sluice_instance_get0_session); valid until the
 *                    instance's close callback.
 *   sluice_stream    a byte stream to host:port through a session.
 *                    sluice_stream_open(2) / sluice_stream_close.
 *   sluice_datagram  a UDP flow to any host:port through a session.
 *                    sluice_datagram_open / sluice_datagram_close. Since v2.
 *
 * Objects doing I/O close asynchronously: *_close starts it, exactly one
 * close callback ends it, nothing is called back after it, and the memory
 * is reclaimed when the callback returns.
 *
 * Threads
 *
 * Everything belongs to its engine's loop thread unless its documentation
 * says "thread-safe": in own-thread mode the host reaches the loop with
 * sluice_engine_post, and every callback arrives on the loop thread. Before
 * sluice_engine_start (and after sluice_engine_stop) the thread that created
 * the engine counts as the loop thread. A call on the wrong thread returns
 * SLUICE_ERR_INVALID_STATE (debug builds abort instead).
 *
 * Errors
 *
 * Functions return 0 or a negative sluice_error. A call that fails never
 * invokes its callback. Detail (OS error, peer reason, JSON path) is in the
 * object's *_failure_reason string.
 *
 * Callbacks returning int
 *
 * Callbacks that return int return 0 to go on. ANY nonzero return fails the
 * object with SLUICE_ERR_CALLBACK_FAILURE: it stops reading, refuses writes
 * and calls nothing more but write completions and its close callback. It
 * is NOT closed for you: it stays allocated, and silent, until the host
 * calls its *_close. A host that returns nonzero must close the object
 * (from the same callback, or later).
 *
 * Process-wide side effects
 *
 * The first sluice_engine_new sets SIGPIPE to SIG_IGN if its disposition is
 * still the default (SIG_DFL): a write to a peer that has gone then fails
 * with EPIPE instead of killing the process. A handler the host installed
 * is left alone; a host that wants SIGPIPE back must restore it itself.
 *
 * Versioned structs
 *
 * Option and callback structs begin with a version field; initialize them
 * with the matching *_init(&s, SLUICE_..._VERSION), which zero-fills, sets
 * the version and every default. A library newer than the header reads
 * older versions; a version it does not know is SLUICE_ERR_INVALID_ARGUMENT.
 */
#ifndef SLUICE_SLUICE_H
#define SLUICE_SLUICE_H

#include <stddef.h>
#include <stdint.h>

/* sluice_version.h (generated from the build's project version) defines
 * SLUICE_VERSION_STRING ("MAJOR.MINOR.PATCH"), SLUICE_VERSION_NUM (0xMMmmpp)
 * and SLUICE_VERSION_MAJOR/MINOR/PATCH: the version this header belongs
 * to. sluice_version() and sluice_version_number() return the library's
 * own, which is the same for a matching library. */
#include "sluice_version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define SLUICE_EXTERN __attribute__((visibility("default")))
#else
#define SLUICE_EXTERN
#endif

/* ------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------ */

/* sluice_error lists every code, value for value the C++ sluice::Errc.
 * 0 is success; errors are negative and grouped in ranges: -1xx generic,
 * -2xx network and OS, -3xx cryptography and TLS, -4xx protocol (a peer sent
 * something wrong), -5xx configuration, and at or below SLUICE_ERR_FATAL
 * the object that returned it is dead. The numbers are the same on every
 * platform and never change. */
typedef enum sluice_error {
  SLUICE_OK = 0,

  SLUICE_ERR_INVALID_ARGUMENT = -101,
  SLUICE_ERR_INVALID_STATE = -102,
  SLUICE_ERR_WOULD_BLOCK = -103,
  SLUICE_ERR_BUFFER_TOO_SMALL = -104,
  SLUICE_ERR_NOT_SUPPORTED = -105,
  SLUICE_ERR_CANCELED = -106,
  SLUICE_ERR_TIMED_OUT = -107,
  SLUICE_ERR_CLOSED = -108,
  SLUICE_ERR_LIMIT_EXCEEDED = -109,

  SLUICE_ERR_IO = -201,
  SLUICE_ERR_EOF = -202,
  SLUICE_ERR_CONNECTION_REFUSED = -203,
  SLUICE_ERR_CONNECTION_RESET = -204,
  SLUICE_ERR_CONNECTION_ABORTED = -205,
  SLUICE_ERR_HOST_UNREACHABLE = -206,
  SLUICE_ERR_NETWORK_UNREACHABLE = -207,
  SLUICE_ERR_ADDRESS_IN_USE = -208,
  SLUICE_ERR_ADDRESS_NOT_AVAILABLE = -209,
  SLUICE_ERR_DNS_FAILURE = -210,
  SLUICE_ERR_BROKEN_PIPE = -211,
  SLUICE_ERR_SOCKET_REFUSED = -212, /* the socket hook refused a socket. Since v2 */
  SLUICE_ERR_NETWORK_CHANGED =
      -213, /* closed by sluice_engine_network_changed (could not migrate). Since v2 */

  SLUICE_ERR_CRYPTO_FAILURE = -301,
  SLUICE_ERR_DECRYPT_FAILED = -302,
  SLUICE_ERR_BAD_KEY = -303,
  SLUICE_ERR_TLS_HANDSHAKE_FAILED = -304,
  SLUICE_ERR_TLS_ALERT = -305,
  SLUICE_ERR_CERT_VERIFY_FAILED = -306,
  SLUICE_ERR_PIN_MISMATCH = -307,
  SLUICE_ERR_ECH_REJECTED = -308,

  SLUICE_ERR_MALFORMED = -401,
  SLUICE_ERR_PROTOCOL_VIOLATION = -402,
  SLUICE_ERR_UNSUPPORTED_VERSION = -403,
  SLUICE_ERR_UNKNOWN_COMMAND = -404,
  SLUICE_ERR_UNSUPPORTED_ADDRESS_TYPE = -405,
  SLUICE_ERR_AUTH_FAILED = -406,
  SLUICE_ERR_FRAME_TOO_LARGE = -407,
  SLUICE_ERR_TRUNCATED = -408,

  SLUICE_ERR_CONFIG_INVALID = -501,
  SLUICE_ERR_CONFIG_UNKNOWN_FIELD = -502,
  SLUICE_ERR_CONFIG_MISSING_FIELD = -503,
  SLUICE_ERR_CONFIG_WRONG_TYPE = -504,
  SLUICE_ERR_CONFIG_IO = -505,

  /* SLUICE_ERR_FATAL is the threshold, not a code: see sluice_err_is_fatal. */
  SLUICE_ERR_FATAL = -900,
  SLUICE_ERR_INTERNAL = -901,
  SLUICE_ERR_NO_MEMORY = -902,
  SLUICE_ERR_CALLBACK_FAILURE = -903
} sluice_error;

/* sluice_strerror returns the stable English message for |error| (any int:
 * unknown values give "unknown error"). The string is static, never NULL.
 * Thread-safe. Since v1. */
SLUICE_EXTERN const char* sluice_strerror(int error);

/* sluice_err_is_fatal returns 1 if |error| is at or below SLUICE_ERR_FATAL
 * (the object that returned it is dead and can only be closed), else 0.
 * Thread-safe. Since v1. */
SLUICE_EXTERN int sluice_err_is_fatal(int error);

/* sluice_version returns the library version, "MAJOR.MINOR.PATCH" (static
 * string; equal to SLUICE_VERSION_STRING of the header the library was
 * built with). Thread-safe. Since v1. */
SLUICE_EXTERN const char* sluice_version(void);

/* sluice_version_number returns the version as 0xMMmmpp (major, minor,
 * patch, one byte each): 0.1.0 is 0x000100, as SLUICE_VERSION_NUM.
 * Thread-safe. Since v1. */
SLUICE_EXTERN uint32_t sluice_version_number(void);

/* sluice_has_protocol returns 1 if this build of the library has the
 * protocol |name| (NUL-terminated, case-sensitive: a config "type" such as
 * "direct", "socks", "http", "trojan", "vless", or an inbound type such as
 * "mixed"), else 0 (also for NULL). The QUIC protocols ("tuic") are part
 * of the library. Thread-safe. Since v2. */
SLUICE_EXTERN int sluice_has_protocol(const char* name);

/* sluice_protocols returns the names sluice_has_protocol accepts, joined
 * with ',' (static string, never NULL), e.g. "block,direct,http,...".
 * Thread-safe. Since v2. */
SLUICE_EXTERN const char* sluice_protocols(void);

/* ------------------------------------------------------------------------
 * Logging (process-wide)
 * ------------------------------------------------------------------------ */

typedef enum sluice_log_level {
  SLUICE_LOG_TRACE = 0,
  SLUICE_LOG_DEBUG = 1,
  SLUICE_LOG_INFO = 2,
  SLUICE_LOG_WARN = 3,
  SLUICE_LOG_ERROR = 4,
  SLUICE_LOG_OFF = 5
} sluice_log_level;

/* sluice_log_cb receives one log line: |level| a sluice_log_level, |msg|
 * the text, |msg_len| bytes plus a terminating NUL, without a trailing
 * newline, borrowed for the call. It is called on whichever thread logs
 * (normally a loop thread), one call at a time, and must not call
 * sluice_set_log_callback. */
typedef void (*sluice_log_cb)(int level, const char* msg, size_t msg_len, void* user_data);

/* sluice_set_log_callback installs |cb| (NULL restores the default, which
 * writes to stderr) with |user_data| passed back on every call. When it
 * returns, the previous callback is no longer running and never called
 * again. Thread-safe; not from inside a log callback. Since v1. */
SLUICE_EXTERN void sluice_set_log_callback(sluice_log_cb cb, void* user_data);

/* sluice_set_log_level drops messages below |level| (a sluice_log_level;
 * default SLUICE_LOG_INFO; SLUICE_LOG_OFF silences everything). Returns 0,
 * or SLUICE_ERR_INVALID_ARGUMENT for a value outside the enum. Thread-safe.
 * Since v1. */
SLUICE_EXTERN int sluice_set_log_level(int level);

/* ------------------------------------------------------------------------
 * Engine
 * ------------------------------------------------------------------------ */

typedef struct sluice_engine sluice_engine;
typedef struct sluice_instance sluice_instance;
typedef struct sluice_session sluice_session;
typedef struct sluice_stream sluice_stream;
typedef struct sluice_datagram sluice_datagram;

#define SLUICE_ENGINE_OPTIONS_V1 1
#define SLUICE_ENGINE_OPTIONS_VERSION SLUICE_ENGINE_OPTIONS_V1

/* sluice_engine_options configure sluice_engine_new. */
typedef struct sluice_engine_options {
  uint32_t version; /* SLUICE_ENGINE_OPTIONS_VERSION */
  /* reserved: ignored; leave it 0 (as *_init sets it). On 64-bit targets it
   * fills what was implicit padding in v1, so the layout is unchanged
   * there. Since v1. */
  uint32_t reserved;
  /* uv_loop: the host's uv_loop_t* to run inside (the host runs it and
   * calls everything on its thread), or NULL (default) for a loop of the
   * engine's own that sluice_engine_start runs on a new thread. The loop
   * must come from the same libuv (>= 1.44) that libsluice is linked
   * against: libuv's structs are not stable across its versions, so a host
   * built with a static or different libuv must not pass its loop here
   * (use NULL and sluice_engine_post instead). Since v1. */
  void* uv_loop;
  /* pool_max_bytes caps the buffer pool's memory; 0 (default) = no cap.
   * Since v1. */
  uint64_t pool_max_bytes;
} sluice_engine_options;

/* sluice_engine_options_init zero-fills |options| for |version| (only the
 * fields that version has are written), sets options->version and every
 * default. Returns 0, or SLUICE_ERR_INVALID_ARGUMENT if |options| is NULL or
 * |version| unknown. Thread-safe. Since v1. */
SLUICE_EXTERN int sluice_engine_options_init(sluice_engine_options* options, uint32_t version);

/* sluice_engine_new creates an engine and sets |*out_engine| on success only.
 * |options| may be NULL (defaults: own thread); it is read during the call
 * only. The calling thread is the loop thread until sluice_engine_start.
 * Returns 0, SLUICE_ERR_INVALID_ARGUMENT (NULL |out_engine|, unknown options
 * version), SLUICE_ERR_IO (the loop could not be set up) or
 * SLUICE_ERR_NO_MEMORY. Since v1. */
SLUICE_EXTERN int sluice_engine_new(const sluice_engine_options* options,
                                    sluice_engine** out_engine);

/* sluice_engine_start runs the engine's own loop on a new thread; from then
 * on reach it with sluice_engine_post. Call it from the thread that created
 * the engine. Returns 0, SLUICE_ERR_INVALID_ARGUMENT (NULL), or
 * SLUICE_ERR_INVALID_STATE (host-loop mode, already started, or stopped).
 * Since v1. */
SLUICE_EXTERN int sluice_engine_start(sluice_engine* engine);

/* sluice_engine_stop closes every object on the engine: inbounds, sessions
 * and streams (each stream gets its on_close; instances not yet closed stay
 * allocated, closed, until sluice_instance_close or sluice_engine_free).
 * Own-thread mode: thread-safe, except from the loop thread itself (that
 * would wait for itself: SLUICE_ERR_INVALID_STATE); it returns when the loop
 * thread has ended, and the calling thread becomes the loop thread. A never
 * started engine closes everything on the calling thread before returning.
 * Host-loop mode: call it on the loop thread; it starts the close, which
 * completes while the host keeps running its loop. Idempotent. Returns 0,
 * SLUICE_ERR_INVALID_ARGUMENT (NULL) or SLUICE_ERR_INVALID_STATE. Since v1. */
SLUICE_EXTERN int sluice_engine_stop(sluice_engine* engine);

/* sluice_engine_free stops the engine if needed (as sluice_engine_stop),
 * frees instances never closed, and frees the engine. NULL does nothing.
 * Not from the loop thread of a running own-thread engine nor from any
 * callback; in host-loop mode only after the host ran its loop to the end
 * of sluice_engine_stop's close. Every handle of the engine is invalid
 * afterwards. Since v1. */
SLUICE_EXTERN void sluice_engine_free(sluice_engine* engine);

/* sluice_engine_post_cb is a function queued by sluice_engine_post. */
typedef void (*sluice_engine_post_cb)(void* user_data);

/* sluice_engine_post queues |fn|(|user_data|) to run on the loop thread.
 * Thread-safe; may be called from callbacks. Functions run in the order
 * posted; every accepted one runs, even during stop. Returns 0,
 * SLUICE_ERR_INVALID_ARGUMENT (NULL |engine| or |fn|), SLUICE_ERR_CLOSED
 * (the engine is stopping or stopped: |fn| will not run) or
 * SLUICE_ERR_NO_MEMORY. Since v1. */
SLUICE_EXTERN int sluice_engine_post(sluice_engine* engine, sluice_engine_post_cb fn,
                                     void* user_data);

/* sluice_engine_is_loop_thread returns 1 if the calling thread is |engine|'s
 * loop thread (see "Threads" above), else 0. Thread-safe. Since v1. */
SLUICE_EXTERN int sluice_engine_is_loop_thread(const sluice_engine* engine);

#define SLUICE_ENGINE_STATS_V1 1
#define SLUICE_ENGINE_STATS_V2 2
#define SLUICE_ENGINE_STATS_V3 3
#define SLUICE_ENGINE_STATS_VERSION SLUICE_ENGINE_STATS_V3

/* sluice_engine_stats is filled by sluice_engine_get_stats: the caller sets
 * version (sluice_engine_stats_init), the library fills the fields that
 * version has. */
typedef struct sluice_engine_stats {
  uint32_t version;                /* SLUICE_ENGINE_STATS_VERSION */
  uint64_t bytes_up;               /* application -> tunnel (relays, stream writes). v1 */
  uint64_t bytes_down;             /* tunnel -> application. v1 */
  uint64_t streams_opened;         /* streams opened since creation. v1 */
  uint64_t streams_active;         /* streams open now. v1 */
  uint64_t connections_accepted;   /* by inbounds. v1 */
  uint64_t pool_hits;              /* buffer pool gets served from a free list. v1 */
  uint64_t pool_misses;            /* gets that took new memory. v1 */
  uint64_t pool_bytes_outstanding; /* pool bytes in use now. v1 */
  uint64_t pool_high_water;        /* max of pool_bytes_outstanding. v1 */
  /* ECH on outgoing TLS connections with a configured ECHConfigList (GREASE
   * not counted): */
  uint64_t ech_accepted; /* handshakes in which the server accepted ECH. v2 */
  uint64_t ech_rejected; /* handshakes in which it rejected ECH (each attempt). v2 */
  uint64_t ech_retried;  /* second attempts with a rejection's retry configs. v2 */
  /* Inbound accepts that failed (out of file descriptors: EMFILE/ENFILE; the
   * listener backs off and retries). v3 */
  uint64_t accept_errors;
  /* Accepted connections closed at once by an inbound's max_connections or
   * max_connections_per_ip, or by the pool cap (QUIC connections refused
   * before their handshake included). v3 */
  uint64_t connections_refused;
} sluice_engine_stats;

/* sluice_engine_stats_init zero-fills |stats| for |version| and sets its
 * version. Returns 0 or SLUICE_ERR_INVALID_ARGUMENT (NULL, unknown version).
 * Thread-safe. Since v1. */
SLUICE_EXTERN int sluice_engine_stats_init(sluice_engine_stats* stats, uint32_t version);

/* sluice_engine_get_stats copies |engine|'s counters into |out_stats|, whose
 * version field says how much the caller's struct holds. Loop thread.
 * Returns 0, SLUICE_ERR_INVALID_ARGUMENT (NULL, unknown version) or
 * SLUICE_ERR_INVALID_STATE (wrong thread). Since v1. */
SLUICE_EXTERN int sluice_engine_get_stats(sluice_engine* engine, sluice_engine_stats* out_stats);

/* sluice_engine_failure_reason returns the detail of the last failed call
 * on |engine| that has one (sluice_instance_new: the JSON path and reason,
 * e.g. "inbounds[0].listen_port: expected integer 0..65535, got string"),
 * or "". Borrowed: valid until the next call on |engine|. Never NULL (""
 * for a NULL |engine|). Loop thread: from another thread it returns the
 * fixed marker SLUICE_FAILURE_REASON_WRONG_THREAD instead (use
 * sluice_engine_copy_failure_reason there). Since v1. */
SLUICE_EXTERN const char* sluice_engine_failure_reason(const sluice_engine* engine);

/* The string sluice_engine_failure_reason returns off the loop thread. */
#define SLUICE_FAILURE_REASON_WRONG_THREAD                         \
  "(sluice_engine_failure_reason called off the loop thread: use " \
  "sluice_engine_copy_failure_reason)"

/* sluice_engine_copy_failure_reason copies the reason
 * sluice_engine_failure_reason would return into |out_buf| (|buf_len|
 * bytes; truncated to fit, always NUL-terminated when |buf_len| > 0) and
 * sets |*out_len| (may be NULL) to its full length without the NUL.
 * |out_buf| may be NULL when |buf_len| is 0 (to learn the length).
 * Thread-safe. Returns 0, SLUICE_ERR_INVALID_ARGUMENT (NULL |engine|, NULL
 * |out_buf| with a length) or SLUICE_ERR_BUFFER_TOO_SMALL (truncated).
 * Since v2. */
SLUICE_EXTERN int sluice_engine_copy_failure_reason(const sluice_engine* engine, char* out_buf,
                                                    size_t buf_len, size_t* out_len);

/* ------------------------------------------------------------------------
 * Host integration: socket hook and network changes (since v2)
 * ------------------------------------------------------------------------ */

/* Kinds of outbound socket given to the socket hook. */
#define SLUICE_SOCKET_TCP 1  /* a TCP connection being dialed */
#define SLUICE_SOCKET_UDP 2  /* a direct UDP flow's socket */
#define SLUICE_SOCKET_QUIC 3 /* a QUIC client endpoint's UDP socket */

/* sluice_socket_cb is told about every socket sluice creates for outbound
 * traffic (TCP dials of every session, direct UDP flows, QUIC client
 * endpoints), after socket(2) and before it connects, binds or sends:
 * |fd| the socket, |kind| a SLUICE_SOCKET_* value, |family| AF_INET or
 * AF_INET6. Return 0 to let it proceed; anything else refuses it: the
 * socket is closed and the open that needed it fails with
 * SLUICE_ERR_SOCKET_REFUSED (a dial with other addresses left tries the
 * next one). Sockets of inbound listeners and of the connections they
 * accept are not shown. The fd stays sluice's: set options on it
 * (VpnService.protect(), SO_BINDTODEVICE, IP_BOUND_IF, marks), do not
 * close it. Called on the loop thread; it must not call sluice functions
 * other than the thread-safe ones. */
typedef int (*sluice_socket_cb)(int fd, int kind, int family, void* user_data);

/* sluice_engine_set_socket_hook installs |cb| (NULL removes it) with
 * |user_data| for every outbound socket created on |engine| from now on.
 * Loop thread (or before sluice_engine_start); may be called from
 * callbacks other than the hook itself. Returns 0,
 * SLUICE_ERR_INVALID_ARGUMENT (NULL |engine|) or SLUICE_ERR_INVALID_STATE
 * (wrong thread, engine stopping). Since v2. */
SLUICE_EXTERN int sluice_engine_set_socket_hook(sluice_engine* engine, sluice_socket_cb cb,
                                                void* user_data);

/* Flags of sluice_engine_network_changed. */
#define SLUICE_NETWORK_LINK_CHANGED \
  0x1u                           /* interface, address or route changed (Wi-Fi <-> cellular) */
#define SLUICE_NETWORK_WOKE 0x2u /* the device resumed from sleep */

/* sluice_engine_network_changed tells |engine| that the network under it
 * changed, so that connections bound to the old path do not hang until
 * their idle timeouts. Each QUIC client endpoint binds a new UDP socket (a
 * fresh local port, shown to the socket hook) and migrates its connections
 * to it (RFC 9000 section 9: at once, the new path validated meanwhile);
 * streams on them carry on. A connection that cannot migrate (handshake not
 * confirmed, migration disabled by the server, no spare connection ID), or
 * every connection of an endpoint whose new socket could not be had (e.g.
 * the hook refused it), is closed with SLUICE_ERR_NETWORK_CHANGED, so the
 * next open dials again. Streams over TCP are not touched (TCP cannot
 * move; their own errors and keep-alives apply), and every new dial uses
 * the new network. |flags| is a set of SLUICE_NETWORK_*; unknown bits are
 * ignored and 0 means "something changed"; both flags have the same effect
 * today. Loop thread; may be called from callbacks other than the socket
 * hook. Returns 0, SLUICE_ERR_INVALID_ARGUMENT (NULL) or
 * SLUICE_ERR_INVALID_STATE (wrong thread, engine stopping). Since v2. */
SLUICE_EXTERN int sluice_engine_network_changed(sluice_engine* engine, uint32_t flags);

/* ------------------------------------------------------------------------
 * Instance: a running configuration
 * ------------------------------------------------------------------------ */

/* sluice_instance_new parses |json| (|json_len| bytes, a sing-box style
 * document; borrowed for the call, need not be NUL-terminated), builds its
 * outbound sessions and starts its inbound listeners on |engine|, and sets
 * |*out_instance| on success only. Unknown fields are logged as warnings,
 * not errors, and kept: sluice_instance_warning_count and
 * sluice_instance_warning_get return them. On failure sluice_engine_failure_reason names the cause.
 * Loop thread (or before sluice_engine_start). Returns 0,
 * SLUICE_ERR_INVALID_ARGUMENT (NULL argument), SLUICE_ERR_INVALID_STATE
 * (wrong thread, engine stopped), SLUICE_ERR_CONFIG_* (bad document),
 * SLUICE_ERR_NOT_SUPPORTED (a feature this build lacks), network errors
 * such as SLUICE_ERR_ADDRESS_IN_USE (a listener could not bind), or
 * SLUICE_ERR_NO_MEMORY. Since v1. */
SLUICE_EXTERN int sluice_instance_new(sluice_engine* engine, const char* json, size_t json_len,
                                      sluice_instance** out_instance);

/* sluice_instance_inbound_port sets |*out_port| to the port the inbound
 * tagged |tag| listens on (useful with listen_port 0); |tag| NULL means the
 * first inbound. Loop thread. Returns 0, SLUICE_ERR_INVALID_ARGUMENT (NULL
 * |instance| or |out_port|, no such inbound) or SLUICE_ERR_INVALID_STATE
 * (wrong thread, instance closing). Since v1. */
SLUICE_EXTERN int sluice_instance_inbound_port(sluice_instance* instance, const char* tag,
                                               uint16_t* out_port);

/* sluice_instance_get0_session sets |*out_session| to the outbound session
 * tagged |tag|, or with |tag| NULL to the route's final one (route.final,
 * else the first outbound, else an implicit "direct"). The session is
 * borrowed: it stays valid until the instance's close callback. Loop
 * thread. Returns 0, SLUICE_ERR_INVALID_ARGUMENT (NULL |instance| or
 * |out_session|, no such outbound), SLUICE_ERR_INVALID_STATE (wrong thread,
 * instance closing) or SLUICE_ERR_NO_MEMORY. Since v1. */
SLUICE_EXTERN int sluice_instance_get0_session(sluice_instance* instance, const char* tag,
                                               sluice_session** out_session);

/* sluice_instance_warning_count returns how many warnings (unknown fields
 * and the like) parsing the instance's configuration gave, 0 for NULL.
 * Loop thread. Since v2. */
SLUICE_EXTERN size_t sluice_instance_warning_count(const sluice_instance* instance);

/* sluice_instance_warning_get returns warning |index| (0-based, below
 * sluice_instance_warning_count), e.g. "outbounds[0].tls.foo: unknown
 * field", or NULL for a NULL |instance| or an index out of range.
 * Borrowed: valid until the instance's close callback. Loop thread.
 * Since v2. */
SLUICE_EXTERN const char* sluice_instance_warning_get(const sluice_instance* instance,
                                                      size_t index);

#define SLUICE_OUTBOUND_STATS_V1 1
#define SLUICE_OUTBOUND_STATS_VERSION SLUICE_OUTBOUND_STATS_V1

/* sluice_outbound_stats count what the host opened through one outbound
 * with sluice_stream_open(2) and sluice_datagram_open (the traffic of
 * inbound listeners is in sluice_engine_stats only). Filled by
 * sluice_instance_get_outbound_stats like sluice_engine_stats. */
typedef struct sluice_outbound_stats {
  uint32_t version;            /* SLUICE_OUTBOUND_STATS_VERSION */
  uint32_t reserved;           /* 0 */
  uint64_t streams_opened;     /* opens that succeeded. v1 */
  uint64_t streams_failed;     /* opens that failed (deadline included; not cancelled ones). v1 */
  uint64_t streams_active;     /* streams open now. v1 */
  uint64_t bytes_up;           /* stream bytes written plus datagram payload sent. v1 */
  uint64_t bytes_down;         /* stream bytes received plus datagram payload received. v1 */
  uint64_t datagram_flows;     /* datagram flows opened. v1 */
  uint64_t datagrams_sent;     /* datagrams accepted by sluice_datagram_send. v1 */
  uint64_t datagrams_received; /* datagrams delivered to on_datagram. v1 */
} sluice_outbound_stats;

/* sluice_outbound_stats_init zero-fills |stats| for |version| and sets its
 * version. Returns 0 or SLUICE_ERR_INVALID_ARGUMENT (NULL, unknown
 * version). Thread-safe. Since v2. */
SLUICE_EXTERN int sluice_outbound_stats_init(sluice_outbound_stats* stats, uint32_t version);

/* sluice_instance_get_outbound_stats copies the counters of the outbound
 * tagged |tag| (NULL: the route's final one, as sluice_instance_get0_session)
 * into |out_stats|, whose version says how much it holds. Streams and flows
 * still open after the instance closed keep counting, but can no longer be
 * read here. Loop thread. Returns 0, SLUICE_ERR_INVALID_ARGUMENT (NULL
 * |instance| or |out_stats|, no such outbound, unknown version),
 * SLUICE_ERR_INVALID_STATE (wrong thread, instance closing) or
 * SLUICE_ERR_NO_MEMORY. Since v2. */
SLUICE_EXTERN int sluice_instance_get_outbound_stats(sluice_instance* instance, const char* tag,
                                                     sluice_outbound_stats* out_stats);

/* sluice_instance_close_cb ends sluice_instance_close. */
typedef void (*sluice_instance_close_cb)(void* user_data);

/* sluice_instance_close stops the instance's listeners, fails its streams
 * still opening (on_open with SLUICE_ERR_CANCELED) and closes its sessions;
 * streams already open are independent and stay open. |cb| (may be NULL)
 * is called exactly once with |user_data|, later on the loop thread; the
 * instance and its sessions are freed when it returns. If the engine has
 * already stopped, |cb| is called before this function returns. Loop
 * thread; may be called from callbacks. Returns 0,
 * SLUICE_ERR_INVALID_ARGUMENT (NULL |instance|) or SLUICE_ERR_INVALID_STATE
 * (wrong thread, already closing: |cb| is then not called). Since v1. */
SLUICE_EXTERN int sluice_instance_close(sluice_instance* instance, sluice_instance_close_cb cb,
                                        void* user_data);

/* ------------------------------------------------------------------------
 * Streams
 * ------------------------------------------------------------------------ */

/* Stream callbacks. Each is called on the loop thread with the stream's
 * user data (sluice_stream_open's |stream_user_data|) last. Those returning
 * int return 0, or SLUICE_ERR_CALLBACK_FAILURE (any nonzero value counts):
 * the stream then fails with SLUICE_ERR_CALLBACK_FAILURE, stops reading,
 * refuses writes and calls nothing more but on_write_complete and on_close.
 * IMPORTANT: such a stream is not closed by the library; it stays silent
 * until the host calls sluice_stream_close (on_error is not called for
 * it), so a callback that returns nonzero should also close the stream.
 * Every callback may call any sluice_stream_* function on its stream,
 * including sluice_stream_close. */

/* on_open: the open finished. |status| 0: the stream is connected, reading
 * starts when on_open returns (unless paused). Otherwise the error, with
 * |reason| (borrowed for the call) in words, e.g. "127.0.0.1:9: connection
 * refused"; the stream is then dead and only sluice_stream_close remains.
 *
 * What success means depends on the session. direct: the TCP connection
 * to the target is established. socks and http: the upstream proxy
 * reported that it reached the target (its refusal is an open failure).
 * trojan and vless: the tunnel to the server is up and the request is
 * sent; neither protocol answers before the target does (Trojan has no
 * reply at all; a VLESS server, sluice's included, sends its response
 * header in front of the first reply byte, and Xray's does not wait for
 * the target), so the target's refusal shows later as on_eof with no data
 * (the server closes the tunnel), not as an open failure. */
typedef int (*sluice_stream_open_cb)(sluice_stream* stream, int status, const char* reason,
                                     void* stream_user_data);
/* on_data: |data_len| (> 0) bytes arrived. |data| is borrowed for the call
 * only: copy what you keep. */
typedef int (*sluice_stream_data_cb)(sluice_stream* stream, const uint8_t* data, size_t data_len,
                                     void* stream_user_data);
/* on_eof: the peer ended its side; no more on_data. Writing may go on. */
typedef int (*sluice_stream_eof_cb)(sluice_stream* stream, void* stream_user_data);
/* on_write_complete: the library no longer uses the buffer given to the
 * sluice_stream_write that took |write_ctx|. |status| 0: the bytes were
 * handed to the OS (complete is not delivered); SLUICE_ERR_CLOSED: the
 * stream closed first and the bytes were dropped; another error: the
 * stream failed. Called once per successful sluice_stream_write, never from
 * inside it, and for every write before on_close. */
typedef int (*sluice_stream_write_complete_cb)(sluice_stream* stream, void* write_ctx, int status,
                                               void* stream_user_data);
/* on_error: the connection failed (reset, timeout, ...) with |error|;
 * sluice_stream_failure_reason has the detail. Only sluice_stream_close
 * remains useful. Called from the loop, never from inside a sluice_* call,
 * and not at all once sluice_stream_close was called. */
typedef void (*sluice_stream_error_cb)(sluice_stream* stream, int error, void* stream_user_data);
/* on_close: the last callback; the stream is freed when it returns. */
typedef void (*sluice_stream_close_cb)(sluice_stream* stream, void* stream_user_data);

#define SLUICE_STREAM_CALLBACKS_V1 1
#define SLUICE_STREAM_CALLBACKS_VERSION SLUICE_STREAM_CALLBACKS_V1

typedef struct sluice_stream_callbacks {
  uint32_t version;                                  /* SLUICE_STREAM_CALLBACKS_VERSION */
  sluice_stream_open_cb on_open;                     /* required. v1 */
  sluice_stream_data_cb on_data;                     /* required. v1 */
  sluice_stream_eof_cb on_eof;                       /* optional. v1 */
  sluice_stream_write_complete_cb on_write_complete; /* optional. v1 */
  sluice_stream_error_cb on_error;                   /* optional. v1 */
  sluice_stream_close_cb on_close;                   /* optional. v1 */
} sluice_stream_callbacks;

/* sluice_stream_callbacks_init zero-fills |callbacks| for |version| (every
 * callback NULL) and sets its version. Returns 0 or
 * SLUICE_ERR_INVALID_ARGUMENT (NULL, unknown version). Thread-safe.
 * Since v1. */
SLUICE_EXTERN int sluice_stream_callbacks_init(sluice_stream_callbacks* callbacks,
                                               uint32_t version);

/* sluice_stream_open starts opening a stream to |host| (a domain name or an
 * IP literal without brackets; copied) and |port| through |session|, and
 * sets |*out_stream| on success only. |callbacks| is copied; on_open always
 * follows later (never from inside this call), then whatever else, then
 * on_close after sluice_stream_close or engine stop: every stream handed
 * out must be closed. Loop thread; may be called from callbacks. Returns 0,
 * SLUICE_ERR_INVALID_ARGUMENT (NULL or empty |host|, |host| longer than 255
 * bytes, port 0, missing required callback, unknown callbacks version),
 * SLUICE_ERR_INVALID_STATE (wrong thread, the session's instance is closing
 * or the engine stopping) or SLUICE_ERR_NO_MEMORY. Since v1. */
SLUICE_EXTERN int sluice_stream_open(sluice_session* session, const char* host, uint16_t port,
                                     const sluice_stream_callbacks* callbacks,
                                     void* stream_user_data, sluice_stream** out_stream);

#define SLUICE_OPEN_OPTIONS_V1 1
#define SLUICE_OPEN_OPTIONS_VERSION SLUICE_OPEN_OPTIONS_V1

/* sluice_open_options configure one sluice_stream_open2 or
 * sluice_datagram_open call. */
typedef struct sluice_open_options {
  uint32_t version; /* SLUICE_OPEN_OPTIONS_VERSION */
  /* deadline_ms bounds the open: a stream not open after it fails with
   * SLUICE_ERR_TIMED_OUT (on_open, reason "open deadline of N ms passed").
   * 0 (default): only the session's own timeouts apply. Datagram flows
   * open at once (their tunnel, if any, comes up in the background), so
   * it does not apply to them. v1 */
  uint32_t deadline_ms;
} sluice_open_options;

/* sluice_open_options_init zero-fills |options| for |version|, sets its
 * version and every default (no deadline). Returns 0 or
 * SLUICE_ERR_INVALID_ARGUMENT (NULL, unknown version). Thread-safe.
 * Since v2. */
SLUICE_EXTERN int sluice_open_options_init(sluice_open_options* options, uint32_t version);

/* sluice_stream_open2 is sluice_stream_open with |options| (may be NULL:
 * defaults; read during the call only). Returns what sluice_stream_open
 * returns, and SLUICE_ERR_INVALID_ARGUMENT for an unknown options version.
 * Since v2. */
SLUICE_EXTERN int sluice_stream_open2(sluice_session* session, const char* host, uint16_t port,
                                      const sluice_stream_callbacks* callbacks,
                                      const sluice_open_options* options, void* stream_user_data,
                                      sluice_stream** out_stream);

/* sluice_stream_write queues |data_len| bytes at |data| for sending without
 * copying them: the caller keeps |data| unchanged and alive until
 * on_write_complete returns |write_ctx| (any value, not interpreted).
 * |data| may be NULL only if |data_len| is 0. Loop thread; may be called
 * from callbacks. Returns 0 (on_write_complete will follow),
 * SLUICE_ERR_INVALID_ARGUMENT (NULL |stream|, NULL |data| with a length,
 * |data_len| over 4 GiB - 1), SLUICE_ERR_INVALID_STATE (wrong thread, not
 * open yet), SLUICE_ERR_CLOSED (after shutdown or close), the error that
 * failed the stream, or SLUICE_ERR_NO_MEMORY. On error |data| is not
 * retained and on_write_complete is not called for it. Since v1. */
SLUICE_EXTERN int sluice_stream_write(sluice_stream* stream, const uint8_t* data, size_t data_len,
                                      void* write_ctx);

/* sluice_stream_shutdown ends the sending side once every queued byte is
 * written (TCP FIN); reading goes on. Loop thread. Returns 0,
 * SLUICE_ERR_INVALID_ARGUMENT, SLUICE_ERR_INVALID_STATE (wrong thread, not
 * open), SLUICE_ERR_CLOSED or the error that failed the stream. Since v1. */
SLUICE_EXTERN int sluice_stream_shutdown(sluice_stream* stream);

/* sluice_stream_pause_reading stops on_data / on_eof until
 * sluice_stream_resume_reading (the peer is then pushed back by TCP flow
 * control). Allowed while opening: reading then does not start after
 * on_open. Loop thread. Returns 0, SLUICE_ERR_INVALID_ARGUMENT or
 * SLUICE_ERR_INVALID_STATE (wrong thread). Since v1. */
SLUICE_EXTERN int sluice_stream_pause_reading(sluice_stream* stream);

/* sluice_stream_resume_reading undoes sluice_stream_pause_reading. Same
 * rules and return values. Since v1. */
SLUICE_EXTERN int sluice_stream_resume_reading(sluice_stream* stream);

/* sluice_stream_close closes |stream| in any state (opening: the open is
 * cancelled, on_open is not called). Queued writes are dropped and complete
 * with SLUICE_ERR_CLOSED; then on_close is called exactly once, later, and
 * the stream is freed when it returns. Calling it again before on_close
 * does nothing. Loop thread; may be called from any callback of the
 * stream. Returns 0, SLUICE_ERR_INVALID_ARGUMENT (NULL) or
 * SLUICE_ERR_INVALID_STATE (wrong thread). Since v1. */
SLUICE_EXTERN int sluice_stream_close(sluice_stream* stream);

/* sluice_stream_failure_reason returns why the stream failed or its open
 * did ("" if it did not). Borrowed: valid until the next call on |stream|.
 * Never NULL. Loop thread. Since v1. */
SLUICE_EXTERN const char* sluice_stream_failure_reason(const sluice_stream* stream);

#define SLUICE_STREAM_STATS_V1 1
#define SLUICE_STREAM_STATS_VERSION SLUICE_STREAM_STATS_V1

/* sluice_stream_stats describe one stream; filled by
 * sluice_stream_get_stats like sluice_engine_stats. */
typedef struct sluice_stream_stats {
  uint32_t version;    /* SLUICE_STREAM_STATS_VERSION */
  uint32_t reserved;   /* 0 */
  uint64_t bytes_up;   /* bytes accepted by sluice_stream_write. v1 */
  uint64_t bytes_down; /* bytes delivered to on_data. v1 */
  uint64_t open_ms;    /* how long the open took (0 while opening). v1 */
  uint64_t age_ms;     /* time since sluice_stream_open(2). v1 */
  /* outbound: the tag of the session the stream was opened through
   * (borrowed; valid until on_close returns). v1 */
  const char* outbound;
} sluice_stream_stats;

/* sluice_stream_stats_init zero-fills |stats| for |version| and sets its
 * version. Returns 0 or SLUICE_ERR_INVALID_ARGUMENT (NULL, unknown
 * version). Thread-safe. Since v2. */
SLUICE_EXTERN int sluice_stream_stats_init(sluice_stream_stats* stats, uint32_t version);

/* sluice_stream_get_stats copies |stream|'s counters into |out_stats|,
 * whose version says how much the caller's struct holds. Any state until
 * on_close returns, including from its callbacks. Loop thread. Returns 0,
 * SLUICE_ERR_INVALID_ARGUMENT (NULL, unknown version) or
 * SLUICE_ERR_INVALID_STATE (wrong thread). Since v2. */
SLUICE_EXTERN int sluice_stream_get_stats(const sluice_stream* stream,
                                          sluice_stream_stats* out_stats);

/* ------------------------------------------------------------------------
 * Datagram flows (UDP) (since v2)
 * ------------------------------------------------------------------------ */

/* Datagram callbacks, called on the loop thread with the flow's user data
 * (sluice_datagram_open's |flow_user_data|) last. on_datagram returns 0 or
 * SLUICE_ERR_CALLBACK_FAILURE (any nonzero value counts): the flow then
 * fails with SLUICE_ERR_CALLBACK_FAILURE, drops what arrives, refuses
 * sends and calls nothing more but on_close, which follows only
 * sluice_datagram_close: close it. Every callback may call any
 * sluice_datagram_* function on its flow, including sluice_datagram_close. */

/* on_datagram: one datagram of |data_len| bytes (may be 0) from |host| (an
 * IP literal, or a name if the session's protocol reports one) and |port|.
 * |host| and |data| are borrowed for the call only. */
typedef int (*sluice_datagram_recv_cb)(sluice_datagram* flow, const char* host, uint16_t port,
                                       const uint8_t* data, size_t data_len, void* flow_user_data);
/* on_error: the flow failed with |error| (the tunnel could not be opened or
 * broke); sluice_datagram_failure_reason has the detail. Only
 * sluice_datagram_close remains useful. Never called from inside a
 * sluice_* call, nor after sluice_datagram_close. */
typedef void (*sluice_datagram_error_cb)(sluice_datagram* flow, int error, void* flow_user_data);
/* on_close: the last callback; the flow is freed when it returns. */
typedef void (*sluice_datagram_close_cb)(sluice_datagram* flow, void* flow_user_data);

#define SLUICE_DATAGRAM_CALLBACKS_V1 1
#define SLUICE_DATAGRAM_CALLBACKS_VERSION SLUICE_DATAGRAM_CALLBACKS_V1

typedef struct sluice_datagram_callbacks {
  uint32_t version;                    /* SLUICE_DATAGRAM_CALLBACKS_VERSION */
  sluice_datagram_recv_cb on_datagram; /* required. v1 */
  sluice_datagram_error_cb on_error;   /* optional. v1 */
  sluice_datagram_close_cb on_close;   /* optional. v1 */
} sluice_datagram_callbacks;

/* sluice_datagram_callbacks_init zero-fills |callbacks| for |version|
 * (every callback NULL) and sets its version. Returns 0 or
 * SLUICE_ERR_INVALID_ARGUMENT (NULL, unknown version). Thread-safe.
 * Since v2. */
SLUICE_EXTERN int sluice_datagram_callbacks_init(sluice_datagram_callbacks* callbacks,
                                                 uint32_t version);

/* sluice_datagram_open opens a UDP flow through |session| that can send to
 * and receive from any host:port, and sets |*out_flow| on success only.
 * Sessions with UDP: direct (a local UDP socket), trojan (UDP over a
 * Trojan tunnel of its own), vless (XUDP or one connection per
 * destination, per packet_encoding). A tunnel comes up in the background:
 * sends made meanwhile wait for it (or are dropped and counted if the
 * queue is full), and a failure arrives as on_error. |callbacks| is
 * copied; |options| (may be NULL) is read during the call; on_close
 * follows sluice_datagram_close or engine stop: every flow handed out must
 * be closed. Loop thread; may be called from callbacks. Returns 0,
 * SLUICE_ERR_INVALID_ARGUMENT (NULL argument, missing on_datagram, unknown
 * callbacks or options version), SLUICE_ERR_INVALID_STATE (wrong thread,
 * instance closing, engine stopping), SLUICE_ERR_NOT_SUPPORTED (the
 * session has no UDP: block, http, and socks in this version), SLUICE_ERR_SOCKET_REFUSED (direct:
 * the socket hook refused the socket), an OS error, or
 * SLUICE_ERR_NO_MEMORY. Since v2. */
SLUICE_EXTERN int sluice_datagram_open(sluice_session* session,
                                       const sluice_datagram_callbacks* callbacks,
                                       const sluice_open_options* options, void* flow_user_data,
                                       sluice_datagram** out_flow);

/* sluice_datagram_send sends one datagram of |data_len| bytes at |data| to
 * |host| (a domain name or an IP literal without brackets, at most 255
 * bytes) and |port|. |data| is copied (into the engine's buffer pool)
 * before it returns: the caller may reuse it at once. |data| may be NULL
 * only if |data_len| is 0. Datagrams are unreliable: one that cannot go
 * out (a full queue, a name that does not resolve) is dropped and counted
 * in sluice_datagram_stats.dropped, not reported. Loop thread; may be
 * called from callbacks. Returns 0, SLUICE_ERR_INVALID_ARGUMENT (NULL
 * |flow| or |host|, empty or too long |host|, port 0, NULL |data| with a
 * length, |data_len| over 65535), SLUICE_ERR_INVALID_STATE (wrong thread),
 * SLUICE_ERR_CLOSED (after close), the error that failed the flow, or
 * SLUICE_ERR_NO_MEMORY. Since v2. */
SLUICE_EXTERN int sluice_datagram_send(sluice_datagram* flow, const char* host, uint16_t port,
                                       const uint8_t* data, size_t data_len);

/* sluice_datagram_close closes |flow|: nothing more is sent or delivered;
 * on_close is called exactly once, later (never from inside this call),
 * and the flow is freed when it returns. Calling it again before on_close
 * does nothing. Loop thread; may be called from any callback of the flow.
 * Returns 0, SLUICE_ERR_INVALID_ARGUMENT (NULL) or SLUICE_ERR_INVALID_STATE
 * (wrong thread). Since v2. */
SLUICE_EXTERN int sluice_datagram_close(sluice_datagram* flow);

/* sluice_datagram_failure_reason returns why the flow failed ("" if it did
 * not). Borrowed: valid until the next call on |flow|. Never NULL. Loop
 * thread. Since v2. */
SLUICE_EXTERN const char* sluice_datagram_failure_reason(const sluice_datagram* flow);

#define SLUICE_DATAGRAM_STATS_V1 1
#define SLUICE_DATAGRAM_STATS_VERSION SLUICE_DATAGRAM_STATS_V1

/* sluice_datagram_stats describe one flow; filled by
 * sluice_datagram_get_stats like sluice_engine_stats. */
typedef struct sluice_datagram_stats {
  uint32_t version;    /* SLUICE_DATAGRAM_STATS_VERSION */
  uint32_t reserved;   /* 0 */
  uint64_t sent;       /* datagrams the session sent on. v1 */
  uint64_t received;   /* datagrams delivered to on_datagram. v1 */
  uint64_t dropped;    /* datagrams dropped (full queue, too large, unresolvable). v1 */
  uint64_t bytes_up;   /* payload bytes accepted by sluice_datagram_send. v1 */
  uint64_t bytes_down; /* payload bytes delivered to on_datagram. v1 */
  uint64_t age_ms;     /* time since sluice_datagram_open. v1 */
  /* outbound: the tag of the session (borrowed; valid until on_close
   * returns). v1 */
  const char* outbound;
} sluice_datagram_stats;

/* sluice_datagram_stats_init zero-fills |stats| for |version| and sets its
 * version. Returns 0 or SLUICE_ERR_INVALID_ARGUMENT (NULL, unknown
 * version). Thread-safe. Since v2. */
SLUICE_EXTERN int sluice_datagram_stats_init(sluice_datagram_stats* stats, uint32_t version);

/* sluice_datagram_get_stats copies |flow|'s counters into |out_stats|,
 * whose version says how much it holds. Loop thread. Returns 0,
 * SLUICE_ERR_INVALID_ARGUMENT (NULL, unknown version) or
 * SLUICE_ERR_INVALID_STATE (wrong thread). Since v2. */
SLUICE_EXTERN int sluice_datagram_get_stats(const sluice_datagram* flow,
                                            sluice_datagram_stats* out_stats);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SLUICE_SLUICE_H */
