/* openssl_first_host.c: a C host that uses OpenSSL 3 and embeds sluice.
 *
 *   openssl_first_host HOST PORT PATH
 *
 * Linked with libssl.so.3 and libcrypto.so.3 ahead of libsluice (see
 * tests/embed/meson.build), so OpenSSL 3 comes first in the process's global
 * symbol scope, as in a host that uses libcurl, Qt or GLib networking. With a
 * libsluice that imports BoringSSL's unversioned SSL_* / EVP_* symbols from
 * libssl.so.0 / libcrypto.so.0 (-Dboringssl=system), those references bind to
 * OpenSSL 3 and sluice_instance_new crashes; with the private BoringSSL
 * (-Dboringssl=static) both TLS libraries work side by side.
 *
 * The host makes a self-signed certificate for "embed.test" with OpenSSL 3,
 * then runs two sluice instances on one engine: a Trojan+TLS server (that
 * certificate and key, direct outbound) and a Trojan+TLS client that trusts
 * the certificate. Through the client's session it fetches HTTP/1.0 GET PATH
 * from HOST:PORT and prints the response to stdout; afterwards it digests
 * the response with OpenSSL 3 again, to show the host's library still works.
 * Driven by tests/capi/run_example.py, which serves the page and checks it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/sluice.h>

#define SERVER_NAME "embed.test"
#define PASSWORD "openssl-first host password"

struct fetch {
  const char* host;
  uint16_t port;
  char request[512];
  sluice_instance* client;
  unsigned char* response;
  size_t response_len;
  size_t response_cap;
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

/* openssl_is_global_first fails unless the names libsluice's BoringSSL
 * would import (with -Dboringssl=system) resolve to OpenSSL 3 in the global
 * scope: the condition of the crash this host reproduces. */
static int openssl_is_global_first(void) {
  static const char* const names[] = {"SSL_CTX_new", "SSL_new",       "EVP_DigestInit_ex",
                                      "EVP_sha256",  "CRYPTO_malloc", "RAND_bytes"};
  size_t i;
  for (i = 0; i < sizeof names / sizeof names[0]; ++i) {
    Dl_info info;
    void* sym = dlsym(RTLD_DEFAULT, names[i]);
    if (sym == NULL || dladdr(sym, &info) == 0 || info.dli_fname == NULL ||
        (strstr(info.dli_fname, "libssl.so.3") == NULL &&
         strstr(info.dli_fname, "libcrypto.so.3") == NULL)) {
      fprintf(stderr, "openssl_first_host: %s does not resolve to OpenSSL 3 first (%s)\n", names[i],
              sym == NULL ? "undefined" : "elsewhere");
      return 0;
    }
  }
  return 1;
}

/* pem_of writes |x| (a certificate or key) as PEM into a new string. */
static char* pem_of(X509* cert, EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  char* data = NULL;
  char* out = NULL;
  long n;
  if (bio == NULL) return NULL;
  if ((cert != NULL && PEM_write_bio_X509(bio, cert) == 1) ||
      (key != NULL && PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1)) {
    n = BIO_get_mem_data(bio, &data);
    out = malloc((size_t)n + 1);
    if (out != NULL) {
      memcpy(out, data, (size_t)n);
      out[n] = '\0';
    }
  }
  BIO_free(bio);
  return out;
}

/* make_certificate: a P-256 key and a self-signed certificate for
 * SERVER_NAME, valid from an hour ago for a day, made with OpenSSL 3. */
static int make_certificate(char** cert_pem, char** key_pem) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_NAME* name;
  X509V3_CTX ctx;
  X509_EXTENSION* ext;
  int ok = 0;
  if (key == NULL || cert == NULL) goto done;
  if (X509_set_version(cert, 2) != 1 || ASN1_INTEGER_set(X509_get_serialNumber(cert), 1) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(cert), -3600) == NULL ||
      X509_gmtime_adj(X509_getm_notAfter(cert), 86400) == NULL || X509_set_pubkey(cert, key) != 1)
    goto done;
  name = X509_get_subject_name(cert);
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char*)SERVER_NAME, -1,
                                 -1, 0) != 1 ||
      X509_set_issuer_name(cert, name) != 1)
    goto done;
  X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
  ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, "DNS:" SERVER_NAME);
  if (ext == NULL) goto done;
  ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  if (!ok || X509_sign(cert, key, EVP_sha256()) == 0) {
    ok = 0;
    goto done;
  }
  *cert_pem = pem_of(cert, NULL);
  *key_pem = pem_of(NULL, key);
  ok = *cert_pem != NULL && *key_pem != NULL;
done:
  X509_free(cert);
  EVP_PKEY_free(key);
  return ok;
}

/* json_escape_pem: PEM text as the inside of a JSON string (newlines as \n;
 * PEM has no quotes or backslashes). */
static char* json_escape_pem(const char* pem) {
  size_t n = 0;
  const char* p;
  char* out;
  char* q;
  for (p = pem; *p; ++p) n += *p == '\n' ? 2 : 1;
  out = malloc(n + 1);
  if (out == NULL) return NULL;
  for (p = pem, q = out; *p; ++p) {
    if (*p == '\n') {
      *q++ = '\\';
      *q++ = 'n';
    } else {
      *q++ = *p;
    }
  }
  *q = '\0';
  return out;
}

static int on_open(sluice_stream* s, int status, const char* reason, void* user) {
  struct fetch* f = user;
  if (status != SLUICE_OK) {
    fprintf(stderr, "openssl_first_host: connect failed: %s (%s)\n", sluice_strerror(status),
            reason);
    f->status = status;
    sluice_stream_close(s);
    return 0;
  }
  return sluice_stream_write(s, (const uint8_t*)f->request, strlen(f->request), NULL);
}

static int on_data(sluice_stream* s, const uint8_t* data, size_t len, void* user) {
  struct fetch* f = user;
  (void)s;
  if (f->response_len + len > f->response_cap) {
    size_t cap = (f->response_len + len) * 2;
    unsigned char* grown = realloc(f->response, cap);
    if (grown == NULL) return SLUICE_ERR_NO_MEMORY;
    f->response = grown;
    f->response_cap = cap;
  }
  memcpy(f->response + f->response_len, data, len); /* borrowed for this call only */
  f->response_len += len;
  return 0;
}

static int on_eof(sluice_stream* s, void* user) {
  (void)user;
  sluice_stream_close(s); /* HTTP/1.0: the server closes after the response */
  return 0;
}

static void on_error(sluice_stream* s, int error, void* user) {
  struct fetch* f = user;
  fprintf(stderr, "openssl_first_host: stream failed: %s (%s)\n", sluice_strerror(error),
          sluice_stream_failure_reason(s));
  f->status = error;
  sluice_stream_close(s);
}

static void on_close(sluice_stream* s, void* user) {
  (void)s;
  finish(user, 0);
}

/* start runs on the loop thread: one stream through the Trojan client. */
static void start(void* user) {
  struct fetch* f = user;
  sluice_session* session = NULL;
  sluice_stream* stream = NULL;
  sluice_stream_callbacks cb;
  int rc = sluice_instance_get0_session(f->client, "trojan-out", &session);
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
    fprintf(stderr, "openssl_first_host: cannot open a stream: %s\n", sluice_strerror(rc));
    finish(f, rc);
  }
}

static int new_instance(sluice_engine* engine, const char* json, sluice_instance** out) {
  int rc = sluice_instance_new(engine, json, strlen(json), out);
  if (rc != SLUICE_OK)
    fprintf(stderr, "openssl_first_host: instance: %s: %s\n", sluice_strerror(rc),
            sluice_engine_failure_reason(engine));
  return rc;
}

int main(int argc, char** argv) {
  struct fetch f;
  sluice_engine* engine = NULL;
  sluice_instance* server = NULL;
  char *cert_pem = NULL, *key_pem = NULL, *cert_json = NULL, *key_json = NULL, *config = NULL;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  uint16_t server_port = 0;
  size_t config_cap;
  int rc, exit_code = 1;

  if (argc < 4) {
    fprintf(stderr, "usage: %s HOST PORT PATH\n", argv[0]);
    return 2;
  }
  /* The host's own TLS library, in use before sluice is touched. */
  if (OPENSSL_VERSION_MAJOR < 3 || OpenSSL_version_num() < 0x30000000L ||
      OPENSSL_init_ssl(0, NULL) != 1 || !openssl_is_global_first()) {
    fprintf(stderr, "openssl_first_host: OpenSSL 3 is not the host's TLS library\n");
    return 1;
  }
  fprintf(stderr,
          "openssl_first_host: host TLS library %s, first in the global scope; "
          "embedding libsluice %s\n",
          OpenSSL_version(OPENSSL_VERSION), sluice_version());
  if (!make_certificate(&cert_pem, &key_pem) || (cert_json = json_escape_pem(cert_pem)) == NULL ||
      (key_json = json_escape_pem(key_pem)) == NULL) {
    fprintf(stderr, "openssl_first_host: OpenSSL 3 could not make a certificate\n");
    return 1;
  }

  memset(&f, 0, sizeof f);
  f.host = argv[1];
  f.port = (uint16_t)atoi(argv[2]);
  snprintf(f.request, sizeof f.request, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", argv[3], f.host);
  pthread_mutex_init(&f.mu, NULL);
  pthread_cond_init(&f.cv, NULL);

  config_cap = strlen(cert_json) + strlen(key_json) + 1024;
  if ((config = malloc(config_cap)) == NULL) goto out;
  if ((rc = sluice_engine_new(NULL, &engine)) != SLUICE_OK) {
    fprintf(stderr, "openssl_first_host: engine: %s\n", sluice_strerror(rc));
    goto out;
  }
  /* Before sluice_engine_start this thread is the loop thread. */
  snprintf(config, config_cap,
           "{\"log\":{\"level\":\"error\"},"
           "\"inbounds\":[{\"type\":\"trojan\",\"tag\":\"trojan-in\",\"listen\":\"127.0.0.1\","
           "\"listen_port\":0,\"users\":[{\"name\":\"host\",\"password\":\"" PASSWORD
           "\"}],"
           "\"tls\":{\"enabled\":true,\"server_name\":\"" SERVER_NAME
           "\","
           "\"certificate\":\"%s\",\"key\":\"%s\"}}],"
           "\"outbounds\":[{\"type\":\"direct\",\"tag\":\"direct\"}]}",
           cert_json, key_json);
  if (new_instance(engine, config, &server) != SLUICE_OK) goto out;
  if ((rc = sluice_instance_inbound_port(server, "trojan-in", &server_port)) != SLUICE_OK) {
    fprintf(stderr, "openssl_first_host: inbound port: %s\n", sluice_strerror(rc));
    goto out;
  }
  snprintf(config, config_cap,
           "{\"log\":{\"level\":\"error\"},"
           "\"outbounds\":[{\"type\":\"trojan\",\"tag\":\"trojan-out\",\"server\":\"127.0.0.1\","
           "\"server_port\":%u,\"password\":\"" PASSWORD
           "\","
           "\"tls\":{\"enabled\":true,\"server_name\":\"" SERVER_NAME
           "\","
           "\"certificate\":\"%s\"}}]}",
           (unsigned)server_port, cert_json);
  if (new_instance(engine, config, &f.client) != SLUICE_OK) goto out;
  fprintf(stderr, "openssl_first_host: Trojan+TLS server on 127.0.0.1:%u\n", (unsigned)server_port);

  if ((rc = sluice_engine_start(engine)) != SLUICE_OK ||
      (rc = sluice_engine_post(engine, start, &f)) != SLUICE_OK) {
    fprintf(stderr, "openssl_first_host: %s\n", sluice_strerror(rc));
    goto out;
  }
  pthread_mutex_lock(&f.mu);
  while (!f.done) pthread_cond_wait(&f.cv, &f.mu);
  pthread_mutex_unlock(&f.mu);
  sluice_engine_stop(engine); /* closes both instances */
  if (f.status != SLUICE_OK) goto out;

  /* The host's OpenSSL 3 after sluice ran: a SHA-256 of what came back. */
  if (EVP_Digest(f.response, f.response_len, digest, &digest_len, EVP_sha256(), NULL) != 1 ||
      digest_len != 32) {
    fprintf(stderr, "openssl_first_host: OpenSSL 3 EVP_Digest failed after sluice ran\n");
    goto out;
  }
  fwrite(f.response, 1, f.response_len, stdout);
  fprintf(stderr, "openssl_first_host: %zu bytes through Trojan+TLS, sha256 %02x%02x%02x%02x...\n",
          f.response_len, digest[0], digest[1], digest[2], digest[3]);
  exit_code = 0;
out:
  sluice_engine_free(engine); /* frees the instances too */
  free(f.response);
  free(config);
  free(cert_pem);
  free(key_pem);
  free(cert_json);
  free(key_json);
  fflush(stdout);
  return exit_code;
}
