// postbridge serve as systemd runs it (issue: a Debian service): READY=1,
// STATUS= and STOPPING=1 on a NOTIFY_SOCKET the test holds, SIGHUP serving
// a new certificate without a restart, SIGTERM ending with exit 0. The test
// waits on what serve says (datagrams, its exit), never on time.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/notify_socket.hpp"
#include "support/peers.hpp"
#include "support/temp_dir.hpp"

namespace pb::test {
namespace {

namespace fs = std::filesystem;

class ServeService : public ::testing::Test {
  protected:
    void SetUp() override {
        state_ = fresh_dir("pb-service");
        out_ = state_.string() + ".out";
        err_ = state_.string() + ".err";
        ASSERT_TRUE(notify_.bound());
    }
    void TearDown() override {
        if (pidfd_ >= 0) ::close(pidfd_);
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        fs::remove_all(state_);
        fs::remove(out_);
        fs::remove(err_);
    }

    CommandResult pb(const std::string& args) {
        return run_command(binary_path() + " --state " + state_.string() + " " + args + " 2>&1");
    }

    // Starts serve with NOTIFY_SOCKET set and returns its first datagram.
    // `web_flag`: Web Config on 127.0.0.1:0 by --web, else where web.listen says.
    std::string start_serve(bool web_flag = true) {
        pid_ = ::fork();
        if (pid_ == 0) {
            ::setenv("NOTIFY_SOCKET", notify_.name().c_str(), 1);
            std::FILE* out = std::freopen(out_.c_str(), "w", stdout);
            std::FILE* err = std::freopen(err_.c_str(), "w", stderr);
            if (out == nullptr || err == nullptr) ::_exit(126);
            const std::string bin = binary_path(), state = state_.string();
            if (web_flag)
                ::execl(bin.c_str(), bin.c_str(), "--state", state.c_str(), "serve", "--json",
                        "--web", "127.0.0.1:0", static_cast<char*>(nullptr));
            else
                ::execl(bin.c_str(), bin.c_str(), "--state", state.c_str(), "serve", "--json",
                        static_cast<char*>(nullptr));
            ::_exit(127);
        }
        pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
        return next();
    }
    // serve's next datagram, "" if it exited instead.
    std::string next() { return notify_.next(pidfd_); }
    // Datagrams until one that says `what` ("" if serve exited first): the
    // STATUS= lines serve sends every 10 s come between.
    std::string next_with(const std::string& what) {
        for (std::string d = next();; d = next())
            if (d.empty() || d.find(what) != std::string::npos) return d;
    }

    // The port of serve's listener from its `event` line (printed before
    // READY=1): "listening" (Web Config) or "relay_listening".
    std::string port(const std::string& event = "listening") {
        std::ifstream in(out_);
        for (std::string line; std::getline(in, line);) {
            if (line.find("\"event\":\"" + event + "\"") == std::string::npos) continue;
            const auto at = line.find("127.0.0.1:");
            if (at == std::string::npos) return "";
            const auto from = at + 10;
            return line.substr(from, line.find_first_not_of("0123456789", from) - from);
        }
        return "";
    }

    // SIGTERM, then serve's exit status (-1: did not exit normally).
    int stop_serve() {
        ::kill(pid_, SIGTERM);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }

    std::string log() { return run_command("cat " + err_).out; }

    fs::path state_;
    std::string out_, err_;
    NotifySocket notify_{"serve-test"};
    pid_t pid_ = -1;
    int pidfd_ = -1;
};

// A mail server on loopback that takes every message and, at the
// `gate_at`th, holds its reply until the test opens the gate: the test knows
// a batch is on the wire when it signals serve. One thread per connection.
class Sink {
  public:
    explicit Sink(int gate_at) : gate_at_(gate_at) {
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (::bind(listener_, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
            ::listen(listener_, 16) != 0 ||
            ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
            return;
        port_ = ntohs(a.sin_port);
        acceptor_ = std::thread([this] {
            for (;;) {
                const int c = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
                if (c < 0) return;  // shut down
                std::lock_guard lock(mu_);
                fds_.push_back(c);
                sessions_.emplace_back([this, c] { session(c); });
            }
        });
    }
    ~Sink() {
        open_gate();
        ::shutdown(listener_, SHUT_RDWR);
        ::close(listener_);
        acceptor_.join();
        std::lock_guard lock(mu_);
        for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);  // ends sessions serve left open
        for (auto& t : sessions_) t.join();
        for (int fd : fds_) ::close(fd);
    }
    int port() const { return port_; }
    void wait_for_gate() {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return at_gate_; });
    }
    void open_gate() {
        std::lock_guard lock(mu_);
        gate_open_ = true;
        cv_.notify_all();
    }
    int messages() {
        std::lock_guard lock(mu_);
        return messages_;
    }

  private:
    void session(int c) {
        std::string in;
        auto say = [c](const std::string& line) {
            (void)!::send(c, line.data(), line.size(), MSG_NOSIGNAL);
        };
        auto read_line = [&](std::string& line) {
            for (;;) {
                if (auto eol = in.find("\r\n"); eol != std::string::npos) {
                    line = in.substr(0, eol);
                    in.erase(0, eol + 2);
                    return true;
                }
                char buf[65536];
                const ssize_t n = ::recv(c, buf, sizeof buf, 0);
                if (n <= 0) return false;
                in.append(buf, static_cast<std::size_t>(n));
            }
        };
        say("220 sink ESMTP\r\n");
        std::string line;
        while (read_line(line)) {
            const std::string verb = line.substr(0, 4);
            if (verb == "EHLO" || verb == "ehlo") {
                say("250-sink\r\n250 PIPELINING\r\n");
            } else if (verb == "DATA") {
                say("354 go on\r\n");
                while (read_line(line) && line != ".") {
                }
                std::unique_lock lock(mu_);
                if (++messages_ == gate_at_) {
                    at_gate_ = true;
                    cv_.notify_all();
                    cv_.wait(lock, [this] { return gate_open_; });
                }
                lock.unlock();
                say("250 2.0.0 queued\r\n");
            } else if (verb == "QUIT") {
                say("221 bye\r\n");
                break;
            } else {
                say("250 ok\r\n");
            }
        }
        ::shutdown(c, SHUT_RDWR);
    }

    const int gate_at_;
    int listener_ = -1;
    int port_ = 0;
    std::thread acceptor_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::thread> sessions_;
    std::vector<int> fds_;  // closed with the sink
    int messages_ = 0;
    bool at_gate_ = false, gate_open_ = false;
};

// Puts `count` messages into serve's relay over one SMTP session; returns
// how many the relay accepted with 250.
int relay_messages(int port, int count) {
    const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return 0;
    std::string in;
    // The next complete reply (the last line of a multi-line one).
    auto reply = [&]() -> std::string {
        for (;;) {
            for (auto eol = in.find("\r\n"); eol != std::string::npos; eol = in.find("\r\n")) {
                std::string line = in.substr(0, eol);
                in.erase(0, eol + 2);
                if (line.size() < 4 || line[3] != '-') return line;
            }
            char buf[4096];
            const ssize_t n = ::recv(c, buf, sizeof buf, 0);
            if (n <= 0) return "";
            in.append(buf, static_cast<std::size_t>(n));
        }
    };
    auto say = [c](const std::string& s) { (void)!::send(c, s.data(), s.size(), MSG_NOSIGNAL); };
    int accepted = 0;
    (void)reply();
    say("EHLO test\r\n");
    (void)reply();
    for (int i = 0; i < count; ++i) {
        say("MAIL FROM:<device@example.test>\r\n");
        if (reply().rfind("250", 0) != 0) break;
        say("RCPT TO:<bob@example.test>\r\n");
        if (reply().rfind("250", 0) != 0) break;
        say("DATA\r\n");
        if (reply().rfind("354", 0) != 0) break;
        say("Subject: drain " + std::to_string(i) + "\r\n\r\nmessage " + std::to_string(i) +
            "\r\n.\r\n");
        if (reply().rfind("250", 0) == 0) ++accepted;
    }
    say("QUIT\r\n");
    (void)reply();
    ::close(c);
    return accepted;
}

// A connection to ADDRESS:PORT on loopback; -1 when refused.
int connect_to(const std::string& address, int port) {
    const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    ::inet_pton(AF_INET, address.c_str(), &a.sin_addr);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return c;
    ::close(c);
    return -1;
}

// A port that nothing listens on at ADDRESS now (the kernel's pick).
int free_port(const std::string& address) {
    const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    ::inet_pton(AF_INET, address.c_str(), &a.sin_addr);
    socklen_t len = sizeof a;
    int port = 0;
    if (::bind(s, reinterpret_cast<sockaddr*>(&a), len) == 0 &&
        ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0)
        port = ntohs(a.sin_port);
    ::close(s);
    return port;
}

// What the server says next on `c` (up to 4 KB), "" when it closed.
std::string said(int c) {
    char buf[4096];
    const ssize_t n = ::recv(c, buf, sizeof buf, 0);
    return n <= 0 ? std::string{} : std::string(buf, static_cast<std::size_t>(n));
}

// A self-signed pair for 127.0.0.1 in DIR/NAME.{crt,key}; returns the
// certificate's SHA-256 fingerprint as openssl prints it.
std::string make_certificate(const fs::path& dir, const std::string& name) {
    const std::string base = (dir / name).string();
    auto r = run_command(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
        "-days 2 -subj /CN=127.0.0.1 -keyout " +
        base + ".key -out " + base + ".crt 2>&1");
    EXPECT_EQ(r.status, 0) << r.out;
    return run_command("openssl x509 -noout -fingerprint -sha256 -in " + base + ".crt").out;
}

std::string served_fingerprint(const std::string& port, const std::string& address = "127.0.0.1") {
    return run_command("openssl s_client -connect " + address + ":" + port +
                       " </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256")
        .out;
}

TEST_F(ServeService, ReadyOnceUpThenStoppingAndExit0OnSigterm) {
    const std::string ready = start_serve();
    EXPECT_NE(ready.find("READY=1"), std::string::npos) << ready << log();
    EXPECT_NE(ready.find("STATUS=queue: 0 queued"), std::string::npos) << ready;
    EXPECT_FALSE(port().empty()) << "serve says READY=1 before it prints where it listens";
    ::kill(pid_, SIGTERM);
    EXPECT_NE(next_with("STOPPING=1"), "");
    EXPECT_EQ(stop_serve(), 0) << log();
}

TEST_F(ServeService, SighupServesANewCertificateWithoutARestart) {
    const fs::path certs = state_.string() + "-certs";
    fs::create_directories(certs);
    const std::string first = make_certificate(certs, "first");
    const std::string second = make_certificate(certs, "second");
    ASSERT_NE(first, second);
    fs::copy_file(certs / "first.crt", certs / "web.crt");
    fs::copy_file(certs / "first.key", certs / "web.key");
    ASSERT_EQ(pb("config set web.cert " + (certs / "web.crt").string()).status, 0);
    ASSERT_EQ(pb("config set web.key " + (certs / "web.key").string()).status, 0);
    // The relay on implicit TLS serves the same pair.
    ASSERT_EQ(pb("config set relay.listen_tls 127.0.0.1:0").status, 0);

    ASSERT_NE(start_serve().find("READY=1"), std::string::npos) << log();
    const std::string p = port();
    const std::string relay = port("relay_listening");
    ASSERT_FALSE(relay.empty()) << log();
    EXPECT_EQ(served_fingerprint(p), first);
    EXPECT_EQ(served_fingerprint(relay), first);

    // The renewed pair replaces the files in place, as certbot's hooks do.
    fs::copy_file(certs / "second.crt", certs / "web.crt", fs::copy_options::overwrite_existing);
    fs::copy_file(certs / "second.key", certs / "web.key", fs::copy_options::overwrite_existing);
    const pid_t before = pid_;
    ::kill(pid_, SIGHUP);
    // RELOADING=1, then READY=1 once the reload is done (sd_notify(3)).
    EXPECT_NE(next_with("RELOADING=1"), "") << log();
    EXPECT_NE(next_with("READY=1"), "") << log();
    EXPECT_EQ(::waitpid(pid_, nullptr, WNOHANG), 0) << "serve ended on SIGHUP: " << log();
    EXPECT_EQ(pid_, before);
    EXPECT_EQ(served_fingerprint(p), second) << log();
    EXPECT_EQ(served_fingerprint(relay), second) << log();
    EXPECT_NE(log().find("SIGHUP"), std::string::npos);

    EXPECT_EQ(stop_serve(), 0) << log();
    fs::remove_all(certs);
}

// SIGHUP after web.listen and relay.listen changed: both listeners move, the
// old addresses refuse, and a device connected before keeps its session.
TEST_F(ServeService, SighupMovesTheListenersAndKeepsTheConnectionsOpen) {
    const int web_before = free_port("127.0.0.1");
    for (const std::string& kv : {"web.listen 127.0.0.1:" + std::to_string(web_before),
                                  std::string("relay.listen 127.0.0.1:0"),
                                  std::string("relay.allowed_networks 127.0.0.0/8")})
        ASSERT_EQ(pb("config set " + kv).status, 0) << kv;
    ASSERT_NE(start_serve(false).find("READY=1"), std::string::npos) << log();
    ASSERT_EQ(port(), std::to_string(web_before)) << log();
    const int relay_before = std::stoi(port("relay_listening"));

    const int device = connect_to("127.0.0.1", relay_before);
    ASSERT_GE(device, 0);
    ASSERT_EQ(said(device).rfind("220 ", 0), 0u);

    const int web_after = free_port("127.0.0.2"), relay_after = free_port("127.0.0.2");
    ASSERT_EQ(pb("config set web.listen 127.0.0.2:" + std::to_string(web_after)).status, 0);
    ASSERT_EQ(pb("config set relay.listen 127.0.0.2:" + std::to_string(relay_after)).status, 0);
    ::kill(pid_, SIGHUP);
    EXPECT_NE(next_with("RELOADING=1"), "") << log();
    EXPECT_NE(next_with("READY=1"), "") << log();

    EXPECT_EQ(connect_to("127.0.0.1", relay_before), -1) << "the old relay address still accepts";
    EXPECT_EQ(connect_to("127.0.0.1", web_before), -1)
        << "the old Web Config address still accepts";
    const int moved = connect_to("127.0.0.2", relay_after);
    ASSERT_GE(moved, 0) << log();
    EXPECT_EQ(said(moved).rfind("220 ", 0), 0u);
    ::close(moved);
    EXPECT_NE(served_fingerprint(std::to_string(web_after), "127.0.0.2"), "") << log();
    const std::string noop = "NOOP\r\n";
    ASSERT_EQ(::send(device, noop.data(), noop.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(noop.size()));
    EXPECT_EQ(said(device).rfind("250 ", 0), 0u) << "the device's session was dropped";
    ::close(device);
    EXPECT_EQ(stop_serve(), 0) << log();
}

// SIGTERM while a batch is on the wire: serve stops listening, lets the
// batch finish, puts back what it had taken ahead, and exits 0; every one of
// the 500 jobs is then sent (the sink has it) or still queued, none lost,
// none left `sending`.
TEST_F(ServeService, SigtermInTheMiddleOf500MessagesLosesNothingAndExits0) {
    Sink sink(100);
    ASSERT_GT(sink.port(), 0);
    for (const std::string& kv : std::vector<std::string>{
             "email.auth_method off", "email.smtp.host 127.0.0.1",
             "email.smtp.port " + std::to_string(sink.port()), "email.smtp.security none",
             "email.sender device@example.test", "email.delivery.concurrency 1",
             "email.delivery.rate_limit 0",  // the preset's 30 a minute: minutes for 100
             "relay.allowed_networks 127.0.0.0/8", "relay.dsn false", "relay.listen 127.0.0.1:0"}) {
        auto r = pb("config set " + kv);
        ASSERT_EQ(r.status, 0) << kv << ": " << r.out;
    }
    ASSERT_NE(start_serve().find("READY=1"), std::string::npos) << log();
    const std::string relay_port = port("relay_listening");
    ASSERT_FALSE(relay_port.empty()) << run_command("cat " + out_).out << log();
    // Fifty a session, as a device would send them (a relay session takes
    // only so many).
    int relayed = 0;
    for (int i = 0; i < 10; ++i) relayed += relay_messages(std::stoi(relay_port), 50);
    ASSERT_EQ(relayed, 500) << log();

    sink.wait_for_gate();    // a batch is on the wire
    notify_.skip_pending();  // STATUS= lines: a full socket would lose STOPPING=1
    ::kill(pid_, SIGTERM);
    EXPECT_NE(next_with("STOPPING=1"), "");
    sink.open_gate();
    EXPECT_EQ(stop_serve(), 0) << log();

    int sent = 0, queued = 0, other = 0;
    std::istringstream jobs(pb("jobs --json --limit 1000").out);
    for (std::string line; std::getline(jobs, line);) {
        if (line.find("\"state\":\"sent\"") != std::string::npos)
            ++sent;
        else if (line.find("\"state\":\"queued\"") != std::string::npos)
            ++queued;
        else
            ++other;
    }
    EXPECT_EQ(sent + queued, 500) << "other: " << other;
    EXPECT_EQ(other, 0);
    EXPECT_GE(sent, 100);
    EXPECT_GT(queued, 0) << "serve delivered everything: SIGTERM came too late to test a drain";
    EXPECT_EQ(sink.messages(), sent) << "a message was sent twice, or one sent is not recorded";
}

// An administrator's `sudo postbridge config set` on the service's state:
// the command becomes the state's owner first, so every file stays the
// service's (a root-owned database would stop the service from starting).
TEST_F(ServeService, RootConfigSetOnTheServicesStateLeavesNoRootFile) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: the test runs a command as root";
    const passwd* nobody = ::getpwnam("nobody");
    if (nobody == nullptr) GTEST_SKIP() << "no user 'nobody' to own the state";
    // The service made its state (as the service's user)...
    fs::create_directories(state_);
    ASSERT_EQ(::chown(state_.c_str(), nobody->pw_uid, nobody->pw_gid), 0);
    ASSERT_EQ(run_command("setpriv --reuid=nobody --regid=" + std::to_string(nobody->pw_gid) +
                          " --clear-groups " + binary_path() + " --state " + state_.string() +
                          " config set email.smtp.port 2525 2>&1")
                  .status,
              0);
    // ... and root changes a setting on it.
    auto r = pb("config set email.smtp.port 2526");
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(pb("config get email.smtp.port").out, "2526\n");
    for (const auto& e : fs::recursive_directory_iterator(state_)) {
        struct stat st {};
        ASSERT_EQ(::lstat(e.path().c_str(), &st), 0);
        EXPECT_EQ(st.st_uid, nobody->pw_uid) << e.path() << " is not the state owner's";
    }
}

}  // namespace
}  // namespace pb::test
