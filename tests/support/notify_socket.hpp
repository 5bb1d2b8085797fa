// A notification socket a test holds as systemd would (sd_notify(3)): a
// datagram socket bound to an abstract name unique to the process and to
// `tag`, from which the test reads what the code under test says.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

namespace pb::test {

class NotifySocket {
  public:
    explicit NotifySocket(const std::string& tag) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        name_ = "@postbridge-" + tag + "-" + std::to_string(::getpid());
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path + 1, name_.data() + 1, name_.size() - 1);
        const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name_.size());
        bound_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0;
    }
    ~NotifySocket() {
        if (fd_ >= 0) ::close(fd_);
    }
    NotifySocket(const NotifySocket&) = delete;
    NotifySocket& operator=(const NotifySocket&) = delete;

    bool bound() const { return bound_; }
    // The value for NOTIFY_SOCKET ("@..." for an abstract name).
    const std::string& name() const { return name_; }

    // The next datagram, or "" when the process behind `pidfd` ends first
    // (waits on both, never on time; -1: on the socket only).
    std::string next(int pidfd = -1) const {
        pollfd fds[2] = {{fd_, POLLIN, 0}, {pidfd, POLLIN, 0}};
        while (::poll(fds, pidfd >= 0 ? 2 : 1, -1) < 0)
            if (errno != EINTR) return {};
        if ((fds[0].revents & POLLIN) == 0) return {};
        char buf[4096];
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        return n < 0 ? std::string{} : std::string(buf, static_cast<std::size_t>(n));
    }

    // Drops what has come and not been read. A datagram socket holds only
    // so many (net.unix.max_dgram_qlen, 10 by default); beyond that a
    // sender that will not block, as serve, loses its message. A test that
    // read nothing for a while calls this before it waits for what it
    // causes.
    void skip_pending() const {
        char buf[4096];
        while (::recv(fd_, buf, sizeof buf, MSG_DONTWAIT) >= 0) {
        }
    }

  private:
    int fd_ = -1;
    std::string name_;
    bool bound_ = false;
};

}  // namespace pb::test
