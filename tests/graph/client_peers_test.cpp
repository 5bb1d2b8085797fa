// The Graph client against the Graph peer (tests/peers/graph.mjs), whose
// bearer tokens are checked at the real OAuth server: a small message by
// sendMail byte for byte, Bcc for envelope-only recipients and nobody
// outside the envelope, a 20 MB scan through a draft and upload sessions,
// throttling, app-only, a token of the SMTP resource, and a draft left by
// an upload cut short that the next attempt deletes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/crypto.hpp"
#include "core/encoding.hpp"
#include "graph/client.hpp"
#include "oauth/http_curl.hpp"
#include "support/peers.hpp"

namespace pb::graph {
namespace {

namespace fs = std::filesystem;

#define REQUIRE_PEERS()                                                      \
    do {                                                                     \
        if (!pb::test::Peers::get().available()) GTEST_SKIP() << "no peers"; \
    } while (0)

std::string env(const std::string& key) {
    return pb::test::Peers::get().at(key);
}

std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
}

// A Graph token for `login` through the device flow (Graph scopes only: a
// token that also carries smtp.send is one of the SMTP resource).
std::string graph_token(const std::string& login = "alice",
                        const std::string& scope =
                            "openid email offline_access mail.send "
                            "mail.readwrite") {
    const auto r = pb::test::run_command(
        env("PB_NODE") + " " + pb::test::source_dir() + "/tests/peers/token.mjs --issuer '" +
        env("PB_OIDC_ISSUER") + "' --login " + login + " --scope '" + scope + "'");
    EXPECT_EQ(r.status, 0) << r.out;
    return trimmed(r.out);
}

std::unique_ptr<oauth::CurlHttpClient> http() {
    oauth::CurlOptions o;
    o.max_response_bytes = 1 << 20;
    auto c = oauth::CurlHttpClient::create(o);
    EXPECT_TRUE(c);
    return std::move(*c);
}

// A client-credentials token of the test app.
std::string app_token() {
    auto h = http();
    oauth::Form f;
    f.add("grant_type", "client_credentials").add("scope", "mail.send mail.readwrite");
    auto req = oauth::post_form(env("PB_OIDC_ISSUER") + "/token", f);
    req.authorization =
        oauth::basic_authorization(env("PB_APP_CLIENT_ID"), Secret(env("PB_APP_CLIENT_SECRET")));
    auto r = h->send(req);
    EXPECT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body.reveal();
    return nlohmann::json::parse(r->body.reveal())["access_token"].get<std::string>();
}

// The peer's test routes.
nlohmann::json peer(const std::string& path, bool post = false) {
    auto h = http();
    std::string base = env("PB_GRAPH_ENDPOINT");
    base.resize(base.size() - std::string("/v1.0").size());
    oauth::HttpRequest q = post ? oauth::post_form(base + "/_test/" + path, oauth::Form{})
                                : oauth::get(base + "/_test/" + path);
    auto r = h->send(q);
    EXPECT_TRUE(r);
    return nlohmann::json::parse(r->body.reveal());
}

class FixedTokens final : public Tokens {
  public:
    explicit FixedTokens(std::vector<std::string> t) : t_(std::move(t)) {}
    Result<Secret> token() override { return Secret(t_.at(0)); }
    Result<Secret> after_rejection(const Secret&) override {
        ++refreshed;
        return Secret(t_.at(std::min<std::size_t>(1, t_.size() - 1)));
    }
    int refreshed = 0;

  private:
    std::vector<std::string> t_;
};

// Fails every request after the first `allowed` PUTs, as a process killed
// in the middle of an upload session would leave things.
class CutShort final : public oauth::HttpClient {
  public:
    CutShort(oauth::HttpClient& real, int allowed) : real_(real), allowed_(allowed) {}
    Result<oauth::HttpResponse> send(const oauth::HttpRequest& r) override {
        if (r.method == oauth::HttpRequest::Method::put && puts_++ >= allowed_)
            return fail(Errc::cannot_connect, "cut short by the test");
        return real_.send(r);
    }

  private:
    oauth::HttpClient& real_;
    int allowed_;
    int puts_ = 0;
};

struct Delivered {
    std::string text;
    nlohmann::json envelope;
};

// The message the peer delivered whose text contains `needle`.
std::optional<Delivered> delivered(const std::string& needle) {
    for (const auto& e : fs::directory_iterator(fs::path(env("PB_GRAPH_MAILDIR")) / "new")) {
        const auto name = e.path().filename().string();
        if (name.ends_with(".envelope.json")) continue;
        std::ifstream f(e.path(), std::ios::binary);
        std::stringstream ss;
        ss << f.rdbuf();
        if (ss.str().find(needle) == std::string::npos) continue;
        std::ifstream j(e.path().string() + ".envelope.json");
        return Delivered{ss.str(), nlohmann::json::parse(j)};
    }
    return std::nullopt;
}

struct Harness {
    std::unique_ptr<oauth::CurlHttpClient> curl = http();
    MailboxGate gate;
    fs::path dir = fs::temp_directory_path() / ("pb-graph-" + std::to_string(::getpid()));
    FileDraftLedger ledger{dir};
    SystemClock clock;
    std::vector<std::chrono::seconds> waits;

    Outcome send(Tokens& tokens, const std::string& mailbox, const std::string& mime,
                 std::vector<std::string> rcpts, std::int64_t job = 1,
                 oauth::HttpClient* through = nullptr) {
        Options o;
        o.endpoint = env("PB_GRAPH_ENDPOINT");
        o.mailbox = mailbox;
        Client c(
            through ? *through : *curl, tokens, gate, ledger, clock,
            [this](std::chrono::seconds s) { waits.push_back(s); }, o);
        Message m;
        m.job = job;
        m.recipients = std::move(rcpts);
        m.size = mime.size();
        m.open = [&mime]() -> Result<std::unique_ptr<ByteSource>> {
            return std::unique_ptr<ByteSource>(std::make_unique<StringSource>(mime));
        };
        return c.send(m);
    }
    ~Harness() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
};

std::string unique(const char* what) {
    static std::mt19937_64 rng{std::random_device{}()};
    return std::string(what) + "-" + std::to_string(rng());
}

std::string b64_lines(std::string_view data) {
    const std::string b = base64_encode(data);
    std::string out;
    out.reserve(b.size() + b.size() / 76 * 2 + 2);
    for (std::size_t i = 0; i < b.size(); i += 76) {
        out.append(b, i, 76);
        out += "\r\n";
    }
    return out;
}

std::string random_bytes(std::size_t n) {
    std::mt19937_64 rng{42};
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
}

TEST(GraphClientPeers, SmallMessageBySendMailByteForByteAndBccFromTheEnvelope) {
    REQUIRE_PEERS();
    FixedTokens tokens({graph_token()});
    Harness h;
    const std::string tag = unique("small");
    const std::string mime =
        "From: alice@example.test\r\nTo: Bob <bob@example.test>\r\nSubject: " + tag +
        "\r\nMessage-ID: <" + tag +
        "@example.test>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\nh\xc3\xa9llo\r\n.\r\n";
    const auto out =
        h.send(tokens, "alice@example.test", mime, {"bob@example.test", "boss@example.test"});
    ASSERT_FALSE(out.error) << out.error->describe() << "\n" << out.transcript;
    EXPECT_EQ(out.how, "sendMail");
    const auto d = delivered(tag);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->text, mime);  // the Bcc we added is not in what recipients get
    EXPECT_EQ(d->envelope["via"], "sendMail");
    EXPECT_EQ(d->envelope["recipients"], nlohmann::json({"bob@example.test", "boss@example.test"}));
    EXPECT_EQ(out.transcript.find("Bearer"), std::string::npos);
}

TEST(GraphClientPeers, NobodyOutsideTheEnvelopeReceivesIt) {
    REQUIRE_PEERS();
    FixedTokens tokens({graph_token()});
    Harness h;
    const std::string tag = unique("retry");
    const std::string mime =
        "From: alice@example.test\r\nTo: bob@example.test, dave@example.test\r\n"
        "Subject: " +
        tag + "\r\n\r\nx\r\n";
    // dave got it on an earlier attempt; only bob is pending.
    const auto out = h.send(tokens, "alice@example.test", mime, {"bob@example.test"});
    ASSERT_FALSE(out.error) << out.error->describe();
    const auto d = delivered(tag);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->envelope["recipients"], nlohmann::json({"bob@example.test"}));
}

TEST(GraphClientPeers, TwentyMegabyteScanThroughUploadSessions) {
    REQUIRE_PEERS();
    FixedTokens tokens({graph_token()});
    Harness h;
    const std::string tag = unique("scan20");
    const std::string pdf = random_bytes(20u << 20);
    const std::string mime =
        "From: alice@example.test\r\nTo: bob@example.test\r\nSubject: " + tag +
        "\r\nMessage-ID: <" + tag +
        "@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b-1\"\r\n"
        "\r\n--b-1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nScanned.\r\n"
        "--b-1\r\nContent-Type: application/pdf; name=\"scan.pdf\"\r\n"
        "Content-Disposition: attachment; filename=\"scan.pdf\"\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" +
        b64_lines(pdf) + "--b-1--\r\n";
    const auto out =
        h.send(tokens, "alice@example.test", mime, {"bob@example.test", "cc@example.test"});
    ASSERT_FALSE(out.error) << out.error->describe() << "\n" << out.transcript;
    EXPECT_EQ(out.how, "draft");
    const auto d = delivered("Message-ID: <" + tag);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->envelope["via"], "draft");
    ASSERT_EQ(d->envelope["attachments"].size(), 1u);
    EXPECT_EQ(d->envelope["attachments"][0]["name"], "scan.pdf");
    EXPECT_EQ(d->envelope["attachments"][0]["sha256"], sha256_hex(pdf));
    EXPECT_EQ(d->envelope["recipients"], nlohmann::json({"bob@example.test", "cc@example.test"}));
    EXPECT_NE(d->text.find("Subject: " + tag + "\r\n"), std::string::npos);
    EXPECT_NE(d->text.find("Scanned."), std::string::npos);
    EXPECT_FALSE(h.ledger.find(1));                                  // no draft left behind
    EXPECT_EQ(out.transcript.find("authtoken"), std::string::npos);  // the upload URL's credential
}

TEST(GraphClientPeers, ThrottlingDelaysButLosesNothing) {
    REQUIRE_PEERS();
    // An app token sends as a mailbox no other test uses, and only that
    // mailbox's requests are throttled: the tests beside this one on the same
    // peer neither throttle it nor are throttled.
    FixedTokens tokens({app_token()});
    Harness h;
    peer("throttle?every=3&retryAfter=2&mailbox=throttled@example.test", true);
    std::vector<std::string> tags;
    for (int i = 0; i < 5; ++i) {
        tags.push_back(unique("throttled"));
        const auto out = h.send(
            tokens, "throttled@example.test",
            "From: throttled@example.test\r\nTo: bob@example.test\r\nSubject: " + tags.back() +
                "\r\n\r\nx\r\n",
            {"bob@example.test"});
        EXPECT_FALSE(out.error) << out.error->describe();
    }
    peer("throttle?every=0", true);
    for (const auto& t : tags) EXPECT_TRUE(delivered(t)) << t;
    ASSERT_FALSE(h.waits.empty());
    for (auto w : h.waits) EXPECT_EQ(w, std::chrono::seconds{2});
}

TEST(GraphClientPeers, AppOnlySendsAsTheSender) {
    REQUIRE_PEERS();
    FixedTokens tokens({app_token()});
    Harness h;
    const std::string tag = unique("app");
    const auto out = h.send(
        tokens, "scanner@example.test",
        "From: scanner@example.test\r\nTo: bob@example.test\r\nSubject: " + tag + "\r\n\r\nx\r\n",
        {"bob@example.test"});
    ASSERT_FALSE(out.error) << out.error->describe();
    const auto d = delivered(tag);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->envelope["app"], true);
}

TEST(GraphClientPeers, TokenOfTheSmtpResourceIsRefusedAfterOneRefresh) {
    REQUIRE_PEERS();
    const std::string smtp = graph_token("alice", "openid email offline_access smtp.send");
    FixedTokens tokens({smtp});
    Harness h;
    const auto out =
        h.send(tokens, "alice@example.test", "To: b@example.test\r\n\r\nx\r\n", {"b@example.test"});
    ASSERT_TRUE(out.error);
    EXPECT_EQ(out.error->code, Errc::auth_rejected);
    EXPECT_EQ(tokens.refreshed, 1);
    EXPECT_EQ(out.error->detail.find(smtp), std::string::npos);
}

TEST(GraphClientPeers, MissingMailboxAndSendAs) {
    REQUIRE_PEERS();
    Harness h;
    FixedTokens app({app_token()});
    auto out = h.send(app, "nomailbox@example.test", "To: b@example.test\r\n\r\nx\r\n",
                      {"b@example.test"});
    ASSERT_TRUE(out.error);
    EXPECT_EQ(out.error->code, Errc::graph_mailbox_not_found);
    FixedTokens alice({graph_token()});
    out = h.send(alice, "bob@example.test", "To: b@example.test\r\n\r\nx\r\n", {"b@example.test"});
    ASSERT_TRUE(out.error);
    EXPECT_EQ(out.error->code, Errc::sender_not_allowed);
}

TEST(GraphClientPeers, ADraftLeftByAnUploadCutShortIsDeletedOnTheNextAttempt) {
    REQUIRE_PEERS();
    FixedTokens tokens({graph_token()});
    Harness h;
    const std::string tag = unique("cut");
    const std::string mime =
        "To: bob@example.test\r\nSubject: " + tag +
        "\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nbody\r\n--b\r\n"
        "Content-Type: image/tiff\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
        b64_lines(random_bytes(9u << 20)) + "--b--\r\n";
    // Other tests of this suite run beside this one on the same peer, so only
    // the drafts of this message are counted.
    const auto drafts_of_this = [&] {
        int n = 0;
        for (const auto& d : peer("drafts"))
            if (d["subject"] == tag) ++n;
        return n;
    };
    ASSERT_EQ(drafts_of_this(), 0);
    CutShort cut(*h.curl, 1);
    auto out = h.send(tokens, "alice@example.test", mime, {"bob@example.test"}, 77, &cut);
    ASSERT_TRUE(out.error);
    EXPECT_EQ(out.error->code, Errc::cannot_connect);
    ASSERT_TRUE(h.ledger.find(77));
    EXPECT_EQ(drafts_of_this(), 1);

    out = h.send(tokens, "alice@example.test", mime, {"bob@example.test"}, 77);
    ASSERT_FALSE(out.error) << out.error->describe() << "\n" << out.transcript;
    EXPECT_NE(out.transcript.find("DELETE"), std::string::npos);
    EXPECT_EQ(drafts_of_this(), 0);
    EXPECT_FALSE(h.ledger.find(77));
    EXPECT_TRUE(delivered(tag));
}

}  // namespace
}  // namespace pb::graph
