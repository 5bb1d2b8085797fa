// flock-based lock files (locks.hpp).
#include "delivery/locks.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace pb::delivery {

Result<std::optional<LockFile>> LockFile::acquire(const std::filesystem::path& path, Mode mode,
                                                  std::chrono::milliseconds timeout) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return fail(Errc::spool_unwritable,
                    "cannot open the lock file " + path.string() + ": " + std::strerror(errno));
    // Polling rather than a blocking flock: a blocked flock cannot be given
    // a deadline, and `send --timeout` needs one.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return std::optional<LockFile>{LockFile(fd)};
        if (errno != EWOULDBLOCK && errno != EINTR) {
            const int err = errno;
            ::close(fd);
            return fail(Errc::spool_unwritable,
                        "cannot lock " + path.string() + ": " + std::strerror(err));
        }
        if (mode == Mode::try_once || std::chrono::steady_clock::now() >= deadline) {
            ::close(fd);
            return std::optional<LockFile>{};
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
}

LockFile::~LockFile() {
    if (fd_ >= 0) ::close(fd_);  // closing drops the flock
}

Result<bool> serve_running(const std::filesystem::path& state) {
    auto lock = LockFile::acquire(serve_lock_path(state), LockFile::Mode::try_once);
    if (!lock) return lock.error();
    return !lock->has_value();
}

}  // namespace pb::delivery
