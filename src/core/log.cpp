// See log.hpp.
#include "core/log.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "core/clock.hpp"

namespace pb::log {
namespace {

std::atomic<Format>& current_format() {
    static std::atomic<Format> f{detect_format()};
    return f;
}

}  // namespace

const char* to_string(Level level) {
    switch (level) {
        case Level::error:
            return "error";
        case Level::warning:
            return "warning";
        case Level::notice:
            return "notice";
        case Level::info:
            return "info";
        case Level::debug:
            return "debug";
    }
    return "info";
}

Format detect_format() {
    const char* js = std::getenv("JOURNAL_STREAM");
    if (js == nullptr || *js == '\0') return Format::timestamped;
    struct stat st {};
    if (::fstat(STDERR_FILENO, &st) != 0) return Format::timestamped;
    const std::string mine = fmt::format("{}:{}", static_cast<unsigned long long>(st.st_dev),
                                         static_cast<unsigned long long>(st.st_ino));
    return mine == js ? Format::journal : Format::timestamped;
}

std::string syslog_socket() {
    const char* env = std::getenv("POSTBRIDGE_SYSLOG_SOCKET");
    return env != nullptr && *env != '\0' ? env : "/dev/log";
}

std::string format_line(Format format, Level level, std::string_view text, std::string_view time) {
    std::string line;
    line.reserve(text.size() + 48);
    constexpr int kMail = 2;  // LOG_MAIL >> 3
    if (format == Format::syslog)
        line += fmt::format("<{}>postbridge[{}]: ", kMail * 8 + static_cast<int>(level),
                            static_cast<long>(::getpid()));
    else if (format == Format::journal)
        line += fmt::format("<{}>postbridge: ", static_cast<int>(level));
    else
        line += fmt::format("{} {} postbridge: ", time, to_string(level));
    for (char c : text) {
        if (c == '\n')
            line += "\\n";
        else if (c == '\r')
            line += "\\r";
        else
            line += c;
    }
    if (format != Format::syslog) line += '\n';
    return line;
}

void set_format(Format format) {
    current_format() = format;
}

namespace {

// One datagram; syslog daemons take the time of arrival when the message
// carries none. Nothing listening: the line is lost, as with syslog(3).
void to_syslog(const std::string& line) {
    const std::string path = syslog_socket();
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) return;
    path.copy(addr.sun_path, path.size());
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    (void)!::sendto(fd, line.data(), line.size(), MSG_NOSIGNAL,
                    reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    ::close(fd);
}

}  // namespace

void write(Level level, std::string_view text) {
    const Format f = current_format();
    if (f == Format::syslog) return to_syslog(format_line(f, level, text, {}));
    const std::string time =
        f == Format::timestamped ? format_rfc3339(SystemClock{}.now()) : std::string{};
    const std::string line = format_line(f, level, text, time);
    std::string_view rest = line;
    while (!rest.empty()) {
        const ssize_t n = ::write(STDERR_FILENO, rest.data(), rest.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // nowhere to log to: nothing better to do
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
}

std::function<void(std::string_view)> at(Level level) {
    return [level](std::string_view text) { write(level, text); };
}

std::optional<std::string> Repeats::pass(std::string_view line, TimePoint now) {
    const bool same = line == last_;
    if (same && now - written_ < quiet_) {
        ++held_;
        return std::nullopt;
    }
    std::string out(line);
    if (held_ > 0)
        out += same ? fmt::format(" (and {} times more since the last such line)", held_)
                    : fmt::format(" (the line before it came {} times more)", held_);
    last_ = std::string(line);
    written_ = now;
    held_ = 0;
    return out;
}

}  // namespace pb::log
