// The base of the Web Config page and API tests: a fresh store with the
// administrator password and an API token, an App over a scripted sign-in
// (one status per profile) and a scripted running service, and a browser
// that keeps its session cookie. No socket: requests go to App::handle.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto.hpp"
#include "storage/backends.hpp"
#include "support/fakes.hpp"
#include "support/temp_dir.hpp"
#include "web/app.hpp"
#include "web/http.hpp"

namespace pb::test {

inline constexpr std::string_view kPassword = "correct horse battery";
inline constexpr std::string_view kToken = "pb_test-token-0123456789abcdefghijklmnopqrstuv";

// Each profile signs in on its own: start() makes it pending with a device
// code, sign_out() forgets it.
class ScriptedSignIn final : public web::SignInService {
  public:
    std::map<std::string, web::SignInStatus, std::less<>> states;
    std::vector<std::string> started;
    Result<web::SignInStatus> start(std::string_view profile) override {
        started.emplace_back(profile);
        auto& s = states[std::string(profile)];
        s = {};
        s.state = web::SignInStatus::State::pending;
        s.user_code = "WDJB-MJHT";
        s.verification_uri = "https://example.test/device";
        s.expires_at = TimePoint{std::chrono::seconds{1'800'000'600}};
        return s;
    }
    web::SignInStatus status(std::string_view profile) override {
        const auto it = states.find(profile);
        return it == states.end() ? web::SignInStatus{} : it->second;
    }
    Result<web::SignInStatus> finish(std::string_view, std::string_view) override {
        return fail(Errc::not_signed_in, "declined");
    }
    Result<void> sign_out(std::string_view profile) override {
        states.erase(std::string(profile));
        return {};
    }
    std::vector<std::string> end_replaced(const settings::Settings&) override { return {}; }
    Result<web::SignInStatus> decoy(std::string_view) override { return web::SignInStatus{}; }
};

// The running service as the pages see it: the connection test's result is
// set by the test, and `test_done` false keeps it running.
class ScriptedOperations final : public web::Operations {
  public:
    using json = nlohmann::json;
    json test_result;
    bool test_done = true;  // false: the test is still "running"
    std::vector<std::string> tests_started;
    std::vector<json> history;
    std::vector<web::SendRequest> sent;

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
    Result<json> send(const web::SendRequest& r) override {
        if (r.to.front().find('@') == std::string::npos)
            return fail(Errc::invalid_input, "--to: 'nobody' is not an email address");
        sent.push_back(r);
        return json{{"job", 7}, {"state", "queued"}};
    }
    Result<json> status(std::optional<std::string>) override {
        return json{{"profiles", json::array({{{"name", "email"}, {"status", "signed-out"}}})}};
    }
    Result<web::StatusSheet> status_sheet() override {
        web::StatusSheet s;
        s.generated_at = "2027-01-15T08:00:00Z";
        s.network = {{"Device Name", "printer-3f"}};
        s.profiles.push_back({"email", "Email Server", {{"Current Status", "Signed in"}}, {}});
        return s;
    }
    std::vector<web::ReadyCheck> ready = {{"spool", ""}, {"store", ""}, {"listeners", ""}};
    std::vector<web::ReadyCheck> readiness() override { return ready; }
    std::string metrics_text = "# HELP postbridge_jobs x\n# TYPE postbridge_jobs gauge\n";
    Result<std::string> metrics() override { return metrics_text; }

  private:
    std::optional<std::string> testing_;
};

struct Browser {
    std::string cookie;
    std::string client = "192.0.2.9";
};

class WebConfigTest : public ::testing::Test {
  protected:
    using Request = web::Request;
    using Response = web::Response;

    void SetUp() override {
        dir_ = fresh_dir("pb-webconfig");
        auto s = storage::open_store(dir_, rng_, clock_);
        ASSERT_TRUE(s) << s.error().detail;
        store_ = std::move(*s);
        ASSERT_TRUE(store_->put_credential(
            "admin", "admin", hash_password(Secret(std::string(kPassword)), rng_, 1000)));
        ASSERT_TRUE(store_->put_credential("api-token", "fleet", sha256_hex(kToken)));
        web::AppOptions o;
        o.operations = &ops_;
        app_ = std::make_unique<web::App>(*store_, signin_, clock_, rng_, o);
    }
    void TearDown() override {
        app_.reset();
        store_.reset();
        std::filesystem::remove_all(dir_);
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
        post(b, "/login", "csrf=" + csrf_of(page) + "&password=" + web::url_encode(kPassword));
        return csrf_of(get(b, "/network/email/basic"));
    }

    std::filesystem::path dir_;
    ManualClock clock_;
    CountingRandom rng_;
    std::unique_ptr<store::Store> store_;
    ScriptedSignIn signin_;
    ScriptedOperations ops_;
    std::unique_ptr<web::App> app_;
};

}  // namespace pb::test
