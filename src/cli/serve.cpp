// Command: postbridge serve. The long-running side of postbridge: Web Config
// (HTTPS on web.listen), later the relay and the delivery workers. One
// `serve` per state directory, held by a flock on STATE/serve.lock, which the
// kernel drops when the process dies, so a crash never blocks a restart.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <utility>

#include <fmt/format.h>

#include "cli/app.hpp"
#include "core/crypto.hpp"
#include "core/settings.hpp"
#include "web/app.hpp"
#include "web/certificate.hpp"
#include "web/server.hpp"
#include "web/signin_service.hpp"

namespace pb::cli {
namespace {

struct ServeArgs {
    std::string web;    // ADDR:PORT, overrides web.listen
    std::string relay;  // ADDR:PORT, overrides relay.listen
};

// Holds STATE/serve.lock for the life of the process.
class ServeLock {
  public:
    static Result<ServeLock> acquire(const std::string& state_dir) {
        const std::string path = state_dir + "/serve.lock";
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
            return fail(Errc::spool_unwritable,
                        fmt::format("cannot open {}: {}", path, std::strerror(errno)));
        if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
            const int err = errno;
            ::close(fd);
            if (err == EWOULDBLOCK)
                return fail(Errc::invalid_input,
                            fmt::format("postbridge serve is already running on {} ({} is locked)",
                                        state_dir, path));
            return fail(Errc::spool_unwritable,
                        fmt::format("cannot lock {}: {}", path, std::strerror(err)));
        }
        return ServeLock(fd);
    }
    ServeLock(ServeLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    ServeLock(const ServeLock&) = delete;
    ServeLock& operator=(const ServeLock&) = delete;
    ServeLock& operator=(ServeLock&&) = delete;
    ~ServeLock() {
        if (fd_ >= 0) ::close(fd_);
    }

  private:
    explicit ServeLock(int fd) : fd_(fd) {}
    int fd_;
};

// "127.0.0.1:8443" / "[::1]:8443" -> host, port. The value was validated by
// the schema (or is checked here when it came from --web).
Result<std::pair<std::string, std::uint16_t>> split_listen(const std::string& v) {
    const auto colon = v.rfind(':');
    if (colon == std::string::npos || colon == 0)
        return fail(Errc::invalid_input,
                    fmt::format("'{}' is not ADDR:PORT (e.g. 127.0.0.1:8443)", v));
    std::string host = v.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    unsigned long port = 0;
    try {
        std::size_t used = 0;
        port = std::stoul(v.substr(colon + 1), &used);
        if (used != v.size() - colon - 1 || port > 65535) throw std::out_of_range("port");
    } catch (const std::exception&) {
        return fail(Errc::invalid_input,
                    fmt::format("'{}' is not ADDR:PORT: the port must be 0..65535", v));
    }
    return std::pair{host, static_cast<std::uint16_t>(port)};
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

int serve(Context& ctx, const ServeArgs& args) {
    auto st = ctx.store();
    if (!st) return ctx.report(st.error());
    store::Store& store = **st;

    auto lock = ServeLock::acquire(ctx.state_dir);
    if (!lock) return ctx.report(lock.error());

    auto loaded = store.load_settings();
    if (!loaded) return ctx.report(loaded.error());
    const settings::Settings& cfg = *loaded;

    const std::string listen = args.web.empty() ? cfg.get_global("web.listen") : args.web;
    auto where = split_listen(listen);
    if (!where) return ctx.report(where.error());
    const auto& [host, port] = *where;
    const bool tls = cfg.get_bool("", "web.tls");
    if (!tls && !settings::is_loopback_host(host))
        return ctx.report(fail(
            Errc::invalid_input,
            fmt::format("web.tls is false, so Web Config would send the administrator password "
                        "in clear text: plain HTTP is allowed on a loopback address only, "
                        "not on {} (set web.tls true, or listen on 127.0.0.1)",
                        host)));
    if (!args.relay.empty())
        return ctx.report(
            fail(Errc::invalid_input, "--relay: the SMTP relay is not part of this build yet"));

    web::ServerOptions server;
    server.host = host;
    server.port = port;
    server.tls = tls;
    server.log = log_line;
    if (tls) {
        const std::string cert = cfg.get_global("web.cert");
        const std::string key = cfg.get_global("web.key");
        if (cert.empty() != key.empty())
            return ctx.report(
                fail(Errc::invalid_input, "web.cert and web.key must be set together"));
        if (cert.empty()) {
            auto made = web::ensure_self_signed(ctx.state_dir, {host});
            if (!made) return ctx.report(made.error());
            if (made->created)
                log_line(
                    fmt::format("web: made a self-signed certificate: {}", made->cert.string()));
            server.cert = made->cert;
            server.key = made->key;
        } else {
            server.cert = cert;
            server.key = key;
        }
    }

    auto password = first_start_password(store, ctx.rng);
    if (!password) return ctx.report(password.error());

    // Sign-ins run on their own threads against their own connection to the
    // state, so the pages' connection is never shared between threads.
    store::Options options;
    if (const char* k = std::getenv("POSTBRIDGE_KEY"); k != nullptr && *k != '\0')
        options.key_base64 = k;
    auto signin = web::make_signin_service(ctx.state_dir, options, ctx.clock, log_line);
    if (!signin) return ctx.report(signin.error());

    web::App app(store, **signin, ctx.clock, ctx.rng, web::AppOptions{log_line});
    auto srv = web::Server::create(server, [&app](const web::Request& r) { return app.handle(r); });
    if (!srv) return ctx.report(srv.error());

    // Delivery workers and the relay start here (src/delivery, src/relay),
    // each on its own threads with its own Store, before the web page is
    // announced; they stop after run() returns.

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
    log_line("stopped");
    return Exit::ok;
}

}  // namespace

void add_serve_commands(CLI::App& app, Context& ctx) {
    auto a = std::make_shared<ServeArgs>();
    auto* cmd = app.add_subcommand(
        "serve", "Run Web Config (and, later, the relay and the delivery workers)");
    cmd->add_option("--web", a->web, "ADDR:PORT for Web Config (default: web.listen)");
    cmd->add_option("--relay", a->relay, "ADDR:PORT for the SMTP relay (default: relay.listen)");
    cmd->callback([&ctx, a] { ctx.exit_status = serve(ctx, *a); });
}

}  // namespace pb::cli
