#include "core/clock.hpp"

#include <openssl/rand.h>

#include <cstdlib>
#include <ctime>
#include <vector>

#include "core/encoding.hpp"

namespace pb {

void SystemRandom::fill(std::span<std::byte> out) {
    if (out.empty()) return;
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size())) != 1)
        std::abort();
}

std::string random_hex(Random& rng, std::size_t n) {
    std::vector<std::byte> b(n);
    rng.fill(b);
    return hex_encode(b);
}

std::string random_base64url(Random& rng, std::size_t n) {
    std::vector<std::byte> b(n);
    rng.fill(b);
    return base64url_encode(b);
}

std::string format_rfc3339(TimePoint t) {
    const std::time_t secs =
        std::chrono::system_clock::to_time_t(std::chrono::time_point_cast<std::chrono::seconds>(t));
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace pb
