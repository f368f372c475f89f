// error.cpp: the one table that maps Errc to its name and stable message.
#include "sluice/error.hpp"

#include <cstddef>

namespace sluice {
namespace {

struct ErrcInfo {
  Errc code;
  const char* name;
  const char* message;
};

// kTable lists every enumerator once. The C ABI maps sluice_error onto the
// same numbers, so adding a code here and in sluice.h is the whole change.
constexpr ErrcInfo kTable[] = {
    {Errc::invalid_argument, "invalid_argument", "invalid argument"},
    {Errc::invalid_state, "invalid_state", "operation not valid in the object's current state"},
    {Errc::would_block, "would_block", "operation would block"},
    {Errc::buffer_too_small, "buffer_too_small", "buffer too small"},
    {Errc::not_supported, "not_supported", "operation or feature not supported"},
    {Errc::canceled, "canceled", "operation canceled"},
    {Errc::timed_out, "timed_out", "timed out"},
    {Errc::closed, "closed", "object is closed"},
    {Errc::limit_exceeded, "limit_exceeded", "configured limit exceeded"},
    {Errc::io_error, "io_error", "I/O error"},
    {Errc::eof, "eof", "end of stream"},
    {Errc::connection_refused, "connection_refused", "connection refused"},
    {Errc::connection_reset, "connection_reset", "connection reset by peer"},
    {Errc::connection_aborted, "connection_aborted", "connection aborted"},
    {Errc::host_unreachable, "host_unreachable", "host unreachable"},
    {Errc::network_unreachable, "network_unreachable", "network unreachable"},
    {Errc::address_in_use, "address_in_use", "address already in use"},
    {Errc::address_not_available, "address_not_available", "address not available"},
    {Errc::dns_failure, "dns_failure", "name resolution failed"},
    {Errc::broken_pipe, "broken_pipe", "broken pipe"},
    {Errc::socket_refused, "socket_refused", "socket refused by the host's socket hook"},
    {Errc::network_changed, "network_changed", "closed after a network change"},
    {Errc::crypto_failure, "crypto_failure", "cryptographic operation failed"},
    {Errc::decrypt_failed, "decrypt_failed", "decryption or authentication tag check failed"},
    {Errc::bad_key, "bad_key", "invalid key"},
    {Errc::tls_handshake_failed, "tls_handshake_failed", "TLS handshake failed"},
    {Errc::tls_alert, "tls_alert", "TLS alert received"},
    {Errc::cert_verify_failed, "cert_verify_failed", "certificate verification failed"},
    {Errc::pin_mismatch, "pin_mismatch", "certificate pin mismatch"},
    {Errc::ech_rejected, "ech_rejected", "server rejected Encrypted Client Hello"},
    {Errc::malformed, "malformed", "malformed message from peer"},
    {Errc::protocol_violation, "protocol_violation", "protocol violation by peer"},
    {Errc::unsupported_version, "unsupported_version", "unsupported protocol version"},
    {Errc::unknown_command, "unknown_command", "unknown or unsupported command"},
    {Errc::unsupported_address_type, "unsupported_address_type", "unsupported address type"},
    {Errc::auth_failed, "auth_failed", "authentication failed"},
    {Errc::frame_too_large, "frame_too_large", "frame exceeds the size limit"},
    {Errc::truncated, "truncated", "message truncated"},
    {Errc::config_invalid, "config_invalid", "invalid configuration"},
    {Errc::config_unknown_field, "config_unknown_field", "unknown configuration field"},
    {Errc::config_missing_field, "config_missing_field", "required configuration field missing"},
    {Errc::config_wrong_type, "config_wrong_type", "configuration field has the wrong type"},
    {Errc::config_io, "config_io", "configuration file could not be read"},
    {Errc::internal, "internal", "internal error"},
    {Errc::no_memory, "no_memory", "out of memory"},
    {Errc::callback_failure, "callback_failure", "a host callback failed"},
};

constexpr size_t kTableSize = sizeof(kTable) / sizeof(kTable[0]);

Errc kAll[kTableSize] = {};
bool init_all() {
  for (size_t i = 0; i < kTableSize; ++i) kAll[i] = kTable[i].code;
  return true;
}
const bool kAllReady = init_all();

const ErrcInfo* find(Errc e) noexcept {
  for (const auto& info : kTable)
    if (info.code == e) return &info;
  return nullptr;
}

}  // namespace

const char* errc_message(Errc e) noexcept {
  if (e == Errc::ok) return "success";
  const ErrcInfo* info = find(e);
  return info ? info->message : "unknown error";
}

const char* errc_name(Errc e) noexcept {
  if (e == Errc::ok) return "ok";
  const ErrcInfo* info = find(e);
  return info ? info->name : "unknown";
}

Errc errc_from_int(int32_t v) noexcept {
  if (v == 0) return Errc::ok;
  const ErrcInfo* info = find(static_cast<Errc>(v));
  return info ? info->code : Errc::internal;
}

const Errc* errc_all_for_test(size_t* count) noexcept {
  (void)kAllReady;
  *count = kTableSize;
  return kAll;
}

}  // namespace sluice
