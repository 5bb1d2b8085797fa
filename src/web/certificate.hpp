// The web page's own TLS certificate: made at first start when the
// administrator has not configured one (web.cert / web.key), self-signed,
// for the names the page is reached by on this machine.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace pb::web {

struct CertificateFiles {
    std::filesystem::path cert;
    std::filesystem::path key;
    bool created = false;  // made just now
};

// Uses STATE/web-cert.pem and STATE/web-key.pem, making them when either is
// missing: a P-256 key (0600, written atomically) and a certificate valid
// for ten years for localhost, 127.0.0.1, ::1 and `extra_names` (the
// listen address when it is not a wildcard). Errors are 651.
Result<CertificateFiles> ensure_self_signed(const std::filesystem::path& state_dir,
                                            const std::vector<std::string>& extra_names);

// The DNS names (subjectAltName) of a PEM certificate, in lowercase; none
// when the file cannot be read.
std::vector<std::string> certificate_dns_names(const std::filesystem::path& pem);

}  // namespace pb::web
