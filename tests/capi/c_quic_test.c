/* c_quic_test.c: the QUIC protocols through libsluice.so's C ABI alone (C11,
 * no sluice internals linked): one engine runs a tuic server instance (tuic
 * inbound, direct outbound) and a tuic client instance (tuic outbound) that
 * connects to it over 127.0.0.1. A stream through the client's tuic session
 * carries 1 MiB to a TCP echo server on a thread of this program, and the
 * echoed bytes must hash (FNV-1a 64) and count the same as what was sent.
 * Congestion control is cubic, which goes through sluice's hook on ngtcp2's
 * internal initialiser (the --wrap link of libsluice.so). */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sluice/sluice.h"

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      return 1;                                                                \
    }                                                                          \
  } while (0)

/* A self-signed P-256 certificate for "localhost" (valid until 2126) and
 * its key: test data only, the client runs with "insecure":true. */
static const char kCert[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBlTCCATugAwIBAgIUVWUmTjxz70ZlYlcOSzc7kiZTuJgwCgYIKoZIzj0EAwIw\n"
    "FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwNzExMDIwMFoYDzIxMjYxMTEz\n"
    "MTEwMjAwWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO\n"
    "PQMBBwNCAASEgKWzvr+JQn/7IM9JxqYBm3Dl//SexSblnbIq8XY1qpAo41ajtmqP\n"
    "FJxWzkaptTLwQUFVSwIKsjZfjE/bBOryo2kwZzAdBgNVHQ4EFgQU30dU0iLkmBLl\n"
    "R6DeClly4wpPEhQwHwYDVR0jBBgwFoAU30dU0iLkmBLlR6DeClly4wpPEhQwDwYD\n"
    "VR0TAQH/BAUwAwEB/zAUBgNVHREEDTALgglsb2NhbGhvc3QwCgYIKoZIzj0EAwID\n"
    "SAAwRQIhAINTeLghC/1D8fbNhAwOWyS1ZIT65RNcVyfBekyesDFmAiAf9gwssUaz\n"
    "3D0EyvIRUv00Tm2HRRSXn9Ovd3kiMctUmQ==\n"
    "-----END CERTIFICATE-----\n";
static const char kKey[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgpqeoh4imp8Yz4Gqv\n"
    "L94oX8cHhhPOzbaANAv1uA3GyiOhRANCAASEgKWzvr+JQn/7IM9JxqYBm3Dl//Se\n"
    "xSblnbIq8XY1qpAo41ajtmqPFJxWzkaptTLwQUFVSwIKsjZfjE/bBOry\n"
    "-----END PRIVATE KEY-----\n";

#define UUID "fe35d05b-8803-45c4-bae6-723ad2cd5d3d"
enum { kChunk = 64 * 1024, kChunks = 16, kTotal = kChunk * kChunks };

static uint8_t g_payload[kTotal];

static uint64_t fnv1a(uint64_t h, const uint8_t* p, size_t n) {
  size_t i;
  for (i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}
static const uint64_t kFnvBasis = 0xcbf29ce484222325ull;

/* --- a blocking TCP echo server on its own thread ------------------------- */

struct echo {
  int listen_fd;
  uint16_t port;
  pthread_t thread;
};

static void* echo_main(void* arg) {
  struct echo* e = arg;
  uint8_t buf[16384];
  int fd = accept(e->listen_fd, NULL, NULL);
  if (fd < 0) return NULL;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    ssize_t off = 0;
    while (off < n) {
      ssize_t w = write(fd, buf + off, (size_t)(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) goto done;
      off += w;
    }
  }
done:
  shutdown(fd, SHUT_WR);
  close(fd);
  return NULL;
}

static int echo_start(struct echo* e) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  e->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  if (e->listen_fd < 0 || bind(e->listen_fd, (struct sockaddr*)&a, sizeof a) != 0 ||
      listen(e->listen_fd, 4) != 0 || getsockname(e->listen_fd, (struct sockaddr*)&a, &len) != 0)
    return -1;
  e->port = ntohs(a.sin_port);
  return pthread_create(&e->thread, NULL, echo_main, e) == 0 ? 0 : -1;
}

/* --- the sluice side ------------------------------------------------------- */

struct state {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  sluice_engine* engine;
  sluice_instance* server;
  sluice_instance* client;
  sluice_stream* stream;
  char cert_path[64];
  char key_path[64];
  uint16_t echo_port;
  int open_status;
  int writes_done;
  int eof;
  size_t received;
  uint64_t hash;
  int closed;
  int rc; /* first failure on the loop thread */
  char why[512];
};

static void finish(struct state* st, int rc, const char* why) {
  pthread_mutex_lock(&st->mu);
  if (rc != SLUICE_OK && st->rc == SLUICE_OK) {
    st->rc = rc;
    snprintf(st->why, sizeof st->why, "%s", why ? why : "");
  }
  st->closed = 1;
  pthread_cond_broadcast(&st->cv);
  pthread_mutex_unlock(&st->mu);
}

static int on_open(sluice_stream* s, int status, const char* reason, void* user) {
  struct state* st = user;
  int i, rc;
  st->open_status = status;
  if (status != SLUICE_OK) {
    snprintf(st->why, sizeof st->why, "open: %s (%s)", sluice_strerror(status), reason);
    sluice_stream_close(s);
    return 0;
  }
  for (i = 0; i < kChunks; ++i) {
    rc = sluice_stream_write(s, g_payload + (size_t)i * kChunk, kChunk, (void*)(intptr_t)(i + 1));
    if (rc != SLUICE_OK) {
      snprintf(st->why, sizeof st->why, "write %d: %s", i, sluice_strerror(rc));
      st->rc = rc;
      sluice_stream_close(s);
      return 0;
    }
  }
  rc = sluice_stream_shutdown(s);
  if (rc != SLUICE_OK) {
    snprintf(st->why, sizeof st->why, "shutdown: %s", sluice_strerror(rc));
    st->rc = rc;
    sluice_stream_close(s);
  }
  return 0;
}

static int on_data(sluice_stream* s, const uint8_t* data, size_t len, void* user) {
  struct state* st = user;
  (void)s;
  st->hash = fnv1a(st->hash, data, len);
  st->received += len;
  return 0;
}

static int on_eof(sluice_stream* s, void* user) {
  struct state* st = user;
  st->eof = 1;
  sluice_stream_close(s);
  return 0;
}

static int on_write_complete(sluice_stream* s, void* ctx, int status, void* user) {
  struct state* st = user;
  (void)s;
  (void)ctx;
  if (status == SLUICE_OK) ++st->writes_done;
  return 0;
}

static void on_error(sluice_stream* s, int error, void* user) {
  struct state* st = user;
  snprintf(st->why, sizeof st->why, "stream error %s: %s", sluice_strerror(error),
           sluice_stream_failure_reason(s));
  if (st->rc == SLUICE_OK) st->rc = error;
  sluice_stream_close(s);
}

static void on_close(sluice_stream* s, void* user) {
  (void)s;
  finish(user, SLUICE_OK, NULL);
}

/* Runs on the loop thread: both instances, then the stream. */
static void setup(void* user) {
  struct state* st = user;
  char server_cfg[1024], client_cfg[1024];
  uint16_t port = 0;
  sluice_session* session = NULL;
  sluice_stream_callbacks cb;
  int rc;

  snprintf(server_cfg, sizeof server_cfg,
           "{\"log\":{\"level\":\"error\"},"
           "\"inbounds\":[{\"type\":\"tuic\",\"tag\":\"in\",\"listen\":\"127.0.0.1\","
           "\"listen_port\":0,\"users\":[{\"name\":\"c\",\"uuid\":\"" UUID
           "\",\"password\":\"pw\"}],\"congestion_control\":\"cubic\","
           "\"tls\":{\"enabled\":true,\"certificate_path\":\"%s\",\"key_path\":\"%s\"}}],"
           "\"outbounds\":[{\"type\":\"direct\",\"tag\":\"direct\"}]}",
           st->cert_path, st->key_path);
  rc = sluice_instance_new(st->engine, server_cfg, strlen(server_cfg), &st->server);
  if (rc != SLUICE_OK) {
    finish(st, rc, sluice_engine_failure_reason(st->engine));
    return;
  }
  rc = sluice_instance_inbound_port(st->server, "in", &port);
  if (rc != SLUICE_OK || port == 0) {
    finish(st, rc != SLUICE_OK ? rc : SLUICE_ERR_INTERNAL, "tuic inbound has no port");
    return;
  }
  snprintf(client_cfg, sizeof client_cfg,
           "{\"log\":{\"level\":\"error\"},"
           "\"outbounds\":[{\"type\":\"tuic\",\"tag\":\"t\",\"server\":\"127.0.0.1\","
           "\"server_port\":%u,\"uuid\":\"" UUID
           "\",\"password\":\"pw\","
           "\"congestion_control\":\"cubic\",\"tls\":{\"enabled\":true,"
           "\"server_name\":\"localhost\",\"insecure\":true}}]}",
           (unsigned)port);
  rc = sluice_instance_new(st->engine, client_cfg, strlen(client_cfg), &st->client);
  if (rc != SLUICE_OK) {
    finish(st, rc, sluice_engine_failure_reason(st->engine));
    return;
  }
  if ((rc = sluice_instance_get0_session(st->client, "t", &session)) != SLUICE_OK ||
      (rc = sluice_stream_callbacks_init(&cb, SLUICE_STREAM_CALLBACKS_VERSION)) != SLUICE_OK) {
    finish(st, rc, "session or callbacks");
    return;
  }
  cb.on_open = on_open;
  cb.on_data = on_data;
  cb.on_eof = on_eof;
  cb.on_write_complete = on_write_complete;
  cb.on_error = on_error;
  cb.on_close = on_close;
  rc = sluice_stream_open(session, "127.0.0.1", st->echo_port, &cb, st, &st->stream);
  if (rc != SLUICE_OK) finish(st, rc, "sluice_stream_open");
}

static int write_file(char* path, const char* text) {
  int fd = mkstemp(path);
  size_t len = strlen(text);
  if (fd < 0) return -1;
  if (write(fd, text, len) != (ssize_t)len) {
    close(fd);
    return -1;
  }
  return close(fd);
}

int main(void) {
  struct state st;
  struct echo echo;
  struct timespec deadline;
  uint32_t x = 0x9e3779b9u;
  size_t i;
  int wait_rc = 0;

  memset(&st, 0, sizeof st);
  memset(&echo, 0, sizeof echo);
  pthread_mutex_init(&st.mu, NULL);
  pthread_cond_init(&st.cv, NULL);
  st.open_status = 1;
  st.hash = kFnvBasis;
  for (i = 0; i < sizeof g_payload; ++i) { /* xorshift32: not compressible, not periodic */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    g_payload[i] = (uint8_t)x;
  }

  /* The QUIC protocols are in the library, not registered by the host. */
  CHECK(sluice_has_protocol("tuic") == 1);
  CHECK(strstr(sluice_protocols(), "tuic") != NULL);

  strcpy(st.cert_path, "/tmp/sluice_c_quic_cert_XXXXXX");
  strcpy(st.key_path, "/tmp/sluice_c_quic_key_XXXXXX");
  CHECK(write_file(st.cert_path, kCert) == 0);
  CHECK(write_file(st.key_path, kKey) == 0);
  CHECK(echo_start(&echo) == 0);
  st.echo_port = echo.port;

  CHECK(sluice_engine_new(NULL, &st.engine) == SLUICE_OK);
  CHECK(sluice_engine_start(st.engine) == SLUICE_OK);
  CHECK(sluice_engine_post(st.engine, setup, &st) == SLUICE_OK);

  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 60;
  pthread_mutex_lock(&st.mu);
  while (!st.closed && wait_rc == 0) wait_rc = pthread_cond_timedwait(&st.cv, &st.mu, &deadline);
  pthread_mutex_unlock(&st.mu);
  if (wait_rc != 0) fprintf(stderr, "timed out: %zu of %d bytes back\n", st.received, kTotal);

  CHECK(sluice_engine_stop(st.engine) == SLUICE_OK);
  sluice_engine_free(st.engine);
  shutdown(echo.listen_fd, SHUT_RDWR);
  close(echo.listen_fd);
  pthread_join(echo.thread, NULL);
  unlink(st.cert_path);
  unlink(st.key_path);

  if (st.rc != SLUICE_OK || st.open_status != SLUICE_OK)
    fprintf(stderr, "failed: %s (%s)\n", sluice_strerror(st.rc), st.why);
  CHECK(wait_rc == 0);
  CHECK(st.rc == SLUICE_OK);
  CHECK(st.open_status == SLUICE_OK);
  CHECK(st.writes_done == kChunks);
  CHECK(st.eof == 1);
  CHECK(st.received == (size_t)kTotal);
  CHECK(st.hash == fnv1a(kFnvBasis, g_payload, sizeof g_payload));
  pthread_cond_destroy(&st.cv);
  pthread_mutex_destroy(&st.mu);
  printf("ok: %d bytes through tuic and back, hash %016llx\n", kTotal, (unsigned long long)st.hash);
  return 0;
}
