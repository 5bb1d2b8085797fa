// Streaming DATA encoding (RFC 5321 4.5.2): doubles a '.' that starts a
// line, writes line ends as CRLF, and ends the message with CRLF.CRLF. It
// keeps two bits of state between chunks, so a line start that falls on a
// chunk boundary is handled and the message is never held whole.
#pragma once

#include <string>
#include <string_view>

namespace pb::smtp {

class DotStuffer {
  public:
    // Appends the encoded form of `in` to `out`. Bare LF becomes CRLF:
    // messages from sendmail-style input arrive with Unix line ends, and a
    // bare LF on the wire is refused by Exchange Online and Gmail.
    void put(std::string_view in, std::string& out);
    // Appends the end of data: a CRLF if the message did not end with one,
    // then ".\r\n". The stuffer is ready for a new message afterwards.
    void finish(std::string& out);

  private:
    bool line_start_ = true;
    bool prev_cr_ = false;
};

}  // namespace pb::smtp
