// Delivery status notifications (RFC 3464) for relayed mail that failed
// for good: a device's sender learns that a scan it handed over with a 250
// never arrived.
//
// The report is a spool::Reporter: the spool asks it inside the transaction
// that records a relay job's final failure, and stores the report's job and
// the original's "reported" mark in that same transaction. So a report is
// made exactly once, whatever crashes, in whichever process delivered (serve,
// or `postbridge flush`). No report goes to the null sender <> nor about a
// report (notification jobs are not relay jobs), so two relays cannot loop.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/settings.hpp"
#include "spool/job.hpp"
#include "spool/spool.hpp"

namespace pb::relay {

struct DsnInput {
    const spool::Job& job;
    std::string to;              // the original envelope sender
    std::string from;            // the profile's sender
    std::string reporting_host;  // the relay's host name
    TimePoint now;
};

// The report as a complete message (CRLF line ends): a multipart/report
// with a human-readable part and a message/delivery-status part listing
// each recipient that failed with its status and the server's words.
std::string build_dsn(const DsnInput& in, Random& rng);
// Whether `job` needs a report at all: a relay job, final, with recipients
// that failed.
bool needs_dsn(const spool::Job& job);

// The host name a report names itself by: the machine's.
std::string reporting_host();

class DsnReporter final : public spool::Reporter {
  public:
    // Read for each report: relay.dsn turns reports off, PROFILE.sender is
    // the report's sender.
    using Settings = std::function<std::shared_ptr<const settings::Config>()>;
    DsnReporter(Settings settings, std::string hostname, const Clock& clock,
                std::function<void(std::string_view)> log);

    std::optional<spool::FollowUp> follow_up(const spool::Job& job) override;
    void failed(const spool::Job& job, const Error& why) override;

  private:
    Settings settings_;
    std::string hostname_;
    const Clock& clock_;
    SystemRandom rng_;  // the spool calls one reporter at a time, under its lock
    std::function<void(std::string_view)> log_;
};

}  // namespace pb::relay
