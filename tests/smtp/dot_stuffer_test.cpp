// Streaming dot-stuffing: the result never depends on how the body is cut.
#include "smtp/dot_stuffer.hpp"

#include <gtest/gtest.h>

#include "support/transcript.hpp"

namespace pb::smtp {
namespace {

std::string stuff(const pb::test::Chunks& chunks) {
    DotStuffer d;
    std::string out;
    for (auto c : chunks) d.put(c, out);
    d.finish(out);
    return out;
}

void expect_every_split(std::string_view in, std::string_view expected) {
    for (const auto& chunks : pb::test::every_split(in))
        EXPECT_EQ(stuff(chunks), expected) << chunks.size() << " chunks";
}

TEST(DotStuffer, LeadingDotDoubled) {
    expect_every_split(".hidden\r\n", "..hidden\r\n.\r\n");
}
TEST(DotStuffer, DotAfterLineBreakDoubled) {
    expect_every_split("a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n");
}
TEST(DotStuffer, DotInsideLineUntouched) {
    expect_every_split("a.b\r\n", "a.b\r\n.\r\n");
}
TEST(DotStuffer, BareLfBecomesCrlf) {
    expect_every_split("a\n.b\nc", "a\r\n..b\r\nc\r\n.\r\n");
}
TEST(DotStuffer, CrlfAcrossChunksNotDoubled) {
    EXPECT_EQ(stuff({"a\r", "\n.b\r\n"}), "a\r\n..b\r\n.\r\n");
}
TEST(DotStuffer, MissingFinalCrlfAdded) {
    expect_every_split("no newline", "no newline\r\n.\r\n");
}
TEST(DotStuffer, EmptyBody) {
    EXPECT_EQ(stuff({}), ".\r\n");
}
TEST(DotStuffer, EmptyLinesKept) {
    expect_every_split("\r\n\r\n..\r\n", "\r\n\r\n...\r\n.\r\n");
}
TEST(DotStuffer, TrailingLoneCrCompleted) {
    EXPECT_EQ(stuff({"x\r"}), "x\r\n.\r\n");
}

TEST(DotStuffer, ReusableAfterFinish) {
    DotStuffer d;
    std::string out;
    d.put("a", out);
    d.finish(out);
    d.put(".b\r\n", out);
    d.finish(out);
    EXPECT_EQ(out, "a\r\n.\r\n..b\r\n.\r\n");
}

}  // namespace
}  // namespace pb::smtp
