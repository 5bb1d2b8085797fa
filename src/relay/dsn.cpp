#include "relay/dsn.hpp"

#include <fmt/format.h>

#include <fstream>

#include "intake/intake.hpp"
#include "mime/header.hpp"
#include "spool/spool.hpp"

namespace pb::relay {
namespace {

constexpr std::size_t kWindow = 500;  // history entries looked at per scan

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

DsnNotifier::DsnNotifier(intake::Intake& intake, spool::Spool& spool,
                         std::filesystem::path state_file, std::string hostname, const Clock& clock,
                         Random& rng, std::function<void(std::string_view)> log)
    : intake_(intake),
      spool_(spool),
      file_(std::move(state_file)),
      hostname_(std::move(hostname)),
      clock_(clock),
      rng_(rng),
      log_(std::move(log)) {}

bool DsnNotifier::load() {
    std::ifstream in(file_);
    if (!in) return false;
    spool::JobId id = 0;
    while (in >> id) reported_.insert(id);
    return true;
}

void DsnNotifier::save() {
    std::string text;
    for (auto id : reported_) text += std::to_string(id) + "\n";
    std::error_code ec;
    std::filesystem::create_directories(file_.parent_path(), ec);
    const auto tmp = file_.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << text;
        if (!out) {
            log_("relay: cannot record the delivery reports sent in " + file_.string());
            return;
        }
    }
    std::filesystem::rename(tmp, file_, ec);
    if (ec) log_("relay: cannot record the delivery reports sent: " + ec.message());
}

std::size_t DsnNotifier::scan() {
    auto jobs = spool_.jobs(kWindow);
    if (!jobs) {
        log_("relay: delivery reports: " + jobs.error().describe());
        return 0;
    }
    if (!loaded_) {
        loaded_ = true;
        if (!load()) {
            for (const auto& j : *jobs)
                if (needs_dsn(j)) reported_.insert(j.id);
            save();
            return 0;
        }
    }
    // Forget ids that left the window: their jobs will not fail again.
    if (!jobs->empty()) {
        const spool::JobId oldest = jobs->back().id;
        std::erase_if(reported_, [oldest](spool::JobId id) { return id < oldest; });
    }
    const auto cfg = intake_.config();
    const bool enabled = cfg->global().relay_dsn;
    std::size_t sent = 0;
    for (const auto& job : *jobs) {
        if (!needs_dsn(job) || reported_.contains(job.id)) continue;
        reported_.insert(job.id);
        save();
        const std::string to = job.return_path.empty() ? job.sender : job.return_path;
        if (!enabled || to.empty()) continue;
        const std::string profile = job.profile;
        const std::string from = cfg->profile(profile).sender;
        if (from.empty()) {
            log_(fmt::format("relay: no delivery report for job {}: {}.sender is not set", job.id,
                             profile));
            continue;
        }
        const std::string text = build_dsn({job, to, from, hostname_, clock_.now()}, rng_);
        spool::Submission sub;
        sub.function = spool::Function::notification;
        sub.profile = profile;
        sub.sender = from;
        sub.recipients = {to};
        sub.subject = "Undelivered Mail Returned to Sender: " + one_line(job.subject);
        StringSource body(text);
        auto r = intake_.submit(std::move(sub), body);
        if (!r) {
            log_(
                fmt::format("relay: delivery report for job {}: {}", job.id, r.error().describe()));
            continue;
        }
        ++sent;
        log_(fmt::format("relay: job {} failed; delivery report to {} is job {}", job.id, to,
                         r->id));
    }
    return sent;
}

}  // namespace pb::relay
