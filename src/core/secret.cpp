#include "core/secret.hpp"

#include <openssl/crypto.h>

namespace pb {

bool Secret::equal_constant_time(std::string_view a, std::string_view b) noexcept {
    // Walk the longer length whatever the contents, so timing tells at most
    // the lengths.
    const std::size_t n = a.size() > b.size() ? a.size() : b.size();
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (std::size_t i = 0; i < n; ++i) {
        const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
        const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
        diff = static_cast<unsigned char>(diff | (x ^ y));
    }
    return diff == 0;
}

void Secret::wipe() noexcept {
    if (!value_.empty()) OPENSSL_cleanse(value_.data(), value_.size());
    value_.clear();
}

}  // namespace pb
