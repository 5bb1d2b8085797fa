// The relay's protocol core on transcripts: what a client sends, the exact
// replies, the messages that come out. Transcripts without STARTTLS are run
// at every split point (style.md), since a client may send them in any
// pieces. Open-relay tricks and the SMTP smuggling vectors of December 2023
// have a test each.
#include "relay/session.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "core/encoding.hpp"
#include "support/state_log.hpp"
#include "support/transcript.hpp"

namespace pb::relay {
namespace {

struct Message {
    Envelope envelope;
    std::string data;
};

// Plays the host: answers logins with `login`, takes every message with a
// 250 and "does" TLS at once.
class Driver {
  public:
    explicit Driver(SessionConfig cfg) : s(std::move(cfg)) { out = s.greeting(); }

    void feed(std::string_view bytes) {
        s.feed(bytes);
        pump();
    }
    void run(const test::Chunks& chunks) {
        for (auto c : chunks) feed(c);
    }
    void pump() {
        for (;;) {
            Action a = s.next();
            ++actions;
            switch (a.kind) {
                case Action::need_input:
                    return;
                case Action::send:
                    out += a.text;
                    ++sends;
                    break;
                case Action::data:
                    data += a.text;
                    break;
                case Action::discard:
                    data.clear();
                    ++discards;
                    break;
                case Action::verify_login:
                    ++logins;
                    last_user = a.user;
                    s.login_result(login(a.user, a.password));
                    break;
                case Action::message:
                    messages.push_back({s.envelope(), data});
                    data.clear();
                    s.message_result(next_reply.empty() ? "250 2.0.0 Ok: queued as " +
                                                              std::to_string(messages.size())
                                                        : next_reply);
                    break;
                case Action::start_tls:
                    out += "<TLS>";
                    s.tls_started();
                    break;
                case Action::close:
                    closed = true;
                    return;
            }
        }
    }

    Session s;
    std::string out, data, last_user, next_reply;
    std::vector<Message> messages;
    int sends = 0, discards = 0, logins = 0, actions = 0;
    bool closed = false;
    std::function<bool(const std::string&, const Secret&)> login = [](const std::string& u,
                                                                      const Secret& p) {
        return u == "copier" && p.reveal() == "s3cret";
    };
};

SessionConfig allowed() {
    SessionConfig c;
    c.hostname = "relay.test";
    c.client_allowed = true;
    c.tls_available = true;
    return c;
}

SessionConfig outsider() {
    SessionConfig c = allowed();
    c.client_allowed = false;
    return c;
}

std::string plain_blob(std::string_view authz, std::string_view user, std::string_view pass) {
    std::string raw;
    raw.append(authz).push_back('\0');
    raw.append(user).push_back('\0');
    raw.append(pass);
    return base64_encode(raw);
}

const std::string kGreeting = "220 relay.test ESMTP postbridge relay\r\n";

TEST(RelaySession, EhloBeforeTlsOffersStartTlsButNoAuth) {
    Driver d(outsider());
    d.feed("EHLO copier.lan\r\n");
    EXPECT_EQ(d.out, kGreeting +
                         "250-relay.test\r\n250-SIZE 36700160\r\n250-8BITMIME\r\n250-PIPELINING\r\n"
                         "250-ENHANCEDSTATUSCODES\r\n250 STARTTLS\r\n");
}

TEST(RelaySession, EhloOverTlsOffersAuthAndNoStartTls) {
    SessionConfig c = outsider();
    c.implicit_tls = true;
    c.max_message_size = 1000;
    Driver d(c);
    d.feed("EHLO copier.lan\r\n");
    EXPECT_EQ(d.out, kGreeting +
                         "250-relay.test\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-PIPELINING\r\n"
                         "250-ENHANCEDSTATUSCODES\r\n250 AUTH PLAIN LOGIN\r\n");
}

TEST(RelaySession, AuthOfferedInPlainTextOnlyWhenTheAdministratorSaysSo) {
    SessionConfig c = outsider();
    c.require_tls = false;
    c.tls_available = false;
    Driver d(c);
    d.feed("EHLO x\r\n");
    EXPECT_NE(d.out.find("250 AUTH PLAIN LOGIN\r\n"), std::string::npos) << d.out;
    EXPECT_EQ(d.out.find("STARTTLS"), std::string::npos) << d.out;
}

TEST(RelaySession, HeloIsEnough) {
    Driver d(allowed());
    d.feed("HELO old\r\n");
    EXPECT_EQ(d.out, kGreeting + "250 relay.test\r\n");
}

constexpr std::string_view kTransaction =
    "EHLO copier.lan\r\n"
    "MAIL FROM:<scan@lan.example> SIZE=40 BODY=8BITMIME\r\n"
    "RCPT TO:<a@example.com>\r\n"
    "RCPT TO:<b@example.com>\r\n"
    "RCPT TO:<a@example.com>\r\n"
    "DATA\r\n"
    "Subject: scan\r\n"
    "\r\n"
    "..dot line\r\n"
    "body\r\n"
    ".\r\n"
    "QUIT\r\n";

const std::string kTransactionReplies =
    "250-relay.test\r\n250-SIZE 36700160\r\n250-8BITMIME\r\n250-PIPELINING\r\n"
    "250-ENHANCEDSTATUSCODES\r\n250 STARTTLS\r\n"
    "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
    "354 End data with <CR><LF>.<CR><LF>\r\n"
    "250 2.0.0 Ok: queued as 1\r\n"
    "221 2.0.0 Bye\r\n";

TEST(RelaySession, AllowedNetworkSendsAtEverySplit) {
    for (const auto& chunks : test::every_split(kTransaction)) {
        Driver d(allowed());
        d.run(chunks);
        ASSERT_EQ(d.out, kGreeting + kTransactionReplies);
        ASSERT_EQ(d.messages.size(), 1U);
        const auto& m = d.messages[0];
        EXPECT_EQ(m.envelope.sender, "scan@lan.example");
        EXPECT_EQ(m.envelope.recipients,
                  (std::vector<std::string>{"a@example.com", "b@example.com"}));
        EXPECT_FALSE(m.envelope.user.has_value());
        ASSERT_EQ(m.data, "Subject: scan\r\n\r\n.dot line\r\nbody\r\n");
        EXPECT_EQ(m.envelope.size, m.data.size());
        EXPECT_TRUE(d.closed);
    }
}

// RFC 2920: the replies to a pipelined group go out together, not one
// write per command.
TEST(RelaySession, PipelinedRepliesAreSentInOneBatch) {
    Driver d(allowed());
    d.feed(
        "EHLO a\r\nMAIL FROM:<s@lan.example>\r\nRCPT TO:<r@example.com>\r\n"
        "RCPT TO:<q@example.com>\r\nDATA\r\n");
    EXPECT_EQ(d.sends, 1);
    EXPECT_TRUE(d.out.ends_with("354 End data with <CR><LF>.<CR><LF>\r\n")) << d.out;
}

TEST(RelaySession, CommandsMayEndWithABareLf) {
    Driver d(allowed());
    d.feed("HELO a\nMAIL FROM:<s@x.example>\nRCPT TO:<r@y.example>\nDATA\nhi\r\n.\r\n");
    ASSERT_EQ(d.messages.size(), 1U);
    EXPECT_EQ(d.messages[0].data, "hi\r\n");
}

TEST(RelaySession, EmptyMessageAndNullSender) {
    Driver d(allowed());
    d.feed("EHLO a\r\nMAIL FROM:<>\r\nRCPT TO:<r@y.example>\r\nDATA\r\n.\r\n");
    ASSERT_EQ(d.messages.size(), 1U);
    EXPECT_EQ(d.messages[0].envelope.sender, "");
    EXPECT_EQ(d.messages[0].data, "");
}

TEST(RelaySession, SenderWithoutAngleBracketsFromOldDevices) {
    Driver d(allowed());
    d.feed("HELO a\r\nMAIL FROM: scan@lan.example\r\nRCPT TO: r@y.example\r\n");
    EXPECT_TRUE(d.out.ends_with("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n")) << d.out;
}

TEST(RelaySession, ReplyToTheDotWaitsForTheHost) {
    Session s(allowed());
    s.feed(
        "EHLO a\r\nMAIL FROM:<s@x.example>\r\nRCPT "
        "TO:<r@y.example>\r\nDATA\r\nhi\r\n.\r\nNOOP\r\n");
    std::string out;
    Action a;
    while ((a = s.next()).kind == Action::send || a.kind == Action::data) out += a.text;
    ASSERT_EQ(a.kind, Action::message);
    // Nothing more until the message is durable: no 250, and the pipelined
    // NOOP waits.
    EXPECT_EQ(s.next().kind, Action::need_input);
    EXPECT_EQ(out.find("250 2.0.0"), std::string::npos);
    s.message_result("250 2.0.0 Ok: queued as 7");
    out.clear();
    while ((a = s.next()).kind == Action::send) out += a.text;
    EXPECT_EQ(a.kind, Action::need_input);
    EXPECT_EQ(out, "250 2.0.0 Ok: queued as 7\r\n250 2.0.0 Ok\r\n");
}

TEST(RelaySession, AFailedSubmitIsPassedOnAndTheTransactionEnds) {
    Driver d(allowed());
    d.next_reply = "451 4.3.0 Could not store the message now; try again later";
    d.feed(
        "EHLO a\r\nMAIL FROM:<s@x.example>\r\nRCPT TO:<r@y.example>\r\nDATA\r\nhi\r\n.\r\n"
        "RCPT TO:<r@y.example>\r\n");
    EXPECT_TRUE(
        d.out.ends_with("451 4.3.0 Could not store the message now; try again later\r\n"
                        "503 5.5.1 Need MAIL before RCPT\r\n"))
        << d.out;
}

// --- never an open relay ------------------------------------------------

TEST(RelaySession, OutsiderCannotSendWhateverItTries) {
    const std::string_view tricks =
        "EHLO evil\r\n"
        "RCPT TO:<victim@example.com>\r\n"  // RCPT without MAIL
        "DATA\r\n"                          // DATA without anything
        "MAIL FROM:<a@b.example>\r\n"       // MAIL without AUTH
        "RCPT TO:<victim@example.com>\r\n"
        "DATA\r\n"
        "Subject: spam\r\n"
        "\r\n"
        "buy\r\n"
        ".\r\n"
        "MAIL FROM:<a@b.example> AUTH=<a@b.example>\r\n"  // claiming auth in a parameter
        "AUTH PLAIN "
        "AGNvcGllcgBzM2NyZXQ="
        "\r\n"  // AUTH before TLS
        "RSET\r\n"
        "MAIL FROM:<>\r\n"
        "QUIT\r\n";
    for (const auto& chunks : test::every_split(tricks)) {
        Driver d(outsider());
        d.run(chunks);
        ASSERT_TRUE(d.messages.empty()) << d.out;
        EXPECT_EQ(d.logins, 0);
        EXPECT_TRUE(d.s.refused());
        EXPECT_EQ(d.out.find("354"), std::string::npos) << d.out;
        EXPECT_NE(d.out.find("503 5.5.1 Need MAIL before RCPT\r\n"), std::string::npos);
        EXPECT_NE(d.out.find("530 5.7.0 Authentication required: STARTTLS, then AUTH"),
                  std::string::npos);
        EXPECT_NE(d.out.find("538 5.7.11 Encryption required"), std::string::npos);
        EXPECT_TRUE(d.out.ends_with("221 2.0.0 Bye\r\n")) << d.out;
    }
}

TEST(RelaySession, GarbageEndsTheSessionAfterTooManyErrors) {
    SessionConfig c = outsider();
    c.max_errors = 3;
    Driver d(c);
    d.feed(
        "EHLO a\r\nMAIL FROM:<a@b.c>\r\nMAIL FROM:<a@b.c>\r\nMAIL FROM:<a@b.c>\r\nx\r\nNOOP\r\n");
    EXPECT_TRUE(d.closed);
    EXPECT_TRUE(d.out.ends_with("421 4.7.0 relay.test Too many errors, closing connection\r\n"))
        << d.out;
    EXPECT_EQ(d.out.find("250 2.0.0 Ok"), std::string::npos);
}

TEST(RelaySession, MailBeforeEhloIsRefused) {
    Driver d(allowed());
    d.feed("MAIL FROM:<a@b.example>\r\n");
    EXPECT_EQ(d.out, kGreeting + "503 5.5.1 Send EHLO or HELO first\r\n");
}

// --- AUTH -----------------------------------------------------------------

SessionConfig tls_outsider() {
    SessionConfig c = outsider();
    c.implicit_tls = true;
    return c;
}

TEST(RelaySession, AuthPlainWithInitialResponseAtEverySplit) {
    const std::string t = "EHLO a\r\nAUTH PLAIN " + plain_blob("", "copier", "s3cret") +
                          "\r\nMAIL FROM:<s@lan.example>\r\nRCPT TO:<r@example.com>\r\n"
                          "DATA\r\nhello\r\n.\r\n";
    for (const auto& chunks : test::every_split(t)) {
        Driver d(tls_outsider());
        d.run(chunks);
        ASSERT_NE(d.out.find("235 2.7.0 Authentication successful\r\n250 2.1.0 Ok\r\n"),
                  std::string::npos)
            << d.out;
        ASSERT_EQ(d.messages.size(), 1U);
        EXPECT_EQ(d.messages[0].envelope.user, std::optional<std::string>("copier"));
        EXPECT_EQ(d.logins, 1);
    }
}

TEST(RelaySession, AuthPlainWithAContinuation) {
    Driver d(tls_outsider());
    d.feed("EHLO a\r\nAUTH PLAIN\r\n");
    EXPECT_TRUE(d.out.ends_with("334 \r\n"));
    d.feed(plain_blob("copier", "copier", "s3cret") + "\r\n");
    EXPECT_TRUE(d.out.ends_with("235 2.7.0 Authentication successful\r\n")) << d.out;
}

TEST(RelaySession, AuthLoginBothWays) {
    Driver d(tls_outsider());
    d.feed("EHLO a\r\nAUTH LOGIN\r\n");
    EXPECT_TRUE(d.out.ends_with("334 VXNlcm5hbWU6\r\n"));
    d.feed(base64_encode(std::string_view("copier")) + "\r\n");
    EXPECT_TRUE(d.out.ends_with("334 UGFzc3dvcmQ6\r\n"));
    d.feed(base64_encode(std::string_view("s3cret")) + "\r\n");
    EXPECT_TRUE(d.out.ends_with("235 2.7.0 Authentication successful\r\n")) << d.out;

    Driver e(tls_outsider());
    e.feed("EHLO a\r\nAUTH LOGIN " + base64_encode(std::string_view("copier")) + "\r\n" +
           base64_encode(std::string_view("s3cret")) + "\r\n");
    EXPECT_TRUE(e.out.ends_with("334 UGFzc3dvcmQ6\r\n235 2.7.0 Authentication successful\r\n"))
        << e.out;
}

TEST(RelaySession, WrongPasswordIsRefusedAndMailStaysClosed) {
    Driver d(tls_outsider());
    d.feed("EHLO a\r\nAUTH PLAIN " + plain_blob("", "copier", "guess") +
           "\r\nMAIL FROM:<s@lan.example>\r\n");
    EXPECT_TRUE(
        d.out.ends_with("535 5.7.8 Authentication credentials invalid\r\n"
                        "530 5.7.0 Authentication required: AUTH with a device account\r\n"))
        << d.out;
    EXPECT_TRUE(d.s.refused());
}

TEST(RelaySession, ThreeFailedLoginsEndTheSession) {
    Driver d(tls_outsider());
    d.feed("EHLO a\r\n");
    for (int i = 0; i < 3; ++i) d.feed("AUTH PLAIN " + plain_blob("", "copier", "guess") + "\r\n");
    EXPECT_TRUE(d.closed);
    EXPECT_TRUE(d.out.ends_with("421 4.7.0 relay.test Too many failed logins\r\n")) << d.out;
    EXPECT_EQ(d.logins, 3);
}

TEST(RelaySession, ActingAsAnotherAccountIsRefused) {
    Driver d(tls_outsider());
    d.feed("EHLO a\r\nAUTH PLAIN " + plain_blob("boss", "copier", "s3cret") + "\r\n");
    EXPECT_TRUE(d.out.ends_with("501 5.5.2 Malformed PLAIN response\r\n")) << d.out;
    EXPECT_EQ(d.logins, 0);
}

TEST(RelaySession, AuthCancelledAndBadBase64AndUnknownMechanism) {
    Driver d(tls_outsider());
    d.feed("EHLO a\r\nAUTH PLAIN\r\n*\r\nAUTH PLAIN %%%\r\nAUTH CRAM-MD5\r\n");
    EXPECT_TRUE(
        d.out.ends_with("334 \r\n501 5.0.0 Authentication cancelled\r\n"
                        "501 5.5.2 Bad base64 in the AUTH response\r\n"
                        "504 5.5.4 Unrecognized authentication type: use PLAIN or LOGIN\r\n"))
        << d.out;
}

TEST(RelaySession, AuthTwiceAndAuthInATransactionAreRefused) {
    SessionConfig c = tls_outsider();
    Driver d(c);
    const std::string blob = plain_blob("", "copier", "s3cret");
    d.feed("EHLO a\r\nAUTH PLAIN " + blob + "\r\nAUTH PLAIN " + blob +
           "\r\nMAIL FROM:<a@b.example>\r\n");
    EXPECT_TRUE(
        d.out.ends_with("235 2.7.0 Authentication successful\r\n"
                        "503 5.5.1 Already authenticated\r\n250 2.1.0 Ok\r\n"))
        << d.out;
}

TEST(RelaySession, TranscriptNeverHoldsTheSecret) {
    Driver d(tls_outsider());
    const std::string blob = plain_blob("", "copier", "guess-me");
    d.feed("EHLO a\r\nAUTH PLAIN " + blob + "\r\nAUTH LOGIN\r\n" +
           base64_encode(std::string_view("copier")) + "\r\n" +
           base64_encode(std::string_view("guess-me")) + "\r\n");
    const std::string& t = d.s.transcript();
    EXPECT_NE(t.find("C: AUTH PLAIN ***\n"), std::string::npos) << t;
    EXPECT_NE(t.find("S: 535 5.7.8"), std::string::npos) << t;
    EXPECT_EQ(t.find(blob), std::string::npos) << t;
    EXPECT_EQ(t.find("guess-me"), std::string::npos) << t;
    EXPECT_EQ(t.find(base64_encode(std::string_view("guess-me"))), std::string::npos) << t;
}

// Row "a refused AUTH (538 before TLS, or 503) followed by a pipelined
// base64 line": the line is a password, and the transcript (logged by the
// server when something was refused) must not hold it.
TEST(RelaySession, LineAfterARefusedAuthIsMaskedBeforeTls) {
    Driver d(outsider());  // no TLS yet: AUTH is refused with 538
    const std::string blob = base64_encode(std::string_view("guess-me-please"));
    d.feed("EHLO a\r\nAUTH LOGIN\r\n" + blob + "\r\n");
    const std::string& t = d.s.transcript();
    EXPECT_NE(t.find("S: 538 5.7.11"), std::string::npos) << t;
    EXPECT_EQ(t.find(blob), std::string::npos) << t;
}

TEST(RelaySession, LineAfterAnAuthRefusedWith503IsMasked) {
    Driver d(tls_outsider());
    const std::string blob = plain_blob("", "copier", "guess-me-please");
    d.feed("AUTH PLAIN\r\n" + blob + "\r\n");  // before EHLO: 503
    const std::string& t = d.s.transcript();
    EXPECT_NE(t.find("S: 503 5.5.1"), std::string::npos) << t;
    EXPECT_EQ(t.find(blob), std::string::npos) << t;
}

// Row "a newline in the AUTH user name" and no client byte unescaped: the
// transcript keeps one client line per entry, control bytes escaped.
TEST(RelaySession, ControlBytesInCommandsAreEscapedInTheTranscript) {
    Driver d(outsider());
    d.feed("EHLO a\rweb: administrator logged in\x1b[2J\r\n");
    const std::string& t = d.s.transcript();
    EXPECT_EQ(t.find('\x1b'), std::string::npos) << t;
    EXPECT_EQ(t.find("\rweb:"), std::string::npos) << t;
    EXPECT_NE(t.find("\\rweb:"), std::string::npos) << t;
}

// --- STARTTLS ---------------------------------------------------------------

// Commands pipelined after STARTTLS in the clear (CVE-2011-0411 and kin)
// are never read, and nothing from before TLS counts afterwards.
TEST(RelaySession, StartTlsDropsPipelinedPlaintextAndForgetsTheSession) {
    SessionConfig c = outsider();
    c.require_tls = false;
    Driver d(c);
    d.feed("EHLO a\r\nAUTH PLAIN " + plain_blob("", "copier", "s3cret") + "\r\n");
    ASSERT_TRUE(d.out.ends_with("235 2.7.0 Authentication successful\r\n"));
    d.feed("STARTTLS\r\nMAIL FROM:<injected@evil.example>\r\nRCPT TO:<v@example.com>\r\n");
    EXPECT_TRUE(d.out.ends_with("220 2.0.0 Ready to start TLS\r\n<TLS>")) << d.out;
    // After TLS: no EHLO yet, and the login is gone.
    d.feed("MAIL FROM:<a@b.example>\r\nEHLO a\r\nMAIL FROM:<a@b.example>\r\n");
    EXPECT_TRUE(
        d.out.ends_with("<TLS>503 5.5.1 Send EHLO or HELO first\r\n"
                        "250-relay.test\r\n250-SIZE 36700160\r\n250-8BITMIME\r\n250-PIPELINING\r\n"
                        "250-ENHANCEDSTATUSCODES\r\n250 AUTH PLAIN LOGIN\r\n"
                        "530 5.7.0 Authentication required: AUTH with a device account\r\n"))
        << d.out;
    d.feed("STARTTLS\r\n");
    EXPECT_TRUE(d.out.ends_with("503 5.5.1 TLS already active\r\n"));
}

TEST(RelaySession, StartTlsWithoutACertificate) {
    SessionConfig c = outsider();
    c.tls_available = false;
    Driver d(c);
    d.feed("EHLO a\r\nSTARTTLS\r\n");
    EXPECT_TRUE(d.out.ends_with("454 4.7.0 TLS not available\r\n"));
}

// --- SMTP smuggling (SEC Consult, December 2023; CVE-2023-51764/5/6) ------

struct Vector {
    const char* name;
    std::string_view end;  // what the attacker hopes ends the data
};

using std::string_view_literals::operator""sv;
constexpr Vector kVectors[] = {
    {"LF.LF", "\n.\n"sv},
    {"LF.CRLF", "\n.\r\n"sv},
    {"CRLF.LF", "\r\n.\n"sv},
    {"CR.CR", "\r.\r"sv},
    {"CR.CRLF", "\r.\r\n"sv},
    {"CRLF.CR", "\r\n.\r"sv},
    {"CRLF.NULCRLF", "\r\n.\0\r\n"sv},
    {"CRLF.CRCRLF", "\r\n.\r\r\n"sv},
    {"LF.CR", "\n.\r"sv},
};

std::string smuggling(std::string_view end) {
    std::string t =
        "EHLO a\r\nMAIL FROM:<s@lan.example>\r\nRCPT TO:<r@example.com>\r\nDATA\r\n"
        "Subject: first\r\n\r\nfirst body";
    t += end;
    t += "MAIL FROM:<admin@victim.example>\r\nRCPT TO:<target@example.com>\r\nDATA\r\n"
         "From: admin@victim.example\r\nSubject: smuggled\r\n\r\nsmuggled\r\n";
    t += "\r\n.\r\nQUIT\r\n";
    return t;
}

TEST(RelaySmuggling, NoVectorSplitsAMessage) {
    for (const auto& v : kVectors) {
        const std::string t = smuggling(v.end);
        for (const auto& chunks : test::every_split(t)) {
            Driver d(allowed());
            d.run(chunks);
            ASSERT_EQ(d.messages.size(), 1U) << v.name << "\n" << d.out;
            const std::string& data = d.messages[0].data;
            EXPECT_NE(data.find("MAIL FROM:<admin@victim.example>"), std::string::npos) << v.name;
            EXPECT_NE(data.find("smuggled"), std::string::npos) << v.name;
            // Only CRLF line ends leave the relay: nothing downstream can be
            // fooled by this message either.
            for (std::size_t i = 0; i < data.size(); ++i) {
                if (data[i] == '\n') {
                    ASSERT_TRUE(i > 0 && data[i - 1] == '\r') << v.name;
                }
                if (data[i] == '\r') {
                    ASSERT_TRUE(i + 1 < data.size() && data[i + 1] == '\n') << v.name;
                }
            }
            EXPECT_EQ(d.messages[0].envelope.recipients, std::vector<std::string>{"r@example.com"});
            ASSERT_TRUE(d.out.ends_with("250 2.0.0 Ok: queued as 1\r\n221 2.0.0 Bye\r\n"))
                << v.name << "\n"
                << d.out;
        }
    }
}

TEST(RelaySmuggling, RejectModeRefusesTheWholeMessage) {
    for (const auto& v : kVectors) {
        if (std::string_view(v.name) == "CRLF.NULCRLF") continue;  // no bare CR or LF in it
        SessionConfig c = allowed();
        c.bare_lf = BareLf::reject;
        Driver d(c);
        d.feed(smuggling(v.end));
        EXPECT_TRUE(d.messages.empty()) << v.name;
        EXPECT_EQ(d.discards, 1) << v.name;
        EXPECT_TRUE(
            d.out.ends_with("550 5.5.2 Message refused: bare LF or CR in the data (end "
                            "every line with CRLF)\r\n221 2.0.0 Bye\r\n"))
            << v.name << "\n"
            << d.out;
    }
}

TEST(RelaySession, BareLineEndsAreNormalized) {
    Driver d(allowed());
    d.feed(
        "EHLO a\r\nMAIL FROM:<s@x.example>\r\nRCPT TO:<r@y.example>\r\nDATA\r\n"
        "a\nb\rc\r\r\n.x\r\n.\r\n");
    ASSERT_EQ(d.messages.size(), 1U);
    EXPECT_EQ(d.messages[0].data, "a\r\nb\r\nc\r\n\r\nx\r\n");
}

// --- limits -------------------------------------------------------------------

TEST(RelaySession, MessageTooBigIsReadToItsEndThenRefused) {
    SessionConfig c = allowed();
    c.max_message_size = 10;
    Driver d(c);
    d.feed(
        "EHLO a\r\nMAIL FROM:<s@x.example> SIZE=11\r\nMAIL FROM:<s@x.example> SIZE=10\r\n"
        "RCPT TO:<r@y.example>\r\nDATA\r\n0123456789abc\r\n.\r\nNOOP\r\n");
    EXPECT_TRUE(d.messages.empty());
    EXPECT_EQ(d.discards, 1);
    EXPECT_NE(d.out.find("552 5.3.4 Message too big: the limit is 10 bytes\r\n250 2.1.0 Ok"),
              std::string::npos)
        << d.out;
    EXPECT_TRUE(
        d.out.ends_with("552 5.3.4 Message too big: the limit is 10 bytes\r\n"
                        "250 2.0.0 Ok\r\n"))
        << d.out;
}

TEST(RelaySession, TooManyRecipients) {
    SessionConfig c = allowed();
    c.max_recipients = 2;
    Driver d(c);
    d.feed(
        "EHLO a\r\nMAIL FROM:<s@x.example>\r\nRCPT TO:<a@y.example>\r\nRCPT TO:<b@y.example>\r\n"
        "RCPT TO:<c@y.example>\r\n");
    EXPECT_TRUE(d.out.ends_with("452 4.5.3 Too many recipients: at most 2 per message\r\n"));
}

TEST(RelaySession, BadAddressesAndParameters) {
    Driver d(allowed());
    d.feed(
        "EHLO a\r\nMAIL FROM:<a b@x>\r\nMAIL FROM:<s@x.example> FOO=1\r\nMAIL TO:<x@y>\r\n"
        "MAIL FROM:<s@x.example>\r\nRCPT TO:<nodomain>\r\nRCPT TO:<r@y.example> NOTIFY=NEVER\r\n"
        "DATA\r\n");
    EXPECT_TRUE(
        d.out.ends_with("553 5.1.7 Bad sender address syntax\r\n"
                        "555 5.5.4 Unsupported parameter: FOO=1\r\n"
                        "501 5.5.4 Syntax: MAIL FROM:<address>\r\n"
                        "250 2.1.0 Ok\r\n"
                        "553 5.1.3 Bad recipient address syntax: use user@domain\r\n"
                        "555 5.5.4 Unsupported parameter: NOTIFY=NEVER\r\n"
                        "554 5.5.1 No valid recipients\r\n"))
        << d.out;
}

// sendmail -bs: a local caller's RCPT TO:<root> is a name for the aliases
// file; the relay itself never takes one.
TEST(RelaySession, LocalNamesOnlyWhereTheConfigTakesThem) {
    SessionConfig c = allowed();
    c.local_names = true;
    Driver d(c);
    d.feed("EHLO a\r\nMAIL FROM:<s@x.example>\r\nRCPT TO:<root>\r\nRCPT TO:<>\r\n");
    EXPECT_TRUE(
        d.out.ends_with("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
                        "553 5.1.3 Bad recipient address syntax: use user@domain\r\n"))
        << d.out;
    EXPECT_EQ(d.s.envelope().recipients, std::vector<std::string>{"root"});
}

TEST(RelaySession, TooManyCommandsCloses) {
    SessionConfig c = allowed();
    c.max_commands = 3;
    Driver d(c);
    d.feed("NOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\n");
    EXPECT_TRUE(d.closed);
    EXPECT_EQ(d.out, kGreeting +
                         "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n"
                         "421 4.7.0 relay.test Too many commands, closing connection\r\n");
}

TEST(RelaySession, OverlongLineIsRefusedWithoutBufferingIt) {
    Driver d(allowed());
    d.feed("NOOP " + std::string(5000, 'x'));
    d.feed(std::string(5000, 'x'));
    d.feed("\r\nNOOP\r\n");
    EXPECT_EQ(d.out, kGreeting + "500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n");
}

TEST(RelaySession, OtherCommands) {
    Driver d(allowed());
    d.feed("VRFY x\r\nHELP\r\nBDAT 10 LAST\r\nFOO\r\nEHLO\r\nRSET\r\nNOOP\r\nQUIT\r\nNOOP\r\n");
    EXPECT_EQ(d.out, kGreeting +
                         "252 2.5.2 Cannot VRFY user, but will accept message\r\n"
                         "214 2.0.0 See RFC 5321; log in with a device account (relay-users)\r\n"
                         "502 5.5.1 Command not implemented\r\n"
                         "500 5.5.2 Command not recognized\r\n"
                         "501 5.5.4 Give your host name: EHLO name\r\n"
                         "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n");
    EXPECT_TRUE(d.closed);
}

TEST(RelaySession, LoginCheckThatCannotRunSays454) {
    Session s(tls_outsider());
    s.feed("EHLO a\r\nAUTH PLAIN " + plain_blob("", "copier", "s3cret") + "\r\n");
    Action a;
    while ((a = s.next()).kind == Action::send) {
    }
    ASSERT_EQ(a.kind, Action::verify_login);
    s.login_unavailable();
    a = s.next();
    ASSERT_EQ(a.kind, Action::send);
    EXPECT_EQ(a.text, "454 4.7.0 Temporary authentication failure; try again later\r\n");
}

// Row "15 wrong passwords over 5 connections": when the shared count says
// this client is locked out, the session says so in clear text and closes.
TEST(RelaySession, LockedOutClientIsToldWhyAndClosed) {
    Session s(tls_outsider());
    s.feed("EHLO a\r\nAUTH PLAIN " + plain_blob("", "copier", "s3cret") + "\r\n");
    std::string out;
    Action a;
    while ((a = s.next()).kind != Action::verify_login) {
        ASSERT_NE(a.kind, Action::need_input);
        if (a.kind == Action::send) out += a.text;
    }
    s.login_locked();
    out.clear();
    while ((a = s.next()).kind == Action::send) out += a.text;
    EXPECT_EQ(out,
              "421 4.7.0 relay.test Too many failed logins from your address; try again "
              "later\r\n");
    EXPECT_EQ(a.kind, Action::close);
    EXPECT_TRUE(s.closed());
    EXPECT_TRUE(s.refused());
}

TEST(RelayPlain, ParsesAndRefuses) {
    using namespace std::string_view_literals;
    auto ok = parse_plain("\0user\0pass"sv);
    ASSERT_TRUE(ok.has_value());
    EXPECT_EQ(ok->user, "user");
    EXPECT_EQ(ok->password.reveal(), "pass");
    EXPECT_TRUE(parse_plain("user\0user\0pass"sv).has_value());
    EXPECT_FALSE(parse_plain("other\0user\0pass"sv).has_value());
    EXPECT_FALSE(parse_plain("\0\0pass"sv).has_value());
    EXPECT_FALSE(parse_plain("userpass"sv).has_value());
    EXPECT_FALSE(parse_plain("\0user"sv).has_value());
}

// Every state change goes through the one setter: the trace is a chain
// (each change starts where the last ended) through the phases of an
// authenticated send, ending closed.
TEST(RelaySession, EveryStateChangeIsTracedFromAndTo) {
    pb::test::StateLog states;
    SessionConfig c = tls_outsider();
    c.trace = states.trace();
    Driver d(std::move(c));
    d.feed("EHLO a\r\nAUTH LOGIN\r\n" + base64_encode("copier") + "\r\n" + base64_encode("s3cret") +
           "\r\nMAIL FROM:<s@lan.example>\r\nRCPT TO:<r@example.com>\r\n"
           "DATA\r\nhello\r\n.\r\nQUIT\r\n");
    ASSERT_EQ(d.messages.size(), 1U);
    ASSERT_FALSE(states.changes.empty());
    EXPECT_EQ(states.changes.front().first, "command");
    EXPECT_EQ(states.broken_link(), "");
    const auto to = states.entered();
    EXPECT_EQ(to, (std::vector<std::string>{"auth_user", "auth_pass", "verifying", "command",
                                            "data", "submitting", "command", "closed"}));
}

}  // namespace
}  // namespace pb::relay
