// Everything a ByteSource gives, read `chunk` bytes at a time (a small chunk
// exercises a source's split points); a read error fails the test.
#pragma once

#include <gtest/gtest.h>

#include <span>
#include <string>

#include "core/source.hpp"

namespace pb::test {

inline std::string drain(ByteSource& source, std::size_t chunk = 4096) {
    std::string out;
    std::string buf(chunk, '\0');
    for (;;) {
        auto n = source.read(std::span<char>(buf.data(), buf.size()));
        EXPECT_TRUE(n.ok()) << (n.ok() ? "" : n.error().detail);
        if (!n.ok() || *n == 0) return out;
        out.append(buf.data(), *n);
    }
}

}  // namespace pb::test
