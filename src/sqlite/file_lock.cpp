#include "sqlite/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pb::sqlite {

Result<std::unique_ptr<FileLock>> FileLock::acquire(const std::filesystem::path& path) {
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
    return std::unique_ptr<FileLock>(new FileLock(fd));
}

std::filesystem::path FileLock::path_for(const std::filesystem::path& dir, std::string_view name) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string file;
    for (const char c : name) {
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-') {
            file += c;
        } else {
            const auto b = static_cast<unsigned char>(c);
            file += '%';
            file += digits[b >> 4];
            file += digits[b & 0x0f];
        }
    }
    return dir / (file + ".lock");
}

// Closing the descriptor releases the flock.
FileLock::~FileLock() {
    if (fd_ >= 0) ::close(fd_);
}

}  // namespace pb::sqlite
