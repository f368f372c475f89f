// tcp_transport.hpp: TcpTransport, the bottom Transport over a libuv TCP handle.
//
// Reads land in pool chunks handed to libuv by the alloc callback (16 KiB,
// growing to 64 KiB while reads fill their buffer), so a read costs no copy
// and an idle connection holds no buffer. Writes try uv_try_write first and
// queue the rest; one uv_write is in flight at a time with at most four
// iovecs, the number libuv keeps inline in the request (more would make libuv
// allocate per write).
#pragma once

#include <uv.h>

#include <memory>
#include <string>

#include "net/closer.hpp"
#include "sluice/engine.hpp"
#include "sluice/transport.hpp"

namespace sluice::net {

class TcpTransport final : public Transport {
 public:
  // create initializes an unconnected handle on |e|'s loop. |family| AF_INET or
  // AF_INET6 creates the socket now (so options can be set before connect);
  // AF_UNSPEC defers it (for accept).
  // |uv_status| (may be null) receives libuv's code on failure (e.g. UV_EMFILE).
  static Result<std::unique_ptr<TcpTransport>> create(Engine& e, int family,
                                                      int* uv_status = nullptr);
  ~TcpTransport() override;

  uv_tcp_t* handle() noexcept { return &tcp_; }
  Engine& engine() noexcept { return engine_; }
  // set_options applies TCP_NODELAY and keep-alive (0 = off) after connect/accept.
  void set_options(bool nodelay, unsigned keepalive_s) noexcept;
  // set_failure records a reason (e.g. from the dialer) for failure_reason().
  void set_failure(const char* reason);
  // splice_read_fd returns the socket's descriptor while what arrives on
  // the socket is exactly the stream's next bytes (nothing pushed back or
  // lent to libuv, no end-of-stream seen, not failed or closing), so a
  // Relay may splice(2) from a dup() of it with reading stopped here; -1
  // otherwise. splice_write_fd likewise for the sending side: not shut
  // down, and (unless |queued_ok|) nothing queued.
  int splice_read_fd() const noexcept;
  int splice_write_fd(bool queued_ok) const noexcept;
  // count_spliced adds bytes a Relay moved with splice(2) to stats().
  void count_spliced(uint64_t read, uint64_t written) noexcept {
    stats_.bytes_read += read;
    stats_.bytes_written += written;
  }
  // local/peer address as "ip:port" (empty on error).
  std::string local_address() const;
  std::string peer_address() const;

  void set_handler(TransportHandler* h) noexcept override {
    if (h != handler_) eof_delivered_ = false;
    handler_ = h;
  }
  Status write(Chain&& data) noexcept override;
  size_t write_buffered() const noexcept override { return inflight_.size() + queued_.size(); }
  void set_write_watermarks(size_t low, size_t high) noexcept override;
  void read_start() noexcept override;
  void read_stop() noexcept override;
  Status unread(Chain&& data) noexcept override;
  Status shutdown() noexcept override;
  void close(CloseCallback cb, void* user) noexcept override;
  // reset_on_close: SO_LINGER {1, 0}, so the close sends RST.
  void reset_on_close() noexcept override;
  const char* failure_reason() const noexcept override { return reason_.c_str(); }
  TransportStats stats() const noexcept override { return stats_; }

  using Transport::write;

 private:
  explicit TcpTransport(Engine& e) noexcept;
  static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void on_write(uv_write_t* req, int status);
  static void on_shutdown(uv_shutdown_t* req, int status);
  void start_write() noexcept;
  void maybe_shutdown() noexcept;
  void fail(int uv_status, const char* what) noexcept;
  void after_drain() noexcept;
  void deliver_unread() noexcept;

  Engine& engine_;
  uv_tcp_t tcp_{};
  uv_write_t wreq_{};
  uv_shutdown_t sreq_{};
  TransportHandler* handler_ = nullptr;  // not owned
  Slice read_buf_;                       // chunk lent to libuv between alloc and read callbacks
  Chain unread_;                         // pushed-back bytes, delivered before socket reads
  Chain inflight_;                       // bytes of the uv_write in flight
  Chain queued_;                         // bytes waiting for the next uv_write
  size_t low_ = 128 * 1024;
  size_t high_ = 512 * 1024;
  bool above_high_ = false;
  bool big_reads_ = false;  // last read filled a 16 KiB buffer: use 64 KiB
  bool reading_ = false;    // the owner wants data
  bool writing_ = false;    // a uv_write is in flight
  bool shutdown_wanted_ = false;
  bool shutdown_sent_ = false;
  bool eof_ = false;
  bool eof_delivered_ = false;  // the current handler heard on_eof
  bool failed_ = false;
  bool delivering_ = false;  // inside deliver_unread (no recursion)
  Errc error_ = Errc::ok;
  std::string reason_;
  Closer closer_;
  TransportStats stats_;
};

}  // namespace sluice::net
