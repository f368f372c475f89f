// config/json_reader.cpp: typed JSON field access with paths.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "config/json_reader.hpp"

#include <algorithm>

#include "core/check.hpp"

namespace sluice::config {

Errc ConfigCtx::fail(Errc e, std::string_view path, std::string_view msg) {
  if (!failed_) failed_path_.assign(path);
  if (!failed_ && diag_ != nullptr) {
    diag_->error.assign(path);
    if (!path.empty()) diag_->error += ": ";
    diag_->error += msg;
  }
  failed_ = true;
  return e;
}

void ConfigCtx::warn(std::string_view path, std::string_view msg) {
  if (diag_ == nullptr) return;
  std::string w(path);
  w += ": ";
  w += msg;
  diag_->warnings.push_back(std::move(w));
}

const char* json_type_name(const Json& j) noexcept {
  switch (j.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::object:
      return "object";
    case Json::value_t::array:
      return "array";
    case Json::value_t::string:
      return "string";
    case Json::value_t::boolean:
      return "boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "integer";
    case Json::value_t::number_float:
      return "number";
    default:
      return "binary";
  }
}

std::string truncate_for_message(std::string_view s) {
  constexpr size_t kMax = 64;
  if (s.size() <= kMax) return std::string(s);
  size_t n = kMax;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  std::string out(s.substr(0, n));
  out += "\u2026";
  return out;
}

namespace {

// integer_text spells an integer value as it was written: nlohmann stores
// "-0" as a signed zero, which dump() would print as "0".
std::string integer_text(const Json& v) {
  if (v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() == 0) return "-0";
  return v.dump();
}

}  // namespace

std::string join_path(std::string_view base, std::string_view key) {
  std::string p(base);
  if (!p.empty()) p += '.';
  p += key;
  return p;
}

std::string index_path(std::string_view base, size_t i) {
  std::string p(base);
  p += '[';
  p += std::to_string(i);
  p += ']';
  return p;
}

Status check_object(ConfigCtx& ctx, const Json& j, std::string_view path) {
  if (j.is_object()) return {};
  std::string msg = "expected object, got ";
  msg += json_type_name(j);
  return ctx.fail(Errc::config_wrong_type, path.empty() ? "(document)" : path, msg);
}

ObjectReader::ObjectReader(ConfigCtx& ctx, const Json& obj, std::string path,
                           const FieldTable& fields)
    : ctx_(ctx), obj_(obj), path_(std::move(path)) {
  add_fields(fields);
}

void ObjectReader::add_fields(const FieldTable& fields) {
  SLUICE_CHECK(num_tables_ < kMaxTables);
  tables_[num_tables_++] = &fields;
}

const Json* ObjectReader::find(std::string_view key) {
  bool listed = false;
  for (size_t t = 0; t < num_tables_ && !listed; ++t) {
    for (std::string_view f : tables_[t]->fields) {
      if (f == key) {
        listed = true;
        break;
      }
    }
  }
  // A field read but missing from the tables would be missing from the docs.
  SLUICE_CHECK(listed);
  known_.emplace_back(key);
  auto it = obj_.find(key);
  if (it == obj_.end() || it->is_null()) return nullptr;
  return &*it;
}

void ObjectReader::ignore(std::string_view key, std::string_view why) {
  const Json* v = find(key);
  if (v != nullptr && !why.empty()) ctx_.warn(path(key), why);
}

Status ObjectReader::reject(std::string_view key, std::string_view why) {
  const Json* v = find(key);
  if (v == nullptr) return {};
  bool empty = (v->is_boolean() && !v->get<bool>()) ||
               (v->is_string() && v->get_ref<const std::string&>().empty()) ||
               (v->is_number() && v->get<double>() == 0) ||
               ((v->is_object() || v->is_array()) && v->empty());
  if (empty) return {};
  return ctx_.fail(Errc::config_invalid, path(key), why);
}

Status ObjectReader::wrong_type(std::string_view key, const Json& v, std::string_view expected) {
  std::string msg = "expected ";
  msg += expected;
  msg += ", got ";
  msg += json_type_name(v);
  return ctx_.fail(Errc::config_wrong_type, path(key), msg);
}

Status ObjectReader::string(std::string_view key, std::string* out, bool required) {
  const Json* v = find(key);
  if (v == nullptr) {
    if (required) return ctx_.fail(Errc::config_missing_field, path(key), "required field missing");
    return {};
  }
  if (!v->is_string()) return wrong_type(key, *v, "string");
  *out = v->get_ref<const std::string&>();
  if (required && out->empty()) {
    return ctx_.fail(Errc::config_missing_field, path(key), "must not be empty");
  }
  return {};
}

Status ObjectReader::boolean(std::string_view key, bool* out) {
  const Json* v = find(key);
  if (v == nullptr) return {};
  if (!v->is_boolean()) return wrong_type(key, *v, "boolean");
  *out = v->get<bool>();
  return {};
}

Status ObjectReader::port(std::string_view key, uint16_t* out, bool required, uint16_t min) {
  std::string expected = "integer " + std::to_string(min) + "..65535";
  const Json* v = find(key);
  if (v == nullptr) {
    if (required) return ctx_.fail(Errc::config_missing_field, path(key), "required field missing");
    return {};
  }
  if (!v->is_number_integer()) return wrong_type(key, *v, expected);
  if (v->is_number_unsigned()) {
    uint64_t p = v->get<uint64_t>();
    if (p >= min && p <= 65535) {
      *out = static_cast<uint16_t>(p);
      return {};
    }
  }
  std::string msg = "expected " + expected + ", got " + integer_text(*v);
  return ctx_.fail(Errc::config_invalid, path(key), msg);
}

Status ObjectReader::uint32(std::string_view key, uint32_t* out) {
  const Json* v = find(key);
  if (v == nullptr) return {};
  if (v->is_number_unsigned() && v->get<uint64_t>() <= UINT32_MAX) {
    *out = static_cast<uint32_t>(v->get<uint64_t>());
    return {};
  }
  if (v->is_number_integer()) {
    return ctx_.fail(Errc::config_invalid, path(key),
                     "expected integer 0..4294967295, got " + integer_text(*v));
  }
  return wrong_type(key, *v, "integer 0..4294967295");
}

Status ObjectReader::duration(std::string_view key, Duration* out, bool allow_negative) {
  const Json* v = find(key);
  if (v == nullptr) return {};
  if (!v->is_string()) return wrong_type(key, *v, "duration string such as \"5s\"");
  const std::string& s = v->get_ref<const std::string&>();
  auto d = parse_duration(s);
  if (!d) {
    return ctx_.fail(Errc::config_invalid, path(key),
                     "invalid duration \"" + s + "\" (use units ns us ms s m h d, e.g. \"1m30s\")");
  }
  if (!allow_negative && d->count() < 0) {
    return ctx_.fail(Errc::config_invalid, path(key), "duration must not be negative");
  }
  *out = *d;
  return {};
}

Status ObjectReader::listable(std::string_view key, std::vector<std::string>* out) {
  const Json* v = find(key);
  if (v == nullptr) return {};
  if (v->is_string()) {
    out->assign(1, v->get_ref<const std::string&>());
    return {};
  }
  if (!v->is_array()) return wrong_type(key, *v, "string or array of strings");
  std::vector<std::string> items;
  for (size_t i = 0; i < v->size(); ++i) {
    const Json& e = (*v)[i];
    if (!e.is_string()) {
      std::string msg = "expected string, got ";
      msg += json_type_name(e);
      return ctx_.fail(Errc::config_wrong_type, index_path(path(key), i), msg);
    }
    items.push_back(e.get_ref<const std::string&>());
  }
  *out = std::move(items);
  return {};
}

Status ObjectReader::object(std::string_view key, const Json** out) {
  *out = nullptr;
  const Json* v = find(key);
  if (v == nullptr) return {};
  if (!v->is_object()) return wrong_type(key, *v, "object");
  *out = v;
  return {};
}

Status ObjectReader::array(std::string_view key, const Json** out) {
  *out = nullptr;
  const Json* v = find(key);
  if (v == nullptr) return {};
  if (!v->is_array()) return wrong_type(key, *v, "array");
  *out = v;
  return {};
}

void ObjectReader::finish() {
  for (auto it = obj_.begin(); it != obj_.end(); ++it) {
    if (std::find(known_.begin(), known_.end(), it.key()) == known_.end()) {
      ctx_.warn(path(truncate_for_message(it.key())), "unknown field, ignored");
    }
  }
}

}  // namespace sluice::config
