// config/config.cpp: parse_config, the document level (log, inbounds,
// outbounds, route) and the cross-reference checks.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <new>
#include <set>

#include "config/json_position.hpp"
#include "config/parse.hpp"
#include "core/file.hpp"

namespace sluice {
namespace config {
namespace {

Status parse_log(ConfigCtx& ctx, const Json& j, LogOptions* out) {
  SLUICE_TRY(check_object(ctx, j, "log"));
  ObjectReader r(ctx, j, "log", kLogFields);
  std::string level;
  SLUICE_TRY(r.string("level", &level));
  if (!level.empty() && !parse_log_level(level.data(), level.size(), &out->level)) {
    return ctx.fail(
        Errc::config_invalid, r.path("level"),
        "expected trace, debug, info, warn, error, fatal or panic, got \"" + level + "\"");
  }
  SLUICE_TRY(r.boolean("disabled", &out->disabled));
  SLUICE_TRY(r.boolean("timestamp", &out->timestamp));
  r.ignore("output", "log files are not supported, the log sink is used");
  r.finish();
  return {};
}

Status parse_route(ConfigCtx& ctx, const Json& j, RouteOptions* out) {
  SLUICE_TRY(check_object(ctx, j, "route"));
  ObjectReader r(ctx, j, "route", kRouteFields);
  SLUICE_TRY(r.string("final", &out->final_outbound));
  r.finish();
  return {};
}

// check_tags rejects duplicate non-empty tags within one list (sing-box
// requires unique tags per list).
template <typename T>
Status check_tags(ConfigCtx& ctx, const std::vector<T>& items, const char* list) {
  std::set<std::string_view> seen;
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string& tag = items[i].tag;
    if (tag.empty()) continue;
    if (!seen.insert(tag).second) {
      return ctx.fail(Errc::config_invalid, join_path(index_path(list, i), "tag"),
                      "duplicate tag \"" + tag + "\"");
    }
  }
  return {};
}

// check_detours: every detour names another outbound, and following detours
// never loops.
Status check_detours(ConfigCtx& ctx, const Config& cfg) {
  for (size_t i = 0; i < cfg.outbounds.size(); ++i) {
    const OutboundOptions* o = &cfg.outbounds[i];
    std::string path = join_path(index_path("outbounds", i), "detour");
    for (size_t hops = 0; !o->dial.detour.empty(); ++hops) {
      const OutboundOptions* next = cfg.find_outbound(o->dial.detour);
      if (next == nullptr) {
        return ctx.fail(Errc::config_invalid, path,
                        "no outbound tagged \"" + o->dial.detour + "\"");
      }
      if (hops >= cfg.outbounds.size()) {
        return ctx.fail(Errc::config_invalid, path, "detour chain loops");
      }
      o = next;
    }
  }
  return {};
}

Status parse_document(ConfigCtx& ctx, const Json& doc, Config* cfg) {
  SLUICE_TRY(check_object(ctx, doc, ""));
  ObjectReader r(ctx, doc, "", kDocumentFields);
  const Json* v;
  SLUICE_TRY(r.object("log", &v));
  if (v != nullptr) SLUICE_TRY(parse_log(ctx, *v, &cfg->log));

  SLUICE_TRY(r.array("inbounds", &v));
  if (v != nullptr) {
    for (size_t i = 0; i < v->size(); ++i) {
      InboundOptions in;
      SLUICE_TRY(parse_inbound(ctx, (*v)[i], index_path("inbounds", i), &in));
      cfg->inbounds.push_back(std::move(in));
    }
  }
  SLUICE_TRY(r.array("outbounds", &v));
  if (v != nullptr) {
    for (size_t i = 0; i < v->size(); ++i) {
      OutboundOptions out;
      SLUICE_TRY(parse_outbound(ctx, (*v)[i], index_path("outbounds", i), &out));
      cfg->outbounds.push_back(std::move(out));
    }
  }
  SLUICE_TRY(r.object("route", &v));
  if (v != nullptr) SLUICE_TRY(parse_route(ctx, *v, &cfg->route));
  r.finish();

  SLUICE_TRY(check_tags(ctx, cfg->inbounds, "inbounds"));
  SLUICE_TRY(check_tags(ctx, cfg->outbounds, "outbounds"));
  SLUICE_TRY(check_detours(ctx, *cfg));
  // sing-box's default outbound when none is configured is direct.
  if (cfg->outbounds.empty()) {
    OutboundOptions direct;
    direct.type = OutboundType::direct;
    direct.tag = "direct";
    cfg->outbounds.push_back(std::move(direct));
  }
  if (!cfg->route.final_outbound.empty() &&
      cfg->find_outbound(cfg->route.final_outbound) == nullptr) {
    return ctx.fail(Errc::config_invalid, "route.final",
                    "no outbound tagged \"" + cfg->route.final_outbound + "\"");
  }
  return {};
}

}  // namespace
}  // namespace config

const OutboundOptions* Config::find_outbound(std::string_view tag) const noexcept {
  if (tag.empty()) return nullptr;
  for (const OutboundOptions& o : outbounds) {
    if (o.tag == tag) return &o;
  }
  return nullptr;
}

const OutboundOptions* Config::final_outbound() const noexcept {
  if (!route.final_outbound.empty()) return find_outbound(route.final_outbound);
  return outbounds.empty() ? nullptr : &outbounds.front();
}

namespace config {
namespace {

// DomParser is nlohmann's tree builder with its error hook replaced: every
// syntax and range error (a number such as 1e400 that overflows a double)
// reaches parse_error with its byte offset, which a thrown out_of_range would
// not carry. The parser calls it through the template type, so hiding the
// base member is enough.
class DomParser : public nlohmann::detail::json_sax_dom_parser<Json> {
 public:
  explicit DomParser(Json& root) : json_sax_dom_parser(root, /*allow_exceptions=*/false) {}

  template <class Exception>
  bool parse_error(std::size_t offset, const std::string& token, const Exception& ex) {
    offset_ = offset;
    token_ = token;
    id_ = ex.id;
    what_ = ex.what();
    return json_sax_dom_parser::parse_error(offset, token, ex);
  }

  // message: "parse error at line L, column C: <reason>".
  std::string message(std::string_view text) const {
    std::string_view what = what_;
    // "[json.exception.parse_error.101] parse error at line 3, column 5:
    // syntax error ..." already has the position; keep it after the tag.
    if (size_t close = what.find("] "); close != std::string_view::npos)
      what.remove_prefix(close + 2);
    if (what.rfind("parse error at line ", 0) == 0) return std::string(what);
    // Range errors come without one; the offset is just past the token.
    const size_t start = offset_ >= token_.size() ? offset_ - token_.size() : 0;
    const TextPosition p = position_of_offset(text, start);
    std::string m = "parse error at line " + std::to_string(p.line) + ", column " +
                    std::to_string(p.column) + ": ";
    if (id_ == 406)
      m += "number " + truncate_for_message(token_) + " is out of range (larger than a double)";
    else
      m += what.empty() ? std::string_view("invalid JSON") : what;
    return m;
  }

 private:
  size_t offset_ = 0;
  std::string token_;
  int id_ = 0;
  std::string what_;
};

// with_position appends " (line L, column C)" to the error in |diag| when
// the failed path can be found in |text|.
void with_position(std::string_view text, const ConfigCtx& ctx, ConfigDiagnostics* diag) {
  const std::string& path = ctx.failed_path();
  if (diag == nullptr || path.empty() || diag->error.rfind(path, 0) != 0) return;
  TextPosition p;
  if (!locate_path(text, path, &p)) return;
  diag->error += " (line " + std::to_string(p.line) + ", column " + std::to_string(p.column) + ")";
}

}  // namespace
}  // namespace config

Result<Config> parse_config(std::string_view json, ConfigDiagnostics* diag) {
  config::ConfigCtx ctx(diag);
  // nlohmann throws on allocation failure; nothing may escape lib/, so this
  // is the one catch for the whole parser.
  try {
    config::Json doc;
    config::DomParser sax(doc);
    const bool ok = config::Json::sax_parse(json.begin(), json.end(), &sax,
                                            nlohmann::json::input_format_t::json,
                                            /*strict=*/true, /*ignore_comments=*/true);
    if (!ok || sax.is_errored())
      return ctx.fail(Errc::config_invalid, "(document)", sax.message(json));
    Config cfg;
    auto st = config::parse_document(ctx, doc, &cfg);
    if (!st) {
      config::with_position(json, ctx, diag);
      return st.error();
    }
    return cfg;
  } catch (const std::bad_alloc&) {
    return Errc::no_memory;
  } catch (const std::exception& e) {
    return ctx.fail(Errc::internal, "(document)",
                    std::string("unexpected parser failure: ") + e.what());
  }
}

Result<Config> load_config_file(const std::string& path, ConfigDiagnostics* diag) {
  std::string why;
  auto text = read_small_file(path, kMaxConfigFileBytes, &why);
  if (!text) {
    if (text.error() == Errc::no_memory) return Errc::no_memory;
    config::ConfigCtx ctx(diag);
    // |why| is "<path>: <reason>"; the error's path is the file's.
    return ctx.fail(Errc::config_io, path, std::string_view(why).substr(path.size() + 2));
  }
  return parse_config(*text, diag);
}

const char* inbound_type_name(InboundType t) noexcept {
  switch (t) {
    case InboundType::socks:
      return "socks";
    case InboundType::http:
      return "http";
    case InboundType::mixed:
      return "mixed";
    case InboundType::trojan:
      return "trojan";
    case InboundType::vless:
      return "vless";
    case InboundType::tuic:
      return "tuic";
    case InboundType::hysteria2:
      return "hysteria2";
    case InboundType::hysteria:
      return "hysteria";
  }
  return "unknown";
}

const char* outbound_type_name(OutboundType t) noexcept {
  switch (t) {
    case OutboundType::direct:
      return "direct";
    case OutboundType::block:
      return "block";
    case OutboundType::socks:
      return "socks";
    case OutboundType::http:
      return "http";
    case OutboundType::trojan:
      return "trojan";
    case OutboundType::vless:
      return "vless";
    case OutboundType::ssh:
      return "ssh";
    case OutboundType::tuic:
      return "tuic";
    case OutboundType::hysteria2:
      return "hysteria2";
    case OutboundType::hysteria:
      return "hysteria";
  }
  return "unknown";
}

}  // namespace sluice
