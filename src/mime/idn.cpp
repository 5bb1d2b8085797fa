#include "mime/idn.hpp"

#include <idn2.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "core/text.hpp"

namespace pb::mime {

Result<std::string> domain_to_ascii(std::string_view utf8_domain) {
    // ASCII needs only lowercasing (what IDNA's mapping would do to it); a
    // copy either way, as libidn2 wants a terminated string.
    std::string domain = lower(utf8_domain);
    if (std::ranges::all_of(domain, [](char c) { return static_cast<unsigned char>(c) < 0x80; }))
        return domain;

    char* out = nullptr;
    const int rc = idn2_to_ascii_8z(domain.c_str(), &out, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
    const std::unique_ptr<char, decltype(&idn2_free)> owned(out, &idn2_free);
    if (rc != IDN2_OK)
        return fail(Errc::invalid_input,
                    std::string("not a valid internationalized domain name (IDNA2008: ") +
                        idn2_strerror(rc) + ")");
    return std::string(out);
}

}  // namespace pb::mime
