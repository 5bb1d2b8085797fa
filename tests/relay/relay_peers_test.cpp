// The relay end to end: `postbridge serve` with the relay on loopback, its
// profile signed in with OAuth 2.0 at the peers' oidc-provider (the scripted
// user approves the device code), and real SMTP clients (swaks, curl,
// msmtp, Python's smtplib) handing it mail that must arrive in the peers'
// smtp-server maildir, sent with XOAUTH2. Plus what must never work: a wrong
// device password, a client outside relay.allowed_networks without a login
// (every trick), and the 2023 smuggling vectors.
//
// Loopback only: the "LAN" allowed to send without a login is 127.0.0.9/32;
// clients that connect from 127.0.0.1 are outsiders.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "cli/cli_with_peers.hpp"
#include "support/peers.hpp"
#include "support/temp_dir.hpp"

namespace pb::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kDevicePassword = "Dev1ce-pass-2026";

// A blocking SMTP client on a raw socket, from a chosen loopback address.
class Raw {
  public:
    Raw(int port, const char* from_address = "127.0.0.1") {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in src{};
        src.sin_family = AF_INET;
        ::inet_pton(AF_INET, from_address, &src.sin_addr);
        ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof src) == 0;
        timeval tv{20, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<std::uint16_t>(port));
        ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        ok_ = ok_ && ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    }
    ~Raw() { ::close(fd_); }
    bool ok() const { return ok_; }
    void send(std::string_view s) {
        while (!s.empty()) {
            const ssize_t n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
            if (n <= 0) return;
            s.remove_prefix(static_cast<std::size_t>(n));
        }
    }
    // Reads until `count` complete replies (multi-line ones count once)
    // have arrived, or the connection ends; returns them.
    std::string replies(int count) {
        std::string out;
        int done = 0;
        std::size_t scanned = 0;
        while (done < count) {
            const auto eol = buf_.find("\r\n", scanned);
            if (eol == std::string::npos) {
                char tmp[4096];
                const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
                if (n <= 0) break;
                buf_.append(tmp, static_cast<std::size_t>(n));
                continue;
            }
            const std::string line = buf_.substr(scanned, eol - scanned);
            scanned = eol + 2;
            if (line.size() < 4 || line[3] != '-') ++done;
        }
        out = buf_.substr(0, scanned);
        buf_.erase(0, scanned);
        return out;
    }

  private:
    int fd_ = -1;
    bool ok_ = false;
    std::string buf_;
};

// The value of the first header field `name` in a message.
std::string header(const std::string& message, const std::string& name) {
    const std::string head = message.substr(0, message.find("\r\n\r\n"));
    std::size_t pos = 0;
    while (pos < head.size()) {
        const auto eol = head.find("\r\n", pos);
        const std::string line = head.substr(pos, eol == std::string::npos ? eol : eol - pos);
        if (line.size() > name.size() && line.compare(0, name.size(), name) == 0 &&
            line[name.size()] == ':') {
            std::string value = line.substr(name.size() + 1);
            // Unfolded: the lines that follow it and start with white space.
            for (auto at = eol; at != std::string::npos && at + 2 < head.size() &&
                                (head[at + 2] == ' ' || head[at + 2] == '\t');) {
                const auto next = head.find("\r\n", at + 2);
                value += head.substr(at + 2, next == std::string::npos ? next : next - at - 2);
                at = next;
            }
            return value;
        }
        if (eol == std::string::npos) break;
        pos = eol + 2;
    }
    return {};
}

class RelayPeers : public ::testing::Test {
  protected:
    void SetUp() override {
        const auto& p = Peers::get();
        ASSERT_TRUE(p.available()) << "the peers fixture is not running";
        state_ = test::fresh_dir("pb-relay");
        maildir_ = p.at("PB_MAILDIR");
        for (const std::string& kv : std::vector<std::string>{
                 "email.auth_method oauth2", "email.service custom",
                 "email.oauth.issuer " + p.at("PB_OIDC_ISSUER"),
                 "email.oauth.client_id " + p.at("PB_OIDC_CLIENT_ID"),
                 "email.oauth.scopes 'openid email offline_access smtp.send'",
                 "email.smtp.host 127.0.0.1", "email.smtp.port " + p.at("PB_SMTP_PORT"),
                 "email.smtp.security starttls", "email.sender alice@example.test",
                 "email.delivery.rate_limit 0", "relay.listen_tls 127.0.0.1:0",
                 "relay.allowed_networks 127.0.0.9/32", "relay.max_connections_per_client 60"})
            ASSERT_EQ(pb("config set " + kv).status, 0) << kv;
        ASSERT_EQ(pb("ca import " + p.at("PB_TEST_CA")).status, 0);
        auto add = run_command(std::string("printf '") + kDevicePassword + "' | " +
                               command("relay-users add copier") + " 2>&1");
        ASSERT_EQ(add.status, 0) << add.out;
        sign_in();
        start_serve();
    }
    void TearDown() override {
        if (serve_pid_ > 0) {
            ::kill(serve_pid_, SIGTERM);
            for (int i = 0; i < 100 && ::kill(serve_pid_, 0) == 0; ++i)
                std::this_thread::sleep_for(100ms);
        }
        if (!HasFailure()) fs::remove_all(state_);
    }

    std::string command(const std::string& args) {
        return binary_path() + " --state " + state_.string() + " " + args;
    }
    CommandResult pb(const std::string& args) { return run_command(command(args) + " 2>&1"); }

    void sign_in() {
        (void)signin_as_user(command("signin --json"), state_.string() + ".signin", "approve");
    }

    void start_serve() {
        serve_out_ = state_ / "serve.out";
        auto r = run_command(command("serve --json --web 127.0.0.1:0 --relay 127.0.0.1:0") + " > " +
                             serve_out_.string() + " 2>&1 & echo $!");
        serve_pid_ = std::atoi(r.out.c_str());
        ASSERT_GT(serve_pid_, 0);
        for (int i = 0; i < 300 && (port_ == 0 || tls_port_ == 0); ++i) {
            std::this_thread::sleep_for(100ms);
            std::ifstream in(serve_out_);
            std::string line;
            while (std::getline(in, line)) {
                auto j = json::parse(line, nullptr, false);
                if (!j.is_object() || j.value("event", "") != "relay_listening") continue;
                const std::string a = j["address"].get<std::string>();
                const int port = std::atoi(a.substr(a.rfind(':') + 1).c_str());
                (j.value("tls", false) ? tls_port_ : port_) = port;
            }
        }
        ASSERT_GT(port_, 0) << serve_log();
        ASSERT_GT(tls_port_, 0) << serve_log();
    }
    std::string serve_log() {
        std::ifstream in(serve_out_);
        return std::string{std::istreambuf_iterator<char>(in), {}};
    }

    // The messages in the maildir that contain `needle`, waiting for at
    // least `want` of them (delivery runs in serve's workers).
    std::vector<std::string> delivered(const std::string& needle, std::size_t want = 1,
                                       std::chrono::seconds wait = 30s) {
        std::vector<std::string> found;
        const auto end = std::chrono::steady_clock::now() + wait;
        do {
            found.clear();
            std::error_code ec;
            for (const auto& e : fs::recursive_directory_iterator(maildir_, ec)) {
                if (!e.is_regular_file() || e.path().string().ends_with(".json")) continue;
                if (e.path().parent_path().filename() != "new") continue;
                std::ifstream f(e.path());
                std::string s{std::istreambuf_iterator<char>(f), {}};
                if (s.find(needle) != std::string::npos) found.push_back(s);
            }
            if (found.size() >= want) break;
            std::this_thread::sleep_for(200ms);
        } while (std::chrono::steady_clock::now() < end);
        return found;
    }

    std::string unique(const std::string& what) {
        return what + "-" + std::to_string(::getpid()) + "-" +
               std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
    }

    fs::path state_, serve_out_;
    std::string maildir_;
    int serve_pid_ = 0;
    int port_ = 0, tls_port_ = 0;
};

// Each arrives through the OAuth profile, From rewritten to the signed-in
// sender, the device's From kept in Reply-To.
TEST_F(RelayPeers, RealClientsDeliverThroughTheSignedInProfile) {
    const std::string swaks_subject = unique("via-swaks");
    auto swaks =
        run_command("swaks --server 127.0.0.1 --port " + std::to_string(port_) +
                    " --tls --auth LOGIN --auth-user copier --auth-password " + kDevicePassword +
                    " --from copier@lan.example --to bob@example.test --helo copier.lan"
                    " --header 'From: Copier 3F <copier@lan.example>' --header 'Subject: " +
                    swaks_subject + "' --body 'scanned page' 2>&1");
    EXPECT_EQ(swaks.status, 0) << swaks.out;
    // swaks prints the AUTH exchange; the relay never echoes the password.
    EXPECT_NE(swaks.out.find("235 2.7.0 Authentication successful"), std::string::npos)
        << swaks.out;

    const std::string curl_subject = unique("via-curl");
    const fs::path mail = state_ / "curl.eml";
    {
        std::ofstream f(mail);
        f << "From: copier@lan.example\r\nTo: bob@example.test\r\nSubject: " << curl_subject
          << "\r\n\r\ncurl body\r\n";
    }
    auto curl = run_command("curl -sS --url smtp://127.0.0.1:" + std::to_string(port_) +
                            " --ssl-reqd -k --mail-from copier@lan.example --mail-rcpt "
                            "bob@example.test --user copier:" +
                            kDevicePassword + " -T " + mail.string() + " 2>&1");
    EXPECT_EQ(curl.status, 0) << curl.out;

    const std::string msmtp_subject = unique("via-msmtp");
    const fs::path conf = state_ / "msmtprc";
    {
        std::ofstream f(conf);
        f << "account relay\nhost 127.0.0.1\nport " << port_
          << "\ntls on\ntls_starttls on\ntls_certcheck off\nauth plain\nuser copier\npassword "
          << kDevicePassword << "\nfrom copier@lan.example\n";
    }
    fs::permissions(conf, fs::perms::owner_read | fs::perms::owner_write);
    auto msmtp = run_command("printf 'From: copier@lan.example\\r\\nSubject: " + msmtp_subject +
                             "\\r\\n\\r\\nmsmtp body\\r\\n' | msmtp -C " + conf.string() +
                             " -a relay bob@example.test 2>&1");
    EXPECT_EQ(msmtp.status, 0) << msmtp.out;

    // Python's smtplib over implicit TLS (relay.listen_tls), AUTH PLAIN.
    const std::string py_subject = unique("via-smtplib");
    auto py = run_command(
        "python3 - <<'EOF' 2>&1\n"
        "import smtplib, ssl\n"
        "ctx = ssl.create_default_context()\n"
        "ctx.check_hostname = False\n"
        "ctx.verify_mode = ssl.CERT_NONE\n"
        "s = smtplib.SMTP_SSL('127.0.0.1', " +
        std::to_string(tls_port_) +
        ", context=ctx, timeout=30)\n"
        "s.ehlo('copier.lan')\n"
        "s.login('copier', '" +
        kDevicePassword +
        "')\n"
        "s.sendmail('copier@lan.example', ['bob@example.test'], "
        "'From: copier@lan.example\\r\\nSubject: " +
        py_subject +
        "\\r\\n\\r\\nsmtplib body\\r\\n')\n"
        "s.quit()\n"
        "EOF");
    EXPECT_EQ(py.status, 0) << py.out;

    for (const auto& subject : {swaks_subject, curl_subject, msmtp_subject, py_subject}) {
        auto got = delivered(subject);
        ASSERT_EQ(got.size(), 1U) << subject << "\n" << serve_log();
        EXPECT_NE(header(got[0], "From").find("alice@example.test"), std::string::npos) << got[0];
        EXPECT_NE(header(got[0], "Reply-To").find("copier@lan.example"), std::string::npos)
            << got[0];
    }
    EXPECT_NE(delivered(swaks_subject)[0].find("Copier 3F <alice@example.test>"),
              std::string::npos);
    // Hostile-LAN table, row "relayed message": the relay adds Received:
    // (RFC 5321 4.4), naming the device, how it came and the job.
    const std::string received = header(delivered(swaks_subject)[0], "Received");
    for (const char* part :
         {"from copier.lan (unknown [127.0.0.1])", "(using TLSv1.",
          "(Authenticated sender: copier)", "with ESMTPSA id ", "for <bob@example.test>"})
        EXPECT_NE(received.find(part), std::string::npos) << part << " in " << received;
    const auto id_at = received.find(" id ");
    ASSERT_NE(id_at, std::string::npos) << received;
    const std::string id =
        received.substr(id_at + 4, received.find_first_not_of("0123456789", id_at + 4) - id_at - 4);
    auto shown = pb("jobs show " + id + " --json");
    EXPECT_NE(shown.out.find(swaks_subject), std::string::npos) << id << ": " << shown.out;
    // The jobs are relay jobs in the history, sent.
    auto jobs = pb("jobs --json");
    EXPECT_NE(jobs.out.find("\"state\":\"sent\""), std::string::npos) << jobs.out;
    // No password in the log.
    EXPECT_EQ(serve_log().find(kDevicePassword), std::string::npos);
}

TEST_F(RelayPeers, WrongDevicePasswordIsRefused) {
    const std::string subject = unique("wrong-password");
    auto swaks = run_command("swaks --server 127.0.0.1 --port " + std::to_string(port_) +
                             " --tls --auth PLAIN --auth-user copier --auth-password nope"
                             " --from copier@lan.example --to bob@example.test --header "
                             "'Subject: " +
                             subject + "' 2>&1");
    EXPECT_NE(swaks.status, 0);
    EXPECT_NE(swaks.out.find("535 5.7.8"), std::string::npos) << swaks.out;
    // Unknown account, same answer.
    auto other = run_command("swaks --server 127.0.0.1 --port " + std::to_string(port_) +
                             " --tls --auth LOGIN --auth-user nobody --auth-password x"
                             " --from a@lan.example --to bob@example.test 2>&1");
    EXPECT_NE(other.out.find("535 5.7.8"), std::string::npos) << other.out;
    EXPECT_TRUE(delivered(subject, 1, 3s).empty());
    const std::string log = serve_log();
    EXPECT_NE(log.find("failed login for device account 'copier'"), std::string::npos) << log;
    EXPECT_NE(log.find("C: AUTH PLAIN ***"), std::string::npos) << log;
    EXPECT_EQ(log.find("nope"), std::string::npos) << log;
}

// An outsider (127.0.0.1, not in 127.0.0.9/32) that does not log in cannot
// get a message through, whatever it tries.
TEST_F(RelayPeers, OutsiderIsNotAnOpenRelay) {
    const std::string subject = unique("open-relay");
    Raw c(port_);
    ASSERT_TRUE(c.ok());
    EXPECT_TRUE(c.replies(1).starts_with("220 "));
    c.send("EHLO evil\r\n");
    const std::string ehlo = c.replies(1);
    EXPECT_EQ(ehlo.find("AUTH"), std::string::npos) << ehlo;  // not before TLS
    EXPECT_NE(ehlo.find("STARTTLS"), std::string::npos) << ehlo;
    c.send("RCPT TO:<bob@example.test>\r\n");
    EXPECT_TRUE(c.replies(1).starts_with("503 5.5.1"));
    c.send("MAIL FROM:<a@evil.example>\r\n");
    EXPECT_TRUE(c.replies(1).starts_with("530 5.7.0"));
    c.send("AUTH PLAIN AGNvcGllcgBEZXYxY2UtcGFzcw==\r\n");  // right password, no TLS
    EXPECT_TRUE(c.replies(1).starts_with("538 5.7.11"));
    c.send("MAIL FROM:<a@evil.example> AUTH=<copier@lan.example>\r\n");
    EXPECT_TRUE(c.replies(1).starts_with("530 5.7.0"));
    c.send("DATA\r\n");
    EXPECT_TRUE(c.replies(1).starts_with("503 5.5.1"));
    // Pipelined: a whole transaction in one write.
    c.send("MAIL FROM:<a@evil.example>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nSubject: " +
           subject + "\r\n\r\nspam\r\n.\r\nQUIT\r\n");
    const std::string rest = c.replies(20);
    EXPECT_EQ(rest.find("354"), std::string::npos) << rest;
    EXPECT_EQ(rest.find("250 2.0.0"), std::string::npos) << rest;

    // swaks without AUTH, over TLS: still refused.
    auto swaks = run_command("swaks --server 127.0.0.1 --port " + std::to_string(port_) +
                             " --tls --from a@evil.example --to bob@example.test --header "
                             "'Subject: " +
                             subject + "' 2>&1");
    EXPECT_NE(swaks.status, 0);
    EXPECT_NE(swaks.out.find("530 5.7.0"), std::string::npos) << swaks.out;
    EXPECT_TRUE(delivered(subject, 1, 3s).empty());
    auto jobs = pb("jobs --json");
    EXPECT_EQ(jobs.out.find("\"relay\""), std::string::npos) << jobs.out;
}

// The "LAN" (127.0.0.9/32) sends without a login; PIPELINING works; the
// smuggling vectors of 2023 do not split a message.
TEST_F(RelayPeers, AllowedNetworkPipelinesAndSmugglingDoesNotSplit) {
    const std::string first = unique("pipelined");
    const std::string smuggled = unique("smuggled");
    Raw c(port_, "127.0.0.9");
    ASSERT_TRUE(c.ok());
    EXPECT_TRUE(c.replies(1).starts_with("220 "));
    c.send(
        "EHLO copier.lan\r\nMAIL FROM:<copier@lan.example>\r\nRCPT TO:<bob@example.test>\r\n"
        "RCPT TO:<carol@example.test>\r\nDATA\r\n");
    const std::string r = c.replies(5);
    EXPECT_NE(r.find("250-PIPELINING"), std::string::npos) << r;
    EXPECT_TRUE(r.ends_with("354 End data with <CR><LF>.<CR><LF>\r\n")) << r;
    // Each vector tries to end the data early and start a second message
    // with a forged sender.
    std::string data = "From: copier@lan.example\r\nSubject: " + first + "\r\n\r\nstart\r\n";
    for (std::string_view v : {"\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r", "\r\n.\r", "\r.\r\n"}) {
        data += "text";
        data += v;
        data +=
            "MAIL FROM:<ceo@victim.example>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
            "From: ceo@victim.example\r\nSubject: " +
            smuggled + "\r\n\r\nwire money\r\n";
    }
    c.send(data + ".\r\nQUIT\r\n");
    const std::string end = c.replies(2);
    EXPECT_TRUE(end.starts_with("250 2.0.0 Ok: queued as ")) << end;
    EXPECT_TRUE(end.ends_with("221 2.0.0 Bye\r\n")) << end;

    auto got = delivered(first);
    ASSERT_FALSE(got.empty()) << serve_log();
    for (const auto& m : got) EXPECT_NE(m.find("wire money"), std::string::npos);
    // No message was delivered whose own Subject is the smuggled one.
    for (const auto& m : delivered(smuggled, 1, 2s))
        EXPECT_NE(m.find("Subject: " + first), std::string::npos) << m;
}

// 50 devices connecting at the same moment are all greeted.
TEST_F(RelayPeers, FiftyClientsAtOnceAreAllGreeted) {
    std::vector<std::unique_ptr<Raw>> clients;
    for (int i = 0; i < 50; ++i) clients.push_back(std::make_unique<Raw>(port_, "127.0.0.9"));
    int greeted = 0;
    for (auto& c : clients) {
        ASSERT_TRUE(c->ok());
        if (c->replies(1).starts_with("220 ")) ++greeted;
    }
    EXPECT_EQ(greeted, 50);
    for (auto& c : clients) {
        c->send("QUIT\r\n");
        EXPECT_TRUE(c->replies(1).starts_with("221 "));
    }
}

}  // namespace
}  // namespace pb::test
