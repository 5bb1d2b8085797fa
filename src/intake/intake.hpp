// Intake: the one way a message enters postbridge. The command line (send,
// sendmail), Web Config's test email, the relay and the relay's delivery
// reports each hand over what they have; intake turns it into a job:
//
//   compose()   a message written here from a draft, From the profile's
//               sender (send, the web page)
//   sendmail()  a message written elsewhere, read from a stream, with the
//               profile's sender_policy (sendmail, -f, -F, -t)
//   relayed()   a message a device sent to the relay, with relay.profile
//               and relay.sender_policy
//   submit()    a ready envelope and message (delivery reports)
//
// Every one ends in submit(): the profile must exist, and a job of a
// profile that cannot send now (not signed in: 360, 361, 370) is held or
// refused as delivery/policy.cpp decides; then the spool makes it durable.
// Nothing here knows how mail leaves: that is delivery's.
//
// Thread-safe: serve's relay sessions, the web thread, local submissions
// and the spool's delivery reports call it at once.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/settings.hpp"
#include "core/source.hpp"
#include "mime/message.hpp"
#include "spool/spool.hpp"

namespace pb::intake {

// The manual's words for a function used while its profile is not signed in.
inline constexpr std::string_view kSignInMessage =
    "To use this function, you must sign in to the email service. Contact the administrator.";

struct Accepted {
    spool::JobId id = 0;
    // Set when the job was accepted straight into `held` (the profile is not
    // signed in): the caller shows kSignInMessage.
    std::optional<Errc> held;
};

// What intake needs to know of the profiles; the outbox answers.
class Profiles {
  public:
    virtual ~Profiles() = default;
    // The settings now.
    virtual std::shared_ptr<const settings::Config> config() = 0;
    // 652 naming the profile when it does not exist.
    virtual Result<void> check_profile(std::string_view profile) = 0;
    // nullopt when the profile can send now; else 360, 361 or 370.
    virtual std::optional<Errc> sign_in_problem(const std::string& profile) = 0;
};

// sendmail's options (design.md "Command line").
// What sendmail's callers expect its exit status to say (sysexits.h), for a
// message sendmail() did not accept.
enum class Sysexit : int {
    usage = 64,        // EX_USAGE: the command line (a bad -f, no recipient)
    data = 65,         // EX_DATAERR: the message itself
    no_user = 67,      // EX_NOUSER: a local name with no alias
    unavailable = 69,  // EX_UNAVAILABLE: the profile cannot send and refuses
    tempfail = 75,     // EX_TEMPFAIL: not now (a full disk); try again
    config = 78,       // EX_CONFIG: the settings (no sender, no such profile)
};

struct SendmailRequest {
    spool::Function function = spool::Function::cli;
    std::string profile = "email";
    std::string from;       // -f: the envelope sender unless the policy rewrites it
    std::string full_name;  // -F
    std::vector<std::string> recipients;
    bool recipients_from_headers = false;  // -t
    std::string submitter = {};            // the local user, for local submissions
    std::string dsn_notify = {};           // -N, checked by parse_dsn_notify
    std::string dsn_ret = {};              // -R, checked by parse_dsn_ret
};

// sendmail -N: "never", or a comma list of success, failure and delay, as
// RFC 3461 NOTIFY= takes it ("NEVER", "SUCCESS,FAILURE"). 652 otherwise.
Result<std::string> parse_dsn_notify(std::string_view value);
// sendmail -R: "full" or "hdrs", as RET= ("FULL", "HDRS").
Result<std::string> parse_dsn_ret(std::string_view value);

// What a device handed the relay.
struct RelayedMessage {
    std::string sender;  // MAIL FROM; "" for the null reverse path
    std::vector<std::string> recipients;
    std::optional<spool::Trace> received = {};  // the relay's Received: header
};

class Intake {
  public:
    // `queued`, when given, is told of every job accepted into the queue
    // (not held): serve's engine starts on it at once.
    Intake(spool::Spool& spool, Profiles& profiles, const Clock& clock, Random& rng,
           std::function<void()> queued = {});

    Result<Accepted> submit(spool::Submission sub, ByteSource& body);

    // 652 when the profile has no sender ("set email.sender first").
    Result<Accepted> compose(spool::Function function, const std::string& profile,
                             mime::Draft draft);
    // Local names among the recipients (root, lp) are expanded through the
    // aliases file (setting `aliases`). When it refuses, `why` (if given)
    // says which sendmail exit status fits.
    Result<Accepted> sendmail(const SendmailRequest& request, std::unique_ptr<ByteSource> message,
                              Sysexit* why = nullptr);
    // A message refused as unusable is 652 (the relay answers 554).
    Result<Accepted> relayed(const RelayedMessage& envelope, ByteSource& message);

    std::shared_ptr<const settings::Config> config() { return profiles_.config(); }
    const Clock& clock() const noexcept { return clock_; }

  private:
    spool::Spool& spool_;
    Profiles& profiles_;
    const Clock& clock_;
    LockedRandom rng_;
    std::function<void()> queued_;
};

}  // namespace pb::intake
