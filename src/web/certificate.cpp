// A self-signed certificate with OpenSSL 3 (see certificate.hpp).
#include "web/certificate.hpp"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <system_error>

#include <fmt/format.h>

#include "core/fs.hpp"
#include "core/text.hpp"

namespace pb::web {
namespace {

template <class T, void (*F)(T*)>
struct Free {
    void operator()(T* p) const noexcept { F(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Free<X509, X509_free>>;
using Bio = std::unique_ptr<BIO, Free<BIO, BIO_free_all>>;
using Ext = std::unique_ptr<X509_EXTENSION, Free<X509_EXTENSION, X509_EXTENSION_free>>;

Error ssl_failure(std::string_view what) {
    return fail(Errc::spool_unwritable,
                fmt::format("cannot make the web page's certificate: {}", what));
}

bool is_ip(std::string_view name) {
    return name.find_first_not_of("0123456789.") == std::string_view::npos ||
           name.find(':') != std::string_view::npos;
}

bool add_ext(X509* cert, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    Ext ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
    return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

std::string pem_of(int (*write)(BIO*, void*), void* object) {
    Bio bio(BIO_new(BIO_s_mem()));
    if (!bio || write(bio.get(), object) != 1) return {};
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

}  // namespace

Result<CertificateFiles> ensure_self_signed(const std::filesystem::path& state_dir,
                                            const std::vector<std::string>& extra_names) {
    CertificateFiles files{state_dir / "web-cert.pem", state_dir / "web-key.pem", false};
    std::error_code ec;
    if (std::filesystem::exists(files.cert, ec) && std::filesystem::exists(files.key, ec))
        return files;

    Key key(EVP_EC_gen("P-256"));
    if (!key) return ssl_failure("key generation failed");
    Cert cert(X509_new());
    if (!cert) return ssl_failure("out of memory");
    X509_set_version(cert.get(), X509_VERSION_3);
    // 128 random bits: browsers reject two certificates with one issuer and
    // serial, which a reset device would otherwise produce.
    unsigned char serial[16];
    if (RAND_bytes(serial, sizeof serial) != 1) return ssl_failure("no randomness");
    serial[0] &= 0x7f;
    BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
    X509_set_pubkey(cert.get(), key.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("postbridge"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("postbridge Web Config"), -1,
                               -1, 0);
    X509_set_issuer_name(cert.get(), name);

    std::string san = "DNS:localhost,IP:127.0.0.1,IP:::1";
    for (const auto& n : extra_names) {
        if (n.empty() || n == "localhost" || n == "127.0.0.1" || n == "::1" || n == "0.0.0.0" ||
            n == "::")
            continue;
        san += fmt::format(",{}:{}", is_ip(n) ? "IP" : "DNS", n);
    }
    if (!add_ext(cert.get(), NID_subject_alt_name, san) ||
        !add_ext(cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
        !add_ext(cert.get(), NID_key_usage, "critical,digitalSignature") ||
        !add_ext(cert.get(), NID_ext_key_usage, "serverAuth"))
        return ssl_failure("cannot add the certificate's extensions");
    if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return ssl_failure("signing failed");

    const std::string key_pem = pem_of(
        [](BIO* b, void* k) {
            return PEM_write_bio_PrivateKey(b, static_cast<EVP_PKEY*>(k), nullptr, nullptr, 0,
                                            nullptr, nullptr);
        },
        key.get());
    const std::string cert_pem = pem_of(
        [](BIO* b, void* c) { return PEM_write_bio_X509(b, static_cast<X509*>(c)); }, cert.get());
    if (key_pem.empty() || cert_pem.empty()) return ssl_failure("cannot write PEM");
    // The key first: a certificate without its key would be kept and never work.
    if (auto r = write_file_atomic(files.key, key_pem, 0600); !r) return std::move(r).error();
    if (auto r = write_file_atomic(files.cert, cert_pem, 0644); !r) return std::move(r).error();
    files.created = true;
    return files;
}

std::vector<std::string> certificate_dns_names(const std::filesystem::path& pem) {
    std::vector<std::string> names;
    const Bio in(BIO_new_file(pem.c_str(), "r"));
    if (!in) return names;
    const Cert cert(PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr));
    if (!cert) return names;
    auto* sans = static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr));
    if (sans == nullptr) return names;
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
        const GENERAL_NAME* n = sk_GENERAL_NAME_value(sans, i);
        if (n->type != GEN_DNS) continue;
        const auto* s = n->d.dNSName;
        names.push_back(
            lower(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                   static_cast<std::size_t>(ASN1_STRING_length(s)))));
    }
    GENERAL_NAMES_free(sans);
    return names;
}

}  // namespace pb::web
