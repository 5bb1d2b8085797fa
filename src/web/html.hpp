// HTML building blocks of Web Config: escaping, the hidden CSRF field, the
// text of a JSON field, and the QR code of a sign-in link. Every value that
// did not come from this source file goes through escape(); the pages never
// concatenate raw input.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace pb::web {

// Escapes & < > " ' for element content and double- or single-quoted
// attribute values alike.
std::string escape(std::string_view text);

// The hidden field that carries the session's CSRF token in a form.
std::string csrf_input(std::string_view csrf);

// A field of the JSON the CLI prints, as text for a page: a string as it
// is, a number as its digits, null or missing as empty. Not escaped.
std::string json_text(const nlohmann::json& j, std::string_view key);

// An <svg> of the QR code of `text`, black modules on white, with a quiet
// zone; empty when the text does not fit a QR code.
std::string qr_svg(std::string_view text);

}  // namespace pb::web
