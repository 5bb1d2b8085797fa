// The DATA encoder; hot path for large attachments, so it copies runs
// between line ends with append rather than byte by byte.
#include "smtp/dot_stuffer.hpp"

#include <cstring>

namespace pb::smtp {

void DotStuffer::put(std::string_view in, std::string& out) {
    const char* const data = in.data();
    const std::size_t n = in.size();
    std::size_t i = 0;
    while (i < n) {
        if (line_start_) {
            if (data[i] == '.') out += '.';
            line_start_ = false;
        }
        const auto* nl = static_cast<const char*>(std::memchr(data + i, '\n', n - i));
        const std::size_t end = nl ? static_cast<std::size_t>(nl - data) : n;
        if (end > i) {
            out.append(data + i, end - i);
            prev_cr_ = data[end - 1] == '\r';
        }
        if (!nl) break;
        if (!prev_cr_) out += '\r';
        out += '\n';
        prev_cr_ = false;
        line_start_ = true;
        i = end + 1;
    }
}

void DotStuffer::finish(std::string& out) {
    if (!line_start_) out += prev_cr_ ? "\n" : "\r\n";
    out += ".\r\n";
    line_start_ = true;
    prev_cr_ = false;
}

}  // namespace pb::smtp
