// Header fields as they must leave postbridge: RFC 5322 folding (lines of at
// most 76 characters, so that lines with encoded words meet RFC 2047 too),
// RFC 2047 encoded words for non-ASCII text, RFC 2231 parameters for
// non-ASCII file names, and the refusal of any value that could inject a
// header (a CR or LF inside a value ends the field early and starts another).
//
// Also the inverse of RFC 2047, which the fuzzer and the tests use to prove
// that what we write decodes back to what we were given.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "mime/address.hpp"

namespace pb::mime {

// Every line of a header we write fits in this, CRLF excluded (RFC 2047
// section 2 asks 76 for lines with encoded words; RFC 5322 says 78).
inline constexpr std::size_t kHeaderLineLimit = 76;
// RFC 2047 section 2: "An 'encoded-word' may not be more than 75 characters long".
inline constexpr std::size_t kEncodedWordLimit = 75;

// Refuses a value that contains CR or LF (header injection), another control
// character than TAB, or invalid UTF-8. Errors are 652 and name the field.
Result<void> check_header_value(std::string_view field, std::string_view value);

// Encoded words (=?UTF-8?B?..?= or =?UTF-8?Q?..?=, whichever is shorter for
// this text) that together carry `utf8`. The first is at most `first_limit`
// characters, the others at most `next_limit`; no word splits a UTF-8
// sequence. The Q form only uses characters allowed in a phrase (RFC 2047
// section 5 rule 3), so the words fit display names as well as Subject.
std::vector<std::string> encode_words(std::string_view utf8,
                                      std::size_t first_limit = kEncodedWordLimit,
                                      std::size_t next_limit = kEncodedWordLimit);

// Decodes the encoded words in a header value (after unfolding), dropping
// the whitespace between adjacent ones as RFC 2047 section 6.2 requires.
// Words in other charsets than UTF-8 / US-ASCII, and malformed ones, are kept
// as they are.
std::string decode_words(std::string_view value);

// One header field under construction. Tokens are never split; the field is
// folded before a token that would cross the line limit.
class HeaderField {
  public:
    explicit HeaderField(std::string_view name);

    // A token preceded by a space (or a fold, when the line is full).
    void word(std::string_view token);
    // Text glued to the previous token (a comma, a semicolon).
    void glue(std::string_view text);
    // Unstructured text (Subject): as it is when it is plain ASCII, as
    // encoded words otherwise. Whitespace runs are kept.
    void unstructured(std::string_view text);
    // A display name: atoms, a quoted string, or encoded words.
    void phrase(std::string_view text);
    // "Name <addr>" or "addr"; the domain in its ASCII form.
    void mailbox(const Mailbox& m);
    // "; name=value": quoted when plain ASCII and short, otherwise the RFC
    // 2231 extended form with continuations (name*0*=utf-8''..; name*1*=..).
    void parameter(std::string_view name, std::string_view value);
    // "; name=\"=?UTF-8?..?=\"": the RFC 2047-in-quotes form that RFC 2047
    // forbids but that old clients (Outlook before 2007, many MFP address
    // books) only understand, as the fallback next to the RFC 2231 form.
    void legacy_parameter(std::string_view name, std::string_view value);

    // The field with its CRLF.
    std::string finish() &&;

  private:
    std::size_t room() const noexcept;  // characters left on this line after a space
    std::string out_;
    std::size_t line_ = 0;  // characters on the current line
    bool first_ = true;     // no token written yet
};

// "Fri, 15 Jan 2027 08:00:00 +0000" (RFC 5322 section 3.3), always in UTC,
// with English names whatever the locale.
std::string format_date(TimePoint t);

}  // namespace pb::mime
