// The fault matrix: each fault a device meets on its way to the SMTP server,
// on each path a message takes, ends in the right code and remedy, loses
// nothing accepted, and duplicates only what the protocol cannot help (a
// connection lost after the final dot). The faults are made by
// tests/faults/proxy.mjs between postbridge and the real SMTP server, so
// they hit real exchanges: TLS, XOAUTH2 checked at the OAuth server.
//
// Each cell checks its row of docs/faults.md, so the table cannot drift
// from what postbridge does: a changed code or remedy fails its cell until
// the table says so too. PB_FAULTS_PRINT=1 prints the rows as they are.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>

#include "cli/cli_with_peers.hpp"
#include "core/clock.hpp"
#include "service/tokens.hpp"
#include "storage/backends.hpp"
#include "support/serve_process.hpp"

namespace pb::test {
namespace {

// A helper process of one cell (a proxy, a lock holder), started with its
// fault and killed at the end. It says one line once its fault holds (the
// proxies: {"port":N,...}); the IdP proxy then acknowledges each arm
// (SIGUSR1) and disarm (SIGUSR2) with a line, which arm() and disarm() wait
// for.
class Child {
  public:
    explicit Child(const std::string& command) {
        int out[2];
        if (::pipe(out) != 0) return;
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(out[1], 1);
            ::close(out[0]);
            ::close(out[1]);
            ::execl("/bin/sh", "sh", "-c", ("exec " + command).c_str(),
                    static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ::close(out[1]);
        out_ = out[0];
        first_ = next_line();
        const auto j = nlohmann::json::parse(first_, nullptr, false);
        if (j.is_object()) {
            port_ = std::to_string(j.value("port", 0));
            issuer_ = j.value("issuer", "");
        }
    }
    // A proxy of tests/faults, run by the peers' node.
    static std::unique_ptr<Child> proxy(const std::string& script, const std::string& args) {
        return std::make_unique<Child>("'" + Peers::get().at("PB_NODE") + "' '" + source_dir() +
                                       "/tests/faults/" + script + "' " + args);
    }
    ~Child() {
        if (out_ >= 0) ::close(out_);
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    const std::string& first_line() const { return first_; }
    const std::string& port() const { return port_; }
    const std::string& issuer() const { return issuer_; }
    void arm() { signal(SIGUSR1, "armed"); }
    void disarm() { signal(SIGUSR2, "disarmed"); }
    // Until it says `line` next (proxy.mjs's "holding").
    void expect(const std::string& line) {
        ASSERT_EQ(next_line(), line) << "the helper did not say " << line;
    }

  private:
    std::string next_line() {
        std::string line;
        char c = 0;
        while (out_ >= 0 && ::read(out_, &c, 1) == 1 && c != '\n') line += c;
        return line;
    }
    void signal(int sig, const std::string& ack) {
        ASSERT_GT(pid_, 0);
        ::kill(pid_, sig);
        ASSERT_EQ(next_line(), ack) << "the proxy did not acknowledge";
    }

    pid_t pid_ = -1;
    int out_ = -1;
    std::string first_;
    std::string port_;
    std::string issuer_;
};

// Until `done()` holds: checked at once, then at each change in `dir` (a
// file in it created, written or moved in), for at most `limit`. Waits on
// events (inotify), never on time. Whether it held.
bool await_change(const fs::path& dir, const std::function<bool()>& done,
                  std::chrono::seconds limit) {
    const int fd = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    EXPECT_GE(fd, 0) << "inotify_init1";
    if (fd < 0) return done();
    // Watched before the first check, so no change falls between the two.
    EXPECT_GE(
        ::inotify_add_watch(fd, dir.c_str(), IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO),
        0)
        << dir;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    bool held = done();
    while (!held) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd changed{fd, POLLIN, 0};
        if (::poll(&changed, 1, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
        alignas(inotify_event) char events[4096];
        while (::read(fd, events, sizeof events) > 0) {
        }
        held = done();
    }
    ::close(fd);
    return held;
}

// How many messages the SMTP server delivered (its maildir's new/) contain
// `needle`; one cut short stays in tmp/, never delivered.
int copies_in_maildir(const std::string& needle) {
    const fs::path dir = fs::path(Peers::get().at("PB_MAILDIR")) / "new";
    int n = 0;
    if (!fs::exists(dir)) return 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (!e.is_regular_file() || e.path().string().ends_with(".envelope.json")) continue;
        std::ifstream in(e.path(), std::ios::binary);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (text.find(needle) != std::string::npos) ++n;
    }
    return n;
}

// Whether tests/faults/isolate.py can make its namespace here: as root, or
// where unprivileged user namespaces are allowed (Debian's default). Where
// not, its cells are skipped, saying why; in CI that is a failure.
bool namespaces_allowed() {
    static const bool allowed = [] {
        auto r = run_command("python3 " + source_dir() + "/tests/faults/isolate.py -- true 2>&1");
        // CI runs as root: there the cells must run, never skip unseen.
        if (std::getenv("CI") != nullptr) {
            EXPECT_EQ(r.status, 0) << r.out;
        }
        return r.status == 0;
    }();
    return allowed;
}
const char* const kNoNamespaces =
    "isolate.py cannot make a mount namespace here (not root, and unprivileged user namespaces "
    "are off: sysctl kernel.unprivileged_userns_clone=1)";

// Where a cell's fault is made: between postbridge and the SMTP server
// (proxy.mjs), or between postbridge and the OAuth server (idp_proxy.mjs),
// met by the refresh of an access token that has expired, or in the name
// lookup of the SMTP server's name, made where names are not found
// (tests/faults/isolate.py --no-dns).
enum class Part { smtp, idp, dns };

// A cell's expectation, and its row in docs/faults.md.
struct Cell {
    Part part;
    std::string fault;             // the proxy's fault
    std::string name;              // the fault as the table names it
    int code;                      // the job's code after the attempt
    std::string remedy;            // a phrase the remedy must contain (the part that failed)
    bool delivered;                // the server has the message although the job failed
    std::string state = "queued";  // the job's state after the attempt
};

std::string what_next(const Cell& c) {
    if (c.delivered) return "queued, flagged maybe-duplicate; the resend may duplicate it";
    if (c.state == "held")
        return "held until the profile is signed in again; nothing lost, no duplicate";
    return "queued, retried with backoff; nothing lost, no duplicate";
}

std::string row(const Cell& c, const std::string& path, const nlohmann::json& job) {
    return "| " + c.name + " | " + path + " | " + std::to_string(c.code) + " | " +
           job.value("status", "") + " " + job.value("remedy", "") + " | " + what_next(c) + " |";
}

void check_row(const std::string& r) {
    if (std::getenv("PB_FAULTS_PRINT") != nullptr) std::cout << r << "\n";
    std::ifstream in(source_dir() + "/docs/faults.md");
    const std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(doc.find(r), std::string::npos)
        << "docs/faults.md does not have this row (PB_FAULTS_PRINT=1 prints them):\n"
        << r;
}

void PrintTo(const Cell& c, std::ostream* os) {
    *os << c.fault;
}

// What every group of cells shares: a signed-in profile, its SMTP server
// pointed at, and its jobs read as `jobs show --json` gives them.
class MatrixBase : public CliWithPeers {
  protected:
    void sign_in() {
        auto lines = signin_as_user("approve");
        ASSERT_FALSE(lines.empty());
        ASSERT_EQ(lines.back().dump(), "0") << "the sign-in failed";
    }
    void point_at(const std::string& port) {
        ASSERT_EQ(pb("config set email.smtp.port " + port).status, 0);
    }
    // An SMTP server that refuses every connection (proxy.mjs's closed
    // port), for a job deferred with 602.
    static std::unique_ptr<Child> refusing_server() {
        const std::string certs = Peers::get().at("PB_CERT_DIR");
        auto refusing =
            Child::proxy("proxy.mjs", "--target-port 1 --cert '" + certs + "/server.pem' --key '" +
                                          certs + "/server.key' --fault refuse");
        EXPECT_FALSE(refusing->port().empty()) << "the SMTP proxy did not start";
        return refusing;
    }
    // The newest job, which must be the one with `subject`; its number.
    std::string newest_job(const std::string& subject) {
        auto list = pb("jobs --json");
        auto first = nlohmann::json::parse(list.out.substr(0, list.out.find('\n')), nullptr, false);
        if (first.is_array() && !first.empty()) first = first[0];
        EXPECT_TRUE(first.is_object()) << list.out;
        if (!first.is_object()) return "0";
        EXPECT_EQ(first.value("subject", ""), subject);
        return std::to_string(first.value("job", 0));
    }
    // Until serve's first attempt at the job is recorded (at most 60 s: an
    // OAuth server that never answers takes 30): looked at whenever the
    // state directory (the database's write-ahead log) changes.
    void await_first_attempt(const std::string& id) { await_attempts(id, 1); }
    void await_attempts(const std::string& id, int attempts,
                        std::chrono::seconds limit = std::chrono::seconds{60}) {
        await_change(
            state_,
            [&] {
                const auto j = job(id);
                return j.value("attempts", 0) >= attempts && j.value("state", "") != "sending";
            },
            limit);
    }
    nlohmann::json job(const std::string& id) {
        auto r = pb("jobs show " + id + " --json");
        return nlohmann::json::parse(r.out, nullptr, false);
    }
    // A message file for sendmail -t, `lines` lines long.
    fs::path message(const std::string& subject, int lines) {
        const fs::path file = state_ / (subject + ".eml");
        std::ofstream out(file, std::ios::binary);
        out << "From: alice@example.test\nTo: bob@example.test\nSubject: " << subject << "\n\n";
        for (int i = 0; i < lines; ++i) out << "a line of a long report, " << i << "\n";
        return file;
    }
};

class FaultMatrix : public MatrixBase, public ::testing::WithParamInterface<Cell> {
  protected:
    void SetUp() override {
        if (GetParam().part == Part::dns && !namespaces_allowed()) GTEST_SKIP() << kNoNamespaces;
        CliWithPeers::SetUp();
        // A server that never speaks fails the attempt in seconds, not the
        // RFC 5321 five minutes.
        ASSERT_EQ(pb("config set email.smtp.timeout 5s").status, 0);
        if (GetParam().part == Part::idp) {
            // The profile's OAuth server is the proxy, from the sign-in on.
            idp_ = Child::proxy("idp_proxy.mjs", "--target " + Peers::get().at("PB_OIDC_ISSUER") +
                                                     " --fault " + GetParam().fault);
            ASSERT_FALSE(idp_->issuer().empty()) << "the IdP proxy did not start";
            ASSERT_EQ(pb("config set email.oauth.issuer " + idp_->issuer()).status, 0);
        }
        sign_in();
    }
    // The cell's fault, made: the SMTP proxy started and the profile's
    // server set to it, or the access token expired and the IdP proxy armed.
    void start_fault(const Cell& c) {
        if (c.part == Part::idp) {
            expire_access_token();
            idp_->arm();
            return;
        }
        if (c.part == Part::dns) {
            ASSERT_EQ(pb("config set email.smtp.host smtp.example.test").status, 0);
            return;
        }
        const auto& p = Peers::get();
        smtp_ =
            Child::proxy("proxy.mjs", "--target-port " + p.at("PB_SMTP_PORT") + " --cert '" +
                                          p.at("PB_CERT_DIR") + "/server.pem' --key '" +
                                          p.at("PB_CERT_DIR") + "/server.key' --fault " + c.fault);
        ASSERT_FALSE(smtp_->port().empty()) << "the SMTP proxy did not start";
        point_at(smtp_->port());
    }
    // The stored access token, as it is an hour after the last refresh.
    void expire_access_token() {
        SystemClock clock;
        SystemRandom rng;
        auto store = storage::open_store(state_, rng, clock);
        ASSERT_TRUE(store) << store.error().describe();
        service::SealedTokenStore tokens(**store);
        auto stored = tokens.load("email");
        ASSERT_TRUE(stored && *stored) << "no sign-in is stored";
        oauth::TokenSet set = **stored;
        set.access_expires_at = clock.now() - std::chrono::seconds{1};
        ASSERT_TRUE(tokens.save("email", set).ok());
    }
    void check(const Cell& c, const std::string& path, const std::string& id,
               const std::string& subject);
    // After the fault: the servers as they are, and the job retried by hand
    // and the queue run, or, where the grant was refused, a new sign-in; it
    // must arrive, once more.
    void heal_and_flush(const Cell& c, const std::string& id) {
        if (c.part == Part::idp) {
            idp_->disarm();
        } else if (c.part == Part::dns) {
            ASSERT_EQ(pb("config set email.smtp.host 127.0.0.1").status, 0);
        } else {
            point_at(Peers::get().at("PB_SMTP_PORT"));
        }
        if (c.state == "held") {
            // The manual: a held job goes out once the profile is signed in
            // again, with nothing else to do.
            sign_in();
            EXPECT_EQ(job(id).value("state", ""), "sent");
            return;
        }
        auto retry = pb("jobs retry " + id);
        ASSERT_EQ(retry.status, 0) << retry.out;
        auto flush = pb("flush");
        ASSERT_EQ(flush.status, 0) << flush.out;
        EXPECT_EQ(job(id).value("state", ""), "sent");
    }

    // What the cell's postbridge runs under: for a DNS cell, where no name
    // is found (and no query can leave the machine).
    static std::string isolated(const Cell& c) {
        return c.part == Part::dns
                   ? "python3 " + source_dir() + "/tests/faults/isolate.py --no-dns -- "
                   : std::string();
    }
    CommandResult pb_under(const Cell& c, const std::string& args) {
        return run_command(isolated(c) + binary_path() + " --state " + state_.string() + " " +
                           args + " 2>&1");
    }

    std::unique_ptr<Child> idp_;
    std::unique_ptr<Child> smtp_;
};

// The relay's port, as serve's JSON log names it.
std::string relay_port(const fs::path& log) {
    std::string port;
    std::ifstream in(log);
    for (std::string line; std::getline(in, line);) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_object() && j.value("event", "") == "relay_listening") {
            const std::string a = j.value("address", "");
            port = a.substr(a.rfind(':') + 1);
        }
    }
    return port;
}

// A legacy device handing a scan of `lines` lines (120000: 3 MB) to the relay
// at `port`: Python's smtplib, as test-peers.md's reference client; the
// script, and its run, whose output is the reply it got when the relay
// refused.
fs::path device_script(const std::string& port, const std::string& subject, const fs::path& dir,
                       int lines = 120000) {
    const std::string device =
        "import smtplib, sys\n"
        "body = ''.join('a line of a scan, %d\\r\\n' % i for i in range(" +
        std::to_string(lines) +
        "))\n"
        "msg = 'From: scanner@example.test\\r\\nTo: bob@example.test\\r\\nSubject: " +
        subject +
        "\\r\\n\\r\\n' + body\n"
        "s = smtplib.SMTP('127.0.0.1', " +
        port +
        ")\n"
        "try:\n"
        "    s.sendmail('scanner@example.test', ['bob@example.test'], msg)\n"
        "except smtplib.SMTPResponseException as e:\n"
        "    print(e.smtp_code, e.smtp_error.decode())\n"
        "    sys.exit(1)\n"
        "s.quit()\n";
    const fs::path script = dir / "device.py";
    std::ofstream(script) << device;
    return script;
}

CommandResult device_sends(const std::string& port, const std::string& subject, const fs::path& dir,
                           int lines = 120000) {
    return run_command("python3 " + device_script(port, subject, dir, lines).string() + " 2>&1");
}

// A 3 MB scan: more than the sockets hold, so a cut during DATA finds the
// client still sending the body, not waiting after its final dot. (`bytes`:
// smaller, where the fault is met before the message.)
fs::path make_scan(const fs::path& dir, std::size_t bytes = 3 << 20) {
    const fs::path scan = dir / "scan.pdf";
    std::ofstream(scan, std::ios::binary) << std::string(bytes, 'P');
    return scan;
}

// The size of a cell's message: 3 MB where the SMTP exchange is cut (it
// must be mid-body when cut during DATA), 64 KB where the fault comes
// before any message is sent (the OAuth server, DNS), which keeps CI's
// sanitizer builds quick. Lines of a report or a relayed scan alike.
std::size_t scan_bytes(const Cell& c) {
    return c.part == Part::smtp ? std::size_t{3} << 20 : std::size_t{64} << 10;
}
int report_lines(const Cell& c) {
    return c.part == Part::smtp ? 120000 : 2500;
}

std::string unique_subject(const Cell& c, const std::string& path) {
    std::string s = "fault-" + c.fault + "-" + path + "-" + std::to_string(::getpid());
    for (char& ch : s)
        if (std::isalnum(static_cast<unsigned char>(ch)) == 0 && ch != '-') ch = '-';
    return s;
}

// What every cell asserts of its job once the faulty attempt is over, then
// that the job goes out once the server is reachable again.
void FaultMatrix::check(const Cell& c, const std::string& path, const std::string& id,
                        const std::string& subject) {
    const auto j = job(id);
    EXPECT_EQ(j.value("state", ""), c.state) << j.dump();
    EXPECT_EQ(j.value("code", 0), c.code) << j.dump();
    EXPECT_NE(j.value("remedy", "").find(c.remedy), std::string::npos) << j.dump();
    EXPECT_EQ(j.value("maybe_duplicate", false), c.delivered) << j.dump();
    EXPECT_EQ(copies_in_maildir(subject), c.delivered ? 1 : 0);
    check_row(row(c, path, j));

    heal_and_flush(c, id);
    EXPECT_EQ(copies_in_maildir(subject), c.delivered ? 2 : 1)
        << "nothing accepted is lost; only a message cut after its final dot comes twice";
}

// `postbridge send --wait`: the CLI delivers the job itself (no serve).
TEST_P(FaultMatrix, SendWait) {
    const Cell& c = GetParam();
    start_fault(c);
    const std::string subject = unique_subject(c, "send");
    auto r =
        pb_under(c, "send --to bob@example.test --subject '" + subject + "' --body x --attach " +
                        make_scan(state_, scan_bytes(c)).string() + " --wait --json");
    EXPECT_EQ(r.status, 75) << r.out;  // EX_TEMPFAIL: accepted, not yet sent
    check(c, "send --wait", newest_job(subject), subject);
}

// sendmail, as cron and scripts call it (no serve): it queues the message
// and delivers it itself; a failure leaves the job queued.
TEST_P(FaultMatrix, Sendmail) {
    const Cell& c = GetParam();
    start_fault(c);
    const std::string subject = unique_subject(c, "sendmail");
    auto r = run_command(isolated(c) + binary_path() + " --state " + state_.string() +
                         " sendmail -t < " + message(subject, report_lines(c)).string() + " 2>&1");
    // Accepted into the queue: 0, as Postfix's sendmail; the delivery that
    // failed is the job's to tell.
    EXPECT_EQ(r.status, 0) << r.out;
    check(c, "sendmail", newest_job(subject), subject);
}

// serve's delivery: `send` queues the job and serve's engine makes the
// attempt; the cell ends once that attempt is recorded.
TEST_P(FaultMatrix, ServeDelivery) {
    const Cell& c = GetParam();
    start_fault(c);
    const std::string subject = unique_subject(c, "serve");
    std::string id;
    {
        ServeProcess serve(state_, state_.string() + ".serve.log", isolated(c));
        serve.start();
        auto r = pb("send --to bob@example.test --subject '" + subject + "' --body x --attach " +
                    make_scan(state_, scan_bytes(c)).string() + " --json");
        ASSERT_EQ(r.status, 0) << r.out;
        id = newest_job(subject);
        await_first_attempt(id);
        serve.kill(SIGTERM);
    }
    EXPECT_EQ(job(id).value("attempts", 0), 1);
    check(c, "serve", id, subject);
}

// The relay: a legacy device hands a 3 MB scan to serve's relay over
// plain SMTP from an allowed network (no AUTH), and serve delivers it.
TEST_P(FaultMatrix, Relay) {
    const Cell& c = GetParam();
    start_fault(c);
    ASSERT_EQ(pb("config set relay.allowed_networks 127.0.0.1/32").status, 0);
    const std::string subject = unique_subject(c, "relay");
    const fs::path log = state_.string() + ".serve.log";
    std::string id;
    {
        ServeProcess serve(state_, log.string(), isolated(c));
        serve.start("--json --relay 127.0.0.1:0");
        const std::string port = relay_port(log);
        ASSERT_FALSE(port.empty()) << "serve named no relay address";
        auto r = device_sends(port, subject, state_, report_lines(c));
        ASSERT_EQ(r.status, 0) << "the relay did not take the scan: " << r.out;
        id = newest_job(subject);
        await_first_attempt(id);
        serve.kill(SIGTERM);
    }
    EXPECT_EQ(job(id).value("attempts", 0), 1);
    check(c, "relay", id, subject);
}

// The part each remedy must name: the server's address and port, or the
// email server that hung up.
const char* const kAddress = "SMTP Server Address and Port Number";
const char* const kServer = "email server (SMTP Server Address)";
const char* const kStep = "names the step that timed out";
const Cell kCells[] = {
    {Part::smtp, "refuse", "SMTP server refuses the connection", 602, kAddress, false},
    {Part::smtp, "silent", "SMTP server never sends its greeting", 603, kStep, false},
    {Part::smtp, "after:EHLO", "connection dropped after EHLO", 641, kServer, false},
    {Part::smtp, "after:STARTTLS", "connection dropped after STARTTLS", 641, kServer, false},
    {Part::smtp, "after:AUTH", "connection dropped after AUTH", 641, kServer, false},
    {Part::smtp, "after:MAIL", "connection dropped after MAIL", 641, kServer, false},
    {Part::smtp, "after:RCPT", "connection dropped after RCPT", 641, kServer, false},
    {Part::smtp, "during:DATA", "connection dropped during DATA", 641, kServer, false},
    {Part::smtp, "after:DOT", "connection dropped after the final dot", 641, kServer, true},
};

std::string cell_name(const ::testing::TestParamInfo<Cell>& info) {
    std::string n = info.param.fault;
    for (char& ch : n)
        if (std::isalnum(static_cast<unsigned char>(ch)) == 0) ch = '_';
    return n;
}

INSTANTIATE_TEST_SUITE_P(Smtp, FaultMatrix, ::testing::ValuesIn(kCells), cell_name);

// The OAuth server's faults, met by the refresh of an expired access token.
const char* const kIdp = "sign-in service";
const char* const kCloud = "Sign in to the cloud service";  // the manual's words for 370
const Cell kIdpCells[] = {
    {Part::idp, "refuse", "OAuth server refuses the connection", 642, kIdp, false},
    {Part::idp, "silent", "OAuth server never answers", 642, kIdp, false},
    {Part::idp, "500", "OAuth server answers 500", 642, kIdp, false},
    {Part::idp, "html", "OAuth server answers HTML instead of JSON", 642, kIdp, false},
    {Part::idp, "invalid_grant", "OAuth server answers invalid_grant", 370, kCloud, false, "held"},
};

INSTANTIATE_TEST_SUITE_P(Idp, FaultMatrix, ::testing::ValuesIn(kIdpCells), cell_name);

// The SMTP server's name, looked up where it is not found.
const char* const kName = "SMTP Server Address and the DNS server";
const Cell kDnsCells[] = {
    {Part::dns, "fails", "DNS lookup of the SMTP server fails", 601, kName, false},
};

INSTANTIATE_TEST_SUITE_P(Dns, FaultMatrix, ::testing::ValuesIn(kDnsCells), cell_name);

// The faults at which nothing can be accepted: there is no job, and each
// path says so (651, or a temporary reply to the device) and keeps nothing;
// the same send, tried again once the fault is gone, goes out once.
class NotAccepted : public MatrixBase {
  protected:
    void SetUp() override {
        CliWithPeers::SetUp();
        sign_in();
    }
    // The first line `said`, with the state directory's name as STATE, in
    // the row of docs/faults.md of `fault` on `path`.
    void check_row(const std::string& fault, const std::string& path, const std::string& code,
                   const std::string& said, const std::string& next = not_accepted("sender")) {
        std::string shown = said.substr(0, said.find('\n'));
        for (auto at = shown.find(state_.string()); at != std::string::npos;
             at = shown.find(state_.string()))
            shown.replace(at, state_.string().size(), "STATE");
        test::check_row("| " + fault + " | " + path + " | " + code + " | " + shown + " | " + next +
                        " |");
    }
    static std::string not_accepted(const std::string& who) {
        return "not accepted: nothing queued, the " + who + " tries again";
    }
    // Nothing was accepted: no job (of `subject`, when given).
    void expect_no_job(const std::string& subject = "") {
        auto list = pb("jobs --json");
        EXPECT_EQ(list.status, 0) << list.out;
        const std::string needle = subject.empty() ? "\"job\"" : "\"" + subject + "\"";
        EXPECT_EQ(list.out.find(needle), std::string::npos) << list.out;
    }
    std::string sendmail_command(const fs::path& message) {
        return binary_path() + " --state " + state_.string() + " sendmail -t < " +
               message.string() + " 2>&1";
    }
    // Until the SMTP server has a message with `subject` (at most 30 s).
    static void await_delivery(const std::string& subject) {
        await_change(
            fs::path(Peers::get().at("PB_MAILDIR")) / "new",
            [&] { return copies_in_maildir(subject) > 0; }, std::chrono::seconds{30});
    }
};

// The state database locked by another process for longer than
// postbridge waits (10 s): a Python sqlite3 connection inside BEGIN
// EXCLUSIVE, as an administrator's sqlite3 shell left in a transaction
// would hold it.
class LockedState : public NotAccepted {
  protected:
    void lock() {
        holder_ = std::make_unique<Child>(
            "python3 -c 'import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute(\"BEGIN EXCLUSIVE\")\n"
            "print(\"locked\", flush=True)\n"
            "time.sleep(3600)' " +
            (state_ / "postbridge.db").string());
        ASSERT_EQ(holder_->first_line(), "locked");
    }
    void unlock() { holder_.reset(); }
    void check_row(const std::string& path, const std::string& said) {
        EXPECT_NE(said.find("(code 651)"), std::string::npos) << said;
        NotAccepted::check_row(kLocked, path, "651", said);
    }
    static constexpr const char* kLocked = "the state database locked by another process";

    std::unique_ptr<Child> holder_;
};

TEST_F(LockedState, SendWait) {
    const std::string subject = "fault-locked-send-" + std::to_string(::getpid());
    const std::string send = "send --to bob@example.test --subject " + subject + " --body x --wait";
    lock();
    auto r = pb(send);
    EXPECT_EQ(r.status, 75) << r.out;  // not accepted: try again later
    check_row("send --wait", r.out);
    unlock();
    expect_no_job();
    EXPECT_EQ(pb(send).status, 0);
    EXPECT_EQ(copies_in_maildir(subject), 1);
}

TEST_F(LockedState, Sendmail) {
    const std::string subject = "fault-locked-sendmail-" + std::to_string(::getpid());
    const std::string sendmail = sendmail_command(message(subject, 1));
    lock();
    auto r = run_command(sendmail);
    EXPECT_EQ(r.status, 75) << r.out;  // EX_TEMPFAIL: cron's mail says so
    check_row("sendmail", r.out);
    unlock();
    expect_no_job();
    EXPECT_EQ(run_command(sendmail).status, 0);
    EXPECT_EQ(copies_in_maildir(subject), 1);
}

// serve starting while the lock is held cannot open its queue: it says so
// and exits 1, and systemd starts it again (Restart=on-failure; each try
// waits out the 10 s first). Once the lock is gone it starts, and the job
// queued before goes out.
TEST_F(LockedState, ServeDelivery) {
    const std::string subject = "fault-locked-serve-" + std::to_string(::getpid());
    ASSERT_EQ(pb("send --to bob@example.test --subject " + subject + " --body x").status, 0);
    const std::string id = newest_job(subject);
    lock();
    auto r = pb("serve --web 127.0.0.1:0");
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_NE(r.out.find("(code 651)"), std::string::npos) << r.out;
    NotAccepted::check_row(kLocked, "serve", "651", r.out.substr(r.out.rfind("postbridge: ")),
                           "serve exits 1 and systemd starts it again (Restart=on-failure); the "
                           "queued job waits and goes out once serve is up");
    unlock();
    EXPECT_EQ(job(id).value("state", ""), "queued");
    {
        ServeProcess serve(state_, state_.string() + ".serve.log");
        serve.start();
        await_first_attempt(id);
        serve.kill(SIGTERM);
    }
    EXPECT_EQ(job(id).value("state", ""), "sent");
    EXPECT_EQ(copies_in_maildir(subject), 1);
}

// The lock taken while serve runs, between a job's attempts: its delivery
// cannot claim the job when the retry falls due. serve stays up, says so
// in its log (once a minute, not at every pass), and the job waits, queued;
// once the lock is gone the job goes out, once.
TEST_F(LockedState, WhileServeDelivers) {
    const std::string subject = "fault-locked-running-serve-" + std::to_string(::getpid());
    const auto refusing = refusing_server();
    point_at(refusing->port());
    const fs::path log = state_.string() + ".serve.log";
    ServeProcess serve(state_, log.string());
    serve.start();
    ASSERT_EQ(pb("send --to bob@example.test --subject " + subject + " --body x").status, 0);
    const std::string id = newest_job(subject);
    await_first_attempt(id);
    ASSERT_EQ(job(id).value("code", 0), 602);
    // The server back (for serve), and then the lock, before the retry (30
    // to 60 s on).
    point_at(Peers::get().at("PB_SMTP_PORT"));
    serve.reload();
    lock();
    const auto lock_lines = [&] {
        std::ifstream in(log);
        int n = 0;
        for (std::string line; std::getline(in, line);)
            if (line.find("locked for longer than") != std::string::npos) ++n;
        return n;
    };
    ASSERT_TRUE(await_change(
        log.parent_path(), [&] { return lock_lines() > 0; }, std::chrono::seconds{120}))
        << "serve's delivery never met the lock";
    std::string said;
    {
        std::ifstream in(log);
        for (std::string line; std::getline(in, line);)
            if (line.find("locked for longer than") != std::string::npos) said = line;
    }
    unlock();
    EXPECT_EQ(job(id).value("state", ""), "queued");
    await_attempts(id, 2, std::chrono::seconds{120});
    serve.kill(SIGTERM);
    EXPECT_EQ(job(id).value("state", ""), "sent") << job(id).dump();
    EXPECT_EQ(copies_in_maildir(subject), 1);
    EXPECT_LE(lock_lines(), 2) << "serve flooded its log with the lock";
    // The line as serve wrote it, from its code on (its time stamp and
    // level before it vary).
    said = said.substr(said.find("delivery: "));
    for (auto at = said.find(state_.string()); at != std::string::npos;
         at = said.find(state_.string()))
        said.replace(at, state_.string().size(), "STATE");
    NotAccepted::check_row(std::string(kLocked) + " while serve runs", "serve", "651", said,
                           "serve stays up and writes this once a minute; the job waits, queued, "
                           "and goes out once the lock is gone: nothing lost, no duplicate");
}

// The device gets a temporary refusal to the end of its DATA and keeps its
// scan; sent again once the lock is gone, it arrives once.
TEST_F(LockedState, Relay) {
    ASSERT_EQ(pb("config set relay.allowed_networks 127.0.0.1/32").status, 0);
    const std::string subject = "fault-locked-relay-" + std::to_string(::getpid());
    const fs::path log = state_.string() + ".serve.log";
    ServeProcess serve(state_, log.string());
    serve.start("--json --relay 127.0.0.1:0");
    const std::string port = relay_port(log);
    ASSERT_FALSE(port.empty()) << "serve named no relay address";
    lock();
    auto r = device_sends(port, subject, state_);
    EXPECT_EQ(r.status, 1) << "the relay took the scan with its database locked: " << r.out;
    EXPECT_EQ(r.out.substr(0, 1), "4") << r.out;  // temporary: the device tries again
    unlock();
    // No job, so no job code: the device's reply is what there is to see.
    NotAccepted::check_row(kLocked, "relay", "451", r.out, not_accepted("device"));
    ASSERT_EQ(device_sends(port, subject, state_).status, 0);
    const std::string id = [&] {
        auto list = pb("jobs --json");
        auto j = nlohmann::json::parse(list.out.substr(0, list.out.find('\n')), nullptr, false);
        if (j.is_array() && !j.empty()) j = j[0];
        return j.is_object() ? std::to_string(j.value("job", 0)) : std::string("0");
    }();
    await_delivery(subject);
    serve.kill(SIGTERM);
    EXPECT_EQ(copies_in_maildir(subject), 1);
    EXPECT_EQ(id, "1") << "the refused scan left a job behind";
}

// The spool's filesystem full (a 2 MB tmpfs, a 3 MB scan) or read-only,
// made for postbridge alone by tests/faults/isolate.py (a mount namespace
// of its own): the scan is not accepted, nothing of it is left, and the
// same scan sent again once the spool is writable goes out once. On the full
// one a small message is still accepted: the space of the refused one was
// given back.
struct SpoolCell {
    std::string key;      // the test's name
    std::string name;     // the fault as the table names it
    std::string isolate;  // isolate.py's option, STATE for the state directory
    bool small_fits;      // a small message is accepted meanwhile
    std::string reply;    // the relay's reply to the device's final dot
};

void PrintTo(const SpoolCell& c, std::ostream* os) {
    *os << c.key;
}

class SpoolFault : public NotAccepted, public ::testing::WithParamInterface<SpoolCell> {
  protected:
    void SetUp() override {
        if (!namespaces_allowed()) GTEST_SKIP() << kNoNamespaces;
        NotAccepted::SetUp();
    }
    // `command` run with the spool as the cell makes it.
    std::string isolated(const std::string& command) {
        std::string option = GetParam().isolate;
        option.replace(option.find("STATE"), 5, state_.string());
        return "python3 " + source_dir() + "/tests/faults/isolate.py " + option + " -- " + command;
    }
    // The spool's files but the owners' lock files, listed by a command
    // run as isolated() (what the faulty spool holds).
    std::string spool_files_command() {
        return "find " + (state_ / "spool").string() + " -type f ! -path '*/owners/*'";
    }
    // The scan's send, then (where it fits) a small one, then the spool's
    // files, all in one isolated shell; each part's output and status.
    struct Run {
        CommandResult scan, small;
        std::string left;
    };
    Run run_isolated(const std::string& scan, const std::string& small) {
        const fs::path out = state_.string() + ".run";
        fs::create_directories(out);
        const fs::path script = out / "run.sh";
        std::ofstream(script) << scan << " > " << (out / "scan").string() << " 2>&1\n"
                              << "echo $? > " << (out / "scan.status").string() << "\n"
                              << small << " > " << (out / "small").string() << " 2>&1\n"
                              << "echo $? > " << (out / "small.status").string() << "\n"
                              << spool_files_command() << " > " << (out / "left").string() << "\n";
        const auto r = run_command(isolated("sh " + script.string()) + " 2>&1");
        EXPECT_EQ(r.status, 0) << r.out;
        auto read = [&](const char* name) {
            std::ifstream in(out / name);
            return std::string((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
        };
        Run run;
        run.scan = {std::atoi(read("scan.status").c_str()), read("scan")};
        run.small = {std::atoi(read("small.status").c_str()), read("small")};
        run.left = read("left");
        fs::remove_all(out);
        return run;
    }
    void check_not_accepted(const std::string& path, const Run& run, const std::string& subject) {
        EXPECT_EQ(run.scan.status, 75) << run.scan.out;  // not accepted: try again later
        EXPECT_NE(run.scan.out.find("(code 651)"), std::string::npos) << run.scan.out;
        check_row(GetParam().name, path, "651", run.scan.out);
        EXPECT_EQ(run.left, "") << "the refused scan left files in the spool";
        if (GetParam().small_fits) {
            EXPECT_EQ(run.small.status, 0) << "a small message was not accepted: " << run.small.out;
        } else {
            EXPECT_EQ(run.small.status, 75) << run.small.out;
        }
        expect_no_job(subject);
    }
};

TEST_P(SpoolFault, SendWait) {
    const std::string base =
        "fault-spool-" + GetParam().key + "-send-" + std::to_string(::getpid());
    const std::string subject = base + "-scan";
    const fs::path scan = make_scan(state_);
    const std::string pb_cmd = binary_path() + " --state " + state_.string();
    const std::string send = pb_cmd + " send --to bob@example.test --subject " + subject +
                             " --body x --attach " + scan.string() + " --wait";
    const std::string small =
        pb_cmd + " send --to bob@example.test --subject " + base + "-small --body x --wait";
    const Run run = run_isolated(send, small);
    check_not_accepted("send --wait", run, subject);
    EXPECT_EQ(copies_in_maildir(base + "-small"), GetParam().small_fits ? 1 : 0);
    EXPECT_EQ(run_command(send + " 2>&1").status, 0);
    EXPECT_EQ(copies_in_maildir(subject), 1);
}

TEST_P(SpoolFault, Sendmail) {
    const std::string base =
        "fault-spool-" + GetParam().key + "-sendmail-" + std::to_string(::getpid());
    const std::string subject = base + "-scan";
    const std::string sendmail = sendmail_command(message(subject, 120000));
    const std::string small = sendmail_command(message(base + "-small", 1));
    const Run run = run_isolated(sendmail, small);
    check_not_accepted("sendmail", run, subject);
    EXPECT_EQ(copies_in_maildir(base + "-small"), GetParam().small_fits ? 1 : 0);
    EXPECT_EQ(run_command(sendmail).status, 0);
    EXPECT_EQ(copies_in_maildir(subject), 1);
}

// serve with the faulty spool: the device's scan gets a temporary refusal
// and nothing is kept; serve itself stays up (and says so once a minute,
// not in a flood). The scan sent again to a serve whose spool is writable
// goes out once.
TEST_P(SpoolFault, Relay) {
    ASSERT_EQ(pb("config set relay.allowed_networks 127.0.0.1/32").status, 0);
    const std::string subject =
        "fault-spool-" + GetParam().key + "-relay-" + std::to_string(::getpid());
    const fs::path log = state_.string() + ".serve.log";
    {
        ServeProcess serve(state_, log.string(), isolated(""));
        serve.start("--json --relay 127.0.0.1:0");
        const std::string port = relay_port(log);
        ASSERT_FALSE(port.empty()) << "serve named no relay address";
        auto r = device_sends(port, subject, state_);
        EXPECT_EQ(r.status, 1) << "the relay took the scan with its spool " << GetParam().key;
        // Temporary: the device tries again.
        EXPECT_EQ(r.out.substr(0, 9), GetParam().reply) << r.out;
        check_row(GetParam().name, "relay", GetParam().reply.substr(0, 3), r.out,
                  not_accepted("device"));
        serve.kill(SIGTERM);
    }
    expect_no_job();
    {
        // Its delivery met the spool at every pass: one line of it.
        std::ifstream in(log);
        int errors = 0;
        for (std::string line; std::getline(in, line);)
            if (line.find("delivery: code 651") != std::string::npos) ++errors;
        EXPECT_LE(errors, 1) << "serve flooded its log with the spool's error";
    }
    ServeProcess serve(state_, log.string());
    serve.start("--json --relay 127.0.0.1:0");
    ASSERT_EQ(device_sends(relay_port(log), subject, state_).status, 0);
    await_delivery(subject);
    serve.kill(SIGTERM);
    EXPECT_EQ(copies_in_maildir(subject), 1);
}

// serve's delivery with the spool read-only under it: it cannot take a job
// without its owner's lock file in the spool (what lets another run know
// the job is being sent), so it sends nothing, says why once a minute, and
// leaves the job queued; serve with its spool writable again sends it, once.
TEST_F(NotAccepted, ReadOnlySpoolUnderServesDelivery) {
    if (!namespaces_allowed()) GTEST_SKIP() << kNoNamespaces;
    const std::string subject = "fault-spool-read-only-delivery-" + std::to_string(::getpid());
    {
        // Queued, not sent: the server refuses the first attempt.
        const auto refusing = refusing_server();
        point_at(refusing->port());
        EXPECT_EQ(pb("send --to bob@example.test --subject " + subject + " --body x --wait").status,
                  75);
    }
    const std::string id = newest_job(subject);
    point_at(Peers::get().at("PB_SMTP_PORT"));
    ASSERT_EQ(pb("jobs retry " + id).status, 0);  // due now
    const fs::path log = state_.string() + ".serve.log";
    const auto errors = [&] {
        std::vector<std::string> lines;
        std::ifstream in(log);
        for (std::string line; std::getline(in, line);)
            if (line.find("delivery: code 651") != std::string::npos) lines.push_back(line);
        return lines;
    };
    {
        ServeProcess serve(state_, log.string(),
                           "python3 " + source_dir() + "/tests/faults/isolate.py --read-only " +
                               (state_ / "spool").string() + " -- ");
        serve.start();
        EXPECT_TRUE(await_change(
            log.parent_path(), [&] { return !errors().empty(); }, std::chrono::seconds{60}))
            << "serve's delivery did not say why it sends nothing";
        serve.kill(SIGTERM);
    }
    const auto j = job(id);
    EXPECT_EQ(j.value("state", ""), "queued") << j.dump();
    EXPECT_EQ(j.value("attempts", 0), 1) << j.dump();
    EXPECT_EQ(copies_in_maildir(subject), 0);
    const auto said = errors();
    ASSERT_EQ(said.size(), 1U) << "serve's delivery flooded its log with the spool's error";
    std::string shown = said[0].substr(said[0].find("delivery: "));
    // The owner's file name has the host and the process in it.
    if (const auto from = shown.find("owners/"), to = shown.find(".lock", from);
        from != std::string::npos && to != std::string::npos)
        shown.replace(from + 7, to - from - 7, "HOST-PID");
    check_row("the spool's filesystem read-only under serve", "serve", "651", shown,
              "serve stays up, sends nothing and writes this once a minute; the job waits, "
              "queued, and goes out once the spool is writable: nothing lost, no duplicate");
    {
        ServeProcess serve(state_, log.string());
        serve.start();
        await_attempts(id, 2);
        serve.kill(SIGTERM);
    }
    EXPECT_EQ(job(id).value("state", ""), "sent") << job(id).dump();
    EXPECT_EQ(copies_in_maildir(subject), 1);
}

const SpoolCell kSpoolCells[] = {
    {"full", "the spool's filesystem full", "--tmpfs STATE/spool:2m", true, "452 4.3.1"},
    {"read_only", "the spool's filesystem read-only", "--read-only STATE/spool", false,
     "451 4.3.0"},
};

INSTANTIATE_TEST_SUITE_P(Spool, SpoolFault, ::testing::ValuesIn(kSpoolCells),
                         [](const ::testing::TestParamInfo<SpoolCell>& p) { return p.param.key; });

// A process killed with SIGKILL (the OOM killer, a power cut of the
// process) in the middle of a message: caught there by proxy.mjs's
// hold:DATA, killed, and the job looked at; then the next run (a flush, or
// serve started again) takes the job back and it goes out, once, since the
// message never reached its final dot. A relayed scan cut mid-DATA by serve's
// death was never accepted: the device sends it again.
class Killed : public MatrixBase {
  protected:
    void SetUp() override {
        CliWithPeers::SetUp();
        sign_in();
    }
    // The proxy, holding the message of the client to `port` after its
    // first 1000 bytes.
    std::unique_ptr<Child> holding_proxy(const std::string& port) {
        const auto& p = Peers::get();
        return Child::proxy("proxy.mjs", "--target-port " + port + " --cert '" +
                                             p.at("PB_CERT_DIR") + "/server.pem' --key '" +
                                             p.at("PB_CERT_DIR") +
                                             "/server.key' --fault hold:DATA");
    }
    // `command` started in the background; its process id.
    static pid_t start(const std::string& command) {
        return static_cast<pid_t>(
            std::stoi(run_command(command + " > /dev/null 2>&1 & echo $!").out));
    }
    // SIGKILL to `pid`, and until it is gone.
    static void kill9(pid_t pid) {
        const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
        ASSERT_GE(fd, 0) << "the process was gone before it was killed";
        ::kill(pid, SIGKILL);
        pollfd gone{fd, POLLIN, 0};
        while (::poll(&gone, 1, -1) < 0 && errno == EINTR) {
        }
        ::close(fd);
    }
    // The row: the job once its process was killed, and once the next run
    // (a flush, a send --wait, serve's start) took it back and sent it.
    void check_row(const std::string& path, const nlohmann::json& killed,
                   const nlohmann::json& sent) {
        test::check_row("| the sending process killed with SIGKILL mid-message | " + path +
                        " | none | the job stays " + killed.value("state", "") +
                        " until the next run | taken back by the next run and sent; " +
                        (sent.value("maybe_duplicate", false) ? "flagged maybe-duplicate, " : "") +
                        "delivered once (cut before its final dot) |");
    }
    // `command` (a send --wait, a sendmail) caught mid-message and killed;
    // its job then, and once the next run (a flush) has taken it back.
    void kill_mid_message(const std::string& path, const std::string& subject,
                          const std::string& command) {
        const auto proxy = holding_proxy(Peers::get().at("PB_SMTP_PORT"));
        point_at(proxy->port());
        const pid_t pid = start(command);
        proxy->expect("holding");
        kill9(pid);
        const std::string id = newest_job(subject);
        const auto killed = job(id);
        EXPECT_EQ(killed.value("state", ""), "sending") << killed.dump();
        point_at(Peers::get().at("PB_SMTP_PORT"));
        auto r = pb("flush");
        EXPECT_EQ(r.status, 0) << r.out;
        const auto sent = job(id);
        EXPECT_EQ(sent.value("state", ""), "sent") << sent.dump();
        check_row(path, killed, sent);
        EXPECT_EQ(copies_in_maildir(subject), 1);
    }
};

TEST_F(Killed, SendWait) {
    const std::string subject = "fault-killed-send-" + std::to_string(::getpid());
    kill_mid_message("send --wait", subject,
                     binary_path() + " --state " + state_.string() +
                         " send --to bob@example.test --subject " + subject +
                         " --body x --attach " + make_scan(state_).string() + " --wait");
}

TEST_F(Killed, Sendmail) {
    const std::string subject = "fault-killed-sendmail-" + std::to_string(::getpid());
    kill_mid_message("sendmail", subject,
                     binary_path() + " --state " + state_.string() + " sendmail -t < " +
                         message(subject, 120000).string());
}

// serve killed while its delivery is mid-message; started again, it takes
// the job back and sends it.
TEST_F(Killed, ServeDelivery) {
    const auto proxy = holding_proxy(Peers::get().at("PB_SMTP_PORT"));
    point_at(proxy->port());
    const std::string subject = "fault-killed-serve-" + std::to_string(::getpid());
    const fs::path log = state_.string() + ".serve.log";
    std::string id;
    {
        ServeProcess serve(state_, log.string());
        serve.start();
        ASSERT_EQ(pb("send --to bob@example.test --subject " + subject + " --body x --attach " +
                     make_scan(state_).string())
                      .status,
                  0);
        id = newest_job(subject);
        proxy->expect("holding");
        serve.kill(SIGKILL);
    }
    const auto killed = job(id);
    EXPECT_EQ(killed.value("state", ""), "sending") << killed.dump();
    point_at(Peers::get().at("PB_SMTP_PORT"));
    {
        ServeProcess serve(state_, log.string());
        serve.start();
        await_first_attempt(id);
        serve.kill(SIGTERM);
    }
    const auto sent = job(id);
    EXPECT_EQ(sent.value("state", ""), "sent") << sent.dump();
    check_row("serve", killed, sent);
    EXPECT_EQ(copies_in_maildir(subject), 1);
}

// serve killed while a device is mid-message to its relay: nothing was
// accepted (no 250), so nothing is queued; the device, whose connection
// dropped, sends the scan again to serve started again, and it goes out
// once.
TEST_F(Killed, Relay) {
    ASSERT_EQ(pb("config set relay.allowed_networks 127.0.0.1/32").status, 0);
    const std::string subject = "fault-killed-relay-" + std::to_string(::getpid());
    const fs::path log = state_.string() + ".serve.log";
    const fs::path said = state_ / "device.out";
    {
        ServeProcess serve(state_, log.string());
        serve.start("--json --relay 127.0.0.1:0");
        const auto proxy = holding_proxy(relay_port(log));
        const pid_t device = static_cast<pid_t>(std::stoi(
            run_command("python3 " + device_script(proxy->port(), subject, state_).string() +
                        " > " + said.string() + " 2>&1 & echo $!")
                .out));
        const int fd = static_cast<int>(::syscall(SYS_pidfd_open, device, 0));
        proxy->expect("holding");
        serve.kill(SIGKILL);
        // The device gives up on its own: the proxy hangs up once serve has.
        pollfd gone{fd, POLLIN, 0};
        while (::poll(&gone, 1, -1) < 0 && errno == EINTR) {
        }
        ::close(fd);
    }
    std::ifstream in(said);
    const std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(out.find("Disconnected"), std::string::npos)
        << "the device was told nothing: " << out;
    EXPECT_EQ(pb("jobs --json").out.find(subject), std::string::npos) << "a cut scan was queued";
    {
        ServeProcess serve(state_, log.string());
        serve.start("--json --relay 127.0.0.1:0");
        ASSERT_EQ(device_sends(relay_port(log), subject, state_).status, 0);
        await_first_attempt(newest_job(subject));
        serve.kill(SIGTERM);
    }
    test::check_row(
        "| serve killed with SIGKILL mid-message | relay | none | the device's "
        "connection drops before its 250: nothing accepted, nothing queued | the "
        "device sends it again; delivered once |");
    EXPECT_EQ(copies_in_maildir(subject), 1);
}

// libfaketime's multi-threaded library (Debian's faketime), or "" where it
// is not installed.
std::string libfaketime() {
    std::error_code ec;
    for (const auto& dir : fs::directory_iterator("/usr/lib", ec)) {
        const fs::path lib = dir.path() / "faketime" / "libfaketimeMT.so.1";
        if (fs::exists(lib, ec)) return lib.string();
    }
    return "";
}

// The clock stepped 2 hours, back or forward, as NTP steps it after a long
// outage or an administrator sets it by hand: for postbridge alone, with
// libfaketime preloaded (an injected clock that needs no seam in the
// binary). It reads its offset from a file at every reading of the time, so
// a running serve sees the step when the cell rewrites the file, as it
// would a real one; the monotonic clock is left alone, as a step leaves it.
//
// Each cell defers a job at the true time (the SMTP server refuses: 602,
// retried in 30 to 60 s), steps the clock, brings the server back, and then
// the path must send both the deferred job, when its wait is over (not 2
// hours later), and a new message, with the access token refreshed where
// the step makes it look expired. Nothing lost, nothing twice.
struct ClockCell {
    std::string key;   // the test's name
    std::string name;  // the fault as the table names it
    std::string step;  // libfaketime's offset
    bool refreshed;    // the step makes the access token look expired
    std::string next;  // what happens next, as the table says
};

void PrintTo(const ClockCell& c, std::ostream* os) {
    *os << c.key;
}

// postbridge under a clock of the test's.
class Clocked : public MatrixBase {
  protected:
    void SetUp() override {
        lib_ = libfaketime();
        if (lib_.empty()) {
            // CI installs it (scripts/install-deps --test): there it must run.
            EXPECT_EQ(std::getenv("CI"), nullptr) << "libfaketime is not installed";
            GTEST_SKIP() << "libfaketime is not installed (scripts/install-deps --test)";
        }
        CliWithPeers::SetUp();
        sign_in();
        offset_ = state_.string() + ".clock";
        set_clock("+0");
    }
    // What postbridge runs under: the clock of the offset file. ASan
    // (in the sanitizer builds) would rather be first in the library list
    // than libfaketime; the order does not matter to either.
    std::string clocked() const {
        return "LD_PRELOAD=" + lib_ + " FAKETIME_TIMESTAMP_FILE=" + offset_.string() +
               " FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1"
               " ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 ";
    }
    CommandResult pb_clocked(const std::string& args) {
        return run_command(clocked() + binary_path() + " --state " + state_.string() + " " + args +
                           " 2>&1");
    }
    // The offset, replaced at once (renamed into place: never read half
    // written).
    void set_clock(const std::string& step) {
        const fs::path next = offset_.string() + ".new";
        std::ofstream(next) << step << "\n";
        fs::rename(next, offset_);
    }
    // The SMTP server refusing (a closed port), or the real one again.
    void refuse() {
        refusing_ = refusing_server();
        point_at(refusing_->port());
    }
    void heal() { point_at(Peers::get().at("PB_SMTP_PORT")); }

    std::string lib_;
    fs::path offset_;
    std::unique_ptr<Child> refusing_;
};

class ClockStep : public Clocked, public ::testing::WithParamInterface<ClockCell> {
  protected:
    // The deferred message's subject on `path`, and the new one's (neither
    // a part of the other: the maildir is searched for them).
    std::string deferred_subject(const std::string& path) const {
        return "clock-" + GetParam().key + "-" + path + "-" + std::to_string(::getpid()) +
               "-deferred";
    }
    static std::string new_subject(const std::string& deferred) {
        return deferred.substr(0, deferred.rfind('-')) + "-new";
    }
    // The deferred job, after the step: its state and attempts, and its row.
    void check(const std::string& path, const std::string& id, const std::string& subject) {
        const auto j = job(id);
        EXPECT_EQ(j.value("state", ""), "sent") << j.dump();
        EXPECT_EQ(j.value("attempts", 0), 2) << j.dump();
        EXPECT_EQ(copies_in_maildir(subject), 1) << "the deferred job was lost or sent twice";
        test::check_row(
            "| the clock stepping " + GetParam().name + " | " + path + " | " +
            (j.value("state", "") == "sent" ? "none" : std::to_string(j.value("code", 0))) +
            " | no code: the job deferred before the step (602) goes out at the next queue run, "
            "not 2 hours late, and a new message goes out too | " +
            GetParam().next + " |");
        // Forward, the access token looked expired and was refreshed, by
        // the stepped clock: it now runs out more than 2 hours from now.
        // Back, it looked valid (it was) and was used as it was.
        SystemClock clock;
        SystemRandom rng;
        auto store = storage::open_store(state_, rng, clock);
        ASSERT_TRUE(store) << store.error().describe();
        service::SealedTokenStore tokens(**store);
        auto stored = tokens.load("email");
        ASSERT_TRUE(stored && *stored) << "no sign-in is stored";
        EXPECT_EQ((**stored).access_expires_at > clock.now() + std::chrono::hours{2},
                  GetParam().refreshed);
    }
    // The job deferred at the true time, by `attempt` (a send --wait or a
    // sendmail): queued with 602.
    std::string defer(const std::string& subject, const CommandResult& attempt, int status) {
        EXPECT_EQ(attempt.status, status) << attempt.out;
        const std::string id = newest_job(subject);
        const auto j = job(id);
        EXPECT_EQ(j.value("state", ""), "queued") << j.dump();
        EXPECT_EQ(j.value("code", 0), 602) << j.dump();
        return id;
    }
    // serve's cell (`path`, also the key of its subjects), serve started
    // with `args`: `submit(subject, log)` hands it a message, deferred at
    // the true time; then, the server back (for serve, before the step:
    // nothing is due until then) and the clock stepped, a new message goes
    // out, and the deferred job when serve's pass comes (the first retry is
    // 30 to 60 s on, RetryPolicy::first, jittered).
    void serve_cell(const std::string& path, const std::string& args,
                    const std::function<void(const std::string&, const std::string&)>& submit) {
        const std::string subject = deferred_subject(path);
        const std::string log = state_.string() + ".serve.log";
        refuse();
        ServeProcess serve(state_, log, clocked());
        serve.start(args);
        submit(subject, log);
        const std::string id = newest_job(subject);
        await_first_attempt(id);
        EXPECT_EQ(job(id).value("code", 0), 602);
        heal();
        serve.reload();
        set_clock(GetParam().step);
        const std::string next = new_subject(subject);
        submit(next, log);
        await_attempts(id, 2, std::chrono::seconds{120});
        await_first_attempt(newest_job(next));
        serve.kill(SIGTERM);
        EXPECT_EQ(copies_in_maildir(next), 1);
        check(path, id, subject);
    }
    // A command's cell (`path`, a key of its subjects): `args(subject)` run
    // at the true time is deferred, ending with `deferred`; then, the clock
    // stepped, the same for a new message sends it, and `queue_run` (what
    // cron or the administrator runs) sends the deferred one.
    void command_cell(const std::string& path, const std::string& key,
                      const std::function<std::string(const std::string&)>& args, int deferred,
                      const std::string& queue_run) {
        const std::string subject = deferred_subject(key);
        refuse();
        const std::string id = defer(subject,
                                     run_command(binary_path() + " --state " + state_.string() +
                                                 " " + args(subject) + " 2>&1"),
                                     deferred);
        set_clock(GetParam().step);
        heal();
        const std::string next = new_subject(subject);
        auto r = pb_clocked(args(next));
        EXPECT_EQ(r.status, 0) << r.out;
        r = pb_clocked(queue_run);
        EXPECT_EQ(r.status, 0) << r.out;
        EXPECT_EQ(copies_in_maildir(next), 1);
        check(path, id, subject);
    }
};

// `send --wait`, and `flush`.
TEST_P(ClockStep, SendWait) {
    command_cell(
        "send --wait", "send",
        [](const std::string& subject) {
            return "send --to bob@example.test --subject " + subject + " --body x --wait";
        },
        75, "flush");
}

// sendmail as cron and scripts call it: `sendmail -t`, and `sendmail -q`
// (cron's queue run).
TEST_P(ClockStep, Sendmail) {
    command_cell(
        "sendmail", "sendmail",
        [this](const std::string& subject) {
            return "sendmail -t < " + message(subject, 1).string();
        },
        0, "sendmail -q");
}

// serve running through the step: its delivery retries the deferred job
// when the job's wait is over, and sends a new one.
TEST_P(ClockStep, ServeDelivery) {
    serve_cell("serve", "", [this](const std::string& subject, const std::string&) {
        ASSERT_EQ(pb("send --to bob@example.test --subject " + subject + " --body x").status, 0);
    });
}

// The relay: a device's scan deferred, the clock stepped under serve, and
// the next scan.
TEST_P(ClockStep, Relay) {
    ASSERT_EQ(pb("config set relay.allowed_networks 127.0.0.1/32").status, 0);
    serve_cell("relay", "--json --relay 127.0.0.1:0",
               [this](const std::string& subject, const std::string& log) {
                   const std::string port = relay_port(log);
                   ASSERT_FALSE(port.empty()) << "serve named no relay address";
                   ASSERT_EQ(device_sends(port, subject, state_, 10).status, 0);
               });
}

const ClockCell kClockCells[] = {
    {"back", "2 hours back", "-2h", false, "nothing lost, no duplicate"},
    {"forward", "2 hours forward", "+2h", true,
     "the access token looks expired and is refreshed; nothing lost, no duplicate"},
};

INSTANTIATE_TEST_SUITE_P(Clock, ClockStep, ::testing::ValuesIn(kClockCells),
                         [](const ::testing::TestParamInfo<ClockCell>& p) { return p.param.key; });

// A clock 2 hours behind meets a server certificate issued an hour ago
// (renewed this morning): by this computer's clock it is not valid yet.
// The job fails with 612, as any certificate refused, but the detail says
// why and what time it is here, and the remedy says to look at the clock
// before importing a CA that is already there. With the clock right again,
// the job retried goes out once.
TEST_F(Clocked, ACertificateNotValidYetByTheClock) {
    const auto& p = Peers::get();
    const std::string certs = p.at("PB_CERT_DIR");
    const fs::path dir = state_.string() + ".cert";
    fs::create_directories(dir);
    const std::string key = (dir / "server.key").string();
    const std::string pem = (dir / "server.pem").string();
    // Issued now by the test CA, for the names of the peers' own.
    const auto made =
        run_command("openssl req -new -newkey rsa:2048 -nodes -subj /CN=localhost -keyout " + key +
                    " -out " + (dir / "server.csr").string() +
                    " 2>&1 && printf '%s\\n' "
                    "'subjectAltName = DNS:localhost, IP:127.0.0.1' > " +
                    (dir / "ext").string() + " && openssl x509 -req -in " +
                    (dir / "server.csr").string() + " -days 30 -CA " + certs + "/ca.pem -CAkey " +
                    certs + "/ca.key -set_serial 0x" + std::to_string(::getpid()) + " -extfile " +
                    (dir / "ext").string() + " -out " + pem + " 2>&1");
    ASSERT_EQ(made.status, 0) << made.out;
    const auto proxy =
        Child::proxy("proxy.mjs", "--target-port " + p.at("PB_SMTP_PORT") + " --cert " + pem +
                                      " --key " + key + " --fault pass");
    ASSERT_FALSE(proxy->port().empty()) << "the SMTP proxy did not start";
    point_at(proxy->port());
    set_clock("-2h");
    const std::string subject = "clock-certificate-" + std::to_string(::getpid());
    auto r = pb_clocked("send --to bob@example.test --subject " + subject + " --body x --wait");
    EXPECT_EQ(r.status, 1) << r.out;
    const std::string id = newest_job(subject);
    const auto j = job(id);
    EXPECT_EQ(j.value("state", ""), "failed") << j.dump();
    EXPECT_EQ(j.value("code", 0), 612) << j.dump();
    EXPECT_NE(j.value("detail", "").find("not valid yet by this computer's clock"),
              std::string::npos)
        << j.dump();
    EXPECT_NE(j.value("remedy", "").find("check this computer's date and time"), std::string::npos)
        << j.dump();
    test::check_row(
        "| the clock stepping 2 hours back, the server's certificate issued an hour "
        "ago | send --wait | 612 | " +
        j.value("status", "") + " " + j.value("remedy", "") +
        " | failed; sent once the clock is right and the job retried |");
    EXPECT_EQ(copies_in_maildir(subject), 0);
    set_clock("+0");
    ASSERT_EQ(pb("jobs retry " + id).status, 0);
    r = pb("flush");
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(job(id).value("state", ""), "sent");
    EXPECT_EQ(copies_in_maildir(subject), 1);
}

}  // namespace
}  // namespace pb::test
