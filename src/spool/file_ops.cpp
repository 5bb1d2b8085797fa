// PosixFileOps: the real system calls, errors turned into 651 with the path
// and the system's reason ("No space left on device").
#include "spool/file_ops.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "core/fs.hpp"

namespace pb::spool {
namespace {

Error io_error(std::string_view what, const std::string& subject, int err) {
    return fail(Errc::spool_unwritable,
                std::string(what) + " " + subject + ": " + std::strerror(err), err);
}

}  // namespace

Result<int> PosixFileOps::create(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    // The directory says where; the file's random name would say nothing.
    if (fd < 0)
        return io_error("cannot create a spool file in", path.parent_path().string(), errno);
    return fd;
}

Result<int> PosixFileOps::open_read(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return io_error("cannot open", path.string(), errno);
    return fd;
}

Result<void> PosixFileOps::write(int fd, std::span<const char> data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return io_error("cannot write", "a spool file", errno);
        }
        data = data.subspan(static_cast<std::size_t>(n));
    }
    return {};
}

Result<std::size_t> PosixFileOps::read(int fd, std::span<char> out) {
    for (;;) {
        const ssize_t n = ::read(fd, out.data(), out.size());
        if (n >= 0) return static_cast<std::size_t>(n);
        if (errno != EINTR) return io_error("cannot read", "a spool file", errno);
    }
}

Result<void> PosixFileOps::fsync(int fd) {
    if (::fsync(fd) != 0) return io_error("cannot sync", "a spool file", errno);
    return {};
}

void PosixFileOps::close(int fd) noexcept {
    ::close(fd);
}

Result<void> PosixFileOps::rename(const std::filesystem::path& from,
                                  const std::filesystem::path& to) {
    // Never over an existing file: a spool file replaced by another job's
    // would be a message lost without a trace.
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) != 0)
        return io_error("cannot rename", from.string(), errno);
    return {};
}

Result<void> PosixFileOps::fsync_dir(const std::filesystem::path& dir) {
    return fsync_directory(dir);
}

void PosixFileOps::remove(const std::filesystem::path& path) noexcept {
    ::unlink(path.c_str());
}

}  // namespace pb::spool
