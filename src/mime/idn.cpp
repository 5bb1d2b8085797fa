#include "mime/idn.hpp"

#include <idn2.h>

#include <cstdlib>
#include <memory>

namespace pb::mime {

Result<std::string> domain_to_ascii(std::string_view utf8_domain) {
    std::string domain(utf8_domain);
    bool ascii = true;
    for (char& c : domain) {
        if (static_cast<unsigned char>(c) >= 0x80) ascii = false;
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    if (ascii) return domain;

    char* out = nullptr;
    const int rc = idn2_to_ascii_8z(std::string(utf8_domain).c_str(), &out,
                                    IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
    const std::unique_ptr<char, decltype(&idn2_free)> owned(out, &idn2_free);
    if (rc != IDN2_OK)
        return fail(Errc::invalid_input,
                    std::string("not a valid internationalized domain name (IDNA2008: ") +
                        idn2_strerror(rc) + ")");
    return std::string(out);
}

}  // namespace pb::mime
