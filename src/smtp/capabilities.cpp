// EHLO keyword parsing. Keywords are case-insensitive (RFC 5321 2.4).
#include "smtp/capabilities.hpp"

#include <algorithm>
#include <charconv>

#include "core/text.hpp"

namespace pb::smtp {

namespace {

// Splits on spaces and tabs, skipping empty fields.
template <class F>
void for_each_word(std::string_view s, F&& f) {
    std::size_t pos = 0;
    while (pos < s.size()) {
        while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t')) ++pos;
        std::size_t end = pos;
        while (end < s.size() && s[end] != ' ' && s[end] != '\t') ++end;
        if (end > pos) f(s.substr(pos, end - pos));
        pos = end;
    }
}

void parse_line(std::string_view line, Capabilities& caps) {
    std::string_view keyword;
    std::string_view params;
    const auto sp = line.find_first_of(" \t=");
    keyword = line.substr(0, sp);
    if (sp != std::string_view::npos) params = line.substr(sp + 1);

    if (iequals(keyword, "SIZE")) {
        std::uint64_t n = 0;
        while (!params.empty() && params.front() == ' ') params.remove_prefix(1);
        if (params.empty()) {
            caps.size = 0;
            return;
        }
        const auto [p, ec] = std::from_chars(params.data(), params.data() + params.size(), n);
        if (ec == std::errc{} && (p == params.data() + params.size() || *p == ' ')) caps.size = n;
    } else if (iequals(keyword, "PIPELINING")) {
        caps.pipelining = true;
    } else if (iequals(keyword, "STARTTLS")) {
        caps.starttls = true;
    } else if (iequals(keyword, "8BITMIME")) {
        caps.eightbitmime = true;
    } else if (iequals(keyword, "SMTPUTF8")) {
        caps.smtputf8 = true;
    } else if (iequals(keyword, "ENHANCEDSTATUSCODES")) {
        caps.enhanced_status_codes = true;
    } else if (iequals(keyword, "DSN")) {
        caps.dsn = true;
    } else if (iequals(keyword, "CHUNKING")) {
        caps.chunking = true;
    } else if (iequals(keyword, "AUTH")) {
        // "AUTH=LOGIN PLAIN" is the pre-RFC 4954 form some servers still add.
        for_each_word(params, [&](std::string_view mech) {
            std::string m(mech);
            std::transform(m.begin(), m.end(), m.begin(), ascii_upper);
            if (std::find(caps.auth.begin(), caps.auth.end(), m) == caps.auth.end())
                caps.auth.push_back(std::move(m));
        });
    }
}

}  // namespace

bool Capabilities::offers_auth(std::string_view mechanism) const noexcept {
    return std::any_of(auth.begin(), auth.end(),
                       [&](const std::string& m) { return iequals(m, mechanism); });
}

Capabilities parse_capabilities(const std::vector<std::string>& lines) {
    Capabilities caps;
    for (std::size_t i = 1; i < lines.size(); ++i) parse_line(lines[i], caps);
    return caps;
}

Capabilities parse_capabilities(const Reply& ehlo) {
    return parse_capabilities(ehlo.lines);
}

}  // namespace pb::smtp
