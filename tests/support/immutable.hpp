// Making a directory unwritable for the tests of a full or read-only spool:
// chattr +i as root (root ignores the mode bits), the mode bits otherwise.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <filesystem>

namespace pb::test {

inline void set_writable(const std::filesystem::path& dir, bool writable) {
    namespace fs = std::filesystem;
    if (::geteuid() != 0) {
        fs::permissions(
            dir, writable ? fs::perms::owner_all : fs::perms::owner_read | fs::perms::owner_exec);
        return;
    }
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(fd, 0) << dir;
    int flags = 0;
    ASSERT_EQ(::ioctl(fd, FS_IOC_GETFLAGS, &flags), 0);
    flags = writable ? (flags & ~FS_IMMUTABLE_FL) : (flags | FS_IMMUTABLE_FL);
    ASSERT_EQ(::ioctl(fd, FS_IOC_SETFLAGS, &flags), 0) << "this file system has no chattr +i";
    ::close(fd);
}

}  // namespace pb::test
