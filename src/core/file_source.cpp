#include "core/file_source.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pb {

Result<std::unique_ptr<FileSource>> FileSource::open(const std::filesystem::path& path,
                                                     std::string_view what, Errc code) {
    std::string label = std::string(what) + " \"" + path.string() + "\"";
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(code, label + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return fail(code, label + ": not a regular file");
    }
    // Read once front to back: let the kernel read ahead generously.
    (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    return std::unique_ptr<FileSource>(
        new FileSource(fd, static_cast<std::uint64_t>(st.st_size), std::move(label), code));
}

FileSource::~FileSource() {
    ::close(fd_);
}

Result<std::size_t> FileSource::read(std::span<char> out) {
    for (;;) {
        const ssize_t n = ::read(fd_, out.data(), out.size());
        if (n >= 0) return static_cast<std::size_t>(n);
        if (errno != EINTR) return fail(code_, label_ + ": " + std::strerror(errno));
    }
}

}  // namespace pb
