// sendmail's input made fit to send: CRLF, Bcc removed, From/Date/Message-ID
// added when missing; whatever the chunks the input arrives in.
#include "mime/preformed.hpp"

#include <gtest/gtest.h>

#include "support/drain.hpp"
#include "support/fakes.hpp"
#include "support/transcript.hpp"

namespace pb::mime {
namespace {

// Gives its chunks one per read, like a pipe.
class ChunkSource final : public ByteSource {
  public:
    explicit ChunkSource(test::Chunks chunks) : chunks_(std::move(chunks)) {}
    Result<std::size_t> read(std::span<char> out) override {
        if (next_ == chunks_.size()) return std::size_t{0};
        std::string_view& c = chunks_[next_];
        const std::size_t n = std::min(c.size(), out.size());
        std::copy_n(c.begin(), n, out.begin());
        c.remove_prefix(n);
        if (c.empty()) ++next_;
        return n;
    }

  private:
    test::Chunks chunks_;
    std::size_t next_ = 0;
};

Mailbox sender() {
    return *parse_mailbox("Scanner <scanner@example.com>");
}

Result<Preformed> wrap(std::string_view input, const PreformedOptions& options = {}) {
    test::ManualClock clock;
    test::CountingRandom random;
    return wrap_preformed(std::make_unique<ChunkSource>(test::Chunks{input}), sender(), clock,
                          random, options);
}

PreformedOptions rewrite() {
    PreformedOptions o;
    o.rewrite_from = true;
    return o;
}

TEST(Preformed, AddsFromDateMessageIdAndMakesCrlf) {
    auto p = wrap("To: a@example.com\nSubject: hi\n\nbody\nline\n");
    ASSERT_TRUE(p.ok()) << p.error().detail;
    EXPECT_EQ(test::drain(*p->message, 100),
              "To: a@example.com\r\n"
              "Subject: hi\r\n"
              "From: Scanner <scanner@example.com>\r\n"
              "Date: Fri, 15 Jan 2027 08:00:00 +0000\r\n"
              "Message-ID: <0102030405060708090a0b0c0d0e0f10@example.com>\r\n"
              "\r\n"
              "body\r\n"
              "line\r\n");
    EXPECT_TRUE(p->added_from);
    ASSERT_EQ(p->to.size(), 1u);
}

TEST(Preformed, KeepsWhatIsThere) {
    const std::string in =
        "From: Me <me@example.com>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: "
        "<x@y>\r\n\r\nb\r\n";
    auto p = wrap(in);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(test::drain(*p->message, 100), in);
    EXPECT_EQ(p->from.addr_spec(), "me@example.com");
    EXPECT_EQ(p->message_id, "<x@y>");
    EXPECT_FALSE(p->added_from);
}

TEST(Preformed, StripsFoldedBcc) {
    auto p = wrap(
        "From: me@example.com\r\nBcc: a@example.com,\r\n  b@example.com\r\nTo: c@example.com\r\n"
        "Date: x\r\nMessage-ID: <1@example.com>\r\n\r\nbody\r\n");
    ASSERT_TRUE(p.ok());
    const std::string out = test::drain(*p->message, 100);
    EXPECT_EQ(out.find("Bcc"), std::string::npos);
    EXPECT_EQ(out.find("b@example.com"), std::string::npos);
    ASSERT_EQ(p->bcc.size(), 2u);
    EXPECT_EQ(p->bcc[1].addr_spec(), "b@example.com");
}

TEST(Preformed, UndisclosedRecipientsIsAnEmptyList) {
    auto p = wrap("To: undisclosed-recipients:;\n\nx\n");
    ASSERT_TRUE(p.ok()) << p.error().detail;
    EXPECT_TRUE(p->to.empty());
}

TEST(Preformed, BadFromNamesTheField) {
    auto p = wrap("From: broken@\n\nx\n");
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().code, Errc::invalid_input);
    EXPECT_EQ(p.error().detail, "From: \"broken@\" has no domain after @");
}

TEST(Preformed, NonHeaderLineStartsTheBody) {
    auto p = wrap("Subject: x\nthis is body\n");
    ASSERT_TRUE(p.ok());
    const std::string out = test::drain(*p->message, 100);
    EXPECT_TRUE(out.ends_with("\r\n\r\nthis is body\r\n")) << out;
}

TEST(Preformed, MboxFromLineDropped) {
    auto p = wrap("From someone Mon Jan  1 00:00:00 2024\nSubject: x\n\nb\n");
    ASSERT_TRUE(p.ok());
    EXPECT_TRUE(test::drain(*p->message, 100).starts_with("Subject: x\r\n"));
}

TEST(Preformed, NoBodyAtAll) {
    auto p = wrap("Subject: x");
    ASSERT_TRUE(p.ok());
    const std::string out = test::drain(*p->message, 100);
    EXPECT_TRUE(out.ends_with("Message-ID: <0102030405060708090a0b0c0d0e0f10@example.com>\r\n\r\n"))
        << out;
}

TEST(Preformed, SameOutputAtEverySplit) {
    const std::string in =
        "From: me@example.com\rTo: a@example.com\r\nBcc: h@example.com\n\r\nx\ry\r\nz\r";
    std::string first;
    for (const auto& chunks : test::every_split(in)) {
        test::ManualClock clock;
        test::CountingRandom random;
        auto p = wrap_preformed(std::make_unique<ChunkSource>(chunks), sender(), clock, random);
        ASSERT_TRUE(p.ok());
        const std::string out = test::drain(*p->message, 100);
        if (first.empty()) first = out;
        EXPECT_EQ(out, first);
    }
    EXPECT_TRUE(first.ends_with("\r\n\r\nx\r\ny\r\nz\r\n")) << first;
    EXPECT_EQ(first.find("h@example.com"), std::string::npos);
}

TEST(Preformed, HugeHeaderRefused) {
    std::string in;
    while (in.size() < (1u << 20) + 100) in += "X-Filler: " + std::string(60, 'f') + "\n";
    auto p = wrap(in + "\nbody\n");
    ASSERT_FALSE(p.ok());
    EXPECT_NE(p.error().detail.find("larger than 1 MiB"), std::string::npos);
}

// sender_policy=rewrite: the service sends as the signed-in mailbox only.
TEST(PreformedRewrite, ReplacesFromAndKeepsTheOriginalInReplyTo) {
    const std::string in =
        "From: \"Copier 3F\" <copier@lan.example>\r\nTo: a@example.com\r\nSubject: s\r\n"
        "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <x@y>\r\n\r\nbody\r\n";
    auto p = wrap(in, rewrite());
    ASSERT_TRUE(p.ok()) << p.error().detail;
    EXPECT_EQ(test::drain(*p->message, 100),
              "From: Copier 3F <scanner@example.com>\r\n"
              "Reply-To: \"Copier 3F\" <copier@lan.example>\r\n"
              "To: a@example.com\r\nSubject: s\r\n"
              "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <x@y>\r\n\r\nbody\r\n");
    EXPECT_EQ(p->from.addr_spec(), "scanner@example.com");
    ASSERT_TRUE(p->original_from.has_value());
    EXPECT_EQ(*p->original_from, "\"Copier 3F\" <copier@lan.example>");
}

TEST(PreformedRewrite, KeepsAnExistingReplyTo) {
    auto p = wrap("Reply-To: desk@lan.example\nFrom: copier@lan.example\n\nb\n", rewrite());
    ASSERT_TRUE(p.ok());
    const std::string out = test::drain(*p->message, 100);
    EXPECT_NE(out.find("Reply-To: desk@lan.example\r\nFrom: Scanner <scanner@example.com>\r\n"),
              std::string::npos)
        << out;
    EXPECT_EQ(out.find("copier@lan.example"), std::string::npos) << out;
}

TEST(PreformedRewrite, LeavesTheSenderItselfAlone) {
    const std::string in =
        "From: Someone <SCANNER@example.com>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
        "Message-ID: <x@y>\r\n\r\nb\r\n";
    auto p = wrap(in, rewrite());
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(test::drain(*p->message, 100), in);
    EXPECT_FALSE(p->original_from.has_value());
}

TEST(PreformedRewrite, ReplacesAFromThatDoesNotParse) {
    auto p = wrap("From: <<broken\r\n\r\nb\r\n", rewrite());
    ASSERT_TRUE(p.ok()) << p.error().detail;
    const std::string out = test::drain(*p->message, 100);
    EXPECT_TRUE(out.starts_with("From: Scanner <scanner@example.com>\r\nDate: ")) << out;
    EXPECT_EQ(out.find("Reply-To"), std::string::npos) << out;
    EXPECT_EQ(out.find("broken"), std::string::npos) << out;
}

TEST(PreformedRewrite, AddsFromWhenMissing) {
    auto p = wrap("Subject: s\r\n\r\nb\r\n", rewrite());
    ASSERT_TRUE(p.ok());
    EXPECT_TRUE(p->added_from);
    EXPECT_NE(test::drain(*p->message, 100).find("From: Scanner <scanner@example.com>\r\n"),
              std::string::npos);
}

TEST(PreformedRewrite, KeepsOnlyOneFrom) {
    auto p = wrap("From: a@lan.example\r\nFrom: b@lan.example\r\n\r\nb\r\n", rewrite());
    ASSERT_TRUE(p.ok());
    const std::string out = test::drain(*p->message, 100);
    EXPECT_EQ(out.find("b@lan.example"), std::string::npos) << out;
    EXPECT_EQ(out.find("From:"), out.rfind("From:")) << out;
}

// A relay passes on what a device wrote: a To it cannot parse is no reason
// to refuse the message; sendmail -t still needs it parsed.
TEST(Preformed, MalformedToIsKeptWhenRecipientsAreNotParsed) {
    PreformedOptions o;
    o.parse_recipients = false;
    const std::string in = "To: ,,,<<weird\r\nBcc: x@y.example\r\n\r\nb\r\n";
    auto p = wrap(in, o);
    ASSERT_TRUE(p.ok()) << p.error().detail;
    const std::string out = test::drain(*p->message, 100);
    EXPECT_TRUE(out.starts_with("To: ,,,<<weird\r\n")) << out;
    EXPECT_EQ(out.find("Bcc"), std::string::npos) << out;
    EXPECT_TRUE(p->to.empty());
    EXPECT_FALSE(wrap(in).ok());
}

}  // namespace
}  // namespace pb::mime
