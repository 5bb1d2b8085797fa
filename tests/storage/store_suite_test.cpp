// The store's contract, on every backend (backend.hpp): settings written
// all or nothing, secrets sealed and bound to their names, the key checked
// at open, users with their profiles, credentials, the administrator's
// alerts, and named locks that exclude across instances.
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <thread>

#include "storage/backend.hpp"
#include "store/store.hpp"
#include "support/fakes.hpp"

namespace pb::store {
namespace {

class StoreSuite : public ::testing::TestWithParam<test::Backend> {
  protected:
    void SetUp() override { env_ = GetParam().make(clock_, rng_); }

    std::unique_ptr<Store> open(const Options& o = {}) {
        auto s = env_->open_store(o);
        EXPECT_TRUE(s) << (s ? "" : s.error().detail);
        return s ? std::move(*s) : nullptr;
    }

    SystemRandom rng_;
    test::ManualClock clock_;
    std::unique_ptr<test::BackendEnv> env_;
};

TEST_P(StoreSuite, SetValuesIsAllOrNothing) {
    auto s = open();
    ASSERT_TRUE(s->set_values({{"email.smtp.port", "465"}}));
    auto r = s->set_values({{"email.smtp.host", "smtp.example.com"}, {"email.smtp.port", "70000"}});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("email.smtp.port"), std::string::npos);
    auto cfg = s->load_settings();
    ASSERT_TRUE(cfg);
    EXPECT_EQ(cfg->get("email", "smtp.port"), "465");
    EXPECT_FALSE(cfg->is_set("email.smtp.host"));
}

TEST_P(StoreSuite, ReplaceRemovesEverySettingNotGivenSecretsToo) {
    auto s = open();
    ASSERT_TRUE(s->set_values({{"email.smtp.port", "465"}, {"email.password", "pw"}}));
    ASSERT_TRUE(s->set_values({{"email.smtp.host", "smtp.example.com"}}, true));
    auto cfg = s->load_settings();
    EXPECT_FALSE(cfg->is_set("email.smtp.port"));
    EXPECT_EQ(cfg->get("email", "smtp.host"), "smtp.example.com");
    EXPECT_FALSE(s->has_secret("email.password"));
}

TEST_P(StoreSuite, SecretsAreKeptApartFromPlainSettings) {
    auto s = open();
    ASSERT_TRUE(s->set_values({{"email.password", "Tr0ub4dor&3"}}));
    EXPECT_TRUE(s->has_secret("email.password"));
    EXPECT_FALSE(s->load_settings()->is_set("email.password"));
    auto pw = s->get_sealed("setting:email.password");
    ASSERT_TRUE(pw && pw->has_value());
    EXPECT_EQ((*pw)->reveal(), "Tr0ub4dor&3");
    ASSERT_TRUE(s->set_values({{"email.password", std::nullopt}}));
    EXPECT_FALSE(s->has_secret("email.password"));
}

TEST_P(StoreSuite, ChangesAreSeenByAnotherInstance) {
    auto a = open();
    auto b = open();
    ASSERT_TRUE(a->set_values({{"email.smtp.port", "2526"}}));
    EXPECT_EQ(b->load_settings()->get("email", "smtp.port"), "2526");
    ASSERT_TRUE(a->put_sealed("token:email", Secret("rt")));
    EXPECT_EQ((*b->get_sealed("token:email"))->reveal(), "rt");
}

TEST_P(StoreSuite, TamperedSecretIsReportedNotUsed) {
    auto s = open();
    ASSERT_TRUE(s->put_sealed("token:email", Secret("rt")));
    ASSERT_TRUE(s->put_sealed("token:fax", Secret("other")));
    // fax's sealed value on email's row: bound to its name, it fails.
    env_->copy_sealed("token:fax", "token:email");
    auto r = s->get_sealed("token:email");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::invalid_input);
    EXPECT_NE(r.error().detail.find("token:email"), std::string::npos);
    EXPECT_NE(r.error().detail.find("altered"), std::string::npos);
}

TEST_P(StoreSuite, WrongKeyIsRefusedAtOpen) {
    ASSERT_TRUE(open({.key_base64 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}));
    auto s = env_->open_store({.key_base64 = "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="});
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().detail.find("key does not open"), std::string::npos);
    auto s2 = env_->open_store({.key_base64 = "short"});
    ASSERT_FALSE(s2);
    EXPECT_NE(s2.error().detail.find("POSTBRIDGE_KEY"), std::string::npos);
}

TEST_P(StoreSuite, UsersAndTheirProfiles) {
    auto s = open();
    ASSERT_TRUE(s->add_user("alice", "alice@example.com"));
    auto twice = s->add_user("alice", "other@example.com");
    ASSERT_FALSE(twice);
    EXPECT_NE(twice.error().detail.find("already registered"), std::string::npos);
    EXPECT_FALSE(s->add_user("Alice", "a@example.com"));
    EXPECT_FALSE(s->add_user("bob", "not-an-address"));
    auto cfg = s->load_settings();
    EXPECT_EQ(cfg->get("user:alice", "sender"), "alice@example.com");
    ASSERT_EQ(s->users()->size(), 1U);
    EXPECT_EQ(s->users()->front().email, "alice@example.com");
    ASSERT_TRUE(s->put_sealed("token:user:alice", Secret("t")));
    ASSERT_TRUE(s->set_values({{"user:alice.password", "pw"}}));
    ASSERT_TRUE(s->remove_user("alice"));
    EXPECT_FALSE(s->load_settings()->is_set("user:alice.sender"));
    EXPECT_FALSE(s->get_sealed("token:user:alice")->has_value());
    EXPECT_FALSE(s->has_secret("user:alice.password"));
    EXPECT_FALSE(s->remove_user("alice"));
}

TEST_P(StoreSuite, CredentialsStoreHashesOnly) {
    auto s = open();
    ASSERT_TRUE(s->put_credential("relay-user", "scanner1", "pbkdf2-sha256$1000$a$b"));
    auto c = s->credential("relay-user", "scanner1");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->value_or(""), "pbkdf2-sha256$1000$a$b");
    EXPECT_EQ(s->credentials("relay-user")->size(), 1U);
    EXPECT_TRUE(s->credentials("admin")->empty());
    EXPECT_TRUE(*s->remove_credential("relay-user", "scanner1"));
    EXPECT_FALSE(*s->remove_credential("relay-user", "scanner1"));
}

// Of several instances raising the same alert, one mails per period.
TEST_P(StoreSuite, AnAlertIsMailedOncePerPeriodAcrossInstances) {
    auto a = open();
    auto b = open();
    const std::int64_t day = 86'400'000;
    EXPECT_TRUE(*a->raise_alert("signin-lapse:email", "lapsed", 1000, day));
    EXPECT_FALSE(*b->raise_alert("signin-lapse:email", "lapsed", 2000, day));
    EXPECT_FALSE(*b->raise_alert("signin-lapse:email", "lapsed", 1000 + day - 1, day));
    EXPECT_TRUE(*b->raise_alert("signin-lapse:email", "still lapsed", 1000 + day, day));
    ASSERT_TRUE(b->unmark_alert_mail("signin-lapse:email"));
    EXPECT_TRUE(*a->raise_alert("signin-lapse:email", "still lapsed", 1000 + day, day));
    auto all = a->alerts();
    ASSERT_EQ(all->size(), 1U);
    EXPECT_EQ(all->front().text, "still lapsed");
    EXPECT_EQ(all->front().raised_at, 1000);
    auto cleared = b->clear_alert("signin-lapse:email");
    ASSERT_TRUE(cleared && cleared->has_value());
    EXPECT_EQ((*cleared)->condition, "signin-lapse:email");
    EXPECT_TRUE(a->alerts()->empty());
    EXPECT_FALSE(b->clear_alert("signin-lapse:email")->has_value());
}

// A named lock held through one instance keeps out a holder through
// another until it is released; other names are free meanwhile.
TEST_P(StoreSuite, ANamedLockExcludesAcrossInstances) {
    auto a = open();
    auto b = open();
    auto held = a->lock("oauth-email");
    ASSERT_TRUE(held);
    std::atomic<bool> released{false};
    std::latch asking(1);
    std::thread waiter([&] {
        asking.count_down();
        auto second = b->lock("oauth-email");
        EXPECT_TRUE(second);
        // Whenever this thread runs, it may hold the lock only once the
        // first holder let go.
        EXPECT_TRUE(released.load()) << "the lock was taken while held";
    });
    auto other = b->lock("oauth-fax");
    EXPECT_TRUE(other) << "another name is not held";
    asking.wait();
    released = true;
    held->reset();
    waiter.join();
}

INSTANTIATE_TEST_SUITE_P(Storage, StoreSuite, ::testing::ValuesIn(test::backends()),
                         test::backend_name);

}  // namespace
}  // namespace pb::store
