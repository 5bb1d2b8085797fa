// pop3::login against the real Dovecot POP3 service (tests/peers/dovecot.sh,
// fixture "interop"): STLS and POP3S on 127.0.0.2 with the test CA, plain
// POP3 on 127.0.0.3 (no TLS there, so no STLS either), one account in a
// passwd-file.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "pop3/client.hpp"
#include "support/peers.hpp"

namespace pb::pop3 {
namespace {

using namespace std::chrono_literals;

#define REQUIRE_POP3()                                                        \
    do {                                                                      \
        if (!pb::test::Peers::get().find("PB_POP3_PORT"))                     \
            GTEST_SKIP() << "no Dovecot POP3 (run with the interop fixture)"; \
    } while (0)

std::string env(const std::string& key) {
    return pb::test::Peers::get().at(key);
}

std::uint16_t port(const std::string& key) {
    return static_cast<std::uint16_t>(std::stoi(env(key)));
}

Config dovecot(Security security) {
    Config c;
    c.security = security;
    if (security == Security::none) {
        c.host = env("PB_POP3_PLAIN_HOST");
        c.port = port("PB_POP3_PLAIN_PORT");
    } else {
        c.host = env("PB_POP3_HOST");
        c.port = port(security == Security::ssl_tls ? "PB_POP3S_PORT" : "PB_POP3_PORT");
    }
    c.tls.system_store = false;
    c.tls.ca_files = {env("PB_TEST_CA")};
    c.user = env("PB_POP3_USER");
    c.password = Secret(env("PB_POP3_PASSWORD"));
    c.timeout = 10s;
    return c;
}

// Dovecot's log line for a login from this test, proof the server saw it.
std::string dovecot_log() {
    std::ifstream in(env("PB_RUNDIR") + "/dovecot.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

TEST(Pop3Dovecot, StlsLogin) {
    REQUIRE_POP3();
    const LoginReport r = login_report(dovecot(Security::starttls));
    ASSERT_TRUE(r.ok()) << r.error->describe() << "\n" << r.transcript;
    EXPECT_TRUE(r.tls);
    ASSERT_TRUE(r.certificate);
    EXPECT_TRUE(r.certificate->verified);
    EXPECT_NE(r.transcript.find("C: STLS\n"), std::string::npos) << r.transcript;
    EXPECT_NE(r.transcript.find("S: +OK Logged in."), std::string::npos) << r.transcript;
    EXPECT_NE(r.transcript.find("C: PASS <redacted>\n"), std::string::npos);
    EXPECT_EQ(r.transcript.find(env("PB_POP3_PASSWORD")), std::string::npos);
}

TEST(Pop3Dovecot, Pop3sLogin) {
    REQUIRE_POP3();
    const LoginReport r = login_report(dovecot(Security::ssl_tls));
    ASSERT_TRUE(r.ok()) << r.error->describe() << "\n" << r.transcript;
    EXPECT_TRUE(r.tls);
    EXPECT_EQ(r.transcript.rfind("-- TLS established\nS: +OK", 0), 0u) << r.transcript;
}

TEST(Pop3Dovecot, PlainLogin) {
    REQUIRE_POP3();
    const LoginReport r = login_report(dovecot(Security::none));
    ASSERT_TRUE(r.ok()) << r.error->describe() << "\n" << r.transcript;
    EXPECT_FALSE(r.tls);
    EXPECT_NE(r.transcript.find("S: +OK Logged in."), std::string::npos) << r.transcript;
}

TEST(Pop3Dovecot, LoginReturnsVoidOnSuccess) {
    REQUIRE_POP3();
    EXPECT_TRUE(login(dovecot(Security::starttls)).ok());
}

TEST(Pop3Dovecot, WrongPasswordIsRefusedWith622) {
    REQUIRE_POP3();
    for (const Security sec : {Security::starttls, Security::ssl_tls, Security::none}) {
        Config c = dovecot(sec);
        c.password = Secret("not-the-password-4711");
        const LoginReport r = login_report(c);
        ASSERT_FALSE(r.ok()) << static_cast<int>(sec);
        EXPECT_EQ(r.error->code, Errc::auth_rejected);
        EXPECT_EQ(r.phase, "while sending PASS");
        EXPECT_NE(r.error->detail.find("refused the login of \"" + env("PB_POP3_USER") +
                                       "\"; check the Authenticated Account and Password: "
                                       "-ERR [AUTH] Authentication failed."),
                  std::string::npos)
            << r.error->detail;
        EXPECT_EQ(r.error->describe().find("4711"), std::string::npos);
        EXPECT_EQ(r.transcript.find("4711"), std::string::npos);
    }
}

TEST(Pop3Dovecot, UnknownUserIsRefusedWith622) {
    REQUIRE_POP3();
    Config c = dovecot(Security::starttls);
    c.user = "nobody-here";
    auto r = login(c);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::auth_rejected);
}

// 127.0.0.3 has no TLS: STLS is not in its CAPA, and the password stays home.
TEST(Pop3Dovecot, StlsNotOfferedIs614) {
    REQUIRE_POP3();
    Config c = dovecot(Security::none);
    c.security = Security::starttls;
    const LoginReport r = login_report(c);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code, Errc::starttls_not_offered);
    EXPECT_NE(r.error->detail.find("does not offer STLS; not sending the password without TLS"),
              std::string::npos)
        << r.error->detail;
    EXPECT_EQ(r.transcript.find("C: USER"), std::string::npos) << r.transcript;
    EXPECT_EQ(r.transcript.find("C: PASS"), std::string::npos) << r.transcript;
}

// Security none against the STLS server: Dovecot refuses plaintext logins
// before TLS, and the error says what to change.
TEST(Pop3Dovecot, PlaintextLoginRefusedSaysToUseTls) {
    REQUIRE_POP3();
    Config c = dovecot(Security::starttls);
    c.security = Security::none;
    const LoginReport r = login_report(c);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code, Errc::auth_rejected) << r.error->detail << "\n" << r.transcript;
    EXPECT_NE(r.error->detail.find("set POP3 security (pop3.security) to starttls or ssl-tls"),
              std::string::npos)
        << r.error->detail;
}

TEST(Pop3Dovecot, UntrustedCertificateIs612) {
    REQUIRE_POP3();
    for (const Security sec : {Security::starttls, Security::ssl_tls}) {
        Config c = dovecot(sec);
        c.tls.ca_files = {env("PB_UNTRUSTED_CA")};
        const LoginReport r = login_report(c);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error->code, Errc::cert_untrusted) << r.error->describe();
        EXPECT_EQ(r.transcript.find("C: PASS"), std::string::npos) << r.transcript;
    }
}

// Certificate Validation off (smtp.verify_cert=false): the untrusted
// certificate is accepted, and the report says it was not verified.
TEST(Pop3Dovecot, VerificationOffAcceptsAnyCertificate) {
    REQUIRE_POP3();
    Config c = dovecot(Security::ssl_tls);
    c.tls.ca_files = {env("PB_UNTRUSTED_CA")};
    c.tls.verify = false;
    const LoginReport r = login_report(c);
    ASSERT_TRUE(r.ok()) << r.error->describe();
    ASSERT_TRUE(r.certificate);
    EXPECT_FALSE(r.certificate->verified);
}

// The certificate names localhost, 127.0.0.1 and 127.0.0.2 only; the POP3S
// listener reached as 127.0.0.2 but checked for another name is 613.
TEST(Pop3Dovecot, NameMismatchIs613) {
    REQUIRE_POP3();
    Config c = dovecot(Security::ssl_tls);
    c.tls.server_name = "pop.example.test";
    auto r = login(c);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::cert_name_mismatch) << r.error().describe();
}

// POP3S port with STLS expected: Dovecot waits for a TLS ClientHello and
// never greets in clear; the deadline turns that into 603 with the phase.
TEST(Pop3Dovecot, WrongModeForThePortTimesOut) {
    REQUIRE_POP3();
    Config c = dovecot(Security::starttls);
    c.port = port("PB_POP3S_PORT");
    c.timeout = 2s;
    const LoginReport r = login_report(c);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code, Errc::timed_out);
    EXPECT_EQ(r.phase, "while receiving the POP3 greeting");
}

// The server really saw the logins (not just our reading of +OK).
TEST(Pop3Dovecot, DovecotLogsTheLogin) {
    REQUIRE_POP3();
    ASSERT_TRUE(login(dovecot(Security::ssl_tls)).ok());
    EXPECT_NE(dovecot_log().find("pop3(" + env("PB_POP3_USER") + ")"), std::string::npos);
}

}  // namespace
}  // namespace pb::pop3
