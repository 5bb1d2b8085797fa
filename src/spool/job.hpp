// A job: one accepted message on its way, and afterwards its entry in the
// job history (manual section 7, "Job Status"). The names of states,
// functions and recipient results are a contract: they appear in
// `postbridge jobs --json`, the web page and the JSON API.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace pb::spool {

using JobId = std::int64_t;

enum class JobState {
    queued,   // waiting for its (next) attempt
    sending,  // a worker has it
    held,     // waiting for the profile's sign-in (360, 361, 370)
    sent,     // every recipient accepted
    partial,  // some recipients accepted, the others refused for good
    failed,   // nothing more will be tried (the code says why)
};

enum class Function { scan_to_email, notification, fax, relay, cli };

enum class RecipientResult { pending, accepted, rejected };

std::string_view to_string(JobState s) noexcept;
std::string_view to_string(Function f) noexcept;
std::string_view to_string(RecipientResult r) noexcept;
std::optional<JobState> parse_job_state(std::string_view s) noexcept;
std::optional<Function> parse_function(std::string_view s) noexcept;
std::optional<RecipientResult> parse_recipient_result(std::string_view s) noexcept;
// sent, partial and failed: no worker will touch the job again by itself.
bool is_final(JobState s) noexcept;

struct Recipient {
    int seq = 0;  // its place in the envelope
    std::string address;
    RecipientResult result = RecipientResult::pending;
    std::optional<Errc> code;  // why it was refused (or is still pending)
    std::string reply;         // the server's words, e.g. "550 5.1.1 no such user"
};

struct Job {
    JobId id = 0;
    TimePoint created_at{};
    TimePoint updated_at{};
    TimePoint queued_at{};  // accepted, or retried by hand: delivery.max_age counts from here
    std::optional<TimePoint> next_attempt_at;  // queued jobs
    std::optional<TimePoint> finished_at;      // final states
    Function function = Function::cli;
    std::string profile;
    std::string sender;
    std::string return_path;  // Submission::return_path: empty means sender
    std::string subject;
    std::uint64_t size = 0;
    int attempts = 0;
    JobState state = JobState::queued;
    std::optional<Errc> code;
    std::string detail;       // what exactly went wrong (never a secret)
    bool maybe_sent = false;  // the last attempt broke off at end of data: a resend may duplicate
    bool on_wire = false;     // `sending`, and its message may have reached the server
    std::string transport;    // "smtp" or "graph": what the last attempt went over; "" before one
    std::string transcript;   // redacted SMTP session of the last failed attempt
    std::string file;         // the spool file's name; empty once it is no longer needed
    bool reported = false;    // its failure report (Reporter) was made
    std::string submitter;    // the local user who handed it to serve, or ""
    std::string dsn_notify;   // RFC 3461 NOTIFY for the upstream ("" none)
    std::string dsn_ret;      // RFC 3461 RET ("" none)
    // `sending`: whose claim it is, and until when unless renewed (spool.hpp).
    std::string owner;
    std::optional<TimePoint> lease_until;
    std::vector<Recipient> recipients;
};

}  // namespace pb::spool
