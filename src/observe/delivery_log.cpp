// The delivery log's lines (delivery_log.hpp).
#include "observe/delivery_log.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

namespace pb::observe {
namespace {

double seconds(Duration d) {
    return std::chrono::duration<double>(d).count();
}

std::string_view result_word(spool::RecipientResult r) {
    switch (r) {
        case spool::RecipientResult::accepted:
            return "accepted";
        case spool::RecipientResult::rejected:
            return "refused";
        case spool::RecipientResult::pending:
            break;
    }
    return "pending";
}

std::string code_of(const spool::Attempt& a) {
    return a.error ? std::to_string(static_cast<int>(a.error->code)) : std::string{};
}

// The manual's words for the outcome, and what exactly happened.
std::string status_of(const spool::Attempt& a) {
    if (!a.error) return a.state == spool::JobState::sent ? "Sent" : std::string{};
    std::string s(info(a.error->code).status);
    if (!a.error->detail.empty()) s += ": " + a.error->detail;
    return s;
}

}  // namespace

std::string log_value(std::string_view v) {
    const bool plain =
        !v.empty() && v.find_first_of(" \"\\=") == std::string_view::npos &&
        std::all_of(v.begin(), v.end(), [](char c) {
            return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) != 0x7f;
        });
    if (plain) return std::string(v);
    std::string out = "\"";
    for (const char c : v) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20 || u == 0x7f) {
            out += fmt::format("\\x{:02x}", u);
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string attempt_line(const spool::Job& job, const spool::Attempt& a, TimePoint now) {
    std::string line = fmt::format(
        "job={} profile={} transport={} server={} attempt={}", job.id, log_value(job.profile),
        log_value(a.transport.empty() ? std::string_view("none") : a.transport),
        log_value(a.server.empty() ? std::string_view("none") : a.server), job.attempts);
    // The attempt's results by recipient; one it did not reach keeps the
    // result it had.
    for (const auto& r : job.recipients) {
        const spool::Recipient* now_r = &r;
        for (const auto& x : a.recipients)
            if (x.seq == r.seq) now_r = &x;
        line += fmt::format(" to=<{}> {}", log_value(now_r->address), result_word(now_r->result));
        if (!now_r->reply.empty()) line += " " + log_value(now_r->reply);
    }
    line += fmt::format(" size={} delay={:.2f} time={:.2f} state={} code={} status={}", job.size,
                        seconds(now - job.created_at), seconds(a.elapsed),
                        spool::to_string(a.state), code_of(a), log_value(status_of(a)));
    if (a.maybe_sent) line += " maybe_sent=yes";
    return line;
}

std::string outcome_line(const spool::Job& job, const spool::Attempt& a, TimePoint now) {
    return fmt::format("job={} outcome={} profile={} attempts={} delay={:.2f} code={} status={}",
                       job.id, spool::to_string(a.state), log_value(job.profile), job.attempts,
                       seconds(now - job.created_at), code_of(a), log_value(status_of(a)));
}

void DeliveryLog::attempted(const spool::Job& job, const spool::Attempt& attempt) {
    const auto now = clock_.now();
    sink_(attempt_line(job, attempt, now));
    if (spool::is_final(attempt.state)) sink_(outcome_line(job, attempt, now));
}

}  // namespace pb::observe
