// What a Microsoft Graph answer that is not a success means for a job: one
// of our codes, whether waiting helps (Retry-After), and a detail with
// Graph's own error code and message, never a token or a body we sent.
//
// Graph's errors are JSON {"error":{"code":..,"message":..}} with an HTTP
// status. The decision is made on the status and the code; the message is
// only shown. Whether to retry, hold or fail stays delivery/policy's: this
// only names the code (whose condition says transient, sign-in, ...).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace pb::graph {

struct Failure {
    Error error;
    // Graph asked for a pause (429, 503 with Retry-After): how long, bounded.
    std::optional<std::chrono::seconds> retry_after;
    // A 401: the token was refused. The caller refreshes once and tries
    // again; a second 401 stays 622.
    bool token_refused = false;
};

// `what` names the request ("sendMail", "creating the draft", ...).
Failure classify(long status, std::string_view body, std::string_view retry_after_header,
                 TimePoint now, std::string_view what);

// Retry-After: delta-seconds or an HTTP-date (RFC 9110 10.2.3), as a wait
// from `now`; nullopt when absent or unreadable. Bounded to `max` so a
// confused server cannot park a job for hours.
inline constexpr std::chrono::seconds kMaxRetryAfter{300};
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, TimePoint now,
                                                      std::chrono::seconds max = kMaxRetryAfter);

}  // namespace pb::graph
