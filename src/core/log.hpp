// The log of the long-running command (serve): one line per event with a
// level, on standard error. Under systemd (JOURNAL_STREAM names our standard
// error) each line starts with the syslog priority, "<3>", which journald
// takes as the entry's priority (`journalctl -p err`), and carries no
// timestamp of its own, since journald adds one. Elsewhere a line is
// "2026-12-07T04:10:23.000Z error postbridge: ...".
//
// What a line says is escaped by whoever holds client bytes (the web and
// relay sinks, core/text.hpp's escaped()); this sink only keeps a line one
// line: an embedded newline would split one event into two entries.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace pb::log {

// The syslog priorities journald understands (sd-daemon.h's SD_ERR ...).
enum class Level : int { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

const char* to_string(Level level);

enum class Format {
    journal,      // "<6>postbridge: ..."
    timestamped,  // "TIME info postbridge: ..."
    // To the system log, facility mail, as msmtp and sendmail do: the
    // commands other than serve, whose standard error is the user's (and
    // cron mails it back). A datagram in the syslog format to /dev/log, or
    // to POSTBRIDGE_SYSLOG_SOCKET when set; lost when nothing listens there.
    syslog
};

// The socket the syslog format goes to.
std::string syslog_socket();

// journal when JOURNAL_STREAM is set and names the device and inode of
// standard error (systemd.exec(5)): a stderr redirected elsewhere by the
// service itself gets timestamps again.
Format detect_format();

// The text of one line, with its newline; for syslog, the datagram
// ("<22>postbridge[PID]: ...", facility mail, no newline).
std::string format_line(Format format, Level level, std::string_view text, std::string_view time);

// Writes one line to standard error in one write(2), so lines of several
// threads never interleave.
void write(Level level, std::string_view text);
void set_format(Format format);  // at start; detect_format() by default

// The sink that the parts of serve take (std::function<void(string_view)>),
// at a fixed level.
std::function<void(std::string_view)> at(Level level);

// Keeps a failure that repeats from flooding the log, as a loop retrying a
// read-only or full disk several times a second would: the first line of a
// run is written, the same line again within `quiet` of the last one
// written is only counted, and the line written next says how many were
// held back. One line a minute instead of hundreds. Not thread-safe: its
// owner serialises calls.
class Repeats {
  public:
    explicit Repeats(Duration quiet) : quiet_(quiet) {}
    // What to write for `line` at `now`; nullopt: nothing.
    std::optional<std::string> pass(std::string_view line, TimePoint now);

  private:
    Duration quiet_;
    std::string last_;
    TimePoint written_{};
    long held_ = 0;
};

}  // namespace pb::log
