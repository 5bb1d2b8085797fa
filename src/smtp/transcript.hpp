// A redacted record of one SMTP session, kept with a failed job: what the
// administrator (and a maintainer) needs to see what the server said.
//
// Secrets never enter it: the session records AUTH lines through
// client_auth(), which writes "<redacted>" in place of the blob, and body
// bytes only as a count. It is bounded: a connection reused for a thousand
// messages keeps its first lines (greeting, EHLO, AUTH) and its last ones.
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/reply.hpp"

namespace pb::smtp {

class Transcript {
  public:
    explicit Transcript(std::size_t head = 32, std::size_t tail = 96)
        : head_max_(head), tail_max_(tail) {}

    void client(std::string_view line);  // "C: MAIL FROM:<a@b>"
    void client_auth(
        std::string_view mechanism);      // "C: AUTH XOAUTH2 <redacted>" or "C: <redacted>"
    void client_body(std::size_t bytes);  // "C: <message body, N bytes>"
    void server(const Reply& reply);      // "S: 250-..." one line each
    void note(std::string_view text);     // "-- TLS established"

    // The whole record, one line each, "\n"-terminated.
    std::string str() const;
    std::size_t dropped() const noexcept { return dropped_; }

  private:
    void add(std::string line);

    std::size_t head_max_, tail_max_;
    std::vector<std::string> head_;
    std::deque<std::string> tail_;
    std::size_t dropped_ = 0;
};

}  // namespace pb::smtp
