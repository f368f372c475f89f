// relay.cpp: splicing two Streams with backpressure and half-close.
#include "session/relay.hpp"

#include "core/check.hpp"
#include "net/engine_internal.hpp"
#include "sluice/log.hpp"

namespace sluice {

Relay::Relay(Engine& e, const RelayOptions& o) noexcept : EngineObject(e), opts_(o), idle_(e) {}

Relay::~Relay() = default;

Relay* Relay::start(Engine& e, std::unique_ptr<Transport> a, std::unique_ptr<Transport> b,
                    const RelayOptions& o, RelayObserver* obs) noexcept {
  auto* r = new (std::nothrow) Relay(e, o);
  if (!r) {
    close_and_delete(a.release());
    close_and_delete(b.release());
    return nullptr;
  }
  r->observer_ = obs;
  for (int i = 0; i < 2; ++i) {
    r->side_[i].relay = r;
    r->side_[i].idx = i;
  }
  r->side_[0].t = std::move(a);
  r->side_[1].t = std::move(b);
  r->last_activity_ = e.now_ms();
  if (o.idle_timeout_ms) r->idle_.start(o.idle_timeout_ms, on_idle_timer, r);
  net::count_stream_open(e);
  for (auto& s : r->side_) {
    s.t->set_write_watermarks(o.low_watermark, o.high_watermark);
    s.t->set_handler(&s);
  }
  for (auto& s : r->side_) {
    if (r->finishing_) break;
    s.t->read_start();
  }
  return r;
}

void Relay::Side::on_data(Slice&& data) {
  Relay* r = relay;
  Side& other = r->side_[1 - idx];
  const size_t n = data.size();
  r->last_activity_ = r->engine().now_ms();
  if (idx == 0) {
    r->result_.bytes_a_to_b += n;
    net::count_bytes(r->engine(), n, 0);
  } else {
    r->result_.bytes_b_to_a += n;
    net::count_bytes(r->engine(), 0, n);
  }
  Status st = other.t->write(std::move(data));
  if (!st) r->finish(st.error(), 1 - idx);
}

void Relay::Side::on_eof() {
  eof = true;
  Relay* r = relay;
  Status st = r->side_[1 - idx].t->shutdown();
  if (!st) {
    r->finish(st.error(), 1 - idx);
    return;
  }
  r->maybe_done();
}

void Relay::Side::on_error(Errc e) { relay->finish(e, idx); }

// This side's write queue is full: stop reading from the other side.
void Relay::Side::on_write_high() {
  Side& other = relay->side_[1 - idx];
  other.paused = true;
  other.t->read_stop();
}

void Relay::Side::on_write_low() {
  Side& other = relay->side_[1 - idx];
  if (other.paused) {
    other.paused = false;
    if (!other.eof) other.t->read_start();
  }
}

void Relay::Side::on_drained() { relay->maybe_done(); }

void Relay::maybe_done() noexcept {
  if (finishing_) return;
  if (side_[0].eof && side_[1].eof && side_[0].t->write_buffered() == 0 &&
      side_[1].t->write_buffered() == 0)
    finish(Errc::ok, -1);
}

void Relay::on_idle_timer(void* self) {
  auto* r = static_cast<Relay*>(self);
  const uint64_t now = r->engine().now_ms();
  const uint64_t idle = now - r->last_activity_;
  if (idle >= r->opts_.idle_timeout_ms) {
    r->finish(Errc::timed_out, -1);
    return;
  }
  // Re-arm for the remainder rather than restarting the timer per packet.
  r->idle_.start(r->opts_.idle_timeout_ms - idle, on_idle_timer, r);
}

void Relay::finish(Errc err, int side) noexcept {
  if (finishing_) return;
  finishing_ = true;
  idle_.stop();
  result_.error = err;
  result_.failed_side = side;
  if (err != Errc::ok && err != Errc::canceled) {
    const char* reason = side >= 0 ? side_[side].t->failure_reason() : "";
    SLUICE_LOG_DEBUG("relay closed: %s%s%s", errc_message(err), *reason ? ": " : "", reason);
  }
  for (auto& s : side_) result_.bytes_lost += s.t->write_buffered();
  // A reset on one side is passed on as a reset, not as a clean end.
  if (err == Errc::connection_reset && side >= 0) side_[1 - side].t->reset_on_close();
  net::count_stream_close(engine());
  RelayObserver* obs = observer_;
  observer_ = nullptr;
  if (obs) obs->on_relay_done(result_);
  closer_.begin([](void* u) { delete static_cast<Relay*>(u); }, this);
  for (auto& s : side_) {
    s.t->set_handler(nullptr);
    s.t->close(closer_.hold_callback(), &closer_);
  }
  closer_.arm(engine());
}

}  // namespace sluice
