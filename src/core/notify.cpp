// See notify.hpp.
#include "core/notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

namespace pb::notify {
namespace {

std::optional<unsigned long long> number(const char* s) {
    if (s == nullptr || *s == '\0') return std::nullopt;
    unsigned long long v = 0;
    const char* end = s + std::strlen(s);
    auto [p, ec] = std::from_chars(s, end, v);
    if (ec != std::errc{} || p != end) return std::nullopt;
    return v;
}

}  // namespace

Notifier::Notifier(std::string socket, std::optional<std::chrono::microseconds> watchdog)
    : socket_(std::move(socket)), watchdog_(watchdog) {}

Notifier Notifier::from_environment() {
    const char* path = std::getenv("NOTIFY_SOCKET");
    std::string socket = path != nullptr ? path : "";
    // A path or an abstract name; anything else (vsock:) is not ours to speak.
    if (!socket.empty() && socket.front() != '/' && socket.front() != '@') socket.clear();
    std::optional<std::chrono::microseconds> watchdog;
    const auto usec = number(std::getenv("WATCHDOG_USEC"));
    const auto pid = number(std::getenv("WATCHDOG_PID"));
    // WATCHDOG_PID, when set, says which process the watchdog is meant for.
    if (usec && *usec > 0 && (!pid || *pid == static_cast<unsigned long long>(::getpid())))
        watchdog = std::chrono::microseconds{static_cast<std::chrono::microseconds::rep>(*usec)};
    return Notifier(std::move(socket), watchdog);
}

std::optional<std::chrono::microseconds> Notifier::watchdog_interval() const {
    if (!watchdog_) return std::nullopt;
    return *watchdog_ / 2;
}

Result<void> Notifier::send(std::string_view state) const {
    if (socket_.empty()) return {};
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_.size() >= sizeof addr.sun_path)
        return fail(Errc::invalid_input, "NOTIFY_SOCKET is longer than a socket address");
    std::memcpy(addr.sun_path, socket_.data(), socket_.size());
    // An abstract name starts with a NUL byte and is exactly as long as given.
    if (socket_.front() == '@') addr.sun_path[0] = '\0';
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_.size() +
                                            (socket_.front() == '@' ? 0 : 1));

    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail(Errc::spool_unwritable,
                    fmt::format("NOTIFY_SOCKET: socket: {}", std::strerror(errno)));
    ssize_t n = 0;
    do {
        // Never waits: a listener that stopped reading (its queue holds ten
        // datagrams) must not stall serve's threads, least of all its stop.
        n = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
                     reinterpret_cast<const sockaddr*>(&addr), len);
    } while (n < 0 && errno == EINTR);
    const int err = errno;
    ::close(fd);
    if (n < 0)
        return fail(Errc::spool_unwritable,
                    fmt::format("NOTIFY_SOCKET {}: {}", socket_, std::strerror(err)));
    return {};
}

}  // namespace pb::notify
