// config/link_common.hpp: the parts trojan:// and vless:// share links have in
// common (docs/config.md, "Share links"). Private to lib/config.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
//   <scheme>://<user>@<host>:<port>?<query>#<name>
//
// Every piece is percent-encoded ('+' stays '+': links are not form data).
// The helpers write a bare reason to |*error| (no "trojan link: " prefix);
// the caller adds its own prefix.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sluice/config.hpp"

namespace sluice::config {

// ShareLink is a link cut into its raw (still escaped) pieces.
struct ShareLink {
  std::string_view user;       // before the last '@'
  std::string_view host_port;  // host:port or [IPv6]:port
  std::string_view query;      // after '?', without it
  std::string_view fragment;   // after '#', without it
};

// split_share_link checks |scheme| ("vless://", matched case-insensitively)
// and cuts |link| into pieces. Reasons: "expected <scheme>",
// "missing <user_name>@".
bool split_share_link(std::string_view link, std::string_view scheme, std::string_view user_name,
                      ShareLink* out, std::string* error);

// parse_link_endpoint reads host:port or [IPv6]:port (port 1-65535).
// Reasons: "bad [IPv6]:port", "missing :port", "missing host", "bad port".
bool parse_link_endpoint(std::string_view host_port, ServerEndpoint* out, std::string* error);

// percent_decode undoes %XX escapes; false on a malformed escape.
bool percent_decode(std::string_view in, std::string* out);

// split_list splits on |sep|, dropping empty parts.
std::vector<std::string> split_list(std::string_view s, char sep);

// is_hex reports whether every character of |s| is a hex digit.
bool is_hex(std::string_view s);

// LinkParam is what apply_link_param did with one query parameter.
enum class LinkParam { other, applied, failed };

// apply_link_param handles the query keys both schemes read the same way:
// sni, alpn, fp, type (only tcp/raw), ech (bare base64 ECHConfigList), pcs,
// allowInsecure / insecure. Any other key is left to the caller (other).
LinkParam apply_link_param(const std::string& key, const std::string& value, TlsClientOptions* out,
                           std::string* error);

// for_each_link_param decodes each key=value of |query| and calls
// fn(key, value&) -> bool; a false return stops the walk (fn has set
// |*error|). A bad escape fails with "bad escape in <key>".
template <class Fn>
bool for_each_link_param(std::string_view query, std::string* error, Fn&& fn) {
  for (const std::string& kv : split_list(query, '&')) {
    const size_t eq = kv.find('=');
    const std::string key = kv.substr(0, eq);
    std::string value;
    if (eq != std::string::npos && !percent_decode(std::string_view(kv).substr(eq + 1), &value)) {
      *error = "bad escape in " + key;
      return false;
    }
    if (!fn(key, value)) return false;
  }
  return true;
}

// decode_link_name sets |*tag| from the fragment, raw if it does not decode.
void decode_link_name(std::string_view fragment, std::string* tag);

}  // namespace sluice::config
