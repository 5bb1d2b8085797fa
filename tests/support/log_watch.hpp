// Waiting for a line in a growing log file (serve's), on inotify events
// rather than by polling: the test wakes when the file is written to.
#pragma once

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

namespace pb::test {

inline std::string read_all(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Waits until `done(text of the file)` holds, or `timeout` passes; returns
// whether it held. The file must exist.
inline bool wait_for_log(const std::filesystem::path& file,
                         const std::function<bool(const std::string&)>& done,
                         std::chrono::milliseconds timeout) {
    const int fd = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (fd < 0) return false;
    const int wd = ::inotify_add_watch(fd, file.c_str(), IN_MODIFY);
    const auto end = std::chrono::steady_clock::now() + timeout;
    bool ok = false;
    while (wd >= 0) {
        if (done(read_all(file))) {
            ok = true;
            break;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            end - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) > 0) {
            char buf[4096];
            while (::read(fd, buf, sizeof buf) > 0) {
            }
        }
    }
    ::close(fd);
    return ok;
}

// How many times `needle` occurs in `text`.
inline std::size_t count_of(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
}

}  // namespace pb::test
