// The Graph transport through the command line, against the Graph peer and
// the real OAuth server: `send --wait` with transport graph; transport auto
// against an SMTP server that answers 535 5.7.139 falls back to Graph at
// once and stays there; a revoked grant holds the job with 370, as over SMTP;
// app-only (client credentials) sends with no user sign-in; `serve` killed
// with SIGKILL in the middle of an upload session sends the job once after
// its restart and deletes the draft it left. `jobs show` says the transport.
#include <gtest/gtest.h>
#include <signal.h>

#include <optional>

#include "cli_with_peers.hpp"
#include "core/crypto.hpp"
#include "support/serve_process.hpp"

namespace pb::test {
namespace {

class GraphCli : public CliWithPeers {
  protected:
    void SetUp() override {
        CliWithPeers::SetUp();
        if (HasFatalFailure()) return;
        const auto& p = Peers::get();
        for (const std::string& kv : std::vector<std::string>{
                 // One sign-in grants both resources' scopes; each token asks for its own.
                 "email.oauth.scopes 'openid email offline_access smtp.send mail.send "
                 "mail.readwrite'",
                 "email.graph.scopes 'mail.send mail.readwrite'",
                 "email.graph.endpoint " + p.at("PB_GRAPH_ENDPOINT"), "email.transport graph"})
            ASSERT_EQ(pb("config set " + kv).status, 0) << kv;
    }
    json send(const std::string& subject, const std::string& to = "bob@example.test") {
        return last_json(
            pb("--json send --to " + to + " --subject " + subject + " --body hello --wait").out);
    }
    // The last line of `out`, as JSON.
    static json last_json(std::string out) {
        while (!out.empty() && out.back() == '\n') out.pop_back();
        const auto nl = out.rfind('\n');
        auto j = json::parse(nl == std::string::npos ? out : out.substr(nl + 1), nullptr, false);
        EXPECT_TRUE(j.is_object()) << out;
        return j;
    }
    // `jobs show --json ID`.
    json show(const json& job) {
        auto r = pb("--json jobs show " + std::to_string(job.value("job", 0)));
        auto j = json::parse(r.out, nullptr, false);
        EXPECT_TRUE(j.is_object()) << r.out;
        return j;
    }
    // Whether a message at the Graph peer has `needle` in its first 64 KB
    // (the header: the peer holds other tests' scans of up to 100 MB, which
    // read whole under ASan took minutes).
    static bool in_graph_maildir(const std::string& needle) {
        for (const auto& e :
             fs::directory_iterator(fs::path(Peers::get().at("PB_GRAPH_MAILDIR")) / "new")) {
            if (e.path().string().ends_with(".json")) continue;
            if (head_of(e.path()).find(needle) != std::string::npos) return true;
        }
        return false;
    }
    static std::string head_of(const fs::path& file) {
        std::ifstream in(file, std::ios::binary);
        std::string head(64 * 1024, '\0');
        in.read(head.data(), static_cast<std::streamsize>(head.size()));
        head.resize(static_cast<std::size_t>(in.gcount()));
        return head;
    }
    std::string unique(const std::string& what) {
        return what + "-" + std::to_string(::getpid()) + "-" + std::to_string(++n_);
    }
    // The sidecars (envelope.json) of the Graph peer's messages whose header
    // has "Subject: `subject`" (only the first 64 KB of each is read: other
    // tests' messages may be 100 MB).
    static std::vector<json> delivered(const std::string& subject) {
        std::vector<json> out;
        const fs::path dir = fs::path(Peers::get().at("PB_GRAPH_MAILDIR")) / "new";
        for (const auto& e : fs::directory_iterator(dir)) {
            if (!e.path().string().ends_with(".envelope.json")) continue;
            std::ifstream side(e.path());
            auto j = json::parse(side, nullptr, false);
            if (!j.is_object() || !j.contains("message")) continue;
            const std::string head = head_of(dir / j["message"].get<std::string>());
            const std::string header = "\r\n" + head.substr(0, head.find("\r\n\r\n")) + "\r\n";
            if (header.find("\r\nSubject: " + subject + "\r\n") != std::string::npos)
                out.push_back(std::move(j));
        }
        return out;
    }
    // The Graph peer's test route `what` (/_test/...), as JSON.
    static json peer(const std::string& what) {
        std::string base = Peers::get().at("PB_GRAPH_ENDPOINT");
        base.erase(base.rfind("/v1.0"));
        auto r = run_command("curl -s '" + base + what + "'");
        return json::parse(r.out, nullptr, false);
    }
    // The peer's draft with this subject, or null.
    static json draft(const std::string& subject) {
        for (const auto& d : peer("/_test/drafts"))
            if (d.value("subject", "") == subject) return d;
        return nullptr;
    }
    // Where serve's output goes.
    std::string serve_log() const { return state_.string() + ".serve.log"; }
    // `serve` (with `args`), started and up (it said READY=1).
    void start_serve(const std::string& args = "") {
        if (!serve_) serve_.emplace(state_, serve_log());
        serve_->start(args);
    }
    // Kills serve with `sig` and waits until it let go of the state.
    void stop_serve(int sig) {
        if (serve_) serve_->kill(sig);
    }
    void TearDown() override {
        serve_.reset();  // killed with SIGKILL, if it runs
        fs::remove(serve_log());
        CliWithPeers::TearDown();
    }
    // The port serve's relay listens on, 0 if none: serve logs it before it
    // says READY=1, so once start_serve() returns it is in the log.
    int relay_port() {
        std::ifstream in(serve_log());
        const std::string said = "relay: listening on ";
        for (std::string line; std::getline(in, line);)
            if (const auto at = line.find(said); at != std::string::npos)
                return std::atoi(line.c_str() + line.rfind(':') + 1);
        return 0;
    }
    // The profile as an application: client credentials with the test app's
    // secret, and no sign-in.
    void use_app_only() {
        const auto& p = Peers::get();
        for (const std::string& kv :
             std::vector<std::string>{"email.oauth.grant client-credentials",
                                      "email.oauth.client_id " + p.at("PB_APP_CLIENT_ID"),
                                      "email.oauth.scopes smtp.send"})
            ASSERT_EQ(pb("config set " + kv).status, 0) << kv;
        ASSERT_EQ(
            run_command("printf %s " + p.at("PB_APP_CLIENT_SECRET") + " | " + binary_path() +
                        " --state " + state_.string() + " config set email.oauth.client_secret -")
                .status,
            0);
    }
    int n_ = 0;
    std::optional<ServeProcess> serve_;
};

TEST_F(GraphCli, SendWaitGoesOutOverGraph) {
    auto lines = signin_as_user("approve");
    ASSERT_EQ(lines.back(), 0);
    const auto subject = unique("graph-cli");
    auto j = send(subject);
    EXPECT_EQ(j["state"], "sent") << j.dump();
    EXPECT_EQ(j["transport"], "graph") << j.dump();
    EXPECT_EQ(show(j)["transport"], "graph");
    const auto shown = pb("jobs show " + std::to_string(j.value("job", 0)));
    EXPECT_NE(shown.out.find("1 attempt(s), last over Microsoft Graph"), std::string::npos)
        << shown.out;
    EXPECT_TRUE(in_graph_maildir("Subject: " + subject));
    EXPECT_FALSE(in_maildir("Subject: " + subject));
}

TEST_F(GraphCli, AJobOverSmtpSaysSmtp) {
    ASSERT_EQ(pb("config set email.transport smtp").status, 0);
    auto lines = signin_as_user("approve");
    ASSERT_EQ(lines.back(), 0);
    const auto subject = unique("smtp-cli");
    auto j = send(subject);
    EXPECT_EQ(j["state"], "sent") << j.dump();
    EXPECT_EQ(show(j)["transport"], "smtp");
    const auto shown = pb("jobs show " + std::to_string(j.value("job", 0)));
    EXPECT_NE(shown.out.find("last over SMTP"), std::string::npos) << shown.out;
}

TEST_F(GraphCli, AutoFallsBackOnSmtpAuthOffAndRemembersIt) {
    ASSERT_EQ(pb("config set email.transport auto").status, 0);
    ASSERT_EQ(pb("config set email.smtp.port " + Peers::get().at("PB_SMTP_OFF_PORT")).status, 0);
    auto lines = signin_as_user("approve");
    ASSERT_EQ(lines.back(), 0);
    const auto first = unique("auto-first");
    auto j = send(first);
    EXPECT_EQ(j["state"], "sent") << j.dump();
    EXPECT_EQ(show(j)["transport"], "graph") << "tried over SMTP, went out over Graph";
    EXPECT_TRUE(in_graph_maildir("Subject: " + first));
    EXPECT_EQ(status_json()["transport"], "graph");
    EXPECT_EQ(status_json()["transport_reason"], "SMTP AUTH is off for this mailbox");
    const auto second = unique("auto-second");
    j = send(second);
    EXPECT_EQ(j["state"], "sent") << j.dump();
    EXPECT_TRUE(in_graph_maildir("Subject: " + second));
}

TEST_F(GraphCli, RevokedGrantHoldsWith370) {
    auto lines = signin_as_user("approve", "email", "revokee");
    ASSERT_EQ(lines.back(), 0);
    auto r = run_command("curl -s -X POST '" + Peers::get().at("PB_OIDC_ISSUER") +
                         "/_test/revoke?account=revokee'");
    ASSERT_EQ(r.status, 0) << r.out;
    auto j = send(unique("revoked"));
    EXPECT_EQ(j["state"], "held") << j.dump();
    EXPECT_EQ(j["code"], 370) << j.dump();
    EXPECT_EQ(show(j)["transport"], "graph") << "last tried with";
}

// oauth.grant client-credentials: the application's own token for Graph
// (its .default-like scopes here), no device code, no person at the OAuth
// server; the peer sees an app token (no subject) sending as the sender.
TEST_F(GraphCli, AppOnlySendsWithNoUserSignIn) {
    use_app_only();
    ASSERT_FALSE(HasFatalFailure());
    // Before its first token it is not "signed out": it needs no sign-in.
    EXPECT_EQ(status_json()["app_only"], true);
    EXPECT_NE(pb("status").out.find("App-only (signs in by itself when it sends)"),
              std::string::npos)
        << pb("status").out;
    const auto subject = unique("app-only");
    auto j = send(subject);
    EXPECT_EQ(j["state"], "sent") << j.dump();
    EXPECT_EQ(j["transport"], "graph") << j.dump();
    const auto got = delivered(subject);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0]["app"], true) << got[0].dump();
    EXPECT_EQ(got[0]["user"], "alice@example.test") << got[0].dump();
    EXPECT_EQ(got[0]["via"], "sendMail") << got[0].dump();
}

// The relay on app-only Graph: a device on an allowed network hands serve's
// relay a message, and it goes out over Graph with the application's token;
// nobody ever signed in.
TEST_F(GraphCli, RelayOnAppOnlyGraphNeedsNoSignIn) {
    use_app_only();
    ASSERT_FALSE(HasFatalFailure());
    ASSERT_EQ(pb("config set relay.allowed_networks 127.0.0.9/32").status, 0);
    start_serve("--relay 127.0.0.1:0");
    ASSERT_FALSE(HasFatalFailure());
    const int port = relay_port();
    ASSERT_GT(port, 0) << run_command("cat " + serve_log()).out;
    const auto subject = unique("relay-app-only");
    const std::string py =
        "import smtplib\n"
        "s = smtplib.SMTP('127.0.0.1', " +
        std::to_string(port) +
        ", source_address=('127.0.0.9', 0), timeout=30)\n"
        "s.sendmail('copier@lan.example', ['bob@example.test'], 'From: copier@lan.example\\r\\n"
        "To: bob@example.test\\r\\nSubject: " +
        subject +
        "\\r\\n\\r\\nscanned page\\r\\n')\n"
        "s.quit()\n";
    const fs::path script = state_.string() + ".relay.py";
    std::ofstream(script) << py;
    auto r = run_command("python3 " + script.string() + " 2>&1");
    fs::remove(script);
    ASSERT_EQ(r.status, 0) << r.out;
    std::vector<json> got;
    for (int i = 0; i < 600 && got.empty(); ++i) {
        got = delivered(subject);
        if (got.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_EQ(got.size(), 1u) << run_command("cat " + serve_log()).out;
    EXPECT_EQ(got[0]["app"], true) << got[0].dump();
    EXPECT_EQ(got[0]["user"], "alice@example.test") << got[0].dump();
    auto jobs = pb("--json jobs");
    EXPECT_NE(jobs.out.find(R"("transport":"graph")"), std::string::npos) << jobs.out;
    EXPECT_EQ(status_json()["status"], "signed-in") << "its token, got by the application";
}

// kill -9 of serve while a 30 MB scan is being uploaded: after the restart
// the job is sent once, with the attachment byte for byte, and the draft the
// killed attempt left is deleted. (The window for a duplicate is the
// draft's send, after every upload: not this one.)
TEST_F(GraphCli, KilledInTheMiddleOfAnUploadSessionSendsOnceAfterRestart) {
    auto lines = signin_as_user("approve");
    ASSERT_EQ(lines.back(), 0);
    const fs::path pdf = state_.string() + ".scan.pdf";
    // From the kernel: a generator run byte by byte takes minutes in a
    // sanitizer build on a busy machine.
    std::string data(30u << 20, '\0');
    std::ifstream("/dev/urandom", std::ios::binary)
        .read(data.data(), static_cast<std::streamsize>(data.size()));
    {
        std::ofstream f(pdf, std::ios::binary);
        f.write(data.data(), static_cast<std::streamsize>(data.size()));
    }
    const std::string sha = sha256_hex(data);
    data = {};

    start_serve();
    ASSERT_FALSE(HasFatalFailure());
    const auto subject = unique("killed-upload");
    auto queued = pb("--json send --to bob@example.test --subject " + subject +
                     " --body 'a large scan' --attach " + pdf.string());
    fs::remove(pdf);
    const json job = last_json(queued.out);
    ASSERT_TRUE(job.contains("job")) << queued.out;

    // Until the draft exists and part of the attachment, not all of it, is up.
    bool under_way = false;
    for (int i = 0; i < 6000 && !under_way; ++i) {
        const json d = draft(subject);
        if (d.is_object())
            for (const auto& s : d.value("sessions", json::array()))
                under_way = under_way || (s.value("received", 0) > 0 &&
                                          s.value("received", 0) < s.value("size", 0));
        if (!under_way) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(under_way) << "never saw the upload under way: "
                           << pb("--json jobs show " + std::to_string(job["job"].get<int>())).out;
    stop_serve(SIGKILL);
    ASSERT_TRUE(draft(subject).is_object()) << "the killed attempt left its draft";
    EXPECT_TRUE(delivered(subject).empty());

    start_serve();
    ASSERT_FALSE(HasFatalFailure());
    json shown;
    for (int i = 0; i < 3000; ++i) {
        shown = show(job);
        const auto state = shown.value("state", "");
        if (state != "queued" && state != "sending") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(shown["state"], "sent") << shown.dump();
    EXPECT_EQ(shown["transport"], "graph") << shown.dump();
    const auto got = delivered(subject);
    ASSERT_EQ(got.size(), 1u) << "sent exactly once";
    EXPECT_EQ(got[0]["via"], "draft");
    ASSERT_EQ(got[0]["attachments"].size(), 1u) << got[0].dump();
    EXPECT_EQ(got[0]["attachments"][0]["sha256"], sha) << "the attachment byte for byte";
    EXPECT_EQ(got[0]["attachments"][0]["size"], 30u << 20);
    EXPECT_TRUE(draft(subject).is_null()) << "the left draft is deleted";
    EXPECT_FALSE(fs::exists(state_ / "graph-drafts" / std::to_string(job["job"].get<int>())))
        << "and forgotten";
}

}  // namespace
}  // namespace pb::test
