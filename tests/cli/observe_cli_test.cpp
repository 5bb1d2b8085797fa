// What serve tells the machines and people that watch it, against the real
// peers: /metrics read with a real Prometheus parser (python3-prometheus-
// client) and checked with promtool while real sends, a refused recipient
// and a held job move it; /healthz and /readyz; read-only API tokens; the
// delivery log of serve and the system log of the commands; and the relay's
// delivery reports, made exactly once however serve is killed.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <iostream>
#include <map>
#include <string>

#include "cli/cli_with_peers.hpp"
#include "support/immutable.hpp"
#include "support/log_watch.hpp"
#include "support/serve_process.hpp"

namespace pb::test {
namespace {

using namespace std::chrono_literals;

// One sample of the exposition, as the Python parser read it.
struct Sample {
    std::string name;
    json labels;
    double value = 0;
};

class ObserveCli : public CliWithPeers {
  protected:
    void TearDown() override {
        serve_.reset();
        CliWithPeers::TearDown();
    }

    std::string serve_log() const { return state_.string() + ".serve.log"; }

    void start_serve(const std::string& args = "") {
        serve_ = std::make_unique<ServeProcess>(state_, serve_log());
        serve_->start(args);
        const std::string text = read_all(serve_log());
        const std::string said = "Web Config: ";
        const auto at = text.rfind(said);
        ASSERT_NE(at, std::string::npos) << text;
        url_ = text.substr(at + said.size(), text.find('\n', at) - at - said.size());
    }

    // GET `path` of Web Config: "STATUS\nBODY".
    std::string get(const std::string& path, const std::string& token = "") {
        auto r = run_command("curl -sk -w '\\n%{http_code}' " +
                             (token.empty() ? "" : "-H 'Authorization: Bearer " + token + "' ") +
                             "'" + url_ + path.substr(1) + "'");
        const auto nl = r.out.rfind('\n');
        return r.out.substr(nl + 1) + "\n" + r.out.substr(0, nl);
    }

    std::string make_token(const std::string& name, bool read_only) {
        auto made = json::parse(
            pb("api-token create " + name + (read_only ? " --read-only" : "") + " --json").out,
            nullptr, false);
        return made.is_object() ? made.value("token", "") : "";
    }

    // /metrics through prometheus_client's parser (Debian's python3, which
    // python3-prometheus-client installs into); also checked by promtool.
    std::vector<Sample> scrape() {
        const std::string answer = get("/metrics");
        EXPECT_TRUE(answer.starts_with("200\n")) << answer;
        const fs::path text = state_.string() + ".metrics";
        std::ofstream(text) << answer.substr(4);
        auto lint = run_command("promtool check metrics < " + text.string() + " 2>&1");
        EXPECT_EQ(lint.status, 0) << lint.out << answer;
        auto parsed = run_command(
            "/usr/bin/python3 -c 'import sys, json\n"
            "from prometheus_client.parser import text_string_to_metric_families as f\n"
            "for fam in f(sys.stdin.read()):\n"
            "    for s in fam.samples: print(json.dumps([s.name, s.labels, s.value]))' < " +
            text.string() + " 2>&1");
        EXPECT_EQ(parsed.status, 0) << parsed.out;
        std::vector<Sample> out;
        std::istringstream lines(parsed.out);
        for (std::string line; std::getline(lines, line);) {
            auto j = json::parse(line, nullptr, false);
            if (j.is_array() && j.size() == 3)
                out.push_back({j[0].get<std::string>(), j[1], j[2].get<double>()});
        }
        return out;
    }

    // The value of the sample `name` whose labels include `labels`; -1 when
    // there is none.
    static double value(const std::vector<Sample>& samples, const std::string& name,
                        const json& labels = json::object()) {
        for (const auto& s : samples) {
            if (s.name != name) continue;
            bool match = true;
            for (const auto& [k, v] : labels.items())
                if (!s.labels.contains(k) || s.labels[k] != v) match = false;
            if (match) return s.value;
        }
        return -1;
    }

    // Waits until serve's log has `n` lines with `needle`.
    void wait_for_lines(const std::string& needle, std::size_t n,
                        std::chrono::milliseconds timeout = 60s) {
        ASSERT_TRUE(wait_for_log(
            serve_log(), [&](const std::string& t) { return count_of(t, needle) >= n; }, timeout))
            << "no " << n << " lines with '" << needle << "' in serve's log:\n"
            << read_all(serve_log());
    }

    std::unique_ptr<ServeProcess> serve_;
    std::string url_;
};

TEST_F(ObserveCli, MetricsMoveWithRealSendsARefusedRecipientAndAHeldJob) {
    // Not signed in yet: the scan is held (360).
    auto held = pb("send --json --to bob@example.test --subject held-scan --body b");
    ASSERT_EQ(held.status, 0) << held.out;
    start_serve();
    ASSERT_FALSE(HasFatalFailure());

    auto m = scrape();
    EXPECT_EQ(value(m, "postbridge_jobs", {{"state", "held"}}), 1);
    EXPECT_EQ(value(m, "postbridge_jobs", {{"state", "sent"}}), 0);
    EXPECT_EQ(value(m, "postbridge_signin_state", {{"profile", "email"}, {"state", "signed-out"}}),
              1);
    EXPECT_GE(value(m, "postbridge_queue_oldest_seconds", {{"profile", "email"}}), 0);
    EXPECT_EQ(value(m, "postbridge_relay_connections"), 0);

    // Signing in releases it; serve sends it to the real SMTP server.
    auto lines = signin_as_user("approve");
    ASSERT_EQ(lines.back(), 0);
    wait_for_lines("outcome=sent", 1);
    auto ok = pb("send --wait --json --to bob@example.test --subject sent-scan --body b");
    ASSERT_EQ(ok.status, 0) << ok.out;
    auto refused =
        pb("send --wait --json --to reject-carol@example.test --subject refused --body b");
    EXPECT_NE(refused.status, 0) << refused.out;
    wait_for_lines("outcome=failed", 1);

    m = scrape();
    EXPECT_EQ(value(m, "postbridge_jobs", {{"state", "held"}}), 0);
    EXPECT_EQ(value(m, "postbridge_jobs", {{"state", "sent"}}), 2);
    EXPECT_EQ(value(m, "postbridge_jobs", {{"state", "failed"}}), 1);
    EXPECT_EQ(
        value(m, "postbridge_deliveries_total",
              {{"profile", "email"}, {"transport", "smtp"}, {"result", "sent"}, {"code", ""}}),
        2);
    const auto refusal = json::parse(refused.out, nullptr, false);
    const std::string code =
        refusal.is_object() && refusal.contains("code") ? refusal["code"].dump() : "?";
    EXPECT_EQ(value(m, "postbridge_deliveries_total",
                    {{"profile", "email"}, {"result", "failed"}, {"code", code}}),
              1)
        << refused.out;
    EXPECT_EQ(value(m, "postbridge_delivery_duration_seconds_count",
                    {{"profile", "email"}, {"transport", "smtp"}}),
              3);
    EXPECT_EQ(value(m, "postbridge_signin_state", {{"profile", "email"}, {"state", "signed-in"}}),
              1);
    EXPECT_EQ(value(m, "postbridge_queue_oldest_seconds", {{"profile", "email"}}), 0);

    // The delivery log: each recipient with its result, and `job=ID`.
    const std::string log = read_all(serve_log());
    EXPECT_NE(log.find("to=<reject-carol@example.test> refused"), std::string::npos) << log;
    EXPECT_NE(log.find("transport=smtp server=127.0.0.1:" + Peers::get().at("PB_SMTP_PORT")),
              std::string::npos)
        << log;
    EXPECT_EQ(log.find("Bearer"), std::string::npos);
}

TEST_F(ObserveCli, MetricsAnswerToAllowedNetworksOrATokenAndReadOnlyTokensOnlyRead) {
    start_serve();
    ASSERT_FALSE(HasFatalFailure());
    EXPECT_TRUE(get("/metrics").starts_with("200\n"));  // loopback, the default
    ASSERT_EQ(pb("config set metrics.allowed_networks 10.0.0.0/8").status, 0);
    const auto refused = get("/metrics");
    EXPECT_TRUE(refused.starts_with("403\n")) << refused;
    EXPECT_NE(refused.find("metrics.allowed_networks"), std::string::npos) << refused;

    const std::string reader = make_token("prometheus", true);
    ASSERT_FALSE(reader.empty());
    EXPECT_TRUE(get("/metrics", reader).starts_with("200\n"));
    EXPECT_TRUE(get("/metrics", "pb_wrong").starts_with("401\n"));
    EXPECT_TRUE(get("/api/v1/status", reader).starts_with("200\n"));
    EXPECT_TRUE(get("/api/v1/jobs", reader).starts_with("200\n"));
    const auto config = get("/api/v1/config", reader);
    EXPECT_TRUE(config.starts_with("403\n")) << config;
    EXPECT_NE(config.find("read-only"), std::string::npos) << config;
    const std::string admin = make_token("admin-tool", false);
    EXPECT_TRUE(get("/api/v1/config", admin).starts_with("200\n"));
    auto list = pb("api-token list");
    EXPECT_NE(list.out.find("prometheus"), std::string::npos);
    EXPECT_NE(list.out.find("read-only"), std::string::npos) << list.out;
}

TEST_F(ObserveCli, ReadyzTurns503WhileTheSpoolIsUnwritableAndHealthzNeedsNoLogin) {
    start_serve();
    ASSERT_FALSE(HasFatalFailure());
    EXPECT_EQ(get("/healthz"), "200\nok\n");
    auto ready = get("/readyz");
    EXPECT_TRUE(ready.starts_with("200\nready\n")) << ready;

    const fs::path tmp = state_ / "spool" / "tmp";
    set_writable(tmp, false);
    ready = get("/readyz");
    set_writable(tmp, true);
    EXPECT_TRUE(ready.starts_with("503\nnot ready: spool\n")) << ready;
    EXPECT_NE(ready.find("store: ok"), std::string::npos) << ready;
    ready = get("/readyz");
    EXPECT_TRUE(ready.starts_with("200\n")) << ready;
}

// The commands other than serve log to the system log, facility mail: a
// datagram socket of the test stands for /dev/log.
TEST_F(ObserveCli, SendWaitWithoutServeLogsItsDeliveryToTheSystemLog) {
    auto lines = signin_as_user("approve");
    ASSERT_EQ(lines.back(), 0);
    const fs::path sock = state_.string() + ".syslog";
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    sock.string().copy(addr.sun_path, sizeof addr.sun_path - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    auto r = run_command("POSTBRIDGE_SYSLOG_SOCKET=" + sock.string() + " " + binary_path() +
                         " --state " + state_.string() +
                         " send --wait --to bob@example.test --subject logged --body b 2>&1");
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(r.out.find("job="), std::string::npos) << "not on standard error: " << r.out;
    std::string got;
    char buf[8192];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0;)
        got += std::string(buf, static_cast<std::size_t>(n)) + "\n";
    ::close(fd);
    // <22>: facility mail (2), priority info (6).
    EXPECT_NE(got.find("<22>postbridge["), std::string::npos) << got;
    EXPECT_NE(got.find(" outcome=sent profile=email"), std::string::npos) << got;
    EXPECT_NE(got.find("to=<bob@example.test> accepted"), std::string::npos) << got;
}

// Relayed scans refused for good by the server, with serve killed (-9)
// while it delivers them: after a restart each failed job has exactly one
// delivery report, made in the same commit as its failure.
TEST_F(ObserveCli, KilledWhileRelayedJobsFailEachFailureIsReportedExactlyOnce) {
    auto lines = signin_as_user("approve");
    ASSERT_EQ(lines.back(), 0);
    ASSERT_EQ(pb("config set relay.allowed_networks 127.0.0.9/32").status, 0);
    start_serve("--relay 127.0.0.1:0");
    ASSERT_FALSE(HasFatalFailure());
    const auto relay_port = [&] {
        std::istringstream in(read_all(serve_log()));
        int port = 0;
        for (std::string line; std::getline(in, line);)
            if (line.find("relay: listening on ") != std::string::npos)
                port = std::atoi(line.c_str() + line.rfind(':') + 1);
        return port;
    };
    const int port = relay_port();
    ASSERT_GT(port, 0) << read_all(serve_log());

    constexpr int kJobs = 100;
    const std::string py =
        "import smtplib\n"
        "s = smtplib.SMTP('127.0.0.1', " +
        std::to_string(port) +
        ", source_address=('127.0.0.9', 0), timeout=30)\n"
        "for i in range(" +
        std::to_string(kJobs) +
        "):\n"
        "    s.sendmail('copier@lan.example', ['reject-%d@example.test' % i], "
        "'From: copier@lan.example\\r\\nSubject: scan %d\\r\\n\\r\\npage\\r\\n' % i)\n"
        "s.quit()\n";
    const fs::path script = state_.string() + ".relay.py";
    std::ofstream(script) << py;
    auto r = run_command("python3 " + script.string() + " 2>&1");
    ASSERT_EQ(r.status, 0) << r.out;
    // The relay's figures and its session line, as the client left.
    wait_for_lines("relay: session client=127.0.0.9 user=- jobs=", 1);
    const auto m = scrape();
    EXPECT_EQ(value(m, "postbridge_relay_messages_total", {{"result", "accepted"}}), kJobs);
    EXPECT_EQ(value(m, "postbridge_relay_messages_total", {{"result", "refused"}}), 0);
    EXPECT_EQ(value(m, "postbridge_relay_connections"), 0);
    EXPECT_EQ(value(m, "postbridge_relay_auth_failures_total"), 0);
    // Killed once the first failures are recorded, while the rest go on.
    wait_for_lines("outcome=failed", 3);
    serve_->kill(SIGKILL);
    // How far it got, for the record: the kill should land mid-way.
    const std::size_t before_kill = count_of(read_all(serve_log()), "outcome=failed");
    RecordProperty("failed_before_kill", static_cast<int>(before_kill));
    std::cout << "failed before the kill: " << before_kill << " of " << kJobs << "\n";
    serve_->start("--relay 127.0.0.1:0");
    ASSERT_FALSE(HasFatalFailure());
    // Every relayed job ends failed, and every report is sent: looked at
    // each time serve logs something.
    std::size_t failed = 0, reports = 0, reports_sent = 0;
    std::string all;
    const auto count = [&] {
        failed = reports = reports_sent = 0;
        all =
            run_command(binary_path() + " --state " + state_.string() + " --json jobs --limit 1000")
                .out;
        std::istringstream in(all);
        for (std::string line; std::getline(in, line);) {
            auto j = json::parse(line, nullptr, false);
            if (!j.is_object()) continue;
            const std::string function = j.value("function", ""), state = j.value("state", "");
            if (function == "relay" && state == "failed") ++failed;
            if (function == "notification") ++reports;
            if (function == "notification" && state == "sent") ++reports_sent;
        }
        return failed == static_cast<std::size_t>(kJobs) && reports_sent == reports;
    };
    EXPECT_TRUE(wait_for_log(
        serve_log(), [&](const std::string&) { return count(); }, 120s));
    EXPECT_EQ(failed, static_cast<std::size_t>(kJobs)) << all;
    EXPECT_EQ(reports, failed) << all;
}

}  // namespace
}  // namespace pb::test
