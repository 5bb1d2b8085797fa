// A FileOps that fails the Nth write or fsync (disk full, I/O error) and
// otherwise does what PosixFileOps does: the failure-injection stream of
// style.md, for the disk.
#pragma once

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>

#include "spool/file_ops.hpp"

namespace pb::test {

class FailingFileOps final : public spool::FileOps {
  public:
    // 1-based call numbers; nullopt never fails.
    std::optional<int> fail_write_at;
    std::optional<int> fail_fsync_at;  // counts file and directory fsyncs
    int writes = 0;
    int fsyncs = 0;
    int reads = 0;

    Result<int> create(const std::filesystem::path& p) override { return real_.create(p); }
    Result<int> open_read(const std::filesystem::path& p) override { return real_.open_read(p); }
    Result<void> write(int fd, std::span<const char> data) override {
        if (++writes == fail_write_at)
            return fail(Errc::spool_unwritable,
                        "cannot write a spool file: No space left on device");
        return real_.write(fd, data);
    }
    Result<std::size_t> read(int fd, std::span<char> out) override {
        ++reads;
        return real_.read(fd, out);
    }
    Result<void> fsync(int fd) override {
        if (++fsyncs == fail_fsync_at)
            return fail(Errc::spool_unwritable, "cannot sync a spool file: Input/output error");
        return real_.fsync(fd);
    }
    void close(int fd) noexcept override { real_.close(fd); }
    Result<void> rename(const std::filesystem::path& a, const std::filesystem::path& b) override {
        return real_.rename(a, b);
    }
    Result<void> fsync_dir(const std::filesystem::path& dir) override {
        if (++fsyncs == fail_fsync_at)
            return fail(Errc::spool_unwritable, "cannot sync directory: Input/output error");
        return real_.fsync_dir(dir);
    }
    void remove(const std::filesystem::path& p) noexcept override { real_.remove(p); }

  private:
    spool::PosixFileOps real_;
};

}  // namespace pb::test
