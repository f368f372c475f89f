// udp_socket.hpp: UdpSocket, the batched UDP driver under every QUIC endpoint.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Receiving: recvmmsg(2) on the socket fd drains up to kRecvBatch messages
// into one buffer owned by the socket (64 KiB per slot) each time the fd is
// readable. Where the kernel has UDP GRO (Linux >= 5.0, UDP_GRO socket
// option, detected at run time) a message may hold a run of equal-size
// datagrams (the last may be shorter) with their size in a UDP_GRO control
// message; the socket splits it again. On a GRO-capable device, and always
// on loopback when the sender used GSO, a whole run then crosses the
// receiving kernel as one buffer instead of one per datagram. Datagrams are
// handed to the handler one by one and consumed synchronously (ngtcp2
// decrypts into its own buffer), so nothing is allocated per packet;
// on_batch_end() follows every recvmmsg so connections write (and
// acknowledge) once per batch, not once per packet. libuv has no API for
// either control message, so the fd is watched with a uv_poll_t (see below)
// and the uv_udp_t only binds and owns the socket.
//
// Sending: send() takes a run of equal-size QUIC packets (the last may be
// shorter) for one destination. Where the kernel has UDP GSO (Linux >= 4.18,
// detected at run time by setting UDP_SEGMENT), the run goes down in one
// sendmsg(2) with a UDP_SEGMENT control message; otherwise sendmmsg(2) sends
// one message per packet. Both go straight to the socket fd: libuv has no
// API for either, and its own queue would copy.
//
// A full socket buffer (EAGAIN) does not lose the run: send() reports how
// much went out, the caller keeps the rest, and the socket also waits for
// writability and calls UdpSocketHandler::on_writable() once it can take
// more. Both waits use one uv_poll_t on a dup() of the fd (libuv allows one
// watcher per fd, and the uv_udp_t owns the original).
//
// Socket buffers are raised to kSocketBuffer (SO_*BUFFORCE when permitted,
// else whatever net.core.[rw]mem_max allows).
//
// Several sockets (legs). A UdpSocket starts with one bound socket and may
// own more, each with its own fd and poll but the one handler, receive
// buffer and transform:
// - A server listening on several ports (add_leg; Hysteria's port hopping
//   without DNAT): a peer's datagrams may arrive on any of them, and what
//   is sent to a peer leaves from the leg its latest datagram came to (the
//   first leg until one came), so each reply comes from the port the client
//   aimed at. The map from peer address to leg holds the recent peers in
//   two generations of kPeerRoutes entries (older ones fall back to the
//   first leg), looked up once per datagram and per send only while there
//   are several legs.
// - A client hopping between server ports (set_hop_peer, hop; Hysteria 2
//   spec section 8, as the official client's udphop conn): each hop binds a
//   new socket (a new local port) that sends to a new server port; the
//   previous one stays open to receive late datagrams until the next hop
//   closes it. The layer above sees one constant peer address and one
//   constant local address (local_address()), so a QUIC connection on it
//   continues across hops with no migration of its own: the server sees a
//   NAT rebinding and validates the new path.
// Either way the address QUIC uses as its local one is the first leg's.
//
// Threads: the Engine's loop thread. close() is asynchronous (one callback).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "net/closer.hpp"
#include "sluice/engine.hpp"
#include "sluice/error.hpp"
#include "sluice/transport.hpp"

namespace sluice::quic {

class UdpSocketHandler {
 public:
  virtual ~UdpSocketHandler() = default;
  // on_datagram: one datagram, borrowed for the call.
  virtual void on_datagram(const sockaddr* from, const uint8_t* data, size_t len) = 0;
  // on_batch_end: the last datagram of a receive batch was delivered.
  virtual void on_batch_end() = 0;
  // on_writable: a send that hit a full socket buffer may be retried.
  virtual void on_writable() {}
};

// PacketTransform rewrites every datagram between QUIC and the wire (an
// obfuscation layer such as Hysteria's Salamander). Each packet of a GSO
// run is transformed on its own and the run goes out with the larger
// segment size, so batching is kept; received datagrams (GRO runs already
// split) are restored in place in the socket's receive buffer, and those
// that fail are dropped and counted (UdpSocketStats::transform_dropped).
class PacketTransform {
 public:
  virtual ~PacketTransform() = default;
  // overhead: bytes encode() adds to each packet.
  virtual size_t overhead() const noexcept = 0;
  // encode writes |len| + overhead() bytes for packet |in| to |out|.
  virtual void encode(const uint8_t* in, size_t len, uint8_t* out) noexcept = 0;
  // decode restores a received datagram in place: the packet is
  // [data + overhead(), data + len) on return, and the return value is its
  // length; 0 drops the datagram.
  virtual size_t decode(uint8_t* data, size_t len) noexcept = 0;
};

struct UdpSocketStats {
  uint64_t datagrams_received = 0;
  uint64_t recv_batches = 0;  // recvmmsg rounds that delivered something
  uint64_t gro_messages = 0;  // received messages that held more than one datagram
  uint64_t datagrams_sent = 0;
  uint64_t send_calls = 0;        // sendmsg/sendmmsg syscalls
  uint64_t send_would_block = 0;  // sends refused by a full buffer (EAGAIN)
  uint64_t writable_waits = 0;    // times the socket waited for POLLOUT
  uint64_t send_errors = 0;
  uint64_t transform_dropped = 0;  // received datagrams the PacketTransform refused
  uint64_t hops = 0;               // hop(): sockets opened for port hopping
};

class UdpSocket {
 public:
  static constexpr size_t kRecvBatch = 16;       // messages per recvmmsg
  static constexpr size_t kRecvRounds = 8;       // recvmmsg calls per readable event
  static constexpr size_t kMaxGsoSegments = 64;  // kernel UDP_MAX_SEGMENTS
  static constexpr int kSocketBuffer = 8 << 20;
  // Peers a multi-leg socket remembers per generation (see above): enough
  // for the clients of a busy server; a peer unheard for two generations
  // is answered from the first leg until it sends again.
  static constexpr size_t kPeerRoutes = 4096;

  // create binds a socket to |bind_addr| on |loop| and starts receiving.
  // |allow_gso| false forces the sendmmsg path (tests, benchmarks). A client
  // socket names its Engine as |outbound|: the Engine's socket hook sees it
  // before it is bound (net/host_hooks.hpp) and may refuse it.
  static Result<std::unique_ptr<UdpSocket>> create(uv_loop_t* loop, const sockaddr* bind_addr,
                                                   UdpSocketHandler* h, bool allow_gso = true,
                                                   Engine* outbound = nullptr);
  ~UdpSocket();
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  // send writes |len| bytes holding packets of |segment| bytes each (the last
  // may be shorter) to |to|. would_block if the socket buffer is full: then
  // *sent (if given) tells how many leading bytes (whole packets) went out,
  // and on_writable() follows when the rest may be retried; io_error for
  // other failures (the packets count as lost).
  Status send(const sockaddr* to, const uint8_t* data, size_t len, size_t segment,
              size_t* sent = nullptr) noexcept;

  // inject_would_block makes the next |n| sends fail with EAGAIN as a full
  // buffer would (tests: loopback UDP never fills the sender's buffer, the
  // kernel releases its memory when the packet is looped back).
  void inject_would_block(size_t n) noexcept { inject_eagain_ = n; }

  // set_transform installs |t| (not owned; it must outlive the socket, or
  // be replaced by nullptr first) for every later send and receive.
  void set_transform(PacketTransform* t);
  PacketTransform* transform() const noexcept { return transform_; }

  // add_leg binds one more socket on |bind_addr| (a server's further
  // listening port; see above). The error of the bind (address_in_use, ...)
  // if it fails; the socket is unchanged then.
  Status add_leg(const sockaddr* bind_addr) noexcept;
  // leg_count: sockets open for sending and receiving (hopping: the current
  // one and the previous one still receiving).
  size_t leg_count() const noexcept { return legs_.size(); }
  // leg_port: the local port of leg |i| (< leg_count()); leg_received: the
  // datagrams it has received.
  uint16_t leg_port(size_t i) const noexcept;
  uint64_t leg_received(size_t i) const noexcept { return legs_[i]->received; }

  // set_hop_peer starts port hopping towards |peer| (a client): datagrams
  // received on any leg are reported as coming from |peer|, whatever their
  // source (the official client accepts them likewise), and every send
  // goes, through the newest leg, to the hop target (|peer| until hop()).
  void set_hop_peer(const sockaddr* peer) noexcept;
  // hop opens a new leg on the first leg's address with a new local port
  // (through the Engine's socket hook) and sends everything to |target|
  // from it; the leg that was current keeps receiving until the next hop,
  // and the one before it closes. On failure nothing changes.
  Status hop(const sockaddr* target) noexcept;
  bool hopping() const noexcept { return hopping_; }
  // hop_target: where sends go while hopping.
  const sockaddr_storage& hop_target() const noexcept { return hop_target_; }

  // local_address is the first leg's bound address (port resolved): the
  // one QUIC uses, also while hopping.
  const sockaddr_storage& local_address() const noexcept { return local_; }
  socklen_t local_address_len() const noexcept { return local_len_; }
  bool gso() const noexcept { return gso_; }
  bool gro() const noexcept { return legs_.empty() ? false : legs_[0]->gro; }
  const UdpSocketStats& stats() const noexcept { return stats_; }

  // close stops receiving and closes the handle; |cb| runs once.
  void close(CloseCallback cb, void* user) noexcept;

 private:
  // Leg: one bound socket. Its handles' data point to it; it is deleted
  // once both handles have closed (retired by a hop, or by close()).
  struct Leg {
    UdpSocket* owner = nullptr;
    uv_udp_t udp{};
    uv_poll_t poll{};  // POLLIN on poll_fd, and POLLOUT while a send is blocked
    int fd = -1;
    int poll_fd = -1;  // dup of fd (libuv keeps one watcher per fd; udp owns fd)
    bool udp_init = false;
    bool poll_init = false;
    bool want_writable = false;
    bool gro = false;
    int closing_parts = 0;  // handles still closing
    uint64_t received = 0;
    sockaddr_storage local{};
    socklen_t local_len = 0;
  };
  // PeerKey: a peer's family, port and address, for the leg map.
  struct PeerKey {
    uint64_t a = 0, b = 0, c = 0;
    bool operator==(const PeerKey& o) const noexcept { return a == o.a && b == o.b && c == o.c; }
  };
  struct PeerKeyHash {
    size_t operator()(const PeerKey& k) const noexcept {
      uint64_t h = k.a * 0x9e3779b97f4a7c15ull;
      h ^= k.b + 0x7f4a7c15ull + (h << 6) + (h >> 2);
      h ^= k.c + 0x9e3779b9ull + (h << 6) + (h >> 2);
      return static_cast<size_t>(h);
    }
  };
  using PeerRoutes = std::unordered_map<PeerKey, Leg*, PeerKeyHash>;

  UdpSocket() = default;
  // open_leg binds a socket on |bind_addr| with the options every leg has.
  Result<Leg*> open_leg(const sockaddr* bind_addr) noexcept;
  // close_leg closes a leg's handles; the leg deletes itself after.
  void close_leg(Leg* l) noexcept;
  static void on_leg_handle_closed(uv_handle_t* h);
  Leg* leg_for(const sockaddr* to) noexcept;
  void note_peer(const sockaddr* from, Leg* l) noexcept;
  static PeerKey peer_key(const sockaddr* a) noexcept;
  Status send_raw(Leg& l, const sockaddr* to, const uint8_t* data, size_t len, size_t segment,
                  size_t* sent) noexcept;
  Status send_mmsg(Leg& l, const sockaddr* to, socklen_t tolen, const uint8_t* data, size_t len,
                   size_t segment, size_t* sent) noexcept;
  Status would_block(Leg& l, size_t* sent, size_t n) noexcept;
  static void on_poll(uv_poll_t* p, int status, int events);
  // receive drains a leg: up to kRecvRounds recvmmsg calls.
  void receive(Leg& l) noexcept;
  // update_poll sets a leg's poll events: readable, plus writable while a
  // send is blocked.
  void update_poll(Leg& l) noexcept;

  uv_loop_t* loop_ = nullptr;
  Engine* outbound_ = nullptr;  // a client's Engine, for its socket hook
  bool allow_gso_ = true;
  UdpSocketHandler* handler_ = nullptr;
  std::unique_ptr<uint8_t[]> rbuf_;  // kRecvBatch slots of 64 KiB, shared by the legs
  bool gso_ = false;
  // legs_: open legs; [0] is the first (its address is local_) except while
  // hopping, where the last is current and the one before it, if any, the
  // previous.
  std::vector<std::unique_ptr<Leg>> legs_;
  int closing_legs_ = 0;  // legs whose handles are closing
  sockaddr_storage local_{};
  socklen_t local_len_ = 0;
  UdpSocketStats stats_;
  size_t inject_eagain_ = 0;
  PacketTransform* transform_ = nullptr;
  std::unique_ptr<uint8_t[]> tbuf_;  // transformed packets of one send (with a transform)
  size_t tbuf_cap_ = 0;
  // Several legs (server): the leg each recent peer last sent to, in two
  // generations (routes_[cur_route_] is the newer).
  PeerRoutes routes_[2];
  size_t cur_route_ = 0;
  // Hopping (client): the peer address reported upward, and where sends go.
  bool hopping_ = false;
  sockaddr_storage hop_peer_{};
  sockaddr_storage hop_target_{};
  net::Closer closer_;
};

// sockaddr_len returns the length of an AF_INET or AF_INET6 address.
inline socklen_t sockaddr_len(const sockaddr* a) noexcept {
  return a->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

}  // namespace sluice::quic
