#include "service/device_sign_in.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/encoding.hpp"
#include "oauth/fake_http.hpp"
#include "oauth/provider.hpp"
#include "service/tokens.hpp"
#include "storage/backends.hpp"
#include "store/store.hpp"
#include "support/fakes.hpp"
#include "support/temp_dir.hpp"

namespace pb::service {
namespace {

using End = DeviceSignInOutcome::End;
using State = oauth::DeviceFlow::State;
using oauth::HttpResponse;
using oauth::test::json;
using oauth::test::Seen;
using std::chrono::seconds;

constexpr const char* kProfile = "email";

oauth::Client device_client() {
    oauth::Client c;
    c.provider = oauth::builtin_provider(oauth::Service::exchange_online).value();
    c.client_id = "client-1";
    return c;
}

constexpr const char* kAuthorization =
    R"({"device_code":"DEV-CODE","user_code":"ABCD-EFGH","verification_uri":"https://microsoft.com/devicelogin",
        "expires_in":900,"interval":5})";

Result<HttpResponse> pending_answer() {
    return json(400, R"({"error":"authorization_pending"})");
}

Result<HttpResponse> tokens_for(const std::string& email) {
    const std::string id = base64url_encode(std::string(R"({"alg":"RS256"})")) + "." +
                           base64url_encode(R"({"email":")" + email + R"("})") + ".c2ln";
    return json(
        200,
        R"({"token_type":"Bearer","access_token":"AT","expires_in":3600,"refresh_token":"RT","id_token":")" +
            id + R"("})");
}

// Waits by moving the manual clock to the deadline, so a run polls at once;
// `stop_at` makes that wait (1 = the first) answer "cancelled", as serve's
// stop or the page's next sign-in do.
class ClockWaiter final : public oauth::Waiter {
  public:
    explicit ClockWaiter(pb::test::ManualClock& clock) : clock_(clock) {}
    bool wait_until(TimePoint t) override {
        if (++waits == stop_at) return false;
        if (t > clock_.now()) clock_.set(t);
        return true;
    }
    int waits = 0;
    int stop_at = 0;

  private:
    pb::test::ManualClock& clock_;
};

// Records whose put() fails, like a full disk.
class UnwritableRecords final : public PendingRecords {
  public:
    Result<void> put(const std::string&, const PendingSignIn&) override {
        return fail(Errc::spool_unwritable, "disk full");
    }
    Result<std::optional<PendingSignIn>> get(const std::string&) override {
        return std::optional<PendingSignIn>{};
    }
    void erase(const std::string&, const std::string&) override {}
};

// A token store that cannot save.
class UnsavableTokens final : public oauth::TokenStore {
  public:
    Result<std::optional<oauth::TokenSet>> load(std::string_view) override {
        return std::optional<oauth::TokenSet>{};
    }
    Result<void> save(std::string_view, const oauth::TokenSet&) override {
        return fail(Errc::spool_unwritable, "disk full");
    }
    Result<void> remove(std::string_view) override { return {}; }
};

class DeviceSignInTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = pb::test::fresh_dir("pb-device-sign-in");
        auto s = storage::open_store(dir_, store_rng_, clock, {});
        ASSERT_TRUE(s) << s.error().detail;
        store_ = std::move(*s);
        records_.emplace(*store_);
        tokens_.emplace(*store_);
    }
    void TearDown() override {
        store_.reset();
        std::filesystem::remove_all(dir_);
    }

    DeviceSignInEnv env() { return {http, clock, waiter, *records_, *tokens_, {}}; }

    // The answers of the token endpoint, in turn; each may act first (another
    // sign-in writing its record while this one polls).
    void then(std::function<Result<HttpResponse>()> answer) { polls_.push_back(std::move(answer)); }

    DeviceSignInEvents events() {
        DeviceSignInEvents e;
        e.code_shown = [this](const oauth::DeviceFlow& f) {
            // Shown only once the record says which flow is the profile's.
            auto p = get_pending(*store_, kProfile);
            seen.push_back("code " + f.authorization()->user_code +
                           (p && *p ? " recorded" : " unrecorded"));
        };
        e.answered = [this](const oauth::DeviceFlow& f) {
            seen.push_back(std::string("answered ") + std::string(oauth::to_string(f.state())));
        };
        return e;
    }

    DeviceSignInOutcome start(DeviceSignInMode mode = DeviceSignInMode::wait) {
        return start_device_sign_in(kProfile, client, mode, rng, env(), events());
    }

    std::optional<PendingSignIn> record() {
        auto p = get_pending(*store_, kProfile);
        EXPECT_TRUE(p);
        return p ? *p : std::nullopt;
    }
    // Another sign-in of the profile takes its place.
    void newer_sign_in() {
        PendingSignIn p;
        p.nonce = "newer";
        p.user_code = "WXYZ-0000";
        ASSERT_TRUE(put_pending(*store_, kProfile, p));
    }
    std::optional<oauth::TokenSet> stored_tokens() {
        auto t = tokens_->load(kProfile);
        EXPECT_TRUE(t);
        return t ? *t : std::nullopt;
    }

    pb::test::ManualClock clock;
    pb::test::CountingRandom rng;
    oauth::Client client = device_client();
    oauth::test::FakeHttp http{[this](const Seen& s) -> Result<HttpResponse> {
        if (s.url.ends_with("/devicecode")) return json(200, kAuthorization);
        if (polls_.empty()) return json(500, "{}");
        auto next = std::move(polls_.front());
        polls_.pop_front();
        return next();
    }};
    ClockWaiter waiter{clock};
    std::vector<std::string> seen;  // the events, in order

  private:
    std::filesystem::path dir_;
    SystemRandom store_rng_;
    std::unique_ptr<store::Store> store_;
    std::optional<StorePendingRecords> records_;
    std::optional<SealedTokenStore> tokens_;
    std::deque<std::function<Result<HttpResponse>()>> polls_;

  protected:
    store::Store& store() { return *store_; }
};

TEST_F(DeviceSignInTest, ApprovedCodeSignsInStoresTheTokensAndErasesItsRecord) {
    then(pending_answer);
    then([] { return tokens_for("alice@example.test"); });
    const TimePoint begun = clock.now();

    auto out = start();

    EXPECT_EQ(out.end, End::signed_in);
    EXPECT_EQ(out.account, "alice@example.test");
    EXPECT_EQ(out.state, State::signed_in);
    EXPECT_FALSE(out.error);
    EXPECT_EQ(seen, (std::vector<std::string>{"code ABCD-EFGH recorded", "answered waiting"}));
    EXPECT_EQ(http.count(), 3);
    EXPECT_EQ(clock.now() - begun, seconds{10}) << "two polls, one interval apart";
    auto t = stored_tokens();
    ASSERT_TRUE(t);
    EXPECT_EQ(t->access_token.reveal(), "AT");
    EXPECT_EQ(t->refresh_token.reveal(), "RT");
    EXPECT_EQ(t->account, "alice@example.test");
    EXPECT_FALSE(record());
}

// Scan to My Email: a user's sign-in keeps only the user's own account,
// compared case-insensitively with each name of the ID token.
TEST_F(DeviceSignInTest, AnotherAccountThanTheRegisteredOneIsRefusedAndNothingIsStored) {
    then([] { return tokens_for("mallory@example.test"); });
    auto e = env();
    e.expected_account = "Bob@Example.test";
    auto out = start_device_sign_in(kProfile, client, DeviceSignInMode::wait, rng, e);
    EXPECT_EQ(out.end, End::failed);
    ASSERT_TRUE(out.error);
    EXPECT_EQ(out.error->code, Errc::sign_in_again);
    EXPECT_EQ(out.error->detail,
              "You signed in as mallory@example.test, but this sign-in is for Bob@Example.test. "
              "Sign in again with the account of Bob@Example.test.");
    EXPECT_FALSE(stored_tokens());

    then([] { return tokens_for("bob@example.TEST"); });
    out = start_device_sign_in(kProfile, client, DeviceSignInMode::wait, rng, e);
    EXPECT_EQ(out.end, End::signed_in);
    EXPECT_TRUE(stored_tokens());
}

TEST(SignedInAccount, EachNameOfTheIdTokenCountsAndNoNameIsItsOwnError) {
    oauth::TokenResponse t;
    t.identities = {"someone@contoso.com", "Bob@Contoso.com"};  // email, then the UPN
    EXPECT_TRUE(check_signed_in_account(t, "bob@contoso.com"));
    EXPECT_TRUE(check_signed_in_account(t, ""));  // email and fax: any account
    t.identities.clear();
    auto none = check_signed_in_account(t, "bob@contoso.com");
    ASSERT_FALSE(none);
    EXPECT_NE(none.error().detail.find("add openid and email to oauth.scopes"), std::string::npos);
}

TEST_F(DeviceSignInTest, RecordOfAWaitingFlowHasNoDeviceCode) {
    std::optional<PendingSignIn> during;
    then([&] {
        during = record();
        return pending_answer();
    });
    then([] { return tokens_for("alice@example.test"); });

    auto out = start();

    ASSERT_EQ(out.end, End::signed_in);
    ASSERT_TRUE(during);
    EXPECT_FALSE(during->nonce.empty());
    EXPECT_EQ(during->user_code, "ABCD-EFGH");
    EXPECT_EQ(during->verification_uri, "https://microsoft.com/devicelogin");
    EXPECT_EQ(during->interval, seconds{5});
    EXPECT_FALSE(during->device_code) << "nobody else polls for this flow";
}

TEST_F(DeviceSignInTest, NewerSignInsRecordEndsTheFlowAndStays) {
    then([this] {
        newer_sign_in();
        return pending_answer();
    });
    then([] { return tokens_for("alice@example.test"); });

    auto out = start();

    EXPECT_EQ(out.end, End::replaced);
    EXPECT_EQ(out.state, State::cancelled);
    ASSERT_TRUE(out.error);
    EXPECT_EQ(out.error->code, Errc::not_signed_in);
    EXPECT_EQ(out.error->detail, "a newer sign-in of email replaced this one");
    EXPECT_EQ(http.count(), 2) << "no poll after the record changed";
    EXPECT_EQ(seen, (std::vector<std::string>{"code ABCD-EFGH recorded"}));
    ASSERT_TRUE(record());
    EXPECT_EQ(record()->nonce, "newer");
    EXPECT_FALSE(stored_tokens());
}

TEST_F(DeviceSignInTest, ErasedRecordEndsTheFlow) {
    then([this] {
        erase_pending(store(), kProfile);  // signout
        return pending_answer();
    });

    auto out = start();

    EXPECT_EQ(out.end, End::replaced);
    EXPECT_EQ(http.count(), 2);
    EXPECT_FALSE(stored_tokens());
}

TEST_F(DeviceSignInTest, TokensThatCameAreStoredEvenWhenANewerSignInStarted) {
    then([this] {
        newer_sign_in();
        return tokens_for("alice@example.test");
    });

    auto out = start();

    EXPECT_EQ(out.end, End::signed_in);
    ASSERT_TRUE(record());
    EXPECT_EQ(record()->nonce, "newer") << "only its own record is erased";
}

TEST_F(DeviceSignInTest, HandOverRecordsTheDeviceCodeAndStopsOnceShown) {
    auto out = start(DeviceSignInMode::hand_over);

    EXPECT_EQ(out.end, End::handed_over);
    EXPECT_FALSE(out.error);
    EXPECT_EQ(http.count(), 1) << "the poller polls, not this run";
    EXPECT_EQ(seen, (std::vector<std::string>{"code ABCD-EFGH recorded"}));
    auto p = record();
    ASSERT_TRUE(p);
    ASSERT_TRUE(p->device_code);
    EXPECT_EQ(p->device_code->reveal(), "DEV-CODE");
    EXPECT_EQ(p->user_code, "ABCD-EFGH");
    EXPECT_EQ(p->expires_at, clock.now() + seconds{900});
}

TEST_F(DeviceSignInTest, HandedOverFlowIsResumedFromItsRecordAndSignsIn) {
    ASSERT_EQ(start(DeviceSignInMode::hand_over).end, End::handed_over);
    const auto handed = record();
    ASSERT_TRUE(handed);
    seen.clear();
    then(pending_answer);
    then([] { return tokens_for("alice@example.test"); });

    auto out = resume_device_sign_in(kProfile, client, *handed, env(), events());

    EXPECT_EQ(out.end, End::signed_in);
    EXPECT_EQ(out.account, "alice@example.test");
    const auto requests = http.seen();
    ASSERT_EQ(requests.size(), 3U);
    EXPECT_TRUE(requests[1].url.ends_with("/token"));
    EXPECT_EQ(requests[1].field("device_code"), "DEV-CODE");
    EXPECT_EQ(seen, (std::vector<std::string>{"answered waiting"})) << "the code was shown before";
    EXPECT_FALSE(record());
    ASSERT_TRUE(stored_tokens());
}

TEST_F(DeviceSignInTest, ResumedFlowEndsWhenANewerSignInReplacesItsRecord) {
    ASSERT_EQ(start(DeviceSignInMode::hand_over).end, End::handed_over);
    const auto handed = record();
    ASSERT_TRUE(handed);
    then([this] {
        newer_sign_in();
        return pending_answer();
    });

    auto out = resume_device_sign_in(kProfile, client, *handed, env(), events());

    EXPECT_EQ(out.end, End::replaced);
    EXPECT_EQ(record()->nonce, "newer");
}

TEST_F(DeviceSignInTest, DeniedCodeFailsWithTheFlowsStateAndErasesTheRecord) {
    then([] { return json(400, R"({"error":"access_denied"})"); });

    auto out = start();

    EXPECT_EQ(out.end, End::failed);
    EXPECT_EQ(out.state, State::denied);
    ASSERT_TRUE(out.error);
    EXPECT_EQ(out.error->code, Errc::not_signed_in);
    EXPECT_FALSE(record());
    EXPECT_FALSE(stored_tokens());
}

TEST_F(DeviceSignInTest, StoppedNewFlowErasesItsRecord) {
    waiter.stop_at = 2;  // after one pending answer
    then(pending_answer);

    auto out = start();

    EXPECT_EQ(out.end, End::stopped);
    EXPECT_EQ(out.state, State::cancelled);
    EXPECT_FALSE(record()) << "nobody could poll for its code";
}

TEST_F(DeviceSignInTest, StoppedResumedFlowKeepsItsRecordForTheNextPoller) {
    ASSERT_EQ(start(DeviceSignInMode::hand_over).end, End::handed_over);
    const auto handed = record();
    ASSERT_TRUE(handed);
    waiter.stop_at = waiter.waits + 1;

    auto out = resume_device_sign_in(kProfile, client, *handed, env(), events());

    EXPECT_EQ(out.end, End::stopped);
    ASSERT_TRUE(record());
    EXPECT_EQ(record()->nonce, handed->nonce);
}

TEST_F(DeviceSignInTest, ResumingARecordWithoutDeviceCodeLeavesItAlone) {
    PendingSignIn waiting_elsewhere;
    waiting_elsewhere.nonce = "other";
    ASSERT_TRUE(put_pending(store(), kProfile, waiting_elsewhere));

    auto out = resume_device_sign_in(kProfile, client, waiting_elsewhere, env(), events());

    EXPECT_EQ(out.end, End::failed);
    EXPECT_EQ(http.count(), 0);
    ASSERT_TRUE(record());
    EXPECT_EQ(record()->nonce, "other");
}

TEST_F(DeviceSignInTest, UnwritableRecordFailsBeforeTheCodeIsShown) {
    UnwritableRecords unwritable;
    auto e = env();
    DeviceSignInEnv broken{e.http, e.clock, e.waiter, unwritable, e.tokens, {}};

    for (auto mode : {DeviceSignInMode::wait, DeviceSignInMode::hand_over}) {
        auto out = start_device_sign_in(kProfile, client, mode, rng, broken, events());
        EXPECT_EQ(out.end, End::failed);
        ASSERT_TRUE(out.error);
        EXPECT_EQ(out.error->detail, "disk full");
    }
    EXPECT_TRUE(seen.empty()) << "a code nobody would poll for is not shown";
    EXPECT_EQ(http.count(), 2);
}

TEST_F(DeviceSignInTest, TokensThatCannotBeStoredFailWithTheFlowSignedIn) {
    then([] { return tokens_for("alice@example.test"); });
    UnsavableTokens unsavable;
    auto e = env();
    DeviceSignInEnv broken{e.http, e.clock, e.waiter, e.records, unsavable, {}};

    auto out = start_device_sign_in(kProfile, client, DeviceSignInMode::wait, rng, broken);

    EXPECT_EQ(out.end, End::failed);
    EXPECT_EQ(out.state, State::signed_in);
    ASSERT_TRUE(out.error);
    EXPECT_EQ(out.error->detail, "disk full");
    EXPECT_FALSE(record());
}

}  // namespace
}  // namespace pb::service
