// Durable file writes: temp -> fsync -> rename -> fsync the directory, so a
// reader sees the old file or the new one, never a torn one, even after a
// power cut (style.md).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace pb {

// Writes `data` to `path` atomically with permission bits `mode`.
// Errors are 651 with the path and the system's reason.
Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view data,
                               unsigned mode = 0600);
Result<std::string> read_file(const std::filesystem::path& path);
// fsync a directory so that a rename inside it is durable.
Result<void> fsync_directory(const std::filesystem::path& dir);
// Writes all of `data` to the socket `fd` (no SIGPIPE); false when the peer
// has gone before the end.
bool send_all(int fd, std::string_view data);

}  // namespace pb
