// The command line as a user meets it: exit statuses, messages that name
// the key, nothing changed by a rejected command, secrets never printed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "support/peers.hpp"
#include "support/temp_dir.hpp"

namespace pb::test {
namespace {

namespace fs = std::filesystem;

class ConfigCli : public ::testing::Test {
  protected:
    void SetUp() override { state_ = test::fresh_dir("pb-cli"); }
    void TearDown() override { fs::remove_all(state_); }

    // Runs postbridge with ARGS; stderr is folded into out.
    CommandResult pb(const std::string& args, const std::string& stdin_text = "") {
        std::string cmd;
        if (!stdin_text.empty()) cmd = "printf '%s\\n' '" + stdin_text + "' | ";
        cmd += binary_path() + " --state " + state_.string() + " " + args + " 2>&1";
        return run_command(cmd);
    }

    fs::path state_;
};

TEST_F(ConfigCli, PortOutOfRangeExits2AndChangesNothing) {
    ASSERT_EQ(pb("config set email.smtp.port 2525").status, 0);
    const auto before = pb("config export");
    auto r = pb("config set email.smtp.port 70000");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.out.find("email.smtp.port: '70000' is not a port: use a number from 1 to 65535"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("nothing was changed"), std::string::npos);
    EXPECT_EQ(pb("config export").out, before.out);
}

TEST_F(ConfigCli, UnknownKeyAndServiceAndAddress) {
    auto k = pb("config set email.smtp.prot 25");
    EXPECT_EQ(k.status, 2);
    EXPECT_NE(k.out.find("unknown key 'email.smtp.prot'"), std::string::npos) << k.out;
    auto s = pb("config set email.service yahoo");
    EXPECT_EQ(s.status, 2);
    EXPECT_NE(s.out.find("exchange-online, outlook-com, gmail or custom"), std::string::npos);
    auto a = pb("config set email.sender scanner-at-example.com");
    EXPECT_EQ(a.status, 2);
    EXPECT_NE(a.out.find("email.sender"), std::string::npos);
    EXPECT_EQ(pb("config get email.sender").out, "\n");
}

TEST_F(ConfigCli, ServicePresetPrintsWhatChanged) {
    auto r = pb("config set email.service outlook-com");
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("email.smtp.host: smtp-mail.outlook.com (was smtp.office365.com)"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("email.oauth.tenant: consumers (was organizations)"), std::string::npos);
    EXPECT_EQ(pb("config get email.smtp.host").out, "smtp-mail.outlook.com\n");
}

TEST_F(ConfigCli, ImportIsAllOrNothing) {
    const fs::path file = state_.string() + ".json";
    fs::create_directories(state_);
    std::ofstream(file) << R"({"email.smtp.host": "smtp.example.com", "email.smtp.port": 99999,
                              "email.nope": 1})";
    auto r = pb("config import " + file.string());
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.out.find("email.smtp.port"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("email.nope"), std::string::npos) << r.out;
    EXPECT_EQ(pb("config get email.smtp.host").out, "smtp.office365.com\n");
    std::ofstream(file, std::ios::trunc)
        << R"({"email.smtp.host": "smtp.example.com", "email.smtp.port": 465})";
    ASSERT_EQ(pb("config import " + file.string()).status, 0);
    EXPECT_EQ(pb("config get email.smtp.port").out, "465\n");
    fs::remove(file);
}

TEST_F(ConfigCli, ExportImportRoundTrip) {
    ASSERT_EQ(pb("config set email.service gmail").status, 0);
    ASSERT_EQ(pb("config set fax.smtp.port 2525").status, 0);
    const auto exported = pb("config export");
    ASSERT_EQ(exported.status, 0);
    const fs::path file = state_.string() + ".json";
    std::ofstream(file) << exported.out;
    const fs::path other = state_.string() + "-other";
    auto r = run_command(binary_path() + " --state " + other.string() + " config import " +
                         file.string() + " >/dev/null 2>&1 && " + binary_path() + " --state " +
                         other.string() + " config export");
    EXPECT_EQ(r.out, exported.out);
    fs::remove(file);
    fs::remove_all(other);
}

TEST_F(ConfigCli, SecretsAreNeverPrinted) {
    ASSERT_EQ(pb("config set email.password -", "S3cr3t-Pa55").status, 0);
    for (const char* args :
         {"config show", "config show --json", "config get email.password", "config export"}) {
        auto r = pb(args);
        EXPECT_EQ(r.status, 0) << args;
        EXPECT_EQ(r.out.find("S3cr3t-Pa55"), std::string::npos) << args;
    }
    EXPECT_EQ(pb("config get email.password").out, "(set)\n");
    EXPECT_NE(pb("config export --with-secrets").out.find("S3cr3t-Pa55"), std::string::npos);
}

TEST_F(ConfigCli, CorruptStateExits2NamingTheFile) {
    ASSERT_EQ(pb("config set email.smtp.port 2525").status, 0);
    fs::remove(state_ / "postbridge.db-wal");
    fs::remove(state_ / "postbridge.db-shm");
    std::ofstream(state_ / "postbridge.db", std::ios::trunc) << std::string(4096, '?');
    auto r = pb("config show");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.out.find("postbridge.db"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("corrupt"), std::string::npos) << r.out;
}

TEST_F(ConfigCli, UserProfilesNeedARegisteredUser) {
    auto r = pb("config set user:bob.smtp.port 465");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.out.find("users add bob"), std::string::npos) << r.out;
    ASSERT_EQ(pb("users add bob --email bob@example.com").status, 0);
    EXPECT_EQ(pb("config set user:bob.smtp.port 465").status, 0);
    EXPECT_EQ(pb("config get user:bob.sender").out, "bob@example.com\n");
    EXPECT_EQ(pb("users add bob --email bob@example.com").status, 2);
}

TEST_F(ConfigCli, CodesJsonHasTheManualsWords) {
    auto r = pb("codes --json");
    ASSERT_EQ(r.status, 0);
    EXPECT_NE(
        r.out.find(
            R"("code":360,"condition":"sign-in","remedy":"Connect to the cloud service or email service.","status":"No connection with the cloud service or email service.")"),
        std::string::npos)
        << r.out;
    // One line per code of the table (which grows; numbers are never reused).
    EXPECT_EQ(static_cast<std::size_t>(std::count(r.out.begin(), r.out.end(), '\n')),
              code_table().size());
}

TEST_F(ConfigCli, GlobalOptionsAfterTheSubcommand) {
    auto r = run_command(binary_path() + " config get email.smtp.port --state " + state_.string() +
                         " --json");
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.out.find(R"("value":"587")"), std::string::npos) << r.out;
}

// Hostile-LAN table, row "`relay-users add` with a 1-character password":
// it was accepted. Any machine on the LAN may try to guess it.
TEST_F(ConfigCli, DeviceAccountsNeedTwelveCharactersAndAPlainName) {
    auto short_one = pb("relay-users add copier", "x");
    EXPECT_EQ(short_one.status, 2) << short_one.out;
    EXPECT_NE(short_one.out.find("at least 12 characters"), std::string::npos) << short_one.out;
    auto eleven = pb("relay-users add copier", "12345678901");
    EXPECT_EQ(eleven.status, 2) << eleven.out;
    EXPECT_EQ(pb("relay-users list").out.find("copier"), std::string::npos);
    auto ok = pb("relay-users add copier", "123456789012");
    EXPECT_EQ(ok.status, 0) << ok.out;
    EXPECT_NE(pb("relay-users list").out.find("copier"), std::string::npos);
    auto odd = pb("relay-users add 'Copier 3F'", "123456789012");
    EXPECT_EQ(odd.status, 2) << odd.out;
    EXPECT_NE(odd.out.find("is not a device account name"), std::string::npos) << odd.out;
}

TEST_F(ConfigCli, ApiTokenShownOnceAndStoredHashed) {
    auto r = pb("api-token create fleet --json");
    ASSERT_EQ(r.status, 0) << r.out;
    const auto at = r.out.find("pb_");
    ASSERT_NE(at, std::string::npos);
    const std::string token = r.out.substr(at, r.out.find('"', at) - at);
    EXPECT_EQ(pb("api-token create fleet").status, 2);
    auto db = run_command("cat " + (state_ / "postbridge.db").string() + "* 2>/dev/null");
    EXPECT_EQ(db.out.find(token), std::string::npos);
    EXPECT_EQ(pb("api-token list").out.find(token), std::string::npos);
    EXPECT_EQ(pb("api-token revoke fleet").status, 0);
    EXPECT_EQ(pb("api-token revoke fleet").status, 2);
}

// Linked as `sendmail`, the command is the sendmail drop-in: it accepts the
// message into the spool (exit 0) even when the server cannot be reached.
TEST_F(ConfigCli, InvokedAsSendmailActsAsSendmail) {
    ASSERT_EQ(pb("config set email.smtp.host 127.0.0.1").status, 0);
    ASSERT_EQ(pb("config set email.smtp.port 1").status, 0);  // nothing listens: stays queued
    ASSERT_EQ(pb("config set email.sender scanner@example.com").status, 0);
    const fs::path link = state_.string() + "-bin/sendmail";
    fs::create_directories(link.parent_path());
    fs::create_symlink(binary_path(), link);
    auto r = run_command("printf 'Subject: linked\\n\\nhello\\n' | " + link.string() + " --state " +
                         state_.string() + " -t bob@example.com 2>&1");
    EXPECT_EQ(r.status, 0) << r.out;
    auto jobs = pb("jobs --json");
    EXPECT_NE(jobs.out.find("bob@example.com"), std::string::npos) << jobs.out;
    fs::remove_all(link.parent_path());
}

// A full spool (a 3 MB filesystem, a 5 MB scan): the message is refused
// with 651 and exit 75, so a script tries again; nothing of it stays, and
// the next small message is accepted. The filesystem is a tmpfs mounted in
// a mount namespace of its own, which needs root (CI runs as root).
TEST_F(ConfigCli, AFullSpoolRefusesWith651AndExit75AndKeepsNothing) {
    if (::geteuid() != 0 || run_command("unshare -m true 2>&1").status != 0)
        GTEST_SKIP() << "needs root and unshare(1) to mount a small tmpfs";
    ASSERT_EQ(pb("config set email.smtp.host 127.0.0.1").status, 0);
    ASSERT_EQ(pb("config set email.smtp.port 1").status, 0);
    ASSERT_EQ(pb("config set email.sender scanner@example.com").status, 0);
    const fs::path spool = state_ / "spool";
    fs::create_directories(spool);
    const std::string scan = state_.string() + "-scan.tif";
    {
        std::ofstream f(scan, std::ios::binary);
        f << std::string(5 << 20, 'x');
    }
    const std::string send =
        binary_path() + " --state " + state_.string() + " send --to bob@example.com --subject ";
    auto r = run_command(
        "unshare -m sh -c 'mount -t tmpfs -o size=3m,mode=0700 tmpfs " + spool.string() + " && " +
        send + "big --body x --attach " + scan + " 2>&1; echo \"exit $?\"; " + send +
        "small --body x 2>&1; echo \"exit $?\"; find " + spool.string() + " -type f | wc -l' 2>&1");
    fs::remove(scan);
    EXPECT_NE(r.out.find("No space left on device (code 651)\nexit 75\n"), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("exit 75\njob "), std::string::npos) << "the small one: " << r.out;
    EXPECT_TRUE(r.out.ends_with("exit 0\n1\n")) << "one file, the small message's: " << r.out;
    const auto jobs = pb("jobs --json");
    EXPECT_EQ(jobs.out.find("\"subject\":\"big\""), std::string::npos) << jobs.out;
}

TEST(Readme, KeyTableIsGeneratedFromTheSchema) {
    std::ifstream in(source_dir() + "/README.md");
    ASSERT_TRUE(in);
    const std::string readme((std::istreambuf_iterator<char>(in)), {});
    const auto b = readme.find("<!-- keys:begin -->\n");
    const auto e = readme.find("<!-- keys:end -->");
    ASSERT_NE(b, std::string::npos);
    ASSERT_NE(e, std::string::npos);
    const std::string table = readme.substr(b + 20, e - b - 20);
    auto r = run_command(binary_path() + " config keys --markdown");
    EXPECT_EQ(table, r.out) << "README.md is stale: run scripts/readme-keys";
}

}  // namespace
}  // namespace pb::test
