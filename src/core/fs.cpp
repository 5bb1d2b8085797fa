#include "core/fs.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace pb {
namespace {

Error io_error(const std::filesystem::path& p, std::string_view what, int err) {
    return fail(Errc::spool_unwritable,
                std::string(what) + " " + p.string() + ": " + std::strerror(err));
}

}  // namespace

Result<void> fsync_directory(const std::filesystem::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return io_error(dir, "cannot open directory", errno);
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) return io_error(dir, "cannot sync directory", err);
    return {};
}

Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view data,
                               unsigned mode) {
    const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    std::string tmpl = (dir / ("." + path.filename().string() + ".XXXXXX")).string();
    const int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
    if (fd < 0) return io_error(path, "cannot create a temporary file for", errno);
    auto abandon = [&](std::string_view what) {
        const int err = errno;
        ::close(fd);
        ::unlink(tmpl.c_str());
        return io_error(path, what, err);
    };
    if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) return abandon("cannot set permissions of");
    std::size_t off = 0;
    while (off < data.size()) {
        const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            return abandon("cannot write");
        }
        off += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) return abandon("cannot sync");
    if (::close(fd) != 0) {
        const int err = errno;
        ::unlink(tmpl.c_str());
        return io_error(path, "cannot close", err);
    }
    if (::rename(tmpl.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmpl.c_str());
        return io_error(path, "cannot rename into place", err);
    }
    return fsync_directory(dir);
}

Result<std::string> read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return fail(Errc::invalid_input,
                    "cannot read " + path.string() + ": " + std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool send_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

}  // namespace pb
