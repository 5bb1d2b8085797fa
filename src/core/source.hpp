// A pull stream of bytes: how a message travels from the spool or the MIME
// builder to a transport without ever being held whole in memory.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "core/error.hpp"

namespace pb {

class ByteSource {
  public:
    virtual ~ByteSource() = default;
    // Fills up to out.size() bytes; 0 means the end. Errors carry a code
    // (a spool read error is 651, a vanished attachment 652).
    virtual Result<std::size_t> read(std::span<char> out) = 0;
    // The total size when known in advance (for SMTP SIZE=), else nullopt.
    virtual std::optional<std::uint64_t> size_hint() const { return std::nullopt; }
};

// A source over a string it owns (tests, small notifications).
class StringSource final : public ByteSource {
  public:
    explicit StringSource(std::string s) : s_(std::move(s)) {}
    Result<std::size_t> read(std::span<char> out) override {
        const std::size_t n = std::min(out.size(), s_.size() - pos_);
        s_.copy(out.data(), n, pos_);
        pos_ += n;
        return n;
    }
    std::optional<std::uint64_t> size_hint() const override { return s_.size(); }

  private:
    std::string s_;
    std::size_t pos_ = 0;
};

}  // namespace pb
