// bench_material.cpp: see bench_material.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "bench_material.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/file.hpp"
#include "crypto/tls_ech.hpp"
#include "crypto/tls_keypair.hpp"
#include "crypto/tls_verify.hpp"
#include "inbound/instance.hpp"
#include "sluice/config.hpp"

namespace sluice::perf {
namespace {

constexpr const char* kEnv = "SLUICE_BENCH_MATERIAL";
constexpr const char* kFiles[] = {"cert.pem", "key.pem", "ech-configs.pem", "ech-keys.pem"};
std::string g_made_dir;  // the folder this process made, if any

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  return static_cast<bool>(f.flush());
}

}  // namespace

bool prepare_tls_material(std::string* error) {
  char tmpl[] = "/tmp/sluice-bench-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    *error = "mkdtemp failed";
    return false;
  }
  const std::string dir = tmpl;
  g_made_dir = dir;
  tls::CertificateRequest req;
  req.name = kBenchServerName;
  auto kp = tls::generate_certificate(req);
  auto ech = tls::generate_ech_keypair("public.bench.test");
  if (!kp || !ech) {
    *error = "cannot generate the bench certificate or ECH keys";
    return false;
  }
  const std::string texts[] = {kp->certificate, kp->private_key, ech->configs, ech->keys};
  for (size_t i = 0; i < std::size(kFiles); ++i) {
    if (!write_file(dir + "/" + kFiles[i], texts[i])) {
      *error = "cannot write to " + dir;
      return false;
    }
  }
  ::setenv(kEnv, dir.c_str(), 1);
  return true;
}

void remove_tls_material() {
  if (g_made_dir.empty()) return;
  for (const char* f : kFiles) ::unlink((g_made_dir + "/" + f).c_str());
  ::rmdir(g_made_dir.c_str());
  g_made_dir.clear();
}

Result<std::string> material_dir(std::string* reason) {
  const char* d = std::getenv(kEnv);
  if (d == nullptr || *d == '\0') {
    *reason =
        std::string(kEnv) + " is not set: run the row through tunnel_bench, not --serve alone";
    return Errc::invalid_argument;
  }
  return std::string(d);
}

Result<std::string> material_file(const char* name, std::string* reason) {
  auto dir = material_dir(reason);
  if (!dir) return dir.error();
  std::string text;
  if (!read_file(*dir + "/" + name, &text)) {
    *reason = "cannot read " + *dir + "/" + name;
    return Errc::invalid_argument;
  }
  return text;
}

Result<std::string> certificate_pin(std::string* reason) {
  auto cert = material_file("cert.pem", reason);
  if (!cert) return cert.error();
  auto pins = tls::leaf_pins_pem(*cert);
  if (!pins) {
    *reason = "cannot pin the bench certificate";
    return pins.error();
  }
  return pins->first;
}

Result<uint16_t> instance_side(Engine& e, const std::string& json, Keep& keep,
                               std::string* reason) {
  ConfigDiagnostics diag;
  auto cfg = parse_config(json, &diag);
  if (!cfg) {
    *reason = "config: " + diag.error;
    return cfg.error();
  }
  auto inst = Instance::create(e, *cfg, reason);
  if (!inst) return inst.error();
  Instance* i = keep.add(std::move(*inst));
  uint16_t port = i->inbound_port("in");
  if (port == 0) {
    *reason = "the inbound tagged \"in\" did not listen";
    return Errc::internal;
  }
  return port;
}

}  // namespace sluice::perf
