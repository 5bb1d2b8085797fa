#include "core/log.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

namespace pb::log {
namespace {

TEST(Log, UnderJournaldALineStartsWithItsSyslogPriorityAndHasNoTimestamp) {
    EXPECT_EQ(format_line(Format::journal, Level::error, "delivery: disk full", "ignored"),
              "<3>postbridge: delivery: disk full\n");
    EXPECT_EQ(format_line(Format::journal, Level::warning, "w", ""), "<4>postbridge: w\n");
    EXPECT_EQ(format_line(Format::journal, Level::notice, "n", ""), "<5>postbridge: n\n");
    EXPECT_EQ(format_line(Format::journal, Level::info, "i", ""), "<6>postbridge: i\n");
    EXPECT_EQ(format_line(Format::journal, Level::debug, "d", ""), "<7>postbridge: d\n");
}

TEST(Log, ElsewhereALineHasItsTimeAndLevel) {
    EXPECT_EQ(format_line(Format::timestamped, Level::warning, "settings: bad",
                          "2026-12-07T04:10:23.000Z"),
              "2026-12-07T04:10:23.000Z warning postbridge: settings: bad\n");
}

TEST(Log, AnEmbeddedNewlineCannotStartASecondEntry) {
    EXPECT_EQ(format_line(Format::journal, Level::info, "a\n<3>forged\r", ""),
              "<6>postbridge: a\\n<3>forged\\r\n");
}

TEST(Log, JournalStreamCountsOnlyWhenItNamesStandardError) {
    ::setenv("JOURNAL_STREAM", "0:0", 1);
    EXPECT_EQ(detect_format(), Format::timestamped);
    ::unsetenv("JOURNAL_STREAM");
    EXPECT_EQ(detect_format(), Format::timestamped);
}

TEST(Repeats, TheSameFailureOverAndOverIsOneLineAMinuteWithItsCount) {
    Repeats r(std::chrono::minutes{1});
    const TimePoint t0{std::chrono::seconds{1796601600}};
    EXPECT_EQ(r.pass("delivery: disk full", t0), "delivery: disk full");
    for (int i = 1; i <= 100; ++i)
        EXPECT_EQ(r.pass("delivery: disk full", t0 + std::chrono::milliseconds{250 * i}),
                  std::nullopt);
    EXPECT_EQ(r.pass("delivery: disk full", t0 + std::chrono::minutes{1}),
              "delivery: disk full (and 100 times more since the last such line)");
    // The count starts again from the line written.
    EXPECT_EQ(r.pass("delivery: disk full", t0 + std::chrono::seconds{61}), std::nullopt);
}

TEST(Repeats, AnotherLineIsWrittenAtOnceAndSaysWhatWasHeldBack) {
    Repeats r(std::chrono::minutes{1});
    const TimePoint t0{std::chrono::seconds{1796601600}};
    EXPECT_TRUE(r.pass("delivery: read-only", t0));
    EXPECT_FALSE(r.pass("delivery: read-only", t0 + std::chrono::seconds{1}));
    EXPECT_FALSE(r.pass("delivery: read-only", t0 + std::chrono::seconds{2}));
    EXPECT_EQ(r.pass("delivery: locked", t0 + std::chrono::seconds{3}),
              "delivery: locked (the line before it came 2 times more)");
    // Back to the first: a new line too, written at once.
    EXPECT_EQ(r.pass("delivery: read-only", t0 + std::chrono::seconds{4}), "delivery: read-only");
}

}  // namespace
}  // namespace pb::log
