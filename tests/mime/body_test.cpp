// CrlfNormalizer: every CR, LF and CRLF becomes one CRLF and the text ends
// with one, whatever the pieces it arrives in (a CR at the end of one piece
// may be half of a CRLF).
#include "mime/body.hpp"

#include <gtest/gtest.h>

#include "support/transcript.hpp"

namespace pb::mime {
namespace {

std::string normalized(const test::Chunks& chunks) {
    CrlfNormalizer n;
    std::string out;
    for (auto c : chunks) n.feed(c, out);
    n.finish(out);
    return out;
}

TEST(CrlfNormalizer, EveryLineBreakBecomesOneCrlfAtEverySplit) {
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"", ""},
        {"abc", "abc\r\n"},
        {"a\r\nb\r\n", "a\r\nb\r\n"},
        {"a\nb\n", "a\r\nb\r\n"},
        {"a\rb", "a\r\nb\r\n"},
        {"a\r\r\nb", "a\r\n\r\nb\r\n"},
        {"\r", "\r\n"},
        {"\n\n", "\r\n\r\n"},
        {"\r\r", "\r\n\r\n"},
        {"\n\r", "\r\n\r\n"},
        {"a\r\n\r", "a\r\n\r\n"},
        {"line one\r\nline two\nline three\rend", "line one\r\nline two\r\nline three\r\nend\r\n"},
    };
    for (const auto& [in, want] : cases)
        for (const auto& chunks : test::every_split(in))
            EXPECT_EQ(normalized(chunks), want) << "input: " << ::testing::PrintToString(in);
}

TEST(CrlfNormalizer, LongLinesPassThroughWhole) {
    const std::string line(100000, 'x');
    EXPECT_EQ(normalized({line + "\n" + line}), line + "\r\n" + line + "\r\n");
}

}  // namespace
}  // namespace pb::mime
