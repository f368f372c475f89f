// config/json_reader.hpp: typed, path-tracking access to nlohmann::json
// objects for the config parser. Private to lib/config.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Every accessor reads one field, checks its type and range, marks it as
// known and, on failure, records "<path>: <reason>" in the ConfigCtx and
// returns the error. finish() turns fields nobody asked for into warnings.
// A reader is built over the field tables of its object (fields.hpp) and
// reads only fields they list (anything else is a parser bug: a check fails),
// so the tables, which docs/config.md is tested against, cannot fall behind.
// A JSON null counts as absent (Go decodes null to the zero value).
// Nothing here throws: only non-throwing nlohmann accessors are used after a
// type check.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/fields.hpp"
#include "sluice/config.hpp"

namespace sluice::config {

using Json = nlohmann::json;

// ConfigCtx collects the first error and all warnings.
class ConfigCtx {
 public:
  explicit ConfigCtx(ConfigDiagnostics* diag) noexcept : diag_(diag) {}

  // fail records the first error's detail and returns |e|.
  Errc fail(Errc e, std::string_view path, std::string_view msg);
  void warn(std::string_view path, std::string_view msg);

  // failed_path: the path given to the first fail() ("" if none), so the
  // caller can add its line and column (json_position.hpp).
  const std::string& failed_path() const noexcept { return failed_path_; }

 private:
  ConfigDiagnostics* diag_;
  bool failed_ = false;
  std::string failed_path_;
};

// json_type_name names a value's JSON type as users see it: "string",
// "integer", "number", "boolean", "object", "array", "null".
const char* json_type_name(const Json& j) noexcept;

// truncate_for_message returns |s| cut to its first 64 bytes (at a UTF-8
// character boundary) plus "…" when longer, for echoing user input (unknown
// keys, bad values) in errors and warnings without copying megabytes.
std::string truncate_for_message(std::string_view s);

// join_path appends a member (".key", or "key" at the root) or an index.
std::string join_path(std::string_view base, std::string_view key);
std::string index_path(std::string_view base, size_t i);

class ObjectReader {
 public:
  // |obj| must be an object (check_object first); |fields| lists what it may
  // hold (add_fields adds a type's own table once the type is known).
  ObjectReader(ConfigCtx& ctx, const Json& obj, std::string path, const FieldTable& fields);
  void add_fields(const FieldTable& fields);

  const std::string& path() const noexcept { return path_; }
  std::string path(std::string_view key) const { return join_path(path_, key); }
  ConfigCtx& ctx() noexcept { return ctx_; }

  // find marks |key| known and returns its value, or nullptr if absent/null.
  const Json* find(std::string_view key);
  // ignore marks |key| known; with |why| non-empty a present field warns.
  void ignore(std::string_view key, std::string_view why = {});
  // reject fails with config_invalid when |key| is present and not
  // false/""/0/{}/[] (so explicit defaults still load).
  Status reject(std::string_view key, std::string_view why);

  Status string(std::string_view key, std::string* out, bool required = false);
  Status boolean(std::string_view key, bool* out);
  Status port(std::string_view key, uint16_t* out, bool required, uint16_t min);
  Status uint32(std::string_view key, uint32_t* out);
  Status duration(std::string_view key, Duration* out, bool allow_negative = false);
  // listable: a string or an array of strings (docs/config.md, "Conventions").
  Status listable(std::string_view key, std::vector<std::string>* out);
  // object returns the member if it is an object (nullptr if absent).
  Status object(std::string_view key, const Json** out);
  // array returns the member if it is an array (nullptr if absent).
  Status array(std::string_view key, const Json** out);

  // finish warns about every member not read, as "<path>.<key>: unknown field".
  void finish();

 private:
  Status wrong_type(std::string_view key, const Json& v, std::string_view expected);

  ConfigCtx& ctx_;
  const Json& obj_;
  std::string path_;
  std::vector<std::string> known_;
  static constexpr size_t kMaxTables = 3;
  const FieldTable* tables_[kMaxTables] = {};
  size_t num_tables_ = 0;
};

// check_object fails with config_wrong_type unless |j| is an object.
Status check_object(ConfigCtx& ctx, const Json& j, std::string_view path);

}  // namespace sluice::config
