// The POP3 login core against scripted servers: each path of POP before
// SMTP, each turn of server bytes also split at every position.
#include "pop3/session.hpp"

#include <gtest/gtest.h>

#include <type_traits>

#include "support/state_log.hpp"
#include "support/transcript.hpp"

namespace pb::pop3 {
namespace {

const std::string user = "scanner";
const std::string password = "p4ss-w0rd!";
const std::string greeting = "+OK Dovecot ready.\r\n";
const std::string capa_stls =
    "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nSTLS\r\nUSER\r\nSASL PLAIN\r\n.\r\n";
const std::string capa_no_stls = "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nUSER\r\n.\r\n";

struct Turn {
    std::string server;  // bytes the server sends
    std::string client;  // the client's exact answer to them
};

struct Script {
    SessionConfig config;
    std::string after_connect;  // what the client writes right after connecting
    std::vector<Turn> turns;
    // After the last turn: the server hangs up (true) or stays silent and
    // the driver's deadline fires (false, when nothing else ended it).
    bool hang_up_at_end = false;
};

struct Outcome {
    std::optional<action::Failed> failure;
    bool closed = false;
    bool logged_in = false;
    int tls_starts = 0;
    std::string transcript;
    std::string mismatch;
};

class Runner {
  public:
    Runner(const Script& s, Outcome& r) : run_(r), session_(s.config) {}
    Session& session() { return session_; }
    std::string take_output() { return std::exchange(out_, {}); }

    void pump() {
        while (auto a = session_.next()) {
            std::visit(
                [&](auto& act) {
                    using T = std::decay_t<decltype(act)>;
                    if constexpr (std::is_same_v<T, action::Write>) {
                        out_ += act.bytes;
                    } else if constexpr (std::is_same_v<T, action::WriteSecret>) {
                        out_ += act.bytes.reveal();
                    } else if constexpr (std::is_same_v<T, action::StartTls>) {
                        ++run_.tls_starts;
                        session_.on_tls_established();
                    } else if constexpr (std::is_same_v<T, action::LoggedIn>) {
                        run_.logged_in = true;
                    } else if constexpr (std::is_same_v<T, action::Closed>) {
                        run_.closed = true;
                    } else if constexpr (std::is_same_v<T, action::Failed>) {
                        run_.failure = std::move(act);
                    }
                },
                *a);
        }
    }

  private:
    Outcome& run_;
    Session session_;
    std::string out_;
};

Outcome run(const Script& script, std::size_t split_turn, const pb::test::Chunks& chunks) {
    Outcome r;
    Runner runner(script, r);
    runner.session().on_connected();
    runner.pump();
    if (auto out = runner.take_output(); out != script.after_connect)
        r.mismatch = "after connect: got [" + out + "]";
    for (std::size_t i = 0; i < script.turns.size() && r.mismatch.empty(); ++i) {
        const Turn& t = script.turns[i];
        if (i == split_turn) {
            for (auto c : chunks) {
                runner.session().on_bytes(c);
                runner.pump();
            }
        } else {
            runner.session().on_bytes(t.server);
            runner.pump();
        }
        if (auto out = runner.take_output(); out != t.client)
            r.mismatch =
                "turn " + std::to_string(i) + ": expected [" + t.client + "] got [" + out + "]";
    }
    if (!r.closed && !r.failure) {
        if (script.hang_up_at_end)
            runner.session().on_closed_by_peer();
        else
            runner.session().on_timeout();
        runner.pump();
    }
    r.transcript = runner.session().transcript().str();
    return r;
}

// Every split of every turn must give the same client bytes, outcome and
// transcript as the whole turns; returns the whole run.
Outcome run_all_splits(const Script& script) {
    Outcome whole = run(script, script.turns.size(), {});
    EXPECT_EQ(whole.mismatch, "");
    for (std::size_t i = 0; i < script.turns.size(); ++i) {
        for (const auto& chunks : pb::test::every_split(script.turns[i].server)) {
            Outcome r = run(script, i, chunks);
            EXPECT_EQ(r.mismatch, "") << "turn " << i << " in " << chunks.size() << " pieces";
            EXPECT_EQ(r.failure.has_value(), whole.failure.has_value()) << "turn " << i;
            EXPECT_EQ(r.closed, whole.closed) << "turn " << i;
            EXPECT_EQ(r.logged_in, whole.logged_in) << "turn " << i;
            EXPECT_EQ(r.transcript, whole.transcript) << "turn " << i;
            if (r.failure && whole.failure) {
                EXPECT_EQ(r.failure->error.detail, whole.failure->error.detail);
            }
            if (!r.mismatch.empty()) return whole;  // one report is enough
        }
    }
    return whole;
}

Script script(Security security) {
    Script s;
    s.config.security = security;
    s.config.user = user;
    s.config.password = Secret(password);
    return s;
}

const Turn user_turn{"+OK\r\n", "PASS " + password + "\r\n"};
const Turn pass_ok{"+OK Logged in.\r\n", "QUIT\r\n"};
const Turn quit_ok{"+OK Logging out.\r\n", ""};

// CAPA, STLS, then USER/PASS and QUIT over TLS.
std::vector<Turn> stls_login_turns() {
    return {{greeting, "CAPA\r\n"},
            {capa_stls, "STLS\r\n"},
            {"+OK Begin TLS negotiation now.\r\n", "USER scanner\r\n"},
            user_turn,
            pass_ok,
            quit_ok};
}

TEST(Pop3Session, StlsLogin) {
    Script s = script(Security::starttls);
    s.turns = stls_login_turns();
    const Outcome r = run_all_splits(s);
    EXPECT_FALSE(r.failure);
    EXPECT_TRUE(r.logged_in);
    EXPECT_TRUE(r.closed);
    EXPECT_EQ(r.tls_starts, 1);
}

TEST(Pop3Session, PlainLogin) {
    Script s = script(Security::none);
    s.turns = {{greeting, "USER scanner\r\n"}, user_turn, pass_ok, quit_ok};
    const Outcome r = run_all_splits(s);
    EXPECT_FALSE(r.failure);
    EXPECT_TRUE(r.closed);
    EXPECT_EQ(r.tls_starts, 0);
}

TEST(Pop3Session, Pop3sStartsTlsBeforeTheGreeting) {
    Script s = script(Security::ssl_tls);
    s.turns = {{greeting, "USER scanner\r\n"}, user_turn, pass_ok, quit_ok};
    const Outcome r = run_all_splits(s);
    EXPECT_FALSE(r.failure);
    EXPECT_TRUE(r.closed);
    EXPECT_EQ(r.tls_starts, 1);
    EXPECT_EQ(r.transcript.rfind("-- TLS established\nS: +OK Dovecot ready.\n", 0), 0u)
        << r.transcript;
}

TEST(Pop3Session, TranscriptRedactsThePassword) {
    Script s = script(Security::none);
    s.turns = {
        {greeting, "USER scanner\r\n"}, user_turn, {"-ERR [AUTH] Authentication failed.\r\n", ""}};
    const Outcome r = run_all_splits(s);
    ASSERT_TRUE(r.failure);
    EXPECT_EQ(r.transcript.find(password), std::string::npos);
    EXPECT_NE(r.transcript.find("C: USER scanner\n"), std::string::npos);
    EXPECT_NE(r.transcript.find("C: PASS <redacted>\n"), std::string::npos);
    EXPECT_EQ(r.failure->error.detail.find(password), std::string::npos);
}

TEST(Pop3Session, WrongPasswordIs622NamingTheAccount) {
    Script s = script(Security::none);
    s.turns = {
        {greeting, "USER scanner\r\n"}, user_turn, {"-ERR [AUTH] Authentication failed.\r\n", ""}};
    const Outcome r = run_all_splits(s);
    ASSERT_TRUE(r.failure);
    EXPECT_EQ(r.failure->error.code, Errc::auth_rejected);
    EXPECT_EQ(r.failure->phase, "while sending PASS");
    EXPECT_EQ(r.failure->error.detail,
              "the POP3 server refused the login of \"scanner\"; check the Authenticated Account "
              "and Password: -ERR [AUTH] Authentication failed. (while sending PASS)");
    EXPECT_FALSE(r.logged_in);
}

// Dovecot on a connection without TLS: say what to change, not "wrong password".
TEST(Pop3Session, PlaintextRefusedSaysToUseTls) {
    Script s = script(Security::none);
    // Dovecot refuses at USER; others only at PASS.
    s.turns = {{greeting, "USER scanner\r\n"},
               {"-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) "
                "connections.\r\n",
                ""}};
    Outcome r = run_all_splits(s);
    ASSERT_TRUE(r.failure);
    EXPECT_EQ(r.failure->error.code, Errc::auth_rejected);
    EXPECT_NE(r.failure->error.detail.find("refuses a login without TLS; set POP3 security "
                                           "(pop3.security) to starttls or ssl-tls"),
              std::string::npos);
    s.turns = {{greeting, "USER scanner\r\n"}, user_turn, {"-ERR TLS required\r\n", ""}};
    r = run_all_splits(s);
    ASSERT_TRUE(r.failure);
    EXPECT_EQ(r.failure->error.code, Errc::auth_rejected);
    EXPECT_NE(r.failure->error.detail.find("refuses a login without TLS; set POP3 security "
                                           "(pop3.security) to starttls or ssl-tls"),
              std::string::npos);
}

TEST(Pop3Session, UnknownUserRefusedAtUserIs622) {
    Script s = script(Security::none);
    s.turns = {{greeting, "USER scanner\r\n"}, {"-ERR no such mailbox\r\n", ""}};
    const Outcome r = run_all_splits(s);
    ASSERT_TRUE(r.failure);
    EXPECT_EQ(r.failure->error.code, Errc::auth_rejected);
    EXPECT_NE(r.failure->error.detail.find("refused the account \"scanner\""), std::string::npos);
}

// RFC 3206: SYS/TEMP and IN-USE say "later", not "wrong password".
TEST(Pop3Session, TemporaryRefusalIs641) {
    for (const std::string code : {"SYS/TEMP", "IN-USE", "LOGIN-DELAY"}) {
        Script s = script(Security::none);
        s.turns = {{greeting, "USER scanner\r\n"},
                   user_turn,
                   {"-ERR [" + code + "] try again later\r\n", ""}};
        const Outcome r = run_all_splits(s);
        ASSERT_TRUE(r.failure) << code;
        EXPECT_EQ(r.failure->error.code, Errc::mail_service_unavailable) << code;
    }
}

TEST(Pop3Session, StlsNotOfferedIs614AndNoPassword) {
    Script s = script(Security::starttls);
    s.turns = {{greeting, "CAPA\r\n"}, {capa_no_stls, ""}};
    const Outcome r = run_all_splits(s);
    ASSERT_TRUE(r.failure);
    EXPECT_EQ(r.failure->error.code, Errc::starttls_not_offered);
    EXPECT_NE(r.failure->error.detail.find("does not offer STLS"), std::string::npos);
    EXPECT_EQ(r.tls_starts, 0);
    EXPECT_EQ(r.transcript.find("C: USER"), std::string::npos);
}

TEST(Pop3Session, StlsRefusedIs614) {
    Script s = script(Security::starttls);
    s.turns = {{greeting, "CAPA\r\n"},
               {capa_stls, "STLS\r\n"},
               {"-ERR TLS support isn't enabled.\r\n", ""}};
    const Outcome r = run_all_splits(s);
    ASSERT_TRUE(r.failure);
    EXPECT_EQ(r.failure->error.code, Errc::starttls_not_offered);
    EXPECT_NE(r.failure->error.detail.find("refused STLS: -ERR TLS support isn't enabled."),
              std::string::npos);
}

// A server from before RFC 2449 answers CAPA with -ERR; STLS may still work.
TEST(Pop3Session, NoCapaTriesStlsAnyway) {
    Script s = script(Security::starttls);
    s.turns = {{greeting, "CAPA\r\n"},
               {"-ERR unknown command\r\n", "STLS\r\n"},
               {"+OK go ahead\r\n", "USER scanner\r\n"},
               user_turn,
               pass_ok,
               quit_ok};
    const Outcome r = run_all_splits(s);
    EXPECT_FALSE(r.failure);
    EXPECT_TRUE(r.closed);
    EXPECT_EQ(r.tls_starts, 1);
}

// Capabilities are case-insensitive; byte-stuffed lines are unstuffed.
TEST(Pop3Session, CapaIsCaseInsensitiveAndUnstuffed) {
    Script s = script(Security::starttls);
    s.turns = {{greeting, "CAPA\r\n"},
               {"+OK list follows\r\n..odd\r\nstls\r\n.\r\n", "STLS\r\n"},
               {"+OK\r\n", "USER scanner\r\n"}};
    Outcome r = run(s, s.turns.size(), {});
    EXPECT_EQ(r.mismatch, "");
    EXPECT_EQ(r.tls_starts, 1);
    Session session(s.config);
    session.on_connected();
    session.on_bytes(greeting);
    session.on_bytes("+OK\r\n..odd\r\nstls\r\n.\r\n");
    EXPECT_EQ(session.capabilities(), (std::vector<std::string>{".odd", "stls"}));
}

// Bytes after +OK to STLS came before TLS: an attacker could have written them.
TEST(Pop3Session, BytesAfterStlsOkAreRefused) {
    Script s = script(Security::starttls);
    s.turns = {
        {greeting, "CAPA\r\n"}, {capa_stls, "STLS\r\n"}, {"+OK Begin TLS\r\n+OK injected\r\n", ""}};
    const Outcome r = run(s, s.turns.size(), {});
    ASSERT_TRUE(r.failure);
    EXPECT_EQ(r.failure->error.code, Errc::tls_handshake);
    // Whichever way they arrive with the +OK (split after it, they would
    // come inside TLS and be someone else's problem).
    const std::size_t after_ok = std::string_view("+OK Begin TLS\r\n").size();
    for (const auto& chunks : pb::test::every_split(s.turns[2].server)) {
        if (chunks.size() == 2 && chunks[0].size() == after_ok) continue;
        if (chunks.size() > 2) continue;  // byte by byte also splits there
        const Outcome split = run(s, 2, chunks);
        ASSERT_TRUE(split.failure) << chunks[0].size();
        EXPECT_EQ(split.failure->error.code, Errc::tls_handshake);
    }
}

TEST(Pop3Session, ErrGreetingIs641) {
    Script s = script(Security::starttls);
    s.turns = {{"-ERR [SYS/PERM] server shutting down\r\n", ""}};
    const Outcome r = run_all_splits(s);
    ASSERT_TRUE(r.failure);
    EXPECT_EQ(r.failure->error.code, Errc::mail_service_unavailable);
    EXPECT_EQ(r.failure->phase, "while receiving the POP3 greeting");
}

// An SMTP server on the POP3 port: say so, and where to look.
TEST(Pop3Session, NotPop3IsAClearProtocolError) {
    Script s = script(Security::none);
    s.turns = {{"220 smtp.example.com ESMTP\r\n", ""}};
    const Outcome r = run_all_splits(s);
    ASSERT_TRUE(r.failure);
    EXPECT_EQ(r.failure->error.code, Errc::mail_service_unavailable);
    EXPECT_NE(r.failure->error.detail.find("not POP3"), std::string::npos);
    EXPECT_NE(r.failure->error.detail.find("Port Number"), std::string::npos);
}

TEST(Pop3Session, OverlongLineIsAnError) {
    Script s = script(Security::none);
    s.turns = {{"+OK " + std::string(LineReader::max_line, 'x') + "\r\n", ""}};
    const Outcome r = run(s, s.turns.size(), {});
    ASSERT_TRUE(r.failure);
    EXPECT_EQ(r.failure->error.code, Errc::mail_service_unavailable);
    EXPECT_NE(r.failure->error.detail.find("longer than"), std::string::npos);
}

TEST(Pop3Session, BareLfLinesAreAccepted) {
    Script s = script(Security::none);
    s.turns = {{"+OK hi\n", "USER scanner\r\n"},
               {"+OK\n", "PASS " + password + "\r\n"},
               {"+OK\n", "QUIT\r\n"},
               {"+OK\n", ""}};
    const Outcome r = run_all_splits(s);
    EXPECT_FALSE(r.failure);
    EXPECT_TRUE(r.closed);
}

TEST(Pop3Session, PlusOkayIsNotPlusOk) {
    EXPECT_FALSE(parse_response("+OKAY"));
    EXPECT_FALSE(parse_response("OK"));
    EXPECT_FALSE(parse_response(""));
    auto r = parse_response("-ERR [AUTH] Authentication failed.");
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->ok);
    EXPECT_EQ(r->code, "AUTH");
    EXPECT_EQ(r->text, "[AUTH] Authentication failed.");
    auto ok = parse_response("+ok");
    ASSERT_TRUE(ok);
    EXPECT_TRUE(ok->ok);
    EXPECT_EQ(ok->code, "");
}

// The login is what POP before SMTP needs; QUIT's fate does not undo it.
TEST(Pop3Session, AfterLoginQuitProblemsStillSucceed) {
    for (const int how : {0, 1, 2, 3, 4}) {
        Script s = script(Security::none);
        s.turns = {{greeting, "USER scanner\r\n"}, user_turn, pass_ok};
        if (how == 0) s.turns.push_back({"-ERR some messages not deleted\r\n", ""});
        if (how == 1) s.hang_up_at_end = true;
        if (how == 3) s.turns.push_back({"garbage\r\n", ""});
        // Longer than a line may be (the fuzzer found this one failing the
        // check with 641 after the login was accepted).
        if (how == 4) s.turns.push_back({std::string(3000, 'z') + "\r\n", ""});
        // how == 2: silence, the driver's deadline fires
        const Outcome r = run_all_splits(s);
        EXPECT_FALSE(r.failure) << how;
        EXPECT_TRUE(r.closed) << how;
        EXPECT_TRUE(r.logged_in) << how;
    }
}

TEST(Pop3Session, HangUpBeforeLoginIs641) {
    Script s = script(Security::none);
    s.turns = {{greeting, "USER scanner\r\n"}};
    s.hang_up_at_end = true;
    const Outcome r = run_all_splits(s);
    ASSERT_TRUE(r.failure);
    EXPECT_EQ(r.failure->error.code, Errc::mail_service_unavailable);
    EXPECT_EQ(r.failure->phase, "while sending USER");
}

TEST(Pop3Session, SilenceIs603WithThePhase) {
    Script s = script(Security::none);
    s.turns = {{greeting, "USER scanner\r\n"}, user_turn};
    const Outcome r = run_all_splits(s);
    ASSERT_TRUE(r.failure);
    EXPECT_EQ(r.failure->error.code, Errc::timed_out);
    EXPECT_EQ(r.failure->phase, "while sending PASS");
    EXPECT_NE(r.failure->error.detail.find("within 60 s"), std::string::npos);
}

TEST(Pop3Session, TimeoutLimitCapsEveryWait) {
    SessionConfig c;
    c.timeout_limit = std::chrono::seconds(5);
    Session s(c);
    EXPECT_EQ(s.timeout(), std::chrono::seconds(5));
    Session unlimited(SessionConfig{});
    EXPECT_EQ(unlimited.timeout(), std::chrono::seconds(30));  // connecting
}

TEST(Pop3Session, IoErrorKeepsItsCode) {
    Session s(script(Security::ssl_tls).config);
    s.on_connected();
    ASSERT_TRUE(std::holds_alternative<action::StartTls>(*s.next()));
    s.on_io_error(fail(Errc::cert_untrusted, "the server certificate is not trusted"));
    auto a = s.next();
    ASSERT_TRUE(a && std::holds_alternative<action::Failed>(*a));
    EXPECT_EQ(std::get<action::Failed>(*a).error.code, Errc::cert_untrusted);
}

TEST(Pop3Session, UnusableCredentialsAre652BeforeAnyByte) {
    struct Case {
        std::string user;
        std::string password;
        std::string_view says;
    };
    for (const auto& c : {Case{"", "pw", "Authenticated Account"},
                          Case{"a\r\nDELE 1", "pw", "Authenticated Account"},
                          Case{"a", "", "Authenticated Password"},
                          Case{"a", "pw\r\nDELE 1", "Authenticated Password"},
                          Case{"a", std::string("p\0w", 3), "Authenticated Password"}}) {
        SessionConfig cfg;
        cfg.security = Security::none;
        cfg.user = c.user;
        cfg.password = Secret(c.password);
        auto check = Session::check(cfg);
        ASSERT_FALSE(check.ok()) << c.user;
        EXPECT_EQ(check.error().code, Errc::invalid_input);
        EXPECT_NE(check.error().detail.find(c.says), std::string::npos);
        if (!c.password.empty()) {
            EXPECT_EQ(check.error().detail.find(c.password), std::string::npos);
        }
        Session s(cfg);
        s.on_connected();
        auto a = s.next();
        ASSERT_TRUE(a && std::holds_alternative<action::Failed>(*a));
        EXPECT_FALSE(s.next());  // nothing written
    }
}

// A server echoing the password (in an error, say) does not get it into
// the transcript or the error.
TEST(Pop3Session, EchoedPasswordIsScrubbed) {
    Script s = script(Security::none);
    s.turns = {
        {greeting, "USER scanner\r\n"}, user_turn, {"-ERR bad password " + password + "\r\n", ""}};
    const Outcome r = run_all_splits(s);
    ASSERT_TRUE(r.failure);
    EXPECT_EQ(r.transcript.find(password), std::string::npos);
    EXPECT_EQ(r.failure->error.detail.find(password), std::string::npos);
    EXPECT_NE(r.failure->error.detail.find("<redacted>"), std::string::npos);
}

TEST(Pop3Session, EveryStateHasAPhase) {
    using S = Session::State;
    for (const S st : {S::connecting, S::tls_handshake, S::greeting, S::capa, S::stls, S::user,
                       S::pass, S::quit, S::closed, S::failed}) {
        EXPECT_NE(Session::name(st), "unknown");
        EXPECT_FALSE(Session::describe(st).phase.empty());
    }
}

// Every state change goes through set_state: the trace is a chain from
// connecting to closed through the phases of an STLS login.
TEST(Pop3Session, EveryStateChangeIsTracedFromAndTo) {
    Script s = script(Security::starttls);
    pb::test::StateLog states;
    s.config.trace = states.trace();
    s.turns = stls_login_turns();
    const Outcome r = run(s, s.turns.size(), {});
    ASSERT_TRUE(r.logged_in);
    ASSERT_FALSE(states.changes.empty());
    EXPECT_EQ(states.changes.front().first, "connecting");
    EXPECT_EQ(states.broken_link(), "");
    const auto to = states.entered();
    EXPECT_EQ(to, (std::vector<std::string>{"greeting", "capa", "stls", "tls_handshake", "user",
                                            "pass", "quit", "closed"}));
}

}  // namespace
}  // namespace pb::pop3
