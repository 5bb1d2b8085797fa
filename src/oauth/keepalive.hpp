// Keep-alive and the health of a sign-in, as pure functions of the stored
// set and the time: when the next keep-alive refresh is due, when the
// provider would drop the sign-in for disuse, and whether the status page
// must warn. The daemon's timer and `postbridge status` both read these.
#pragma once

#include <optional>
#include <string>

#include "core/clock.hpp"
#include "oauth/token.hpp"

namespace pb::oauth {

inline constexpr Duration default_keepalive_interval = std::chrono::days{7};
// Warn this long before a lapse, so that an administrator has two weeks.
inline constexpr Duration lapse_warning_window = std::chrono::days{14};
// After a failed keep-alive, the next try is this much later.
inline constexpr Duration keepalive_retry = std::chrono::hours{1};
// A standing warning goes to the log at most this often.
inline constexpr Duration warning_log_period = std::chrono::days{1};

struct KeepAlivePlan {
    std::optional<TimePoint> next_due;  // nullopt: keep-alive off, or nothing to keep alive
    std::optional<TimePoint> lapse_at;  // when the provider drops it unused; nullopt when unknown
    std::optional<std::string> warning;
};

// `interval` zero turns keep-alive off; `inactivity_limit` zero means the
// provider does not say (Provider::inactivity_limit).
KeepAlivePlan keepalive_plan(const TokenSet& tokens, Duration interval, Duration inactivity_limit,
                             TimePoint now);

// Whether a standing warning should be logged again.
inline bool warning_log_due(std::optional<TimePoint> last_logged, TimePoint now) {
    return !last_logged || now - *last_logged >= warning_log_period;
}

}  // namespace pb::oauth
