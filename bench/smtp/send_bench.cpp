// smtp_send_bench: N messages over one reused, authenticated connection to
// the real smtp-server peer, timed beside Python smtplib doing the same in
// the same run (the target: a ratio of at least 0.9), and one send on
// a new connection.
//
//   tests/peers/with-peers.sh RUNDIR build/bench/smtp/smtp_send_bench [N]
// (peers.env exported: PB_SMTP_HOST, PB_SMTP_PORT, PB_TEST_CA, PB_OIDC_ISSUER)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "smtp/client.hpp"

namespace {

std::string env(const char* k) {
    const char* v = std::getenv(k);
    if (!v) {
        std::fprintf(stderr,
                     "smtp_send_bench: %s is not set (run under tests/peers/with-peers.sh)\n", k);
        std::exit(2);
    }
    return v;
}

std::string run(const std::string& cmd) {
    std::string out;
    std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), pclose);
    if (!p) return out;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p.get())) out.append(buf, n);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
}

class OneToken final : public pb::smtp::TokenProvider {
  public:
    explicit OneToken(std::string t) : t_(std::move(t)) {}
    pb::Result<pb::Secret> access_token(bool) override { return pb::Secret(t_); }

  private:
    std::string t_;
};

}  // namespace

int main(int argc, char** argv) {
    using Clock = std::chrono::steady_clock;
    const int n = argc > 1 ? std::atoi(argv[1]) : 1000;
    const std::string src = POSTBRIDGE_SOURCE_DIR;
    const std::string token = run(env("PB_NODE") + " " + src + "/tests/peers/token.mjs --issuer '" +
                                  env("PB_OIDC_ISSUER") + "' --login alice");

    pb::smtp::ServerConfig server;
    server.host = env("PB_SMTP_HOST");
    server.port = static_cast<std::uint16_t>(std::stoi(env("PB_SMTP_PORT")));
    server.tls.system_store = false;
    server.tls.ca_files = {env("PB_TEST_CA")};
    OneToken tokens(token);
    pb::smtp::Credentials cred;
    cred.method = pb::smtp::AuthMethod::oauth2;
    cred.user = "alice";
    cred.tokens = &tokens;

    const std::string body = "From: alice@example.test\r\nSubject: postbridge bench\r\n\r\n" +
                             std::string(1000, 'x') + "\r\n";
    std::vector<std::unique_ptr<pb::StringSource>> bodies;
    std::vector<pb::smtp::OutgoingMessage> msgs;
    for (int i = 0; i < n; ++i) {
        bodies.push_back(std::make_unique<pb::StringSource>(body));
        msgs.push_back(
            {{"alice@example.test", {"bob@example.test"}, {}, false}, bodies.back().get()});
    }

    const auto t0 = Clock::now();
    const auto report = pb::smtp::send(server, cred, msgs);
    const double ours = std::chrono::duration<double>(Clock::now() - t0).count();
    if (!report.ok()) {
        std::fprintf(stderr, "postbridge send failed: %s\n%s",
                     report.error ? report.error->describe().c_str() : "a message failed",
                     report.transcript.c_str());
        return 1;
    }

    const std::string py = run("python3 " + src + "/bench/smtp/smtplib_bench.py " + server.host +
                               " " + std::to_string(server.port) + " " + env("PB_TEST_CA") +
                               " alice " + token + " " + std::to_string(n));
    const double theirs = std::atof(py.c_str());

    std::vector<pb::smtp::OutgoingMessage> one(msgs.begin(), msgs.begin() + 1);
    pb::StringSource single(body);
    one[0].body = &single;
    const auto t1 = Clock::now();
    const auto single_report = pb::smtp::send(server, cred, one);
    const double single_s = std::chrono::duration<double>(Clock::now() - t1).count();

    std::printf("messages: %d over one connection (STARTTLS + XOAUTH2, 1 KB body)\n", n);
    std::printf("postbridge: %.3f s  %.0f msg/s\n", ours, n / ours);
    if (theirs > 0) {
        std::printf("smtplib:    %.3f s  %.0f msg/s\n", theirs, n / theirs);
        std::printf("ratio (postbridge rate / smtplib rate): %.2f\n", theirs / ours);
    } else {
        std::printf("smtplib:    failed (%s)\n", py.c_str());
    }
    std::printf("one send on a new connection: %.1f ms (%s)\n", single_s * 1000,
                single_report.ok() ? "ok" : "failed");
    return 0;
}
