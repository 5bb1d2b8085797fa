// The SMTP relay inside serve (serve.hpp): listeners from relay.listen (or
// --relay) and relay.listen_tls, device logins checked against the store's
// relay-user accounts with a cache, intake into the outbox, and the
// delivery reports for relayed mail that failed for good.
#include <fmt/format.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "cli/serve.hpp"
#include "core/crypto.hpp"
#include "core/text.hpp"
#include "relay/dsn.hpp"
#include "relay/intake.hpp"
#include "relay/logins.hpp"
#include "relay/server.hpp"

namespace pb::cli {
namespace {

constexpr std::chrono::seconds kDsnInterval{5};

std::string host_name() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "postbridge";
    return buf;
}

class Relay final : public Background, public relay::Backend {
  public:
    Relay(ServeEnv& env, std::unique_ptr<store::Store> store, const std::string& hostname)
        : env_(env),
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
          intake_(env.outbox.intake(), env.log),
          dsn_(env.outbox.intake(), env.outbox.spool(),
               std::filesystem::path(env.ctx.state_dir) / "relay" / "dsn-reported", hostname,
               env.ctx.clock, rng_, env.log) {}

    ~Relay() override {
        dsn_thread_.request_stop();
        if (dsn_thread_.joinable()) dsn_thread_.join();
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
                        env_.log(
                            fmt::format("relay: device account '{}' has a password shorter than {} "
                                        "characters; set a longer one with relay-users add",
                                        user, relay::kMinDevicePassword));
                }
                break;
            case relay::LoginVerdict::bad:
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
    std::string submit(const relay::Envelope& envelope, const std::string& client,
                       ByteSource& message) override {
        return intake_.submit(envelope, client, message);
    }

    Result<void> start(relay::ServerOptions options) {
        auto server = relay::Server::start(std::move(options), *this);
        if (!server) return std::move(server).error();
        server_ = std::move(*server);
        dsn_thread_ = std::jthread([this](std::stop_token stop) {
            std::mutex mu;
            std::condition_variable_any cv;
            while (!stop.stop_requested()) {
                dsn_.scan();
                std::unique_lock lock(mu);
                cv.wait_for(lock, stop, kDsnInterval, [] { return false; });
            }
        });
        return {};
    }
    relay::Server& server() { return *server_; }

  private:
    ServeEnv& env_;
    LockedRandom rng_;
    std::mutex warned_mu_;
    std::set<std::string> warned_short_;  // accounts warned about a short password
    std::mutex store_mu_;                 // the relay's own connection, shared by its workers
    std::unique_ptr<store::Store> store_;
    relay::Logins logins_;
    relay::Intake intake_;
    relay::DsnNotifier dsn_;
    std::unique_ptr<relay::Server> server_;
    std::jthread dsn_thread_;
};

}  // namespace

Result<std::unique_ptr<Background>> start_relay(ServeEnv& env, const std::string& listen) {
    const settings::GlobalConfig& cfg = env.cfg;
    relay::ServerOptions o;
    o.listen = listen.empty() ? cfg.relay_listen : listen;
    o.listen_tls = cfg.relay_listen_tls;
    if (o.listen.empty() && o.listen_tls.empty()) return std::unique_ptr<Background>{};

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
    const std::string hostname = host_name();
    o.session.hostname = hostname;
    o.session.max_message_size = cfg.relay_max_message_size;
    o.session.max_recipients = cfg.relay_max_recipients;
    o.session.require_tls = cfg.relay_require_tls;
    o.session.bare_lf = cfg.relay_bare_lf == settings::BareLf::reject ? relay::BareLf::reject
                                                                      : relay::BareLf::normalize;
    if (o.allowed.empty() && !o.session.require_tls)
        env.log(
            "relay: relay.require_tls is false: device passwords may cross the network in "
            "clear text");

    // The relay's own connection to the state: its workers check logins
    // while Web Config's thread uses env.store.
    auto store =
        store::Store::open(env.ctx.state_dir, env.ctx.rng, env.ctx.clock, env.store_options);
    if (!store) return std::move(store).error();
    auto relay = std::make_unique<Relay>(env, std::move(*store), hostname);
    if (auto r = relay->start(std::move(o)); !r) return std::move(r).error();

    for (auto [address, tls] : {std::pair{relay->server().address(), false},
                                std::pair{relay->server().address_tls(), true}}) {
        if (!address) continue;
        env.log(fmt::format("relay: listening on {}{}", *address, tls ? " (implicit TLS)" : ""));
        if (env.ctx.json) {
            nlohmann::json j{{"event", "relay_listening"}, {"address", *address}};
            if (tls) j["tls"] = true;
            Context::emit(j);
        }
    }
    return std::unique_ptr<Background>(std::move(relay));
}

}  // namespace pb::cli
