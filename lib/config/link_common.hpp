// config/link_common.hpp: the one share-link parser, shared by the schemes
// (trojan://, vless://, ...; docs/config.md, "Share links"). Private to
// lib/config.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
//   <scheme>://<user>@<host>:<port>?<query>#<name>
//
// parse_share_link owns everything the schemes have in common: the scheme
// check (case-insensitive), cutting the link into pieces, percent-decoding
// (every piece; '+' stays '+': links are not form data), host:port and
// [IPv6]:port, the query walk, the keys every scheme reads the same way
// (security, sni, alpn, fp, type, ech, pcs, allowInsecure / insecure), the
// #name as the tag, and error reporting ("<scheme> link: <reason>"). A
// scheme is a LinkScheme: the mapping of its user part, its own query keys
// and its cross-field rules onto an outbound, nothing else.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sluice/config.hpp"

namespace sluice::config {

// LinkSecurity is the link's "security" key: absent (or empty) lets the
// scheme pick its default; other values fail with "unknown security".
enum class LinkSecurity { absent, none, tls, reality };

// LinkCommon is what the shared parser read for the scheme.
struct LinkCommon {
  std::string user;         // the user part, decoded, not empty (if the scheme has one)
  ServerEndpoint endpoint;  // host (brackets removed) and port 1-65535
  LinkSecurity security = LinkSecurity::absent;
};

// LinkScheme maps one scheme's fields onto an outbound. The parser calls
// user() once, param() for each query key it does not handle itself (in
// link order; the common keys were applied to tls() already), then
// finish(). Each returns false with |*error| set (a bare reason) to fail.
class LinkScheme {
 public:
  // |name| is the scheme without "://" ("trojan"), lower case; |user_field|
  // names the user part in errors ("password", "uuid"); empty for a scheme
  // whose links have no user part (hysteria://host:port?auth=...): then a
  // '@' is an error and user() is not called.
  constexpr LinkScheme(std::string_view name, std::string_view user_field) noexcept
      : name_(name), user_field_(user_field) {}
  std::string_view name() const noexcept { return name_; }
  std::string_view user_field() const noexcept { return user_field_; }

  // tls is where the common keys go.
  virtual TlsClientOptions& tls() noexcept = 0;
  // user checks the user part (the parser already refused an empty one).
  virtual bool user(const std::string& value, std::string* error) = 0;
  // param maps a key of the scheme's own; keys it does not know are ignored
  // (return true), as links carry parameters for transports sluice lacks.
  virtual bool param(const std::string& key, const std::string& value, std::string* error) = 0;
  // finish applies the cross-field rules and fills |out| (type and options;
  // the parser sets the tag).
  virtual bool finish(LinkCommon&& common, OutboundOptions* out, std::string* error) = 0;

 protected:
  ~LinkScheme() = default;

 private:
  std::string_view name_;
  std::string_view user_field_;
};

// parse_share_link parses |link| for |scheme|: config_invalid with "<name>
// link: <reason>" in |*why| (may be null) for a malformed link.
Result<OutboundOptions> parse_share_link(std::string_view link, LinkScheme& scheme,
                                         std::string* why);

// Helpers for schemes' own keys.

// percent_decode undoes %XX escapes; false on a malformed escape.
bool percent_decode(std::string_view in, std::string* out);

// split_list splits on |sep|, dropping empty parts.
std::vector<std::string> split_list(std::string_view s, char sep);

// is_hex reports whether every character of |s| is a hex digit.
bool is_hex(std::string_view s);

}  // namespace sluice::config
