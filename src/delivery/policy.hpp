// The one place that decides what happens to a job: at intake, whether a
// job of a profile that cannot send now is held or refused; after a
// delivery attempt, retry later, fail, or hold for sign-in (Postfix's
// smtp_trouble.c); and when held jobs go back to the queue. Protocol code
// and workers only report pb::Errors; this turns them into job states.
//
//   transient (601-604, 611?, 634, 641, 642, ...)  retry with exponential
//       backoff and jitter, until delivery.max_age since the job was queued,
//       then failed with 653 naming the last error
//   sign-in (360, 361, 370)                        held; released when the
//       profile signs in again
//   permanent, configuration                       failed at once
//   local: 651 (the disk may come back) retried; 652, 653 failed
//
// Per recipient: a refused recipient is decided the same way on its own, so
// a message can end `partial` (some accepted, the rest refused for good)
// while a recipient refused with a 4xx stays pending for the next attempt.
#pragma once

#include <optional>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "delivery/transport.hpp"
#include "spool/spool.hpp"

namespace pb::delivery {

struct RetryPolicy {
    Duration first = std::chrono::minutes{1};  // the wait after the first failure
    Duration cap = std::chrono::hours{1};      // no wait longer than this
    Duration max_age = std::chrono::days{5};   // delivery.max_age
};

enum class Action { retry, hold, fail };

struct Decision {
    Action action = Action::fail;
    Error error;                        // what the job shows (653 after max_age)
    std::optional<TimePoint> retry_at;  // for retry
};

// The wait before attempt `attempts + 1`: first * 2^(attempts-1), capped,
// with "equal jitter" (half fixed, half random) so that jobs that failed
// together do not all come back together.
Duration backoff(int attempts, const RetryPolicy& p, Random& rng);

// At intake. `problem` is why the job's profile cannot send now (360, 361,
// 370), nullopt when it can: then the job is queued; else held until a
// sign-in releases it, or, with hold_when_signed_out off, refused with that
// code (the device shows the manual's sign-in message).
enum class Admission { queue, hold, refuse };
Admission admit(std::optional<Errc> problem, bool hold_when_signed_out) noexcept;

// Whether a profile's held jobs go back to the queue: once it can send.
bool release_held(std::optional<Errc> problem) noexcept;

Decision decide(const Error& e, int attempts, TimePoint queued_at, TimePoint now,
                const RetryPolicy& p, Random& rng);

// The job's new state after one attempt, from what the transport said.
spool::Attempt settle(const spool::Job& job, const MessageOutcome& outcome,
                      const std::string& transcript, TimePoint now, const RetryPolicy& p,
                      Random& rng);

}  // namespace pb::delivery
