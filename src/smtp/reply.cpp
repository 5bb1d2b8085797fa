// The SMTP reply parser (RFC 5321 section 4.2, RFC 3463 statuses).
#include "smtp/reply.hpp"

#include <algorithm>
#include <charconv>

namespace pb::smtp {

namespace {

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

// Reads "d.d{1,3}.d{1,3}" followed by a space or the end, class matching the
// reply code's first digit (RFC 3463: 2, 4 or 5). Returns the length read.
std::size_t parse_status(std::string_view text, int code, EnhancedStatus& out) noexcept {
    const char klass = static_cast<char>('0' + code / 100);
    if (text.size() < 5 || text[0] != klass || text[1] != '.') return 0;
    if (klass != '2' && klass != '4' && klass != '5') return 0;
    std::size_t pos = 2;
    unsigned parts[2] = {0, 0};
    for (int i = 0; i < 2; ++i) {
        const std::size_t start = pos;
        while (pos < text.size() && is_digit(text[pos]) && pos - start < 3) {
            parts[i] = parts[i] * 10 + static_cast<unsigned>(text[pos] - '0');
            ++pos;
        }
        if (pos == start) return 0;
        if (i == 0) {
            if (pos >= text.size() || text[pos] != '.') return 0;
            ++pos;
        }
    }
    if (pos < text.size() && text[pos] != ' ') return 0;
    out.klass = static_cast<std::uint8_t>(klass - '0');
    out.subject = static_cast<std::uint16_t>(parts[0]);
    out.detail = static_cast<std::uint16_t>(parts[1]);
    return pos;
}

}  // namespace

std::string EnhancedStatus::str() const {
    if (!present()) return {};
    return std::to_string(klass) + '.' + std::to_string(subject) + '.' + std::to_string(detail);
}

std::string Reply::summary() const {
    std::string s = std::to_string(code);
    if (status.present()) s += ' ' + status.str();
    if (!lines.empty() && !lines.front().empty()) s += ' ' + lines.front();
    if (lines.size() > 1) s += " ...";
    return s;
}

ReplyParser::Progress ReplyParser::put(std::string_view bytes) {
    if (!error_.empty()) return {Status::invalid, 0};
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        const auto rest = bytes.substr(pos);
        const auto nl = rest.find('\n');
        const auto piece = rest.substr(0, nl == std::string_view::npos ? rest.size() : nl);
        if (line_.size() + piece.size() > max_line) return {fail("reply line too long"), pos};
        if (nl == std::string_view::npos) {
            line_.append(piece);
            return {Status::need_more, bytes.size()};
        }
        pos += nl + 1;
        Status s;
        if (line_.empty()) {
            s = line_done(piece);  // the whole line is in this input: no copy
        } else {
            line_.append(piece);
            s = line_done(line_);
            line_.clear();
        }
        if (s != Status::need_more) return {s, pos};
    }
    return {Status::need_more, pos};
}

Reply ReplyParser::take() {
    Reply r = std::move(reply_);
    reply_ = Reply{};
    return r;
}

ReplyParser::Status ReplyParser::fail(std::string_view why) {
    error_ = why;
    return Status::invalid;
}

ReplyParser::Status ReplyParser::line_done(std::string_view line) {
    // CRLF is the terminator; a bare LF is tolerated (some appliances send it).
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2]))
        return fail("reply line does not start with a three-digit code");
    int code = 0;
    std::from_chars(line.data(), line.data() + 3, code);
    if (code < 200 || code > 599) return fail("reply code out of range");
    bool last = true;
    if (line.size() > 3) {
        if (line[3] == '-')
            last = false;
        else if (line[3] != ' ')
            return fail("reply code not followed by space or hyphen");
    }
    std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view{};

    if (reply_.lines.empty()) {
        reply_.code = code;
        if (const auto n = parse_status(text, code, reply_.status)) {
            text.remove_prefix(std::min(n + 1, text.size()));
        }
    } else {
        if (code != reply_.code) return fail("continuation line with a different code");
        if (reply_.lines.size() >= max_lines) return fail("reply has too many lines");
        EnhancedStatus again;
        if (const auto n = parse_status(text, code, again); n && again == reply_.status)
            text.remove_prefix(std::min(n + 1, text.size()));
    }
    reply_.lines.emplace_back(text);
    if (!last) return Status::need_more;
    return Status::ready;
}

}  // namespace pb::smtp
