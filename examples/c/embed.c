/* embed.c: embedding sluice from C.
 *
 *   embed HOST PORT [PATH]
 *
 * Starts an engine on its own thread, loads a configuration (a SOCKS5
 * inbound on 127.0.0.1 with an OS-chosen port, and a direct outbound), opens
 * a stream to HOST:PORT through the direct session, sends an HTTP/1.0 GET
 * for PATH (default "/") and prints the response to stdout.
 *
 * Everything touching sluice objects runs on the engine's loop thread: the
 * main thread only posts one function and waits for the stream's on_close. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sluice/sluice.h>

static const char kConfig[] =
    "{\"inbounds\":[{\"type\":\"socks\",\"tag\":\"socks-in\",\"listen\":\"127.0.0.1\","
    "\"listen_port\":0}],"
    "\"outbounds\":[{\"type\":\"direct\",\"tag\":\"direct\"}]}";

struct fetch {
  const char* host;
  uint16_t port;
  char request[1024];
  sluice_instance* instance;
  int status; /* the stream's outcome: 0 or a sluice_error */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;
};

static void finish(struct fetch* f, int status) {
  pthread_mutex_lock(&f->mu);
  if (f->status == 0) f->status = status;
  f->done = 1;
  pthread_cond_signal(&f->cv);
  pthread_mutex_unlock(&f->mu);
}

static int on_open(sluice_stream* s, int status, const char* reason, void* user) {
  struct fetch* f = user;
  if (status != SLUICE_OK) {
    fprintf(stderr, "embed: connect failed: %s (%s)\n", sluice_strerror(status), reason);
    f->status = status;
    sluice_stream_close(s);
    return 0;
  }
  /* The request buffer lives in |f| until on_close: borrowed, not copied. */
  status = sluice_stream_write(s, (const uint8_t*)f->request, strlen(f->request), NULL);
  if (status != SLUICE_OK) {
    /* A nonzero return alone would leave the stream silent until closed:
     * close it, then report the failure. */
    f->status = status;
    sluice_stream_close(s);
    return SLUICE_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

static int on_data(sluice_stream* s, const uint8_t* data, size_t len, void* user) {
  struct fetch* f = user;
  if (fwrite(data, 1, len, stdout) != len) { /* borrowed for this call only */
    f->status = SLUICE_ERR_CALLBACK_FAILURE;
    sluice_stream_close(s);
    return SLUICE_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

/* on_socket sees every outbound socket before it connects: where a VPN app
 * calls VpnService.protect(fd) or binds the socket to an interface. */
static int on_socket(int fd, int kind, int family, void* user) {
  (void)user;
  fprintf(stderr, "embed: outbound %s socket fd %d (%s)\n",
          kind == SLUICE_SOCKET_TCP   ? "TCP"
          : kind == SLUICE_SOCKET_UDP ? "UDP"
                                      : "QUIC",
          fd, family == AF_INET6 ? "IPv6" : "IPv4");
  return 0; /* nonzero would refuse it: the open fails with SLUICE_ERR_SOCKET_REFUSED */
}

static int on_eof(sluice_stream* s, void* user) {
  (void)user;
  sluice_stream_close(s); /* HTTP/1.0: the server closes after the response */
  return 0;
}

static void on_error(sluice_stream* s, int error, void* user) {
  struct fetch* f = user;
  fprintf(stderr, "embed: stream failed: %s (%s)\n", sluice_strerror(error),
          sluice_stream_failure_reason(s));
  f->status = error;
  sluice_stream_close(s);
}

static void on_close(sluice_stream* s, void* user) {
  (void)s;
  finish(user, 0);
}

/* start runs on the loop thread (posted by main). */
static void start(void* user) {
  struct fetch* f = user;
  sluice_session* session = NULL;
  sluice_stream* stream = NULL;
  sluice_stream_callbacks cb;
  uint16_t socks_port = 0;
  int rc;

  if ((rc = sluice_instance_inbound_port(f->instance, "socks-in", &socks_port)) == SLUICE_OK)
    fprintf(stderr, "embed: SOCKS5 inbound on 127.0.0.1:%u\n", socks_port);
  rc = sluice_instance_get0_session(f->instance, NULL, &session);
  if (rc == SLUICE_OK) rc = sluice_stream_callbacks_init(&cb, SLUICE_STREAM_CALLBACKS_VERSION);
  if (rc == SLUICE_OK) {
    cb.on_open = on_open;
    cb.on_data = on_data;
    cb.on_eof = on_eof;
    cb.on_error = on_error;
    cb.on_close = on_close;
    rc = sluice_stream_open(session, f->host, f->port, &cb, f, &stream);
  }
  if (rc != SLUICE_OK) {
    fprintf(stderr, "embed: cannot open a stream: %s\n", sluice_strerror(rc));
    finish(f, rc);
  }
}

int main(int argc, char** argv) {
  struct fetch f;
  sluice_engine* engine = NULL;
  int rc;

  if (argc < 3) {
    fprintf(stderr, "usage: %s HOST PORT [PATH]\n", argv[0]);
    return 2;
  }
  memset(&f, 0, sizeof f);
  f.host = argv[1];
  f.port = (uint16_t)atoi(argv[2]);
  snprintf(f.request, sizeof f.request,
           "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: sluice-embed/%s\r\n\r\n",
           argc > 3 ? argv[3] : "/", f.host, sluice_version());
  pthread_mutex_init(&f.mu, NULL);
  pthread_cond_init(&f.cv, NULL);

  if ((rc = sluice_engine_new(NULL, &engine)) != SLUICE_OK) {
    fprintf(stderr, "embed: engine: %s\n", sluice_strerror(rc));
    return 1;
  }
  /* Before sluice_engine_start this thread is the loop thread. */
  rc = sluice_engine_set_socket_hook(engine, on_socket, NULL);
  if (rc == SLUICE_OK) rc = sluice_instance_new(engine, kConfig, strlen(kConfig), &f.instance);
  if (rc != SLUICE_OK) {
    fprintf(stderr, "embed: config: %s: %s\n", sluice_strerror(rc),
            sluice_engine_failure_reason(engine));
    sluice_engine_free(engine);
    return 1;
  }
  if ((rc = sluice_engine_start(engine)) != SLUICE_OK ||
      (rc = sluice_engine_post(engine, start, &f)) != SLUICE_OK) {
    fprintf(stderr, "embed: %s\n", sluice_strerror(rc));
    sluice_engine_free(engine);
    return 1;
  }

  pthread_mutex_lock(&f.mu);
  while (!f.done) pthread_cond_wait(&f.cv, &f.mu);
  pthread_mutex_unlock(&f.mu);

  sluice_engine_stop(engine); /* closes the instance too */
  sluice_engine_free(engine); /* and frees it */
  fflush(stdout);
  return f.status == SLUICE_OK ? 0 : 1;
}
