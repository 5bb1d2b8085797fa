// Delivery status notifications (RFC 3464) for relayed mail that failed
// for good: a device's sender learns that a scan it handed over with a 250
// never arrived.
//
// The delivery engine is not touched: the notifier looks at the job history
// every few seconds for relay jobs that became failed (or partial) and
// sends each a report, through the relay's profile, as a notification job.
// Which jobs were reported is kept in STATE/relay/dsn-reported (written
// before the report is submitted: a crash may lose a report, never send
// one twice). At the first run every job already final is taken as
// reported, so turning the relay on does not mail reports about old jobs.
// No report goes to the null sender <> nor about a report (notification
// jobs are not relay jobs), so two relays cannot loop.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "spool/job.hpp"

namespace pb::intake {
class Intake;
}
namespace pb::spool {
class Spool;
}

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

class DsnNotifier {
  public:
    // Reports go to a job's return path (the device's own sender when the
    // relay rewrote it), else to its sender.
    // The history is read from `spool`; reports go in through `intake`.
    DsnNotifier(intake::Intake& intake, spool::Spool& spool, std::filesystem::path state_file,
                std::string hostname, const Clock& clock, Random& rng,
                std::function<void(std::string_view)> log);
    // One look at the history; returns how many reports were submitted.
    std::size_t scan();

  private:
    bool load();
    void save();

    intake::Intake& intake_;
    spool::Spool& spool_;
    std::filesystem::path file_;
    std::string hostname_;
    const Clock& clock_;
    Random& rng_;
    std::function<void(std::string_view)> log_;
    bool loaded_ = false;
    std::set<spool::JobId> reported_;
};

}  // namespace pb::relay
