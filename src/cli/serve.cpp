// Command: postbridge serve. The long-running side of postbridge: Web Config
// (HTTPS on web.listen), the delivery workers, keep-alive of sign-ins, the
// sign-ins started with `signin --no-wait`, and the relay (serve.hpp). One
// `serve` per state directory, held by a flock on STATE/serve.lock, which the
// kernel drops when the process dies, so a crash never blocks a restart.
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <future>
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
#include "core/fs.hpp"
#include "core/host_port.hpp"
#include "core/log.hpp"
#include "core/notify.hpp"
#include "core/settings.hpp"
#include "delivery/locks.hpp"
#include "intake/local_submission.hpp"
#include "oauth/sign_in.hpp"
#include "service/alerts.hpp"
#include "service/device_sign_in.hpp"
#include "service/pending.hpp"
#include "service/tokens.hpp"
#include "web/certificate.hpp"
#include "web/server.hpp"

namespace pb::cli {
namespace {

struct ServeArgs {
    std::string web;     // ADDR:PORT, overrides web.listen
    std::string relay;   // ADDR:PORT, overrides relay.listen
    std::string submit;  // the local submission socket, over POSTBRIDGE_SUBMIT_SOCKET
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

// serve's log (core/log.hpp): what happens at info, what needs the
// administrator at warning, what stops a part at error.
const auto log_info = log::at(log::Level::info);
const auto log_warning = log::at(log::Level::warning);
const auto log_error = log::at(log::Level::error);

// Where the first start leaves the administrator password (0600).
constexpr const char* kAdminPasswordFile = "admin-password";

// postbridge's certificate, for Web Config's HTTPS and the relay's STARTTLS:
// web.cert and web.key, or else the self-signed pair made at first start
// (for `host`).
Result<std::pair<std::filesystem::path, std::filesystem::path>> certificate_files(
    const settings::GlobalConfig& cfg, const std::string& state_dir, const std::string& host) {
    if (cfg.web_cert.empty() != cfg.web_key.empty())
        return fail(Errc::invalid_input, "web.cert and web.key must be set together");
    if (!cfg.web_cert.empty())
        return std::pair{std::filesystem::path(cfg.web_cert), std::filesystem::path(cfg.web_key)};
    auto made = web::ensure_self_signed(state_dir, {host});
    if (!made) return std::move(made).error();
    if (made->created)
        log::write(log::Level::notice,
                   fmt::format("made a self-signed certificate: {}", made->cert.string()));
    return std::pair{made->cert, made->key};
}

// At first start: a random administrator password, of which only the hash is
// kept. Under systemd standard output is the journal, which every member of
// group adm reads: the password goes to a file that only the service's user
// reads (written before the hash is stored, so a failed write leaves the next
// start to try again). Returns the file, or nullopt when a password was set.
Result<std::optional<std::filesystem::path>> first_start_password(store::Store& store, Random& rng,
                                                                  const std::string& state_dir) {
    auto existing = store.credential("admin", "admin");
    if (!existing) return std::move(existing).error();
    if (*existing) return std::optional<std::filesystem::path>{};
    Secret password(random_base64url(rng, 15));  // 120 bits, 20 characters
    const auto file = std::filesystem::path(state_dir) / kAdminPasswordFile;
    if (auto w = write_file_atomic(file, std::string(password.reveal()) + "\n", 0600); !w)
        return std::move(w).error();
    if (auto r = store.put_credential("admin", "admin", hash_password(password, rng)); !r)
        return std::move(r).error();
    return std::optional<std::filesystem::path>{file};
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
        const auto out =
            service::resume_device_sign_in(profile, *client, record,
                                           {**http, ctx_.clock, waiter, records, tokens,
                                            service::registered_address(store, profile)});
        using End = service::DeviceSignInOutcome::End;
        switch (out.end) {
            case End::signed_in:
                // Logged by the token store ("sign-in: ... signed in"). Held
                // jobs of the profile go out by themselves: delivery sees the
                // sign-in on its next pass.
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
        log::write(log::Level::notice,
                   fmt::format("delivery: {} job(s) left by a crash queued again", *n));
    outbox.engine().run(stop);
}

// How often the administrator's alerts are looked at (service/alerts.hpp);
// POSTBRIDGE_ALERT_INTERVAL (seconds) for tests.
std::chrono::seconds alert_interval() {
    if (const char* v = std::getenv("POSTBRIDGE_ALERT_INTERVAL"); v != nullptr && *v != '\0')
        return std::chrono::seconds{std::max(1, std::atoi(v))};
    return std::chrono::seconds{60};
}
const std::chrono::seconds kAlertInterval = alert_interval();

// Every two seconds: follow `config set` and pick up `signin --no-wait`;
// every ten: the keep-alive pass (it only reads state unless a refresh is
// due, so a short keepalive_interval takes effect as set); every minute:
// the alerts.
void housekeeping(std::stop_token stop, service::Outbox& outbox, PendingSignIns& pending,
                  service::Alerts& alerts, const std::function<void(std::string_view)>& log) {
    std::mutex mu;
    std::condition_variable_any cv;
    auto last_keepalive = std::chrono::steady_clock::time_point{};
    auto last_alerts = std::chrono::steady_clock::time_point{};
    while (!stop.stop_requested()) {
        if (auto r = outbox.reload(); !r)
            log::write(log::Level::warning, fmt::format("settings: {}", r.error().describe()));
        pending.poll();
        if (std::chrono::steady_clock::now() - last_keepalive >= std::chrono::seconds{10}) {
            outbox.keep_alive([&log](std::string_view w) { log(fmt::format("sign-in: {}", w)); });
            last_keepalive = std::chrono::steady_clock::now();
        }
        // After keep-alive, which may have cleared a lapse.
        if (std::chrono::steady_clock::now() - last_alerts >= kAlertInterval) {
            alerts.check();
            last_alerts = std::chrono::steady_clock::now();
        }
        std::unique_lock lock(mu);
        cv.wait_for(lock, stop, std::chrono::seconds{2}, [] { return false; });
    }
}

// The signals serve acts on, taken by one thread of its own (signalfd), so
// no other thread is ever interrupted by them: SIGHUP reloads, SIGTERM and
// SIGINT drain and stop. Blocked at serve's start, before any thread exists,
// so every thread inherits the mask.
sigset_t serve_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    return set;
}

// Waits for serve's signals until stopped; `on_signal` returns false to end
// the wait (a stop signal).
void take_signals(std::stop_token stop, const std::function<bool(int)>& on_signal) {
    const sigset_t set = serve_signals();
    const int sfd = ::signalfd(-1, &set, SFD_CLOEXEC);
    const int wake = ::eventfd(0, EFD_CLOEXEC);
    if (sfd < 0 || wake < 0) {
        log::write(log::Level::error, "signals: cannot open a signalfd or eventfd");
        if (sfd >= 0) ::close(sfd);
        if (wake >= 0) ::close(wake);
        return;
    }
    std::stop_callback on_stop(stop, [wake] {
        const std::uint64_t one = 1;
        (void)!::write(wake, &one, sizeof one);
    });
    for (bool go = true; go && !stop.stop_requested();) {
        pollfd fds[2] = {{sfd, POLLIN, 0}, {wake, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if ((fds[1].revents & POLLIN) != 0) break;
        signalfd_siginfo info{};
        if (::read(sfd, &info, sizeof info) != static_cast<ssize_t>(sizeof info)) continue;
        go = on_signal(static_cast<int>(info.ssi_signo));
    }
    ::close(sfd);
    ::close(wake);
}

// "STATUS=" for the service manager: what waits in the queue, counted by
// the database (one GROUP BY, not the jobs loaded).
std::string queue_status(service::Outbox& outbox) {
    auto counts = outbox.spool().count_by_state();
    if (!counts) return "queue: unknown (" + counts.error().describe() + ")";
    const auto n = [&](spool::JobState s) {
        const auto it = counts->find(std::string(spool::to_string(s)));
        return it == counts->end() ? std::int64_t{0} : it->second;
    };
    return fmt::format("queue: {} queued, {} sending, {} held", n(spool::JobState::queued),
                       n(spool::JobState::sending), n(spool::JobState::held));
}

// How long transactions in flight get after SIGTERM: below the unit's
// TimeoutStopSec (30 s), so systemd never has to kill serve.
constexpr std::chrono::seconds kDrainTime{20};

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
    const sigset_t signals = serve_signals();
    ::pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    raise_open_files_limit();
    const auto notifier = notify::Notifier::from_environment();
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
    const std::string host = where->first;
    const std::uint16_t port = where->second;
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

    auto certificate = certificate_files(cfg, ctx.state_dir, host);
    if (!certificate) return ctx.report(certificate.error());
    std::filesystem::path cert_file = certificate->first, key_file = certificate->second;

    auto password_file = first_start_password(store, ctx.rng, ctx.state_dir);
    if (!password_file) return ctx.report(password_file.error());
    if (*password_file)
        log::write(log::Level::notice,
                   fmt::format("first start: the administrator password of Web Config is in {}; "
                               "log in with it, change it, then delete the file",
                               (*password_file)->string()));

    // Counted from here on: /metrics (observe/metrics.hpp).
    observe::Metrics metrics;
    // Delivery retries a broken spool (read-only, full) at once and again:
    // one line a minute of it, with the count, not several a second.
    std::mutex repeats_mu;
    log::Repeats repeats(std::chrono::minutes{1});
    const auto on_delivery_error = [&](const Error& e) {
        std::lock_guard held(repeats_mu);
        if (auto line = repeats.pass(fmt::format("delivery: {}", e.describe()), ctx.clock.now()))
            log_error(*line);
    };
    auto outbox = service::Outbox::open(ctx.state_dir, ctx.clock, ctx.rng,
                                        {options, on_delivery_error, &metrics, log_info});
    if (!outbox) return ctx.report(outbox.error());

    ServeEnv env{ctx,       store,    options, **outbox,
                 cfg,       log_info, metrics, [] { return std::string{}; },
                 cert_file, key_file};
    auto front = make_web_front(env);
    if (!front) return ctx.report(front.error());

    web::ServerOptions server;
    server.host = host;
    server.port = port;
    server.tls = tls;
    server.log = log_info;
    server.cert = cert_file;
    server.key = key_file;
    auto srv = web::Server::create(server,
                                   [&front](const web::Request& r) { return (*front)->handle(r); });
    if (!srv) return ctx.report(srv.error());

    auto relay = start_relay(env, cfg, args.relay);
    if (!relay) return ctx.report(relay.error());
    // Web Config answers /readyz itself; the relay, when the settings want
    // one, must be listening (a SIGHUP may have failed to start it).
    std::atomic<bool> relay_up = static_cast<bool>(*relay);
    env.listeners = [&] {
        const auto now = (*outbox)->config()->global();
        const bool wanted = !(args.relay.empty() ? now.relay_listen : args.relay).empty() ||
                            !now.relay_listen_tls.empty();
        return wanted && !relay_up.load() ? std::string("the relay is not listening (see the log)")
                                          : std::string{};
    };

    // Local users' sendmail (intake/local_submission.hpp). Without it they
    // cannot send, but everything else works: a warning, not a failed start
    // (a development serve has no /run/postbridge).
    const std::string submit_path =
        args.submit.empty() ? intake::local::socket_path() : args.submit;
    auto local_submission = start_local_submission(env, submit_path);
    if (local_submission)
        log::write(log::Level::info,
                   fmt::format("local submission: listening on {}", (*local_submission)->path()));
    else
        log::write(log::Level::warning,
                   fmt::format("local submission is off: {}; users other than root and this "
                               "service's cannot use sendmail",
                               local_submission.error().describe()));

    PendingSignIns pending(ctx, **outbox, log_warning);
    // Declared after what they use, so they stop (and are joined) first.
    std::promise<void> delivery_done;
    auto delivered = delivery_done.get_future();
    std::jthread delivery_thread([&](std::stop_token stop) {
        deliver(stop, ctx.state_dir, **outbox, log_error);
        delivery_done.set_value();
    });
    service::Alerts alerts(**outbox, ctx.clock, log_warning);
    std::jthread housekeeping_thread(
        [&](std::stop_token stop) { housekeeping(stop, **outbox, pending, alerts, log_warning); });

    const auto url_of = [tls](const std::string& at, std::uint16_t bound) {
        const std::string shown = at.find(':') != std::string::npos ? "[" + at + "]" : at;
        return fmt::format("{}://{}:{}/", tls ? "https" : "http", shown, bound);
    };
    const std::string url = url_of(host, (*srv)->port());
    if (ctx.json) {
        nlohmann::json j{{"event", "listening"}, {"url", url}};
        if (*password_file) j["admin_password_file"] = (*password_file)->string();
        Context::emit(j);
    } else {
        std::cout << fmt::format("Web Config: {}\n", url) << std::flush;
    }
    // The service manager hears READY=1 now that the spool, Web Config and
    // the relay are up, then the queue (and WATCHDOG=1 when it watches).
    auto tell = [&notifier](const std::string& state) {
        if (auto r = notifier.send(state); !r)
            log::write(log::Level::warning, fmt::format("notify: {}", r.error().describe()));
    };
    tell("READY=1\nSTATUS=" + queue_status(**outbox));
    std::jthread notify_thread;
    if (notifier.enabled()) {
        notify_thread = std::jthread([&](std::stop_token stop) {
            const auto watchdog = notifier.watchdog_interval();
            const std::chrono::microseconds every =
                watchdog ? std::min<std::chrono::microseconds>(*watchdog, std::chrono::seconds{10})
                         : std::chrono::seconds{10};
            std::mutex mu;
            std::condition_variable_any cv;
            while (!stop.stop_requested()) {
                std::unique_lock guard(mu);
                if (cv.wait_for(guard, stop, every, [] { return false; }) || stop.stop_requested())
                    break;
                guard.unlock();
                tell(std::string(watchdog ? "WATCHDOG=1\n" : "") +
                     "STATUS=" + queue_status(**outbox));
            }
        });
    }

    // SIGHUP, on the signal thread: the settings, the certificate files and
    // the listeners as the settings now say, connections kept. What cannot
    // be applied is logged and the running part stays as it was.
    std::string web_listen = listen;
    const auto report = [](const Result<void>& r) {
        if (!r) log::write(log::Level::error, r.error().describe());
    };
    const auto reload = [&] {
        if (auto r = (*outbox)->reload(); !r)
            log::write(log::Level::warning, fmt::format("settings: {}", r.error().describe()));
        const settings::GlobalConfig now = (*outbox)->config()->global();

        if (auto files = certificate_files(now, ctx.state_dir, host); !files) {
            log::write(log::Level::error,
                       files.error().describe() + "; the certificate in use stays");
        } else {
            std::tie(cert_file, key_file) = *files;
            report((*srv)->reload_certificate(cert_file, key_file));
            if (*relay) report((*relay)->reload_certificate(cert_file, key_file));
        }

        if (now.web_tls != tls)
            log::write(log::Level::warning, "web.tls changes when serve starts again");
        if (args.web.empty() && now.web_listen != web_listen) {
            auto at = split_listen(now.web_listen);
            if (at && !tls && !settings::is_loopback_host(at->first))
                at = fail(Errc::invalid_input,
                          fmt::format("web.listen: plain HTTP (web.tls false) is allowed on a "
                                      "loopback address only, not on {}; still on {}",
                                      at->first, web_listen));
            Result<void> moved =
                at ? (*srv)->listen_on(at->first, at->second) : Result<void>(at.error());
            report(moved);
            if (moved) {
                web_listen = now.web_listen;
                log::write(log::Level::notice,
                           fmt::format("Web Config: {}", url_of(at->first, (*srv)->port())));
            }
        }

        const bool relay_wanted = !(args.relay.empty() ? now.relay_listen : args.relay).empty() ||
                                  !now.relay_listen_tls.empty();
        if (*relay && !relay_wanted) {
            (*relay)->drain(std::chrono::steady_clock::now() + kDrainTime);
            relay->reset();
            relay_up = false;
            log::write(log::Level::notice,
                       "relay: stopped (relay.listen and relay.listen_tls are empty)");
        } else if (*relay) {
            report((*relay)->reconfigure(now));
        } else if (relay_wanted) {
            env.cert = cert_file;
            env.key = key_file;
            if (auto started = start_relay(env, now, args.relay); !started)
                log::write(log::Level::error, started.error().describe());
            else
                *relay = std::move(*started);
            relay_up = static_cast<bool>(*relay);
        }
    };

    // SIGTERM, SIGINT: Web Config stops, and with it the lines below.
    std::jthread signal_thread([&](std::stop_token stop) {
        take_signals(stop, [&](int signal) {
            if (signal == SIGHUP) {
                log::write(log::Level::notice,
                           "SIGHUP: reading the settings, the certificate and the listeners again");
                tell("RELOADING=1");
                reload();
                tell("READY=1\nSTATUS=" + queue_status(**outbox));  // reloaded
                return true;
            }
            log::write(log::Level::notice,
                       fmt::format("{}: stopping: no new connections; deliveries under way get "
                                   "{} s, the rest stays queued",
                                   signal == SIGINT ? "SIGINT" : "SIGTERM", kDrainTime.count()));
            tell("STOPPING=1\nSTATUS=stopping");
            (*srv)->stop();
            return false;
        });
    });

    (*srv)->run();
    // Draining, within one drain time for all: no new connections (Web
    // Config has stopped, the relay stops listening), relay transactions
    // under way end, and the delivery workers finish the batch under way and
    // put back the one they took ahead.
    const auto drain_end = std::chrono::steady_clock::now() + kDrainTime;
    delivery_thread.request_stop();
    signal_thread.request_stop();
    signal_thread.join();
    notify_thread = {};
    housekeeping_thread.request_stop();
    housekeeping_thread.join();
    if (local_submission) local_submission->reset();  // callers under way finish
    if (*relay) (*relay)->drain(drain_end);
    relay->reset();
    if (delivered.wait_until(drain_end) != std::future_status::ready) {
        // Still on the wire after the drain time: those jobs stay `sending`
        // in the spool, and the next start puts them back in the queue
        // (deliver() -> recover(); a message cut at the end of its data is
        // marked maybe_sent). Exiting now keeps inside TimeoutStopSec.
        log::write(log::Level::warning,
                   fmt::format("deliveries still under way after {} s: their jobs are queued "
                               "again at the next start; stopped",
                               kDrainTime.count()));
        std::_Exit(Exit::ok);
    }
    delivery_thread.join();
    log::write(log::Level::notice, "stopped");
    return Exit::ok;
}

}  // namespace

void add_serve_commands(CLI::App& app, Context& ctx) {
    auto a = std::make_shared<ServeArgs>();
    auto* cmd = app.add_subcommand(
        "serve", "Run Web Config, the delivery workers, keep-alive and the relay");
    cmd->add_option("--web", a->web, "ADDR:PORT for Web Config (default: web.listen)");
    cmd->add_option("--relay", a->relay, "ADDR:PORT for the SMTP relay (default: relay.listen)");
    cmd->add_option("--submit-socket", a->submit,
                    "the Unix socket for local users' sendmail (default: "
                    "$POSTBRIDGE_SUBMIT_SOCKET, else /run/postbridge/submit.sock)");
    cmd->callback([&ctx, a] { ctx.exit_status = serve(ctx, *a); });
}

}  // namespace pb::cli
