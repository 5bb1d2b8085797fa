#include "core/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <algorithm>
#include <charconv>
#include <memory>
#include <vector>

#include "core/encoding.hpp"

namespace pb {
namespace {

constexpr std::string_view kPrefix = "pb1:";
constexpr std::size_t kNonce = 12;
constexpr std::size_t kTag = 16;

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const unsigned char* uc(std::string_view s) {
    return reinterpret_cast<const unsigned char*>(s.data());
}
int len(std::size_t n) {
    return static_cast<int>(n);
}

}  // namespace

std::optional<SealKey> SealKey::from_bytes(std::string_view raw) {
    if (raw.size() != size) return std::nullopt;
    SealKey k;
    std::copy(raw.begin(), raw.end(), reinterpret_cast<char*>(k.key_.data()));
    return k;
}

std::optional<SealKey> SealKey::from_base64(std::string_view b64) {
    auto raw = base64_decode(b64);
    if (!raw) return std::nullopt;
    auto k = from_bytes(*raw);
    OPENSSL_cleanse(raw->data(), raw->size());
    return k;
}

SealKey SealKey::generate(Random& rng) {
    SealKey k;
    rng.fill(std::as_writable_bytes(std::span(k.key_)));
    return k;
}

std::string seal(const SealKey& key, Random& rng, std::string_view name, const Secret& plain) {
    const std::string_view pt = plain.reveal();
    std::string buf(kNonce + pt.size() + kTag, '\0');
    auto* out = reinterpret_cast<unsigned char*>(buf.data());
    rng.fill(std::as_writable_bytes(std::span(out, kNonce)));

    CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
    int n = 0;
    // Every call below only fails on allocation failure or a programming
    // error; either way no half-sealed value may be stored.
    if (!ctx ||
        EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, uc(key.raw()), out) != 1 ||
        EVP_EncryptUpdate(ctx.get(), nullptr, &n, uc(name), len(name.size())) != 1 ||
        EVP_EncryptUpdate(ctx.get(), out + kNonce, &n, uc(pt), len(pt.size())) != 1 ||
        EVP_EncryptFinal_ex(ctx.get(), out + kNonce + n, &n) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, len(kTag), out + kNonce + pt.size()) !=
            1)
        std::abort();
    std::string result(kPrefix);
    base64_append(as_bytes(buf), result);
    OPENSSL_cleanse(buf.data(), buf.size());
    return result;
}

std::optional<Secret> unseal(const SealKey& key, std::string_view name, std::string_view sealed) {
    if (!sealed.starts_with(kPrefix)) return std::nullopt;
    auto raw = base64_decode(sealed.substr(kPrefix.size()));
    if (!raw || raw->size() < kNonce + kTag) return std::nullopt;
    const auto* in = uc(*raw);
    const std::size_t ct_len = raw->size() - kNonce - kTag;
    std::string pt(ct_len, '\0');
    auto* out = reinterpret_cast<unsigned char*>(pt.data());

    CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
    int n = 0;
    std::array<unsigned char, kTag> tag{};
    std::copy_n(in + kNonce + ct_len, kTag, tag.begin());
    const bool ok =
        ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, uc(key.raw()), in) == 1 &&
        EVP_DecryptUpdate(ctx.get(), nullptr, &n, uc(name), len(name.size())) == 1 &&
        EVP_DecryptUpdate(ctx.get(), out, &n, in + kNonce, len(ct_len)) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, len(kTag), tag.data()) == 1 &&
        EVP_DecryptFinal_ex(ctx.get(), out + n, &n) == 1;
    OPENSSL_cleanse(raw->data(), raw->size());
    if (!ok) {
        OPENSSL_cleanse(pt.data(), pt.size());
        return std::nullopt;
    }
    return Secret(std::move(pt));
}

namespace {

std::string pbkdf2(std::string_view password, std::string_view salt, unsigned iterations) {
    std::string out(32, '\0');
    if (PKCS5_PBKDF2_HMAC(password.data(), len(password.size()), uc(salt), len(salt.size()),
                          static_cast<int>(iterations), EVP_sha256(), len(out.size()),
                          reinterpret_cast<unsigned char*>(out.data())) != 1)
        std::abort();
    return out;
}

}  // namespace

std::string hash_password(const Secret& password, Random& rng, unsigned iterations) {
    std::string salt(16, '\0');
    rng.fill(std::as_writable_bytes(std::span(salt)));
    const std::string h = pbkdf2(password.reveal(), salt, iterations);
    return "pbkdf2-sha256$" + std::to_string(iterations) + "$" + base64_encode(salt) + "$" +
           base64_encode(h);
}

bool verify_password(const Secret& password, std::string_view stored) {
    // pbkdf2-sha256$N$salt$hash
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= stored.size(); ++i) {
        if (i == stored.size() || stored[i] == '$') {
            parts.push_back(stored.substr(start, i - start));
            start = i + 1;
        }
    }
    if (parts.size() != 4 || parts[0] != "pbkdf2-sha256") return false;
    unsigned iterations = 0;
    auto [p, ec] = std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), iterations);
    if (ec != std::errc() || p != parts[1].data() + parts[1].size() || iterations < 1000 ||
        iterations > 10'000'000)
        return false;
    auto salt = base64_decode(parts[2]);
    auto want = base64_decode(parts[3]);
    if (!salt || !want) return false;
    return Secret::equal_constant_time(pbkdf2(password.reveal(), *salt, iterations), *want);
}

std::string sha256_hex(std::string_view data) {
    std::array<unsigned char, SHA256_DIGEST_LENGTH> d{};
    SHA256(uc(data), data.size(), d.data());
    return hex_encode(std::as_bytes(std::span(d)));
}

Result<void> check_certificate_pair(const std::filesystem::path& cert,
                                    const std::filesystem::path& key) {
    auto unusable = [&](std::string_view why) {
        return fail(Errc::spool_unwritable, "cannot use the certificate " + cert.string() +
                                                " with the key " + key.string() + ": " +
                                                std::string(why));
    };
    std::unique_ptr<BIO, decltype(&BIO_free)> cert_in(BIO_new_file(cert.c_str(), "r"), &BIO_free);
    std::unique_ptr<BIO, decltype(&BIO_free)> key_in(BIO_new_file(key.c_str(), "r"), &BIO_free);
    if (!cert_in || !key_in) return unusable("a file cannot be read");
    std::unique_ptr<X509, decltype(&X509_free)> x509(
        PEM_read_bio_X509(cert_in.get(), nullptr, nullptr, nullptr), &X509_free);
    if (!x509) return unusable("no PEM certificate in it");
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(
        PEM_read_bio_PrivateKey(key_in.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
    if (!pkey) return unusable("no PEM private key in it (or it needs a passphrase)");
    if (X509_check_private_key(x509.get(), pkey.get()) != 1)
        return unusable("the key is not the certificate's");
    return {};
}

}  // namespace pb
