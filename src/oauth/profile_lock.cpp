#include "oauth/profile_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pb::oauth {

Result<ProfileLock> ProfileLock::acquire(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return fail(Errc::spool_unwritable,
                    "cannot open the lock file " + path.string() + ": " + std::strerror(errno));
    int rc = 0;
    do {
        rc = ::flock(fd, LOCK_EX);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        const int err = errno;
        ::close(fd);
        return fail(Errc::spool_unwritable,
                    "cannot lock " + path.string() + ": " + std::strerror(err));
    }
    return ProfileLock(fd);
}

std::filesystem::path ProfileLock::path_for(const std::filesystem::path& dir,
                                            std::string_view profile) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string name = "oauth-";
    for (const char c : profile) {
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-') {
            name += c;
        } else {
            const auto b = static_cast<unsigned char>(c);
            name += '%';
            name += digits[b >> 4];
            name += digits[b & 0x0f];
        }
    }
    return dir / (name + ".lock");
}

ProfileLock& ProfileLock::operator=(ProfileLock&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
}

// Closing the descriptor releases the flock.
ProfileLock::~ProfileLock() {
    if (fd_ >= 0) ::close(fd_);
}

}  // namespace pb::oauth
