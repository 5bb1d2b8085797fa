// The outbox: one object that every submitter and every deliverer shares.
//
// It owns, on its own connection to the state directory, the settings
// runtime (service/runtime.hpp), the spool and the delivery engine, so that
// the command line, serve's workers, the relay and the web page's "send a
// test email" all accept and deliver a message the same way:
//
//   submit()   intake: the profile's sign-in is checked (a job of a profile
//              that is not signed in is held with 360/361/370 and the caller
//              told the manual's message), then the job is made durable.
//   engine()   delivery through the SMTP transport, endpoints resolved from
//              the current settings for every batch.
//
// Thread-safe: serve's workers, the relay's sessions and the web thread call
// it at once. The runtime is guarded by one mutex; the spool has its own.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/settings.hpp"
#include "core/source.hpp"
#include "delivery/engine.hpp"
#include "delivery/smtp_transport.hpp"
#include "service/runtime.hpp"
#include "spool/file_ops.hpp"
#include "spool/spool.hpp"
#include "store/store.hpp"

namespace pb::service {

// The manual's words for a function used while its profile is not signed in.
inline constexpr std::string_view kSignInMessage =
    "To use this function, you must sign in to the email service. Contact the administrator.";

struct Accepted {
    spool::JobId id = 0;
    // Set when the job was accepted straight into `held` (the profile is not
    // signed in): the caller shows kSignInMessage.
    std::optional<Errc> held;
};

struct OutboxOptions {
    store::Options store;  // the key (POSTBRIDGE_KEY) when not the key file
    // Where the engine's own failures go (a database error while recording a
    // result). Default: standard error.
    std::function<void(const Error&)> on_error;
};

class Outbox {
  public:
    static Result<std::unique_ptr<Outbox>> open(const std::filesystem::path& state_dir,
                                                const Clock& clock, Random& rng,
                                                OutboxOptions options = {});
    ~Outbox();
    Outbox(const Outbox&) = delete;
    Outbox& operator=(const Outbox&) = delete;

    // Reads the settings again; a running serve follows `config set` from
    // its next batch on.
    Result<void> reload();
    // A copy: the settings may be reloaded by another thread meanwhile.
    settings::Settings settings();

    // nullopt when the profile can send now; else 360 (never signed in or
    // signed out), 361 (expired) or 370 (sign in again). Profiles that do
    // not use OAuth 2.0 always can.
    std::optional<Errc> sign_in_problem(const std::string& profile);

    // Intake. 652 for a profile that does not exist; when the profile is not
    // signed in the job is held (or, with hold_when_signed_out off, refused
    // with the sign-in code and kSignInMessage).
    Result<Accepted> submit(spool::Submission sub, ByteSource& body);

    // The profile's sign-in as status shows it.
    Result<SignInStatus> status(const std::string& profile);
    // The profiles that exist now: email, fax, user:NAME for each user.
    Result<std::vector<std::string>> profiles();

    // One keep-alive pass (serve runs it every minute): every signed-in
    // OAuth 2.0 profile whose keep-alive is due refreshes, so an unused
    // sign-in never lapses. Standing warnings (keep-alive failing, a lapse
    // within 14 days) are handed to `warn` at most once a day per profile;
    // nothing secret is in them.
    void keep_alive(const std::function<void(std::string_view)>& warn);
    // For callers that need the runtime itself (sign-in, test-connection):
    // `f(Runtime&)` runs under the runtime's lock.
    template <class F>
    auto with_runtime(F&& f) {
        std::lock_guard lock(mu_);
        return f(*rt_);
    }

    spool::Spool& spool() { return *spool_; }
    delivery::Engine& engine() { return *engine_; }
    store::Store& store() { return *store_; }
    const std::filesystem::path& state_dir() const { return state_dir_; }

    // The delivery settings of a profile, as the engine reads them.
    static delivery::ProfileConfig profile_config(const settings::Settings& s,
                                                  const std::string& profile);

  private:
    Outbox(std::filesystem::path state_dir, const Clock& clock, Random& rng);
    Result<delivery::SmtpEndpoint> endpoint(const std::string& profile);

    std::filesystem::path state_dir_;
    const Clock& clock_;
    Random& rng_;
    std::unique_ptr<store::Store> store_;
    spool::PosixFileOps ops_;
    std::unique_ptr<spool::Spool> spool_;

    std::mutex mu_;  // guards rt_ and ca_files_
    // Replaced by reload() when the settings changed; a batch under way keeps
    // the one it started with.
    std::shared_ptr<Runtime> rt_;
    std::vector<std::filesystem::path> ca_files_;
    std::map<std::string, TimePoint> warned_;  // keep_alive(): last warning logged

    std::unique_ptr<delivery::SmtpTransport> transport_;
    std::unique_ptr<delivery::Engine> engine_;
};

}  // namespace pb::service
