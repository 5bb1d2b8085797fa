// Local submission (intake/local_submission.hpp) as a local program meets it:
// `sendmail` run as nobody (uid 65534, who cannot open the service's state)
// hands its message to serve over the Unix socket, and it reaches the real
// SMTP server; with no serve it gets 75 and no private state of its own; its
// envelope sender is never one it chose.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "cli/cli_with_peers.hpp"
#include "support/log_watch.hpp"
#include "support/serve_process.hpp"

namespace pb::test {
namespace {

using namespace std::chrono_literals;

class LocalSubmit : public CliWithPeers {
  protected:
    void SetUp() override {
        CliWithPeers::SetUp();
        if (::geteuid() != 0) GTEST_SKIP() << "needs root, to run sendmail as another user";
        // Where nobody may reach the socket: a directory of its own, 0755.
        sock_dir_ = state_.string() + ".run";
        fs::create_directories(sock_dir_);
        fs::permissions(sock_dir_, fs::perms::owner_all | fs::perms::group_read |
                                       fs::perms::group_exec | fs::perms::others_read |
                                       fs::perms::others_exec);
        home_ = state_.string() + ".home-of-nobody";  // never made
    }
    void TearDown() override {
        serve_.reset();
        fs::remove_all(sock_dir_);
        fs::remove_all(home_);
        CliWithPeers::TearDown();
    }
    std::string socket() const { return (sock_dir_ / "submit.sock").string(); }
    std::string serve_log() const { return state_.string() + ".serve.log"; }

    void start_serve() {
        serve_ = std::make_unique<ServeProcess>(state_, serve_log());
        serve_->start("--submit-socket " + socket());
    }

    // `sendmail ARGS` as nobody, with `message` on standard input, in an
    // environment of nothing but its HOME and the socket's path.
    CommandResult sendmail_as_nobody(const std::string& args, const std::string& message) {
        const fs::path file = state_.string() + ".message";
        std::ofstream(file, std::ios::binary) << message;
        return run_command(
            "setpriv --reuid=65534 --regid=65534 --clear-groups env -i HOME=" + home_.string() +
            " PATH=/usr/bin:/bin POSTBRIDGE_SUBMIT_SOCKET=" + socket() + " " + binary_path() +
            " sendmail " + args + " < " + file.string() + " 2>&1");
    }

    fs::path sock_dir_, home_;
    std::unique_ptr<ServeProcess> serve_;
};

TEST_F(LocalSubmit, NobodysSendmailGoesThroughServeToTheRealSmtpServer) {
    auto lines = signin_as_user("approve");
    ASSERT_EQ(lines.back(), 0);
    start_serve();
    ASSERT_FALSE(HasFatalFailure());
    const std::string subject = "from cron " + std::to_string(::getpid());
    auto r = sendmail_as_nobody(
        "-t -i -F CronDaemon -f ceo@example.test",
        "To: bob@example.test\r\nSubject: " + subject + "\r\n\r\nThe nightly backup ended.\r\n");
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_FALSE(fs::exists(home_)) << "sendmail made a state of its own for nobody";
    ASSERT_TRUE(wait_for_log(
        serve_log(),
        [](const std::string& t) {
            return t.find("local: job ") != std::string::npos &&
                   t.find("outcome=sent") != std::string::npos;
        },
        30s))
        << read_all(serve_log());
    const std::string log = read_all(serve_log());
    EXPECT_NE(log.find("accepted from user nobody (uid 65534"), std::string::npos) << log;
    EXPECT_TRUE(in_maildir(subject));
    // The envelope sender is the profile's, not the one nobody named.
    auto jobs = pb("--json jobs");
    EXPECT_NE(jobs.out.find(R"("sender":"alice@example.test")"), std::string::npos) << jobs.out;
    EXPECT_EQ(jobs.out.find("ceo@example.test"), std::string::npos) << jobs.out;
}

TEST_F(LocalSubmit, WithoutServeNobodyGets75AndNoPrivateState) {
    auto r = sendmail_as_nobody("-t", "To: bob@example.test\r\nSubject: lost?\r\n\r\nb\r\n");
    EXPECT_EQ(r.status, 75) << r.out;
    EXPECT_NE(r.out.find("does not answer on " + socket()), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Start the service"), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(home_)) << "sendmail made a state of its own for nobody";
}

TEST_F(LocalSubmit, AMessageTheServiceRefusesGivesTheReasonAndItsStatus) {
    start_serve();
    ASSERT_FALSE(HasFatalFailure());
    // No recipient at all: refused as bad input, nothing spooled.
    auto r = sendmail_as_nobody("-t", "Subject: nobody to\r\n\r\nb\r\n");
    EXPECT_EQ(r.status, 64) << r.out;  // EX_USAGE, as when sendmail spools itself
    EXPECT_NE(r.out.find("recipient"), std::string::npos) << r.out;
    EXPECT_EQ(pb("--json jobs").out.find("nobody to"), std::string::npos);
}

// sendmail -bs by nobody: each message of the SMTP session goes to serve.
TEST_F(LocalSubmit, AnSmtpSessionOfNobodyHandsEachMessageToServe) {
    start_serve();
    ASSERT_FALSE(HasFatalFailure());
    auto r = sendmail_as_nobody(
        "-bs",
        "EHLO php.example\r\nMAIL FROM:<www-data@example.test>\r\nRCPT TO:<bob@example.test>\r\n"
        "DATA\r\nSubject: bs one\r\n\r\n1\r\n.\r\nMAIL FROM:<www-data@example.test>\r\n"
        "RCPT TO:<bob@example.test>\r\nDATA\r\nSubject: bs two\r\n\r\n2\r\n.\r\nQUIT\r\n");
    EXPECT_EQ(r.status, 0) << r.out;
    std::size_t queued = 0;
    for (auto at = r.out.find("250 2.0.0 Ok: queued as "); at != std::string::npos;
         at = r.out.find("250 2.0.0 Ok: queued as ", at + 1))
        ++queued;
    EXPECT_EQ(queued, 2U) << r.out;
    const std::string log = read_all(serve_log());
    EXPECT_EQ(count_of(log, "accepted from user nobody (uid 65534"), 2U) << log;
    EXPECT_FALSE(fs::exists(home_));
}

// mailq as nobody: the service answers with nobody's own jobs; root's
// mailq has everyone's.
TEST_F(LocalSubmit, MailqShowsALocalUserTheirOwnJobs) {
    start_serve();  // not signed in: every job is held and stays in the queue
    ASSERT_FALSE(HasFatalFailure());
    ASSERT_EQ(sendmail_as_nobody("-t", "To: carol@example.test\r\nSubject: n\r\n\r\nb\r\n").status,
              0);
    auto root = run_command("printf 'To: dave@example.test\\nSubject: r\\n\\nb\\n' | " +
                            binary_path() + " --state " + state_.string() + " sendmail -t 2>&1");
    ASSERT_EQ(root.status, 0) << root.out;
    auto mine = run_command(
        "setpriv --reuid=65534 --regid=65534 --clear-groups env -i HOME=" + home_.string() +
        " POSTBRIDGE_SUBMIT_SOCKET=" + socket() + " " + binary_path() + " sendmail -bp 2>&1");
    EXPECT_EQ(mine.status, 0) << mine.out;
    EXPECT_NE(mine.out.find("carol@example.test"), std::string::npos) << mine.out;
    EXPECT_EQ(mine.out.find("dave@example.test"), std::string::npos) << mine.out;
    EXPECT_NE(mine.out.find("in 1 Request."), std::string::npos) << mine.out;
    auto all = run_command(binary_path() + " --state " + state_.string() + " sendmail -bp");
    EXPECT_NE(all.out.find("carol@example.test"), std::string::npos) << all.out;
    EXPECT_NE(all.out.find("dave@example.test"), std::string::npos) << all.out;
}

TEST_F(LocalSubmit, OneRunawayUserIsHeldToLocalRateLimit) {
    ASSERT_EQ(pb("config set local.rate_limit 2").status, 0);
    start_serve();
    ASSERT_FALSE(HasFatalFailure());
    const std::string m = "To: bob@example.test\r\nSubject: loop\r\n\r\nb\r\n";
    EXPECT_EQ(sendmail_as_nobody("-t", m).status, 0);
    EXPECT_EQ(sendmail_as_nobody("-t", m).status, 0);
    auto third = sendmail_as_nobody("-t", m);
    EXPECT_EQ(third.status, 75) << third.out;
    EXPECT_NE(third.out.find("local.rate_limit"), std::string::npos) << third.out;
    // Root is not limited: the queue's owner may flush its own backlog.
    auto r = run_command(
        "printf 'To: bob@example.test\\nSubject: root\\n\\nb\\n' | "
        "POSTBRIDGE_SUBMIT_SOCKET=" +
        socket() + " " + binary_path() + " --state " + state_.string() + " sendmail -t 2>&1");
    EXPECT_EQ(r.status, 0) << r.out;
}

TEST_F(LocalSubmit, WithSenderPolicyKeepALocalUserSendsAsUserAtTheSendersDomain) {
    ASSERT_EQ(pb("config set email.sender_policy keep").status, 0);
    start_serve();
    ASSERT_FALSE(HasFatalFailure());
    auto r = sendmail_as_nobody("-t -f root@example.test",
                                "To: bob@example.test\r\nSubject: kept\r\n\r\nb\r\n");
    ASSERT_EQ(r.status, 0) << r.out;
    auto jobs = pb("--json jobs");
    EXPECT_NE(jobs.out.find(R"("sender":"nobody@example.test")"), std::string::npos) << jobs.out;
    EXPECT_EQ(jobs.out.find(R"("sender":"root@example.test")"), std::string::npos) << jobs.out;
}

}  // namespace
}  // namespace pb::test
