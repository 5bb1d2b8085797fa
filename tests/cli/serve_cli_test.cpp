// postbridge serve as the long-running side of "Processes" (design.md),
// against the real peers: its workers deliver what the command line queued,
// it completes `signin --no-wait`, releases jobs held for a sign-in once the
// profile is signed in again, and keeps an unused sign-in alive.
#include <signal.h>
#include <sys/types.h>

#include <string>

#include "cli/cli_with_peers.hpp"

namespace pb::test {
namespace {

using namespace std::chrono_literals;

class ServeCli : public CliWithPeers {
  protected:
    void TearDown() override {
        stop_serve();
        CliWithPeers::TearDown();
    }

    // Starts serve on this state (Web Config on a free loopback port) and
    // waits until it listens.
    void start_serve() {
        const std::string out = state_.string() + ".serve";
        auto r = run_command(binary_path() + " --state " + state_.string() +
                             " serve --json --web 127.0.0.1:0 > " + out + " 2> " + out +
                             ".log & echo $!");
        serve_pid_ = std::stoi(r.out);
        for (int i = 0; i < 200; ++i) {
            std::ifstream in(out);
            std::string line;
            if (std::getline(in, line) && line.find("listening") != std::string::npos) {
                url_ = json::parse(line, nullptr, false).value("url", "");
                return;
            }
            std::this_thread::sleep_for(50ms);
        }
        FAIL() << "serve did not start: " << run_command("cat " + out + ".log").out;
    }

    void stop_serve() {
        if (serve_pid_ <= 0) return;
        ::kill(serve_pid_, SIGTERM);
        for (int i = 0; i < 200 && alive(serve_pid_); ++i) std::this_thread::sleep_for(50ms);
        EXPECT_FALSE(alive(serve_pid_)) << "serve did not stop on SIGTERM";
        serve_pid_ = -1;
    }

    static bool alive(pid_t pid) {
        std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
        std::string pid_s, comm, state;
        return stat >> pid_s >> comm >> state && state != "Z";
    }

    json job(std::int64_t id) {
        auto r = pb("jobs show --json " + std::to_string(id));
        return json::parse(r.out, nullptr, false);
    }

    // Polls the job until its state is `want` (or `timeout` passes).
    json wait_for_state(std::int64_t id, const std::string& want,
                        std::chrono::seconds timeout = 30s) {
        json j;
        const auto end = std::chrono::steady_clock::now() + timeout;
        do {
            j = job(id);
            if (j.is_object() && j.value("state", "") == want) return j;
            std::this_thread::sleep_for(200ms);
        } while (std::chrono::steady_clock::now() < end);
        ADD_FAILURE() << "job " << id << " is not " << want << ": " << j.dump();
        return j;
    }

    // `send` without --wait; returns the job number.
    std::int64_t send(const std::string& subject) {
        auto r = run_command(binary_path() + " --state " + state_.string() +
                             " send --json --to bob@example.test --subject '" + subject +
                             "' --body hello --function scan-to-email");
        EXPECT_EQ(r.status, 0) << r.out;
        auto j = json::parse(r.out, nullptr, false);
        return j.is_object() ? j.value("job", std::int64_t{0}) : 0;
    }

    std::string unique(const std::string& what) {
        return what + "-" + std::to_string(::getpid()) + "-" +
               std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
    }

    // Web Config's JSON API with a token of its own (curl; the certificate
    // is the self-signed one serve made).
    json api(const std::string& method, const std::string& path, const std::string& body = "") {
        if (api_token_.empty()) {
            auto made = json::parse(pb("api-token create serve-test --json").out, nullptr, false);
            api_token_ = made.is_object() ? made.value("token", "") : "";
            EXPECT_FALSE(api_token_.empty()) << made;
        }
        auto r = run_command("curl -sSk -X " + method + " -H 'Authorization: Bearer " + api_token_ +
                             "' -H 'Content-Type: application/json'" +
                             (body.empty() ? "" : " -d '" + body + "'") + " '" + url_ + "api/v1" +
                             path + "'");
        EXPECT_EQ(r.status, 0) << r.out;
        return json::parse(r.out, nullptr, false);
    }

    pid_t serve_pid_ = -1;
    std::string url_;  // Web Config's, once serve listens
    std::string api_token_;
};

TEST_F(ServeCli, WorkersDeliverWhatTheCommandLineQueued) {
    (void)signin_as_user("approve");
    start_serve();
    const std::string subject = unique("serve-delivers");
    const auto id = send(subject);
    ASSERT_GT(id, 0);
    const json j = wait_for_state(id, "sent");
    EXPECT_EQ(j.value("function", ""), "scan-to-email");
    EXPECT_TRUE(in_maildir(subject));

    // serve holds the delivery lock: a flush beside it leaves the queue to it.
    auto flush = pb("flush");
    EXPECT_EQ(flush.status, 75) << flush.out;
    EXPECT_NE(flush.out.find("another process is delivering"), std::string::npos) << flush.out;
}

TEST_F(ServeCli, SendWaitWatchesTheJobServeDelivers) {
    (void)signin_as_user("approve");
    start_serve();
    const std::string subject = unique("send-wait-serve");
    auto r = pb("send --wait --json --to bob@example.test --subject " + subject + " --body hi");
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(json::parse(r.out, nullptr, false).value("state", ""), "sent") << r.out;
    EXPECT_TRUE(in_maildir(subject));
}

TEST_F(ServeCli, NoWaitSignInIsCompletedByServeAndReleasesTheHeldJob) {
    start_serve();
    // Never signed in: the job is kept, held with 360, and the caller told.
    const std::string subject = unique("held-then-sent");
    auto sent = pb("send --to bob@example.test --subject " + subject + " --body hi");
    ASSERT_EQ(sent.status, 0) << sent.out;
    EXPECT_NE(sent.out.find("To use this function, you must sign in to the email service. "
                            "Contact the administrator."),
              std::string::npos)
        << sent.out;
    auto jobs = json::parse(pb("jobs --json --limit 1").out, nullptr, false);
    ASSERT_TRUE(jobs.is_object()) << jobs;
    const auto id = jobs.value("job", std::int64_t{0});
    const json held = job(id);
    EXPECT_EQ(held.value("state", ""), "held");
    EXPECT_EQ(held.value("code", 0), 360);

    // signin --no-wait shows the code and returns; serve polls.
    auto r = pb("signin --no-wait --json");
    ASSERT_EQ(r.status, 0) << r.out;
    auto shown = json::parse(r.out.substr(0, r.out.find('\n')), nullptr, false);
    ASSERT_EQ(shown.value("event", ""), "device_code") << r.out;
    act_as_user("approve", shown["user_code"].get<std::string>());

    json st;
    for (int i = 0; i < 100; ++i) {
        st = status_json();
        if (st.value("status", "") == "signed-in") break;
        std::this_thread::sleep_for(200ms);
    }
    EXPECT_EQ(st.value("status", ""), "signed-in") << st;
    EXPECT_EQ(st.value("account", ""), "alice@example.test");

    // The held job goes out by itself, the same job.
    wait_for_state(id, "sent");
    EXPECT_TRUE(in_maildir(subject));
}

TEST_F(ServeCli, SignInsOnWebConfigAndOnTheCommandLineEndEachOther) {
    start_serve();

    // A command-line sign-in that is out ends when Web Config starts one.
    const fs::path cli_out = state_.string() + ".cli";
    auto cli = signin_in_background(cli_out);
    ASSERT_FALSE(shown_code(cli_out).empty()) << "signin showed no code";
    const json web = api("POST", "/signin", R"({"profile":"email"})");
    EXPECT_EQ(web.value("event", ""), "device_code") << web;
    cli.join();
    auto lines = json_lines(cli_out);
    ASSERT_GE(lines.size(), 2U);
    EXPECT_EQ(lines[lines.size() - 2]["event"], "failed");
    EXPECT_EQ(lines[lines.size() - 2]["reason"], "a newer sign-in of email replaced this one");

    // The page's ends when the command line starts another: Web Config then
    // shows that sign-in's result, not its own code that nobody polls for.
    EXPECT_EQ(api("GET", "/signin?profile=email").value("status", ""), "pending");
    auto signed_in = signin_as_user("approve");
    ASSERT_GE(signed_in.size(), 2U);
    EXPECT_EQ(signed_in[signed_in.size() - 2]["event"], "signed_in");
    json st;
    for (int i = 0; i < 100; ++i) {
        st = api("GET", "/signin?profile=email");
        if (st.value("status", "") != "pending") break;
        std::this_thread::sleep_for(200ms);
    }
    EXPECT_EQ(st.value("status", ""), "signed-in") << st;
    EXPECT_EQ(st.value("account", ""), "alice@example.test") << st;
}

TEST_F(ServeCli, AJobHeldForSignInStaysHeldRightAfterTheSettingsChange) {
    // serve starts with SMTP AUTH off; the administrator then switches to
    // OAuth2 and a scan is held for the sign-in at once. serve must judge
    // the held job on the settings as they are now, not as it last read
    // them: released on the old ones, it would go out without a sign-in.
    //
    // The fax profile sends with SMTP AUTH to the same server: its job,
    // accepted after the held one, going out shows that serve's engine
    // made passes after the held job came in (each pass judges the held
    // jobs first), so the test cannot pass on an engine that never ran.
    const auto& peers = Peers::get();
    for (const std::string& kv :
         {std::string("fax.auth_method smtp-auth"), std::string("fax.smtp.host 127.0.0.1"),
          "fax.smtp.port " + peers.at("PB_SMTP_PORT"), std::string("fax.account device"),
          std::string("fax.sender device@example.test")})
        ASSERT_EQ(pb("config set " + kv).status, 0) << kv;
    ASSERT_EQ(run_command("printf '%s' device-pass | " + binary_path() + " --state " +
                          state_.string() + " config set fax.password -")
                  .status,
              0);
    ASSERT_EQ(pb("config set email.auth_method off").status, 0);
    start_serve();
    ASSERT_EQ(pb("config set email.auth_method oauth2").status, 0);
    const std::string subject = unique("held-after-change");
    ASSERT_EQ(pb("send --to bob@example.test --subject " + subject + " --body hi").status, 0);
    auto jobs = json::parse(pb("jobs --json --limit 1").out, nullptr, false);
    const auto id = jobs.value("job", std::int64_t{0});
    auto fax = json::parse(pb("send --json --profile fax --to bob@example.test --subject " +
                              unique("fax-after") + " --body hi")
                               .out,
                           nullptr, false);
    ASSERT_TRUE(fax.is_object()) << fax;
    wait_for_state(fax.value("job", std::int64_t{0}), "sent");
    const json j = job(id);
    EXPECT_EQ(j.value("state", ""), "held") << j;
    EXPECT_EQ(j.value("code", 0), 360) << j;
    EXPECT_FALSE(in_maildir(subject));
}

TEST_F(ServeCli, NoWaitWithoutServeSaysServeMustRun) {
    auto r = pb("signin --no-wait");
    EXPECT_EQ(r.status, 2) << r.out;
    EXPECT_NE(r.out.find("start serve"), std::string::npos) << r.out;
}

TEST_F(ServeCli, RevokedGrantHoldsWith370AndSigningInAgainSendsTheSameJob) {
    // An account of this test's own: revoking it must not touch the sign-ins
    // of the tests running beside this one.
    const std::string login = "revoked-" + std::to_string(::getpid());
    (void)signin_as_user("approve", "email", login);
    start_serve();
    // An administrator revokes the account's sessions at the provider.
    auto revoked = run_command("curl -sS -X POST '" + Peers::get().at("PB_OIDC_ISSUER") +
                               "/_test/revoke?account=" + login + "'");
    ASSERT_EQ(revoked.status, 0) << revoked.out;
    ASSERT_GE(json::parse(revoked.out, nullptr, false).value("revoked", 0), 1) << revoked.out;

    const std::string subject = unique("revoked-then-sent");
    const auto id = send(subject);
    const json held = wait_for_state(id, "held");
    EXPECT_EQ(held.value("code", 0), 370) << held;
    EXPECT_EQ(status_json().value("status", ""), "reauth-required");
    EXPECT_FALSE(in_maildir(subject));

    (void)signin_as_user("approve", "email", login);
    wait_for_state(id, "sent");
    EXPECT_TRUE(in_maildir(subject));
}

TEST_F(ServeCli, SignInWithoutServeSendsTheJobsHeldForIt) {
    const std::string subject = unique("signin-flushes");
    ASSERT_EQ(pb("send --to bob@example.test --subject " + subject + " --body hi").status, 0);
    auto jobs = json::parse(pb("jobs --json --limit 1").out, nullptr, false);
    const auto id = jobs.value("job", std::int64_t{0});
    EXPECT_EQ(job(id).value("state", ""), "held");
    (void)signin_as_user("approve");
    EXPECT_EQ(job(id).value("state", ""), "sent");
    EXPECT_TRUE(in_maildir(subject));
}

TEST_F(ServeCli, KeepAliveRefreshesAnUnusedSignIn) {
    ASSERT_EQ(pb("config set email.oauth.keepalive_interval 5s").status, 0);
    (void)signin_as_user("approve");
    const std::string before = status_json().value("last_refresh_at", "");
    start_serve();
    std::string after = before;
    for (int i = 0; i < 150 && after == before; ++i) {
        std::this_thread::sleep_for(200ms);
        after = status_json().value("last_refresh_at", "");
    }
    EXPECT_NE(after, before) << "serve did not refresh the unused sign-in";
    EXPECT_EQ(status_json().value("status", ""), "signed-in");
}

}  // namespace
}  // namespace pb::test
