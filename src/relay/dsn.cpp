#include "relay/dsn.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include "mime/header.hpp"

namespace pb::relay {
namespace {

// "550 5.1.1 no such user" -> "5.1.1"; else from the reply's first digit.
std::string status_of(const spool::Recipient& r) {
    const std::string& t = r.reply;
    if (t.size() >= 9 && (t[4] == '4' || t[4] == '5') && t[5] == '.') {
        const auto end = t.find(' ', 4);
        std::string s = t.substr(4, end == std::string::npos ? std::string::npos : end - 4);
        if (s.size() <= 11 && s.find_first_not_of("0123456789.") == std::string::npos) {
            s[0] = '5';  // the job failed for good: a permanent status
            return s;
        }
    }
    return "5.0.0";
}

std::string one_line(std::string_view s) {
    std::string out;
    for (char c : s) out += (c == '\r' || c == '\n') ? ' ' : c;
    return out;
}

bool failed_recipient(const spool::Job& job, const spool::Recipient& r) {
    if (r.result == spool::RecipientResult::rejected) return true;
    return job.state == spool::JobState::failed && r.result == spool::RecipientResult::pending;
}

}  // namespace

bool needs_dsn(const spool::Job& job) {
    if (job.function != spool::Function::relay) return false;
    if (job.state != spool::JobState::failed && job.state != spool::JobState::partial) return false;
    for (const auto& r : job.recipients)
        if (failed_recipient(job, r)) return true;
    return false;
}

std::string build_dsn(const DsnInput& in, Random& rng) {
    const spool::Job& job = in.job;
    const std::string boundary = "=_pb_dsn_" + random_hex(rng, 12);
    const std::string date = mime::format_date(in.now);
    std::string m;
    m += "From: Mail Delivery System <" + in.from + ">\r\n";
    m += "To: <" + in.to + ">\r\n";
    mime::HeaderField subject("Subject");
    subject.unstructured("Undelivered Mail Returned to Sender: " + one_line(job.subject));
    m += std::move(subject).finish();
    m += "Date: " + date + "\r\n";
    const auto at = in.from.rfind('@');
    m += "Message-ID: <" + random_hex(rng, 16) + "@" +
         (at == std::string::npos ? in.reporting_host : in.from.substr(at + 1)) + ">\r\n";
    m += "Auto-Submitted: auto-replied\r\n";  // RFC 3834: never answered automatically
    m += "MIME-Version: 1.0\r\n";
    m += "Content-Type: multipart/report; report-type=delivery-status;\r\n boundary=\"" + boundary +
         "\"\r\n\r\n";
    m += "This is a MIME-encapsulated delivery status notification.\r\n\r\n";

    m += "--" + boundary + "\r\n";
    m += "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n";
    m += "This is the postbridge relay at " + in.reporting_host + ".\r\n\r\n";
    m += "The message you sent through the relay could not be delivered to the\r\n"
         "recipient(s) below. No further attempts will be made.\r\n\r\n";
    m += "Subject: " + one_line(job.subject) + "\r\n";
    m += fmt::format("Relay job: {}\r\n", job.id);
    if (job.code)
        m += fmt::format("Reason: code {}: {}\r\n", static_cast<int>(*job.code),
                         pb::info(*job.code).status);
    if (!job.detail.empty()) m += "Detail: " + one_line(job.detail) + "\r\n";
    m += "\r\n";
    for (const auto& r : job.recipients)
        if (failed_recipient(job, r))
            m += "  <" + r.address + ">" + (r.reply.empty() ? "" : ": " + one_line(r.reply)) +
                 "\r\n";
    m += "\r\n";

    m += "--" + boundary + "\r\n";
    m += "Content-Type: message/delivery-status\r\n\r\n";
    m += "Reporting-MTA: dns; " + in.reporting_host + "\r\n";
    m += "Arrival-Date: " + mime::format_date(job.created_at) + "\r\n";
    for (const auto& r : job.recipients) {
        if (!failed_recipient(job, r)) continue;
        m += "\r\n";
        m += "Final-Recipient: rfc822; " + r.address + "\r\n";
        m += "Action: failed\r\n";
        m += "Status: " + status_of(r) + "\r\n";
        if (!r.reply.empty()) m += "Diagnostic-Code: smtp; " + one_line(r.reply) + "\r\n";
        m += "Last-Attempt-Date: " + mime::format_date(job.updated_at) + "\r\n";
    }
    m += "\r\n--" + boundary + "--\r\n";
    return m;
}

std::string reporting_host() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "postbridge";
    return buf;
}

DsnReporter::DsnReporter(Settings settings, std::string hostname, const Clock& clock,
                         std::function<void(std::string_view)> log)
    : settings_(std::move(settings)),
      hostname_(std::move(hostname)),
      clock_(clock),
      log_(std::move(log)) {}

std::optional<spool::FollowUp> DsnReporter::follow_up(const spool::Job& job) {
    if (!needs_dsn(job)) return std::nullopt;
    const auto cfg = settings_();
    const std::string to = job.return_path.empty() ? job.sender : job.return_path;
    if (!cfg->global().relay_dsn || to.empty()) return std::nullopt;
    const std::string from = cfg->profile(job.profile).sender;
    if (from.empty()) {
        log_(fmt::format("relay: no delivery report for job {}: {}.sender is not set", job.id,
                         job.profile));
        return std::nullopt;
    }
    spool::FollowUp out;
    out.message = build_dsn({job, to, from, hostname_, clock_.now()}, rng_);
    out.submission.function = spool::Function::notification;
    out.submission.profile = job.profile;
    out.submission.sender = from;
    out.submission.recipients = {to};
    out.submission.subject = "Undelivered Mail Returned to Sender: " + one_line(job.subject);
    log_(fmt::format("relay: job {} failed; a delivery report goes to {}", job.id, to));
    return out;
}

void DsnReporter::failed(const spool::Job& job, const Error& why) {
    log_(fmt::format("relay: no delivery report for job {}: {}", job.id, why.describe()));
}

}  // namespace pb::relay
