// cmd_run.cpp: `sluice run -c config.json` and `sluice check -c config.json`.
#include <uv.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "commands.hpp"
#include "inbound/instance.hpp"
#include "sluice/config.hpp"
#include "sluice/engine.hpp"
#include "sluice/log.hpp"

namespace sluice::cli {

namespace {

Result<Config> load(const std::string& path) {
  ConfigDiagnostics diag;
  auto cfg = load_config_file(path, &diag);
  for (const auto& w : diag.warnings) std::fprintf(stderr, "sluice: warning: %s\n", w.c_str());
  if (!cfg) std::fprintf(stderr, "sluice: %s: %s\n", path.c_str(), diag.error.c_str());
  return cfg;
}

// RunState drives graceful shutdown: the first signal closes the inbounds and
// waits up to kDrainMs for relayed streams to finish; a second signal or the
// deadline closes everything.
struct RunState {
  static constexpr uint64_t kDrainMs = 5000;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<Instance> instance;
  uv_signal_t sigint{}, sigterm{}, sigusr1{};
  uv_timer_t drain{};
  bool draining = false;
  bool done = false;

  void on_signal(int signum) {
    if (draining) {
      finish();
      return;
    }
    draining = true;
    SLUICE_LOG_INFO("signal %d: no new connections; draining streams for up to %llu ms", signum,
                    static_cast<unsigned long long>(kDrainMs));
    instance->close(nullptr, nullptr);
    uv_timer_init(engine->loop(), &drain);
    drain.data = this;
    uv_timer_start(
        &drain,
        [](uv_timer_t* t) {
          auto* s = static_cast<RunState*>(t->data);
          const uint64_t active = s->engine->stats().streams_active;
          if (active == 0 || uv_now(t->loop) >= s->drain_deadline) s->finish();
        },
        50, 50);
    drain_deadline = uv_now(engine->loop()) + kDrainMs;
  }
  uint64_t drain_deadline = 0;

  // print_stats writes the Engine's counters as one line on stderr, whatever
  // the log level (SIGUSR1; perf/soak samples the pool this way).
  void print_stats() const {
    const EngineStats s = engine->stats();
    std::fprintf(stderr,
                 "sluice: stats streams_active=%llu streams_opened=%llu "
                 "connections_accepted=%llu connections_refused=%llu accept_errors=%llu "
                 "objects=%llu bytes_up=%llu bytes_down=%llu pool_bytes_outstanding=%llu "
                 "pool_slab_bytes=%llu pool_high_water=%llu pool_refused=%llu\n",
                 static_cast<unsigned long long>(s.streams_active),
                 static_cast<unsigned long long>(s.streams_opened),
                 static_cast<unsigned long long>(s.connections_accepted),
                 static_cast<unsigned long long>(s.connections_refused),
                 static_cast<unsigned long long>(s.accept_errors),
                 static_cast<unsigned long long>(s.objects),
                 static_cast<unsigned long long>(s.bytes_up),
                 static_cast<unsigned long long>(s.bytes_down),
                 static_cast<unsigned long long>(s.pool.bytes_outstanding),
                 static_cast<unsigned long long>(s.pool.slab_bytes),
                 static_cast<unsigned long long>(s.pool.high_water),
                 static_cast<unsigned long long>(s.pool.refused));
  }

  void finish() {
    if (done) return;
    done = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&sigint), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&sigterm), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&sigusr1), nullptr);
    if (draining) uv_close(reinterpret_cast<uv_handle_t*>(&drain), nullptr);
    const uint64_t left = engine->stats().streams_active;
    if (left)
      SLUICE_LOG_WARN("closing %llu streams still active", static_cast<unsigned long long>(left));
    engine->close_all(nullptr, nullptr);
  }
};

}  // namespace

int cmd_check(const std::string& path) {
  auto cfg = load(path);
  if (!cfg) return 1;
  // Build what `run` builds (outbound sessions, TLS contexts, certificate,
  // key and CA files) on a private loop, without listening, then close it.
  uv_loop_t loop;
  uv_loop_init(&loop);
  int rc = 0;
  {
    EngineOptions eo;
    eo.loop = &loop;
    auto e = Engine::create(eo);
    if (!e) {
      std::fprintf(stderr, "sluice: engine: %s\n", errc_message(e.error()));
      uv_loop_close(&loop);
      return 1;
    }
    std::unique_ptr<Engine> engine = std::move(*e);
    std::string reason;
    auto inst = Instance::check(*engine, *cfg, &reason);
    if (!inst) {
      std::fprintf(stderr, "sluice: %s: %s (%s)\n", path.c_str(), reason.c_str(),
                   errc_message(inst.error()));
      rc = 1;
    } else {
      Instance* raw = inst->release();
      raw->close([](void* u) { delete static_cast<Instance*>(u); }, raw);
    }
    engine->close_all(nullptr, nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
    engine.reset();
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  uv_loop_close(&loop);
  if (rc != 0) return rc;
  std::printf("%s: ok (%zu inbounds, %zu outbounds)\n", path.c_str(), cfg->inbounds.size(),
              cfg->outbounds.size());
  return 0;
}

int cmd_run(const std::string& path) {
  auto cfg = load(path);
  if (!cfg) return 1;
  if (cfg->log.disabled)
    set_log_level(LogLevel::off);
  else
    set_log_level(cfg->log.level);

  uv_loop_t loop;
  uv_loop_init(&loop);
  RunState st;
  {
    EngineOptions eo;
    eo.loop = &loop;
    auto e = Engine::create(eo);
    if (!e) {
      std::fprintf(stderr, "sluice: engine: %s\n", errc_message(e.error()));
      return 1;
    }
    st.engine = std::move(*e);
  }
  std::string reason;
  auto inst = Instance::create(*st.engine, *cfg, &reason);
  if (!inst) {
    std::fprintf(stderr, "sluice: %s (%s)\n", reason.c_str(), errc_message(inst.error()));
    st.engine->close_all(nullptr, nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
    st.engine.reset();
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return 1;
  }
  st.instance = std::move(*inst);
  uv_signal_init(&loop, &st.sigint);
  uv_signal_init(&loop, &st.sigterm);
  st.sigint.data = st.sigterm.data = &st;
  auto on_sig = [](uv_signal_t* h, int signum) {
    static_cast<RunState*>(h->data)->on_signal(signum);
  };
  uv_signal_start(&st.sigint, on_sig, SIGINT);
  uv_signal_start(&st.sigterm, on_sig, SIGTERM);
  uv_signal_init(&loop, &st.sigusr1);
  st.sigusr1.data = &st;
  uv_signal_start(
      &st.sigusr1, [](uv_signal_t* h, int) { static_cast<RunState*>(h->data)->print_stats(); },
      SIGUSR1);
  // Every inbound (socks/http/mixed, Trojan, VLESS and the QUIC ones, whose
  // port is UDP), so `listen_port: 0` can be used with any of them; logged
  // once the signals are handled, so a script may signal at once.
  for (const InboundOptions& in : cfg->inbounds)
    SLUICE_LOG_INFO("inbound %s listening on port %u", in.tag.c_str(),
                    st.instance->inbound_port(in.tag));
  uv_run(&loop, UV_RUN_DEFAULT);
  st.instance.reset();
  st.engine.reset();
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  SLUICE_LOG_INFO("stopped");
  return 0;
}

}  // namespace sluice::cli
