// A secret (token, password, AUTH blob, key) that never prints its value.
//
// Streaming or formatting a Secret gives "***". The only way to the bytes is
// reveal(), so every place a secret leaves the process can be found by grep.
// The buffer is wiped when the Secret dies.
#pragma once

#include <fmt/format.h>

#include <ostream>
#include <string>
#include <string_view>

namespace pb {

class Secret {
  public:
    Secret() = default;
    explicit Secret(std::string value) : value_(std::move(value)) {}
    Secret(const Secret&) = default;
    Secret(Secret&& other) noexcept : value_(std::move(other.value_)) { other.wipe(); }
    Secret& operator=(const Secret& other) {
        if (this != &other) {
            wipe();
            value_ = other.value_;
        }
        return *this;
    }
    Secret& operator=(Secret&& other) noexcept {
        if (this != &other) {
            wipe();
            value_ = std::move(other.value_);
            other.wipe();
        }
        return *this;
    }
    ~Secret() { wipe(); }

    [[nodiscard]] std::string_view reveal() const noexcept { return value_; }
    [[nodiscard]] bool empty() const noexcept { return value_.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return value_.size(); }

    // Constant time in the length of the longer value.
    friend bool operator==(const Secret& a, const Secret& b) noexcept {
        return equal_constant_time(a.value_, b.value_);
    }
    static bool equal_constant_time(std::string_view a, std::string_view b) noexcept;

    friend std::ostream& operator<<(std::ostream& os, const Secret&) { return os << "***"; }

  private:
    void wipe() noexcept;
    std::string value_;
};

}  // namespace pb

template <>
struct fmt::formatter<pb::Secret> : fmt::formatter<std::string_view> {
    template <class Ctx>
    auto format(const pb::Secret&, Ctx& ctx) const {
        return fmt::formatter<std::string_view>::format("***", ctx);
    }
};
