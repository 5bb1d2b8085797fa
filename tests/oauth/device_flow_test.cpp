#include "oauth/device_flow.hpp"

#include <gtest/gtest.h>

#include "fake_http.hpp"
#include "support/fakes.hpp"

namespace pb::oauth {
namespace {

using test::json;
using State = DeviceFlow::State;
using Kind = DeviceFlow::Step::Kind;
using std::chrono::seconds;

Client device_client() {
    Client c;
    c.provider = builtin_provider(Service::exchange_online).value();
    c.client_id = "client-1";
    return c;
}

constexpr const char* ms_authorization =
    R"({"device_code":"DEV-CODE","user_code":"ABCD-EFGH","verification_uri":"https://microsoft.com/devicelogin",
        "expires_in":900,"interval":5,"message":"Microsoft's own words, not ours"})";

std::string error_body(const std::string& error) {
    return R"({"error":")" + error + R"("})";
}

// A flow that has shown its code: start -> requesting -> waiting.
struct Flow {
    pb::test::ManualClock clock;
    DeviceFlow flow{device_client()};

    explicit Flow(const char* authorization = ms_authorization) {
        EXPECT_EQ(flow.next(clock.now()).kind, Kind::send);
        flow.on_answer(json(200, authorization), clock.now());
    }
    // Waits (advancing the clock) until the machine sends a poll; returns how long it waited.
    Duration wait_for_poll() {
        const TimePoint start = clock.now();
        for (int i = 0; i < 1000; ++i) {
            auto step = flow.next(clock.now());
            if (step.kind == Kind::send) return clock.now() - start;
            if (step.kind == Kind::done) return Duration{-1};
            clock.set(step.until);
        }
        return Duration{-2};
    }
    void answer(long status, const std::string& body) {
        flow.on_answer(json(status, body), clock.now());
    }
};

TEST(DeviceFlow, FirstStepRequestsACodeWithClientIdAndScope) {
    DeviceFlow flow(device_client());
    auto step = flow.next(TimePoint{});
    ASSERT_EQ(step.kind, Kind::send);
    EXPECT_EQ(step.request.url,
              "https://login.microsoftonline.com/organizations/oauth2/v2.0/devicecode");
    const auto form = parse_form(step.request.body.reveal()).value();
    EXPECT_EQ(param(form, "client_id"), "client-1");
    EXPECT_EQ(param(form, "scope"),
              "https://outlook.office.com/SMTP.Send offline_access openid email");
    EXPECT_EQ(flow.state(), State::requesting);
}

TEST(DeviceFlow, MessageIsTheManualsSentence) {
    Flow f;
    ASSERT_EQ(f.flow.state(), State::waiting);
    EXPECT_EQ(f.flow.message(),
              "To sign in, use a web browser to open the page https://microsoft.com/devicelogin "
              "and enter "
              "the code ABCD-EFGH to authenticate.");
}

TEST(DeviceFlow, GoogleVerificationUrlIsAccepted) {
    Flow f(
        R"({"device_code":"d","user_code":"GQVQ-JKEC","verification_url":"https://www.google.com/device",
              "expires_in":1800,"interval":5})");
    ASSERT_EQ(f.flow.state(), State::waiting);
    EXPECT_EQ(f.flow.authorization()->verification_uri, "https://www.google.com/device");
}

TEST(DeviceFlow, PollsAtTheGivenInterval) {
    Flow f;
    EXPECT_EQ(f.wait_for_poll(), seconds{5});
}

TEST(DeviceFlow, IntervalDefaultsToFiveSeconds) {
    Flow f(
        R"({"device_code":"d","user_code":"U","verification_uri":"http://127.0.0.1:9/device","expires_in":600})");
    EXPECT_EQ(f.flow.interval(), seconds{5});
    EXPECT_EQ(f.wait_for_poll(), seconds{5});
}

TEST(DeviceFlow, ZeroIntervalMeansTheDefault) {
    Flow f(
        R"({"device_code":"d","user_code":"U","verification_uri":"https://x.test/d","expires_in":600,"interval":0})");
    EXPECT_EQ(f.flow.interval(), seconds{5});
}

TEST(DeviceFlow, PollCarriesTheDeviceCodeInTheBody) {
    Flow g;
    g.clock.advance(seconds{5});
    auto step = g.flow.next(g.clock.now());
    ASSERT_EQ(step.kind, Kind::send);
    EXPECT_EQ(step.request.url,
              "https://login.microsoftonline.com/organizations/oauth2/v2.0/token");
    const auto form = parse_form(step.request.body.reveal()).value();
    EXPECT_EQ(param(form, "grant_type"), "urn:ietf:params:oauth:grant-type:device_code");
    EXPECT_EQ(param(form, "device_code"), "DEV-CODE");
    EXPECT_EQ(step.request.url.find("DEV-CODE"), std::string::npos);
}

TEST(DeviceFlow, AuthorizationPendingKeepsWaiting) {
    Flow f;
    f.wait_for_poll();
    f.answer(400, error_body("authorization_pending"));
    EXPECT_EQ(f.flow.state(), State::waiting);
    EXPECT_EQ(f.wait_for_poll(), seconds{5});
}

TEST(DeviceFlow, SlowDownAddsFiveSecondsCumulatively) {
    Flow f;
    f.wait_for_poll();
    f.answer(400, error_body("slow_down"));
    EXPECT_EQ(f.flow.interval(), seconds{10});
    EXPECT_EQ(f.wait_for_poll(), seconds{10});
    f.answer(400, error_body("slow_down"));
    EXPECT_EQ(f.wait_for_poll(), seconds{15});
    // ...and stays there: pending does not undo it.
    f.answer(400, error_body("authorization_pending"));
    EXPECT_EQ(f.wait_for_poll(), seconds{15});
}

TEST(DeviceFlow, StopsAtExpiresIn) {
    Flow f(
        R"({"device_code":"d","user_code":"U","verification_uri":"https://x.test/d","expires_in":12,"interval":5})");
    f.wait_for_poll();  // t=5
    f.answer(400, error_body("authorization_pending"));
    f.wait_for_poll();  // t=10
    f.answer(400, error_body("authorization_pending"));
    auto step = f.flow.next(f.clock.now());
    ASSERT_EQ(step.kind, Kind::wait);
    EXPECT_EQ(step.until, TimePoint{std::chrono::seconds{1'800'000'012}});  // expiry, not t=15
    f.clock.set(step.until);
    EXPECT_EQ(f.flow.next(f.clock.now()).kind, Kind::done);
    EXPECT_EQ(f.flow.state(), State::code_expired);
    EXPECT_EQ(f.flow.error()->code, Errc::not_signed_in);
}

TEST(DeviceFlow, ExpiredTokenEndsTheFlow) {
    Flow f;
    f.wait_for_poll();
    f.answer(400, error_body("expired_token"));
    EXPECT_EQ(f.flow.state(), State::code_expired);
    EXPECT_TRUE(f.flow.done());
}

TEST(DeviceFlow, AccessDenied) {
    Flow f;
    f.wait_for_poll();
    f.answer(400, error_body("access_denied"));
    EXPECT_EQ(f.flow.state(), State::denied);
    EXPECT_EQ(f.flow.message(), "The sign-in was declined.");
}

TEST(DeviceFlow, AuthorizationDeclinedIsMicrosoftsDenial) {
    Flow f;
    f.wait_for_poll();
    f.answer(400, R"({"error":"authorization_declined","error_codes":[70000]})");
    EXPECT_EQ(f.flow.state(), State::denied);
}

TEST(DeviceFlow, BadVerificationCode) {
    Flow f;
    f.wait_for_poll();
    f.answer(400, R"({"error":"bad_verification_code","error_codes":[70018]})");
    EXPECT_EQ(f.flow.state(), State::bad_code);
}

TEST(DeviceFlow, PublicClientFlowsDisabledIsAConfigurationError) {
    Flow f;
    f.wait_for_poll();
    f.answer(
        401,
        R"({"error":"invalid_client","error_description":"AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.","error_codes":[7000218]})");
    EXPECT_EQ(f.flow.state(), State::failed);
    EXPECT_EQ(f.flow.error()->code, Errc::identity_provider_config);
    EXPECT_NE(
        f.flow.error()->detail.find("enable Allow public client flows in the app registration"),
        std::string::npos);
}

TEST(DeviceFlow, NetworkErrorWhilePollingRetriesUntilExpiry) {
    Flow f;
    f.wait_for_poll();
    f.flow.on_answer(fail(Errc::cannot_connect, "connection refused"), f.clock.now());
    EXPECT_EQ(f.flow.state(), State::retrying);
    EXPECT_NE(f.flow.message().find("cannot be reached"), std::string::npos);
    EXPECT_EQ(f.wait_for_poll(), seconds{5});
    f.answer(400, error_body("authorization_pending"));
    EXPECT_EQ(f.flow.state(), State::waiting);
    EXPECT_FALSE(f.flow.error());
}

TEST(DeviceFlow, ServerErrorWhilePollingRetries) {
    Flow f;
    f.wait_for_poll();
    f.answer(503, "<html>Service Unavailable</html>");
    EXPECT_EQ(f.flow.state(), State::retrying);
    EXPECT_EQ(f.flow.error()->code, Errc::identity_provider_unavailable);
}

TEST(DeviceFlow, NetworkErrorOnTheFirstRequestFails) {
    DeviceFlow flow(device_client());
    (void)flow.next(TimePoint{});
    flow.on_answer(fail(Errc::name_resolution, "could not resolve login.microsoftonline.com"),
                   TimePoint{});
    EXPECT_EQ(flow.state(), State::failed);
    EXPECT_EQ(flow.error()->code, Errc::name_resolution);
}

TEST(DeviceFlow, InvalidJsonAuthorization) {
    DeviceFlow flow(device_client());
    (void)flow.next(TimePoint{});
    flow.on_answer(json(200, "<html>captive portal</html>"), TimePoint{});
    EXPECT_EQ(flow.state(), State::failed);
    EXPECT_EQ(flow.error()->code, Errc::identity_provider_unavailable);
}

TEST(DeviceFlow, MissingUserCode) {
    DeviceFlow flow(device_client());
    (void)flow.next(TimePoint{});
    flow.on_answer(
        json(200, R"({"device_code":"d","verification_uri":"https://x.test","expires_in":60})"),
        TimePoint{});
    EXPECT_EQ(flow.state(), State::failed);
}

TEST(DeviceFlow, MissingExpiresIn) {
    DeviceFlow flow(device_client());
    (void)flow.next(TimePoint{});
    flow.on_answer(
        json(200, R"({"device_code":"d","user_code":"U","verification_uri":"https://x.test"})"),
        TimePoint{});
    EXPECT_EQ(flow.state(), State::failed);
}

TEST(DeviceFlow, GmailScopeRefusedAtTheStart) {
    DeviceFlow flow(device_client());
    (void)flow.next(TimePoint{});
    flow.on_answer(
        json(
            400,
            R"({"error":"invalid_scope","error_description":"Invalid device flow scope: https://mail.google.com/"})"),
        TimePoint{});
    EXPECT_EQ(flow.state(), State::failed);
    EXPECT_EQ(flow.error()->code, Errc::identity_provider_config);
}

TEST(DeviceFlow, InvalidJsonTokenAnswer) {
    Flow f;
    f.wait_for_poll();
    f.answer(200, "not json");
    EXPECT_EQ(f.flow.state(), State::failed);
}

TEST(DeviceFlow, ConsentMissingSaysAnAdministratorMustConsent) {
    Flow f;
    f.wait_for_poll();
    f.answer(400, R"({"error":"invalid_grant","error_codes":[65001]})");
    EXPECT_EQ(f.flow.state(), State::failed);
    EXPECT_NE(f.flow.message().find(
                  "an administrator must first sign in and consent on behalf of the organization"),
              std::string::npos);
}

TEST(DeviceFlow, SignedIn) {
    Flow f;
    f.wait_for_poll();
    f.answer(
        200,
        R"({"token_type":"Bearer","access_token":"AT","refresh_token":"RT","expires_in":3600})");
    EXPECT_EQ(f.flow.state(), State::signed_in);
    EXPECT_EQ(f.flow.tokens()->access_token.reveal(), "AT");
    EXPECT_EQ(f.flow.next(f.clock.now()).kind, Kind::done);
}

TEST(DeviceFlow, CancelWhileWaiting) {
    Flow f;
    f.flow.cancel();
    EXPECT_EQ(f.flow.state(), State::cancelled);
    EXPECT_EQ(f.flow.next(f.clock.now()).kind, Kind::done);
}

TEST(DeviceFlow, AnswerAfterCancelIsIgnored) {
    Flow f;
    f.wait_for_poll();
    f.flow.cancel();
    f.answer(200, R"({"access_token":"AT","expires_in":3600})");
    EXPECT_EQ(f.flow.state(), State::cancelled);
    EXPECT_FALSE(f.flow.tokens());
}

TEST(DeviceFlow, ProviderWithoutDeviceEndpointFails) {
    Client c = device_client();
    c.provider = builtin_provider(Service::gmail).value();
    DeviceFlow flow(c);
    EXPECT_EQ(flow.next(TimePoint{}).kind, Kind::done);
    EXPECT_EQ(flow.state(), State::failed);
    EXPECT_EQ(flow.error()->code, Errc::identity_provider_config);
}

TEST(DeviceFlow, ConfidentialClientUsesBasicAuthNotTheBody) {
    Client c = device_client();
    c.client_secret = Secret("s3cret");
    DeviceFlow flow(c);
    auto step = flow.next(TimePoint{});
    EXPECT_EQ(step.request.authorization.reveal(),
              "Basic Y2xpZW50LTE6czNjcmV0");  // client-1:s3cret
    EXPECT_EQ(step.request.body.reveal().find("s3cret"), std::string_view::npos);
}

}  // namespace
}  // namespace pb::oauth
