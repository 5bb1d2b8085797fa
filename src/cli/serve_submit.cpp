// Local submission inside serve (serve.hpp, intake/local_submission.hpp): a
// Unix socket on which `sendmail` run by any local user hands over a message
// that serve spools as its own user. The caller is who the kernel says
// (SO_PEERCRED); what it claims about itself is not asked.
//
// One thread accepts; each connection gets a thread of its own (local
// callers are few, and each sends one message), up to kMaxConnections at
// once; a caller over that is told to try again (75), as sendmail's callers
// expect of a busy system.
#include <poll.h>
#include <pwd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "cli/serve.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "intake/local_submission.hpp"
#include "spool/history.hpp"

namespace pb::cli {
namespace {

namespace local = intake::local;

constexpr std::size_t kMaxConnections = 32;
// A caller that stops sending for this long is dropped: nothing is spooled.
constexpr int kReadTimeoutSeconds = 60;

// The user name of `uid`, or its number.
std::string user_name(uid_t uid) {
    passwd pw{};
    passwd* found = nullptr;
    char buf[4096];
    if (::getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found != nullptr)
        return found->pw_name;
    return std::to_string(uid);
}

// The message after the request line: what is left of the line's read,
// then the socket until the caller's shutdown, at most `limit` bytes.
class SocketSource final : public ByteSource {
  public:
    SocketSource(int fd, std::string head, std::uint64_t limit)
        : fd_(fd), head_(std::move(head)), limit_(limit) {}
    Result<std::size_t> read(std::span<char> out) override {
        std::size_t n = 0;
        if (pos_ < head_.size()) {
            n = std::min(out.size(), head_.size() - pos_);
            head_.copy(out.data(), n, pos_);
            pos_ += n;
        } else {
            for (;;) {
                const ssize_t got = ::recv(fd_, out.data(), out.size(), 0);
                if (got >= 0) {
                    n = static_cast<std::size_t>(got);
                    break;
                }
                if (errno == EINTR) continue;
                return fail(Errc::spool_unwritable,
                            errno == EAGAIN || errno == EWOULDBLOCK
                                ? "the caller stopped sending the message"
                                : fmt::format("reading the message: {}", std::strerror(errno)));
            }
        }
        total_ += n;
        if (total_ > limit_)
            return fail(Errc::invalid_input,
                        fmt::format("the message is larger than relay.max_message_size ({} bytes)",
                                    limit_));
        return n;
    }

  private:
    int fd_;
    std::string head_;
    std::size_t pos_ = 0;
    std::uint64_t limit_;
    std::uint64_t total_ = 0;
};

class LocalSubmissionServer final : public LocalSubmission {
  public:
    LocalSubmissionServer(ServeEnv& env, int listener, int wake, std::string path)
        : env_(env), listener_(listener), wake_(wake), path_(std::move(path)) {
        accept_thread_ = std::jthread([this](std::stop_token stop) { accept_loop(stop); });
    }
    ~LocalSubmissionServer() override {
        const std::uint64_t one = 1;
        (void)!::write(wake_, &one, sizeof one);
        accept_thread_ = {};  // joins
        {
            std::lock_guard lock(mu_);
            for (auto& c : connections_) ::shutdown(c.fd, SHUT_RDWR);
        }
        std::list<Connection> left;
        {
            std::lock_guard lock(mu_);
            left.swap(connections_);
        }
        left.clear();  // joins each
        ::close(listener_);
        ::close(wake_);
        ::unlink(path_.c_str());
    }
    const std::string& path() const override { return path_; }

  private:
    // The socket is closed once its thread has ended, never by the thread
    // itself: the destructor's shutdown() must not hit a reused number.
    struct Connection {
        int fd = -1;
        std::shared_ptr<std::atomic<bool>> done = std::make_shared<std::atomic<bool>>(false);
        std::jthread thread;
        Connection() = default;
        Connection(const Connection&) = delete;
        Connection& operator=(const Connection&) = delete;
        ~Connection() {
            thread = {};  // joins
            if (fd >= 0) ::close(fd);
        }
    };

    void accept_loop(std::stop_token stop) {
        while (!stop.stop_requested()) {
            pollfd fds[2] = {{listener_, POLLIN, 0}, {wake_, POLLIN, 0}};
            if (::poll(fds, 2, -1) < 0) {
                if (errno == EINTR) continue;
                break;
            }
            if ((fds[1].revents & POLLIN) != 0) break;
            const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) continue;
            std::lock_guard lock(mu_);
            connections_.remove_if([](const Connection& c) { return c.done->load(); });
            if (connections_.size() >= kMaxConnections) {
                (void)send_all(fd,
                               local::encode(local::Reply{
                                   75, 0, false,
                                   "the service is busy with other local submissions; try again"}));
                ::close(fd);
                continue;
            }
            Connection& c = connections_.emplace_back();
            c.fd = fd;
            c.thread = std::jthread([this, fd, done = c.done] {
                serve_one(fd);
                *done = true;
            });
        }
    }

    void serve_one(int fd) {
        ucred cred{};
        socklen_t len = sizeof cred;
        if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
            (void)send_all(
                fd, local::encode(local::Reply{75, 0, false, "cannot tell who the caller is"}));
            return;
        }
        const timeval timeout{kReadTimeoutSeconds, 0};
        (void)::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        const std::string user = user_name(cred.uid);
        const local::Reply reply = submit(fd, cred);
        if (reply.job != 0)
            env_.log(fmt::format("local: job {} accepted from user {} (uid {}, pid {}){}",
                                 reply.job, escaped(user), cred.uid, cred.pid,
                                 reply.held ? ", held until the profile is signed in" : ""));
        else if (!reply.message.empty())
            env_.log(fmt::format("local: refused a message from user {} (uid {}, pid {}): {}",
                                 escaped(user), cred.uid, cred.pid, escaped(reply.message)));
        (void)send_all(fd, local::encode(reply));
    }

    local::Reply submit(int fd, const ucred& cred) {
        // The request line; what came after it in the same read is the
        // message's start.
        std::string head;
        char buf[16 * 1024];
        std::size_t newline = std::string::npos;
        while (newline == std::string::npos) {
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return {75, 0, false, "the caller left before its message"};
            head.append(buf, static_cast<std::size_t>(n));
            newline = head.find('\n');
            if (newline == std::string::npos && head.size() > local::kMaxRequestLine)
                return {static_cast<int>(intake::Sysexit::usage), 0, false,
                        "the submission's first line is too long"};
        }
        auto request = local::decode_request(std::string_view(head).substr(0, newline + 1));
        if (!request)
            return {static_cast<int>(intake::Sysexit::usage), 0, false, request.error().detail};
        const bool owner = cred.uid == 0 || cred.uid == ::geteuid();
        if (request->kind == local::Request::Kind::queue) return queue_of(cred.uid, owner);

        intake::SendmailRequest r;
        r.function = spool::Function::cli;
        r.profile = "email";
        r.full_name = request->full_name;
        r.recipients = request->recipients;
        r.recipients_from_headers = request->recipients_from_headers;
        r.dsn_notify = request->dsn_notify;
        r.dsn_ret = request->dsn_ret;
        // The envelope sender is never another user's: -f counts from root
        // and the service's own user only. Everyone else's mail goes out as
        // the profile's sender_policy makes it: rewrite, the profile's
        // sender; keep, USER@ the sender's domain (www-data@example.com).
        const auto cfg = env_.outbox.config();
        const auto& profile = cfg->profile(r.profile);
        if (owner) {
            r.from = request->from;
        } else if (profile.sender_policy == settings::SenderPolicy::keep) {
            if (const auto at = profile.sender.rfind('@'); at != std::string::npos)
                r.from = user_name(cred.uid) + profile.sender.substr(at);
        }
        if (!owner) {
            r.submitter = user_name(cred.uid);
            if (auto refused = over_limit(cred.uid, cfg->global().local_rate_limit))
                return {static_cast<int>(intake::Sysexit::tempfail), 0, false, *refused};
        }

        intake::Sysexit why = intake::Sysexit::tempfail;
        auto accepted = env_.outbox.intake().sendmail(
            r,
            std::make_unique<SocketSource>(fd, head.substr(newline + 1),
                                           cfg->global().relay_max_message_size),
            &why);
        if (!accepted) return {static_cast<int>(why), 0, false, accepted.error().describe()};
        return {0, accepted->id, accepted->held.has_value(), {}};
    }

    // mailq of a local user: their own jobs that wait; all of them for the
    // queue's owners.
    local::Reply queue_of(uid_t uid, bool owner) {
        auto jobs = env_.outbox.spool().jobs(100000);
        if (!jobs)
            return {static_cast<int>(intake::Sysexit::tempfail), 0, false, jobs.error().describe()};
        if (!owner) {
            const std::string user = user_name(uid);
            std::erase_if(*jobs, [&](const spool::Job& j) { return j.submitter != user; });
        }
        local::Reply r;
        r.text = spool::mailq_text(*jobs);
        return r;
    }

    // local.rate_limit: at most `limit` messages of `uid` in any minute.
    // nullopt when this one may go; else why not.
    std::optional<std::string> over_limit(uid_t uid, std::int64_t limit) {
        if (limit <= 0) return std::nullopt;
        const auto now = std::chrono::steady_clock::now();
        std::lock_guard lock(limits_mu_);
        auto& times = sent_[uid];
        while (!times.empty() && now - times.front() >= std::chrono::minutes{1}) times.pop_front();
        if (static_cast<std::int64_t>(times.size()) >= limit)
            return fmt::format(
                "user {} handed over {} messages in the last minute, the most local.rate_limit "
                "allows; try again later",
                escaped(user_name(uid)), times.size());
        times.push_back(now);
        return std::nullopt;
    }

    ServeEnv& env_;
    std::mutex limits_mu_;
    std::map<uid_t, std::deque<std::chrono::steady_clock::time_point>> sent_;
    int listener_;
    int wake_;
    std::string path_;
    std::mutex mu_;
    std::list<Connection> connections_;
    std::jthread accept_thread_;  // last: started once the members above exist
};

}  // namespace

Result<std::unique_ptr<LocalSubmission>> start_local_submission(ServeEnv& env, std::string path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof addr.sun_path)
        return fail(Errc::invalid_input,
                    fmt::format("'{}' cannot be a Unix socket's path (at most {} bytes)", path,
                                sizeof addr.sun_path - 1));
    path.copy(addr.sun_path, path.size());
    // A socket left by a serve that died is removed; one that a live serve
    // (of another state) listens on, or anything but a socket, is not.
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return fail(Errc::invalid_input,
                        fmt::format("{} exists and is not a socket: local submission needs that "
                                    "path (serve --submit-socket names another)",
                                    path));
        const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const bool live = probe >= 0 && ::connect(probe, reinterpret_cast<const sockaddr*>(&addr),
                                                  sizeof addr) == 0;
        if (probe >= 0) ::close(probe);
        if (live)
            return fail(Errc::invalid_input,
                        fmt::format("another postbridge serve listens on {} (serve "
                                    "--submit-socket names another path)",
                                    path));
        ::unlink(path.c_str());
    }
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail(Errc::invalid_input, std::strerror(errno));
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd, 64) != 0) {
        const int err = errno;
        ::close(fd);
        return fail(Errc::invalid_input,
                    fmt::format("cannot listen on {}: {}", path, std::strerror(err)));
    }
    // Every local user may hand over a message: the socket is the door, and
    // who comes through it is the kernel's word (SO_PEERCRED).
    ::chmod(path.c_str(), 0666);
    const int wake = ::eventfd(0, EFD_CLOEXEC);
    if (wake < 0) {
        ::close(fd);
        ::unlink(path.c_str());
        return fail(Errc::invalid_input, std::strerror(errno));
    }
    return std::unique_ptr<LocalSubmission>(
        std::make_unique<LocalSubmissionServer>(env, fd, wake, std::move(path)));
}

}  // namespace pb::cli
