// config/config.cpp: parse_config, the document level (log, inbounds,
// outbounds, route) and the cross-reference checks.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <fstream>
#include <new>
#include <set>
#include <sstream>

#include "config/parse.hpp"

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

Result<Config> parse_config(std::string_view json, ConfigDiagnostics* diag) {
  config::ConfigCtx ctx(diag);
  // nlohmann throws on syntax errors and allocation failure; nothing may
  // escape lib/, so this is the one catch for the whole parser.
  try {
    config::Json doc = config::Json::parse(json.begin(), json.end(), nullptr,
                                           /*allow_exceptions=*/true, /*ignore_comments=*/true);
    Config cfg;
    SLUICE_TRY(config::parse_document(ctx, doc, &cfg));
    return cfg;
  } catch (const config::Json::parse_error& e) {
    // e.what() reads "[json.exception.parse_error.101] parse error at line 3,
    // column 5: syntax error ..."; keep the part after the tag.
    std::string_view what = e.what();
    if (size_t close = what.find("] "); close != std::string_view::npos)
      what.remove_prefix(close + 2);
    return ctx.fail(Errc::config_invalid, "(document)", what);
  } catch (const std::bad_alloc&) {
    return Errc::no_memory;
  } catch (...) {
    return ctx.fail(Errc::internal, "(document)", "unexpected parser failure");
  }
}

Result<Config> load_config_file(const std::string& path, ConfigDiagnostics* diag) {
  std::string text;
  try {
    std::ifstream f(path, std::ios::binary);
    if (!f) {
      config::ConfigCtx ctx(diag);
      return ctx.fail(Errc::config_io, path, "cannot open file");
    }
    std::ostringstream ss;
    ss << f.rdbuf();
    if (f.bad()) {
      config::ConfigCtx ctx(diag);
      return ctx.fail(Errc::config_io, path, "read error");
    }
    text = std::move(ss).str();
  } catch (const std::bad_alloc&) {
    return Errc::no_memory;
  } catch (...) {
    config::ConfigCtx ctx(diag);
    return ctx.fail(Errc::config_io, path, "read error");
  }
  return parse_config(text, diag);
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
    case OutboundType::tuic:
      return "tuic";
  }
  return "unknown";
}

}  // namespace sluice
