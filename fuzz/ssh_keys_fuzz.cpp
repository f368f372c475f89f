// fuzz/ssh_keys_fuzz.cpp: the ssh outbound's key loading (SshKeys::create)
// on arbitrary text: host_key pins ("<type> <base64> [comment]" lines) and
// private_key text cut into PEM / OpenSSH blocks, each handed to libssh.
// Either the keys load, or creation fails with a specific error and reason.
//
// The input is "pins\0key text\0passphrase"; missing parts are empty.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "session/ssh_keys.hpp"

using namespace sluice;

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

std::string_view next_part(std::string_view& rest) {
  const size_t z = rest.find('\0');
  std::string_view part = rest.substr(0, z);
  rest = z == std::string_view::npos ? std::string_view() : rest.substr(z + 1);
  return part;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // libssh's key decoding is slow enough that long inputs only cost time.
  if (size > 16 * 1024) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  std::string_view pins = next_part(rest);
  SshKeyOptions o;
  o.host = "fuzz.example";
  while (!pins.empty()) {
    const size_t nl = pins.find('\n');
    o.host_key.emplace_back(pins.substr(0, nl));
    pins = nl == std::string_view::npos ? std::string_view() : pins.substr(nl + 1);
  }
  o.private_key = std::string(next_part(rest));
  o.private_key_passphrase = std::string(next_part(rest));
  // Without pins the key text is still reached: the host key is then
  // accepted as `insecure` would.
  o.insecure = o.host_key.empty();
  std::string why;
  auto k = SshKeys::create(o, &why);
  if (k) {
    require(*k != nullptr);
    for (size_t i = 0; i < (*k)->user_key_count(); ++i) {
      require((*k)->user_key(i) != nullptr);
      require(!(*k)->user_key_name(i).empty());
    }
  } else {
    require(k.error() != Errc::ok && !why.empty());
  }
  return 0;
}
