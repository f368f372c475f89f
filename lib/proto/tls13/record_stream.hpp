// proto/tls13/record_stream.hpp: the byte-stream half shared by the TLS 1.3
// Client and Server: buffering of received bytes into records and records
// into handshake messages, protection in both directions, and the queue of
// bytes to send.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// RecordStream knows nothing of handshake states: the endpoint hands it
// callbacks for each record and each complete handshake message. A record of
// type handshake or alert is refused once read protection is on (everything
// after the ServerHello is encrypted, RFC 8446 §5); handshake bytes left over
// after a message that changes keys are refused (§5.1).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "proto/tls13/messages.hpp"
#include "proto/tls13/record.hpp"
#include "proto/tls13/types.hpp"

namespace sluice::tls13 {

class RecordStream {
 public:
  using RecordFn = std::function<Outcome(ContentType type, std::span<uint8_t> content)>;
  using MessageFn = std::function<Outcome(const HandshakeView& msg)>;

  // receive appends |bytes| and hands each complete record (decrypted when
  // read protection is on) to |on_record| while |go_on| says so; stops at the
  // first failure and returns it.
  Outcome receive(std::span<const uint8_t> bytes, const RecordFn& on_record,
                  const std::function<bool()>& go_on);

  // handshake appends handshake content and hands each complete message to
  // |on_message|; |key_change| names the messages after which no handshake
  // bytes may remain buffered.
  Outcome handshake(std::span<const uint8_t> content, const MessageFn& on_message,
                    const std::function<bool(HandshakeType)>& key_change,
                    const std::function<bool()>& go_on);

  // queue_plaintext queues |body| as unprotected records of |type|.
  void queue_plaintext(ContentType type, std::span<const uint8_t> body, uint16_t version = kTls12);
  // queue_protected seals |body| into records of |type| (the last one
  // padded with |padding| zeros).
  [[nodiscard]] Status queue_protected(ContentType type, std::span<const uint8_t> body,
                                       size_t padding = 0);
  // queue_alert queues a two-byte alert, protected when write keys are set.
  void queue_alert(AlertLevel level, Alert alert);
  // key_update handles a received KeyUpdate: rekeys reading and, if asked
  // and |may_write|, answers KeyUpdate(update_not_requested) and rekeys
  // writing.
  Outcome key_update(const HandshakeView& msg, bool may_write);
  // request_key_update sends KeyUpdate(update_requested) and rekeys writing.
  [[nodiscard]] Status request_key_update();

  std::span<const uint8_t> output() const noexcept { return out_; }
  void drain(size_t n);
  void append_application_data(std::span<const uint8_t> d) {
    app_.insert(app_.end(), d.begin(), d.end());
  }
  std::vector<uint8_t> take_application_data();
  // take_pending_input moves out the received bytes that do not yet form a
  // whole record, for a caller switching to its own record handling.
  std::vector<uint8_t> take_pending_input() { return std::exchange(in_, {}); }

  RecordProtection read;
  RecordProtection write;

 private:
  std::vector<uint8_t> in_;   // bytes received, not yet a whole record
  std::vector<uint8_t> hs_;   // handshake content, not yet a whole message
  std::vector<uint8_t> app_;  // application data received
  std::vector<uint8_t> out_;  // bytes to send
};

// parse_alert decodes a two-byte alert: decode_error if it is not two bytes.
// A close_notify sets |close_notify|; user_canceled is ignored; anything else
// is returned as a failure naming the peer's alert.
Outcome parse_alert(std::span<const uint8_t> body, bool& close_notify);

}  // namespace sluice::tls13
