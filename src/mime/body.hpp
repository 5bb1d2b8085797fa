// Text bodies made safe for any SMTP server: line ends made CRLF (no bare CR
// or LF leaves postbridge: servers reject or rewrite them, RFC 5321 2.3.8),
// and a transfer encoding chosen so that the body needs neither 8BITMIME nor
// lines over 998 octets.
#pragma once

#include <string>
#include <string_view>

namespace pb::mime {

// Every CR, LF and CRLF of `text` becomes CRLF; the result ends with CRLF
// unless it is empty.
std::string to_crlf(std::string_view text);

// A body ready to follow its part's header.
struct TextBody {
    std::string_view transfer_encoding;  // "7bit", "quoted-printable" or "base64"
    std::string data;                    // CRLF lines, ending with CRLF
};

// `crlf_text` is UTF-8 with CRLF line ends (to_crlf's output). Plain ASCII
// with short lines stays as it is (7bit); text that is mostly ASCII gets
// quoted-printable (still readable in the raw message); the rest, such as
// CJK text, gets base64, which is then the shorter.
TextBody encode_text(std::string_view crlf_text);

// RFC 2045 section 6.7, lines of at most 76 characters.
void quoted_printable_append(std::string_view crlf_text, std::string& out);
// Base64 in lines of 76 characters, each ending with CRLF.
void base64_lines_append(std::string_view bytes, std::string& out);

// Streaming line-end normalisation for messages that arrive as a stream
// (sendmail's standard input): a CR at the end of one chunk may be the
// first half of a CRLF, so it is held until the next chunk or the end.
class CrlfNormalizer {
  public:
    // Appends the normalised form of `in` to `out` (at most 2 * in.size()
    // bytes, plus 1 for a held CR).
    void feed(std::string_view in, std::string& out);
    // Flushes a held CR and ends the text with CRLF if it does not already.
    void finish(std::string& out);

  private:
    bool pending_cr_ = false;
    bool at_line_start_ = true;  // nothing written, or the last thing was CRLF
};

}  // namespace pb::mime
