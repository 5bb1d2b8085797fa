// What serve counts, and the Prometheus text format of it (GET /metrics).
//
// Two kinds of figures, as the metric's HELP says:
//   counters  this process's own, since it started: the delivery engine's
//             attempts (it is an Observer) and the relay's connections,
//             messages and failed logins;
//   gauges    read at each scrape from the state database (jobs by state,
//             the oldest waiting job, each sign-in): with several instances
//             on one database they are the fleet's.
//
// Written here rather than with prometheus-cpp (in Debian): the format is a
// few lines of text, the gauges are read fresh from the database at each
// scrape rather than kept in a registry, and the names and HELP texts are a
// contract this file shows in one place.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "delivery/events.hpp"

namespace pb::observe {

// The upper bounds of the delivery duration histogram, in seconds: an
// attempt on a kept connection takes milliseconds, a first one with a TLS
// handshake and a token a second or two, a large message over a slow link
// minutes.
inline constexpr std::array<double, 12> kDurationBuckets = {0.05, 0.1, 0.25, 0.5, 1,   2.5,
                                                            5,    10,  30,   60,  120, 300};

// The figures read from the database for one scrape.
struct Gauges {
    std::map<std::string, std::int64_t> jobs_by_state;  // every JobState name, 0 when none
    // Profiles with jobs waiting (queued, sending or held): the age of the
    // oldest, in seconds; profiles with none waiting at 0.
    std::map<std::string, double> queue_oldest_seconds;
    struct SignIn {
        std::string profile;
        std::string state;                    // oauth::to_string(SignInState)
        std::optional<double> lapse_seconds;  // absent when the limit is unknown
    };
    std::vector<SignIn> signins;  // OAuth 2.0 profiles only
};

// The sign-in states a gauge is given for, each 1 or 0: the words of
// `status --json` (oauth::to_string).
inline constexpr std::array<std::string_view, 5> kSignInStates = {
    "signed-out", "pending", "signed-in", "expired", "reauth-required"};

class Metrics final : public delivery::Observer {
  public:
    // --- delivery::Observer ----------------------------------------------
    void attempted(const spool::Job& job, const spool::Attempt& attempt) override;

    // --- the relay -------------------------------------------------------
    void relay_connection_opened() { relay_connections_.fetch_add(1, std::memory_order_relaxed); }
    void relay_connection_closed() { relay_connections_.fetch_sub(1, std::memory_order_relaxed); }
    void relay_message(bool accepted) {
        (accepted ? relay_accepted_ : relay_refused_).fetch_add(1, std::memory_order_relaxed);
    }
    void relay_auth_failure() { relay_auth_failures_.fetch_add(1, std::memory_order_relaxed); }

    // The whole exposition: the counters now and `gauges`.
    std::string render(const Gauges& gauges) const;

    // "sent", "deferred", "held" or "failed": the `result` label of an
    // attempt that left its job in `state`. A partial job (some recipients
    // refused for good) counts as failed, with the refusal's code.
    static std::string_view result_of(spool::JobState state) noexcept;

  private:
    struct Histogram {
        std::array<std::uint64_t, kDurationBuckets.size()> buckets{};  // not cumulative
        std::uint64_t count = 0;
        double sum = 0;
    };
    // profile, transport, result, code
    using DeliveryKey = std::tuple<std::string, std::string, std::string, std::string>;

    mutable std::mutex mu_;  // the maps; the relay's figures are atomics
    std::map<DeliveryKey, std::uint64_t> deliveries_;
    std::map<std::pair<std::string, std::string>, Histogram> durations_;  // profile, transport
    std::atomic<std::int64_t> relay_connections_{0};
    std::atomic<std::uint64_t> relay_accepted_{0};
    std::atomic<std::uint64_t> relay_refused_{0};
    std::atomic<std::uint64_t> relay_auth_failures_{0};
};

// A label value in the text format: backslash, double quote and line feed
// escaped.
std::string label_value(std::string_view v);

}  // namespace pb::observe
