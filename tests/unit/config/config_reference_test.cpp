// docs/config.md against the parser's field tables (lib/config/fields.cpp):
// every field the parser accepts is documented in the section of its table,
// with a type, a default and a meaning, and nothing is documented that the
// parser would warn about as unknown.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "config/fields.hpp"
#include "sluice/config.hpp"

namespace {

struct DocRow {
  std::string field;
  std::vector<std::string> cells;  // every cell after the field, trimmed
};

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// split_row splits "| a | b | c |" into its cells.
std::vector<std::string> split_row(const std::string& line) {
  std::vector<std::string> cells;
  std::string cur;
  bool in_code = false;
  for (size_t i = 1; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '`') in_code = !in_code;
    if (c == '|' && !in_code) {
      cells.push_back(trim(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  return cells;
}

// read_sections maps each "<!-- fields: NAME -->" marker to the rows of the
// table after it (up to the next heading or marker).
std::map<std::string, std::vector<DocRow>> read_sections(const std::string& path) {
  std::ifstream f(path);
  INFO(path);
  REQUIRE(f);
  std::map<std::string, std::vector<DocRow>> out;
  std::string line, section;
  const std::string marker = "<!-- fields: ";
  while (std::getline(f, line)) {
    if (line.rfind(marker, 0) == 0) {
      const size_t end = line.find(" -->");
      REQUIRE(end != std::string::npos);
      section = line.substr(marker.size(), end - marker.size());
      INFO("section " << section);
      CHECK(out.count(section) == 0);
      out[section];
      continue;
    }
    if (line.rfind("#", 0) == 0) {
      section.clear();
      continue;
    }
    if (section.empty() || line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells = split_row(line);
    REQUIRE(!cells.empty());
    const std::string& first = cells[0];
    INFO(line);
    // One field per row: "`name`".
    REQUIRE(first.size() > 2);
    REQUIRE(first.front() == '`');
    REQUIRE(first.back() == '`');
    DocRow row;
    row.field = first.substr(1, first.size() - 2);
    REQUIRE(row.field.find('`') == std::string::npos);
    row.cells.assign(cells.begin() + 1, cells.end());
    out[section].push_back(std::move(row));
  }
  return out;
}

}  // namespace

TEST_CASE("docs/config.md documents exactly the fields the parser accepts", "[config][reference]") {
  const auto doc = read_sections(SLUICE_CONFIG_REFERENCE);
  std::set<std::string> table_names;
  for (const sluice::config::FieldTable* t : sluice::config::all_field_tables()) {
    const std::string name(t->name);
    INFO("table " << name);
    CHECK(table_names.insert(name).second);
    auto it = doc.find(name);
    REQUIRE(it != doc.end());
    std::set<std::string> documented, accepted;
    for (const DocRow& r : it->second) {
      INFO("documented field " << r.field);
      CHECK(documented.insert(r.field).second);  // documented once
      // type | default | meaning, none left empty
      REQUIRE(r.cells.size() == 3);
      for (const std::string& c : r.cells) CHECK(!c.empty());
    }
    for (std::string_view f : t->fields) {
      INFO("parser field " << f);
      CHECK(accepted.insert(std::string(f)).second);  // listed once in the table
      CHECK(documented.count(std::string(f)) == 1);
    }
    for (const std::string& f : documented) {
      INFO("documented but not accepted: " << f);
      CHECK(accepted.count(f) == 1);
    }
  }
  for (const auto& [name, rows] : doc) {
    INFO("docs section without a parser table: " << name);
    CHECK(table_names.count(name) == 1);
  }
}

TEST_CASE("the config reference's defaults match the parser's", "[config][reference]") {
  // Spot checks of defaults the reference states, from a minimal document.
  auto cfg = sluice::parse_config(
      R"({"inbounds":[{"type":"socks","listen_port":1080}],
          "outbounds":[{"type":"direct","tag":"d"}]})",
      nullptr);
  REQUIRE(cfg);
  CHECK(cfg->outbounds[0].dial.connect_timeout == std::chrono::seconds(5));
  CHECK(cfg->outbounds[0].dial.tcp_keep_alive == std::chrono::minutes(5));
  CHECK(cfg->outbounds[0].dial.tcp_keep_alive_interval == std::chrono::seconds(75));
  CHECK(cfg->outbounds[0].dial.fallback_delay == std::chrono::milliseconds(300));
  CHECK(cfg->inbounds[0].listen.listen == "127.0.0.1");
  CHECK(cfg->inbounds[0].listen.udp_timeout == std::chrono::minutes(5));
  CHECK(std::get<sluice::SocksInboundOptions>(cfg->inbounds[0].options).udp);
  CHECK(cfg->log.level == sluice::LogLevel::info);
  auto none = sluice::parse_config(R"({})", nullptr);
  REQUIRE(none);
  REQUIRE(none->outbounds.size() == 1);
  CHECK(none->outbounds[0].type == sluice::OutboundType::direct);
  CHECK(none->outbounds[0].tag == "direct");
}

TEST_CASE("the fields the reference calls ignored-with-warning do warn", "[config][reference]") {
  sluice::ConfigDiagnostics diag;
  auto cfg = sluice::parse_config(
      R"({"log":{"output":"x.log"},
          "inbounds":[{"type":"http","listen_port":0,"sniff":true,"set_system_proxy":true}],
          "outbounds":[{"type":"direct","domain_resolver":"dns"}]})",
      &diag);
  REQUIRE(cfg);
  auto warned = [&](const std::string& path) {
    for (const std::string& w : diag.warnings)
      if (w.rfind(path + ":", 0) == 0) return true;
    return false;
  };
  CHECK(warned("log.output"));
  CHECK(warned("inbounds[0].sniff"));
  CHECK(warned("inbounds[0].set_system_proxy"));
  CHECK(warned("outbounds[0].domain_resolver"));
}
