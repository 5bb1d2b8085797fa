// The two lock files of "Processes" (design.md), both flock(2) in the state
// directory, so that they vanish with their process however it dies:
//
//   serve.lock     held by `postbridge serve` for its whole life: tells the
//                  other commands that serve's workers will deliver.
//   delivery.lock  held by whoever delivers: serve, or a `send --wait`,
//                  `sendmail` or `flush` when serve does not run, so that
//                  one process at a time works this host's queue. It is not
//                  what makes recovery safe: that is the claims' leases
//                  (spool/spool.hpp), which hold whoever delivers.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>

#include "core/error.hpp"

namespace pb::delivery {

class LockFile {
  public:
    enum class Mode { try_once, wait };
    // nullopt: someone else holds it (try_once) or it was not free within
    // `timeout` (wait). Errors: the file cannot be opened (651).
    static Result<std::optional<LockFile>> acquire(
        const std::filesystem::path& path, Mode mode,
        std::chrono::milliseconds timeout = std::chrono::milliseconds{0});
    LockFile(LockFile&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    LockFile(const LockFile&) = delete;
    LockFile& operator=(const LockFile&) = delete;
    LockFile& operator=(LockFile&&) = delete;
    ~LockFile();

  private:
    explicit LockFile(int fd) : fd_(fd) {}
    int fd_;
};

inline std::filesystem::path serve_lock_path(const std::filesystem::path& state) {
    return state / "serve.lock";
}
inline std::filesystem::path delivery_lock_path(const std::filesystem::path& state) {
    return state / "delivery.lock";
}

// Whether a `serve` holds serve.lock in this state directory now.
Result<bool> serve_running(const std::filesystem::path& state);

}  // namespace pb::delivery
