// sluice/error.hpp: error codes and Result<T>.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// The C++ API is source-stable, not ABI-stable; include/sluice/sluice.h is the
// ABI. Errc mirrors the C enum sluice_error value for value: 0 is success,
// errors are negative and grouped in ranges per subsystem:
//
//   -1xx  generic (arguments, state, buffers)
//   -2xx  network and OS
//   -3xx  cryptography and TLS
//   -4xx  protocol (a peer sent something wrong)
//   -5xx  configuration
//   -9xx  fatal: at or below kFatalThreshold the object that returned it is dead
//
// Numbers never change once released. errc_message() returns a static string
// for every value (and for unknown values), never nullptr.
//
// Threading: everything here is pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

namespace sluice {

enum class Errc : int32_t {
  ok = 0,

  // generic
  invalid_argument = -101,
  invalid_state = -102,
  would_block = -103,
  buffer_too_small = -104,
  not_supported = -105,
  canceled = -106,
  timed_out = -107,
  closed = -108,
  limit_exceeded = -109,

  // network and OS
  io_error = -201,
  eof = -202,
  connection_refused = -203,
  connection_reset = -204,
  connection_aborted = -205,
  host_unreachable = -206,
  network_unreachable = -207,
  address_in_use = -208,
  address_not_available = -209,
  dns_failure = -210,
  broken_pipe = -211,
  socket_refused = -212,   // the host's socket hook refused an outbound socket
  network_changed = -213,  // closed because the host reported a network change

  // cryptography and TLS
  crypto_failure = -301,
  decrypt_failed = -302,
  bad_key = -303,
  tls_handshake_failed = -304,
  tls_alert = -305,
  cert_verify_failed = -306,
  pin_mismatch = -307,
  ech_rejected = -308,

  // protocol
  malformed = -401,
  protocol_violation = -402,
  unsupported_version = -403,
  unknown_command = -404,
  unsupported_address_type = -405,
  auth_failed = -406,
  frame_too_large = -407,
  truncated = -408,

  // configuration
  config_invalid = -501,
  config_unknown_field = -502,
  config_missing_field = -503,
  config_wrong_type = -504,
  config_io = -505,

  // fatal
  fatal_threshold = -900,
  internal = -901,
  no_memory = -902,
  callback_failure = -903,
};

// kFatalThreshold: an error at or below this value leaves the object dead.
inline constexpr int32_t kFatalThreshold = static_cast<int32_t>(Errc::fatal_threshold);

// errc_message returns the stable, static English message for |e|; an unknown
// value yields "unknown error". Never nullptr.
const char* errc_message(Errc e) noexcept;

// errc_name returns the enumerator's name ("invalid_argument"), or "unknown".
const char* errc_name(Errc e) noexcept;

// errc_is_fatal reports whether |e| is at or below the fatal threshold.
constexpr bool errc_is_fatal(Errc e) noexcept { return static_cast<int32_t>(e) <= kFatalThreshold; }

// errc_from_int converts a C error code; values that name no enumerator map to
// Errc::internal.
Errc errc_from_int(int32_t v) noexcept;

// errc_all_for_test lists every enumerator (except ok and fatal_threshold), so
// a test can check each has a name, a message and a C code.
const Errc* errc_all_for_test(std::size_t* count) noexcept;

// Result<T> holds either a T or an Errc (never Errc::ok). It is shaped like
// std::expected: has_value(), value(), error(), operator*, operator->. It never
// throws; value() on an error is a programming bug and aborts in every build.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(const T& v) : ok_(true) { new (&storage_.value) T(v); }        // NOLINT implicit
  Result(T&& v) : ok_(true) { new (&storage_.value) T(std::move(v)); }  // NOLINT implicit
  Result(Errc e) : ok_(false) { storage_.error = e == Errc::ok ? Errc::internal : e; }  // NOLINT

  Result(const Result& o) : ok_(o.ok_) {
    if (ok_)
      new (&storage_.value) T(o.storage_.value);
    else
      storage_.error = o.storage_.error;
  }
  Result(Result&& o) noexcept(std::is_nothrow_move_constructible_v<T>) : ok_(o.ok_) {
    if (ok_)
      new (&storage_.value) T(std::move(o.storage_.value));
    else
      storage_.error = o.storage_.error;
  }
  Result& operator=(const Result& o) {
    if (this != &o) {
      this->~Result();
      new (this) Result(o);
    }
    return *this;
  }
  Result& operator=(Result&& o) noexcept(std::is_nothrow_move_constructible_v<T>) {
    if (this != &o) {
      this->~Result();
      new (this) Result(std::move(o));
    }
    return *this;
  }
  ~Result() {
    if (ok_) storage_.value.~T();
  }

  bool has_value() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  Errc error() const noexcept { return ok_ ? Errc::ok : storage_.error; }

  T& value() & {
    check();
    return storage_.value;
  }
  const T& value() const& {
    check();
    return storage_.value;
  }
  T&& value() && {
    check();
    return std::move(storage_.value);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T value_or(T dflt) const& { return ok_ ? storage_.value : dflt; }

 private:
  void check() const {
    if (!ok_) __builtin_trap();
  }
  union Storage {
    Storage() {}
    ~Storage() {}
    T value;
    Errc error;
  } storage_;
  bool ok_;
};

// Result<void>: success or an Errc.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Errc e) : err_(e) {}  // NOLINT implicit; Errc::ok means success
  bool has_value() const noexcept { return err_ == Errc::ok; }
  explicit operator bool() const noexcept { return has_value(); }
  Errc error() const noexcept { return err_; }

 private:
  Errc err_ = Errc::ok;
};

using Status = Result<void>;

}  // namespace sluice

// SLUICE_TRY evaluates a Result<void>/Status expression and returns its error
// from the enclosing function if it failed.
#define SLUICE_TRY(expr)                                          \
  do {                                                            \
    auto sluice_try_r_ = (expr);                                  \
    if (!sluice_try_r_.has_value()) return sluice_try_r_.error(); \
  } while (0)
