// Metrics (metrics.hpp): the counters and the text format (Prometheus
// exposition format 0.0.4).
#include "observe/metrics.hpp"

#include <fmt/format.h>

#include <chrono>

namespace pb::observe {
namespace {

// A number as the format has it: integers without a fraction, others in
// the shortest form that reads back the same.
std::string number(double v) {
    return fmt::format("{}", v);
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

std::string_view transport_of(const spool::Job& job, const spool::Attempt& a) {
    if (!a.transport.empty()) return a.transport;
    if (!job.transport.empty()) return job.transport;
    return "none";  // nothing was tried (no server set, no sign-in)
}

}  // namespace

std::string label_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (const char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string_view Metrics::result_of(spool::JobState state) noexcept {
    switch (state) {
        case spool::JobState::sent:
            return "sent";
        case spool::JobState::held:
            return "held";
        case spool::JobState::partial:
        case spool::JobState::failed:
            return "failed";
        case spool::JobState::queued:
        case spool::JobState::sending:
            break;
    }
    return "deferred";
}

void Metrics::attempted(const spool::Job& job, const spool::Attempt& attempt) {
    const std::string transport(transport_of(job, attempt));
    const std::string result(result_of(attempt.state));
    const std::string code = attempt.state == spool::JobState::sent || !attempt.error
                                 ? std::string{}
                                 : std::to_string(static_cast<int>(attempt.error->code));
    const double seconds = std::chrono::duration<double>(attempt.elapsed).count();
    std::lock_guard lock(mu_);
    ++deliveries_[{job.profile, transport, result, code}];
    Histogram& h = durations_[{job.profile, transport}];
    std::size_t i = 0;
    while (i < kDurationBuckets.size() && seconds > kDurationBuckets[i]) ++i;
    if (i < kDurationBuckets.size()) ++h.buckets[i];
    ++h.count;
    h.sum += seconds;
}

std::string Metrics::render(const Gauges& g) const {
    std::string out;
    out.reserve(4096);

    header(out, "postbridge_jobs", "gauge",
           "Jobs in the spool and the kept history, by state. Read from the state database: "
           "with several instances on one database, the fleet's.");
    for (const auto& [state, n] : g.jobs_by_state)
        out += fmt::format("postbridge_jobs{{state=\"{}\"}} {}\n", label_value(state), n);

    {
        std::lock_guard lock(mu_);
        header(out, "postbridge_deliveries_total", "counter",
               "Delivery attempts of this instance since it started, by the job's profile, the "
               "transport, the result (sent, deferred, held, failed; a job sent to some "
               "recipients and refused for good by others counts as failed) and the job code "
               "(empty for sent).");
        for (const auto& [key, n] : deliveries_) {
            const auto& [profile, transport, result, code] = key;
            out += fmt::format(
                "postbridge_deliveries_total{{profile=\"{}\",transport=\"{}\",result=\"{}\","
                "code=\"{}\"}} {}\n",
                label_value(profile), label_value(transport), result, code, n);
        }
        header(out, "postbridge_delivery_duration_seconds", "histogram",
               "How long one delivery attempt of this instance took on its connection (the "
               "first of a connection includes connecting, TLS and authentication).");
        for (const auto& [key, h] : durations_) {
            const std::string labels = fmt::format("profile=\"{}\",transport=\"{}\"",
                                                   label_value(key.first), label_value(key.second));
            std::uint64_t cumulative = 0;
            for (std::size_t i = 0; i < kDurationBuckets.size(); ++i) {
                cumulative += h.buckets[i];
                out +=
                    fmt::format("postbridge_delivery_duration_seconds_bucket{{{},le=\"{}\"}} {}\n",
                                labels, number(kDurationBuckets[i]), cumulative);
            }
            out += fmt::format("postbridge_delivery_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n",
                               labels, h.count);
            out += fmt::format("postbridge_delivery_duration_seconds_sum{{{}}} {}\n", labels,
                               number(h.sum));
            out += fmt::format("postbridge_delivery_duration_seconds_count{{{}}} {}\n", labels,
                               h.count);
        }
    }

    header(out, "postbridge_queue_oldest_seconds", "gauge",
           "Age of the oldest job of the profile not yet delivered (queued, sending or held), "
           "0 when none waits. Read from the state database: the fleet's.");
    for (const auto& [profile, age] : g.queue_oldest_seconds)
        out += fmt::format("postbridge_queue_oldest_seconds{{profile=\"{}\"}} {}\n",
                           label_value(profile), number(age));

    header(out, "postbridge_signin_state", "gauge",
           "1 for the current state of each OAuth 2.0 profile's sign-in, 0 for the others. Read "
           "from the state database: the fleet's.");
    for (const auto& s : g.signins)
        for (const auto state : kSignInStates)
            out += fmt::format("postbridge_signin_state{{profile=\"{}\",state=\"{}\"}} {}\n",
                               label_value(s.profile), state, s.state == state ? 1 : 0);

    header(out, "postbridge_signin_lapse_seconds", "gauge",
           "Time left before an unused sign-in would lapse at the provider, as keep-alive "
           "reckons it from PROFILE.oauth.inactivity_limit; absent when that limit is unknown. "
           "Negative once past. Read from the state database: the fleet's.");
    for (const auto& s : g.signins)
        if (s.lapse_seconds)
            out += fmt::format("postbridge_signin_lapse_seconds{{profile=\"{}\"}} {}\n",
                               label_value(s.profile), number(*s.lapse_seconds));

    header(out, "postbridge_relay_connections", "gauge",
           "Connections open to this instance's relay now.");
    out += fmt::format("postbridge_relay_connections {}\n",
                       relay_connections_.load(std::memory_order_relaxed));
    header(out, "postbridge_relay_messages_total", "counter",
           "Messages offered to this instance's relay since it started: accepted (250 after the "
           "data) or refused.");
    out += fmt::format("postbridge_relay_messages_total{{result=\"accepted\"}} {}\n",
                       relay_accepted_.load(std::memory_order_relaxed));
    out += fmt::format("postbridge_relay_messages_total{{result=\"refused\"}} {}\n",
                       relay_refused_.load(std::memory_order_relaxed));
    header(out, "postbridge_relay_auth_failures_total", "counter",
           "Failed logins at this instance's relay since it started.");
    out += fmt::format("postbridge_relay_auth_failures_total {}\n",
                       relay_auth_failures_.load(std::memory_order_relaxed));
    return out;
}

}  // namespace pb::observe
