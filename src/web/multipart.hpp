// multipart/form-data (RFC 7578), only as far as a file upload form needs
// it: the CA Certificate page's import. Parts are read whole from the body
// the server already limited in size.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pb::web {

struct FormPart {
    std::string name;      // the form field
    std::string filename;  // set for a file
    std::string body;      // the bytes as sent (binary for DER)
};

// nullopt when the content type has no boundary or the body does not follow
// it (a missing closing delimiter, a part without headers).
std::optional<std::vector<FormPart>> parse_multipart(std::string_view content_type,
                                                     std::string_view body);

}  // namespace pb::web
