// The login cache: a verified login costs the slow hash once; a changed or
// removed account, or a wrong password, is never let in from the cache.
#include "relay/logins.hpp"

#include <gtest/gtest.h>

#include <map>

#include "support/fakes.hpp"

namespace pb::relay {
namespace {

class LoginsTest : public ::testing::Test {
  protected:
    // The "store": user -> record; the "hash": record == "hash:" + password.
    std::map<std::string, std::string> records{{"copier", "hash:s3cret"}};
    int slow = 0;
    test::CountingRandom rng;
    Logins logins{[this](const std::string& u) -> Result<std::optional<std::string>> {
                      auto it = records.find(u);
                      if (it == records.end()) return std::optional<std::string>{};
                      return std::optional<std::string>(it->second);
                  },
                  [this](const Secret& p, std::string_view stored) {
                      ++slow;
                      return stored == "hash:" + std::string(p.reveal());
                  },
                  rng, 2};
    bool check(const std::string& u, const std::string& p) {
        auto r = logins.check(u, Secret(p));
        EXPECT_TRUE(r.ok());
        return r.ok() && *r;
    }
};

TEST_F(LoginsTest, SecondLoginSkipsTheSlowHash) {
    EXPECT_TRUE(check("copier", "s3cret"));
    EXPECT_TRUE(check("copier", "s3cret"));
    EXPECT_TRUE(check("copier", "s3cret"));
    EXPECT_EQ(slow, 1);
    EXPECT_EQ(logins.slow_checks(), 1U);
}

TEST_F(LoginsTest, WrongPasswordIsNeverCached) {
    EXPECT_TRUE(check("copier", "s3cret"));
    EXPECT_FALSE(check("copier", "guess"));
    EXPECT_FALSE(check("copier", "guess"));
    EXPECT_EQ(slow, 3);
    EXPECT_EQ(logins.cached(), 1U);
}

TEST_F(LoginsTest, PasswordChangeInvalidatesTheCachedLogin) {
    EXPECT_TRUE(check("copier", "s3cret"));
    records["copier"] = "hash:new";  // relay-users add copier, again
    EXPECT_FALSE(check("copier", "s3cret"));
    EXPECT_TRUE(check("copier", "new"));
    EXPECT_EQ(slow, 3);  // each check against the new record paid the hash once
    EXPECT_TRUE(check("copier", "new"));
    EXPECT_EQ(slow, 3);
}

TEST_F(LoginsTest, RemovedUserIsRefusedWithoutHashing) {
    EXPECT_TRUE(check("copier", "s3cret"));
    records.erase("copier");
    EXPECT_FALSE(check("copier", "s3cret"));
    EXPECT_EQ(slow, 1);
}

TEST_F(LoginsTest, SameRecordOtherUserIsNotTheSameEntry) {
    records["scanner"] = "hash:s3cret";
    EXPECT_TRUE(check("copier", "s3cret"));
    EXPECT_TRUE(check("scanner", "s3cret"));
    EXPECT_EQ(slow, 2);
}

TEST_F(LoginsTest, BoundedLeastRecentlyUsedGoesFirst) {
    records["a"] = "hash:1";
    records["b"] = "hash:2";
    EXPECT_TRUE(check("copier", "s3cret"));
    EXPECT_TRUE(check("a", "1"));
    EXPECT_TRUE(check("copier", "s3cret"));  // copier used last
    EXPECT_TRUE(check("b", "2"));            // evicts a
    EXPECT_EQ(logins.cached(), 2U);
    const int before = slow;
    EXPECT_TRUE(check("copier", "s3cret"));
    EXPECT_EQ(slow, before);
    EXPECT_TRUE(check("a", "1"));
    EXPECT_EQ(slow, before + 1);
}

TEST_F(LoginsTest, StoreErrorIsAnError) {
    Logins broken(
        [](const std::string&) -> Result<std::optional<std::string>> {
            return fail(Errc::spool_unwritable, "database is locked");
        },
        [](const Secret&, std::string_view) { return true; }, rng);
    auto r = broken.check("copier", Secret("x"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::spool_unwritable);
}

}  // namespace
}  // namespace pb::relay
