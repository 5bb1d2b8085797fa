// ADDR:PORT, as the listen settings (web.listen, relay.listen, ...) and the
// --web / --relay flags are written: "127.0.0.1:8443", "[::1]:2525",
// "localhost:587". The one parser of that form.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pb {

struct HostPort {
    std::string host;        // an IPv6 literal without its brackets
    std::uint16_t port = 0;  // 0 asks for any free port (tests)
};

// nullopt unless `text` is HOST:PORT with a non-empty host and a decimal port
// of at most 65535; an IPv6 host must be in brackets.
std::optional<HostPort> parse_host_port(std::string_view text);

}  // namespace pb
