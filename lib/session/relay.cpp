// relay.cpp: splicing two Streams with backpressure and half-close.
#include "session/relay.hpp"

#include "core/check.hpp"
#include "sluice/log.hpp"

namespace sluice {

Relay::Relay(Engine& e, const RelayOptions& o) noexcept : EngineObject(e), opts_(o) {}

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
  uv_timer_init(e.loop(), &r->idle_);
  r->idle_.data = r;
  r->open_ = 3;
  r->last_activity_ = uv_now(e.loop());
  if (o.idle_timeout_ms) uv_timer_start(&r->idle_, on_idle_timer, o.idle_timeout_ms, 0);
  e.count_stream_open();
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
  r->last_activity_ = uv_now(r->engine().loop());
  if (idx == 0) {
    r->result_.bytes_a_to_b += n;
    r->engine().count_bytes(n, 0);
  } else {
    r->result_.bytes_b_to_a += n;
    r->engine().count_bytes(0, n);
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

void Relay::on_idle_timer(uv_timer_t* t) {
  auto* r = static_cast<Relay*>(t->data);
  const uint64_t now = uv_now(t->loop);
  const uint64_t idle = now - r->last_activity_;
  if (idle >= r->opts_.idle_timeout_ms) {
    r->finish(Errc::timed_out, -1);
    return;
  }
  // Re-arm for the remainder rather than restarting the timer per packet.
  uv_timer_start(t, on_idle_timer, r->opts_.idle_timeout_ms - idle, 0);
}

void Relay::finish(Errc err, int side) noexcept {
  if (finishing_) return;
  finishing_ = true;
  result_.error = err;
  result_.failed_side = side;
  if (err != Errc::ok && err != Errc::canceled) {
    const char* reason = side >= 0 ? side_[side].t->failure_reason() : "";
    SLUICE_LOG_DEBUG("relay closed: %s%s%s", errc_message(err), *reason ? ": " : "", reason);
  }
  for (auto& s : side_) result_.bytes_lost += s.t->write_buffered();
  engine().count_stream_close();
  RelayObserver* obs = observer_;
  observer_ = nullptr;
  if (obs) obs->on_relay_done(result_);
  auto closed = [](void* u) { static_cast<Relay*>(u)->closed_one(); };
  for (auto& s : side_) {
    s.t->set_handler(nullptr);
    s.t->close(closed, this);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&idle_),
           [](uv_handle_t* h) { static_cast<Relay*>(h->data)->closed_one(); });
}

void Relay::closed_one() noexcept {
  SLUICE_CHECK(open_ > 0);
  if (--open_ == 0) delete this;
}

}  // namespace sluice
