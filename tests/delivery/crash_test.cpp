// The spool's promise that nothing accepted is lost, tested the hard way:
// four processes submit 1000 messages while `postbridge serve` delivers them to the real
// smtp-server, and serve is killed with SIGKILL at random moments several
// times and restarted. Every message whose submission returned a job number
// must reach the maildir; a message may arrive twice only when its job was
// being sent when serve died (the history marks it maybe_sent), which is
// SMTP's end-of-data window and cannot be closed from the client side.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "core/clock.hpp"
#include "delivery/engine.hpp"
#include "mime/message.hpp"
#include "service/outbox.hpp"
#include "support/peers.hpp"
#include "support/serve_process.hpp"

namespace pb {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int kSubmitters = 4;
constexpr int kPerSubmitter = 250;
constexpr int kKills = 5;

class CrashTest : public ::testing::Test {
  protected:
    void SetUp() override {
        const auto& peers = test::Peers::get();
        ASSERT_TRUE(peers.available()) << "needs the peers fixture";
        fs::remove_all(state_);
        for (const std::string& kv : std::vector<std::string>{
                 "email.auth_method smtp-auth", "email.smtp.host 127.0.0.1",
                 "email.smtp.port " + peers.at("PB_SMTP_PORT"), "email.smtp.security starttls",
                 "email.sender device@example.test", "email.account device",
                 "email.delivery.rate_limit 0"})
            ASSERT_EQ(pb("config set " + kv).status, 0) << kv;
        ASSERT_EQ(pb("ca import " + peers.at("PB_TEST_CA")).status, 0);
        ASSERT_EQ(
            test::run_command("printf device-pass | " + cmd("config set email.password -")).status,
            0);
    }
    void TearDown() override {
        serve_.kill(SIGKILL);
        fs::remove_all(state_);
        fs::remove(serve_.log());
    }

    std::string cmd(const std::string& args) {
        return test::binary_path() + " --state " + state_.string() + " " + args;
    }
    test::CommandResult pb(const std::string& args) {
        return test::run_command(cmd(args) + " 2>&1");
    }

    // A submitting process: accepts its messages through the library, one
    // line "N ID" per accepted job, written only once accept() returned.
    [[noreturn]] void submit(int who, const std::string& tag) {
        SystemClock clock;
        SystemRandom rng;
        auto box = service::Outbox::open(state_, clock, rng);
        if (!box) _exit(3);
        std::ofstream ids(state_.string() + ".ids." + std::to_string(who));
        for (int i = 0; i < kPerSubmitter; ++i) {
            const int n = who * kPerSubmitter + i;
            mime::Draft d;
            d.from = "device@example.test";
            d.to = {"bob@example.test"};
            d.subject = tag + "-" + std::to_string(n);
            d.text = "scan " + std::to_string(n) + "\n";
            auto msg = mime::build_message(std::move(d), clock, rng);
            if (!msg) _exit(4);
            spool::Submission sub{spool::Function::scan_to_email, "email",
                                  (*msg)->envelope().sender,      (*msg)->envelope().recipients,
                                  tag + "-" + std::to_string(n),  std::nullopt};
            auto accepted = (*box)->intake().submit(sub, **msg);
            if (!accepted) _exit(5);
            ids << n << ' ' << accepted->id << '\n' << std::flush;
        }
        ids.close();
        box->reset();
        _exit(0);
    }

    fs::path state_ = fs::temp_directory_path() / ("pb-crash-" + std::to_string(::getpid()));
    // Started until it is up, so that the kill that follows finds it
    // delivering.
    test::ServeProcess serve_{state_, state_.string() + ".log"};
};

TEST_F(CrashTest, KilledServeLosesNoAcceptedMessage) {
    const std::string tag = "crash" + std::to_string(::getpid()) + "x" +
                            std::to_string(std::chrono::system_clock::now().time_since_epoch() /
                                           std::chrono::milliseconds(1));
    const auto seed = static_cast<unsigned>(std::random_device{}());
    std::mt19937 gen(seed);
    std::cout << "seed " << seed << "\n";

    std::vector<pid_t> children;
    for (int who = 0; who < kSubmitters; ++who) {
        const pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) submit(who, tag);
        children.push_back(pid);
    }

    std::uniform_int_distribution<int> pause_ms(100, 1500);
    for (int k = 0; k < kKills; ++k) {
        serve_.start();
        ASSERT_FALSE(HasFatalFailure());
        std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(gen)));
        serve_.kill(SIGKILL);
    }
    for (pid_t c : children) {
        int status = 0;
        ASSERT_EQ(::waitpid(c, &status, 0), c);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "submitter " << status;
    }
    serve_.start();
    ASSERT_FALSE(HasFatalFailure());

    // Every accepted job, from the submitters' own records.
    std::map<int, spool::JobId> accepted;
    for (int who = 0; who < kSubmitters; ++who) {
        std::ifstream in(state_.string() + ".ids." + std::to_string(who));
        int n = 0;
        spool::JobId id = 0;
        while (in >> n >> id) accepted[n] = id;
        fs::remove(state_.string() + ".ids." + std::to_string(who));
    }
    ASSERT_EQ(accepted.size(), static_cast<std::size_t>(kSubmitters * kPerSubmitter));

    // Wait until the history shows every job sent.
    SystemClock clock;
    SystemRandom rng;
    auto box = service::Outbox::open(state_, clock, rng);
    ASSERT_TRUE(box) << box.error().describe();
    std::vector<spool::Job> jobs;
    for (int i = 0; i < 600; ++i) {
        auto all = (*box)->spool().jobs(5000);
        ASSERT_TRUE(all) << all.error().describe();
        jobs = std::move(*all);
        if (std::all_of(jobs.begin(), jobs.end(),
                        [](const spool::Job& j) { return spool::is_final(j.state); }))
            break;
        std::this_thread::sleep_for(200ms);
    }
    std::set<spool::JobId> maybe_sent;
    std::size_t not_sent = 0;
    for (const auto& j : jobs) {
        if (j.state != spool::JobState::sent) ++not_sent;
        if (j.maybe_sent) maybe_sent.insert(j.id);
    }
    EXPECT_EQ(not_sent, 0U);

    // What arrived, counted by subject.
    std::map<int, int> arrived;
    const std::string subject = "\r\nSubject: " + tag + "-";
    for (const auto& e : fs::recursive_directory_iterator(test::Peers::get().at("PB_MAILDIR"))) {
        if (!e.is_regular_file() || e.path().string().ends_with(".json")) continue;
        if (e.file_size() > 64 * 1024) continue;  // ours are small; others' may be 20 MB
        std::ifstream f(e.path(), std::ios::binary);
        std::string text{std::istreambuf_iterator<char>(f), {}};
        const auto at = text.find(subject);
        if (at != std::string::npos) ++arrived[std::atoi(text.c_str() + at + subject.size())];
    }
    std::size_t lost = 0, duplicated = 0, unexplained = 0;
    for (const auto& [n, id] : accepted) {
        const int count = arrived.count(n) != 0U ? arrived[n] : 0;
        if (count == 0) {
            ++lost;
            ADD_FAILURE() << "message " << n << " (job " << id
                          << ") was accepted but never arrived";
        }
        if (count > 1) {
            ++duplicated;
            if (maybe_sent.count(id) == 0U) {
                ++unexplained;
                ADD_FAILURE() << "message " << n << " (job " << id << ") arrived " << count
                              << " times, but its job was never cut off at end of data";
            }
        }
    }
    std::cout << "accepted " << accepted.size() << ", lost " << lost << ", duplicated "
              << duplicated << " (jobs marked maybe_sent: " << maybe_sent.size() << "), " << kKills
              << " kills\n";
    RecordProperty("accepted", static_cast<int>(accepted.size()));
    RecordProperty("duplicated", static_cast<int>(duplicated));
    RecordProperty("maybe_sent", static_cast<int>(maybe_sent.size()));
    EXPECT_EQ(lost, 0U);
    EXPECT_EQ(unexplained, 0U);
    // Only a message in flight when serve died can arrive twice: per
    // connection (delivery.concurrency, 3) and kill, the one being sent and
    // the one before it, whose record is committed meanwhile.
    EXPECT_LE(duplicated, static_cast<std::size_t>(kKills * 3 * 2));
    // And only jobs marked as going out are flagged: per connection and
    // kill, at most the marks ahead of the message being sent, and the
    // messages before it not yet recorded. Not the rest of the batch, nor
    // the batch taken ahead.
    const std::size_t ahead = delivery::EngineOptions{}.mark_ahead;
    EXPECT_LE(maybe_sent.size(), static_cast<std::size_t>(kKills * 3) * (ahead + ahead / 2 + 2));
}

}  // namespace
}  // namespace pb
