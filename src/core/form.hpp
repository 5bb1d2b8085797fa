// application/x-www-form-urlencoded, the one codec shared by the OAuth
// requests (token bodies, authorize URLs, the pasted redirect URL) and Web
// Config's forms and query strings. It used to be written twice; a
// difference between the two copies would be a bug that only one side sees.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pb::form {

using Params = std::vector<std::pair<std::string, std::string>>;

// RFC 3986 unreserved characters pass, everything else is %XX (a space is
// %20, which every form parser accepts).
std::string encode(std::string_view text);
void encode_to(std::string_view text, std::string& out);

// Decodes %XX, and '+' as a space when `plus_is_space` (forms and queries;
// not paths). nullopt on a broken escape.
std::optional<std::string> decode(std::string_view text, bool plus_is_space = true);

// "a=1&b=2" -> pairs in order, repeats kept; empty pairs skipped. A broken
// escape anywhere makes the whole input unreadable: nullopt, never a
// half-read form.
std::optional<Params> parse(std::string_view text);

// The first value of `name`.
std::optional<std::string> first(const Params& params, std::string_view name);
// The value of the only occurrence of `name`; nullopt when absent or
// repeated (RFC 6749 3.1: parameters must not be included more than once).
std::optional<std::string> only(const Params& params, std::string_view name);

}  // namespace pb::form
