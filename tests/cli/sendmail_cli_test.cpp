// sendmail as the programs that call it expect, against the real peers:
// cron's command line delivered to the alias of root; each sysexits.h
// status produced by the case sendmail uses it for; mailq in Postfix's
// layout; -q only for those who own the queue; newaliases.
#include <unistd.h>

#include <fstream>
#include <string>

#include "cli/cli_with_peers.hpp"
#include "support/immutable.hpp"

namespace pb::test {
namespace {

class SendmailCli : public CliWithPeers {
  protected:
    void SetUp() override {
        CliWithPeers::SetUp();
        aliases_ = state_.string() + ".aliases";
        std::ofstream(aliases_) << "# the machine's aliases\n"
                                   "postmaster: root\n"
                                   "root: bob@example.test\n"
                                   "backup: |/usr/local/bin/keep\n";
        ASSERT_EQ(pb("config set aliases " + aliases_.string()).status, 0);
    }
    void TearDown() override {
        fs::remove(aliases_);
        CliWithPeers::TearDown();
    }
    // sendmail ARGS with `message` on standard input.
    CommandResult sendmail(const std::string& args, const std::string& message) {
        const fs::path file = state_.string() + ".message";
        std::ofstream(file, std::ios::binary) << message;
        return run_command(binary_path() + " --state " + state_.string() + " sendmail " + args +
                           " < " + file.string() + " 2>&1");
    }
    static std::string message(const std::string& subject, const std::string& to = "root") {
        return "From: root (Cron Daemon)\nTo: " + to + "\nSubject: " + subject +
               "\n\nThe nightly backup ended.\n";
    }

    fs::path aliases_;
};

TEST_F(SendmailCli, CronsCommandLineReachesTheAliasOfRoot) {
    auto lines = signin_as_user("approve");
    ASSERT_EQ(lines.back(), 0);
    const std::string subject = "Cron <root@host> backup " + std::to_string(::getpid());
    // As Debian's cron runs it (cron/do_command.c: MAILCMD MAILARGS).
    auto r = sendmail("-FCronDaemon -i -B8BITMIME -oem postmaster", message(subject));
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_TRUE(in_maildir(subject)) << "delivered by sendmail itself (no serve)";
    auto jobs = pb("--json jobs");
    EXPECT_NE(jobs.out.find(R"("address":"bob@example.test")"), std::string::npos) << jobs.out;
}

// sendmail -bs: the caller speaks SMTP on standard input; the message goes
// to the real SMTP server, a local name to its alias.
TEST_F(SendmailCli, AnSmtpSessionOnStandardInputCarriesAMessage) {
    auto lines = signin_as_user("approve");
    ASSERT_EQ(lines.back(), 0);
    const std::string subject = "over -bs " + std::to_string(::getpid());
    auto r = sendmail("-bs",
                      "EHLO app.example\r\nMAIL FROM:<app@example.test>\r\n"
                      "RCPT TO:<postmaster>\r\nRCPT TO:<nosuchname>\r\nDATA\r\n"
                      "Subject: " +
                          subject + "\r\n\r\nhello\r\n.\r\nQUIT\r\n");
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_TRUE(r.out.starts_with("220 ")) << r.out;
    EXPECT_EQ(r.out.find("AUTH"), std::string::npos) << "no login for a local caller";
    // A local name with no alias is refused at the final dot, with 550 5.1.1.
    EXPECT_NE(r.out.find("550 5.1.1 nosuchname is a local name with no alias"), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("221 "), std::string::npos) << r.out;
    auto ok = sendmail("-bs",
                       "HELO app.example\r\nMAIL FROM:<app@example.test>\r\n"
                       "RCPT TO:<postmaster>\r\nDATA\r\nSubject: " +
                           subject + "\r\n\r\nhello\r\n.\r\nQUIT\r\n");
    EXPECT_NE(ok.out.find("250 2.0.0 Ok: queued as "), std::string::npos) << ok.out;
    EXPECT_TRUE(in_maildir(subject));
}

// -N and -R reach a server that offers DSN as RCPT's NOTIFY= and MAIL's
// RET= (RFC 3461); a bad value is a usage error.
TEST_F(SendmailCli, NotifyAndRetReachAServerThatOffersDsn) {
    const auto& p = Peers::get();
    ASSERT_EQ(pb("config set email.smtp.port " + p.at("PB_SMTP_DSN_PORT")).status, 0);
    auto lines = signin_as_user("approve");
    ASSERT_EQ(lines.back(), 0);
    const std::string subject = "with dsn " + std::to_string(::getpid());
    auto r = sendmail("-N success,failure -R hdrs bob@example.test", message(subject));
    ASSERT_EQ(r.status, 0) << r.out;
    // The sidecar of the message the DSN server took: its envelope's args.
    std::string sidecar;
    for (const auto& e : fs::directory_iterator(fs::path(p.at("PB_DSN_MAILDIR")) / "new")) {
        if (!e.path().string().ends_with(".envelope.json")) continue;
        std::ifstream in(fs::path(e.path().string().substr(
                             0, e.path().string().size() - std::string(".envelope.json").size())),
                         std::ios::binary);
        std::string text((std::istreambuf_iterator<char>(in)), {});
        if (text.find(subject) == std::string::npos) continue;
        std::ifstream side(e.path());
        sidecar.assign((std::istreambuf_iterator<char>(side)), {});
    }
    ASSERT_FALSE(sidecar.empty()) << "not delivered to the DSN server";
    const auto j = json::parse(sidecar);
    EXPECT_EQ(j["mailFromArgs"]["RET"], "HDRS") << sidecar;
    EXPECT_EQ(j["rcptToArgs"][0]["NOTIFY"], "SUCCESS,FAILURE") << sidecar;
    EXPECT_EQ(sendmail("-N sometimes bob@example.test", message("s")).status, 64);
    EXPECT_EQ(sendmail("-R body bob@example.test", message("s")).status, 64);
}

TEST_F(SendmailCli, EachSysexitComesFromTheCaseSendmailUsesItFor) {
    // 64 EX_USAGE: an option sendmail does not have; a recipient that is no
    // address; an -f that is none, where -f counts (sender_policy keep).
    EXPECT_EQ(sendmail("-Q bob@example.test", message("s")).status, 64);
    auto bad_rcpt = sendmail("'bob@@example..test'", message("s"));
    EXPECT_EQ(bad_rcpt.status, 64) << bad_rcpt.out;
    ASSERT_EQ(pb("config set email.sender_policy keep").status, 0);
    auto bad_from = sendmail("-f 'not an address' bob@example.test", message("s"));
    EXPECT_EQ(bad_from.status, 64) << bad_from.out;
    ASSERT_EQ(pb("config set email.sender_policy rewrite").status, 0);
    EXPECT_EQ(sendmail("", message("s")).status, 64) << "no recipient at all";
    // 65 EX_DATAERR: -t with a To header that is not an address list.
    auto data = sendmail("-t", "To: bob@@example..test,,\nSubject: s\n\nb\n");
    EXPECT_EQ(data.status, 65) << data.out;
    // 67 EX_NOUSER: a local name the aliases file does not know, or maps to
    // a program.
    auto nouser = sendmail("operator", message("s"));
    EXPECT_EQ(nouser.status, 67) << nouser.out;
    EXPECT_NE(nouser.out.find("operator is a local name with no alias"), std::string::npos);
    EXPECT_EQ(sendmail("backup", message("s")).status, 67);
    // 69 EX_UNAVAILABLE: not signed in, and the profile refuses rather than
    // holds.
    ASSERT_EQ(pb("config set email.hold_when_signed_out false").status, 0);
    auto unavailable = sendmail("bob@example.test", message("s"));
    EXPECT_EQ(unavailable.status, 69) << unavailable.out;
    ASSERT_EQ(pb("config set email.hold_when_signed_out true").status, 0);
    // 78 EX_CONFIG: no sender to send as.
    ASSERT_EQ(pb("config set email.sender ''").status, 0);
    auto config = sendmail("bob@example.test", message("s"));
    EXPECT_EQ(config.status, 78) << config.out;
    ASSERT_EQ(pb("config set email.sender alice@example.test").status, 0);
    // 75 EX_TEMPFAIL: the spool cannot take it now.
    const fs::path tmp = state_ / "spool" / "tmp";
    set_writable(tmp, false);
    auto full = sendmail("bob@example.test", message("s"));
    set_writable(tmp, true);
    EXPECT_EQ(full.status, 75) << full.out;
    // Held (not signed in): accepted, 0, as sendmail's callers want.
    EXPECT_EQ(sendmail("bob@example.test", message("held")).status, 0);
}

TEST_F(SendmailCli, MailqListsWhatWaitsInPostfixsLayout) {
    auto empty = run_command(binary_path() + " --state " + state_.string() + " sendmail -bp");
    EXPECT_EQ(empty.out, "Mail queue is empty\n");
    ASSERT_EQ(sendmail("postmaster", message("waits")).status, 0);  // held: not signed in
    const fs::path link = state_.string() + ".bin/mailq";
    fs::create_directories(link.parent_path());
    fs::create_symlink(binary_path(), link);
    auto q = run_command(link.string() + " --state " + state_.string());
    EXPECT_EQ(q.status, 0);
    std::istringstream lines(q.out);
    std::string header, job, reason, rcpt, blank, total;
    std::getline(lines, header);
    std::getline(lines, job);
    std::getline(lines, reason);
    std::getline(lines, rcpt);
    std::getline(lines, blank);
    std::getline(lines, total);
    EXPECT_EQ(header, "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------");
    EXPECT_TRUE(job.starts_with("1!")) << job;  // held, as Postfix marks it
    EXPECT_TRUE(job.ends_with("  alice@example.test")) << job;
    EXPECT_NE(reason.find("(code 360: "), std::string::npos) << reason;
    EXPECT_EQ(rcpt, std::string(42, ' ') + "bob@example.test");
    EXPECT_EQ(total, "-- 1 Kbytes in 1 Request.");
    fs::remove_all(link.parent_path());
}

TEST_F(SendmailCli, OnlyTheQueuesOwnersRunItAndNewaliasesChecksTheFile) {
    if (::geteuid() == 0) {
        auto as_nobody = run_command(
            "setpriv --reuid=65534 --regid=65534 --clear-groups env -i HOME=/nonexistent " +
            binary_path() + " sendmail -q 2>&1");
        EXPECT_EQ(as_nobody.status, 77) << as_nobody.out;
    }
    auto flush = run_command(binary_path() + " --state " + state_.string() + " sendmail -q");
    EXPECT_EQ(flush.status, 0) << flush.out;
    auto check = pb("newaliases");
    EXPECT_EQ(check.status, 0) << check.out;
    EXPECT_NE(check.out.find(aliases_.string() + ": 3 aliases"), std::string::npos) << check.out;
    std::ofstream(aliases_, std::ios::app) << "broken line\n";
    auto broken = pb("newaliases");
    EXPECT_EQ(broken.status, 65) << broken.out;
    EXPECT_NE(broken.out.find("line 5: not NAME: VALUE"), std::string::npos) << broken.out;
}

}  // namespace
}  // namespace pb::test
