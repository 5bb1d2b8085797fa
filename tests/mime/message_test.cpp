// The streaming builder: exact bytes of small messages, exact sizes for
// SMTP SIZE=, refusals (652 naming the field), and a large message read
// back by an independent parser (Python's email package).
#include "mime/message.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/source.hpp"
#include "support/drain.hpp"
#include "support/fakes.hpp"
#include "support/peers.hpp"

namespace pb::mime {
namespace {

using test::CountingRandom;
using test::ManualClock;

Draft simple() {
    Draft d;
    d.from = "Scan Desk <scan@example.com>";
    d.to = {"a@example.com"};
    d.subject = "Hello";
    d.text = "Line 1\nLine 2";
    return d;
}

std::unique_ptr<Message> build(Draft d) {
    ManualClock clock;
    CountingRandom random;
    auto m = build_message(std::move(d), clock, random);
    EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().detail);
    return m.ok() ? std::move(*m) : nullptr;
}

Error refusal(Draft d) {
    ManualClock clock;
    CountingRandom random;
    auto m = build_message(std::move(d), clock, random);
    EXPECT_FALSE(m.ok());
    if (m.ok()) return Error{Errc::invalid_input, ""};
    EXPECT_EQ(m.error().code, Errc::invalid_input);
    return m.error();
}

Attachment bytes(std::string name, std::string content, std::string type = {}) {
    return Attachment{std::move(name), std::move(type),
                      std::make_unique<StringSource>(std::move(content))};
}

// Every line ends with CRLF, no CR or LF appears alone, no line is over 78.
void expect_clean_lines(std::string_view s) {
    std::size_t start = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\r') {
            ASSERT_TRUE(i + 1 < s.size() && s[i + 1] == '\n') << "bare CR at " << i;
        } else if (s[i] == '\n') {
            ASSERT_TRUE(i > 0 && s[i - 1] == '\r') << "bare LF at " << i;
            ASSERT_LE(i - 1 - start, 78u) << "long line at " << start;
            start = i + 1;
        }
    }
    EXPECT_TRUE(s.ends_with("\r\n"));
}

TEST(Message, SimpleTextExactBytes) {
    auto m = build(simple());
    ASSERT_TRUE(m);
    const std::string expected =
        "From: Scan Desk <scan@example.com>\r\n"
        "To: a@example.com\r\n"
        "Subject: Hello\r\n"
        "Date: Fri, 15 Jan 2027 08:00:00 +0000\r\n"
        "Message-ID: <0102030405060708090a0b0c0d0e0f10@example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "Line 1\r\n"
        "Line 2\r\n";
    EXPECT_EQ(m->size_hint(), expected.size());
    EXPECT_EQ(test::drain(*m), expected);
    EXPECT_EQ(m->message_id(), "<0102030405060708090a0b0c0d0e0f10@example.com>");
}

TEST(Message, AttachmentExactBytes) {
    Draft d = simple();
    d.attachments.push_back(bytes("scan.pdf", "%PDF-1.4 hello"));
    auto m = build(std::move(d));
    ASSERT_TRUE(m);
    const std::string b = "=_pb_1112131415161718191a1b1c";
    const std::string expected =
        "From: Scan Desk <scan@example.com>\r\n"
        "To: a@example.com\r\n"
        "Subject: Hello\r\n"
        "Date: Fri, 15 Jan 2027 08:00:00 +0000\r\n"
        "Message-ID: <0102030405060708090a0b0c0d0e0f10@example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"" +
        b +
        "\"\r\n"
        "\r\n"
        "--" +
        b +
        "\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "Line 1\r\n"
        "Line 2\r\n"
        "\r\n--" +
        b +
        "\r\n"
        "Content-Type: application/pdf; name=\"scan.pdf\"\r\n"
        "Content-Disposition: attachment; filename=\"scan.pdf\"\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        "JVBERi0xLjQgaGVsbG8=\r\n"
        "\r\n--" +
        b + "--\r\n";
    EXPECT_EQ(m->size_hint(), expected.size());
    EXPECT_EQ(test::drain(*m, 7), expected);
}

TEST(Message, SizeHintIsExactForEveryAttachmentLength) {
    for (std::size_t n : {0u, 1u, 2u, 3u, 56u, 57u, 58u, 114u, 1000u, 47880u, 47881u, 200000u}) {
        Draft d = simple();
        d.attachments.push_back(bytes("a.bin", std::string(n, 'x')));
        d.attachments.push_back(bytes("b.bin", std::string(n / 2, 'y')));
        auto m = build(std::move(d));
        ASSERT_TRUE(m);
        const std::string out = test::drain(*m, 1000);
        EXPECT_EQ(m->size_hint(), out.size()) << "attachment of " << n;
        expect_clean_lines(out);
    }
}

TEST(Message, ReadSizeDoesNotChangeTheBytes) {
    Draft d1 = simple();
    d1.attachments.push_back(bytes("a.bin", std::string(100000, 'q')));
    Draft d2 = simple();
    d2.attachments.push_back(bytes("a.bin", std::string(100000, 'q')));
    auto a = build(std::move(d1));
    auto b = build(std::move(d2));
    EXPECT_EQ(test::drain(*a, 1), test::drain(*b, 1 << 20));
}

TEST(Message, BccOnlyInTheEnvelope) {
    Draft d = simple();
    d.cc = {"c@example.com"};
    d.bcc = {"hidden@example.com, a@example.com"};
    auto m = build(std::move(d));
    ASSERT_TRUE(m);
    const std::string out = test::drain(*m);
    EXPECT_EQ(out.find("hidden"), std::string::npos);
    EXPECT_EQ(out.find("Bcc"), std::string::npos);
    EXPECT_EQ(m->envelope().sender, "scan@example.com");
    EXPECT_EQ(m->envelope().recipients,
              (std::vector<std::string>{"a@example.com", "c@example.com", "hidden@example.com"}));
}

TEST(Message, OnlyBccGetsUndisclosedRecipients) {
    Draft d = simple();
    d.to.clear();
    d.bcc = {"hidden@example.com"};
    auto m = build(std::move(d));
    ASSERT_TRUE(m);
    EXPECT_NE(test::drain(*m).find("To: undisclosed-recipients:;\r\n"), std::string::npos);
}

TEST(Message, IdnAndUtf8Addresses) {
    Draft d = simple();
    d.to = {"info@bücher.example"};
    auto m = build(std::move(d));
    ASSERT_TRUE(m);
    EXPECT_FALSE(m->envelope().smtputf8);
    EXPECT_EQ(m->envelope().recipients[0], "info@xn--bcher-kva.example");
    Draft d2 = simple();
    d2.to = {"jürgen@example.de"};
    auto m2 = build(std::move(d2));
    ASSERT_TRUE(m2);
    EXPECT_TRUE(m2->envelope().smtputf8);
}

TEST(Message, BareLineEndsBecomeCrlf) {
    Draft d = simple();
    d.text = "a\rb\nc\r\nd\n\ne";
    auto m = build(std::move(d));
    ASSERT_TRUE(m);
    const std::string out = test::drain(*m);
    EXPECT_TRUE(out.ends_with("\r\n\r\na\r\nb\r\nc\r\nd\r\n\r\ne\r\n")) << out;
    expect_clean_lines(out);
}

TEST(Message, NonAsciiBodyIsQuotedPrintable) {
    Draft d = simple();
    d.text = "Grüße aus dem Büro";
    const std::string out = test::drain(*build(std::move(d)));
    EXPECT_NE(out.find("Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe aus dem "
                       "B=C3=BCro\r\n"),
              std::string::npos)
        << out;
}

TEST(Message, CjkBodyIsBase64) {
    Draft d = simple();
    d.text = "日本語のテキスト";
    const std::string out = test::drain(*build(std::move(d)));
    EXPECT_NE(out.find("Content-Transfer-Encoding: base64\r\n"), std::string::npos) << out;
}

TEST(Message, LongAsciiLineIsQuotedPrintable) {
    Draft d = simple();
    d.text = std::string(1200, 'x');
    const std::string out = test::drain(*build(std::move(d)));
    EXPECT_NE(out.find("quoted-printable"), std::string::npos);
    expect_clean_lines(out);
}

TEST(Message, HtmlAlternative) {
    Draft d = simple();
    d.html = "<p>Line 1</p>";
    const std::string out = test::drain(*build(std::move(d)));
    EXPECT_NE(out.find("Content-Type: multipart/alternative; boundary=\""), std::string::npos);
    EXPECT_LT(out.find("text/plain"), out.find("text/html"));
}

TEST(Message, ContentTypeFromFileName) {
    Draft d = simple();
    d.attachments.push_back(bytes("dir/Scan.JPEG", "x"));
    d.attachments.push_back(bytes("data.xlsx", "x"));
    d.attachments.push_back(bytes("noext", "x"));
    const std::string out = test::drain(*build(std::move(d)));
    EXPECT_NE(out.find("Content-Type: image/jpeg; name=\"Scan.JPEG\""), std::string::npos) << out;
    EXPECT_NE(out.find("spreadsheetml.sheet"), std::string::npos);
    EXPECT_NE(out.find("application/octet-stream; name=\"noext\""), std::string::npos);
}

TEST(Message, SubjectInjectionRefused) {
    Draft d = simple();
    d.subject = "Hi\r\nBcc: victim@example.com";
    const Error e = refusal(std::move(d));
    EXPECT_EQ(e.detail, "Subject: the value contains a line break (refused: header injection)");
}

TEST(Message, DisplayNameInjectionRefused) {
    Draft d = simple();
    d.from = "Evil\nBcc: x@example.com <scan@example.com>";
    EXPECT_NE(refusal(std::move(d)).detail.find("From: "), std::string::npos);
}

TEST(Message, FileNameInjectionRefused) {
    Draft d = simple();
    d.attachments.push_back(bytes("a.pdf\r\nContent-Type: text/html", "x"));
    EXPECT_NE(refusal(std::move(d)).detail.find("attachment file name: "), std::string::npos);
}

TEST(Message, ContentTypeInjectionRefused) {
    Draft d = simple();
    d.attachments.push_back(bytes("a.pdf", "x", "text/html\r\nX-Evil: 1"));
    EXPECT_NE(refusal(std::move(d)).detail.find("is not a media type"), std::string::npos);
}

TEST(Message, BadToNamesTheField) {
    Draft d = simple();
    d.to = {"ok@example.com, broken@"};
    EXPECT_EQ(refusal(std::move(d)).detail, "To: \"broken@\" has no domain after @");
}

TEST(Message, BadCcNamesTheField) {
    Draft d = simple();
    d.cc = {"nope"};
    EXPECT_TRUE(refusal(std::move(d)).detail.starts_with("Cc: \"nope\""));
}

TEST(Message, NoRecipientRefused) {
    Draft d = simple();
    d.to.clear();
    EXPECT_TRUE(refusal(std::move(d)).detail.starts_with("To: no recipient"));
}

TEST(Message, InvalidUtf8BodyRefused) {
    Draft d = simple();
    d.text = "ok \xFF";
    EXPECT_EQ(refusal(std::move(d)).detail, "body: not valid UTF-8 (at byte 3)");
}

// A source that claims one size and delivers another, like a file
// truncated while it is being sent.
class LyingSource final : public ByteSource {
  public:
    LyingSource(std::uint64_t claimed, std::size_t real) : claimed_(claimed), left_(real) {}
    Result<std::size_t> read(std::span<char> out) override {
        const std::size_t n = std::min(out.size(), left_);
        std::fill_n(out.data(), n, 'z');
        left_ -= n;
        return n;
    }
    std::optional<std::uint64_t> size_hint() const override { return claimed_; }

  private:
    std::uint64_t claimed_;
    std::size_t left_;
};

Result<std::size_t> read_all(ByteSource& s) {
    std::string buf(65536, '\0');
    std::size_t total = 0;
    for (;;) {
        auto n = s.read(std::span<char>(buf.data(), buf.size()));
        if (!n.ok() || *n == 0) return n.ok() ? Result<std::size_t>(total) : n;
        total += *n;
    }
}

TEST(Message, ShrunkAttachmentFailsTheRead) {
    Draft d = simple();
    d.attachments.push_back(Attachment{"a.bin", {}, std::make_unique<LyingSource>(1000, 10)});
    auto m = build(std::move(d));
    auto r = read_all(*m);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::invalid_input);
    EXPECT_NE(r.error().detail.find("\"a.bin\" changed size"), std::string::npos);
}

TEST(Message, GrownAttachmentFailsTheRead) {
    Draft d = simple();
    d.attachments.push_back(Attachment{"a.bin", {}, std::make_unique<LyingSource>(10, 100000)});
    auto m = build(std::move(d));
    EXPECT_FALSE(read_all(*m).ok());
}

TEST(Message, MissingFileIsRefused) {
    auto a = attach_file("/nonexistent/scan.pdf");
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.error().code, Errc::invalid_input);
    EXPECT_NE(a.error().detail.find("/nonexistent/scan.pdf"), std::string::npos);
}

class TempDir {
  public:
    TempDir() {
        char tmpl[] = "/tmp/pb-mime-XXXXXX";
        path_ = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

void write_file(const std::filesystem::path& p, std::size_t size, std::uint64_t seed) {
    std::ofstream out(p, std::ios::binary);
    std::string buf(1 << 16, '\0');
    std::uint64_t x = seed;
    for (std::size_t done = 0; done < size;) {
        for (auto& c : buf) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c = static_cast<char>(x);
        }
        const std::size_t n = std::min(buf.size(), size - done);
        out.write(buf.data(), static_cast<std::streamsize>(n));
        done += n;
    }
}

// The issue's acceptance message, checked by an independent parser.
TEST(MessagePython, ThreeAttachmentsNonAsciiSubjectReadBackByPythonEmail) {
    TempDir dir;
    const auto big = dir.path() / "scan-20MB.pdf";
    const auto accented = dir.path() / "Überweisung März 2027 – Kopie.tiff";
    const auto small = dir.path() / "notes.txt";
    write_file(big, 20 * 1000 * 1000, 1);
    write_file(accented, 123457, 2);
    { std::ofstream(small) << "plain\nnotes\n"; }

    Draft d;
    d.from = "Scanner Büro 3 <scanner@example.com>";
    d.to = {"Jürgen Müller <juergen@example.com>, second@example.com"};
    d.cc = {"\"Doe, Jane\" <jane@example.com>"};
    d.bcc = {"audit@example.com"};
    d.subject = "Gescannte Dokumente: Überweisung März – 20 MB Anhang ✓ (Teil 1 von 1)";
    d.text = "Guten Tag,\nanbei die gescannten Seiten.\n";
    for (const auto& p : {big, accented, small}) {
        auto a = attach_file(p);
        ASSERT_TRUE(a.ok()) << a.error().detail;
        d.attachments.push_back(std::move(*a));
    }
    auto m = build(std::move(d));
    ASSERT_TRUE(m);
    const auto eml = dir.path() / "message.eml";
    std::string all;
    {
        std::ofstream out(eml, std::ios::binary);
        std::string buf(65536, '\0');
        for (;;) {
            auto n = m->read(std::span<char>(buf.data(), buf.size()));
            ASSERT_TRUE(n.ok()) << n.error().detail;
            if (*n == 0) break;
            out.write(buf.data(), static_cast<std::streamsize>(*n));
            all.append(buf.data(), *n);
        }
    }
    EXPECT_EQ(m->size_hint(), all.size());
    expect_clean_lines(all);

    const std::string cmd = "python3 '" + test::source_dir() + "/tests/mime/parse_message.py' '" +
                            eml.string() + "' '" + big.string() + "' '" + accented.string() +
                            "' '" + small.string() + "'";
    const auto r = test::run_command(cmd);
    ASSERT_EQ(r.status, 0) << r.out;
    const std::string expected =
        "From=Scanner Büro 3 <scanner@example.com>\n"
        "To=Jürgen Müller <juergen@example.com>, second@example.com\n"
        "Cc=\"Doe, Jane\" <jane@example.com>\n"
        "Bcc=<absent>\n"
        "Subject=Gescannte Dokumente: Überweisung März – 20 MB Anhang ✓ (Teil 1 von 1)\n"
        "Date=Fri, 15 Jan 2027 08:00:00 +0000\n"
        "Message-ID=<0102030405060708090a0b0c0d0e0f10@example.com>\n"
        "MIME-Version=1.0\n"
        "defects=none\n"
        "content-type=multipart/mixed\n"
        "text='Guten Tag,\\nanbei die gescannten Seiten.\\n'\n"
        "attachment=scan-20MB.pdf|application/pdf|20000000|identical\n"
        "attachment=Überweisung März 2027 – Kopie.tiff|image/tiff|123457|identical\n"
        "attachment=notes.txt|text/plain|12|identical\n";
    EXPECT_EQ(r.out, expected);
}

}  // namespace
}  // namespace pb::mime
