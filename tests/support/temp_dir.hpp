// A directory path of the running test's own under the system's temporary
// directory, named for the process and the test, so tests run in parallel
// never share one. Anything a crashed run left there is removed; nothing is
// created.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace pb::test {

inline std::filesystem::path fresh_dir(std::string_view prefix) {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    const auto dir = std::filesystem::temp_directory_path() /
                     (std::string(prefix) + "-" + std::to_string(::getpid()) + "-" + test->name());
    std::filesystem::remove_all(dir);
    return dir;
}

}  // namespace pb::test
