// The few file system calls the spool makes, behind an interface so that a
// test can make the Nth write or fsync fail (disk full, I/O error) and check
// that intake refuses cleanly and nothing already accepted is harmed.
// Production code uses PosixFileOps; nothing in src/ knows about the fakes.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>

#include "core/error.hpp"

namespace pb::spool {

class FileOps {
  public:
    virtual ~FileOps() = default;
    // A new file, exclusive (O_EXCL), mode 0600; returns the descriptor.
    virtual Result<int> create(const std::filesystem::path& path) = 0;
    virtual Result<int> open_read(const std::filesystem::path& path) = 0;
    // Writes all of `data` (retrying short writes).
    virtual Result<void> write(int fd, std::span<const char> data) = 0;
    // Reads up to out.size() bytes; 0 at the end of the file.
    virtual Result<std::size_t> read(int fd, std::span<char> out) = 0;
    virtual Result<void> fsync(int fd) = 0;
    virtual void close(int fd) noexcept = 0;
    // Fails when `to` exists: nothing in the spool is ever replaced.
    virtual Result<void> rename(const std::filesystem::path& from,
                                const std::filesystem::path& to) = 0;
    virtual Result<void> fsync_dir(const std::filesystem::path& dir) = 0;
    // No error when the file is already gone.
    virtual void remove(const std::filesystem::path& path) noexcept = 0;
};

class PosixFileOps final : public FileOps {
  public:
    Result<int> create(const std::filesystem::path& path) override;
    Result<int> open_read(const std::filesystem::path& path) override;
    Result<void> write(int fd, std::span<const char> data) override;
    Result<std::size_t> read(int fd, std::span<char> out) override;
    Result<void> fsync(int fd) override;
    void close(int fd) noexcept override;
    Result<void> rename(const std::filesystem::path& from,
                        const std::filesystem::path& to) override;
    Result<void> fsync_dir(const std::filesystem::path& dir) override;
    void remove(const std::filesystem::path& path) noexcept override;
};

// Closes a descriptor on scope exit.
class Fd {
  public:
    Fd(FileOps& ops, int fd) noexcept : ops_(&ops), fd_(fd) {}
    Fd(Fd&& o) noexcept : ops_(o.ops_), fd_(o.fd_) { o.fd_ = -1; }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd& operator=(Fd&&) = delete;
    ~Fd() { reset(); }
    int get() const noexcept { return fd_; }
    void reset() noexcept {
        if (fd_ >= 0) ops_->close(fd_);
        fd_ = -1;
    }

  private:
    FileOps* ops_;
    int fd_;
};

}  // namespace pb::spool
