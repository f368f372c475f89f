// stream_datagram_flow.cpp: UDP datagrams carried in streams to a proxy.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "session/stream_datagram_flow.hpp"

#include <algorithm>

#include "net/closer.hpp"
#include "sluice/log.hpp"

namespace sluice {

struct StreamDatagramFlow::Leg final : CarrierHandler, TransportHandler {
  StreamDatagramFlow* flow = nullptr;
  Endpoint dest;                                // stream per target: its destination
  TargetAddress first;                          // the first datagram's destination
  bool has_first = false;                       // |first| is known
  std::unique_ptr<DatagramFraming> framing;     // once |first| is known
  std::unique_ptr<DatagramCarrier::Open> open;  // while opening
  std::unique_ptr<Transport> stream;            // once open
  Chain queued;                                 // frames sent while opening
  uint64_t queued_datagrams = 0;
  Chain in;                  // received, not yet a whole datagram
  bool prefix_sent = false;  // the carrier's prefix (eager opens)
  bool starting = false;     // inside DatagramCarrier::open
  bool answered = false;     // on_carrier was heard
  bool done = false;         // lost or closed: being dropped

  void on_carrier(Result<std::unique_ptr<Transport>> t, const char* reason) override {
    answered = true;
    flow->opened(this, std::move(t), reason);
  }
  void on_data(Slice&& data) override { flow->received(this, std::move(data)); }
  void on_eof() override {
    flow->lost(this, in.empty() ? Errc::closed : Errc::truncated,
               in.empty() ? "the server ended the stream" : "the server ended inside a frame");
  }
  void on_error(Errc e) override { flow->lost(this, e, stream ? stream->failure_reason() : ""); }
};

StreamDatagramFlow::StreamDatagramFlow(Engine& e, std::unique_ptr<DatagramCarrier> carrier,
                                       const StreamDatagramFlowOptions& o,
                                       DatagramHandler* h) noexcept
    : engine_(e),
      carrier_(std::move(carrier)),
      opts_(o),
      handler_(h),
      tracker_(std::make_shared<Tracker>(Tracker{this})) {}

Result<std::unique_ptr<StreamDatagramFlow>> StreamDatagramFlow::create(
    Engine& e, std::unique_ptr<DatagramCarrier> carrier, const StreamDatagramFlowOptions& o,
    DatagramHandler* h) noexcept {
  std::unique_ptr<StreamDatagramFlow> f(new (std::nothrow)
                                            StreamDatagramFlow(e, std::move(carrier), o, h));
  if (!f) return Errc::no_memory;
  if (o.eager) {
    ++f->in_call_;
    Leg* l = f->new_leg(Endpoint{}, nullptr);
    if (l == nullptr) return Errc::no_memory;
    f->open_leg(l);
    --f->in_call_;
  }
  return f;
}

StreamDatagramFlow::~StreamDatagramFlow() {
  tracker_->flow = nullptr;  // streams still closing no longer report here
  closing_ = true;
  handler_ = nullptr;
  std::vector<Leg*> legs;
  for (auto& l : legs_) legs.push_back(l.get());
  for (Leg* l : legs) drop_leg(l);
}

StreamDatagramFlow::Leg* StreamDatagramFlow::find_leg(const Endpoint& to) noexcept {
  for (auto& l : legs_) {
    if (l->done) continue;
    if (!opts_.stream_per_target) return l.get();
    if (l->dest.port == to.port && l->dest.host == to.host) return l.get();
  }
  return nullptr;
}

StreamDatagramFlow::Leg* StreamDatagramFlow::new_leg(const Endpoint& to,
                                                     const TargetAddress* first) noexcept {
  if (legs_.size() >= opts_.max_streams) return nullptr;
  auto l = std::unique_ptr<Leg>(new (std::nothrow) Leg());
  if (!l) return nullptr;
  l->flow = this;
  if (opts_.stream_per_target) l->dest = to;
  if (first != nullptr && !set_first(l.get(), *first)) return nullptr;
  legs_.push_back(std::move(l));
  return legs_.back().get();
}

bool StreamDatagramFlow::set_first(Leg* l, const TargetAddress& first) noexcept {
  l->framing = carrier_->framing(first);
  if (!l->framing) return false;
  l->first = first;
  l->has_first = true;
  return true;
}

void StreamDatagramFlow::open_leg(Leg* l) noexcept {
  l->starting = true;
  auto op = carrier_->open(l->has_first ? &l->first : nullptr, l);
  l->starting = false;
  if (!l->answered) {
    l->open = std::move(op);
    return;
  }
  op.reset();                // finished inside open()
  if (l->done) drop_leg(l);  // lost inside open(): forgotten only now
}

void StreamDatagramFlow::opened(Leg* l, Result<std::unique_ptr<Transport>> t,
                                const char* reason) noexcept {
  if (!l->starting) l->open.reset();  // finished: destroying it is allowed here
  if (!t) {
    if (l->queued_datagrams > 0) stats_.dropped += l->queued_datagrams;
    l->queued.clear();
    l->queued_datagrams = 0;
    lost(l, t.error(), reason);
    return;
  }
  l->stream = std::move(*t);
  l->stream->set_handler(l);
  l->stream->read_start();
  if (!l->queued.empty()) {
    Status st = flush(l);
    if (!st) lost(l, st.error(), l->stream->failure_reason());
  }
}

// flush writes what is queued, behind the carrier's prefix the first time.
Status StreamDatagramFlow::flush(Leg* l) noexcept {
  Chain out;
  if (opts_.eager && !l->prefix_sent) {
    auto p = carrier_->prefix(l->first, engine_.pool());
    if (!p) return p.error();
    if (!p->empty() && !out.push_back(std::move(*p))) return Errc::no_memory;
    l->prefix_sent = true;
  }
  if (!out.empty()) {
    if (!out.append(std::move(l->queued))) return Errc::no_memory;
  } else {
    out = std::move(l->queued);
  }
  l->queued.clear();
  l->queued_datagrams = 0;
  return l->stream->write(std::move(out));
}

Status StreamDatagramFlow::send(const Endpoint& to, Slice&& payload) noexcept {
  if (closing_) return Errc::closed;
  if (failed_) {
    stats_.dropped++;
    return error_;
  }
  auto t = TargetAddress::from_host(to.host, to.port);
  if (!t || (opts_.strict_send && to.port == 0)) {
    stats_.dropped++;
    if (!opts_.strict_send) return {};
    return t ? Status{Errc::invalid_argument} : Status{t.error()};
  }
  if (payload.size() > opts_.max_payload || (payload.empty() && !opts_.send_empty)) {
    stats_.dropped++;
    return opts_.strict_send && !payload.empty() ? Status{Errc::frame_too_large} : Status{};
  }
  Leg* l = find_leg(to);
  const bool fresh = l == nullptr;
  if (fresh) {
    l = new_leg(to, &*t);
    if (l == nullptr) {
      stats_.dropped++;
      return {};
    }
  } else if (!l->has_first && !set_first(l, *t)) {  // an eager stream's first datagram
    stats_.dropped++;
    return {};
  }
  Chain framed;
  Status st = l->framing->frame(*t, std::move(payload), engine_.pool(), &framed);
  if (!st) {
    stats_.dropped++;
    if (fresh) drop_leg(l);
    return {};
  }
  const bool opening = !l->stream;
  const size_t queued = opening ? l->queued.size() : l->stream->write_buffered();
  if (queued + framed.size() > (opening ? opts_.connect_queue : opts_.write_queue)) {
    stats_.dropped++;  // never the first frame of a stream: the queue is empty then
    return {};
  }
  if (!l->queued.append(std::move(framed))) {
    stats_.dropped++;
    if (fresh) drop_leg(l);
    return {};
  }
  l->queued_datagrams++;
  stats_.sent++;
  if (fresh) {
    ++in_call_;
    open_leg(l);  // may answer at once
    --in_call_;
  } else if (!opening) {
    st = flush(l);
    if (!st) {
      ++in_call_;
      lost(l, st.error(), l->stream->failure_reason());
      --in_call_;
    }
  }
  return {};
}

void StreamDatagramFlow::received(Leg* l, Slice&& data) noexcept {
  if (!l->in.push_back_compact(std::move(data))) {
    lost(l, Errc::no_memory, "out of memory");
    return;
  }
  while (!l->done && !closing_ && !failed_) {
    FramedDatagram d;
    auto r = l->framing ? l->framing->take(l->in, engine_.pool(), &d)
                        : Result<bool>(Errc::protocol_violation);  // data before any request
    if (!r) {
      lost(
          l, r.error(),
          r.error() == Errc::eof ? "the server ended the flow" : "malformed frame from the server");
      return;
    }
    if (!*r) return;
    stats_.received++;
    if (handler_ == nullptr) continue;
    if (opts_.stream_per_target) {
      handler_->on_datagram(l->dest, std::move(d.payload));
    } else {
      from_.host = d.address.host();
      from_.port = d.address.port();
      handler_->on_datagram(from_, std::move(d.payload));
    }
  }
}

void StreamDatagramFlow::lost(Leg* l, Errc e, const char* why) noexcept {
  if (l->done || closing_) return;
  if (opts_.fail_on_loss) {
    SLUICE_LOG_INFO("%s: %s%s%s", opts_.name.c_str(), errc_message(e), *why ? ": " : "", why);
  } else {
    SLUICE_LOG_DEBUG("%s: %s%s%s", opts_.name.c_str(), errc_message(e), *why ? ": " : "", why);
  }
  l->done = true;
  if (!l->starting) drop_leg(l);  // else open_leg drops it once open() returned
  if (opts_.fail_on_loss) fail(e);
}

void StreamDatagramFlow::drop_leg(Leg* l) noexcept {
  l->done = true;
  l->open.reset();  // cancels an open in progress
  l->queued.clear();
  l->in.clear();
  if (l->stream) {
    // The stream closes on its own; the tracker tells the flow, if alive.
    struct Closing {
      std::unique_ptr<Transport> t;
      std::shared_ptr<Tracker> tracker;
    };
    auto* c = new (std::nothrow) Closing{std::move(l->stream), tracker_};
    if (c != nullptr) {
      ++closing_streams_;
      c->t->close(
          [](void* u) {
            auto* c = static_cast<Closing*>(u);
            StreamDatagramFlow* f = c->tracker->flow;
            delete c;
            if (f) f->stream_closed();
          },
          c);
    } else {
      close_and_delete(l->stream.release());  // not waited for: no memory to track it
    }
  }
  auto it = std::find_if(legs_.begin(), legs_.end(),
                         [l](const std::unique_ptr<Leg>& q) { return q.get() == l; });
  if (it != legs_.end()) legs_.erase(it);  // deletes l
}

void StreamDatagramFlow::fail(Errc e) noexcept {
  if (failed_ || closing_) return;
  failed_ = true;
  error_ = e;
  std::vector<Leg*> legs;
  for (auto& l : legs_)
    if (!l->starting) legs.push_back(l.get());
  for (Leg* l : legs) drop_leg(l);
  if (in_call_ == 0) {
    if (handler_) handler_->on_error(e);
    return;
  }
  // Never call back inside a call into the flow: on the next loop turn,
  // if the flow is still there and not closing.
  struct Deferred {
    std::weak_ptr<Tracker> tracker;
    Errc error;
  };
  auto* d = new (std::nothrow) Deferred{tracker_, e};
  if (d == nullptr) return;  // send() still returns the error
  net::defer(
      engine_,
      [](void* u) {
        std::unique_ptr<Deferred> d(static_cast<Deferred*>(u));
        auto t = d->tracker.lock();
        if (t && t->flow && t->flow->handler_) t->flow->handler_->on_error(d->error);
      },
      d);
}

void StreamDatagramFlow::stream_closed() noexcept {
  --closing_streams_;
  maybe_finish_close();
}

void StreamDatagramFlow::maybe_finish_close() noexcept {
  if (!closing_ || closing_streams_ > 0 || close_cb_ == nullptr) return;
  CloseCallback cb = close_cb_;
  close_cb_ = nullptr;
  if (in_close_) {
    // Never from inside close(): its caller may still be using the flow.
    net::defer(engine_, cb, close_user_);
    return;
  }
  cb(close_user_);  // may delete this
}

void StreamDatagramFlow::close(CloseCallback cb, void* user) noexcept {
  if (closing_) return;
  closing_ = true;
  handler_ = nullptr;
  std::vector<Leg*> legs;
  for (auto& l : legs_) legs.push_back(l.get());
  for (Leg* l : legs) drop_leg(l);
  if (cb == nullptr) return;
  close_cb_ = cb;
  close_user_ = user;
  in_close_ = true;
  maybe_finish_close();
  in_close_ = false;
}

}  // namespace sluice
