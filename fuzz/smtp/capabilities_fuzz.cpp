// Fuzzes EHLO capability parsing, from raw reply bytes through the parser
// (as a session sees them) and from raw lines.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/capabilities.hpp"
#include "smtp/reply.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);

    std::vector<std::string> lines;
    std::size_t pos = 0;
    while (pos <= in.size()) {
        const auto nl = in.find('\n', pos);
        lines.emplace_back(
            in.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
        if (nl == std::string_view::npos) break;
        pos = nl + 1;
    }
    const auto caps = pb::smtp::parse_capabilities(lines);
    for (const auto& m : caps.auth) {
        if (m.empty() || !caps.offers_auth(m)) std::abort();
    }

    pb::smtp::ReplyParser parser;
    const auto r = parser.put(in);
    if (r.status == pb::smtp::ReplyParser::Status::ready)
        (void)pb::smtp::parse_capabilities(parser.take());
    return 0;
}
