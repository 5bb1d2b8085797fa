// The Content-Type of an attachment from its file name: the few types an
// office device produces or forwards, so that the recipient's client opens
// a scan as a PDF or an image instead of offering an unknown download.
#pragma once

#include <string_view>

namespace pb::mime {

// "scan.PDF" -> "application/pdf"; unknown or missing extensions give
// "application/octet-stream".
std::string_view media_type_for(std::string_view filename) noexcept;

}  // namespace pb::mime
