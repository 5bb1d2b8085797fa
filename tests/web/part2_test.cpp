// Web Config part 2 and the JSON API without a socket: API tokens (none,
// wrong, right; compared as hashes), the CLI's validation messages through
// the API, CSRF on every new form, the Connection Test and Job Status pages
// rendering what the service reports, Users, the administrator password,
// the CA import form (multipart) and the status sheet's two layouts.
#include "web/app.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <regex>

#include "core/crypto.hpp"
#include "support/fakes.hpp"
#include "support/temp_dir.hpp"
#include "web/admin_pages.hpp"
#include "web/http.hpp"
#include "web/multipart.hpp"
#include "web/status_sheet.hpp"

namespace pb::web {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::string_view kPassword = "correct horse battery";
constexpr std::string_view kToken = "pb_test-token-0123456789abcdefghijklmnopqrstuv";

class ScriptedSignIn final : public SignInService {
  public:
    std::map<std::string, SignInStatus, std::less<>> states;
    std::vector<std::string> started;
    Result<SignInStatus> start(std::string_view profile) override {
        started.emplace_back(profile);
        auto& s = states[std::string(profile)];
        s = {};
        s.state = SignInStatus::State::pending;
        s.user_code = "WDJB-MJHT";
        s.verification_uri = "https://example.test/device";
        s.expires_at = TimePoint{std::chrono::seconds{1'800'000'600}};
        return s;
    }
    SignInStatus status(std::string_view profile) override {
        const auto it = states.find(profile);
        return it == states.end() ? SignInStatus{} : it->second;
    }
    Result<SignInStatus> finish(std::string_view, std::string_view) override {
        return fail(Errc::not_signed_in, "declined");
    }
    Result<void> sign_out(std::string_view profile) override {
        states.erase(std::string(profile));
        return {};
    }
};

class ScriptedOperations final : public Operations {
  public:
    json test_result;
    bool test_done = true;  // false: the test is still "running"
    std::vector<std::string> tests_started;
    std::vector<json> history;
    std::vector<SendRequest> sent;
    int reloads = 0;

    void start_connection_test(std::string_view profile) override {
        tests_started.emplace_back(profile);
        testing_ = std::string(profile);
    }
    bool connection_test_running(std::string_view profile) override {
        return testing_ == profile && !test_done;
    }
    std::optional<Result<json>> take_connection_test(std::string_view profile) override {
        if (testing_ != profile || !test_done) return std::nullopt;
        testing_.reset();
        return Result<json>(test_result);
    }
    Result<std::vector<json>> jobs(std::size_t limit) override {
        return std::vector<json>(
            history.begin(),
            history.begin() + static_cast<std::ptrdiff_t>(std::min(limit, history.size())));
    }
    Result<std::optional<json>> job(std::int64_t id) override {
        for (const auto& j : history)
            if (j["job"] == id) return std::optional<json>(j);
        return std::optional<json>{};
    }
    Result<json> retry(std::int64_t id) override {
        for (auto& j : history)
            if (j["job"] == id) {
                j["state"] = "queued";
                return j;
            }
        return fail(Errc::invalid_input, "there is no job " + std::to_string(id));
    }
    Result<json> send(const SendRequest& r) override {
        if (r.to.front().find('@') == std::string::npos)
            return fail(Errc::invalid_input, "--to: 'nobody' is not an email address");
        sent.push_back(r);
        return json{{"job", 7}, {"state", "queued"}};
    }
    Result<json> status(std::optional<std::string>) override {
        return json{{"profiles", json::array({{{"name", "email"}, {"status", "signed-out"}}})}};
    }
    Result<StatusSheet> status_sheet() override {
        StatusSheet s;
        s.generated_at = "2027-01-15T08:00:00Z";
        s.network = {{"Device Name", "printer-3f"}};
        s.profiles.push_back({"email", "Email Server", {{"Current Status", "Signed in"}}, {}});
        return s;
    }
    Result<std::string> reload_certificates() override {
        ++reloads;
        return std::string("140 certificates in /etc/ssl/certs/ca-certificates.crt");
    }

  private:
    std::optional<std::string> testing_;
};

struct Browser {
    std::string cookie;
    std::string client = "192.0.2.9";
};

class Part2Test : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = test::fresh_dir("pb-web2");
        auto s = store::Store::open(dir_, rng_, clock_);
        ASSERT_TRUE(s) << s.error().detail;
        store_ = std::move(*s);
        ASSERT_TRUE(store_->put_credential(
            "admin", "admin", hash_password(Secret(std::string(kPassword)), rng_, 1000)));
        ASSERT_TRUE(store_->put_credential("api-token", "fleet", sha256_hex(kToken)));
        AppOptions o;
        o.operations = &ops_;
        app_ = std::make_unique<App>(*store_, signin_, clock_, rng_, o);
    }
    void TearDown() override {
        app_.reset();
        store_.reset();
        fs::remove_all(dir_);
    }

    Response call(Request r, Browser* b = nullptr) {
        if (b != nullptr) {
            r.cookie = b->cookie;
            r.client = b->client;
        }
        Response res = app_->handle(r);
        if (b != nullptr)
            for (const auto& [k, v] : res.headers)
                if (k == "Set-Cookie") b->cookie = v.substr(0, v.find(';'));
        return res;
    }
    Response get(Browser& b, std::string target) {
        Request r;
        r.method = "GET";
        const auto q = target.find('?');
        r.path = target.substr(0, q);
        if (q != std::string::npos) r.query = target.substr(q + 1);
        return call(r, &b);
    }
    Response post(Browser& b, std::string path, std::string body) {
        Request r;
        r.method = "POST";
        r.path = std::move(path);
        r.content_type = "application/x-www-form-urlencoded";
        r.body = std::move(body);
        return call(r, &b);
    }
    Response api(std::string method, std::string target, std::string body = {},
                 std::string token = std::string(kToken)) {
        Request r;
        r.method = std::move(method);
        const auto q = target.find('?');
        r.path = target.substr(0, q);
        if (q != std::string::npos) r.query = target.substr(q + 1);
        r.body = std::move(body);
        r.content_type = "application/json";
        if (!token.empty()) r.authorization = "Bearer " + token;
        r.client = "192.0.2.50";
        return call(r);
    }
    static std::string csrf_of(const Response& r) {
        std::smatch m;
        static const std::regex re(R"re(name="csrf" value="([^"]+)")re");
        return std::regex_search(r.body, m, re) ? m[1].str() : std::string();
    }
    std::string login(Browser& b) {
        const auto page = get(b, "/login");
        post(b, "/login", "csrf=" + csrf_of(page) + "&password=" + url_encode(kPassword));
        return csrf_of(get(b, "/network/email/basic"));
    }

    fs::path dir_;
    test::ManualClock clock_;
    test::CountingRandom rng_;
    std::unique_ptr<store::Store> store_;
    ScriptedSignIn signin_;
    ScriptedOperations ops_;
    std::unique_ptr<App> app_;
};

// --- the JSON API -------------------------------------------------------

TEST_F(Part2Test, EveryApiCallNeedsAToken) {
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

TEST_F(Part2Test, AStoredHashIsNotAToken) {
    // What the store holds must not open the API by itself.
    EXPECT_EQ(api("GET", "/api/v1/status", "", sha256_hex(kToken)).status, 401);
}

TEST_F(Part2Test, ASessionCookieDoesNotOpenTheApi) {
    Browser b;
    login(b);
    Request r;
    r.method = "GET";
    r.path = "/api/v1/status";
    EXPECT_EQ(call(r, &b).status, 401);
}

TEST_F(Part2Test, ApiConfigSetGivesTheCliMessageAndChangesNothing) {
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

TEST_F(Part2Test, ApiConfigSetAppliesThePresetAndGetReadsIt) {
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

TEST_F(Part2Test, ApiSignInStartsAndPolls) {
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

TEST_F(Part2Test, ApiJobsDetailRetryAndSend) {
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

// --- pages --------------------------------------------------------------

TEST_F(Part2Test, EveryNewFormRefusesAPostWithoutTheCsrfToken) {
    Browser b;
    login(b);
    ASSERT_TRUE(store_->add_user("alice", "alice@example.test"));
    for (const auto* path :
         {"/network/email/connection-test", "/network/email/basic/test-email",
          "/network-security/ca-certificate/remove", "/network-security/root-certificate-update",
          "/product-security", "/device-management/jobs/1/retry", "/device-management/users/add",
          "/device-management/users/remove", "/device-management/users/signin"}) {
        EXPECT_EQ(
            post(b, path, "profile=user%3Aalice&name=alice&email=a%40x.test&to=a%40x.test").status,
            403)
            << path;
    }
    EXPECT_TRUE(ops_.sent.empty());
    EXPECT_EQ(ops_.reloads, 0);
    EXPECT_TRUE(signin_.started.empty());
    EXPECT_EQ(store_->users()->size(), 1u);
}

TEST_F(Part2Test, ConnectionTestShowsEachStepAndTheCode) {
    Browser b;
    const auto csrf = login(b);
    ops_.test_result = json::parse(R"({"profile":"email","ok":false,
        "steps":[{"step":"connect","ok":true,"detail":"127.0.0.1:2587"},
                 {"step":"tls","ok":false,"detail":"certificate verify failed"}],
        "code":612,"status":"The server certificate is not trusted.",
        "remedy":"Import the CA <certificate>.","error":"verify failed"})");
    const auto started =
        post(b, "/network/email/connection-test", "csrf=" + csrf + "&profile=email");
    ASSERT_EQ(started.status, 303);
    ASSERT_NE(started.header("Location"), nullptr);
    EXPECT_EQ(*started.header("Location"), "/network/email/connection-test?profile=email");
    EXPECT_EQ(ops_.tests_started, std::vector<std::string>{"email"});
    const auto r = get(b, *started.header("Location"));
    ASSERT_EQ(r.status, 200);
    EXPECT_NE(
        r.body.find(
            R"(<tr data-step="tls"><td>Secure connection</td><td class="failed">Failed</td><td>612</td>)"),
        std::string::npos);
    EXPECT_NE(r.body.find(R"(<span id="test-code">612</span>)"), std::string::npos);
    EXPECT_NE(r.body.find("Import the CA &lt;certificate&gt;."), std::string::npos);
    EXPECT_EQ(r.body.find("<certificate>"), std::string::npos);
    const auto bad = post(b, "/network/email/connection-test", "csrf=" + csrf + "&profile=nosuch");
    EXPECT_NE(bad.body.find("Code 652: no profile nosuch"), std::string::npos);
    EXPECT_EQ(ops_.tests_started.size(), 1U)
        << "nothing is started for a profile that is not there";
}

TEST_F(Part2Test, TheConnectionTestRunsBesideThePagesAndItsResultShowsOnce) {
    // Against a server that does not answer, the test lasts as long as the
    // timeout: the page says so and reloads, and the other pages answer.
    Browser b;
    const auto csrf = login(b);
    ops_.test_done = false;
    ops_.test_result = json::parse(R"({"profile":"email","ok":true,
        "steps":[{"step":"connect","ok":true,"detail":"127.0.0.1:2587"}]})");
    const auto started =
        post(b, "/network/email/connection-test", "csrf=" + csrf + "&profile=email");
    ASSERT_EQ(started.status, 303);
    const auto waiting = get(b, "/network/email/connection-test?profile=email");
    EXPECT_NE(waiting.body.find(R"(id="test-running" data-refresh="1")"), std::string::npos);
    EXPECT_EQ(waiting.body.find("test-result"), std::string::npos);
    EXPECT_EQ(get(b, "/device-management/jobs").status, 200);
    // A second Start while it runs is harmless (the service runs one).
    post(b, "/network/email/connection-test", "csrf=" + csrf + "&profile=email");
    ops_.test_done = true;
    const auto done = get(b, "/network/email/connection-test?profile=email");
    EXPECT_NE(done.body.find("The connection test succeeded. No mail was sent."),
              std::string::npos);
    EXPECT_EQ(done.body.find("test-running"), std::string::npos);
    const auto again = get(b, "/network/email/connection-test?profile=email");
    EXPECT_EQ(again.body.find("test-result"), std::string::npos) << "a result is shown once";
    EXPECT_EQ(again.body.find("test-running"), std::string::npos);
}

TEST_F(Part2Test, JobStatusShowsTheManualsTextForAHeldJob) {
    Browser b;
    const auto csrf = login(b);
    ops_.history = {
        {{"job", 3},
         {"state", "held"},
         {"code", 360},
         {"status", info(Errc::not_signed_in).status},
         {"remedy", info(Errc::not_signed_in).remedy},
         {"recipients", json::array({{{"address", "bob@x.test"}, {"result", "pending"}}})},
         {"transcript", "S: 220 ready\nC: AUTH XOAUTH2 ***\n"}}};
    const auto list = get(b, "/device-management/jobs");
    EXPECT_NE(list.body.find("No connection with the cloud service or email service."),
              std::string::npos);
    EXPECT_NE(list.body.find("Connect to the cloud service or email service."), std::string::npos);
    const auto one = get(b, "/device-management/jobs/3");
    EXPECT_NE(one.body.find("bob@x.test"), std::string::npos);
    EXPECT_NE(one.body.find(R"(<pre class="transcript" id="transcript">S: 220 ready)"),
              std::string::npos);
    EXPECT_EQ(get(b, "/device-management/jobs/4").status, 404);
    const auto retried = post(b, "/device-management/jobs/3/retry", "csrf=" + csrf);
    EXPECT_EQ(retried.status, 303);
    EXPECT_NE(get(b, "/device-management/jobs/3").body.find("Job 3 was queued again."),
              std::string::npos);
}

TEST_F(Part2Test, JobStatusShowsTheNewestHundredAndOlderOnesOnRequest) {
    Browser b;
    (void)login(b);
    for (int id = 250; id >= 1; --id)
        ops_.history.push_back({{"job", id}, {"state", "sent"}, {"subject", "scan"}});
    auto rows = [](const std::string& body) {
        std::size_t n = 0;
        for (auto p = body.find("<tr data-job="); p != std::string::npos;
             p = body.find("<tr data-job=", p + 1))
            ++n;
        return n;
    };
    const auto first = get(b, "/device-management/jobs");
    EXPECT_EQ(rows(first.body), 100u);
    EXPECT_NE(first.body.find(R"(href="/device-management/jobs?limit=200")"), std::string::npos);
    const auto second = get(b, "/device-management/jobs?limit=200");
    EXPECT_EQ(rows(second.body), 200u);
    EXPECT_NE(second.body.find("?limit=300"), std::string::npos);
    const auto all = get(b, "/device-management/jobs?limit=300");
    EXPECT_EQ(rows(all.body), 250u);
    EXPECT_EQ(all.body.find("older-jobs"), std::string::npos);  // nothing older
    EXPECT_EQ(rows(get(b, "/device-management/jobs?limit=abc").body), 100u);
}

TEST_F(Part2Test, UsersAreRegisteredWithTheStoresWordsAndSignInOnTheirOwn) {
    Browser b;
    const auto csrf = login(b);
    const auto bad =
        post(b, "/device-management/users/add", "csrf=" + csrf + "&name=Bad+Name&email=x%40y.test");
    EXPECT_EQ(bad.status, 400);
    EXPECT_NE(bad.body.find(escape(store_->add_user("Bad Name", "x@y.test").error().detail)),
              std::string::npos);
    EXPECT_EQ(post(b, "/device-management/users/add",
                   "csrf=" + csrf + "&name=alice&email=alice%40example.test")
                  .status,
              303);
    EXPECT_NE(get(b, "/device-management/users").body.find("alice@example.test"),
              std::string::npos);

    const auto start = post(b, "/device-management/users/signin",
                            "csrf=" + csrf + "&profile=user%3Aalice&action=start");
    EXPECT_EQ(*start.header("Location"), "/device-management/users?user=alice");
    ASSERT_EQ(signin_.started, std::vector<std::string>{"user:alice"});
    const auto pending = get(b, "/device-management/users?user=alice");
    EXPECT_NE(pending.body.find("WDJB-MJHT"), std::string::npos);
    EXPECT_NE(pending.body.find(std::string("data-done=\"") + escape(kUserSignedIn)),
              std::string::npos);
    EXPECT_EQ(signin_.status("email").state, SignInStatus::State::signed_out);  // its own sign-in

    SignInStatus in;
    in.state = SignInStatus::State::signed_in;
    in.account = "alice@example.test";
    signin_.states["user:alice"] = in;
    EXPECT_NE(get(b, "/device-management/users?user=alice").body.find(std::string(kUserSignedIn)),
              std::string::npos);
    const auto poll = get(b, "/api/signin-status?profile=user%3Aalice");
    EXPECT_EQ(json::parse(poll.body)["status"], "Signed in");
    EXPECT_EQ(get(b, "/api/signin-status?profile=user%3Aghost").status, 404);

    SignInStatus refused;
    refused.reason = "Consent is missing (AADSTS65001): an administrator must first sign in";
    signin_.states["user:alice"] = refused;
    EXPECT_NE(get(b, "/device-management/users").body.find(R"(id="consent-missing")"),
              std::string::npos);
}

TEST_F(Part2Test, AdministratorPasswordChange) {
    Browser b;
    const auto csrf = login(b);
    auto form = [&](std::string cur, std::string n, std::string c) {
        return "csrf=" + csrf + "&current=" + url_encode(cur) + "&new=" + url_encode(n) +
               "&confirm=" + url_encode(c);
    };
    EXPECT_EQ(
        post(b, "/product-security", form("wrong", "new password 1", "new password 1")).status,
        403);
    const auto short_pw =
        post(b, "/product-security", form(std::string(kPassword), "short", "short"));
    EXPECT_NE(short_pw.body.find("the password must have at least 8 characters"),
              std::string::npos);
    EXPECT_EQ(
        post(b, "/product-security", form(std::string(kPassword), "new password 1", "other one"))
            .status,
        400);
    const auto ok = post(b, "/product-security",
                         form(std::string(kPassword), "new password 1", "new password 1"));
    EXPECT_NE(ok.body.find("The administrator password was changed."), std::string::npos);
    EXPECT_TRUE(verify_password(Secret(std::string("new password 1")),
                                **store_->credential("admin", "admin")));
}

TEST_F(Part2Test, CaImportTakesAMultipartUploadWithItsCsrfToken) {
    Browser b;
    const auto csrf = login(b);
    auto upload = [&](std::string token, std::string file) {
        Request r;
        r.method = "POST";
        r.path = "/network-security/ca-certificate/import";
        r.content_type = "multipart/form-data; boundary=XyZ";
        r.body = "--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n" + token +
                 "\r\n--XyZ\r\nContent-Disposition: form-data; name=\"certificate\"; "
                 "filename=\"ca.pem\"\r\nContent-Type: application/octet-stream\r\n\r\n" +
                 file + "\r\n--XyZ--\r\n";
        return call(r, &b);
    };
    EXPECT_EQ(upload("wrong", "x").status, 403);
    EXPECT_EQ(upload(csrf, "not a certificate").status, 303);
    const auto page = get(b, "/network-security/ca-certificate");
    EXPECT_NE(page.body.find(R"(class="error")"), std::string::npos);
    EXPECT_NE(page.body.find(R"(id="no-ca")"), std::string::npos);
    EXPECT_EQ(ops_.reloads, 0);
}

TEST_F(Part2Test, StatusSheetPageAndTextCarryTheSameRows) {
    Browser b;
    login(b);
    const auto page = get(b, "/device-management/status-sheet");
    EXPECT_NE(page.body.find("printer-3f"), std::string::npos);
    EXPECT_NE(page.body.find(R"(<button type="button" id="print" hidden>Print</button>)"),
              std::string::npos);
    const auto sheet = *ops_.status_sheet();
    const auto text = render_status_sheet_text(sheet);
    EXPECT_NE(text.find("Device Name  printer-3f"), std::string::npos);
    EXPECT_NE(text.find("Current Status  Signed in"), std::string::npos);
    const auto doc = render_status_sheet_document(sheet);
    EXPECT_NE(doc.find("@media print"), std::string::npos);
    EXPECT_NE(doc.find(render_status_sheet_html(sheet)), std::string::npos);
    EXPECT_EQ(get(b, "/device-management/email-server-status").body.find("printer-3f"),
              std::string::npos);
}

TEST_F(Part2Test, TestEmailFromTheBasicPage) {
    Browser b;
    const auto csrf = login(b);
    EXPECT_NE(get(b, "/network/email/basic").body.find(R"(id="test-email")"), std::string::npos);
    EXPECT_EQ(
        post(b, "/network/email/basic/test-email", "csrf=" + csrf + "&to=bob%40x.test").status,
        303);
    ASSERT_EQ(ops_.sent.size(), 1u);
    EXPECT_EQ(ops_.sent[0].to, std::vector<std::string>{"bob@x.test"});
    EXPECT_NE(get(b, "/network/email/basic").body.find("accepted as job 7"), std::string::npos);
}

TEST(Multipart, ReadsPartsAndRefusesBrokenBodies) {
    using namespace std::string_literals;
    const std::string body =
        "--b1\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\none\r\n"
        "--b1\r\nContent-Disposition: form-data; name=\"f\"; "
        "filename=\"c.der\"\r\n\r\n\x30\x82\r\n\x00z"
        "\r\n--b1--\r\n"s;
    auto parts = parse_multipart("multipart/form-data; boundary=b1", body);
    ASSERT_TRUE(parts);
    ASSERT_EQ(parts->size(), 2u);
    EXPECT_EQ((*parts)[0].name, "a");
    EXPECT_EQ((*parts)[0].body, "one");
    EXPECT_EQ((*parts)[1].filename, "c.der");
    EXPECT_EQ((*parts)[1].body, "\x30\x82\r\n\x00z"s);
    EXPECT_FALSE(parse_multipart("multipart/form-data", body));
    EXPECT_FALSE(parse_multipart("multipart/form-data; boundary=b1", "--b1\r\nno headers end"));
    EXPECT_FALSE(
        parse_multipart("multipart/form-data; boundary=b1",
                        "--b1\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated"));
}

}  // namespace
}  // namespace pb::web
