// The Session against scripted servers: every path of the client, each turn of
// server bytes also split at every position (scripted.hpp).
#include "smtp/session.hpp"

#include <gtest/gtest.h>

#include "core/encoding.hpp"
#include "scripted.hpp"
#include "support/state_log.hpp"

namespace pb::smtp {
namespace {

using test::b64;
using test::Script;
using test::Turn;

const std::string token = "ya29.a0-test-token";
const std::string user = "scanner@example.com";
const std::string greeting = "220 smtp.example.com ESMTP ready\r\n";
const std::string ehlo_plain =
    "250-smtp.example.com Hello\r\n250-SIZE 1000000\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 "
    "STARTTLS\r\n";
const std::string ehlo_tls =
    "250-smtp.example.com Hello\r\n250-SIZE "
    "1000000\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 AUTH LOGIN "
    "XOAUTH2\r\n";
const std::string xoauth2_line = "AUTH XOAUTH2 " +
                                 b64("user=" + user +
                                     "\x01"
                                     "auth=Bearer " +
                                     token + "\x01\x01") +
                                 "\r\n";

Script oauth_script() {
    Script s;
    s.config.security = Security::starttls;
    s.config.auth = AuthMethod::oauth2;
    s.config.helo_name = "printer.local";
    s.config.user = user;
    s.config.host = "smtp.example.com";
    s.config.port = 587;
    s.tokens = {token};
    return s;
}

// greeting -> EHLO -> STARTTLS -> EHLO -> AUTH XOAUTH2 -> 235
std::vector<Turn> login_turns() {
    return {
        {greeting, "EHLO printer.local\r\n"},
        {ehlo_plain, "STARTTLS\r\n"},
        {"220 2.0.0 Ready to start TLS\r\n", "EHLO printer.local\r\n"},
        {ehlo_tls, xoauth2_line},
    };
}

test::ScriptMessage message(std::string body = "Subject: scan\r\n\r\n.leading dot\r\nend\r\n") {
    test::ScriptMessage m;
    m.envelope.from = user;
    m.envelope.to = {"a@example.com", "b@example.com"};
    m.envelope.size = body.size();
    m.body = std::move(body);
    return m;
}

// The whole of one pipelined send after login_turns(), ending with QUIT.
std::vector<Turn> pipelined_send_turns() {
    std::vector<Turn> t = login_turns();
    t.push_back({"235 2.7.0 Authentication successful\r\n",
                 "MAIL FROM:<scanner@example.com> SIZE=36\r\nRCPT TO:<a@example.com>\r\nRCPT "
                 "TO:<b@example.com>\r\n"});
    t.push_back({"250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n250 2.1.5 Recipient OK\r\n",
                 "DATA\r\n"});
    t.push_back({"354 Start mail input\r\n", "Subject: scan\r\n\r\n..leading dot\r\nend\r\n.\r\n"});
    t.push_back({"250 2.0.0 OK queued as 12345\r\n", "QUIT\r\n"});
    t.push_back({"221 2.0.0 Bye\r\n", ""});
    return t;
}

TEST(Session, StartTlsXoauth2PipelinedSend) {
    Script s = oauth_script();
    s.messages = {message()};
    s.turns = pipelined_send_turns();
    auto r = test::run_all_splits(s);
    EXPECT_FALSE(r.failure);
    EXPECT_TRUE(r.closed);
    EXPECT_EQ(r.tls_starts, 1);
    ASSERT_EQ(r.messages.size(), 1u);
    EXPECT_TRUE(r.messages[0].ok());
    EXPECT_EQ(r.messages[0].reply.lines.at(0), "OK queued as 12345");
    ASSERT_EQ(r.messages[0].recipients.size(), 2u);
    EXPECT_TRUE(r.messages[0].recipients[1].accepted());
    EXPECT_EQ(r.token_requests, std::vector<bool>{false});
}

TEST(Session, TranscriptNeverHoldsTheToken) {
    Script s = oauth_script();
    s.turns = login_turns();
    s.turns.push_back({"535 5.7.139 SmtpClientAuthentication is disabled for the Tenant\r\n", ""});
    auto r = test::run_all_splits(s);
    EXPECT_EQ(r.transcript.find(token), std::string::npos);
    EXPECT_EQ(r.transcript.find(b64("user=" + user +
                                    "\x01"
                                    "auth=Bearer " +
                                    token + "\x01\x01")),
              std::string::npos);
    EXPECT_NE(r.transcript.find("C: AUTH XOAUTH2 <redacted>"), std::string::npos);
    EXPECT_NE(r.transcript.find("S: 535 5.7.139 SmtpClientAuthentication"), std::string::npos);
}

TEST(Session, SmtpAuthDisabledIs621WithoutRetry) {
    Script s = oauth_script();
    s.turns = login_turns();
    s.turns.push_back(
        {"535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled\r\n", ""});
    auto r = test::run_all_splits(s);
    ASSERT_TRUE(r.failure);
    EXPECT_EQ(r.failure->error.code, Errc::smtp_auth_disabled);
    EXPECT_EQ(r.failure->phase, "while authenticating");
    EXPECT_EQ(r.token_requests.size(), 1u);
}

TEST(Session, StartTlsNotOfferedIs614) {
    Script s = oauth_script();
    s.turns = {{greeting, "EHLO printer.local\r\n"},
               {"250-smtp.example.com\r\n250-PIPELINING\r\n250 AUTH PLAIN XOAUTH2\r\n", ""}};
    auto r = test::run_all_splits(s);
    ASSERT_TRUE(r.failure);
    EXPECT_EQ(r.failure->error.code, Errc::starttls_not_offered);
    EXPECT_EQ(r.tls_starts, 0);
    EXPECT_TRUE(r.token_requests.empty());  // no AUTH in plaintext
}

TEST(Session, StartTlsRefusedIs614) {
    Script s = oauth_script();
    s.turns = {{greeting, "EHLO printer.local\r\n"},
               {ehlo_plain, "STARTTLS\r\n"},
               {"502 5.5.1 Not implemented\r\n", ""}};
    auto r = test::run_all_splits(s);
    ASSERT_TRUE(r.failure);
    EXPECT_EQ(r.failure->error.code, Errc::starttls_not_offered);
}

// Bytes after the 220 to STARTTLS were never protected by TLS.
TEST(Session, BytesAfterStartTls220AreRefused) {
    Script s = oauth_script();
    s.turns = {{greeting, "EHLO printer.local\r\n"},
               {ehlo_plain, "STARTTLS\r\n"},
               {"220 2.0.0 Ready\r\n250-injected\r\n250 AUTH PLAIN\r\n", ""}};
    auto r = test::run(s, s.turns.size(), {});
    ASSERT_TRUE(r.failure);
    EXPECT_EQ(r.failure->error.code, Errc::tls_handshake);
    // The same whichever way the bytes arrive together with the 220. (Split
    // right after the 220, they would come after the handshake, inside TLS.)
    const std::size_t after_220 = std::string_view("220 2.0.0 Ready\r\n").size();
    for (std::size_t k = after_220 + 1; k < s.turns[2].server.size(); ++k) {
        std::string_view all = s.turns[2].server;
        auto rr = test::run(s, 2, {all.substr(0, k), all.substr(k)});
        ASSERT_TRUE(rr.failure) << k;
        EXPECT_EQ(rr.failure->error.code, Errc::tls_handshake) << k;
    }
}

TEST(Session, CapabilitiesForgottenAfterTls) {
    // Before TLS the server claims SIZE 10 and PLAIN; after TLS neither: a
    // 40-byte message must not be refused and XOAUTH2 must be chosen.
    Script s = oauth_script();
    s.messages = {message()};
    s.turns = {{greeting, "EHLO printer.local\r\n"},
               {"250-h\r\n250-SIZE 10\r\n250-AUTH PLAIN\r\n250 STARTTLS\r\n", "STARTTLS\r\n"},
               {"220 go\r\n", "EHLO printer.local\r\n"},
               {"250-h\r\n250 AUTH XOAUTH2\r\n", xoauth2_line},
               {"235 ok\r\n", "MAIL FROM:<scanner@example.com>\r\n"},
               {"250 ok\r\n", "RCPT TO:<a@example.com>\r\n"},
               {"250 ok\r\n", "RCPT TO:<b@example.com>\r\n"},
               {"250 ok\r\n", "DATA\r\n"}};
    auto r = test::run_all_splits(s);
    EXPECT_FALSE(r.failure);
    EXPECT_TRUE(r.messages.empty());
}

TEST(Session, ImplicitTlsWaitsForGreetingAfterHandshake) {
    Script s = oauth_script();
    s.config.security = Security::ssl_tls;
    s.turns = {{greeting, "EHLO printer.local\r\n"},
               {ehlo_tls, xoauth2_line},
               {"235 ok\r\n", "QUIT\r\n"},
               {"221 bye\r\n", ""}};
    auto r = test::run_all_splits(s);
    EXPECT_EQ(r.tls_starts, 1);
    EXPECT_TRUE(r.closed);
}

TEST(Session, HeloWhenNeitherTlsNorAuth) {
    Script s;
    s.config.security = Security::none;
    s.config.auth = AuthMethod::off;
    s.turns = {{greeting, "EHLO localhost\r\n"},
               {"502 5.5.2 EHLO not supported\r\n", "HELO localhost\r\n"},
               {"250 hello\r\n", "QUIT\r\n"},
               {"221 bye\r\n", ""}};
    auto r = test::run_all_splits(s);
    EXPECT_FALSE(r.failure);
    EXPECT_TRUE(r.closed);
}

TEST(Session, NoHeloFallbackWhenAuthRequired) {
    Script s = oauth_script();
    s.config.security = Security::none;
    s.turns = {{greeting, "EHLO printer.local\r\n"}, {"502 5.5.2 EHLO not supported\r\n", ""}};
    auto r = test::run_all_splits(s);
    ASSERT_TRUE(r.failure);
    EXPECT_EQ(r.failure->error.code, Errc::mail_service_unavailable);
    EXPECT_EQ(r.failure->phase, "while sending EHLO");
}

// A 2 KB token (real Entra tokens are 1.5-2.5 KB) goes after the 334.
TEST(Session, LongTokenSentAfter334) {
    Script s = oauth_script();
    const std::string long_token(2000, 'T');
    s.tokens = {long_token};
    s.turns = login_turns();
    s.turns.back().client = "AUTH XOAUTH2\r\n";
    s.turns.push_back({"334 \r\n", b64("user=" + user +
                                       "\x01"
                                       "auth=Bearer " +
                                       long_token + "\x01\x01") +
                                       "\r\n"});
    s.turns.push_back({"235 2.7.0 ok\r\n", "QUIT\r\n"});
    auto r = test::run_all_splits(s);
    EXPECT_FALSE(r.failure);
}

// Gmail style: 334 + base64 JSON; answer an empty line, read the 535, then
// one forced refresh and a second try that succeeds.
TEST(Session, Xoauth2ErrorChallengeThenForcedRefresh) {
    Script s = oauth_script();
    const std::string fresh = "fresh-token";
    s.tokens = {token, fresh};
    s.turns = login_turns();
    s.turns.push_back(
        {"334 " + b64(R"({"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"})") +
             "\r\n",
         "\r\n"});
    s.turns.push_back(
        {"535 5.7.8 Username and Password not accepted\r\n", "AUTH XOAUTH2 " +
                                                                 b64("user=" + user +
                                                                     "\x01"
                                                                     "auth=Bearer " +
                                                                     fresh + "\x01\x01") +
                                                                 "\r\n"});
    s.turns.push_back({"235 2.7.0 Accepted\r\n", "QUIT\r\n"});
    auto r = test::run_all_splits(s);
    EXPECT_FALSE(r.failure);
    EXPECT_EQ(r.token_requests, (std::vector<bool>{false, true}));
    EXPECT_NE(r.transcript.find(R"(error challenge: {"status":"401")"), std::string::npos);
}

TEST(Session, StillRejectedAfterFreshTokenIs622) {
    Script s = oauth_script();
    s.tokens = {token, "fresh"};
    s.turns = login_turns();
    s.turns.push_back(
        {"535 5.7.3 Authentication unsuccessful\r\n", "AUTH XOAUTH2 " +
                                                          b64("user=" + user +
                                                              "\x01"
                                                              "auth=Bearer fresh\x01\x01") +
                                                          "\r\n"});
    s.turns.push_back({"535 5.7.3 Authentication unsuccessful\r\n", ""});
    auto r = test::run_all_splits(s);
    ASSERT_TRUE(r.failure);
    EXPECT_EQ(r.failure->error.code, Errc::auth_rejected);
    EXPECT_NE(r.failure->error.detail.find("after a fresh token"), std::string::npos);
    EXPECT_EQ(r.token_requests, (std::vector<bool>{false, true}));
}

TEST(Session, OauthbearerErrorChallengeAnsweredWithAQ) {
    Script s = oauth_script();
    s.tokens = {token};
    s.turns = login_turns();
    s.turns[3] = {"250-h\r\n250 AUTH OAUTHBEARER\r\n",
                  "AUTH OAUTHBEARER " +
                      b64("n,a=" + user +
                          ",\x01host=smtp.example.com\x01port=587\x01"
                          "auth=Bearer " +
                          token + "\x01\x01") +
                      "\r\n"};
    s.turns.push_back({"334 " + b64(R"({"status":"invalid_token"})") + "\r\n", "AQ==\r\n"});
    s.turns.push_back({"535 5.7.8 Authentication failed\r\n", ""});
    auto r = test::run_all_splits(s);
    ASSERT_TRUE(r.failure);  // no second token in the script: the provider says 370
    EXPECT_EQ(r.failure->error.code, Errc::sign_in_again);
    EXPECT_EQ(r.token_requests, (std::vector<bool>{false, true}));
}

TEST(Session, TokenProviderErrorKeepsItsCode) {
    Script s = oauth_script();
    s.tokens = {};
    s.turns = login_turns();
    s.turns.back().client = "";
    auto r = test::run_all_splits(s);
    ASSERT_TRUE(r.failure);
    EXPECT_EQ(r.failure->error.code, Errc::sign_in_again);
    EXPECT_EQ(r.failure->phase, "while getting an access token");
}

TEST(Session, NoCommonMechanismIs623) {
    Script s = oauth_script();
    s.turns = login_turns();
    s.turns[3] = {"250-h\r\n250 AUTH PLAIN LOGIN\r\n", ""};
    auto r = test::run_all_splits(s);
    ASSERT_TRUE(r.failure);
    EXPECT_EQ(r.failure->error.code, Errc::no_common_mechanism);
}

TEST(Session, NoAuthOfAnyKindGoesOutWithoutTlsUnlessAllowed) {
    // Hostile-LAN table, `smtp.security none` row: the bearer token went out
    // in clear with only a warning. Now no AUTH of any mechanism is written
    // on a connection without TLS; the job fails with 615.
    const std::string offers =
        "250-smtp.example.com Hello\r\n250 AUTH PLAIN LOGIN XOAUTH2 OAUTHBEARER\r\n";
    const std::pair<AuthMethod, std::string> tries[] = {{AuthMethod::oauth2, ""},
                                                        {AuthMethod::oauth2, "OAUTHBEARER"},
                                                        {AuthMethod::smtp_auth, ""},
                                                        {AuthMethod::smtp_auth, "LOGIN"}};
    for (const auto& [method, mechanism] : tries) {
        Script s = oauth_script();
        s.config.security = Security::none;
        s.config.auth = method;
        s.config.mechanism = mechanism;
        s.config.password = Secret("device-pass");
        s.turns = {{greeting, "EHLO printer.local\r\n"}, {offers, ""}};
        auto r = test::run_all_splits(s);
        ASSERT_TRUE(r.failure) << mechanism;
        EXPECT_EQ(r.failure->error.code, Errc::auth_without_tls) << mechanism;
        EXPECT_EQ(r.transcript.find("C: AUTH"), std::string::npos) << r.transcript;
    }
    // Allowed by the administrator: it goes, in clear.
    Script s = oauth_script();
    s.config.security = Security::none;
    s.config.allow_plaintext_auth = true;
    s.turns = {{greeting, "EHLO printer.local\r\n"},
               {offers, xoauth2_line},
               {"235 2.7.0 ok\r\n", "QUIT\r\n"}};
    auto r = test::run_all_splits(s);
    EXPECT_FALSE(r.failure);
}

TEST(Session, PlainAuthWithPassword) {
    Script s = oauth_script();
    s.config.auth = AuthMethod::smtp_auth;
    s.config.user = "device";
    s.config.password = Secret("device-pass");
    s.turns = login_turns();
    s.turns[3] = {"250-h\r\n250 AUTH LOGIN PLAIN\r\n",
                  "AUTH PLAIN " + b64(std::string("\0device\0device-pass", 19)) + "\r\n"};
    s.turns.push_back({"235 ok\r\n", "QUIT\r\n"});
    auto r = test::run_all_splits(s);
    EXPECT_FALSE(r.failure);
    EXPECT_EQ(r.transcript.find(b64(std::string("\0device\0device-pass", 19))), std::string::npos);
}

TEST(Session, LoginAuthAnswersBothPrompts) {
    Script s = oauth_script();
    s.config.auth = AuthMethod::smtp_auth;
    s.config.user = "device";
    s.config.password = Secret("device-pass");
    s.turns = login_turns();
    s.turns[3] = {"250-h\r\n250 AUTH LOGIN\r\n", "AUTH LOGIN\r\n"};
    s.turns.push_back({"334 VXNlcm5hbWU6\r\n", b64("device") + "\r\n"});
    s.turns.push_back({"334 UGFzc3dvcmQ6\r\n", b64("device-pass") + "\r\n"});
    s.turns.push_back({"235 ok\r\n", "QUIT\r\n"});
    auto r = test::run_all_splits(s);
    EXPECT_FALSE(r.failure);
    EXPECT_EQ(r.transcript.find(b64("device-pass")), std::string::npos);
}

TEST(Session, PasswordRejectedIs622WithoutTokenRequest) {
    Script s = oauth_script();
    s.config.auth = AuthMethod::smtp_auth;
    s.config.password = Secret("wrong");
    s.turns = login_turns();
    s.turns[3] = {
        "250-h\r\n250 AUTH PLAIN\r\n",
        "AUTH PLAIN " + b64(std::string("\0", 1) + user + std::string("\0wrong", 6)) + "\r\n"};
    s.turns.push_back({"535 5.7.8 Bad credentials\r\n", ""});
    auto r = test::run_all_splits(s);
    ASSERT_TRUE(r.failure);
    EXPECT_EQ(r.failure->error.code, Errc::auth_rejected);
    EXPECT_TRUE(r.token_requests.empty());
}

Script authenticated_script() {
    Script s = oauth_script();
    s.turns = login_turns();
    return s;
}

TEST(Session, MessageOverServerSizeRefusedEarlyWith633) {
    Script s = authenticated_script();
    auto m = message();
    m.envelope.size = 2000000;
    s.messages = {m};
    s.turns.push_back({"235 ok\r\n", "QUIT\r\n"});
    auto r = test::run_all_splits(s);
    ASSERT_EQ(r.messages.size(), 1u);
    EXPECT_EQ(r.messages[0].error->code, Errc::message_too_large);
    EXPECT_FALSE(r.failure);
}

TEST(Session, Smtputf8NeededButNotOfferedIs635) {
    Script s = authenticated_script();
    auto m = message();
    m.envelope.to = {"jörg@example.com"};
    s.messages = {m};
    s.turns.push_back({"235 ok\r\n", "QUIT\r\n"});
    auto r = test::run_all_splits(s);
    ASSERT_EQ(r.messages.size(), 1u);
    EXPECT_EQ(r.messages[0].error->code, Errc::smtputf8_not_offered);
}

TEST(Session, Smtputf8And8bitmimeWhenOfferedAndNeeded) {
    Script s = authenticated_script();
    s.turns[3].server = "250-h\r\n250-SMTPUTF8\r\n250-8BITMIME\r\n250 AUTH XOAUTH2\r\n";
    auto m = message();
    m.envelope.to = {"jörg@example.com"};
    m.envelope.size.reset();
    m.envelope.eight_bit = true;
    s.messages = {m};
    s.turns.push_back({"235 ok\r\n", "MAIL FROM:<scanner@example.com> BODY=8BITMIME SMTPUTF8\r\n"});
    s.turns.push_back({"250 ok\r\n", "RCPT TO:<jörg@example.com>\r\n"});
    auto r = test::run_all_splits(s);
    EXPECT_FALSE(r.failure);
}

// sendmail -N / -R: RET= on MAIL and NOTIFY= on each RCPT when the server
// offers DSN (RFC 3461 section 4); nothing where it does not.
TEST(Session, DsnParametersOnlyWhereOffered) {
    Script s = authenticated_script();
    s.turns[3].server = "250-h\r\n250-DSN\r\n250 AUTH XOAUTH2\r\n";
    auto m = message();
    m.envelope.to = {"a@example.com"};
    m.envelope.size.reset();
    m.envelope.dsn_notify = "SUCCESS,FAILURE";
    m.envelope.dsn_ret = "HDRS";
    s.messages = {m};
    s.turns.push_back({"235 ok\r\n", "MAIL FROM:<scanner@example.com> RET=HDRS\r\n"});
    s.turns.push_back({"250 ok\r\n", "RCPT TO:<a@example.com> NOTIFY=SUCCESS,FAILURE\r\n"});
    auto r = test::run_all_splits(s);
    EXPECT_FALSE(r.failure);

    Script plain = authenticated_script();
    plain.messages = {m};
    plain.turns.push_back(
        {"235 ok\r\n", "MAIL FROM:<scanner@example.com>\r\nRCPT TO:<a@example.com>\r\n"});
    auto r2 = test::run_all_splits(plain);
    EXPECT_FALSE(r2.failure);
}

TEST(Session, SomeRecipientsRefusedOthersDelivered) {
    Script s = authenticated_script();
    s.messages = {message("hi\r\n")};
    s.turns.push_back({"235 ok\r\n",
                       "MAIL FROM:<scanner@example.com> SIZE=4\r\nRCPT TO:<a@example.com>\r\nRCPT "
                       "TO:<b@example.com>\r\n"});
    s.turns.push_back({"250 ok\r\n550 5.1.1 No such user\r\n250 ok\r\n", "DATA\r\n"});
    s.turns.push_back({"354 go\r\n", "hi\r\n.\r\n"});
    s.turns.push_back({"250 queued\r\n", "QUIT\r\n"});
    auto r = test::run_all_splits(s);
    ASSERT_EQ(r.messages.size(), 1u);
    EXPECT_TRUE(r.messages[0].ok());
    ASSERT_EQ(r.messages[0].recipients.size(), 2u);
    EXPECT_EQ(r.messages[0].recipients[0].code, Errc::recipient_rejected);
    EXPECT_TRUE(r.messages[0].recipients[1].accepted());
}

TEST(Session, AllRecipientsRefusedIs632ThenRset) {
    Script s = authenticated_script();
    s.messages = {message("hi\r\n")};
    s.turns.push_back({"235 ok\r\n",
                       "MAIL FROM:<scanner@example.com> SIZE=4\r\nRCPT TO:<a@example.com>\r\nRCPT "
                       "TO:<b@example.com>\r\n"});
    s.turns.push_back({"250 ok\r\n550 5.1.1 No\r\n550 5.1.1 No\r\n", "RSET\r\n"});
    s.turns.push_back({"250 reset\r\n", "QUIT\r\n"});
    auto r = test::run_all_splits(s);
    ASSERT_EQ(r.messages.size(), 1u);
    EXPECT_EQ(r.messages[0].error->code, Errc::recipient_rejected);
    EXPECT_EQ(r.messages[0].phase, "while sending RCPT TO");
    EXPECT_FALSE(r.failure);
}

// Pipelined: the RCPT replies after a refused MAIL must still be read.
TEST(Session, SenderNotAllowedIs631AfterReadingPipelinedReplies) {
    Script s = authenticated_script();
    s.messages = {message("hi\r\n")};
    s.turns.push_back({"235 ok\r\n",
                       "MAIL FROM:<scanner@example.com> SIZE=4\r\nRCPT TO:<a@example.com>\r\nRCPT "
                       "TO:<b@example.com>\r\n"});
    s.turns.push_back(
        {"550 5.7.60 SMTP; Client does not have permissions to send as this sender\r\n503 5.5.1 "
         "Need MAIL\r\n",
         ""});
    s.turns.push_back({"503 5.5.1 Need MAIL\r\n", "RSET\r\n"});
    s.turns.push_back({"250 reset\r\n", "QUIT\r\n"});
    auto r = test::run_all_splits(s);
    ASSERT_EQ(r.messages.size(), 1u);
    EXPECT_EQ(r.messages[0].error->code, Errc::sender_not_allowed);
    EXPECT_EQ(r.messages[0].phase, "while sending MAIL FROM");
}

TEST(Session, WithoutPipeliningOneCommandAtATime) {
    Script s = authenticated_script();
    s.turns[3].server = "250-h\r\n250 AUTH XOAUTH2\r\n";
    s.messages = {message("x\r\n")};
    s.turns.push_back({"235 ok\r\n", "MAIL FROM:<scanner@example.com>\r\n"});
    s.turns.push_back({"250 ok\r\n", "RCPT TO:<a@example.com>\r\n"});
    s.turns.push_back({"250 ok\r\n", "RCPT TO:<b@example.com>\r\n"});
    s.turns.push_back({"250 ok\r\n", "DATA\r\n"});
    s.turns.push_back({"354 go\r\n", "x\r\n.\r\n"});
    s.turns.push_back({"250 ok\r\n", "QUIT\r\n"});
    auto r = test::run_all_splits(s);
    EXPECT_TRUE(r.messages.at(0).ok());
}

TEST(Session, RateLimitedIs634) {
    Script s = authenticated_script();
    s.messages = {message("x\r\n")};
    s.turns.push_back({"235 ok\r\n",
                       "MAIL FROM:<scanner@example.com> SIZE=3\r\nRCPT TO:<a@example.com>\r\nRCPT "
                       "TO:<b@example.com>\r\n"});
    s.turns.push_back({"250 ok\r\n250 ok\r\n250 ok\r\n", "DATA\r\n"});
    s.turns.push_back({"354 go\r\n", "x\r\n.\r\n"});
    s.turns.push_back(
        {"432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded\r\n", "QUIT\r\n"});
    auto r = test::run_all_splits(s);
    EXPECT_EQ(r.messages.at(0).error->code, Errc::rate_limited);
    EXPECT_EQ(r.messages.at(0).phase, "while sending end of data");
}

TEST(Session, ServiceClosing421FailsTheSession) {
    Script s = oauth_script();
    s.turns = {{"421 4.3.2 Service not available, closing\r\n", ""}};
    auto r = test::run_all_splits(s);
    ASSERT_TRUE(r.failure);
    EXPECT_EQ(r.failure->error.code, Errc::rate_limited);
    EXPECT_EQ(r.failure->phase, "while receiving the initial server greeting");
}

TEST(Session, GreetingNot220Is641) {
    Script s = oauth_script();
    s.turns = {{"554 No SMTP service here\r\n", ""}};
    auto r = test::run_all_splits(s);
    EXPECT_EQ(r.failure->error.code, Errc::mail_service_unavailable);
}

TEST(Session, GarbageFromServerIsProtocolError) {
    Script s = oauth_script();
    s.turns = {{"SSH-2.0-OpenSSH_9.2\r\n", ""}};
    auto r = test::run_all_splits(s);
    ASSERT_TRUE(r.failure);
    EXPECT_EQ(r.failure->error.code, Errc::mail_service_unavailable);
    EXPECT_NE(r.failure->error.detail.find("protocol error"), std::string::npos);
}

TEST(Session, TwoMessagesOverOneConnectionWithRsetBetween) {
    Script s = authenticated_script();
    auto bad = message("x\r\n");
    bad.envelope.to = {"reject@example.com"};
    auto good = message("y\r\n");
    good.envelope.to = {"ok@example.com"};
    s.messages = {bad, good};
    s.turns.push_back(
        {"235 ok\r\n",
         "MAIL FROM:<scanner@example.com> SIZE=3\r\nRCPT TO:<reject@example.com>\r\n"});
    s.turns.push_back({"250 ok\r\n550 5.1.1 nope\r\n", "RSET\r\n"});
    s.turns.push_back(
        {"250 ok\r\n", "MAIL FROM:<scanner@example.com> SIZE=3\r\nRCPT TO:<ok@example.com>\r\n"});
    s.turns.push_back({"250 ok\r\n250 ok\r\n", "DATA\r\n"});
    s.turns.push_back({"354 go\r\n", "y\r\n.\r\n"});
    s.turns.push_back({"250 ok\r\n", "QUIT\r\n"});
    s.turns.push_back({"221 bye\r\n", ""});
    auto r = test::run_all_splits(s);
    ASSERT_EQ(r.messages.size(), 2u);
    EXPECT_FALSE(r.messages[0].ok());
    EXPECT_TRUE(r.messages[1].ok());
    EXPECT_TRUE(r.closed);
    EXPECT_EQ(r.token_requests.size(), 1u);  // authenticated once
}

TEST(Session, AddressWithLineBreakRefusedBeforeSending) {
    Script s = authenticated_script();
    auto m = message();
    m.envelope.to = {"a@example.com>\r\nRCPT TO:<evil@example.com"};
    s.messages = {m};
    s.turns.push_back({"235 ok\r\n", "QUIT\r\n"});
    auto r = test::run_all_splits(s);
    EXPECT_EQ(r.messages.at(0).error->code, Errc::invalid_input);
}

TEST(Session, TimeoutAfterEndOfDataMayHaveSent) {
    Session s(oauth_script().config);
    s.on_connected();
    s.on_bytes(greeting);
    s.on_bytes(ehlo_plain);
    s.on_bytes("220 go\r\n");
    s.on_tls_established();
    s.on_bytes(ehlo_tls);
    s.on_token(Secret(token));
    s.on_bytes("235 ok\r\n");
    Envelope e{user, {"a@example.com"}, 3, false};
    s.submit(e);
    s.on_bytes("250 ok\r\n250 ok\r\n354 go\r\n");
    s.on_body("x\r\n");
    s.on_body_end();
    EXPECT_EQ(s.state(), Session::State::data_end);
    EXPECT_EQ(s.timeout(), std::chrono::minutes(10));
    s.on_timeout();
    std::optional<action::Failed> failed;
    while (auto a = s.next())
        if (auto* f = std::get_if<action::Failed>(&*a)) failed = *f;
    ASSERT_TRUE(failed);
    EXPECT_EQ(failed->error.code, Errc::timed_out);
    EXPECT_TRUE(failed->maybe_sent);
    EXPECT_EQ(failed->phase, "while sending end of data");
}

TEST(Session, TimeoutLimitCapsEveryState) {
    SessionConfig c;
    c.timeout_limit = std::chrono::seconds(5);
    Session s(c);
    EXPECT_EQ(s.timeout(), std::chrono::seconds(5));
}

TEST(Session, ServerClosingEarlyIs641) {
    Session s(oauth_script().config);
    s.on_connected();
    s.on_closed_by_peer();
    auto a = s.next();
    ASSERT_TRUE(a && std::holds_alternative<action::Failed>(*a));
    EXPECT_EQ(std::get<action::Failed>(*a).error.code, Errc::mail_service_unavailable);
}

TEST(Session, EveryStateHasAPhase) {
    for (int i = 0; i <= static_cast<int>(Session::State::failed); ++i) {
        const auto st = static_cast<Session::State>(i);
        EXPECT_FALSE(Session::describe(st).phase.empty()) << Session::name(st);
        EXPECT_EQ(Session::describe(st).maybe_sent, st == Session::State::data_end);
    }
}

// Every state change goes through set_state: the trace is a chain from
// connecting to closed through the phases of a STARTTLS XOAUTH2 send.
TEST(Session, EveryStateChangeIsTracedFromAndTo) {
    Script s = oauth_script();
    pb::test::StateLog states;
    s.config.trace = states.trace();
    s.messages = {message()};
    s.turns = pipelined_send_turns();
    auto r = test::run(s, 0, {s.turns[0].server});
    ASSERT_FALSE(r.failure);
    ASSERT_FALSE(states.changes.empty());
    EXPECT_EQ(states.changes.front().first, "connecting");
    EXPECT_EQ(states.changes.back().second, "closed");
    EXPECT_EQ(states.broken_link(), "");
    // The phases, in order (others may come between).
    const auto to = states.entered();
    std::size_t at = 0;
    for (const std::string_view phase :
         {"greeting", "ehlo", "starttls", "tls_handshake", "ehlo", "auth", "ready", "mail", "data",
          "body", "data_end", "quit", "closed"}) {
        const auto it = std::find(to.begin() + static_cast<std::ptrdiff_t>(at), to.end(), phase);
        ASSERT_NE(it, to.end()) << "no " << phase << " after step " << at;
        at = static_cast<std::size_t>(it - to.begin()) + 1;
    }
}

}  // namespace
}  // namespace pb::smtp
