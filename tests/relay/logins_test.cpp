// Device logins: a verified login costs the slow hash once; a changed or
// removed account, or a wrong password, is never let in from the cache.
// Failures are remembered per client and per (client, user) across
// connections, on an injected clock; slow checks are counted and held by a
// verifier the test controls, never timed.
#include "relay/logins.hpp"

#include <gtest/gtest.h>

#include <future>
#include <map>
#include <thread>

#include "support/fakes.hpp"

namespace pb::relay {
namespace {

using namespace std::chrono_literals;

class LoginsTest : public ::testing::Test {
  protected:
    // The "store": user -> record; the "hash": record == "hash:" + password.
    std::map<std::string, std::string> records{{"copier", "hash:s3cret"}};
    int slow = 0;
    std::vector<std::string> hashed_against;
    test::CountingRandom rng;
    test::ManualClock clock;
    Logins logins{[this](const std::string& u) -> Result<std::optional<std::string>> {
                      auto it = records.find(u);
                      if (it == records.end()) return std::optional<std::string>{};
                      return std::optional<std::string>(it->second);
                  },
                  [this](const Secret& p, std::string_view stored) {
                      ++slow;
                      hashed_against.emplace_back(stored);
                      return stored == "hash:" + std::string(p.reveal());
                  },
                  rng,
                  clock,
                  "hash:dummy-never-matches\n",
                  LoginLimits{},
                  2};
    LoginVerdict verdict(const std::string& u, const std::string& p,
                         const std::string& client = "192.0.2.1") {
        auto r = logins.check(client, u, Secret(p));
        EXPECT_TRUE(r.ok());
        return r.ok() ? *r : LoginVerdict{};
    }
    bool check(const std::string& u, const std::string& p,
               const std::string& client = "192.0.2.1") {
        return verdict(u, p, client).kind == LoginVerdict::ok;
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

TEST_F(LoginsTest, RemovedUserIsRefusedAndNeverFromTheCache) {
    EXPECT_TRUE(check("copier", "s3cret"));
    records.erase("copier");
    EXPECT_FALSE(check("copier", "s3cret"));
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
        [](const Secret&, std::string_view) { return true; }, rng, clock, "dummy");
    auto r = broken.check("192.0.2.1", "copier", Secret("x"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::spool_unwritable);
}

// Row "an existing vs an unknown relay user": both pay one slow hash.
TEST_F(LoginsTest, UnknownUserCostsTheSameHashAsAKnownOne) {
    EXPECT_FALSE(check("nobody", "guess"));
    EXPECT_EQ(slow, 1);
    ASSERT_EQ(hashed_against.size(), 1U);
    EXPECT_EQ(hashed_against[0], "hash:dummy-never-matches\n");
    EXPECT_FALSE(check("copier", "guess"));
    EXPECT_EQ(slow, 2);
    // Even a password that "matches" the dummy lets nobody in.
    EXPECT_EQ(verdict("nobody", "dummy-never-matches\n").kind, LoginVerdict::bad);
}

// User names outside [a-z0-9._-] never reach the store (nor the hash).
TEST_F(LoginsTest, ImpossibleNameIsRefusedBeforeTheLookup) {
    int lookups = 0;
    Logins counting(
        [&](const std::string&) -> Result<std::optional<std::string>> {
            ++lookups;
            return std::optional<std::string>{};
        },
        [](const Secret&, std::string_view) { return false; }, rng, clock, "dummy");
    for (const char* name : {"Copier", "copier\nweb: admin", "a b", "", "x'--"}) {
        auto r = counting.check("192.0.2.1", name, Secret("p"));
        ASSERT_TRUE(r.ok());
        EXPECT_EQ(r->kind, LoginVerdict::bad) << name;
    }
    EXPECT_EQ(lookups, 0);
    EXPECT_EQ(counting.slow_checks(), 0U);
}

// Row "15 wrong passwords over 5 connections, then the right one": the
// failures add up whatever connection they came on, the delays grow, and
// the right password is then refused too (421) until the failures are old.
TEST_F(LoginsTest, FailuresAcrossConnectionsLockTheClientOut) {
    Duration last{0};
    for (int i = 0; i < 15; ++i) {
        const LoginVerdict v = verdict("copier", "guess" + std::to_string(i));
        if (i < 10) {
            EXPECT_EQ(v.kind, LoginVerdict::bad) << i;
            EXPECT_GE(v.delay, last) << i;
            EXPECT_LE(v.delay, LoginLimits{}.max_delay);
            last = v.delay;
        } else {
            EXPECT_EQ(v.kind, LoginVerdict::locked) << i;
        }
    }
    EXPECT_GT(last, LoginLimits{}.first_delay);
    EXPECT_EQ(slow, 10);  // a locked-out client costs no hash
    EXPECT_EQ(verdict("copier", "s3cret").kind, LoginVerdict::locked);
    // Another device on the LAN is not affected.
    EXPECT_TRUE(check("copier", "s3cret", "192.0.2.77"));
    clock.advance(LoginLimits{}.forget_after);
    EXPECT_TRUE(check("copier", "s3cret"));
}

// The same guesser spreading its guesses over many user names.
TEST_F(LoginsTest, ManyUsersFromOneClientHitTheClientLimit) {
    const LoginLimits limits;
    for (std::size_t i = 0; i < limits.max_client_failures; ++i)
        EXPECT_EQ(verdict("user" + std::to_string(i), "x").kind, LoginVerdict::bad);
    EXPECT_EQ(verdict("copier", "s3cret").kind, LoginVerdict::locked);
}

// A device whose login is cached gets in at once, locked client or not:
// the guesser cannot lock out a device that logged in before.
TEST_F(LoginsTest, CachedLoginIsNeverDelayedNorLockedOut) {
    EXPECT_TRUE(check("copier", "s3cret"));
    for (int i = 0; i < 40; ++i) (void)verdict("copier", "guess");
    EXPECT_EQ(verdict("copier", "guess").kind, LoginVerdict::locked);
    const LoginVerdict v = verdict("copier", "s3cret");
    EXPECT_EQ(v.kind, LoginVerdict::ok);
    EXPECT_EQ(v.delay, Duration{0});
}

TEST_F(LoginsTest, ARightLoginIsNotDelayedAndClearsTheUsersFailures) {
    EXPECT_FALSE(check("copier", "typo"));
    const LoginVerdict v = verdict("copier", "s3cret");
    EXPECT_EQ(v.kind, LoginVerdict::ok);
    EXPECT_EQ(v.delay, Duration{0});
    // After the success the count starts again: the next typo waits the first delay.
    records["copier"] = "hash:other";
    EXPECT_EQ(verdict("copier", "typo").delay, LoginLimits{}.first_delay * 2);  // client count: 2
}

// A cap on slow checks at once: with the verifier held, a further uncached
// check is told "busy" (454) at once, and a cached login still gets in.
TEST(LoginsCap, SlowChecksBeyondTheCapAreBusyAndCachedLoginsPass) {
    test::CountingRandom rng;
    test::ManualClock clock;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::atomic<int> entered{0};
    std::atomic<bool> hold{false};
    Logins logins(
        [](const std::string& u) -> Result<std::optional<std::string>> {
            return std::optional<std::string>("hash:" + u);
        },
        [&](const Secret& p, std::string_view stored) {
            if (hold) {
                ++entered;
                released.wait();
            }
            return stored == "hash:" + std::string(p.reveal());
        },
        rng, clock, "dummy", LoginLimits{.max_slow_checks = 2});
    ASSERT_EQ(logins.check("10.0.0.9", "copier", Secret("copier"))->kind, LoginVerdict::ok);
    hold = true;
    std::vector<std::thread> slow;
    for (int i = 0; i < 2; ++i)
        slow.emplace_back(
            [&, i] { (void)logins.check("10.0.0." + std::to_string(i), "x", Secret("guess")); });
    while (entered < 2) std::this_thread::yield();
    EXPECT_EQ(logins.check("10.0.0.5", "scanner", Secret("scanner"))->kind, LoginVerdict::busy);
    EXPECT_EQ(logins.check("10.0.0.9", "copier", Secret("copier"))->kind, LoginVerdict::ok);
    release.set_value();
    for (auto& t : slow) t.join();
    hold = false;
    EXPECT_EQ(logins.check("10.0.0.5", "scanner", Secret("scanner"))->kind, LoginVerdict::ok);
    EXPECT_EQ(logins.slow_checks(), 4U);
}

}  // namespace
}  // namespace pb::relay
