// relay.allowed_networks: the client addresses that may send without
// logging in. Plain C++ over inet_pton, so the session and its tests need
// no Asio.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace pb::relay {

// The widest networks relay.allowed_networks accepts.
inline constexpr unsigned kShortestV4 = 8;
inline constexpr unsigned kShortestV6 = 16;

class Networks {
  public:
    // "192.168.1.0/24, 10.0.0.5, fd12:3456::/32"; a bare address is one host.
    // 652 naming the entry that is not a network or is wider than /8
    // (IPv4) or /16 (IPv6).
    static Result<Networks> parse(std::string_view list);
    // An IPv4 client seen through an IPv6 socket (::ffff:a.b.c.d) counts
    // as its IPv4 address.
    bool contains(std::string_view address) const;
    bool empty() const { return nets_.empty(); }

  private:
    struct Net {
        std::array<std::uint8_t, 16> addr{};
        unsigned bits = 0;
        bool v4 = false;
    };
    std::vector<Net> nets_;
};

}  // namespace pb::relay
