// Commands: send, sendmail, jobs, flush (design.md "Command line" and
// "Processes").
//
// Every intake puts the job in the spool first. Then, if `serve` runs, its
// workers deliver and `send --wait` only watches the job; if not, the caller
// delivers its own job while holding the delivery lock, and `flush` runs the
// queue once (sendmail -q). Exit statuses: 0 done or accepted, 1 failed (also
// partial), 2 bad usage or invalid value, 75 held or still queued at
// --timeout (sendmail: only when the message could not be accepted).
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "cli/app.hpp"
#include "core/fs.hpp"
#include "core/text.hpp"
#include "delivery/engine.hpp"
#include "delivery/locks.hpp"
#include "delivery/smtp_transport.hpp"
#include "intake/aliases.hpp"
#include "intake/intake.hpp"
#include "intake/local_submission.hpp"
#include "mime/message.hpp"
#include "relay/dsn.hpp"  // reporting_host()
#include "relay/session.hpp"
#include "service/outbox.hpp"
#include "spool/history.hpp"
#include "spool/spool.hpp"

namespace pb::cli {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using intake::kSignInMessage;

// Every command here works on the outbox: settings, spool and delivery.
Result<std::unique_ptr<service::Outbox>> open_outbox(Context& ctx,
                                                     delivery::Observer* observer = nullptr) {
    if (auto r = ctx.enter_state(); !r) return std::move(r).error();
    service::OutboxOptions o;
    o.observer = observer;
    if (const char* k = std::getenv("POSTBRIDGE_KEY"); k != nullptr && *k != '\0')
        o.store.key_base64 = k;
    return service::Outbox::open(ctx.state_dir, ctx.clock, ctx.rng, std::move(o));
}

void print_job(Context& ctx, const spool::Job& j) {
    if (ctx.json) {
        Context::emit(spool::to_json(j));
        return;
    }
    std::cout << fmt::format("job {}: {}", j.id, spool::to_string(j.state));
    if (j.code)
        std::cout << fmt::format(" (code {}: {})", static_cast<int>(*j.code), info(*j.code).status);
    std::cout << "\n";
    if (!j.detail.empty()) std::cout << "  " << j.detail << "\n";
    if (j.code) std::cout << "  " << spool::remedy_of(j) << "\n";
}

int exit_for_state(spool::JobState s) {
    switch (s) {
        case spool::JobState::sent:
            return Exit::ok;
        case spool::JobState::partial:
        case spool::JobState::failed:
            return Exit::failed;
        case spool::JobState::held:
        case spool::JobState::queued:
        case spool::JobState::sending:
            return Exit::tempfail;
    }
    return Exit::failed;
}

// "34.5 MB", "812 KB", "90 bytes".
std::string amount(std::uint64_t bytes) {
    if (bytes >= 1'000'000) return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
    if (bytes >= 1'000) return fmt::format("{:.0f} KB", static_cast<double>(bytes) / 1e3);
    return fmt::format("{} bytes", bytes);
}

// `send --wait` on a terminal: how much of the message has gone out, on one
// line of standard error rewritten in place (ten times a second at most),
// then that the server's answer is awaited; the answer itself is the job's
// line that follows. Nothing at all when standard error is not a terminal
// or with --json.
class TerminalProgress final : public delivery::Observer {
  public:
    static bool wanted(const Context& ctx) { return !ctx.json && ::isatty(STDERR_FILENO) == 1; }
    ~TerminalProgress() override { end_line(); }

    void watch(spool::JobId id) { id_ = id; }
    // serve delivers, in another process: only that can be said.
    void by_serve(std::chrono::seconds timeout) {
        std::cerr << fmt::format("job {}: serve is sending it; waiting up to {} s\n", id_,
                                 timeout.count());
    }

    void progress(const spool::Job& job, std::uint64_t read, std::uint64_t size) override {
        if (job.id != id_) return;
        const auto now = std::chrono::steady_clock::now();
        const bool all = read >= size;
        if (!all && now - shown_at_ < 100ms) return;
        shown_at_ = now;
        const auto percent = size == 0 ? 100 : std::min<std::uint64_t>(100, read * 100 / size);
        // \r and "erase to the end of the line": the line is rewritten in place.
        std::cerr << fmt::format("\rjob {}: sent {} of {} ({}%){}\x1b[K", id_, amount(read),
                                 amount(size), percent,
                                 all ? "; waiting for the server's answer" : "")
                  << std::flush;
        open_line_ = true;
    }
    void attempted(const spool::Job& job, const spool::Attempt&) override {
        if (job.id == id_) end_line();
    }

  private:
    void end_line() {
        if (open_line_) std::cerr << "\n" << std::flush;
        open_line_ = false;
    }

    spool::JobId id_ = 0;
    std::chrono::steady_clock::time_point shown_at_{};
    bool open_line_ = false;
};

// The job after waiting for it: delivered here when no serve runs (under the
// delivery lock), else watched until it rests or `timeout` passes.
Result<spool::Job> wait_for(Context& ctx, service::Outbox& box, spool::JobId id,
                            std::chrono::seconds timeout, TerminalProgress* shown = nullptr) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto running = delivery::serve_running(ctx.state_dir);
    if (!running) return running.error();
    if (!*running) {
        auto lock = delivery::LockFile::acquire(delivery::delivery_lock_path(ctx.state_dir),
                                                delivery::LockFile::Mode::wait, timeout);
        if (!lock) return lock.error();
        if (lock->has_value()) {
            if (auto r = box.spool().recover(); !r) return r.error();
            return box.engine().deliver(id);
        }
    }
    if (shown != nullptr) shown->by_serve(timeout);
    for (;;) {
        auto j = box.spool().job(id);
        if (!j) return j.error();
        if (!*j) return fail(Errc::invalid_input, "job " + std::to_string(id) + " is gone");
        const auto s = (*j)->state;
        if (s != spool::JobState::queued && s != spool::JobState::sending) return **j;
        if (std::chrono::steady_clock::now() >= deadline) return **j;
        std::this_thread::sleep_for(100ms);
    }
}

struct SendOptions {
    std::vector<std::string> to, cc, bcc, attach;
    std::string subject, body, body_file, profile = "email";
    spool::Function function = spool::Function::cli;
    bool wait = false;
    int timeout = 60;
};

// A job held because its profile is not signed in (hold_when_signed_out on)
// tells the caller the manual's message; a refused one's error carries it.
Result<intake::Accepted> told(Result<intake::Accepted> a) {
    if (a && a->held) std::cerr << kSignInMessage << "\n";
    return a;
}

int run_send(Context& ctx, const SendOptions& o) {
    std::optional<TerminalProgress> shown;
    if (o.wait && TerminalProgress::wanted(ctx)) shown.emplace();
    auto box = open_outbox(ctx, shown ? &*shown : nullptr);
    // Not accepted either (a locked database, an unwritable state): 75, as
    // below, so that a script tries again later.
    if (!box) {
        const int status = ctx.report(box.error());
        return status == Exit::usage ? status : static_cast<int>(Exit::tempfail);
    }

    mime::Draft draft;
    draft.to = o.to;
    draft.cc = o.cc;
    draft.bcc = o.bcc;
    draft.subject = o.subject;
    if (!o.body_file.empty()) {
        std::ifstream f(o.body_file, std::ios::binary);
        if (!f)
            return ctx.report(fail(Errc::invalid_input, "cannot read --body-file " + o.body_file));
        std::ostringstream ss;
        ss << f.rdbuf();
        draft.text = ss.str();
    } else {
        draft.text = o.body;
    }
    for (const auto& a : o.attach) {
        auto att = mime::attach_file(a);
        if (!att) return ctx.report(att.error());
        draft.attachments.push_back(std::move(*att));
    }
    auto accepted = told((*box)->intake().compose(o.function, o.profile, std::move(draft)));
    if (!accepted) {
        // Not accepted, and not for the caller's input (a full disk, 651):
        // 75, so that a script tries again later (README, exit statuses).
        const int status = ctx.report(accepted.error());
        return status == Exit::usage ? status : static_cast<int>(Exit::tempfail);
    }
    const spool::JobId id = accepted->id;

    if (!o.wait) {
        auto j = (*box)->spool().job(id);
        if (j && *j) print_job(ctx, **j);
        return Exit::ok;
    }
    if (shown) shown->watch(id);
    Result<spool::Job> done =
        accepted->held
            ? Result<spool::Job>(**(*box)->spool().job(id))
            : wait_for(ctx, **box, id, std::chrono::seconds{o.timeout}, shown ? &*shown : nullptr);
    if (!done) return ctx.report(done.error());
    print_job(ctx, *done);
    return exit_for_state(done->state);
}

struct SendmailOptions {
    bool from_headers = false;  // -t
    std::string from, full_name;
    std::vector<std::string> recipients;
    std::string profile = "email";
    spool::Function function = spool::Function::cli;
    std::string dsn_notify, dsn_ret;  // -N, -R
};

// What sendmail's options ask of intake, and of the service when it is
// handed over; -bs puts each message's envelope in.
intake::SendmailRequest sendmail_request(const SendmailOptions& o) {
    intake::SendmailRequest r;
    r.function = o.function;
    r.profile = o.profile;
    r.from = o.from;
    r.full_name = o.full_name;
    r.recipients = o.recipients;
    r.recipients_from_headers = o.from_headers;
    r.dsn_notify = o.dsn_notify;
    r.dsn_ret = o.dsn_ret;
    return r;
}

intake::local::Request local_request(const intake::SendmailRequest& r) {
    intake::local::Request out;
    out.from = r.from;
    out.full_name = r.full_name;
    out.recipients = r.recipients;
    out.recipients_from_headers = r.recipients_from_headers;
    out.dsn_notify = r.dsn_notify;
    out.dsn_ret = r.dsn_ret;
    return out;
}

// A ByteSource over standard input, unbuffered by iostreams.
class StdinSource final : public ByteSource {
  public:
    Result<std::size_t> read(std::span<char> out) override {
        for (;;) {
            const ssize_t n = ::read(STDIN_FILENO, out.data(), out.size());
            if (n >= 0) return static_cast<std::size_t>(n);
            if (errno != EINTR) return fail(Errc::invalid_input, "cannot read standard input");
        }
    }
};

// Whether this caller hands its message to the running service (local
// submission) instead of spooling it itself: it is not root and has no state
// of its own it can open. Such a caller never gets a new private state.
bool hands_over(const Context& ctx) {
    if (::geteuid() == 0) return false;
    std::error_code ec;
    const fs::path dir(ctx.state_dir);
    if (fs::exists(dir, ec)) return ::access(dir.c_str(), R_OK | W_OK | X_OK) != 0;
    return !ctx.state_named;
}

// One message handed to the running service over its socket: the request
// line, the message, the end of it, then the service's one-line answer. An
// error when the service cannot be reached or gives no answer.
Result<intake::local::Reply> hand_over(const intake::local::Request& req, ByteSource& message) {
    namespace local = intake::local;
    const std::string path = local::socket_path();
    const auto unreachable = [&](const std::string& why) {
        return fail(
            Errc::spool_unwritable,
            fmt::format("the message was not accepted: this user has no postbridge state to "
                        "spool it in, and the running service does not answer on {} ({}). "
                        "Start the service (systemctl start postbridge), or give a state this "
                        "user may write with --state DIR",
                        path, why));
    };
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) return unreachable("the path is too long");
    path.copy(addr.sun_path, path.size());
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return unreachable(std::strerror(errno));
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
        return unreachable(std::strerror(errno));

    (void)send_all(fd, local::encode(req));  // a service that left: no answer below
    std::array<char, 64 * 1024> buf{};
    for (;;) {
        auto n = message.read(buf);
        if (!n) return std::move(n).error();  // the service drops a cut message
        if (*n == 0) break;
        if (!send_all(fd, std::string_view(buf.data(), *n))) break;  // it answers why
    }
    ::shutdown(fd, SHUT_WR);

    std::string answer;
    for (;;) {
        const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        answer.append(buf.data(), static_cast<std::size_t>(n));
        if (answer.find('\n') != std::string::npos) break;
    }
    auto reply = local::decode_reply(answer);
    if (!reply) return unreachable("it closed the connection without an answer");
    return reply;
}

// sendmail through the running service: standard input is the message.
int sendmail_via_service(Context& ctx, const SendmailOptions& o) {
    StdinSource in;
    auto reply = hand_over(local_request(sendmail_request(o)), in);
    if (!reply) {
        ctx.report(reply.error());
        return static_cast<int>(Exit::tempfail);
    }
    if (reply->exit_status != 0) {
        if (ctx.json)
            Context::emit({{"error", reply->message}, {"exit", reply->exit_status}});
        else
            std::cerr << "postbridge: " << reply->message << "\n";
        return reply->exit_status;
    }
    if (ctx.json) Context::emit({{"job", reply->job}, {"state", reply->held ? "held" : "queued"}});
    if (reply->held && !ctx.json) std::cerr << intake::kSignInMessage << "\n";
    return Exit::ok;
}

// The SMTP reply to the final dot for a message sendmail did not accept,
// by why: the caller of -bs reads SMTP, not exit statuses.
std::string smtp_refusal(int exit_status, std::string_view why) {
    std::string words = printable(why, 300);
    switch (exit_status) {
        case static_cast<int>(intake::Sysexit::tempfail):
            return "451 4.3.0 " + words;
        case static_cast<int>(intake::Sysexit::no_user):
            return "550 5.1.1 " + words;
        case static_cast<int>(intake::Sysexit::data):
            return "554 5.6.0 " + words;
        default:
            return "554 5.0.0 " + words;
    }
}

// sendmail -bs: an SMTP session on standard input and output, on the
// relay's session core (relay/session.hpp), as programs that speak SMTP to
// a local sendmail expect. The caller is local: no login is asked, and no
// TLS is offered (there is no network). Each message goes in as sendmail's
// would: spooled here when this user owns a state, else handed to the
// running service.
int run_sendmail_bs(Context& ctx, const SendmailOptions& o) {
    const bool via_service = hands_over(ctx);
    std::unique_ptr<service::Outbox> box;
    relay::SessionConfig cfg;
    cfg.hostname = relay::reporting_host();
    cfg.client_allowed = true;  // AUTH is not offered either: no TLS, and require_tls
    cfg.local_names = true;     // RCPT TO:<root>, through the aliases file
    if (!via_service) {
        auto opened = open_outbox(ctx);
        if (!opened) {
            ctx.report(opened.error());
            return static_cast<int>(intake::Sysexit::tempfail);
        }
        box = std::move(*opened);
        const auto config = box->config();
        cfg.max_message_size = config->global().relay_max_message_size;
        cfg.max_recipients = config->global().relay_max_recipients;
    }
    std::vector<spool::JobId> queued;  // accepted here, not held
    const auto submit = [&](const relay::Envelope& env, std::string message) -> std::string {
        intake::SendmailRequest r = sendmail_request(o);
        r.from = env.sender;
        r.recipients = env.recipients;
        r.recipients_from_headers = false;
        if (via_service) {
            StringSource in(std::move(message));
            auto reply = hand_over(local_request(r), in);
            if (!reply) return smtp_refusal(static_cast<int>(Exit::tempfail), reply.error().detail);
            if (reply->exit_status != 0) return smtp_refusal(reply->exit_status, reply->message);
            return fmt::format("250 2.0.0 Ok: queued as {}", reply->job);
        }
        intake::Sysexit why = intake::Sysexit::tempfail;
        auto accepted =
            box->intake().sendmail(r, std::make_unique<StringSource>(std::move(message)), &why);
        if (!accepted) return smtp_refusal(static_cast<int>(why), accepted.error().detail);
        if (!accepted->held) queued.push_back(accepted->id);
        return fmt::format("250 2.0.0 Ok: queued as {}", accepted->id);
    };
    // Once the session is over, as sendmail does for its one message: the
    // jobs it queued are delivered now unless serve runs (it takes them).
    const auto deliver_queued = [&] {
        for (const auto id : queued) (void)wait_for(ctx, *box, id, 0s);
        return static_cast<int>(Exit::ok);
    };

    relay::Session session(cfg);
    std::string out = session.greeting();
    std::string message;
    const auto flush_out = [&] {
        std::cout << out << std::flush;
        out.clear();
    };
    StdinSource in;
    std::array<char, 16 * 1024> buf{};
    for (;;) {
        const relay::Action a = session.next();
        switch (a.kind) {
            case relay::Action::send:
                out += a.text;
                break;
            case relay::Action::data:
                message += a.text;
                break;
            case relay::Action::discard:
                message.clear();
                break;
            case relay::Action::message:
                session.message_result(submit(session.envelope(), std::exchange(message, {})));
                break;
            case relay::Action::verify_login:
                session.login_result(false);  // no accounts here: a local caller needs none
                break;
            case relay::Action::start_tls:
                session.tls_started();  // never offered (tls_available is false)
                break;
            case relay::Action::close:
                flush_out();
                return deliver_queued();
            case relay::Action::need_input: {
                flush_out();
                auto n = in.read(buf);
                if (!n || *n == 0) return deliver_queued();  // the caller hung up
                session.feed(std::string_view(buf.data(), *n));
                break;
            }
        }
    }
}

int run_sendmail(Context& ctx, const SendmailOptions& o) {
    if (hands_over(ctx)) return sendmail_via_service(ctx, o);
    // sendmail's contract: 0 once the message is safe in the spool, else the
    // sysexits.h status its callers test for; delivery problems go to the
    // history.
    auto refuse = [&](const Error& e, intake::Sysexit why) {
        ctx.report(e);
        return static_cast<int>(why);
    };
    auto box = open_outbox(ctx);
    if (!box) return refuse(box.error(), intake::Sysexit::tempfail);
    intake::Sysexit why = intake::Sysexit::tempfail;
    auto accepted =
        told((*box)->intake().sendmail(sendmail_request(o), std::make_unique<StdinSource>(), &why));
    if (!accepted) return refuse(accepted.error(), why);
    if (!accepted->held) {
        auto done = wait_for(ctx, **box, accepted->id, 0s);
        if (done && ctx.json) print_job(ctx, *done);
    }
    return Exit::ok;
}

// mailq and sendmail -bp: the jobs not yet delivered, in the layout of
// Postfix's mailq (id, size, arrival time, sender; then each recipient that
// waits, under the reason it waits).
int run_mailq(Context& ctx) {
    if (hands_over(ctx)) {
        // The service answers with this user's own jobs.
        intake::local::Request req;
        req.kind = intake::local::Request::Kind::queue;
        StringSource nothing("");
        auto reply = hand_over(req, nothing);
        if (!reply) {
            ctx.report(reply.error());
            return static_cast<int>(intake::Sysexit::tempfail);
        }
        if (reply->exit_status != 0) {
            std::cerr << "mailq: " << reply->message << "\n";
            return reply->exit_status;
        }
        std::cout << reply->text;
        return Exit::ok;
    }
    auto box = open_outbox(ctx);
    if (!box) {
        ctx.report(box.error());
        return static_cast<int>(intake::Sysexit::tempfail);
    }
    auto jobs = (*box)->spool().jobs(100000);
    if (!jobs) {
        ctx.report(jobs.error());
        return static_cast<int>(intake::Sysexit::tempfail);
    }
    if (ctx.json) {
        for (auto it = jobs->rbegin(); it != jobs->rend(); ++it)
            if (!spool::is_final(it->state)) Context::emit(spool::to_json(*it));
        return Exit::ok;
    }
    std::cout << spool::mailq_text(*jobs);
    return Exit::ok;
}

// newaliases: postbridge keeps no aliases database; it reads the file as it
// is each time. This checks it and says what it found.
int run_newaliases(Context& ctx) {
    std::string path = "/etc/aliases";
    if (!hands_over(ctx) && ctx.state_exists()) {
        if (auto s = ctx.store(); s) {
            if (auto loaded = (*s)->load_settings(); loaded) path = loaded->global_config().aliases;
        }
    }
    auto text = read_file(path);
    if (!text) {
        std::cerr << "newaliases: " << text.error().detail << " (setting aliases)\n";
        return static_cast<int>(intake::Sysexit::config);
    }
    const auto aliases = intake::Aliases::parse(*text);
    for (const auto& p : aliases.problems())
        std::cerr << "newaliases: " << path << ": " << p << "\n";
    std::cout << fmt::format(
        "{}: {} aliases{}; read as it is each time (no database to build)\n", path, aliases.size(),
        aliases.problems().empty() ? std::string{}
                                   : fmt::format(", {} problem(s)", aliases.problems().size()));
    return aliases.problems().empty() ? Exit::ok : static_cast<int>(intake::Sysexit::data);
}

int run_jobs(Context& ctx, int limit) {
    auto box = open_outbox(ctx);
    if (!box) return ctx.report(box.error());
    auto jobs = (*box)->spool().jobs(static_cast<std::size_t>(std::max(limit, 1)));
    if (!jobs) return ctx.report(jobs.error());
    for (const auto& j : *jobs) {
        if (ctx.json)
            Context::emit(spool::to_json(j));
        else
            std::cout << spool::summary_line(j) << "\n";
    }
    return Exit::ok;
}

int run_show(Context& ctx, std::int64_t id) {
    auto box = open_outbox(ctx);
    if (!box) return ctx.report(box.error());
    auto j = (*box)->spool().job(id);
    if (!j) return ctx.report(j.error());
    if (!*j) return ctx.report(fail(Errc::invalid_input, "there is no job " + std::to_string(id)));
    if (ctx.json) {
        Context::emit(spool::to_json(**j, true));
        return Exit::ok;
    }
    print_job(ctx, **j);
    const std::string& over = (*j)->transport;
    std::cout << fmt::format("  function {}, profile {}, from {}, {} bytes, {} attempt(s){}\n",
                             spool::to_string((*j)->function), (*j)->profile, (*j)->sender,
                             (*j)->size, (*j)->attempts,
                             over == "graph"  ? ", last over Microsoft Graph"
                             : over == "smtp" ? ", last over SMTP"
                                              : "");
    for (const auto& r : (*j)->recipients)
        std::cout << fmt::format("  {} {}{}\n", spool::to_string(r.result), r.address,
                                 r.reply.empty() ? "" : "  " + r.reply);
    if ((*j)->maybe_sent)
        std::cout << "  an attempt broke off at end of data: a resend may have duplicated it\n";
    if (!(*j)->transcript.empty())
        std::cout << "  transcript of the last failed attempt:\n" << (*j)->transcript;
    return Exit::ok;
}

int run_retry(Context& ctx, std::int64_t id) {
    auto box = open_outbox(ctx);
    if (!box) return ctx.report(box.error());
    if (auto r = (*box)->spool().retry(id); !r) return ctx.report(r.error());
    if (!ctx.json)
        std::cout << "job " << id << " queued again\n";
    else
        Context::emit((spool::to_json(**(*box)->spool().job(id))));
    return Exit::ok;
}

int run_flush(Context& ctx, const std::string& profile) {
    auto box = open_outbox(ctx);
    if (!box) return ctx.report(box.error());
    auto lock = delivery::LockFile::acquire(delivery::delivery_lock_path(ctx.state_dir),
                                            delivery::LockFile::Mode::try_once);
    if (!lock) return ctx.report(lock.error());
    if (!lock->has_value()) {
        std::cerr
            << "postbridge: another process is delivering (serve, or a send); it runs the queue\n";
        return Exit::tempfail;
    }
    if (auto r = (*box)->spool().recover(); !r) return ctx.report(r.error());
    const auto n = (*box)->engine().flush(profile.empty() ? std::nullopt
                                                          : std::optional<std::string>(profile));
    if (ctx.json)
        Context::emit({{"attempts", n}});
    else
        std::cout << n << " job(s) attempted\n";
    return Exit::ok;
}

// --function: which of the device's functions the job is for, as the job
// history shows it (a device's own scripts send scan-to-email and so on).
void add_function_option(CLI::App* cmd, spool::Function& f) {
    cmd->add_option_function<std::string>(
           "--function", [&f](const std::string& v) { f = *spool::parse_function(v); },
           "the device function the job is for (default cli)")
        ->check(CLI::IsMember({"scan-to-email", "notification", "fax", "relay", "cli"}))
        ->type_name("FUNCTION");
}

}  // namespace

void add_jobs_commands(CLI::App& app, Context& ctx) {
    auto so = std::make_shared<SendOptions>();
    auto* send = app.add_subcommand("send", "Send a message (a job in the spool)");
    send->add_option("--to", so->to, "recipient (repeat, or a comma list)")->required();
    send->add_option("--cc", so->cc, "copy recipient");
    send->add_option("--bcc", so->bcc, "blind copy recipient");
    send->add_option("--subject", so->subject, "subject")->required();
    auto* body = send->add_option("--body", so->body, "message text");
    send->add_option("--body-file", so->body_file, "message text from a file")->excludes(body);
    send->add_option("--attach", so->attach, "attach a file (repeat)");
    send->add_option("--profile", so->profile, "profile that sends")->capture_default_str();
    add_function_option(send, so->function);
    send->add_flag("--wait", so->wait, "wait until the job is sent, held or failed");
    send->add_option("--timeout", so->timeout, "seconds --wait waits while the job is queued")
        ->capture_default_str();
    send->callback([&ctx, so] { ctx.exit_status = run_send(ctx, *so); });

    auto mo = std::make_shared<SendmailOptions>();
    auto* sm = app.add_subcommand("sendmail", "sendmail-compatible: the message on standard input");
    sm->set_help_flag("--help", "Print this help");  // -h is sendmail's hop count
    sm->add_flag("-t", mo->from_headers, "recipients from the To, Cc and Bcc headers too");
    sm->add_option("-f,-r", mo->from, "envelope sender");
    sm->add_option("-F", mo->full_name, "the From display name");
    sm->add_flag("-i")->description("a lone dot does not end the message (always so)");
    auto mode = std::make_shared<std::string>("m");
    sm->add_option("-b", *mode,
                   "m: deliver the message (default); p: list the queue (mailq); s: an SMTP "
                   "session on standard input and output")
        ->check(CLI::IsMember({"m", "p", "s"}));
    auto flush_queue = std::make_shared<bool>(false);
    sm->add_flag("-q", *flush_queue, "run the queue once (root and the service's user)");
    sm->add_option("-N", mo->dsn_notify,
                   "delivery status notifications asked of the server: never, or a list of "
                   "success, failure, delay (RFC 3461 NOTIFY, where the server offers DSN)");
    sm->add_option("-R", mo->dsn_ret, "what a notification returns: full or hdrs (RFC 3461 RET)");
    sm->add_option("--profile", mo->profile, "profile that sends")->capture_default_str();
    add_function_option(sm, mo->function);
    sm->add_option("recipients", mo->recipients, "recipients");
    // Options sendmail callers pass that mean nothing here: accepted and
    // ignored, as msmtp and Postfix do (design.md).
    auto ignored = std::make_shared<std::vector<std::string>>();
    for (const char* name : {"-o", "-B", "-h", "-L", "-O", "-A"})
        sm->add_option(name, *ignored, "ignored (sendmail compatibility)")
            ->expected(1)
            ->allow_extra_args(false)
            ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    for (const char* name : {"-v", "-G", "-U", "-m", "-n"})
        sm->add_flag(name)->description("ignored (sendmail compatibility)");
    sm->callback([&ctx, mo, mode, flush_queue, ignored] {
        if (*flush_queue) {
            if (hands_over(ctx)) {
                std::cerr << "sendmail: only root and the service's user may run the queue\n";
                ctx.exit_status = 77;  // EX_NOPERM
                return;
            }
            ctx.exit_status = run_flush(ctx, "");
        } else if (*mode == "p") {
            ctx.exit_status = run_mailq(ctx);
        } else if (*mode == "s") {
            ctx.exit_status = run_sendmail_bs(ctx, *mo);
        } else {
            ctx.exit_status = run_sendmail(ctx, *mo);
        }
    });
    app.add_subcommand("newaliases", "Check the aliases file (setting aliases)")->callback([&ctx] {
        ctx.exit_status = run_newaliases(ctx);
    });

    auto limit = std::make_shared<int>(50);
    auto* jobs = app.add_subcommand("jobs", "The job history, newest first");
    jobs->add_option("--limit", *limit, "how many")->capture_default_str();
    auto id = std::make_shared<std::int64_t>(0);
    auto* show = jobs->add_subcommand("show", "One job, with its recipients and transcript");
    show->add_option("id", *id, "job number")->required();
    show->callback([&ctx, id] { ctx.exit_status = run_show(ctx, *id); });
    auto* retry = jobs->add_subcommand("retry", "Queue a failed, partial or held job again");
    retry->add_option("id", *id, "job number")->required();
    retry->callback([&ctx, id] { ctx.exit_status = run_retry(ctx, *id); });
    jobs->callback([&ctx, limit, jobs] {
        if (jobs->get_subcommands().empty()) ctx.exit_status = run_jobs(ctx, *limit);
    });

    auto profile = std::make_shared<std::string>();
    auto* flush = app.add_subcommand("flush", "Run the queue once (like sendmail -q)");
    flush->add_option("--profile", *profile, "only this profile");
    flush->callback([&ctx, profile] { ctx.exit_status = run_flush(ctx, *profile); });
}

}  // namespace pb::cli
