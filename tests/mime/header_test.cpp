// Header encoding: encoded words, folding, RFC 2231 parameters, injection.
#include "mime/header.hpp"

#include <gtest/gtest.h>

#include "mime/utf8.hpp"

namespace pb::mime {
namespace {

std::vector<std::string> lines_of(const std::string& field) {
    std::vector<std::string> out;
    std::size_t p = 0;
    while (p < field.size()) {
        const auto e = field.find("\r\n", p);
        out.push_back(field.substr(p, e - p));
        p = e + 2;
    }
    return out;
}

void expect_well_folded(const std::string& field) {
    ASSERT_TRUE(field.ends_with("\r\n"));
    const auto lines = lines_of(field);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        EXPECT_LE(lines[i].size(), kHeaderLineLimit) << field;
        EXPECT_EQ(lines[i].find_first_of("\r\n"), std::string::npos);
        if (i > 0) {
            EXPECT_EQ(lines[i][0], ' ') << field;
        }
        EXPECT_NE(lines[i].find_first_not_of(" \t"), std::string::npos)
            << "whitespace-only line in " << field;
    }
}

std::string subject(std::string_view text) {
    HeaderField f("Subject");
    f.unstructured(text);
    return std::move(f).finish();
}

std::string value_of(const std::string& field) {
    const auto colon = field.find(':');
    std::string v = field.substr(colon + 1, field.size() - colon - 3);
    if (!v.empty() && v[0] == ' ') v.erase(0, 1);
    return v;
}

TEST(HeaderInjection, CrRefusedNamingField) {
    auto r = check_header_value("Subject", "Hello\rBcc: x@example.com");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::invalid_input);
    EXPECT_EQ(r.error().detail,
              "Subject: the value contains a line break (refused: header injection)");
}

TEST(HeaderInjection, LfRefused) {
    EXPECT_FALSE(check_header_value("Subject", "a\nb").ok());
}

TEST(HeaderInjection, NulRefused) {
    EXPECT_FALSE(check_header_value("Subject", std::string_view("a\0b", 3)).ok());
}

TEST(HeaderInjection, TabAllowed) {
    EXPECT_TRUE(check_header_value("Subject", "a\tb").ok());
}

TEST(HeaderInjection, InvalidUtf8Refused) {
    auto r = check_header_value("Subject", "caf\xC3(");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().detail.find("UTF-8 (at byte 3)"), std::string::npos);
}

TEST(Utf8, OverlongAndSurrogateRefused) {
    EXPECT_FALSE(is_utf8("\xC0\xAF"));
    EXPECT_FALSE(is_utf8("\xED\xA0\x80"));
    EXPECT_FALSE(is_utf8("\xF4\x90\x80\x80"));
    EXPECT_TRUE(is_utf8("\xF0\x9F\x93\xA0"));
}

TEST(Subject, PlainAsciiStaysReadable) {
    EXPECT_EQ(subject("Scan from MFP-3"), "Subject: Scan from MFP-3\r\n");
}

TEST(Subject, LongAsciiIsFoldedAtSpaces) {
    std::string text;
    for (int i = 0; i < 30; ++i) text += "word" + std::to_string(i) + " ";
    text += "end";
    const auto f = subject(text);
    expect_well_folded(f);
    EXPECT_EQ(decode_words(value_of(f)), text);
}

TEST(Subject, RunsOfSpacesAreKept) {
    EXPECT_EQ(subject("a  b"), "Subject: a  b\r\n");
}

TEST(Subject, LooksLikeEncodedWordIsEncoded) {
    const auto f = subject("=?UTF-8?Q?x?=");
    EXPECT_EQ(decode_words(value_of(f)), "=?UTF-8?Q?x?=");
}

TEST(Subject, MostlyAsciiUsesQ) {
    EXPECT_EQ(subject("Café menu"), "Subject: =?UTF-8?Q?Caf=C3=A9_menu?=\r\n");
}

TEST(Subject, MostlyNonAsciiUsesB) {
    EXPECT_EQ(subject("日本語"), "Subject: =?UTF-8?B?5pel5pys6Kqe?=\r\n");
}

TEST(Subject, LongNonAsciiIsSplitIntoWordsOnCharacterBoundaries) {
    std::string text;
    for (int i = 0; i < 40; ++i) text += "Überweisung ✓ ";
    const auto f = subject(text);
    expect_well_folded(f);
    EXPECT_EQ(decode_words(value_of(f)), text);
    // Every word decodes to valid UTF-8 on its own: no sequence was cut.
    for (const auto& line : lines_of(f)) {
        std::size_t p = 0;
        while ((p = line.find("=?", p)) != std::string::npos) {
            const auto e = line.find("?=", p + 10);
            const std::string w = line.substr(p, e + 2 - p);
            EXPECT_LE(w.size(), kEncodedWordLimit);
            EXPECT_TRUE(is_utf8(decode_words(w))) << w;
            p = e + 2;
        }
    }
}

TEST(EncodedWords, FirstLimitIsHonoured) {
    const auto words = encode_words("ééééééééééééééééééééééééé", 30);
    ASSERT_GT(words.size(), 1u);
    EXPECT_LE(words[0].size(), 30u);
}

TEST(DecodeWords, WhitespaceBetweenWordsDropped) {
    EXPECT_EQ(decode_words("=?UTF-8?Q?a?= \r\n =?UTF-8?Q?b?= c"), "ab c");
}

TEST(DecodeWords, MalformedWordKept) {
    EXPECT_EQ(decode_words("=?UTF-8?Q?=ZZ?="), "=?UTF-8?Q?=ZZ?=");
}

TEST(DecodeWords, OtherCharsetKept) {
    EXPECT_EQ(decode_words("=?koi8-r?B?8tXT08vJyg==?="), "=?koi8-r?B?8tXT08vJyg==?=");
}

TEST(Phrase, AtomsStayBare) {
    HeaderField f("From");
    Mailbox m{"Scan Desk", "scan", "example.com", "example.com"};
    f.mailbox(m);
    EXPECT_EQ(std::move(f).finish(), "From: Scan Desk <scan@example.com>\r\n");
}

TEST(Phrase, SpecialsAreQuoted) {
    HeaderField f("From");
    f.mailbox(Mailbox{"Doe, John", "jd", "example.com", "example.com"});
    EXPECT_EQ(std::move(f).finish(), "From: \"Doe, John\" <jd@example.com>\r\n");
}

TEST(Phrase, NonAsciiIsEncoded) {
    HeaderField f("From");
    f.mailbox(Mailbox{"Jürgen", "j", "example.de", "example.de"});
    EXPECT_EQ(std::move(f).finish(), "From: =?UTF-8?Q?J=C3=BCrgen?= <j@example.de>\r\n");
}

TEST(Parameter, ShortAsciiQuoted) {
    HeaderField f("Content-Disposition");
    f.word("attachment");
    f.parameter("filename", "scan 1.pdf");
    EXPECT_EQ(std::move(f).finish(),
              "Content-Disposition: attachment; filename=\"scan 1.pdf\"\r\n");
}

TEST(Parameter, NonAsciiUsesRfc2231) {
    HeaderField f("Content-Disposition");
    f.word("attachment");
    f.parameter("filename", "Größe.pdf");
    EXPECT_EQ(std::move(f).finish(),
              "Content-Disposition: attachment; filename*=UTF-8''Gr%C3%B6%C3%9Fe.pdf\r\n");
}

TEST(Parameter, LongNameUsesContinuations) {
    std::string name;
    for (int i = 0; i < 12; ++i) name += "Übersicht ";
    name += ".pdf";
    HeaderField f("Content-Disposition");
    f.word("attachment");
    f.parameter("filename", name);
    const auto s = std::move(f).finish();
    expect_well_folded(s);
    EXPECT_NE(s.find("filename*0*=UTF-8''"), std::string::npos) << s;
    EXPECT_NE(s.find(";\r\n filename*1*="), std::string::npos) << s;
    // No %XX triplet and no UTF-8 sequence is cut between continuations.
    for (const auto& line : lines_of(s)) {
        const auto eq = line.find("*=");
        if (eq == std::string::npos) continue;
        std::string v = line.substr(eq + 2);
        if (v.ends_with(";")) v.pop_back();
        if (v.starts_with("UTF-8''")) v.erase(0, 7);
        std::string raw;
        for (std::size_t i = 0; i < v.size(); ++i) {
            if (v[i] == '%') {
                ASSERT_LT(i + 2, v.size()) << line;
                raw.push_back(static_cast<char>(std::stoi(v.substr(i + 1, 2), nullptr, 16)));
                i += 2;
            } else {
                raw.push_back(v[i]);
            }
        }
        EXPECT_TRUE(is_utf8(raw)) << line;
    }
}

TEST(Parameter, LegacyNameIsEncodedWordInQuotes) {
    HeaderField f("Content-Type");
    f.word("application/pdf");
    f.legacy_parameter("name", "Größe.pdf");
    const auto s = std::move(f).finish();
    EXPECT_EQ(s, "Content-Type: application/pdf; name=\"=?UTF-8?B?R3LDtsOfZS5wZGY=?=\"\r\n");
}

TEST(Date, Rfc5322Format) {
    EXPECT_EQ(format_date(TimePoint{std::chrono::seconds{1'800'000'000}}),
              "Fri, 15 Jan 2027 08:00:00 +0000");
}

}  // namespace
}  // namespace pb::mime
