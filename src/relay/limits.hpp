// Time limits that keep a slow or silent client from holding a relay slot:
// pure arithmetic on time points the caller passes in, so that the rules
// are tested without waiting (server.cpp reads the clock).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace pb::relay {

// A client that has not logged in (and is not in relay.allowed_networks)
// gets this long per read, and this long in all from its connection (the
// TLS handshake included) until it has logged in: a device needs a few
// round trips; a client dripping a byte a second would otherwise keep its
// slot for the whole session limit.
inline constexpr std::chrono::seconds kUnauthenticatedIdle{30};
inline constexpr std::chrono::seconds kUnauthenticatedLimit{60};

// During DATA a message must arrive at this rate on average, measured from
// the DATA command on and checked once the grace period has passed.
// Postfix's smtpd_min_data_rate is 500; a scanner on a LAN sends MB/s.
inline constexpr std::uint64_t kMinDataRate = 1024;  // bytes per second
inline constexpr std::chrono::seconds kDataRateGrace{30};

// The latest time at which `bytes` received since `start` are still at the
// minimum rate: the data deadline moves on with every byte that arrives.
template <class TimePoint>
TimePoint data_rate_deadline(TimePoint start, std::uint64_t bytes,
                             std::uint64_t min_rate = kMinDataRate,
                             std::chrono::seconds grace = kDataRateGrace) {
    const auto earned =
        std::chrono::milliseconds(bytes * 1000 / std::max<std::uint64_t>(1, min_rate));
    return start + std::max<std::chrono::milliseconds>(grace, earned);
}

// How long the next read from a client may wait, from what the connection
// is doing now: in DATA, the data timeout or the rate's deadline, whichever
// comes first; before login, kUnauthenticatedIdle or what is left of
// kUnauthenticatedLimit since `connected`; else the command timeout. Zero
// or less: the time is up already.
struct ReadWait {
    bool authenticated = false;  // logged in, or in relay.allowed_networks
    bool in_data = false;
    std::chrono::seconds command_timeout{300};
    std::chrono::seconds data_timeout{600};
};
template <class TimePoint>
typename TimePoint::duration read_timeout(const ReadWait& w, TimePoint now, TimePoint connected,
                                          TimePoint data_start, std::uint64_t data_bytes) {
    using D = typename TimePoint::duration;
    if (w.in_data)
        return std::min<D>(w.data_timeout, data_rate_deadline(data_start, data_bytes) - now);
    if (!w.authenticated)
        return std::min<D>(kUnauthenticatedIdle, connected + kUnauthenticatedLimit - now);
    return w.command_timeout;
}

}  // namespace pb::relay
