// The engine with the Graph transport against the Graph peer
// (tests/peers/graph.mjs): a spooled job goes out through sendMail, a large
// one through a draft and upload sessions, read from the spool each time;
// a sign-in that cannot give the Graph token holds the job with 370.
#include "delivery/graph_transport.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "core/encoding.hpp"
#include "delivery/engine.hpp"
#include "oauth/http_curl.hpp"
#include "spool/file_ops.hpp"
#include "spool/spool.hpp"
#include "storage/backends.hpp"
#include "store/store.hpp"
#include "support/fakes.hpp"
#include "support/peers.hpp"
#include "support/temp_dir.hpp"

namespace pb::delivery {
namespace {

namespace fs = std::filesystem;

std::string env(const std::string& key) {
    return pb::test::Peers::get().at(key);
}

std::string graph_token() {
    const auto r = pb::test::run_command(
        env("PB_NODE") + " " + pb::test::source_dir() + "/tests/peers/token.mjs --issuer '" +
        env("PB_OIDC_ISSUER") + "' --login alice --scope 'openid email offline_access mail.send " +
        "mail.readwrite'");
    EXPECT_EQ(r.status, 0) << r.out;
    std::string t = r.out;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
    return t;
}

class Fixed final : public graph::Tokens {
  public:
    explicit Fixed(Result<Secret> t) : t_(std::move(t)) {}
    Result<Secret> token() override { return t_; }
    Result<Secret> after_rejection(const Secret&) override { return t_; }

  private:
    Result<Secret> t_;
};

// Whether a message at the Graph peer has `needle` in its first 64 KB (its
// header): the shared peer holds other tests' scans of tens of MB, which
// read whole, a character at a time under ASan, took minutes.
bool delivered(const std::string& needle) {
    for (const auto& e : fs::directory_iterator(fs::path(env("PB_GRAPH_MAILDIR")) / "new")) {
        if (e.path().string().ends_with(".json")) continue;
        std::ifstream f(e.path(), std::ios::binary);
        std::string head(64 * 1024, '\0');
        f.read(head.data(), static_cast<std::streamsize>(head.size()));
        head.resize(static_cast<std::size_t>(f.gcount()));
        if (head.find(needle) != std::string::npos) return true;
    }
    return false;
}

class GraphEngineTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!pb::test::Peers::get().available()) GTEST_SKIP() << "needs the peers fixture";
        dir_ = pb::test::fresh_dir("pb-graph-engine");
        auto st =
            storage::open_store(dir_, rng_, clock_, {.key_base64 = std::string(43, 'A') + "="});
        ASSERT_TRUE(st.ok()) << st.error().detail;
        store_ = std::move(*st);
        auto sp = storage::open_spool(dir_, ops_, clock_, rng_);
        ASSERT_TRUE(sp.ok());
        spool_ = std::move(*sp);
        auto http = oauth::CurlHttpClient::create({});
        ASSERT_TRUE(http.ok());
        http_ = std::shared_ptr<oauth::HttpClient>(std::move(*http));
    }
    void TearDown() override {
        spool_.reset();
        store_.reset();
        if (!dir_.empty()) fs::remove_all(dir_);
    }
    spool::JobId submit(const std::string& message, std::vector<std::string> rcpts) {
        StringSource body(message);
        auto id = spool_->accept({spool::Function::cli, "email", "alice@example.test",
                                  std::move(rcpts), "t", std::nullopt},
                                 body);
        EXPECT_TRUE(id.ok());
        return *id;
    }
    Result<spool::Job> deliver(spool::JobId id, Result<Secret> token) {
        GraphTransport transport(
            [&](const std::string&) -> Result<GraphEndpoint> {
                GraphEndpoint e;
                e.options.endpoint = env("PB_GRAPH_ENDPOINT");
                e.options.mailbox = "alice@example.test";
                e.tokens = std::make_shared<Fixed>(token);
                e.http = http_;
                return e;
            },
            clock_, [this](std::chrono::seconds s) { waits_.push_back(s); }, dir_ / "graph-drafts");
        EngineOptions o;
        o.config = [](const std::string&) { return ProfileConfig{}; };
        o.on_error = [](const Error& e) { ADD_FAILURE() << e.describe(); };
        Engine engine(*spool_, transport, clock_, rng_, std::move(o));
        return engine.deliver(id);
    }

    fs::path dir_;
    pb::test::ManualClock clock_;
    pb::test::CountingRandom rng_;
    spool::PosixFileOps ops_;
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<spool::Spool> spool_;
    std::shared_ptr<oauth::HttpClient> http_;
    std::vector<std::chrono::seconds> waits_;
};

TEST_F(GraphEngineTest, SmallJobGoesOutBySendMail) {
    const std::string tag = "engine-small-" + std::to_string(::getpid());
    const auto id = submit(
        "From: alice@example.test\r\nTo: bob@example.test\r\nSubject: " + tag + "\r\n\r\nhello\r\n",
        {"bob@example.test", "carol@example.test"});
    auto job = deliver(id, Secret(graph_token()));
    ASSERT_TRUE(job.ok()) << job.error().describe();
    EXPECT_EQ(job->state, spool::JobState::sent) << job->detail << "\n" << job->transcript;
    EXPECT_TRUE(delivered(tag));
}

TEST_F(GraphEngineTest, LargeJobGoesOutThroughADraftReadFromTheSpool) {
    const std::string tag = "engine-large-" + std::to_string(::getpid());
    std::mt19937_64 r{7};
    std::string data(6u << 20, '\0');
    for (auto& c : data) c = static_cast<char>(r());
    std::string b64 = base64_encode(data), lines;
    for (std::size_t i = 0; i < b64.size(); i += 76) lines += b64.substr(i, 76) + "\r\n";
    const auto id = submit("To: bob@example.test\r\nSubject: " + tag +
                               "\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n\r\n"
                               "see attached\r\n--z\r\nContent-Type: application/pdf\r\n"
                               "Content-Disposition: attachment; filename=a.pdf\r\n"
                               "Content-Transfer-Encoding: base64\r\n\r\n" +
                               lines + "--z--\r\n",
                           {"bob@example.test"});
    auto job = deliver(id, Secret(graph_token()));
    ASSERT_TRUE(job.ok()) << job.error().describe();
    EXPECT_EQ(job->state, spool::JobState::sent) << job->detail << "\n" << job->transcript;
    EXPECT_TRUE(delivered("Subject: " + tag));
}

TEST_F(GraphEngineTest, NoGraphTokenHoldsTheJobWith370) {
    const auto id =
        submit("To: bob@example.test\r\nSubject: held\r\n\r\nx\r\n", {"bob@example.test"});
    auto job = deliver(id, fail(Errc::sign_in_again, "the graph token: consent missing"));
    ASSERT_TRUE(job.ok()) << job.error().describe();
    EXPECT_EQ(job->state, spool::JobState::held);
    EXPECT_EQ(job->code, Errc::sign_in_again);
}

}  // namespace
}  // namespace pb::delivery
