// uv_error.hpp: mapping libuv error codes onto Errc.
#pragma once

#include <uv.h>

#include "sluice/error.hpp"

namespace sluice::net {

// errc_from_uv maps a negative libuv status to the closest Errc.
inline Errc errc_from_uv(int status) noexcept {
  switch (status) {
    case 0:
      return Errc::ok;
    case UV_EOF:
      return Errc::eof;
    case UV_ECONNREFUSED:
      return Errc::connection_refused;
    case UV_ECONNRESET:
      return Errc::connection_reset;
    case UV_ECONNABORTED:
      return Errc::connection_aborted;
    case UV_ETIMEDOUT:
      return Errc::timed_out;
    case UV_EHOSTUNREACH:
      return Errc::host_unreachable;
    case UV_ENETUNREACH:
      return Errc::network_unreachable;
    case UV_EADDRINUSE:
      return Errc::address_in_use;
    case UV_EADDRNOTAVAIL:
      return Errc::address_not_available;
    case UV_EPIPE:
      return Errc::broken_pipe;
    case UV_ECANCELED:
      return Errc::canceled;
    case UV_ENOBUFS:
    case UV_ENOMEM:
      return Errc::no_memory;
    case UV_EINVAL:
      return Errc::invalid_argument;
    case UV_EMFILE:
    case UV_ENFILE:
      return Errc::limit_exceeded;  // out of file descriptors
    case UV_EAI_NONAME:
    case UV_EAI_AGAIN:
    case UV_EAI_FAIL:
    case UV_EAI_NODATA:
    case UV_EAI_SERVICE:
    case UV_EAI_FAMILY:
    case UV_EAI_ADDRFAMILY:
      return Errc::dns_failure;
    default:
      return Errc::io_error;
  }
}

}  // namespace sluice::net
