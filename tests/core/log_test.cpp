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

}  // namespace
}  // namespace pb::log
