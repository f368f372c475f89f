// reality_rows.cpp: see reality_rows.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "reality_rows.hpp"

#include "bench_material.hpp"
#include "inbound/instance.hpp"
#include "inbound/reality_source.hpp"
#include "inbound/vless_inbound.hpp"
#include "sluice/config.hpp"

namespace sluice::perf {
namespace {

constexpr const char* kUuid = "6f1d8c52-3a47-4b9e-9f20-5c81d0e4a7b3";
// A fixed bench key pair (any 32 bytes are an X25519 private key).
constexpr const char* kPrivate = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA";
constexpr const char* kPublic = "B6N8vBQgk8i3VdwbEOhstCY3StFqqFPtC9_AsrhtHHw";
constexpr const char* kShortId = "0123456789abcdef";
constexpr const char* kVision = "xtls-rprx-vision";

// server_side builds the handshake target (a TLS 1.3 server for the bench
// name: a trojan inbound, never reached beyond its handshake) and the
// REALITY server in front of it. The report fails the row when a bench
// connection was not authenticated, or when Vision on inner TLS did not
// switch to direct copy.
Result<uint16_t> server_side(Engine& e, Keep& keep, std::string* reason, const char* flow,
                             bool expect_direct) {
  auto dir = material_dir(reason);
  if (!dir) return dir.error();
  const std::string target_json =
      std::string(
          R"({"log":{"level":"error"},"inbounds":[{"type":"trojan","tag":"in","listen":"127.0.0.1","listen_port":0,)"
          R"("users":[{"password":"target"}],"tls":{"enabled":true,"server_name":")") +
      kBenchServerName + R"(","certificate_path":")" + *dir + R"(/cert.pem","key_path":")" + *dir +
      R"(/key.pem"}}],"outbounds":[{"type":"block","tag":"block"}]})";
  auto target = instance_side(e, target_json, keep, reason);
  if (!target) return target.error();
  const std::string json =
      std::string(
          R"({"log":{"level":"error"},"inbounds":[{"type":"vless","tag":"in","listen":"127.0.0.1","listen_port":0,)"
          R"("users":[{"name":"bench","uuid":")") +
      kUuid + R"(","flow":")" + flow + R"("}],"tls":{"enabled":true,"server_name":")" +
      kBenchServerName +
      R"(","reality":{"enabled":true,"handshake":{"server":"127.0.0.1","server_port":)" +
      std::to_string(*target) + R"(},"private_key":")" + kPrivate + R"(","short_id":[")" +
      kShortId +
      R"("],"max_time_difference":"1m"}}}],"outbounds":[{"type":"direct","tag":"direct"}]})";
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
  if (!in || !in->reality() || port == 0) {
    *reason = "the REALITY inbound tagged \"in\" did not listen";
    return Errc::internal;
  }
  keep.report = [in, expect_direct](std::string* problem) {
    const RealitySourceStats& g = in->reality()->stats();
    const VisionCounters v = in->vision();
    if (g.authenticated == 0 || g.relayed != 0 || g.failed != 0)
      *problem = "REALITY did not authenticate every bench connection (" + g.last_reason + ")";
    else if (expect_direct && (v.direct_read == 0 || v.direct_write == 0))
      *problem = "Vision did not switch to direct copy as expected";
    return "REALITY connections authenticated " + std::to_string(g.authenticated) + ", relayed " +
           std::to_string(g.relayed) + ", failed " + std::to_string(g.failed) +
           "; Vision streams " + std::to_string(v.streams) + ", direct receive " +
           std::to_string(v.direct_read) + ", send " + std::to_string(v.direct_write);
  };
  return port;
}

Result<uint16_t> client_side(Engine& e, uint16_t upstream, Keep& keep, std::string* reason,
                             const char* flow) {
  const std::string json =
      std::string(
          R"({"log":{"level":"error"},"inbounds":[{"type":"socks","tag":"in","listen":"127.0.0.1","listen_port":0}],)"
          R"("outbounds":[{"type":"vless","tag":"v","server":"127.0.0.1","server_port":)") +
      std::to_string(upstream) + R"(,"uuid":")" + kUuid + R"(","flow":")" + flow +
      R"(","tls":{"enabled":true,"server_name":")" + kBenchServerName +
      R"(","reality":{"enabled":true,"public_key":")" + kPublic + R"(","short_id":")" + kShortId +
      R"("}}}]})";
  return instance_side(e, json, keep, reason);
}

Result<uint16_t> plain_server(Engine& e, uint16_t, Keep& k, std::string* r) {
  return server_side(e, k, r, "", false);
}
Result<uint16_t> plain_client(Engine& e, uint16_t up, Keep& k, std::string* r) {
  return client_side(e, up, k, r, "");
}
Result<uint16_t> vision_inner_server(Engine& e, uint16_t, Keep& k, std::string* r) {
  return server_side(e, k, r, kVision, true);
}
Result<uint16_t> vision_client(Engine& e, uint16_t up, Keep& k, std::string* r) {
  return client_side(e, up, k, r, kVision);
}

const RowDef kRows[] = {
    {"vless-reality", "VLESS+REALITY", plain_server, plain_client},
    {"vless-reality-vision-inner", "VLESS+REALITY+Vision, inner TLS", vision_inner_server,
     vision_client, true},
};

}  // namespace

std::span<const RowDef> reality_rows() { return kRows; }

}  // namespace sluice::perf
