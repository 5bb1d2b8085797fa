// Secrets at rest and password hashes, on OpenSSL.
//
// Sealed values are AES-256-GCM with a fresh 96-bit nonce and the value's
// name as associated data: a ciphertext moved to another row, or altered by
// one bit, fails to open (tampering is detected, not decrypted to garbage).
// Passwords (administrator, relay devices, API tokens) are PBKDF2-HMAC-SHA256
// with 600000 iterations (OWASP 2023) and a 16-byte salt.
#pragma once

#include <array>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/secret.hpp"

namespace pb {

class SealKey {
  public:
    static constexpr std::size_t size = 32;
    // From 32 raw bytes, or from their base64 (POSTBRIDGE_KEY).
    static std::optional<SealKey> from_bytes(std::string_view raw);
    static std::optional<SealKey> from_base64(std::string_view b64);
    static SealKey generate(Random& rng);

    std::string_view raw() const noexcept {
        return {reinterpret_cast<const char*>(key_.data()), key_.size()};
    }

  private:
    SealKey() = default;
    std::array<unsigned char, size> key_{};
};

// "pb1:" + base64(nonce | ciphertext | tag). `name` binds the value to its
// place (e.g. "token:email").
std::string seal(const SealKey& key, Random& rng, std::string_view name, const Secret& plain);
// nullopt when the value was altered, sealed under another key or another name.
std::optional<Secret> unseal(const SealKey& key, std::string_view name, std::string_view sealed);

constexpr unsigned kPbkdf2Iterations = 600000;
// "pbkdf2-sha256$600000$<salt b64>$<hash b64>"
std::string hash_password(const Secret& password, Random& rng,
                          unsigned iterations = kPbkdf2Iterations);
// Constant-time comparison; false for a malformed stored hash.
bool verify_password(const Secret& password, std::string_view stored);

// SHA-256 in hex, for API tokens (high-entropy: a slow hash adds nothing).
std::string sha256_hex(std::string_view data);

// The certificate (the first of a PEM chain) and the PEM private key load
// and belong together: what a running server checks before it swaps to a
// renewed pair, so that a half-written or mismatched one never replaces
// the pair that works. 651 naming the files otherwise.
Result<void> check_certificate_pair(const std::filesystem::path& cert,
                                    const std::filesystem::path& key);

}  // namespace pb
