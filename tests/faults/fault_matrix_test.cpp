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
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <regex>

#include "cli/cli_with_peers.hpp"
#include "support/serve_process.hpp"

namespace pb::test {
namespace {

// The proxy of one cell: started with its fault, killed at the end.
class FaultProxy {
  public:
    explicit FaultProxy(const std::string& fault) {
        const auto& p = Peers::get();
        const std::string cmd = "exec '" + p.at("PB_NODE") + "' '" + source_dir() +
                                "/tests/faults/proxy.mjs' --target-port " + p.at("PB_SMTP_PORT") +
                                " --cert '" + p.at("PB_CERT_DIR") + "/server.pem' --key '" +
                                p.at("PB_CERT_DIR") + "/server.key' --fault " + fault;
        int out[2];
        if (::pipe(out) != 0) return;
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(out[1], 1);
            ::close(out[0]);
            ::close(out[1]);
            ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ::close(out[1]);
        std::string line;
        char c = 0;
        while (::read(out[0], &c, 1) == 1 && c != '\n') line += c;
        ::close(out[0]);
        std::smatch m;
        if (std::regex_search(line, m, std::regex(R"("port":(\d+))"))) port_ = m[1];
    }
    ~FaultProxy() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    FaultProxy(const FaultProxy&) = delete;
    FaultProxy& operator=(const FaultProxy&) = delete;
    const std::string& port() const { return port_; }

  private:
    pid_t pid_ = -1;
    std::string port_;
};

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

// A cell's expectation, and its row in docs/faults.md.
struct Cell {
    std::string fault;   // the proxy's fault
    std::string name;    // the fault as the table names it
    int code;            // the job's code after the attempt
    std::string remedy;  // a phrase the remedy must contain (the part that failed)
    bool delivered;      // the server has the message although the job failed
};

std::string row(const Cell& c, const std::string& path, const nlohmann::json& job) {
    const std::string next = c.delivered
                                 ? "queued, flagged maybe-duplicate; the resend may duplicate it"
                                 : "queued, retried with backoff; nothing lost, no duplicate";
    return "| " + c.name + " | " + path + " | " + std::to_string(c.code) + " | " +
           job.value("status", "") + " " + job.value("remedy", "") + " | " + next + " |";
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

class FaultMatrix : public CliWithPeers, public ::testing::WithParamInterface<Cell> {
  protected:
    void SetUp() override {
        CliWithPeers::SetUp();
        // A server that never speaks fails the attempt in seconds, not the
        // RFC 5321 five minutes.
        ASSERT_EQ(pb("config set email.smtp.timeout 5s").status, 0);
        auto lines = signin_as_user("approve");
        ASSERT_FALSE(lines.empty());
        ASSERT_EQ(lines.back().dump(), "0") << "the sign-in failed";
    }
    void point_at(const std::string& port) {
        ASSERT_EQ(pb("config set email.smtp.port " + port).status, 0);
    }
    void check(const Cell& c, const std::string& path, const std::string& id,
               const std::string& subject);
    // The cell's proxy, started, with the profile's server set to it.
    std::unique_ptr<FaultProxy> start_fault(const Cell& c) {
        auto proxy = std::make_unique<FaultProxy>(c.fault);
        EXPECT_FALSE(proxy->port().empty()) << "the proxy did not start";
        point_at(proxy->port());
        return proxy;
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
    // Until serve's first attempt at the job is recorded (at most 30 s).
    void await_first_attempt(const std::string& id) {
        for (int i = 0; i < 300; ++i) {
            const auto j = job(id);
            if (j.value("attempts", 0) >= 1 && j.value("state", "") != "sending") return;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    nlohmann::json job(const std::string& id) {
        auto r = pb("jobs show " + id + " --json");
        return nlohmann::json::parse(r.out, nullptr, false);
    }
    // After the fault: the server as it is, the job retried by hand and the
    // queue run; it must arrive, once more.
    void heal_and_flush(const std::string& id) {
        point_at(Peers::get().at("PB_SMTP_PORT"));
        auto retry = pb("jobs retry " + id);
        ASSERT_EQ(retry.status, 0) << retry.out;
        auto flush = pb("flush");
        ASSERT_EQ(flush.status, 0) << flush.out;
        EXPECT_EQ(job(id).value("state", ""), "sent");
    }
};

// A 3 MB scan: more than the sockets hold, so a cut during DATA finds the
// client still sending the body, not waiting after its final dot.
fs::path make_scan(const fs::path& dir) {
    const fs::path scan = dir / "scan.pdf";
    std::ofstream(scan, std::ios::binary) << std::string(3 << 20, 'P');
    return scan;
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
    EXPECT_EQ(j.value("state", ""), "queued") << j.dump();
    EXPECT_EQ(j.value("code", 0), c.code) << j.dump();
    EXPECT_NE(j.value("remedy", "").find(c.remedy), std::string::npos) << j.dump();
    EXPECT_EQ(j.value("maybe_duplicate", false), c.delivered) << j.dump();
    EXPECT_EQ(copies_in_maildir(subject), c.delivered ? 1 : 0);
    check_row(row(c, path, j));

    heal_and_flush(id);
    EXPECT_EQ(copies_in_maildir(subject), c.delivered ? 2 : 1)
        << "nothing accepted is lost; only a message cut after its final dot comes twice";
}

// `postbridge send --wait`: the CLI delivers the job itself (no serve).
TEST_P(FaultMatrix, SendWait) {
    const Cell& c = GetParam();
    const auto proxy = start_fault(c);
    const std::string subject = unique_subject(c, "send");
    auto r = pb("send --to bob@example.test --subject '" + subject + "' --body x --attach " +
                make_scan(state_).string() + " --wait --json");
    EXPECT_EQ(r.status, 75) << r.out;  // EX_TEMPFAIL: accepted, not yet sent
    check(c, "send --wait", newest_job(subject), subject);
}

// sendmail, as cron and scripts call it (no serve): it queues the message
// and delivers it itself; a failure leaves the job queued.
TEST_P(FaultMatrix, Sendmail) {
    const Cell& c = GetParam();
    const auto proxy = start_fault(c);
    const std::string subject = unique_subject(c, "sendmail");
    const fs::path message = state_ / "message.eml";
    {
        std::ofstream out(message, std::ios::binary);
        out << "From: alice@example.test\nTo: bob@example.test\nSubject: " << subject << "\n\n";
        for (int i = 0; i < 120000; ++i) out << "a line of a long report, " << i << "\n";
    }
    auto r = run_command(binary_path() + " --state " + state_.string() + " sendmail -t < " +
                         message.string() + " 2>&1");
    // Accepted into the queue: 0, as Postfix's sendmail; the delivery that
    // failed is the job's to tell.
    EXPECT_EQ(r.status, 0) << r.out;
    check(c, "sendmail", newest_job(subject), subject);
}

// serve's delivery: `send` queues the job and serve's engine makes the
// attempt; the cell ends once that attempt is recorded.
TEST_P(FaultMatrix, ServeDelivery) {
    const Cell& c = GetParam();
    const auto proxy = start_fault(c);
    const std::string subject = unique_subject(c, "serve");
    std::string id;
    {
        ServeProcess serve(state_, state_.string() + ".serve.log");
        serve.start();
        auto r = pb("send --to bob@example.test --subject '" + subject + "' --body x --attach " +
                    make_scan(state_).string() + " --json");
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
    const auto proxy = start_fault(c);
    ASSERT_EQ(pb("config set relay.allowed_networks 127.0.0.1/32").status, 0);
    const std::string subject = unique_subject(c, "relay");
    const fs::path log = state_.string() + ".serve.log";
    std::string id;
    {
        ServeProcess serve(state_, log.string());
        serve.start("--json --relay 127.0.0.1:0");
        std::string port;
        {
            std::ifstream in(log);
            for (std::string line; std::getline(in, line);) {
                auto j = nlohmann::json::parse(line, nullptr, false);
                if (j.is_object() && j.value("event", "") == "relay_listening") {
                    const std::string a = j.value("address", "");
                    port = a.substr(a.rfind(':') + 1);
                }
            }
        }
        ASSERT_FALSE(port.empty()) << "serve named no relay address";
        // The device: Python's smtplib, as test-peers.md's reference client.
        const std::string device =
            "import smtplib\n"
            "body = ''.join('a line of a scan, %d\\r\\n' % i for i in range(120000))\n"
            "msg = 'From: scanner@example.test\\r\\nTo: bob@example.test\\r\\nSubject: " +
            subject +
            "\\r\\n\\r\\n' + body\n"
            "s = smtplib.SMTP('127.0.0.1', " +
            port +
            ")\n"
            "s.sendmail('scanner@example.test', ['bob@example.test'], msg)\n"
            "s.quit()\n";
        const fs::path script = state_ / "device.py";
        std::ofstream(script) << device;
        auto r = run_command("python3 " + script.string() + " 2>&1");
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
    {"refuse", "SMTP server refuses the connection", 602, kAddress, false},
    {"silent", "SMTP server never sends its greeting", 603, kStep, false},
    {"after:EHLO", "connection dropped after EHLO", 641, kServer, false},
    {"after:STARTTLS", "connection dropped after STARTTLS", 641, kServer, false},
    {"after:AUTH", "connection dropped after AUTH", 641, kServer, false},
    {"after:MAIL", "connection dropped after MAIL", 641, kServer, false},
    {"after:RCPT", "connection dropped after RCPT", 641, kServer, false},
    {"during:DATA", "connection dropped during DATA", 641, kServer, false},
    {"after:DOT", "connection dropped after the final dot", 641, kServer, true},
};

std::string cell_name(const ::testing::TestParamInfo<Cell>& info) {
    std::string n = info.param.fault;
    for (char& ch : n)
        if (std::isalnum(static_cast<unsigned char>(ch)) == 0) ch = '_';
    return n;
}

INSTANTIATE_TEST_SUITE_P(Smtp, FaultMatrix, ::testing::ValuesIn(kCells), cell_name);

}  // namespace
}  // namespace pb::test
