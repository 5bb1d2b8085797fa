// The Content-Type of an attachment from its file name, so that the
// recipient's client opens a scan as a PDF or an image instead of offering
// an unknown download. The table is the system's /etc/mime.types (Debian's
// media-types package, the one that mail and web software share), with a
// small built-in table of what office devices produce for a machine
// without it.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace pb::mime {

class MediaTypes {
  public:
    // The lines of a mime.types file: "type ext ext ...", '#' comments.
    // Types under message/ and multipart/ are left out: an attachment is
    // sent base64-encoded, which RFC 2046 forbids for those.
    static MediaTypes parse(std::string_view text);
    // The built-in table.
    static MediaTypes fallback();

    // "scan.PDF" -> "application/pdf"; unknown or missing extensions give
    // "application/octet-stream".
    std::string_view lookup(std::string_view filename) const;
    std::size_t size() const { return types_.size(); }

  private:
    std::map<std::string, std::string, std::less<>> types_;  // extension (lowercase) -> type
};

// lookup() in /etc/mime.types, read once per process, or in the built-in
// table when that file is missing or empty.
std::string_view media_type_for(std::string_view filename);

}  // namespace pb::mime
