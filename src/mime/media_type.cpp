#include "mime/media_type.hpp"

#include <array>
#include <utility>

namespace pb::mime {

std::string_view media_type_for(std::string_view filename) noexcept {
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 13> kTypes{{
        {"pdf", "application/pdf"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"png", "image/png"},
        {"tif", "image/tiff"},
        {"tiff", "image/tiff"},
        {"txt", "text/plain"},
        {"csv", "text/csv"},
        {"xml", "application/xml"},
        {"zip", "application/zip"},
        {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
        {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
        {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
    }};
    const auto dot = filename.rfind('.');
    if (dot == std::string_view::npos || filename.size() - dot - 1 > 4)
        return "application/octet-stream";
    char ext[4];
    const std::size_t n = filename.size() - dot - 1;
    for (std::size_t i = 0; i < n; ++i) {
        const char c = filename[dot + 1 + i];
        ext[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    }
    for (const auto& [e, type] : kTypes)
        if (e == std::string_view(ext, n)) return type;
    return "application/octet-stream";
}

}  // namespace pb::mime
