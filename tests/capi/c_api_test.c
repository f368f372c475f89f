/* c_api_test.c: sluice.h compiled by a C compiler (C11, -Wall -Wextra
 * -Wpedantic -Werror) against libsluice.so, exercising the API from C: an
 * engine on its own thread, an instance with a SOCKS5 inbound, and a stream
 * through the direct session to that same inbound, which answers a SOCKS5
 * greeting. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "sluice/sluice.h"

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      return 1;                                                                \
    }                                                                          \
  } while (0)

static const char kConfig[] =
    "{\"inbounds\":[{\"type\":\"socks\",\"tag\":\"in\",\"listen\":\"127.0.0.1\",\"listen_port\":0}]"
    ","
    "\"outbounds\":[{\"type\":\"direct\",\"tag\":\"direct\"}]}";
static const uint8_t kGreeting[3] = {5, 1, 0}; /* SOCKS5, one method: no auth */

struct state {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  sluice_engine* engine;
  sluice_instance* instance;
  sluice_stream* stream;
  int open_status;
  int wrote;
  uint8_t reply[2];
  size_t reply_len;
  int closed;
  int rc; /* first failure on the loop thread */
};

static void signal_state(struct state* st) {
  pthread_mutex_lock(&st->mu);
  pthread_cond_broadcast(&st->cv);
  pthread_mutex_unlock(&st->mu);
}

static int on_open(sluice_stream* s, int status, const char* reason, void* user) {
  struct state* st = user;
  st->open_status = status;
  if (status != SLUICE_OK) {
    fprintf(stderr, "open failed: %s (%s)\n", sluice_strerror(status), reason);
    sluice_stream_close(s);
    return 0;
  }
  return sluice_stream_write(s, kGreeting, sizeof kGreeting, (void*)kGreeting);
}

static int on_data(sluice_stream* s, const uint8_t* data, size_t len, void* user) {
  struct state* st = user;
  size_t i;
  for (i = 0; i < len && st->reply_len < sizeof st->reply; ++i)
    st->reply[st->reply_len++] = data[i];
  if (st->reply_len == sizeof st->reply) sluice_stream_close(s);
  return 0;
}

static int on_write_complete(sluice_stream* s, void* ctx, int status, void* user) {
  struct state* st = user;
  (void)s;
  if (ctx == (void*)kGreeting && status == SLUICE_OK) st->wrote = 1;
  return 0;
}

static void on_close(sluice_stream* s, void* user) {
  struct state* st = user;
  (void)s;
  pthread_mutex_lock(&st->mu);
  st->closed = 1;
  pthread_cond_broadcast(&st->cv);
  pthread_mutex_unlock(&st->mu);
}

static void open_stream(void* user) {
  struct state* st = user;
  sluice_session* session = NULL;
  sluice_stream_callbacks cb;
  uint16_t port = 0;
  int rc;
  if ((rc = sluice_instance_inbound_port(st->instance, "in", &port)) != SLUICE_OK ||
      (rc = sluice_instance_get0_session(st->instance, NULL, &session)) != SLUICE_OK ||
      (rc = sluice_stream_callbacks_init(&cb, SLUICE_STREAM_CALLBACKS_VERSION)) != SLUICE_OK) {
    st->rc = rc;
    st->closed = 1;
    signal_state(st);
    return;
  }
  cb.on_open = on_open;
  cb.on_data = on_data;
  cb.on_write_complete = on_write_complete;
  cb.on_close = on_close;
  rc = sluice_stream_open(session, "127.0.0.1", port, &cb, st, &st->stream);
  if (rc != SLUICE_OK) {
    st->rc = rc;
    st->closed = 1;
    signal_state(st);
  }
}

int main(void) {
  struct state st;
  sluice_engine_options opts;
  sluice_instance* bad = NULL;
  memset(&st, 0, sizeof st);
  pthread_mutex_init(&st.mu, NULL);
  pthread_cond_init(&st.cv, NULL);
  st.open_status = 1;

  CHECK(strcmp(sluice_version(), "0.1.0") == 0);
  CHECK(sluice_version_number() == 0x000100u);
  /* The header's compile-time version is the library's. */
  CHECK(strcmp(sluice_version(), SLUICE_VERSION_STRING) == 0);
  CHECK(sluice_version_number() == (uint32_t)SLUICE_VERSION_NUM);
  CHECK(sluice_has_protocol("vless") == 1);
  CHECK(sluice_has_protocol("no-such-protocol") == 0);
  CHECK(strstr(sluice_protocols(), "trojan") != NULL);
  CHECK(strcmp(sluice_strerror(SLUICE_ERR_SOCKET_REFUSED), "unknown error") != 0);
  CHECK(strcmp(sluice_strerror(SLUICE_ERR_CLOSED), "object is closed") == 0);
  CHECK(sluice_err_is_fatal(SLUICE_ERR_INTERNAL) == 1);
  CHECK(sluice_engine_options_init(&opts, 99) == SLUICE_ERR_INVALID_ARGUMENT);
  CHECK(sluice_engine_options_init(&opts, SLUICE_ENGINE_OPTIONS_VERSION) == SLUICE_OK);
  CHECK(sluice_engine_new(&opts, &st.engine) == SLUICE_OK);
  CHECK(sluice_instance_new(st.engine, "{", 1, &bad) != SLUICE_OK && bad == NULL);
  CHECK(sluice_engine_failure_reason(st.engine)[0] != '\0');
  CHECK(sluice_instance_new(st.engine, kConfig, strlen(kConfig), &st.instance) == SLUICE_OK);
  CHECK(sluice_engine_start(st.engine) == SLUICE_OK);
  CHECK(sluice_engine_post(st.engine, open_stream, &st) == SLUICE_OK);

  pthread_mutex_lock(&st.mu);
  while (!st.closed) pthread_cond_wait(&st.cv, &st.mu);
  pthread_mutex_unlock(&st.mu);

  CHECK(sluice_engine_stop(st.engine) == SLUICE_OK);
  CHECK(st.rc == SLUICE_OK);
  CHECK(st.open_status == SLUICE_OK);
  CHECK(st.wrote == 1);
  CHECK(st.reply_len == 2 && st.reply[0] == 5 && st.reply[1] == 0);
  sluice_engine_free(st.engine);
  sluice_engine_free(NULL);
  pthread_cond_destroy(&st.cv);
  pthread_mutex_destroy(&st.mu);
  puts("ok");
  return 0;
}
