// error.cpp: sluice_strerror, sluice_err_is_fatal and the version (the
// macros of the generated sluice_version.h, so header and library agree).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// The messages live in lib/core/error.cpp's one table; this file only checks
// at compile time that every sluice_error equals its Errc, so to_c() is a
// cast. tests/capi/capi_test.cpp checks the other direction (every Errc has
// a C code and a message).
#include "capi/handle.hpp"

namespace sluice::capi {
namespace {

#define SLUICE_CAPI_SAME(c, e) \
  static_assert(static_cast<int>(c) == static_cast<int>(Errc::e), #c " != Errc::" #e)
SLUICE_CAPI_SAME(SLUICE_OK, ok);
SLUICE_CAPI_SAME(SLUICE_ERR_INVALID_ARGUMENT, invalid_argument);
SLUICE_CAPI_SAME(SLUICE_ERR_INVALID_STATE, invalid_state);
SLUICE_CAPI_SAME(SLUICE_ERR_WOULD_BLOCK, would_block);
SLUICE_CAPI_SAME(SLUICE_ERR_BUFFER_TOO_SMALL, buffer_too_small);
SLUICE_CAPI_SAME(SLUICE_ERR_NOT_SUPPORTED, not_supported);
SLUICE_CAPI_SAME(SLUICE_ERR_CANCELED, canceled);
SLUICE_CAPI_SAME(SLUICE_ERR_TIMED_OUT, timed_out);
SLUICE_CAPI_SAME(SLUICE_ERR_CLOSED, closed);
SLUICE_CAPI_SAME(SLUICE_ERR_LIMIT_EXCEEDED, limit_exceeded);
SLUICE_CAPI_SAME(SLUICE_ERR_IO, io_error);
SLUICE_CAPI_SAME(SLUICE_ERR_EOF, eof);
SLUICE_CAPI_SAME(SLUICE_ERR_CONNECTION_REFUSED, connection_refused);
SLUICE_CAPI_SAME(SLUICE_ERR_CONNECTION_RESET, connection_reset);
SLUICE_CAPI_SAME(SLUICE_ERR_CONNECTION_ABORTED, connection_aborted);
SLUICE_CAPI_SAME(SLUICE_ERR_HOST_UNREACHABLE, host_unreachable);
SLUICE_CAPI_SAME(SLUICE_ERR_NETWORK_UNREACHABLE, network_unreachable);
SLUICE_CAPI_SAME(SLUICE_ERR_ADDRESS_IN_USE, address_in_use);
SLUICE_CAPI_SAME(SLUICE_ERR_ADDRESS_NOT_AVAILABLE, address_not_available);
SLUICE_CAPI_SAME(SLUICE_ERR_DNS_FAILURE, dns_failure);
SLUICE_CAPI_SAME(SLUICE_ERR_BROKEN_PIPE, broken_pipe);
SLUICE_CAPI_SAME(SLUICE_ERR_SOCKET_REFUSED, socket_refused);
SLUICE_CAPI_SAME(SLUICE_ERR_NETWORK_CHANGED, network_changed);
SLUICE_CAPI_SAME(SLUICE_ERR_CRYPTO_FAILURE, crypto_failure);
SLUICE_CAPI_SAME(SLUICE_ERR_DECRYPT_FAILED, decrypt_failed);
SLUICE_CAPI_SAME(SLUICE_ERR_BAD_KEY, bad_key);
SLUICE_CAPI_SAME(SLUICE_ERR_TLS_HANDSHAKE_FAILED, tls_handshake_failed);
SLUICE_CAPI_SAME(SLUICE_ERR_TLS_ALERT, tls_alert);
SLUICE_CAPI_SAME(SLUICE_ERR_CERT_VERIFY_FAILED, cert_verify_failed);
SLUICE_CAPI_SAME(SLUICE_ERR_PIN_MISMATCH, pin_mismatch);
SLUICE_CAPI_SAME(SLUICE_ERR_ECH_REJECTED, ech_rejected);
SLUICE_CAPI_SAME(SLUICE_ERR_MALFORMED, malformed);
SLUICE_CAPI_SAME(SLUICE_ERR_PROTOCOL_VIOLATION, protocol_violation);
SLUICE_CAPI_SAME(SLUICE_ERR_UNSUPPORTED_VERSION, unsupported_version);
SLUICE_CAPI_SAME(SLUICE_ERR_UNKNOWN_COMMAND, unknown_command);
SLUICE_CAPI_SAME(SLUICE_ERR_UNSUPPORTED_ADDRESS_TYPE, unsupported_address_type);
SLUICE_CAPI_SAME(SLUICE_ERR_AUTH_FAILED, auth_failed);
SLUICE_CAPI_SAME(SLUICE_ERR_FRAME_TOO_LARGE, frame_too_large);
SLUICE_CAPI_SAME(SLUICE_ERR_TRUNCATED, truncated);
SLUICE_CAPI_SAME(SLUICE_ERR_CONFIG_INVALID, config_invalid);
SLUICE_CAPI_SAME(SLUICE_ERR_CONFIG_UNKNOWN_FIELD, config_unknown_field);
SLUICE_CAPI_SAME(SLUICE_ERR_CONFIG_MISSING_FIELD, config_missing_field);
SLUICE_CAPI_SAME(SLUICE_ERR_CONFIG_WRONG_TYPE, config_wrong_type);
SLUICE_CAPI_SAME(SLUICE_ERR_CONFIG_IO, config_io);
SLUICE_CAPI_SAME(SLUICE_ERR_FATAL, fatal_threshold);
SLUICE_CAPI_SAME(SLUICE_ERR_INTERNAL, internal);
SLUICE_CAPI_SAME(SLUICE_ERR_NO_MEMORY, no_memory);
SLUICE_CAPI_SAME(SLUICE_ERR_CALLBACK_FAILURE, callback_failure);
#undef SLUICE_CAPI_SAME

}  // namespace
}  // namespace sluice::capi

extern "C" {

SLUICE_EXTERN const char* sluice_strerror(int error) {
  // The threshold is not an error; errc_message would call it unknown.
  if (error == SLUICE_ERR_FATAL) return "fatal error threshold (not an error code)";
  return sluice::errc_message(static_cast<sluice::Errc>(error));
}

SLUICE_EXTERN int sluice_err_is_fatal(int error) { return error <= SLUICE_ERR_FATAL ? 1 : 0; }

SLUICE_EXTERN const char* sluice_version(void) { return SLUICE_VERSION_STRING; }

SLUICE_EXTERN uint32_t sluice_version_number(void) { return SLUICE_VERSION_NUM; }

}  // extern "C"
