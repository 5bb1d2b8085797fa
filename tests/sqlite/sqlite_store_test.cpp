// The local backend's store where SQLite and the state directory show:
// migrations, the file at rest, the key file, several connections and
// processes, CA files, lock files. The contract itself is
// tests/storage/store_suite_test.cpp.
#include "sqlite/store.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "sqlite/file_lock.hpp"
#include "support/fakes.hpp"
#include "support/peers.hpp"
#include "support/temp_dir.hpp"

namespace pb::sqlite {
namespace {

namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
  protected:
    void SetUp() override { dir_ = test::fresh_dir("pb-store"); }
    void TearDown() override { fs::remove_all(dir_); }

    std::unique_ptr<SqliteStore> open(const store::Options& o = {}) {
        auto s = SqliteStore::open(dir_, rng_, clock_, o);
        EXPECT_TRUE(s) << (s ? "" : s.error().detail);
        return s ? std::move(*s) : nullptr;
    }
    std::string raw_db() {
        std::ifstream in(dir_ / "postbridge.db", std::ios::binary);
        std::string all((std::istreambuf_iterator<char>(in)), {});
        std::ifstream wal(dir_ / "postbridge.db-wal", std::ios::binary);
        all.append((std::istreambuf_iterator<char>(wal)), {});
        return all;
    }

    fs::path dir_;
    SystemRandom rng_;
    test::ManualClock clock_;
};

TEST_F(StoreTest, ACachedStatementComesBackResetAndUnbound) {
    fs::create_directories(dir_);
    auto db = Db::open(dir_ / "cache.db");
    ASSERT_TRUE(db.ok());
    const std::string_view sql = "SELECT ?1, ?2";
    auto first = db->cached(sql);
    ASSERT_TRUE(first.ok());
    first->bind(1, std::int64_t{7}).bind(2, "seven");
    ASSERT_TRUE(first->step().ok());
    {
        // In use meanwhile: a second user of the same SQL gets its own.
        auto second = db->cached(sql);
        ASSERT_TRUE(second.ok());
        second->bind(1, std::int64_t{8});
        ASSERT_TRUE(*second->step());
        EXPECT_EQ(second->integer(0), 8);
        EXPECT_EQ(first->integer(0), 7);  // untouched by the other
    }
    { auto drop = std::move(*first); }  // back to the cache, mid-step
    // Both were given back reset and unbound: the next user steps from the
    // first row again, and from NULLs.
    auto a = db->cached(sql);
    auto b = db->cached(sql);
    for (auto* again : {&a, &b}) {
        ASSERT_TRUE(again->ok());
        ASSERT_TRUE(*(*again)->step());
        EXPECT_TRUE((*again)->is_null(0));
        EXPECT_TRUE((*again)->is_null(1));
    }
}

TEST_F(StoreTest, MigratesFromEmpty) {
    auto s = open();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->schema_version(), migrations().back().version);
    struct stat st {};
    ASSERT_EQ(::stat((dir_ / "key").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600U);
    ASSERT_EQ(::stat((dir_ / "postbridge.db").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0077, 0U);
    // Opening again applies nothing twice.
    s.reset();
    auto again = open();
    ASSERT_TRUE(again);
    EXPECT_EQ(again->schema_version(), migrations().back().version);
}

TEST(Migrations, VersionsStrictlyIncrease) {
    // Two migrations with one number: a state at that version would never
    // get the second.
    int last = 0;
    for (const auto& m : migrations()) {
        EXPECT_GT(m.version, last) << "migration " << m.version << " after " << last;
        last = m.version;
    }
}

TEST_F(StoreTest, UpgradesAStateOfAnEarlierVersion) {
    // A state written before migration 3: its jobs had no return_path, nor
    // on_wire (4), nor transport (5), nor reported and alerts (6), nor
    // submitter and the DSN parameters (7), nor owners and leases (8), and
    // one was being sent when that version stopped.
    {
        auto s = open();
        ASSERT_TRUE(s);
        ASSERT_TRUE(s->db().exec("DROP INDEX jobs_owner"));
        ASSERT_TRUE(s->db().exec("ALTER TABLE jobs DROP COLUMN lease_until"));
        ASSERT_TRUE(s->db().exec("ALTER TABLE jobs DROP COLUMN owner"));
        ASSERT_TRUE(s->db().exec("ALTER TABLE jobs DROP COLUMN dsn_ret"));
        ASSERT_TRUE(s->db().exec("ALTER TABLE jobs DROP COLUMN dsn_notify"));
        ASSERT_TRUE(s->db().exec("ALTER TABLE jobs DROP COLUMN submitter"));
        ASSERT_TRUE(s->db().exec("DROP TABLE alerts"));
        ASSERT_TRUE(s->db().exec("ALTER TABLE jobs DROP COLUMN reported"));
        ASSERT_TRUE(s->db().exec("ALTER TABLE jobs DROP COLUMN transport"));
        ASSERT_TRUE(s->db().exec("ALTER TABLE jobs DROP COLUMN on_wire"));
        ASSERT_TRUE(s->db().exec("ALTER TABLE jobs DROP COLUMN return_path"));
        ASSERT_TRUE(s->db().exec(
            "INSERT INTO jobs (created_at, updated_at, queued_at, function, profile, sender, "
            "size, state) VALUES (0, 0, 0, 'cli', 'email', 'a@example.test', 1, 'sending')"));
        ASSERT_TRUE(s->db().exec("PRAGMA user_version = 2"));
    }
    auto s = open();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->schema_version(), migrations().back().version);
    EXPECT_TRUE(s->db().exec("SELECT return_path FROM jobs LIMIT 0"));
    EXPECT_TRUE(s->db().exec("SELECT condition FROM alerts LIMIT 0"));
    // Not reported on: a failure before this version had its report (or not)
    // from the relay's old file.
    auto rep = s->db().cached("SELECT reported FROM jobs");
    ASSERT_TRUE(rep);
    auto rep_row = rep->step();
    ASSERT_TRUE(rep_row && *rep_row);
    EXPECT_EQ(rep->integer(0), 0);
    // Not tried by this version yet: no transport to name.
    auto tr = s->db().cached("SELECT transport FROM jobs");
    ASSERT_TRUE(tr);
    auto tr_row = tr->step();
    ASSERT_TRUE(tr_row && *tr_row);
    EXPECT_EQ(tr->text(0), "");
    // Its message may have gone out: recovery must flag it maybe_sent.
    auto st = s->db().cached("SELECT on_wire FROM jobs WHERE state = 'sending'");
    ASSERT_TRUE(st);
    auto row = st->step();
    ASSERT_TRUE(row && *row);
    EXPECT_EQ(st->integer(0), 1);
    // It has no owner: the first recovery takes it back (sqlite_spool_test).
    auto own = s->db().cached("SELECT owner IS NULL FROM jobs WHERE state = 'sending'");
    ASSERT_TRUE(own);
    auto own_row = own->step();
    ASSERT_TRUE(own_row && *own_row);
    EXPECT_EQ(own->integer(0), 1);
}

TEST_F(StoreTest, RefusesAStateFromANewerVersion) {
    {
        auto s = open();
        ASSERT_TRUE(s);
        ASSERT_TRUE(s->db().exec("PRAGMA user_version = 999"));
    }
    auto s = SqliteStore::open(dir_, rng_, clock_);
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().detail.find("newer postbridge"), std::string::npos);
}

TEST_F(StoreTest, SecretsAreSealedAtRest) {
    auto s = open();
    ASSERT_TRUE(s->set_values({{"email.password", "Tr0ub4dor&3-plaintext"}}));
    ASSERT_TRUE(s->put_sealed("token:email", Secret("1//refresh-token-plaintext")));
    EXPECT_TRUE(s->has_secret("email.password"));
    auto cfg = s->load_settings();
    EXPECT_FALSE(cfg->is_set("email.password"));  // not among plain settings
    auto pw = s->get_sealed("setting:email.password");
    ASSERT_TRUE(pw);
    ASSERT_TRUE(pw->has_value());
    EXPECT_EQ((*pw)->reveal(), "Tr0ub4dor&3-plaintext");
    s.reset();
    const std::string raw = raw_db();
    EXPECT_EQ(raw.find("Tr0ub4dor"), std::string::npos);
    EXPECT_EQ(raw.find("refresh-token-plaintext"), std::string::npos);
}

TEST_F(StoreTest, CorruptDatabaseNamesTheFile) {
    {
        auto s = open();
        ASSERT_TRUE(s);
    }
    fs::remove(dir_ / "postbridge.db-wal");
    fs::remove(dir_ / "postbridge.db-shm");
    {
        std::ofstream out(dir_ / "postbridge.db", std::ios::binary | std::ios::trunc);
        out << std::string(8192, 'x');
    }
    auto s = SqliteStore::open(dir_, rng_, clock_);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, Errc::invalid_input);
    EXPECT_NE(s.error().detail.find("postbridge.db"), std::string::npos);
    EXPECT_NE(s.error().detail.find("corrupt"), std::string::npos);
}

TEST_F(StoreTest, KeyFileMustBePrivateAndWellFormed) {
    {
        auto s = open();
        ASSERT_TRUE(s);
    }
    ::chmod((dir_ / "key").c_str(), 0644);
    auto s = SqliteStore::open(dir_, rng_, clock_);
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().detail.find("chmod 600"), std::string::npos);
    ::chmod((dir_ / "key").c_str(), 0600);
    { std::ofstream(dir_ / "key", std::ios::trunc) << "short"; }
    auto s2 = SqliteStore::open(dir_, rng_, clock_);
    ASSERT_FALSE(s2);
    EXPECT_NE(s2.error().detail.find("not a postbridge key"), std::string::npos);
}

TEST_F(StoreTest, ConcurrentFirstStartsAgreeOnOneKey) {
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([&] {
            SystemRandom rng;
            auto s = SqliteStore::open(dir_, rng, clock_);
            if (s)
                ++ok;
            else
                ADD_FAILURE() << s.error().detail;
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok.load(), 4);
}

// serve opens the state twice (pages, sign-in threads) while commands run
// beside it. A second open in one process must not drop the first one's
// SQLite locks, or another process checkpoints the WAL away and the
// first connection's writes vanish.
TEST_F(StoreTest, WritesSurviveASecondOpenAndAnotherProcess) {
    auto a = open();
    ASSERT_TRUE(a);
    auto b = open();
    ASSERT_TRUE(b);
    const std::string cli = test::binary_path() + " --state " + dir_.string();
    ASSERT_EQ(test::run_command(cli + " config get email.smtp.port").status, 0);
    ASSERT_TRUE(a->set_values({{"email.smtp.port", "2525"}}));
    auto r = test::run_command(cli + " config get email.smtp.port");
    EXPECT_EQ(r.out, "2525\n");
    ASSERT_TRUE(a->set_values({{"email.smtp.port", "2526"}}));
    EXPECT_EQ(b->load_settings()->get("email", "smtp.port"), "2526");
    EXPECT_EQ(test::run_command(cli + " config get email.smtp.port").out, "2526\n");
}

TEST_F(StoreTest, ImportsListsAndRemovesCaCertificates) {
    auto s = open();
    const auto pem = dir_.string() + "-ca.pem";
    const auto der = dir_.string() + "-ca.der";
    auto r = test::run_command(
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout /dev/null -subj /CN=Test\\ Root -days "
        "30 "
        "-out " +
        pem + " 2>/dev/null && openssl x509 -in " + pem + " -outform DER -out " + der);
    ASSERT_EQ(r.status, 0);
    auto imported = s->import_ca(pem);
    ASSERT_TRUE(imported) << imported.error().detail;
    ASSERT_EQ(imported->size(), 1U);
    EXPECT_EQ((*imported)[0].subject, "CN=Test Root");
    EXPECT_EQ((*imported)[0].issuer, "CN=Test Root");
    // The same certificate as DER lands on the same id.
    auto again = s->import_ca(der);
    ASSERT_TRUE(again);
    EXPECT_EQ((*again)[0].id, (*imported)[0].id);
    EXPECT_EQ(s->ca_certs()->size(), 1U);
    EXPECT_EQ(s->ca_files().size(), 1U);
    EXPECT_FALSE(s->import_ca("/dev/null"));
    EXPECT_FALSE(s->remove_ca("../key"));
    ASSERT_TRUE(s->remove_ca((*imported)[0].id));
    EXPECT_TRUE(s->ca_certs()->empty());
    fs::remove(pem);
    fs::remove(der);
}

TEST(FileLock, TheFileNameEncodesTheLocksName) {
    EXPECT_EQ(FileLock::path_for("/s", "oauth-user:ann").filename(), "oauth-user%3Aann.lock");
    EXPECT_EQ(FileLock::path_for("/s", "oauth-email").filename(), "oauth-email.lock");
    EXPECT_EQ(FileLock::path_for("/s", "oauth-../x").filename(), "oauth-..%2Fx.lock");
}

}  // namespace
}  // namespace pb::sqlite
