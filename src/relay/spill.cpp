#include "relay/spill.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace pb::relay {
namespace {

class SpillSource final : public ByteSource {
  public:
    SpillSource(std::string_view memory, int fd, std::uint64_t size)
        : memory_(memory), fd_(fd), size_(size) {}
    Result<std::size_t> read(std::span<char> out) override {
        if (pos_ >= size_ || out.empty()) return std::size_t{0};
        const std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), size_ - pos_));
        if (fd_ < 0) {
            std::memcpy(out.data(), memory_.data() + pos_, want);
            pos_ += want;
            return want;
        }
        for (;;) {
            const ssize_t n = ::pread(fd_, out.data(), want, static_cast<off_t>(pos_));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0)
                return fail(Errc::spool_unwritable,
                            std::string("relay: cannot read back the message being received: ") +
                                (n < 0 ? std::strerror(errno) : "file shorter than written"));
            pos_ += static_cast<std::uint64_t>(n);
            return static_cast<std::size_t>(n);
        }
    }
    std::optional<std::uint64_t> size_hint() const override { return size_; }

  private:
    std::string_view memory_;
    int fd_;
    std::uint64_t size_;
    std::uint64_t pos_ = 0;
};

}  // namespace

Spill::Spill(std::filesystem::path dir, std::size_t memory_limit)
    : dir_(std::move(dir)), memory_limit_(memory_limit) {}

Spill::~Spill() {
    if (fd_ >= 0) ::close(fd_);
}

Result<void> Spill::append(std::string_view bytes) {
    if (fd_ < 0 && memory_.size() + bytes.size() <= memory_limit_) {
        memory_.append(bytes);
        size_ += bytes.size();
        return {};
    }
    if (fd_ < 0) {
        std::error_code ec;
        std::filesystem::create_directories(dir_, ec);
        // O_TMPFILE: a file with no name, gone with its descriptor.
        fd_ = ::open(dir_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd_ < 0 && errno != ENOENT && errno != EACCES) {
            // A file system without O_TMPFILE: a named file, unlinked at once.
            std::string name = (dir_ / "spill.XXXXXX").string();
            fd_ = ::mkostemp(name.data(), O_CLOEXEC);
            if (fd_ >= 0) ::unlink(name.c_str());
        }
        if (fd_ < 0) {
            const int err = errno;
            return fail(Errc::spool_unwritable,
                        "relay: cannot make a temporary file in " + dir_.string() + ": " +
                            std::strerror(err),
                        err);
        }
    }
    std::string_view rest = bytes;
    if (!memory_.empty()) {
        // First move what was in memory to the file, once.
        std::string head = std::move(memory_);
        memory_.clear();
        memory_.shrink_to_fit();
        size_ -= head.size();
        if (auto r = append(head); !r) return r;
    }
    while (!rest.empty()) {
        const ssize_t n = ::pwrite(fd_, rest.data(), rest.size(), static_cast<off_t>(size_));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int err = errno;
            return fail(Errc::spool_unwritable,
                        std::string("relay: cannot write the message being received: ") +
                            std::strerror(err),
                        err);
        }
        size_ += static_cast<std::uint64_t>(n);
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

std::unique_ptr<ByteSource> Spill::source() const {
    return std::make_unique<SpillSource>(memory_, fd_, size_);
}

void Spill::clear() {
    memory_.clear();
    size_ = 0;
    if (fd_ >= 0) ::close(fd_);  // the next message starts in memory again
    fd_ = -1;
}

}  // namespace pb::relay
