// Delivery throughput: N messages accepted into a fresh spool, then
// delivered by the delivery engine to the real smtp-server peer (STARTTLS,
// AUTH PLAIN) with connection reuse; beside it, in the same run, the
// reference client (Python's smtplib over one reused connection) and msmtp
// (one process per message, its only mode). Both send a message the engine
// built, byte for byte, so the server has the same work for each client.
//
//   tests/peers/start.sh RUN
//   tests/peers/with-peers.sh RUN build/bench/delivery/delivery_bench [N] [SIZE] [ROUNDS]
//
// Prints messages/s for the engine with one connection (the fair comparison
// with smtplib) and the reference, taking turns for ROUNDS rounds (default
// 5), their medians and ratio; then the engine with delivery.concurrency 3
// (Exchange Online's limit) and msmtp.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/clock.hpp"
#include "mime/message.hpp"
#include "service/outbox.hpp"

namespace {

namespace fs = std::filesystem;
using Seconds = std::chrono::duration<double>;

std::map<std::string, std::string> peers_env() {
    std::map<std::string, std::string> env;
    const char* file = std::getenv("PB_PEERS_ENV");
    if (file == nullptr) return env;
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line))
        if (auto eq = line.find('='); eq != std::string::npos)
            env[line.substr(0, eq)] = line.substr(eq + 1);
    return env;
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const std::size_t h = v.size() / 2;
    return v.size() % 2 == 1 ? v[h] : (v[h - 1] + v[h]) / 2;
}

std::string run(const std::string& cmd) {
    std::string out;
    if (FILE* p = ::popen(cmd.c_str(), "r")) {
        char buf[256];
        while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
        ::pclose(p);
    }
    return out;
}

// The bench's message number `i`: about `size` bytes of text, with the
// headers build_message() adds (Date, Message-ID, MIME).
std::unique_ptr<pb::mime::Message> bench_message(int i, std::size_t size, pb::Clock& clock,
                                                 pb::Random& rng) {
    std::string text;
    while (text.size() < size) text += std::string(76, 'x') + "\n";
    pb::mime::Draft d;
    d.from = "device@example.test";
    d.to = {"bob@example.test"};
    d.subject = "delivery bench " + std::to_string(i);
    d.text = std::move(text);
    auto msg = pb::mime::build_message(std::move(d), clock, rng);
    if (!msg) throw std::runtime_error(msg.error().describe());
    return std::move(*msg);
}

// Accepts `n` messages of about `size` bytes; returns the seconds it took.
double fill(pb::service::Outbox& box, int n, std::size_t size, pb::Clock& clock, pb::Random& rng) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
        auto msg = bench_message(i, size, clock, rng);
        pb::spool::Submission sub{
            pb::spool::Function::notification, "email", msg->envelope().sender,
            msg->envelope().recipients,        "bench", std::nullopt};
        auto a = box.intake().submit(sub, *msg);
        if (!a) throw std::runtime_error(a.error().describe());
    }
    return Seconds(std::chrono::steady_clock::now() - start).count();
}

// Writes one of the bench's messages to `path`, byte for byte as the
// engine sends them, for the reference client to send the same.
void write_reference_message(const fs::path& path, std::size_t size, pb::Clock& clock,
                             pb::Random& rng) {
    auto msg = bench_message(0, size, clock, rng);
    std::ofstream out(path, std::ios::binary);
    std::array<char, 16 * 1024> buf;
    for (;;) {
        auto n = msg->read(buf);
        if (!n) throw std::runtime_error(n.error().describe());
        if (*n == 0) break;
        out.write(buf.data(), static_cast<std::streamsize>(*n));
    }
    if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace

int main(int argc, char** argv) {
    const int n = argc > 1 ? std::atoi(argv[1]) : 1000;
    const std::size_t size = argc > 2 ? static_cast<std::size_t>(std::atol(argv[2])) : 1024;
    const int rounds = argc > 3 ? std::max(1, std::atoi(argv[3])) : 5;
    auto env = peers_env();
    if (env.empty() || env["PB_SMTP_PORT"].empty()) {
        std::cerr << "run under tests/peers/with-peers.sh RUNDIR (PB_PEERS_ENV is not set)\n";
        return 2;
    }
    const fs::path state =
        fs::temp_directory_path() / ("pb-delivery-bench-" + std::to_string(::getpid()));
    fs::remove_all(state);
    pb::SystemClock clock;
    pb::SystemRandom rng;
    auto box = pb::service::Outbox::open(state, clock, rng);
    if (!box) {
        std::cerr << box.error().describe() << "\n";
        return 1;
    }
    auto configure = [&](const std::string& concurrency) {
        auto r = (*box)->store().set_values({{"email.auth_method", "smtp-auth"},
                                             {"email.smtp.host", "127.0.0.1"},
                                             {"email.smtp.port", env["PB_SMTP_PORT"]},
                                             {"email.smtp.security", "starttls"},
                                             {"email.sender", "device@example.test"},
                                             {"email.account", "device"},
                                             {"email.password", "device-pass"},
                                             {"email.delivery.rate_limit", "0"},
                                             {"email.delivery.concurrency", concurrency}});
        if (!r) throw std::runtime_error(r.error().describe());
        if (auto c = (*box)->store().import_ca(env["PB_TEST_CA"]); !c)
            throw std::runtime_error(c.error().describe());
        if (auto l = (*box)->reload(); !l) throw std::runtime_error(l.error().describe());
    };

    const std::string src = POSTBRIDGE_SOURCE_DIR;
    const fs::path reference_message = state / "reference.eml";
    write_reference_message(reference_message, size, clock, rng);
    auto smtplib_rate = [&] {
        const double secs = std::atof(
            run(fmt::format("python3 {}/bench/delivery/reference.py 127.0.0.1 {} {} device "
                            "device-pass {} {}",
                            src, env["PB_SMTP_PORT"], env["PB_TEST_CA"], n,
                            reference_message.string()))
                .c_str());
        return secs > 0 ? n / secs : 0.0;
    };
    // Fills the spool with n messages and times one flush of them.
    auto engine_rate = [&] {
        const double intake = fill(**box, n, size, clock, rng);
        const auto start = std::chrono::steady_clock::now();
        (*box)->engine().flush();
        const double took = Seconds(std::chrono::steady_clock::now() - start).count();
        auto jobs = (*box)->spool().jobs(static_cast<std::size_t>(n));
        int sent = 0;
        if (jobs)
            for (const auto& j : *jobs) sent += j.state == pb::spool::JobState::sent ? 1 : 0;
        if (sent != n) std::cerr << "only " << sent << " of " << n << " sent\n";
        return std::pair{n / took, n / intake};
    };

    // The reference and the engine take turns, round after round, and the
    // medians are compared: the shared server slows as its maildir fills and
    // this machine's speed wanders, and whoever ran last, or only once, would
    // pay for it.
    std::vector<double> engine1, reference, ratios;
    configure("1");
    for (int round = 1; round <= rounds; ++round) {
        const double ref = smtplib_rate();
        const auto [eng, intake] = engine_rate();
        reference.push_back(ref);
        engine1.push_back(eng);
        if (ref > 0) ratios.push_back(eng / ref);
        std::cout << fmt::format(
            "round {}: smtplib {:.0f} msg/s, engine (1 connection) {:.0f} msg/s, ratio {:.2f} "
            "(intake {:.0f} jobs/s)\n",
            round, ref, eng, ref > 0 ? eng / ref : 0.0, intake);
    }
    const double engine_median = median(engine1);
    const double reference_median = median(reference);
    configure("3");
    const auto [eng3, intake3] = engine_rate();
    std::cout << fmt::format(
        "engine, 1 connection: median {:.0f} msg/s\n"
        "engine, 3 connections: {:.0f} msg/s (intake {:.0f} jobs/s)\n"
        "smtplib, 1 connection: median {:.0f} msg/s\n",
        engine_median, eng3, intake3, reference_median);

    const int m = std::min(n, 100);
    const std::string msmtp = fmt::format(
        "msmtp --host=127.0.0.1 --port={} --tls=on --tls-starttls=on --tls-trust-file={} "
        "--auth=plain --user=device --passwordeval='echo device-pass' --domain=localhost "
        "--from=device@example.test bob@example.test < {}",
        env["PB_SMTP_PORT"], env["PB_TEST_CA"], reference_message.string());
    if (std::system("command -v msmtp >/dev/null") == 0) {
        const auto start = std::chrono::steady_clock::now();
        int ok = 0;
        for (int i = 0; i < m; ++i) ok += std::system(msmtp.c_str()) == 0 ? 1 : 0;
        const double took = Seconds(std::chrono::steady_clock::now() - start).count();
        std::cout << fmt::format("msmtp, a process per message: {:.0f} msg/s ({} of {} sent)\n",
                                 ok / took, ok, m);
    }
    if (reference_median > 0 && !ratios.empty())
        std::cout << fmt::format(
            "ratio engine(1 connection) / smtplib: {:.2f} (medians; per round {:.2f} to "
            "{:.2f})\n",
            engine_median / reference_median, *std::min_element(ratios.begin(), ratios.end()),
            *std::max_element(ratios.begin(), ratios.end()));
    box->reset();
    fs::remove_all(state);
    return 0;
}
