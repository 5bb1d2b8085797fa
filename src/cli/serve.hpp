// The parts `postbridge serve` runs, each in a file of its own so that each
// can grow without touching the others:
//   serve.cpp        the lock, the outbox, delivery workers, keep-alive and
//                    the sign-ins started with `signin --no-wait`
//   serve_web.cpp    Web Config's page handler
//   serve_relay.cpp  the SMTP relay for legacy devices
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "cli/app.hpp"
#include "core/settings.hpp"
#include "observe/metrics.hpp"
#include "service/outbox.hpp"
#include "store/store.hpp"
#include "web/http.hpp"

namespace pb::cli {

// What every part of serve is given.
struct ServeEnv {
    Context& ctx;
    store::Store& store;           // the main thread's connection (Web Config's pages)
    store::Options store_options;  // for parts that open a connection of their own
    service::Outbox& outbox;       // intake and delivery; thread-safe
    settings::GlobalConfig cfg;    // as at start
    std::function<void(std::string_view)> log;
    observe::Metrics& metrics;  // the relay's counters besides delivery's
    // /readyz: what is wrong with the listeners now ("" when nothing); set
    // once they are up.
    std::function<std::string()> listeners = [] { return std::string{}; };
    // postbridge's own certificate (made at first start, or web.cert/web.key):
    // Web Config's HTTPS and the relay's STARTTLS.
    std::filesystem::path cert, key;
};

// Something that runs beside Web Config; destroying it stops it and waits.
class Background {
  public:
    virtual ~Background() = default;
    // serve's SIGHUP: the certificate files read again for new connections.
    virtual Result<void> reload_certificate(const std::filesystem::path& cert,
                                            const std::filesystem::path& key) = 0;
    // serve's SIGHUP: the settings now (listen addresses, limits).
    virtual Result<void> reconfigure(const settings::GlobalConfig& cfg) = 0;
    // serve's SIGTERM: no new work; what is under way ends by `deadline`.
    virtual void drain(std::chrono::steady_clock::time_point deadline) = 0;
};

// Web Config's handler: called for each request, one at a time, on the web
// server's worker thread.
class WebFront {
  public:
    virtual ~WebFront() = default;
    virtual web::Response handle(const web::Request& request) = 0;
};
Result<std::unique_ptr<WebFront>> make_web_front(ServeEnv& env);

// The relay, when relay.listen or relay.listen_tls of `cfg` is set or
// `--relay` given (`listen` overrides relay.listen); nullptr when neither.
Result<std::unique_ptr<Background>> start_relay(ServeEnv& env, const settings::GlobalConfig& cfg,
                                                const std::string& listen);

// Local submission (intake/local_submission.hpp): the Unix socket on which
// local users' `sendmail` hands over mail. Destroying it stops listening,
// waits for the callers under way and removes the socket.
class LocalSubmission {
  public:
    virtual ~LocalSubmission() = default;
    virtual const std::string& path() const = 0;
};
Result<std::unique_ptr<LocalSubmission>> start_local_submission(ServeEnv& env, std::string path);

}  // namespace pb::cli
