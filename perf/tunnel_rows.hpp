// tunnel_rows.hpp: the vocabulary tunnel_bench rows are written in, so each
// protocol's rows can live in their own file (perf/<proto>_rows.cpp).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// A row has an optional server side (terminates the protocol and goes direct)
// and a client side (a SOCKS5 inbound whose outbound is the protocol client,
// pointed at the server side's port). Each side is a SideFn: it builds its
// objects on an Engine that is not yet started and returns the port it
// listens on. tunnel_bench runs every side in its own child process.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sluice/engine.hpp"
#include "sluice/error.hpp"
#include "sluice/session.hpp"

namespace sluice::perf {

// Keep owns one side's objects; they are destroyed newest first, after the
// Engine has stopped (which closed them).
struct Keep {
  std::vector<std::shared_ptr<void>> objs;
  // report (optional): called once the Engine has stopped, before clear();
  // returns a line for the bench's notes and sets |*problem| when the side
  // did not behave as its row expects (the row then fails).
  std::function<std::string(std::string* problem)> report;
  template <typename T>
  T* add(std::unique_ptr<T> p) {
    T* raw = p.get();
    objs.emplace_back(std::move(p));
    return raw;
  }
  void clear() {
    report = nullptr;
    while (!objs.empty()) objs.pop_back();
  }
};

// SideFn builds one side on |e| (not yet started) and returns the port it
// listens on. |upstream| is the server side's port (client sides only).
using SideFn = Result<uint16_t> (*)(Engine& e, uint16_t upstream, Keep& keep, std::string* reason);

struct RowDef {
  const char* id;    // for --rows and --serve
  const char* name;  // table label
  SideFn server;     // nullptr: the row has no server-side instance
  SideFn client;     // returns the SOCKS5 port the measuring client uses;
                     // nullptr: no sluice at all (a direct baseline)
  // inner_tls: the measuring client runs TLS 1.3 inside the path, to TLS
  // test servers; the row is also compared with the "direct TLS" baseline.
  bool inner_tls = false;
};

// socks_front puts a no-auth SOCKS5 inbound on 127.0.0.1 in front of
// |outbound| (the protocol client, or direct) and returns its port.
Result<uint16_t> socks_front(Engine& e, std::unique_ptr<Session> outbound, Keep& keep,
                             std::string* reason);

}  // namespace sluice::perf
