// multipart/form-data reader (multipart.hpp).
#include "web/multipart.hpp"

#include <algorithm>
#include <cctype>

#include "core/text.hpp"

namespace pb::web {
namespace {

// The value of `name=` in a header's parameters, quoted or not.
std::optional<std::string> header_param(std::string_view header, std::string_view name) {
    const std::string h = lower(header);
    std::size_t pos = 0;
    while ((pos = h.find(name, pos)) != std::string::npos) {
        const bool starts = pos == 0 || h[pos - 1] == ';' || h[pos - 1] == ' ';
        const std::size_t eq = pos + name.size();
        if (!starts || eq >= h.size() || h[eq] != '=') {
            pos = eq;
            continue;
        }
        std::string_view v = header.substr(eq + 1);
        if (!v.empty() && v.front() == '"') {
            const auto close = v.find('"', 1);
            if (close == std::string_view::npos) return std::nullopt;
            return std::string(v.substr(1, close - 1));
        }
        return std::string(v.substr(0, v.find(';')));
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::vector<FormPart>> parse_multipart(std::string_view content_type,
                                                     std::string_view body) {
    if (!lower(content_type).starts_with("multipart/form-data")) return std::nullopt;
    const auto boundary = header_param(content_type, "boundary");
    if (!boundary || boundary->empty() || boundary->size() > 70) return std::nullopt;
    const std::string delim = "--" + *boundary;
    const std::string next = "\r\n" + delim;

    std::vector<FormPart> parts;
    if (!body.starts_with(delim)) return std::nullopt;
    std::size_t pos = delim.size();
    for (;;) {
        if (body.substr(pos).starts_with("--")) return parts;  // the closing delimiter
        if (!body.substr(pos).starts_with("\r\n")) return std::nullopt;
        pos += 2;
        const auto head_end = body.find("\r\n\r\n", pos);
        if (head_end == std::string_view::npos) return std::nullopt;
        FormPart part;
        std::string_view headers = body.substr(pos, head_end - pos);
        while (!headers.empty()) {
            const auto eol = headers.find("\r\n");
            const std::string_view line = headers.substr(0, eol);
            headers = eol == std::string_view::npos ? std::string_view{} : headers.substr(eol + 2);
            if (lower(line.substr(0, 20)).starts_with("content-disposition:")) {
                part.name = header_param(line, "name").value_or("");
                part.filename = header_param(line, "filename").value_or("");
            }
        }
        const std::size_t data = head_end + 4;
        const auto end = body.find(next, data);
        if (end == std::string_view::npos) return std::nullopt;
        part.body = std::string(body.substr(data, end - data));
        parts.push_back(std::move(part));
        pos = end + next.size();
    }
}

}  // namespace pb::web
