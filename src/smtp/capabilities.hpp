// What a server said it can do in its EHLO reply (RFC 5321 4.1.1.1 and the
// extension RFCs). Parsed once per EHLO and thrown away after STARTTLS
// (RFC 3207 4.2: nothing learned before TLS is to be trusted after it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/reply.hpp"

namespace pb::smtp {

struct Capabilities {
    std::optional<std::uint64_t> size;  // SIZE n; nullopt when absent, 0 = no limit stated
    bool pipelining = false;
    bool starttls = false;
    bool eightbitmime = false;
    bool smtputf8 = false;
    bool enhanced_status_codes = false;
    bool dsn = false;
    bool chunking = false;
    std::vector<std::string> auth;  // mechanisms, upper case, in the server's order

    bool offers_auth(std::string_view mechanism) const noexcept;
};

// Reads the lines after the first (the first is the server's greeting name).
// Unknown keywords are ignored; a malformed SIZE value is treated as absent.
Capabilities parse_capabilities(const Reply& ehlo);

// The same from raw lines, for the fuzzer and for callers holding text.
Capabilities parse_capabilities(const std::vector<std::string>& lines);

}  // namespace pb::smtp
