// The inter-process lock every token refresh of a profile takes (design.md,
// "Processes"): `serve`, `send --wait` and `flush` may run at once, and two
// of them redeeming the same rotated refresh token would make the provider
// revoke the whole grant. flock(2) on a file per profile: released by the
// kernel when a process dies, so a crash never leaves a profile locked.
#pragma once

#include <filesystem>
#include <string_view>
#include <utility>

#include "core/error.hpp"

namespace pb::oauth {

class ProfileLock {
  public:
    // Blocks until the lock on `path` is held; creates the file (0600).
    // Fails with 651 when the file cannot be opened or locked.
    static Result<ProfileLock> acquire(const std::filesystem::path& path);

    // The lock file of a profile in `dir`: "oauth-<profile>.lock", with every
    // byte outside [a-z0-9._-] percent-encoded so "user:ann" stays one name.
    static std::filesystem::path path_for(const std::filesystem::path& dir,
                                          std::string_view profile);

    ProfileLock(ProfileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    ProfileLock& operator=(ProfileLock&& other) noexcept;
    ProfileLock(const ProfileLock&) = delete;
    ProfileLock& operator=(const ProfileLock&) = delete;
    ~ProfileLock();

  private:
    explicit ProfileLock(int fd) : fd_(fd) {}
    int fd_ = -1;
};

}  // namespace pb::oauth
