// Punycode (RFC 3492) and the A-label form of internationalized domain
// names, so that a UTF-8 domain can go in MAIL FROM / RCPT TO and in headers
// of a message sent without SMTPUTF8.
//
// This is the encoding half of IDNA only: labels are lowercased when ASCII
// and otherwise taken as given. Unicode case folding and NFC normalisation
// (UTS #46) are not done; a domain typed in another normal form gets a
// different A-label, which the receiving side then rejects as unknown.
#pragma once

#include <string>
#include <string_view>

#include "core/error.hpp"

namespace pb::mime {

// The Punycode of a sequence of code points (no "xn--" prefix). Fails only on
// overflow, which needs labels far longer than DNS allows.
Result<std::string> punycode_encode(std::u32string_view input);

// The inverse, for tests and the fuzzer's round trip.
Result<std::u32string> punycode_decode(std::string_view input);

// "bücher.example" -> "xn--bcher-kva.example". The input must be valid UTF-8;
// label syntax is the caller's business (the address parser checks it).
Result<std::string> domain_to_ascii(std::string_view utf8_domain);

}  // namespace pb::mime
