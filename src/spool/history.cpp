// JSON and text views of a job (history.hpp).
#include "spool/history.hpp"

#include <fmt/format.h>

#include <chrono>
#include <ctime>

namespace pb::spool {

std::string_view remedy_of(const Job& j) {
    if (!j.code) return {};
    // A user's own sign-in (Scan to My Email) is the user's to make.
    if (info(*j.code).condition == Condition::sign_in && j.profile.starts_with("user:"))
        return kUserSignInRemedy;
    return info(*j.code).remedy;
}

nlohmann::json to_json(const Job& j, bool with_transcript) {
    nlohmann::json o{{"job", j.id}, {"state", to_string(j.state)}};
    if (j.code) {
        const auto& c = info(*j.code);
        o["code"] = static_cast<int>(*j.code);
        o["status"] = c.status;
        o["remedy"] = remedy_of(j);
    }
    if (!j.detail.empty()) o["detail"] = j.detail;
    auto rcpts = nlohmann::json::array();
    for (const auto& r : j.recipients) {
        nlohmann::json x{{"address", r.address}, {"result", to_string(r.result)}};
        if (r.code) x["code"] = static_cast<int>(*r.code);
        if (!r.reply.empty()) x["reply"] = r.reply;
        rcpts.push_back(std::move(x));
    }
    o["recipients"] = std::move(rcpts);
    o["function"] = to_string(j.function);
    o["profile"] = j.profile;
    if (!j.sender.empty()) o["sender"] = j.sender;
    if (!j.subject.empty()) o["subject"] = j.subject;
    o["size"] = j.size;
    o["attempts"] = j.attempts;
    o["created_at"] = format_rfc3339(j.created_at);
    o["updated_at"] = format_rfc3339(j.updated_at);
    if (j.next_attempt_at && j.state == JobState::queued)
        o["next_attempt_at"] = format_rfc3339(*j.next_attempt_at);
    if (j.finished_at) o["finished_at"] = format_rfc3339(*j.finished_at);
    if (j.maybe_sent) o["maybe_duplicate"] = true;
    // Being sent: by whom, and until when unless renewed (spool.hpp).
    if (!j.owner.empty()) o["owner"] = j.owner;
    if (j.lease_until) o["lease_until"] = format_rfc3339(*j.lease_until);
    if (!j.transport.empty()) o["transport"] = j.transport;
    if (with_transcript && !j.transcript.empty()) o["transcript"] = j.transcript;
    return o;
}

std::string summary_line(const Job& j) {
    std::string code = j.code ? std::to_string(static_cast<int>(*j.code)) : "-";
    std::string to = j.recipients.empty() ? "" : j.recipients.front().address;
    if (j.recipients.size() > 1) to += fmt::format(" (+{})", j.recipients.size() - 1);
    return fmt::format("{:>6}  {}  {:<8} {:>4}  {:<13} {:<8} {}  {}", j.id,
                       format_rfc3339(j.created_at), to_string(j.state), code,
                       to_string(j.function), j.profile, to, j.subject);
}

std::string mailq_text(const std::vector<Job>& jobs) {
    std::vector<const Job*> waiting;
    for (auto it = jobs.rbegin(); it != jobs.rend(); ++it)  // jobs are newest first
        if (!is_final(it->state)) waiting.push_back(&*it);
    if (waiting.empty()) return "Mail queue is empty\n";
    std::string out = "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n";
    std::uint64_t bytes = 0;
    for (const auto* j : waiting) {
        const std::time_t t =
            std::chrono::system_clock::to_time_t(std::chrono::system_clock::time_point(
                std::chrono::duration_cast<std::chrono::system_clock::duration>(
                    j->created_at.time_since_epoch())));
        std::tm tm{};
        ::gmtime_r(&t, &tm);
        char when[32];
        std::strftime(when, sizeof when, "%a %b %e %H:%M:%S", &tm);
        // As Postfix marks held (!) and active (*) jobs after the id.
        const char* mark = j->state == JobState::held      ? "!"
                           : j->state == JobState::sending ? "*"
                                                           : "";
        out += fmt::format("{:<11} {:>8} {:<20}  {}\n", std::to_string(j->id) + mark, j->size, when,
                           j->sender);
        const std::string reason =
            j->code
                ? fmt::format("(code {}: {})", static_cast<int>(*j->code),
                              j->detail.empty() ? std::string(info(*j->code).status) : j->detail)
                : std::string(j->state == JobState::sending ? "(being delivered)"
                                                            : "(waiting for delivery)");
        out += fmt::format("{:>42}{}\n", "", reason.substr(0, 200));
        for (const auto& r : j->recipients)
            if (r.result == RecipientResult::pending)
                out += fmt::format("{:>42}{}\n", "", r.address);
        out += "\n";
        bytes += j->size;
    }
    out += fmt::format("-- {} Kbytes in {} Request{}.\n", (bytes + 1023) / 1024, waiting.size(),
                       waiting.size() == 1 ? "" : "s");
    return out;
}

}  // namespace pb::spool
