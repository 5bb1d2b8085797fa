// Retry / fail / hold (policy.hpp).
#include "delivery/policy.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include <fmt/format.h>

namespace pb::delivery {
namespace {

std::uint64_t random_u64(Random& rng) {
    std::array<std::byte, 8> b{};
    rng.fill(b);
    std::uint64_t v = 0;
    std::memcpy(&v, b.data(), b.size());
    return v;
}

std::string human(Duration d) {
    const auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
    if (s % 86400 == 0) return fmt::format("{}d", s / 86400);
    if (s % 3600 == 0) return fmt::format("{}h", s / 3600);
    if (s % 60 == 0) return fmt::format("{}m", s / 60);
    return fmt::format("{}s", s);
}

Decision later(const Error& e, int attempts, TimePoint queued_at, TimePoint now,
               const RetryPolicy& p, Random& rng) {
    const TimePoint at = now + backoff(attempts, p, rng);
    if (at > queued_at + p.max_age)
        return {Action::fail,
                fail(Errc::gave_up,
                     fmt::format("gave up after {} (delivery.max_age); the last attempt: {}",
                                 human(p.max_age), e.describe())),
                std::nullopt};
    return {Action::retry, e, at};
}

}  // namespace

Admission admit(std::optional<Errc> problem, bool hold_when_signed_out) noexcept {
    if (!problem) return Admission::queue;
    return hold_when_signed_out ? Admission::hold : Admission::refuse;
}

bool release_held(std::optional<Errc> problem) noexcept {
    return !problem;
}

Duration backoff(int attempts, const RetryPolicy& p, Random& rng) {
    const int doublings = std::clamp(attempts - 1, 0, 30);
    Duration d = p.first;
    for (int i = 0; i < doublings && d < p.cap; ++i) d *= 2;
    d = std::min(d, p.cap);
    const auto half = d.count() / 2;
    const auto spread = static_cast<std::uint64_t>(d.count() - half) + 1;
    return Duration{half + static_cast<Duration::rep>(random_u64(rng) % spread)};
}

Decision decide(const Error& e, int attempts, TimePoint queued_at, TimePoint now,
                const RetryPolicy& p, Random& rng) {
    switch (info(e.code).condition) {
        case Condition::sign_in:
            return {Action::hold, e, std::nullopt};
        case Condition::permanent:
        case Condition::configuration:
            return {Action::fail, e, std::nullopt};
        case Condition::transient:
            return later(e, attempts, queued_at, now, p, rng);
        case Condition::local:
            // A full or failing disk may recover; bad input and giving up
            // will not change by waiting.
            if (e.code == Errc::spool_unwritable) return later(e, attempts, queued_at, now, p, rng);
            return {Action::fail, e, std::nullopt};
    }
    return {Action::fail, e, std::nullopt};
}

spool::Attempt settle(const spool::Job& job, const MessageOutcome& outcome,
                      const std::string& transcript, TimePoint now, const RetryPolicy& p,
                      Random& rng) {
    spool::Attempt a;
    a.maybe_sent = outcome.maybe_sent;
    a.transport = outcome.transport;
    a.server = outcome.server;
    std::vector<spool::Recipient> rcpts = job.recipients;
    std::optional<Error> pending_error;  // the first reason a recipient is still pending

    for (const auto& ro : outcome.recipients) {
        auto it = std::find_if(rcpts.begin(), rcpts.end(), [&](const spool::Recipient& r) {
            return r.address == ro.address && r.result == spool::RecipientResult::pending;
        });
        if (it == rcpts.end()) continue;
        it->reply = ro.reply;
        if (!ro.error) {
            // Accepted at RCPT counts only when the message itself went through.
            if (!outcome.error) {
                it->result = spool::RecipientResult::accepted;
                it->code.reset();
            }
            continue;
        }
        const Decision d = decide(*ro.error, job.attempts, job.queued_at, now, p, rng);
        it->code = d.error.code;
        if (d.action == Action::fail) {
            it->result = spool::RecipientResult::rejected;
        } else if (!pending_error) {
            pending_error = *ro.error;
        }
    }

    std::size_t accepted = 0, rejected = 0, pending = 0;
    const spool::Recipient* first_rejected = nullptr;
    for (const auto& r : rcpts) {
        switch (r.result) {
            case spool::RecipientResult::accepted:
                ++accepted;
                break;
            case spool::RecipientResult::rejected:
                ++rejected;
                if (!first_rejected) first_rejected = &r;
                break;
            case spool::RecipientResult::pending:
                ++pending;
                break;
        }
    }

    auto refused_error = [&]() {
        const Errc code = first_rejected && first_rejected->code ? *first_rejected->code
                                                                 : Errc::recipient_rejected;
        std::string detail = fmt::format("{} of {} recipients refused", rejected, rcpts.size());
        if (first_rejected)
            detail +=
                fmt::format(" ({}: {})", first_rejected->address,
                            first_rejected->reply.empty() ? "refused" : first_rejected->reply);
        return fail(code, std::move(detail));
    };

    if (pending > 0) {
        const Error governing =
            outcome.error   ? *outcome.error
            : pending_error ? *pending_error
                            : fail(Errc::mail_service_unavailable, "recipients were not tried");
        const Decision d = decide(governing, job.attempts, job.queued_at, now, p, rng);
        switch (d.action) {
            case Action::retry:
                a.state = spool::JobState::queued;
                a.next_attempt_at = d.retry_at;
                a.error = d.error;
                break;
            case Action::hold:
                a.state = spool::JobState::held;
                a.error = d.error;
                break;
            case Action::fail:
                for (auto& r : rcpts)
                    if (r.result == spool::RecipientResult::pending) {
                        r.result = spool::RecipientResult::rejected;
                        r.code = d.error.code;
                    }
                a.state = accepted > 0 ? spool::JobState::partial : spool::JobState::failed;
                a.error = d.error;
                break;
        }
    } else if (rejected == 0) {
        a.state = spool::JobState::sent;
    } else {
        a.state = accepted > 0 ? spool::JobState::partial : spool::JobState::failed;
        a.error = outcome.error && accepted == 0 ? *outcome.error : refused_error();
    }
    if (a.state != spool::JobState::sent) a.transcript = transcript;
    a.recipients = std::move(rcpts);
    return a;
}

}  // namespace pb::delivery
