#include "mime/media_type.hpp"

#include <fstream>
#include <sstream>

#include "core/text.hpp"

namespace pb::mime {
namespace {

constexpr std::string_view kUnknown = "application/octet-stream";

constexpr std::string_view kBuiltIn = R"(
application/pdf pdf
image/jpeg jpg jpeg
image/png png
image/tiff tif tiff
text/plain txt
text/csv csv
application/xml xml
application/zip zip
application/vnd.openxmlformats-officedocument.wordprocessingml.document docx
application/vnd.openxmlformats-officedocument.spreadsheetml.sheet xlsx
application/vnd.openxmlformats-officedocument.presentationml.presentation pptx
)";

}  // namespace

MediaTypes MediaTypes::parse(std::string_view text) {
    MediaTypes t;
    std::istringstream lines{std::string(text)};
    std::string line;
    while (std::getline(lines, line)) {
        if (const auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
        std::istringstream words(line);
        std::string type, ext;
        if (!(words >> type) || type.find('/') == std::string::npos) continue;
        if (type.starts_with("message/") || type.starts_with("multipart/")) continue;
        while (words >> ext) t.types_.try_emplace(lower(ext), type);
    }
    return t;
}

MediaTypes MediaTypes::fallback() {
    return parse(kBuiltIn);
}

std::string_view MediaTypes::lookup(std::string_view filename) const {
    const auto dot = filename.rfind('.');
    if (dot == std::string_view::npos) return kUnknown;
    const auto it = types_.find(lower(filename.substr(dot + 1)));
    return it == types_.end() ? kUnknown : std::string_view(it->second);
}

std::string_view media_type_for(std::string_view filename) {
    static const MediaTypes table = [] {
        std::ifstream in("/etc/mime.types");
        std::stringstream text;
        text << in.rdbuf();
        auto system = MediaTypes::parse(text.str());
        return system.size() > 0 ? system : MediaTypes::fallback();
    }();
    return table.lookup(filename);
}

}  // namespace pb::mime
