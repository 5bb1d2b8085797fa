// Internationalized domain names: the A-label form ("xn--...") of a UTF-8
// domain, so that it can go in MAIL FROM / RCPT TO and in the headers of a
// message sent without SMTPUTF8.
//
// libidn2 does the work, as browsers and mail clients do it: UTS #46
// non-transitional processing with NFC (so "BÜCHER.example" and a
// decomposed "u" + U+0308 both give "xn--bcher-kva.example"), then the
// IDNA2008 rules, which refuse code points such as U+2603 (a snowman) that
// would otherwise make a name no registry hands out, so mail would go to the
// wrong domain or nowhere.
#pragma once

#include <string>
#include <string_view>

#include "core/error.hpp"

namespace pb::mime {

// "bücher.example" -> "xn--bcher-kva.example"; an all-ASCII domain is only
// lowercased (its label syntax is the caller's business: the address parser
// checks it). The input must be valid UTF-8. 652 naming what IDNA2008
// refuses.
Result<std::string> domain_to_ascii(std::string_view utf8_domain);

}  // namespace pb::mime
