// inbound/hysteria2_masquerade.cpp: the Hysteria v2 server's web-server face.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "inbound/hysteria2_masquerade.hpp"

#include <sys/stat.h>

#include "core/file.hpp"
#include "quic/h3_connection.hpp"

namespace sluice {

namespace {

std::string_view content_type(std::string_view path) {
  const size_t dot = path.rfind('.');
  const std::string_view ext = dot == std::string_view::npos ? "" : path.substr(dot + 1);
  if (ext == "html" || ext == "htm") return "text/html; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "js") return "text/javascript; charset=utf-8";
  if (ext == "json") return "application/json";
  if (ext == "txt") return "text/plain; charset=utf-8";
  if (ext == "png") return "image/png";
  if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "ico") return "image/x-icon";
  return "application/octet-stream";
}

// safe_relative turns a request path into a path under the directory: the
// query is cut, every segment must be a plain name (no "..", no "." and no
// empty segment other than a trailing "/").
bool safe_relative(std::string_view path, std::string* out) {
  if (path.empty() || path[0] != '/') return false;
  const size_t q = path.find_first_of("?#");
  if (q != std::string_view::npos) path = path.substr(0, q);
  out->clear();
  size_t i = 1;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    const std::string_view seg = path.substr(i, j - i);
    if (seg.empty() || seg == "." || seg == ".." || seg.find('\0') != std::string_view::npos ||
        seg.find('%') != std::string_view::npos)
      return false;
    *out += '/';
    *out += seg;
    i = j + 1;
  }
  return true;
}

}  // namespace

void Hysteria2Masquerade::respond_text(quic::H3Stream& s, BufferPool& pool, int status,
                                       std::string_view body,
                                       const quic::H3Fields& extra) noexcept {
  quic::H3Fields f = extra;
  f.push_back({"content-length", std::to_string(body.size())});
  const bool head = s.method() == "HEAD";
  if (!s.respond(status, f, !body.empty() && !head)) return;
  if (body.empty() || head) return;
  // The body is small (a page or a file): copied once into pool chunks.
  Chain c;
  size_t off = 0;
  while (off < body.size()) {
    const size_t n = std::min<size_t>(body.size() - off, 16384);
    auto sl = pool.copy_from(body.data() + off, n);
    if (!sl || !c.push_back(std::move(*sl))) {
      s.reset();
      return;
    }
    off += n;
  }
  if (!s.write_body(std::move(c))) return;
  (void)s.end_body();
}

void Hysteria2Masquerade::serve(quic::H3Stream& s, BufferPool& pool) noexcept {
  served_++;
  s.set_handler(this);
  try {
    switch (opts_.type) {
      case Hysteria2MasqueradeOptions::Type::not_found:
        respond_text(
            s, pool, 404, "404 page not found\n",
            {{"content-type", "text/plain; charset=utf-8"}, {"x-content-type-options", "nosniff"}});
        return;
      case Hysteria2MasqueradeOptions::Type::string: {
        quic::H3Fields f;
        for (const auto& [k, v] : opts_.headers) f.push_back({k, v});
        respond_text(s, pool, opts_.status_code, opts_.content, f);
        return;
      }
      case Hysteria2MasqueradeOptions::Type::file:
        serve_file(s, pool);
        return;
    }
  } catch (...) {
    s.reset(quic::kH3InternalError);
  }
}

void Hysteria2Masquerade::serve_file(quic::H3Stream& s, BufferPool& pool) noexcept {
  const quic::H3Fields text{{"content-type", "text/plain; charset=utf-8"}};
  if (s.method() != "GET" && s.method() != "HEAD") {
    respond_text(s, pool, 405, "405 method not allowed\n", text);
    return;
  }
  std::string rel;
  if (!safe_relative(s.path(), &rel)) {
    respond_text(s, pool, 404, "404 page not found\n", text);
    return;
  }
  std::string full = opts_.directory + rel;
  struct stat st {};
  if (::stat(full.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    if (full.back() != '/') full += '/';
    full += "index.html";
  }
  std::string body;
  if (::stat(full.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || !read_file(full, &body)) {
    respond_text(s, pool, 404, "404 page not found\n", text);
    return;
  }
  respond_text(s, pool, 200, body, {{"content-type", std::string(content_type(full))}});
}

}  // namespace sluice
