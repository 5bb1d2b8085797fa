// The SMTP relay inside serve (serve.hpp): listeners from relay.listen (or
// --relay) and relay.listen_tls, device logins checked against the store's
// relay-user accounts with a cache, and intake into the outbox. Delivery
// reports for relayed mail that failed for good are the spool's
// (relay/dsn.hpp), made wherever the job fails.
#include <fmt/format.h>

#include <mutex>
#include <set>

#include "cli/serve.hpp"
#include "core/crypto.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "relay/dsn.hpp"  // reporting_host()
#include "relay/intake.hpp"
#include "relay/logins.hpp"
#include "relay/server.hpp"
#include "storage/backends.hpp"

namespace pb::cli {
namespace {

// The relay's settings: relay.* from `cfg`, `listen` (from --relay) over
// relay.listen, and serve's certificate.
Result<relay::ServerOptions> relay_options(const ServeEnv& env, const settings::GlobalConfig& cfg,
                                           const std::string& listen, const std::string& hostname) {
    relay::ServerOptions o;
    o.listen = listen.empty() ? cfg.relay_listen : listen;
    o.listen_tls = cfg.relay_listen_tls;
    auto networks = relay::Networks::parse(cfg.relay_allowed_networks);
    if (!networks) return std::move(networks).error();
    o.allowed = std::move(*networks);
    o.cert = env.cert;
    o.key = env.key;
    o.tls_min_version = cfg.relay_tls_min_version;
    o.max_connections = cfg.relay_max_connections;
    o.max_connections_per_client = cfg.relay_max_connections_per_client;
    o.spill_dir = std::filesystem::path(env.ctx.state_dir) / "relay";
    o.log = env.log;
    o.session.hostname = hostname;
    o.session.max_message_size = cfg.relay_max_message_size;
    o.session.max_recipients = cfg.relay_max_recipients;
    o.session.require_tls = cfg.relay_require_tls;
    o.session.bare_lf = cfg.relay_bare_lf == settings::BareLf::reject ? relay::BareLf::reject
                                                                      : relay::BareLf::normalize;
    if (o.allowed.empty() && !o.session.require_tls)
        log::write(log::Level::warning,
                   "relay: relay.require_tls is false: device passwords may cross the network in "
                   "clear text");
    return o;
}

// Each listener as it is now, on serve's log (and as JSON events with --json).
void say_listening(const ServeEnv& env, relay::Server& server) {
    for (auto [address, tls] :
         {std::pair{server.address(), false}, std::pair{server.address_tls(), true}}) {
        if (!address) continue;
        env.log(fmt::format("relay: listening on {}{}", *address, tls ? " (implicit TLS)" : ""));
        if (env.ctx.json) {
            nlohmann::json j{{"event", "relay_listening"}, {"address", *address}};
            if (tls) j["tls"] = true;
            Context::emit(j);
        }
    }
}

class Relay final : public Background, public relay::Backend {
  public:
    Relay(ServeEnv& env, std::unique_ptr<store::Store> store, std::string hostname,
          std::string listen)
        : env_(env),
          hostname_(std::move(hostname)),
          listen_(std::move(listen)),
          rng_(env.ctx.rng),
          store_(std::move(store)),
          logins_(
              [this](const std::string& user) -> Result<std::optional<std::string>> {
                  std::lock_guard lock(store_mu_);
                  return store_->credential("relay-user", user);
              },
              [](const Secret& password, std::string_view stored) {
                  return verify_password(password, stored);
              },
              rng_, env.ctx.clock, hash_password(Secret(random_hex(rng_, 16)), rng_)),
          intake_(env.outbox.intake(), env.log) {}

    ~Relay() override {
        server_.reset();  // stops listening and joins its threads
    }

    Result<relay::LoginVerdict> check_login(const std::string& client, const std::string& user,
                                            const Secret& password) override {
        auto v = logins_.check(client, user, password);
        if (!v) return v;
        switch (v->kind) {
            case relay::LoginVerdict::ok:
                // The length of a stored password is not known until a
                // device uses it: warn once per account and process.
                if (password.reveal().size() < relay::kMinDevicePassword) {
                    std::lock_guard lock(warned_mu_);
                    if (warned_short_.insert(user).second)
                        log::write(
                            log::Level::warning,
                            fmt::format("relay: device account '{}' has a password shorter than {} "
                                        "characters; set a longer one with relay-users add",
                                        user, relay::kMinDevicePassword));
                }
                break;
            case relay::LoginVerdict::bad:
                env_.metrics.relay_auth_failure();
                env_.log(fmt::format("relay: failed login for device account '{}' from {}",
                                     escaped(user), client));
                break;
            case relay::LoginVerdict::locked:
                env_.log(fmt::format(
                    "relay: login for '{}' from {} refused unchecked: too many failed logins",
                    escaped(user), client));
                break;
            case relay::LoginVerdict::busy:
                break;
        }
        return v;
    }
    std::string submit(const relay::Envelope& envelope, const relay::Arrival& arrival,
                       ByteSource& message) override {
        std::string reply = intake_.submit(envelope, arrival, message);
        env_.metrics.relay_message(reply.starts_with('2'));
        return reply;
    }
    void connection_opened(const std::string&) override { env_.metrics.relay_connection_opened(); }
    void connection_closed(const std::string& client, const std::string& user,
                           const std::vector<std::string>& replies) override {
        env_.metrics.relay_connection_closed();
        if (replies.empty()) return;
        // The session as a whole, after each job's own "accepted" line.
        std::string jobs;
        std::size_t refused = 0;
        for (const auto& r : replies) {
            constexpr std::string_view queued = "queued as ";
            if (const auto at = r.find(queued); r.starts_with('2') && at != std::string::npos)
                jobs += (jobs.empty() ? "" : ",") + r.substr(at + queued.size());
            else
                ++refused;
        }
        env_.log(fmt::format("relay: session client={} user={} jobs={} refused={}", client,
                             user.empty() ? "-" : escaped(user), jobs.empty() ? "-" : jobs,
                             refused));
    }

    Result<void> reload_certificate(const std::filesystem::path& cert,
                                    const std::filesystem::path& key) override {
        return server_->reload_certificate(cert, key);
    }

    void drain(std::chrono::steady_clock::time_point deadline) override {
        server_->drain(deadline);
    }

    Result<void> reconfigure(const settings::GlobalConfig& cfg) override {
        auto o = relay_options(env_, cfg, listen_, hostname_);
        if (!o) return std::move(o).error();
        const auto before = std::pair{server_->address(), server_->address_tls()};
        auto r = server_->reconfigure(*o);
        if (std::pair{server_->address(), server_->address_tls()} != before)
            say_listening(env_, *server_);
        return r;
    }

    Result<void> start(relay::ServerOptions options) {
        auto server = relay::Server::start(std::move(options), *this);
        if (!server) return std::move(server).error();
        server_ = std::move(*server);
        return {};
    }
    relay::Server& server() { return *server_; }

  private:
    ServeEnv& env_;
    const std::string hostname_;
    const std::string listen_;  // --relay, over relay.listen
    LockedRandom rng_;
    std::mutex warned_mu_;
    std::set<std::string> warned_short_;  // accounts warned about a short password
    std::mutex store_mu_;                 // the relay's own connection, shared by its workers
    std::unique_ptr<store::Store> store_;
    relay::Logins logins_;
    relay::Intake intake_;
    std::unique_ptr<relay::Server> server_;
};

}  // namespace

Result<std::unique_ptr<Background>> start_relay(ServeEnv& env, const settings::GlobalConfig& cfg,
                                                const std::string& listen) {
    if ((listen.empty() ? cfg.relay_listen : listen).empty() && cfg.relay_listen_tls.empty())
        return std::unique_ptr<Background>{};
    const std::string hostname = relay::reporting_host();
    auto o = relay_options(env, cfg, listen, hostname);
    if (!o) return std::move(o).error();

    // The relay's own connection to the state: its workers check logins
    // while Web Config's thread uses env.store.
    auto store =
        storage::open_store(env.ctx.state_dir, env.ctx.rng, env.ctx.clock, env.store_options);
    if (!store) return std::move(store).error();
    auto relay = std::make_unique<Relay>(env, std::move(*store), hostname, listen);
    if (auto r = relay->start(std::move(*o)); !r) return std::move(r).error();
    say_listening(env, relay->server());
    return std::unique_ptr<Background>(std::move(relay));
}

}  // namespace pb::cli
