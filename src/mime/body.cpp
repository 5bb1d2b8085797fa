#include "mime/body.hpp"

#include "core/encoding.hpp"
#include "core/text.hpp"

namespace pb::mime {
namespace {

constexpr std::size_t kMaxLine = 998;    // RFC 5321 4.5.3.1.6, CRLF excluded
constexpr std::size_t kQpLine = 76;      // RFC 2045 6.7 rule 5
constexpr std::size_t kBase64Line = 57;  // input bytes per 76-character line
constexpr char kHex[] = "0123456789ABCDEF";

}  // namespace

std::string to_crlf(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 32 + 2);
    CrlfNormalizer n;
    n.feed(text, out);
    n.finish(out);
    return out;
}

void CrlfNormalizer::feed(std::string_view in, std::string& out) {
    std::size_t i = 0;
    if (pending_cr_ && !in.empty()) {
        pending_cr_ = false;
        out += "\r\n";
        at_line_start_ = true;
        if (in[0] == '\n') i = 1;  // the CRLF we held half of
    }
    while (i < in.size()) {
        const std::size_t brk = next_line_break(in, i);
        if (brk > i) {
            out.append(in, i, brk - i);
            at_line_start_ = false;
        }
        if (brk == in.size()) break;
        if (in[brk] == '\r' && brk + 1 == in.size()) {
            pending_cr_ = true;  // its LF may start the next piece
            break;
        }
        // CRLF, a lone CR or a lone LF: each one line break.
        out += "\r\n";
        at_line_start_ = true;
        i = brk + (in[brk] == '\r' && in[brk + 1] == '\n' ? 2 : 1);
    }
}

void CrlfNormalizer::finish(std::string& out) {
    if (pending_cr_ || !at_line_start_) out += "\r\n";
    pending_cr_ = false;
    at_line_start_ = true;
}

TextBody encode_text(std::string_view crlf_text) {
    bool seven_bit = true;
    std::size_t non_ascii = 0;
    std::size_t line = 0;
    for (char c : crlf_text) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x80) ++non_ascii;
        if ((u < 0x20 && c != '\t' && c != '\r' && c != '\n') || u >= 0x7F) seven_bit = false;
        line = c == '\n' ? 0 : line + 1;
        if (line > kMaxLine + 1) seven_bit = false;  // +1: the CR before the LF
    }
    TextBody body;
    if (seven_bit) {
        body.transfer_encoding = "7bit";
        body.data = std::string(crlf_text);
    } else if (non_ascii * 3 > crlf_text.size()) {
        // Each non-ASCII byte costs 3 in quoted-printable; past a third of
        // the text, base64 (a flat 4/3 plus line ends) is smaller.
        body.transfer_encoding = "base64";
        base64_lines_append(crlf_text, body.data);
    } else {
        body.transfer_encoding = "quoted-printable";
        quoted_printable_append(crlf_text, body.data);
    }
    return body;
}

void quoted_printable_append(std::string_view crlf_text, std::string& out) {
    out.reserve(out.size() + crlf_text.size() + crlf_text.size() / 8);
    std::size_t pos = 0;
    while (pos < crlf_text.size()) {
        auto eol = crlf_text.find("\r\n", pos);
        const bool has_eol = eol != std::string_view::npos;
        if (!has_eol) eol = crlf_text.size();
        const std::string_view line = crlf_text.substr(pos, eol - pos);
        std::size_t col = 0;
        for (std::size_t i = 0; i < line.size(); ++i) {
            const char c = line[i];
            const auto u = static_cast<unsigned char>(c);
            const bool last = i + 1 == line.size();
            // Trailing whitespace would be stripped by some relays (6.7 rule 3).
            const bool literal =
                (u >= 33 && u <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last);
            const std::size_t width = literal ? 1 : 3;
            // A soft break "=" must fit on the line too, unless this is the
            // line's last character and needs no break after it.
            if (col + width > (last ? kQpLine : kQpLine - 1)) {
                out += "=\r\n";
                col = 0;
            }
            if (literal) {
                out.push_back(c);
            } else {
                out.push_back('=');
                out.push_back(kHex[u >> 4]);
                out.push_back(kHex[u & 15]);
            }
            col += width;
        }
        out += "\r\n";
        pos = has_eol ? eol + 2 : eol;
    }
}

void base64_lines_append(std::string_view bytes, std::string& out) {
    const auto data = as_bytes(bytes);
    for (std::size_t i = 0; i < data.size(); i += kBase64Line) {
        base64_append(data.subspan(i, std::min(kBase64Line, data.size() - i)), out);
        out += "\r\n";
    }
}

}  // namespace pb::mime
