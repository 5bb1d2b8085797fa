// Alerts: a mail to the administrator (notify.email) before a problem stops
// the scans, rather than a line in a log nobody reads. Conditions:
//
//   signin-lapse:PROFILE  the sign-in will lapse for disuse within 14 days
//                         (keep-alive could not refresh it)
//   held:PROFILE          the profile is at 361 or 370 with jobs held
//   queue-age:PROFILE     its oldest queued job is older than notify.queue_age
//
// At most one mail per condition per day, and a note when it clears; which
// conditions hold and when each was mailed is kept in the store, so this
// holds across restarts and across instances on one database. A mail goes
// through the alerted profile when it can still send (a lapsing sign-in
// still works), else through the first profile that can; when none can, the
// condition stays on the page and in the metrics, and the mail goes once one
// can.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "service/outbox.hpp"

namespace pb::service {

struct AlertCondition {
    std::string key;      // "signin-lapse:email"
    std::string profile;  // the profile it is about
    std::string summary;  // one line, the mail's subject
    std::string text;     // what it is and what to do
};

class Alerts {
  public:
    Alerts(Outbox& outbox, const Clock& clock, std::function<void(std::string_view)> log)
        : outbox_(outbox), clock_(clock), log_(std::move(log)) {}

    // The conditions that hold now.
    std::vector<AlertCondition> conditions();
    // One pass: raise, mail and clear. serve runs it every minute. Returns
    // how many mails were submitted.
    std::size_t check();

  private:
    // The profile a mail goes through: `preferred` when it can send, else
    // the first that can; "" when none can.
    std::string sender_profile(const std::string& preferred);
    bool mail(const std::string& profile, const std::string& to, const std::string& subject,
              const std::string& text);

    Outbox& outbox_;
    const Clock& clock_;
    std::function<void(std::string_view)> log_;
    std::set<std::string> still_;  // conditions logged as still holding (once each)
};

}  // namespace pb::service
