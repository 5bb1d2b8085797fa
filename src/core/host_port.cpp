#include "core/host_port.hpp"

#include <charconv>

namespace pb {

std::optional<HostPort> parse_host_port(std::string_view text) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    std::string_view host = text.substr(0, colon);
    if (host.front() == '[') {
        if (host.size() < 3 || host.back() != ']') return std::nullopt;
        host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string_view::npos) {
        return std::nullopt;  // an IPv6 literal without brackets: where does it end?
    }
    const std::string_view p = text.substr(colon + 1);
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (p.empty() || ec != std::errc{} || end != p.data() + p.size() || port > 65535)
        return std::nullopt;
    return HostPort{std::string(host), static_cast<std::uint16_t>(port)};
}

}  // namespace pb
