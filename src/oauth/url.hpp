// The few URL operations the OAuth flows need: split an absolute URL, decide
// whether an endpoint may be plain HTTP (loopback only), and the
// application/x-www-form-urlencoded codec used by token requests, authorize
// URLs and the redirect URL an administrator pastes back.
//
// Deliberately not a general URL library: it understands exactly the shapes
// identity providers use and rejects the rest, because every URL here either
// carries a credential or decides where one is sent.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace pb::oauth {

struct Url {
    std::string scheme;  // lowercase: "https" or "http"
    std::string host;    // lowercase; IPv6 without brackets
    std::string port;    // empty when absent
    std::string path;    // from the first '/', without query and fragment; may be empty
    std::string query;   // without '?'
};

// Absolute http(s) URLs only; userinfo ("user@host") is refused because it is
// the classic way to make "https://127.0.0.1@evil.example" look local.
std::optional<Url> parse_url(std::string_view text);

// 127.0.0.0/8 as a dotted quad, ::1, and "localhost".
bool is_loopback_host(std::string_view host);

// An endpoint that tokens or codes are sent to: HTTPS, or plain HTTP only on
// loopback. Fails with 643 naming `what` (e.g. "token endpoint").
Result<Url> require_secure_endpoint(std::string_view url, std::string_view what);

// RFC 3986 unreserved characters pass, everything else is %XX (so a space is
// %20, which every form parser accepts).
std::string form_encode(std::string_view text);
void form_encode_to(std::string_view text, std::string& out);
// Decodes %XX and '+' (as space); nullopt on a broken escape.
std::optional<std::string> form_decode(std::string_view text);

using Params = std::vector<std::pair<std::string, std::string>>;
// "a=1&b=2" -> pairs; nullopt on a broken escape.
std::optional<Params> parse_form(std::string_view text);
// The value of the only occurrence of `name`; nullopt when absent or repeated
// (RFC 6749 3.1: parameters must not be included more than once).
std::optional<std::string> param(const Params& params, std::string_view name);

}  // namespace pb::oauth
