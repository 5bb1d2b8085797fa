// The local backend's named locks (store::Store::lock): flock(2) on a file
// per name in the state directory, released by the kernel when a process
// dies, so a crash never leaves a name locked. The refresh of a profile's
// token takes "oauth-PROFILE" (design.md, "Processes"): `serve`, `send
// --wait` and `flush` may run at once, and two of them redeeming the same
// rotated refresh token would make the provider revoke the whole grant.
#pragma once

#include <filesystem>
#include <string_view>
#include <utility>

#include "core/error.hpp"
#include "store/store.hpp"

namespace pb::sqlite {

class FileLock final : public store::Store::Lock {
  public:
    // Blocks until the lock on `path` is held; creates the file (0600).
    // Fails with 651 when the file cannot be opened or locked.
    static Result<std::unique_ptr<FileLock>> acquire(const std::filesystem::path& path);

    // The lock file of `name` in `dir`: "NAME.lock", with every byte outside
    // [a-z0-9._-] percent-encoded so "oauth-user:ann" stays one file name.
    static std::filesystem::path path_for(const std::filesystem::path& dir, std::string_view name);

    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;
    ~FileLock() override;

  private:
    explicit FileLock(int fd) : fd_(fd) {}
    int fd_ = -1;
};

}  // namespace pb::sqlite
