// vless_rows.cpp: see vless_rows.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "vless_rows.hpp"

#include "bench_material.hpp"
#include "inbound/instance.hpp"
#include "sluice/config.hpp"

namespace sluice::perf {
namespace {

constexpr const char* kUuid = "6f1d8c52-3a47-4b9e-9f20-5c81d0e4a7b3";

// Expect: what the server side's Vision counters must show at the end.
// With inner TLS not every stream switches: the writer switches on a batch
// that starts with an application-data record (vless.md 7.5, 3a), so a
// short connection whose ChangeCipherSpec+Finished flight and only
// application record reach the client's relay in one read stays padded on
// the uplink. The bulk and RTT streams write many batches and do switch.
enum class Expect {
  none,    // flow empty: no Vision stream at all
  padded,  // Vision on non-TLS payload: streams, never direct copy
  direct,  // Vision on inner TLS 1.3: both directions switched (some streams)
};

// vision_report: the server's Vision counters as a notes line, with
// |*problem| set when they contradict |x|.
std::string vision_report(const VisionCounters& v, Expect x, std::string* problem) {
  const std::string line = "server Vision streams " + std::to_string(v.streams) +
                           ", switched to direct copy: receive " + std::to_string(v.direct_read) +
                           ", send " + std::to_string(v.direct_write) + ", malformed " +
                           std::to_string(v.malformed);
  const bool ok =
      v.malformed == 0 &&
      (x == Expect::none     ? v.streams == 0
       : x == Expect::padded ? v.streams > 0 && v.direct_read == 0 && v.direct_write == 0
                             : v.direct_read > 0 && v.direct_write > 0);
  if (!ok)
    *problem = x == Expect::direct   ? "Vision did not switch to direct copy as expected"
               : x == Expect::padded ? "Vision switched on non-TLS payload"
                                     : "unexpected Vision streams";
  return line;
}

// server_instance: like instance_side, keeping the VLESS inbound at hand
// for the report.
Result<uint16_t> server_instance(Engine& e, const std::string& json, Keep& keep,
                                 std::string* reason, Expect x) {
  ConfigDiagnostics diag;
  auto cfg = parse_config(json, &diag);
  if (!cfg) {
    *reason = "config: " + diag.error;
    return cfg.error();
  }
  auto inst = Instance::create(e, *cfg, reason);
  if (!inst) return inst.error();
  Instance* i = keep.add(std::move(*inst));
  VlessInbound* in = i->vless_inbound("in");
  const uint16_t port = i->inbound_port("in");
  if (!in || port == 0) {
    *reason = "the VLESS inbound tagged \"in\" did not listen";
    return Errc::internal;
  }
  keep.report = [in, x](std::string* problem) { return vision_report(in->vision(), x, problem); };
  return port;
}

Result<uint16_t> server_side(Engine& e, Keep& keep, std::string* reason, const char* flow,
                             Expect x) {
  auto dir = material_dir(reason);
  if (!dir) return dir.error();
  const std::string json =
      std::string(
          R"({"log":{"level":"error"},"inbounds":[{"type":"vless","tag":"in","listen":"127.0.0.1","listen_port":0,)"
          R"("users":[{"name":"bench","uuid":")") +
      kUuid + R"(","flow":")" + flow + R"("}],"tls":{"enabled":true,"server_name":")" +
      kBenchServerName + R"(","certificate_path":")" + *dir + R"(/cert.pem","key_path":")" + *dir +
      R"(/key.pem"}}],"outbounds":[{"type":"direct","tag":"direct"}]})";
  return server_instance(e, json, keep, reason, x);
}

// client_side: |utls| dials with sluice's own TLS 1.3 engine.
Result<uint16_t> client_side(Engine& e, uint16_t upstream, Keep& keep, std::string* reason,
                             const char* flow, bool utls = false) {
  auto pin = certificate_pin(reason);
  if (!pin) return pin.error();
  const std::string json =
      std::string(
          R"({"log":{"level":"error"},"inbounds":[{"type":"socks","tag":"in","listen":"127.0.0.1","listen_port":0}],)"
          R"("outbounds":[{"type":"vless","tag":"v","server":"127.0.0.1","server_port":)") +
      std::to_string(upstream) + R"(,"uuid":")" + kUuid + R"(","flow":")" + flow +
      R"(","tls":{"enabled":true,"server_name":")" + kBenchServerName +
      R"(","certificate_sha256":[")" + *pin + R"("])" +
      (utls ? R"(,"utls":{"enabled":true,"fingerprint":"chrome"})" : "") + "}}]}";
  return instance_side(e, json, keep, reason);
}

constexpr const char* kVision = "xtls-rprx-vision";

Result<uint16_t> plain_server(Engine& e, uint16_t, Keep& k, std::string* r) {
  return server_side(e, k, r, "", Expect::none);
}
Result<uint16_t> plain_client(Engine& e, uint16_t up, Keep& k, std::string* r) {
  return client_side(e, up, k, r, "");
}
Result<uint16_t> vision_server(Engine& e, uint16_t, Keep& k, std::string* r) {
  return server_side(e, k, r, kVision, Expect::padded);
}
Result<uint16_t> vision_inner_server(Engine& e, uint16_t, Keep& k, std::string* r) {
  return server_side(e, k, r, kVision, Expect::direct);
}
Result<uint16_t> vision_client(Engine& e, uint16_t up, Keep& k, std::string* r) {
  return client_side(e, up, k, r, kVision);
}
Result<uint16_t> vision_utls_client(Engine& e, uint16_t up, Keep& k, std::string* r) {
  return client_side(e, up, k, r, kVision, true);
}

const RowDef kRows[] = {
    {"vless-tls", "VLESS+TLS", plain_server, plain_client},
    {"vless-vision", "VLESS+TLS+Vision", vision_server, vision_client},
    {"vless-tls-inner", "VLESS+TLS, inner TLS", plain_server, plain_client, true},
    {"vless-vision-inner", "VLESS+TLS+Vision, inner TLS", vision_inner_server, vision_client, true},
    {"vless-vision-utls", "VLESS+TLS utls+Vision", vision_server, vision_utls_client},
    {"vless-vision-inner-utls", "VLESS+TLS utls+Vision, inner TLS", vision_inner_server,
     vision_utls_client, true},
};

}  // namespace

std::span<const RowDef> vless_rows() { return kRows; }

}  // namespace sluice::perf
