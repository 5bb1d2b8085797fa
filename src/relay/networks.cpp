#include "relay/networks.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <optional>
#include <string>

#include "core/host_port.hpp"
#include "core/text.hpp"

namespace pb::relay {
namespace {

struct Parsed {
    std::array<std::uint8_t, 16> addr{};
    bool v4 = false;
};

std::optional<Parsed> parse_address(std::string_view text) {
    const std::string s(text);
    Parsed p;
    in_addr a4{};
    if (::inet_pton(AF_INET, s.c_str(), &a4) == 1) {
        std::memcpy(p.addr.data(), &a4, 4);
        p.v4 = true;
        return p;
    }
    in6_addr a6{};
    if (::inet_pton(AF_INET6, s.c_str(), &a6) == 1) {
        std::memcpy(p.addr.data(), &a6, 16);
        static constexpr std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (std::memcmp(p.addr.data(), mapped, 12) == 0) {
            std::memmove(p.addr.data(), p.addr.data() + 12, 4);
            std::memset(p.addr.data() + 4, 0, 12);
            p.v4 = true;
        }
        return p;
    }
    return std::nullopt;
}

}  // namespace

Result<Networks> Networks::parse(std::string_view list) {
    Networks out;
    while (!list.empty()) {
        const auto comma = list.find(',');
        const std::string_view item = trim(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        if (item.empty()) continue;
        const auto slash = item.find('/');
        auto addr = parse_address(item.substr(0, slash));
        const auto bad = [&] {
            return fail(Errc::invalid_input,
                        "relay.allowed_networks: '" + std::string(item) +
                            "' is not a network (write e.g. 192.168.1.0/24 or 10.0.0.5)");
        };
        if (!addr) return bad();
        Net n;
        n.addr = addr->addr;
        n.v4 = addr->v4;
        const unsigned max = n.v4 ? 32 : 128;
        n.bits = max;
        if (slash != std::string_view::npos) {
            const std::string_view b = item.substr(slash + 1);
            auto [end, ec] = std::from_chars(b.data(), b.data() + b.size(), n.bits);
            if (ec != std::errc{} || end != b.data() + b.size() || b.empty() || n.bits > max)
                return bad();
        }
        // A short prefix is an open relay for much of the Internet by one
        // setting; an office on global IPv6 or a public corporate range
        // still fits within these.
        const unsigned shortest = n.v4 ? kShortestV4 : kShortestV6;
        if (n.bits < shortest)
            return fail(Errc::invalid_input,
                        "relay.allowed_networks: '" + std::string(item) + "' is too wide: every " +
                            "address in it could send mail through the relay without logging " +
                            "in. The shortest prefix allowed is /" + std::to_string(shortest) +
                            (n.v4 ? " for IPv4" : " for IPv6") +
                            "; list the office's own networks (e.g. 192.168.1.0/24)");
        out.nets_.push_back(n);
    }
    return out;
}

bool Networks::contains(std::string_view address) const {
    auto a = parse_address(address);
    if (!a) return false;
    for (const Net& n : nets_) {
        if (n.v4 != a->v4) continue;
        unsigned bits = n.bits;
        std::size_t i = 0;
        bool match = true;
        for (; bits >= 8 && match; bits -= 8, ++i) match = n.addr[i] == a->addr[i];
        if (match && bits > 0) {
            const auto mask = static_cast<std::uint8_t>(0xffu << (8 - bits));
            match = (n.addr[i] & mask) == (a->addr[i] & mask);
        }
        if (match) return true;
    }
    return false;
}

}  // namespace pb::relay

#include "relay/server.hpp"

namespace pb::relay {

Result<std::pair<std::string, std::uint16_t>> split_host_port(std::string_view text,
                                                              std::string_view key) {
    const auto bad = [&] {
        return fail(Errc::invalid_input, std::string(key) + ": '" + std::string(text) +
                                             "' is not ADDR:PORT (write e.g. 0.0.0.0:25 or "
                                             "127.0.0.1:2525; port 0 picks a free port)");
    };
    auto hp = parse_host_port(text);
    if (!hp) return bad();
    return std::pair{std::move(hp->host), hp->port};
}

}  // namespace pb::relay
