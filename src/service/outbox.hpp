// The outbox: the composition root that every submitter and every deliverer
// shares. It picks the parts and wires them; the work is theirs:
//
//   backends   the settings store and the spool (open_backends(), over
//              storage/backends.hpp: the seam a second backend plugs into)
//   intake     intake/intake.hpp, the one way a message enters; the outbox
//              answers its questions about profiles (intake::Profiles)
//   transports one per kind, each profile's picked by its `transport`
//              setting: smtp, graph (Microsoft Graph), auto (SMTP, and
//              Graph from the first 5.7.139 on, remembered per profile)
//   engine     delivery/engine.hpp, endpoints resolved from the current
//              settings for every batch
//   runtime    service/runtime.hpp: settings, sign-ins, tokens
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
#include "delivery/graph_transport.hpp"
#include "delivery/smtp_transport.hpp"
#include "intake/intake.hpp"
#include "observe/delivery_log.hpp"
#include "relay/dsn.hpp"
#include "service/runtime.hpp"
#include "spool/file_ops.hpp"
#include "spool/spool.hpp"
#include "store/store.hpp"

namespace pb::service {

using intake::kSignInMessage;

struct OutboxOptions {
    store::Options store;  // the key (POSTBRIDGE_KEY) when not the key file
    // Where the engine's own failures go (a database error while recording a
    // result). Default: standard error.
    std::function<void(const Error&)> on_error;
    // Told of the engine's events (delivery/events.hpp); not owned, outlives
    // the outbox. Null: nobody listens.
    delivery::Observer* observer = nullptr;
    // The delivery log (observe/delivery_log.hpp) and notes of what the
    // outbox does by itself (a relay job's delivery report). Default: the
    // process's log (core/log.hpp: standard error for serve, the system log
    // for the other commands).
    std::function<void(std::string_view)> log = {};
};

// Where the outbox keeps its state: settings, secrets and tokens in the
// store, jobs in the spool.
struct Backends {
    std::unique_ptr<store::Store> store;
    std::unique_ptr<spool::FileOps> file_ops;  // the spool's; outlives it
    std::unique_ptr<spool::Spool> spool;
};
// The backends of the state (storage/backends.hpp).
Result<Backends> open_backends(const std::filesystem::path& state_dir, const Clock& clock,
                               Random& rng, const store::Options& options);

class Outbox final : public intake::Profiles {
  public:
    static Result<std::unique_ptr<Outbox>> open(const std::filesystem::path& state_dir,
                                                const Clock& clock, Random& rng,
                                                OutboxOptions options = {});
    ~Outbox() override;
    Outbox(const Outbox&) = delete;
    Outbox& operator=(const Outbox&) = delete;

    // Reads the settings again; a running serve follows `config set` from
    // its next batch on.
    Result<void> reload();
    // The settings now, parsed. Shared: another thread's reload() replaces
    // the outbox's, not this one.
    std::shared_ptr<const settings::Config> config() override;
    Result<void> check_profile(std::string_view profile) override;
    // nullopt when the profile can send now; else 360 (never signed in or
    // signed out), 361 (expired) or 370 (sign in again). Profiles that do
    // not use OAuth 2.0 always can.
    std::optional<Errc> sign_in_problem(const std::string& profile) override;

    // The one way in for messages.
    intake::Intake& intake() { return *intake_; }

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

    spool::Spool& spool() { return *backends_.spool; }
    delivery::Engine& engine() { return *engine_; }
    store::Store& store() { return *backends_.store; }
    const std::filesystem::path& state_dir() const { return state_dir_; }

    // The transport a profile's mail leaves by now: its `transport`
    // setting, except that `auto` is graph once SMTP AUTH was found off for
    // it (until a new sign-in or a changed SMTP server setting).
    settings::Transport transport_in_effect(const std::string& profile);
    // auto: remembers that the server said SMTP AUTH is off for the profile.
    void remember_smtp_auth_off(const std::string& profile);

    // The delivery settings of a profile, as the engine reads them.
    static delivery::ProfileConfig profile_config(const settings::ProfileConfig& config);

  private:
    Outbox(std::filesystem::path state_dir, const Clock& clock, Random& rng);
    Result<delivery::SmtpEndpoint> endpoint(const std::string& profile);
    Result<delivery::GraphEndpoint> graph_endpoint(const std::string& profile);

    std::filesystem::path state_dir_;
    const Clock& clock_;
    Random& rng_;
    Backends backends_;

    std::mutex mu_;  // guards rt_ and ca_files_
    // Replaced by reload() when the settings changed; a batch under way keeps
    // the one it started with.
    std::shared_ptr<Runtime> rt_;
    std::vector<std::filesystem::path> ca_files_;
    std::map<std::string, TimePoint> warned_;  // keep_alive(): last warning logged

    std::unique_ptr<relay::DsnReporter> reporter_;  // asked by the spool
    std::unique_ptr<observe::DeliveryLog> delivery_log_;
    observe::Observers observers_;                    // the delivery log, then the caller's
    std::unique_ptr<delivery::Transport> transport_;  // routes each profile to its kind's
    std::unique_ptr<intake::Intake> intake_;
    std::unique_ptr<delivery::Engine> engine_;
};

}  // namespace pb::service
