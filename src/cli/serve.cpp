// Command: postbridge serve. The long-running side of postbridge: Web Config
// (HTTPS on web.listen), the delivery workers, keep-alive of sign-ins, the
// sign-ins started with `signin --no-wait`, and the relay (serve.hpp). One
// `serve` per state directory, held by a flock on STATE/serve.lock, which the
// kernel drops when the process dies, so a crash never blocks a restart.
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "cli/serve.hpp"
#include "core/crypto.hpp"
#include "core/host_port.hpp"
#include "core/settings.hpp"
#include "delivery/locks.hpp"
#include "oauth/sign_in.hpp"
#include "service/device_sign_in.hpp"
#include "service/pending.hpp"
#include "service/tokens.hpp"
#include "web/certificate.hpp"
#include "web/server.hpp"

namespace pb::cli {
namespace {

struct ServeArgs {
    std::string web;    // ADDR:PORT, overrides web.listen
    std::string relay;  // ADDR:PORT, overrides relay.listen
};

// "127.0.0.1:8443" / "[::1]:8443" -> host, port. The value was validated by
// the schema (or is checked here when it came from --web).
Result<std::pair<std::string, std::uint16_t>> split_listen(const std::string& v) {
    auto hp = parse_host_port(v);
    if (!hp)
        return fail(Errc::invalid_input,
                    fmt::format("'{}' is not ADDR:PORT with a port of 0..65535 (e.g. "
                                "127.0.0.1:8443 or [::1]:8443)",
                                v));
    return std::pair{std::move(hp->host), hp->port};
}

void log_line(std::string_view line) {
    std::cerr << fmt::format("{} postbridge: {}\n", format_rfc3339(SystemClock{}.now()), line)
              << std::flush;
}

// At first start: a random administrator password, of which only the hash is
// kept. Returns it to be shown once, or nullopt when one was already set.
Result<std::optional<Secret>> first_start_password(store::Store& store, Random& rng) {
    auto existing = store.credential("admin", "admin");
    if (!existing) return std::move(existing).error();
    if (*existing) return std::optional<Secret>{};
    Secret password(random_base64url(rng, 15));  // 120 bits, 20 characters
    if (auto r = store.put_credential("admin", "admin", hash_password(password, rng)); !r)
        return std::move(r).error();
    return std::optional<Secret>{std::move(password)};
}

// The sign-ins started with `signin --no-wait`: that command showed the code
// and exited, leaving the device code in the pending record; serve polls
// the provider for it, one thread per profile, and stores the tokens. A
// newer sign-in of the profile (another record nonce) ends the old poll.
class PendingSignIns {
  public:
    PendingSignIns(Context& ctx, service::Outbox& outbox, std::function<void(std::string_view)> log)
        : ctx_(ctx), outbox_(outbox), log_(std::move(log)) {}
    ~PendingSignIns() { flows_.clear(); }  // stops and joins before the members they use go

    void poll() {
        std::erase_if(flows_, [](const auto& f) { return f.second.done->load(); });
        auto names = outbox_.profiles();
        if (!names) return;
        for (const auto& profile : *names) {
            auto p = service::get_pending(outbox_.store(), profile);
            if (!p || !*p || !(*p)->device_code) continue;
            if (auto it = flows_.find(profile); it != flows_.end()) {
                if (it->second.nonce == (*p)->nonce) continue;
                flows_.erase(it);  // a newer sign-in: the old poll stops
            }
            Flow& f = flows_[profile];
            f.nonce = (*p)->nonce;
            f.thread = std::jthread(
                [this, profile, record = std::move(**p), done = f.done](std::stop_token stop) {
                    run(stop, profile, record);
                    *done = true;
                });
        }
    }

  private:
    struct Flow {
        std::string nonce;
        std::shared_ptr<std::atomic<bool>> done = std::make_shared<std::atomic<bool>>(false);
        std::jthread thread;
    };

    void run(std::stop_token stop, const std::string& profile,
             const service::PendingSignIn& record) {
        store::Store& store = outbox_.store();
        const auto config = outbox_.config();
        const auto& cfg = config->profile(profile);
        auto log_failure = [&](const Error& e) {
            log_(fmt::format("sign-in of {} failed: {}", profile, e.describe()));
        };
        // Settings that make no client now make none at the next poll either.
        auto failed = [&](const Error& e) {
            service::erase_pending(store, profile, record.nonce);
            log_failure(e);
        };
        auto http = oauth::CurlHttpClient::create(service::curl_options(cfg, store));
        if (!http) return failed(http.error());
        auto provider = service::provider_for(cfg, profile, **http);
        if (!provider) return failed(provider.error());
        auto client = service::client_for(cfg, store, profile, std::move(*provider));
        if (!client) return failed(client.error());

        oauth::CancellableWaiter waiter(ctx_.clock);
        std::stop_callback on_stop(stop, [&waiter] { waiter.cancel(); });
        service::StorePendingRecords records(store);
        service::SealedTokenStore tokens(store);
        const auto out = service::resume_device_sign_in(
            profile, *client, record,
            {**http, ctx_.clock, waiter, records, tokens, ctx_.state_dir});
        using End = service::DeviceSignInOutcome::End;
        switch (out.end) {
            case End::signed_in:
                // Held jobs of the profile go out by themselves: delivery
                // sees the sign-in on its next pass.
                log_(fmt::format("{} signed in{}", profile,
                                 out.account.empty() ? std::string{} : " as " + out.account));
                return;
            case End::failed:
                return log_failure(*out.error);
            case End::replaced:  // the newer sign-in's own run reports
            case End::stopped:   // the record stays for the next serve
            case End::handed_over:
                return;
        }
    }

    Context& ctx_;
    service::Outbox& outbox_;
    std::function<void(std::string_view)> log_;
    std::map<std::string, Flow> flows_;
};

// Delivery: takes the delivery lock (a `send --wait` of another process may
// hold it for a moment), puts back jobs a crash left in `sending`, then
// delivers as jobs come due until asked to stop.
void deliver(std::stop_token stop, const std::string& state_dir, service::Outbox& outbox,
             const std::function<void(std::string_view)>& log) {
    std::optional<delivery::LockFile> lock;
    while (!stop.stop_requested() && !lock) {
        auto got =
            delivery::LockFile::acquire(delivery::delivery_lock_path(state_dir),
                                        delivery::LockFile::Mode::wait, std::chrono::seconds{1});
        if (!got) {
            log(fmt::format("delivery: {}", got.error().describe()));
            return;
        }
        if (*got) lock.emplace(std::move(**got));
    }
    if (!lock) return;
    if (auto n = outbox.spool().recover(); !n)
        log(fmt::format("delivery: {}", n.error().describe()));
    else if (*n > 0)
        log(fmt::format("delivery: {} job(s) left by a crash queued again", *n));
    outbox.engine().run(stop);
}

// Every two seconds: follow `config set` and pick up `signin --no-wait`;
// every ten: the keep-alive pass (it only reads state unless a refresh is
// due, so a short keepalive_interval takes effect as set).
void housekeeping(std::stop_token stop, service::Outbox& outbox, PendingSignIns& pending,
                  const std::function<void(std::string_view)>& log) {
    std::mutex mu;
    std::condition_variable_any cv;
    auto last_keepalive = std::chrono::steady_clock::time_point{};
    while (!stop.stop_requested()) {
        if (auto r = outbox.reload(); !r) log(fmt::format("settings: {}", r.error().describe()));
        pending.poll();
        if (std::chrono::steady_clock::now() - last_keepalive >= std::chrono::seconds{10}) {
            outbox.keep_alive([&log](std::string_view w) { log(fmt::format("sign-in: {}", w)); });
            last_keepalive = std::chrono::steady_clock::now();
        }
        std::unique_lock lock(mu);
        cv.wait_for(lock, stop, std::chrono::seconds{2}, [] { return false; });
    }
}

// Each delivery worker holds a batch's message files open and the next
// batch's too (up to 100 descriptors), and delivery.concurrency goes up to
// 100, with relay and web clients besides: the soft limit of 1024 is too
// low, the hard one is what the administrator allows.
void raise_open_files_limit() {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max) return;
    lim.rlim_cur = lim.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &lim);
}

int serve(Context& ctx, const ServeArgs& args) {
    raise_open_files_limit();
    auto st = ctx.store();
    if (!st) return ctx.report(st.error());
    store::Store& store = **st;

    // Held for serve's whole life: tells the other commands that serve's
    // workers deliver (delivery/locks.hpp).
    const auto serve_lock = delivery::serve_lock_path(ctx.state_dir);
    auto lock = delivery::LockFile::acquire(serve_lock, delivery::LockFile::Mode::try_once);
    if (!lock) return ctx.report(lock.error());
    if (!*lock)
        return ctx.report(
            fail(Errc::invalid_input,
                 fmt::format("postbridge serve is already running on {} ({} is locked)",
                             ctx.state_dir, serve_lock.string())));

    auto loaded = store.load_settings();
    if (!loaded) return ctx.report(loaded.error());
    const settings::GlobalConfig cfg = loaded->global_config();

    const std::string listen = args.web.empty() ? cfg.web_listen : args.web;
    auto where = split_listen(listen);
    if (!where) return ctx.report(where.error());
    const auto& [host, port] = *where;
    const bool tls = cfg.web_tls;
    if (!tls && !settings::is_loopback_host(host))
        return ctx.report(fail(
            Errc::invalid_input,
            fmt::format("web.tls is false, so Web Config would send the administrator password "
                        "in clear text: plain HTTP is allowed on a loopback address only, "
                        "not on {} (set web.tls true, or listen on 127.0.0.1)",
                        host)));

    store::Options options;
    if (const char* k = std::getenv("POSTBRIDGE_KEY"); k != nullptr && *k != '\0')
        options.key_base64 = k;

    // postbridge's certificate: Web Config's HTTPS and the relay's STARTTLS.
    std::filesystem::path cert_file = cfg.web_cert;
    std::filesystem::path key_file = cfg.web_key;
    if (cert_file.empty() != key_file.empty())
        return ctx.report(fail(Errc::invalid_input, "web.cert and web.key must be set together"));
    if (cert_file.empty()) {
        auto made = web::ensure_self_signed(ctx.state_dir, {host});
        if (!made) return ctx.report(made.error());
        if (made->created)
            log_line(fmt::format("made a self-signed certificate: {}", made->cert.string()));
        cert_file = made->cert;
        key_file = made->key;
    }

    auto password = first_start_password(store, ctx.rng);
    if (!password) return ctx.report(password.error());

    auto outbox = service::Outbox::open(
        ctx.state_dir, ctx.clock, ctx.rng,
        {options, [](const Error& e) { log_line(fmt::format("delivery: {}", e.describe())); }});
    if (!outbox) return ctx.report(outbox.error());

    ServeEnv env{ctx, store, options, **outbox, cfg, log_line, cert_file, key_file};
    auto front = make_web_front(env);
    if (!front) return ctx.report(front.error());

    web::ServerOptions server;
    server.host = host;
    server.port = port;
    server.tls = tls;
    server.log = log_line;
    server.cert = cert_file;
    server.key = key_file;
    auto srv = web::Server::create(server,
                                   [&front](const web::Request& r) { return (*front)->handle(r); });
    if (!srv) return ctx.report(srv.error());

    auto relay = start_relay(env, args.relay);
    if (!relay) return ctx.report(relay.error());

    PendingSignIns pending(ctx, **outbox, log_line);
    // Declared after what they use, so they stop (and are joined) first.
    std::jthread delivery_thread(
        [&](std::stop_token stop) { deliver(stop, ctx.state_dir, **outbox, log_line); });
    std::jthread housekeeping_thread(
        [&](std::stop_token stop) { housekeeping(stop, **outbox, pending, log_line); });

    const std::string shown_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    const std::string url =
        fmt::format("{}://{}:{}/", tls ? "https" : "http", shown_host, (*srv)->port());
    if (ctx.json) {
        nlohmann::json j{{"event", "listening"}, {"url", url}};
        if (*password) j["admin_password"] = std::string((**password).reveal());
        Context::emit(j);
    } else if (*password) {
        std::cout << fmt::format("Web Config: {} \u2014 administrator password (shown once): {}\n",
                                 url, (**password).reveal())
                  << std::flush;
    } else {
        std::cout << fmt::format("Web Config: {}\n", url) << std::flush;
    }
    (*srv)->run();
    housekeeping_thread.request_stop();
    delivery_thread.request_stop();
    housekeeping_thread.join();
    delivery_thread.join();
    relay->reset();
    log_line("stopped");
    return Exit::ok;
}

}  // namespace

void add_serve_commands(CLI::App& app, Context& ctx) {
    auto a = std::make_shared<ServeArgs>();
    auto* cmd = app.add_subcommand(
        "serve", "Run Web Config, the delivery workers, keep-alive and the relay");
    cmd->add_option("--web", a->web, "ADDR:PORT for Web Config (default: web.listen)");
    cmd->add_option("--relay", a->relay, "ADDR:PORT for the SMTP relay (default: relay.listen)");
    cmd->callback([&ctx, a] { ctx.exit_status = serve(ctx, *a); });
}

}  // namespace pb::cli
