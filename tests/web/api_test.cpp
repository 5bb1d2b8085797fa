// The JSON API under /api/v1 without a socket: API tokens (none, wrong,
// right; compared as hashes, never opened by a session cookie), and the
// CLI's answers and validation messages through config, sign-in, jobs and
// send.
#include "web/app.hpp"

#include <gtest/gtest.h>

#include "core/crypto.hpp"
#include "core/settings.hpp"

#include "web_config_fixture.hpp"

namespace pb::web {
namespace {

using nlohmann::json;
using test::Browser;
using test::kToken;

class ApiTest : public test::WebConfigTest {};

TEST_F(ApiTest, EveryApiCallNeedsAToken) {
    const std::vector<std::pair<std::string, std::string>> calls = {
        {"GET", "/api/v1/status"},
        {"GET", "/api/v1/config"},
        {"GET", "/api/v1/config/email.smtp.port"},
        {"POST", "/api/v1/config"},
        {"POST", "/api/v1/signin"},
        {"GET", "/api/v1/signin?profile=email"},
        {"GET", "/api/v1/jobs"},
        {"GET", "/api/v1/jobs/1"},
        {"POST", "/api/v1/jobs/1/retry"},
        {"POST", "/api/v1/send"},
    };
    for (const auto& [m, t] : calls) {
        const auto none = api(m, t, "{}", "");
        EXPECT_EQ(none.status, 401) << m << " " << t;
        ASSERT_NE(none.header("WWW-Authenticate"), nullptr);
        EXPECT_NE(none.body.find("postbridge api-token create NAME"), std::string::npos);
        EXPECT_EQ(api(m, t, "{}", "pb_wrong").status, 401) << m << " " << t;
        EXPECT_NE(api(m, t, "{}").status, 401) << m << " " << t;
    }
    EXPECT_TRUE(signin_.started.size() == 1);  // only the call with the token started one
    EXPECT_TRUE(ops_.sent.empty());
}

TEST_F(ApiTest, AReadOnlyTokenReadsTheStatusAndTheJobsOnly) {
    const std::string reader = "pb_read_only_token_for_the_test";
    ASSERT_TRUE(
        store_->put_credential(store::kReadOnlyApiTokenKind, "watcher", sha256_hex(reader)));
    ops_.history = {json{{"job", 1}, {"state", "sent"}}};
    EXPECT_EQ(api("GET", "/api/v1/status", "", reader).status, 200);
    EXPECT_EQ(api("GET", "/api/v1/jobs", "", reader).status, 200);
    EXPECT_EQ(api("GET", "/api/v1/jobs/1", "", reader).status, 200);
    for (const auto& [m, t] : std::vector<std::pair<std::string, std::string>>{
             {"GET", "/api/v1/config"},
             {"GET", "/api/v1/config/email.smtp.port"},
             {"POST", "/api/v1/config"},
             {"POST", "/api/v1/signin"},
             {"POST", "/api/v1/jobs/1/retry"},
             {"POST", "/api/v1/send"},
         }) {
        const auto r = api(m, t, "{}", reader);
        EXPECT_EQ(r.status, 403) << m << " " << t;
        EXPECT_NE(r.body.find("read-only"), std::string::npos) << r.body;
    }
    EXPECT_TRUE(ops_.sent.empty());
    EXPECT_TRUE(signin_.started.empty());
    EXPECT_EQ(ops_.history[0]["state"], "sent");  // not retried
}

TEST_F(ApiTest, MetricsAnswerToAllowedNetworksOrToAnyApiToken) {
    auto scrape = [&](const std::string& client, const std::string& token) {
        Request r;
        r.method = "GET";
        r.path = "/metrics";
        r.client = client;
        if (!token.empty()) r.authorization = "Bearer " + token;
        return call(r);
    };
    const auto local = scrape("127.0.0.1", "");
    EXPECT_EQ(local.status, 200);
    EXPECT_EQ(local.body, ops_.metrics_text);
    ASSERT_NE(local.header("Content-Type"), nullptr);
    EXPECT_EQ(*local.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_EQ(scrape("::1", "").status, 200);
    const auto far = scrape("192.0.2.50", "");
    EXPECT_EQ(far.status, 403);
    EXPECT_NE(far.body.find("metrics.allowed_networks"), std::string::npos) << far.body;
    EXPECT_EQ(scrape("192.0.2.50", std::string(kToken)).status, 200);
    EXPECT_EQ(scrape("127.0.0.1", "pb_wrong").status, 401);  // a wrong token is not ignored
    ASSERT_TRUE(store_->set_values({{"metrics.allowed_networks", "192.0.2.0/24"}}));
    EXPECT_EQ(scrape("192.0.2.50", "").status, 200);
    EXPECT_EQ(scrape("127.0.0.1", "").status, 403);
}

TEST_F(ApiTest, ProbesNeedNoLoginAndReadyzNamesWhatFails) {
    Request r;
    r.method = "GET";
    r.path = "/healthz";
    r.client = "192.0.2.50";
    const auto alive = call(r);
    EXPECT_EQ(alive.status, 200);
    EXPECT_EQ(alive.body, "ok\n");
    r.path = "/readyz";
    const auto ready = call(r);
    EXPECT_EQ(ready.status, 200);
    EXPECT_EQ(ready.body, "ready\nspool: ok\nstore: ok\nlisteners: ok\n");
    ops_.ready[0].problem = "cannot write in /state/spool/tmp: Read-only file system";
    ops_.ready[2].problem = "the relay is not listening (see the log)";
    const auto not_ready = call(r);
    EXPECT_EQ(not_ready.status, 503);
    EXPECT_TRUE(not_ready.body.starts_with("not ready: spool, listeners\n")) << not_ready.body;
    EXPECT_NE(not_ready.body.find("Read-only file system"), std::string::npos);
}

TEST_F(ApiTest, AStoredHashIsNotAToken) {
    // What the store holds must not open the API by itself.
    EXPECT_EQ(api("GET", "/api/v1/status", "", sha256_hex(kToken)).status, 401);
}

TEST_F(ApiTest, ASessionCookieDoesNotOpenTheApi) {
    Browser b;
    login(b);
    Request r;
    r.method = "GET";
    r.path = "/api/v1/status";
    EXPECT_EQ(call(r, &b).status, 401);
}

TEST_F(ApiTest, ApiConfigSetGivesTheCliMessageAndChangesNothing) {
    auto key = settings::parse_key("email.smtp.port");
    ASSERT_TRUE(key);
    const auto cli = settings::normalize(*key, "99999");
    ASSERT_FALSE(cli);
    const auto r =
        api("POST", "/api/v1/config",
            R"({"changes":{"email.smtp.host":"mail.example.test","email.smtp.port":"99999"}})");
    EXPECT_EQ(r.status, 400);
    const auto j = json::parse(r.body);
    EXPECT_EQ(j["error"], cli.error().detail);
    EXPECT_EQ(j["code"], 652);
    EXPECT_FALSE(store_->load_settings()->is_set("email.smtp.host"));

    const auto unknown = api("POST", "/api/v1/config", R"({"key":"email.nope","value":"1"})");
    EXPECT_EQ(unknown.status, 400);
    EXPECT_EQ(json::parse(unknown.body)["error"], settings::parse_key("email.nope").error().detail);

    const auto user =
        api("POST", "/api/v1/config", R"({"key":"user:bob.sender","value":"b@x.test"})");
    EXPECT_EQ(json::parse(user.body)["error"],
              "user:bob.sender: no user 'bob' is registered (postbridge users add bob --email "
              "ADDRESS)");
    EXPECT_EQ(api("POST", "/api/v1/config", "not json").status, 400);
}

TEST_F(ApiTest, ApiConfigSetAppliesThePresetAndGetReadsIt) {
    const auto r = api("POST", "/api/v1/config", R"({"key":"email.service","value":"gmail"})");
    ASSERT_EQ(r.status, 200) << r.body;
    const auto changed = json::parse(r.body)["changed"];
    bool host = false;
    for (const auto& c : changed) host = host || c["key"] == "email.smtp.host";
    EXPECT_TRUE(host) << r.body;
    const auto g = json::parse(api("GET", "/api/v1/config/email.smtp.host").body);
    EXPECT_EQ(g["value"], "smtp.gmail.com");
    EXPECT_EQ(g["origin"], "set");
    const auto all = json::parse(api("GET", "/api/v1/config").body);
    EXPECT_EQ(all["email.service"], "gmail");
    EXPECT_FALSE(all.contains("email.password"));  // secrets never
    EXPECT_EQ(api("POST", "/api/v1/config", R"({"key":"email.password","value":"hunter2hunter2"})")
                  .status,
              200);
    EXPECT_EQ(json::parse(api("GET", "/api/v1/config/email.password").body)["value"], "(set)");
    EXPECT_EQ(api("GET", "/api/v1/config").body.find("hunter2"), std::string::npos);
}

TEST_F(ApiTest, ApiSignInStartsAndPolls) {
    const auto r = api("POST", "/api/v1/signin", R"({"profile":"email"})");
    ASSERT_EQ(r.status, 200);
    const auto j = json::parse(r.body);
    EXPECT_EQ(j["event"], "device_code");
    EXPECT_EQ(j["message"],
              "To sign in, use a web browser to open the page https://example.test/device and "
              "enter the code WDJB-MJHT to authenticate.");
    EXPECT_EQ(json::parse(api("GET", "/api/v1/signin?profile=email").body)["status"], "pending");
    EXPECT_EQ(json::parse(api("GET", "/api/v1/status").body)["profiles"][0]["status"], "pending");
    EXPECT_EQ(api("POST", "/api/v1/signin", R"({"profile":"user:ghost"})").status, 400);
}

TEST_F(ApiTest, ApiJobsDetailRetryAndSend) {
    ops_.history = {{{"job", 2}, {"state", "failed"}, {"code", 612}},
                    {{"job", 1}, {"state", "sent"}}};
    auto list = json::parse(api("GET", "/api/v1/jobs?limit=1").body);
    ASSERT_EQ(list["jobs"].size(), 1u);
    EXPECT_EQ(list["jobs"][0]["job"], 2);
    EXPECT_EQ(api("GET", "/api/v1/jobs?limit=x").status, 400);
    EXPECT_EQ(json::parse(api("GET", "/api/v1/jobs/2").body)["code"], 612);
    const auto missing = api("GET", "/api/v1/jobs/9");
    EXPECT_EQ(missing.status, 404);
    EXPECT_EQ(json::parse(missing.body)["error"], "there is no job 9");  // the CLI's words
    EXPECT_EQ(json::parse(api("POST", "/api/v1/jobs/2/retry").body)["state"], "queued");
    EXPECT_EQ(api("GET", "/api/v1/jobs/abc").status, 400);

    EXPECT_EQ(json::parse(api("POST", "/api/v1/send", R"({"subject":"s"})").body)["error"],
              "--to is required");
    EXPECT_EQ(json::parse(api("POST", "/api/v1/send", R"({"to":"a@x.test"})").body)["error"],
              "--subject is required");
    const auto bad = api("POST", "/api/v1/send", R"({"to":"nobody","subject":"s"})");
    EXPECT_EQ(bad.status, 400);
    EXPECT_EQ(json::parse(bad.body)["code"], 652);
    const auto ok =
        api("POST", "/api/v1/send", R"({"to":["a@x.test","b@x.test"],"subject":"s","body":"b"})");
    EXPECT_EQ(ok.status, 202);
    EXPECT_EQ(json::parse(ok.body)["job"], 7);
    ASSERT_EQ(ops_.sent.size(), 1u);
    EXPECT_EQ(ops_.sent[0].to.size(), 2u);
}

}  // namespace
}  // namespace pb::web
