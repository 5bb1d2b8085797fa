// Escaping, form and JSON helpers, and QR codes (see html.hpp).
#include "web/html.hpp"

#include <qrencode.h>

#include <memory>

#include <fmt/format.h>

namespace pb::web {

std::string escape(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 8);
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out.push_back(c);
        }
    }
    return out;
}

std::string csrf_input(std::string_view csrf) {
    return fmt::format(R"(<input type="hidden" name="csrf" value="{}">)", escape(csrf));
}

std::string json_text(const nlohmann::json& j, std::string_view key) {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) return {};
    return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string qr_svg(std::string_view text) {
    const std::string z(text);
    std::unique_ptr<QRcode, decltype(&QRcode_free)> qr(
        QRcode_encodeString8bit(z.c_str(), 0, QR_ECLEVEL_M), &QRcode_free);
    if (!qr) return {};
    const int n = qr->width;
    constexpr int quiet = 4;  // ISO/IEC 18004: four modules of margin
    std::string path;
    for (int y = 0; y < n; ++y) {
        for (int x = 0; x < n; ++x) {
            // Bit 0 of each byte is the module's colour (1 = dark).
            if ((qr->data[y * n + x] & 1) != 0)
                path += fmt::format("M{},{}h1v1h-1z", x + quiet, y + quiet);
        }
    }
    const int size = n + 2 * quiet;
    return fmt::format(
        R"(<svg xmlns="http://www.w3.org/2000/svg" class="qr" viewBox="0 0 {0} {0}" width="{1}" height="{1}" role="img" aria-label="QR code of the sign-in page" shape-rendering="crispEdges"><rect width="{0}" height="{0}" fill="#fff"/><path d="{2}" fill="#000"/></svg>)",
        size, size * 4, path);
}

}  // namespace pb::web
