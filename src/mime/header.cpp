#include "mime/header.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <optional>

#include "core/encoding.hpp"
#include "core/text.hpp"
#include "mime/utf8.hpp"

namespace pb::mime {
namespace {

constexpr std::string_view kHex = "0123456789ABCDEF";
constexpr std::string_view kPrefixB = "=?UTF-8?B?";
constexpr std::string_view kPrefixQ = "=?UTF-8?Q?";
constexpr std::size_t kOverhead = 12;  // "=?UTF-8?B?" + "?="

// RFC 2047 section 5 rule 3: what a Q word may carry unencoded in a phrase.
// Using the strictest set everywhere keeps one encoder for every context.
bool q_literal(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '!' ||
           c == '*' || c == '+' || c == '-' || c == '/';
}
std::size_t q_cost(char c) noexcept {
    return q_literal(c) || c == ' ' ? 1 : 3;
}

void q_append(std::string_view bytes, std::string& out) {
    for (char c : bytes) {
        if (c == ' ') {
            out.push_back('_');
        } else if (q_literal(c)) {
            out.push_back(c);
        } else {
            const auto u = static_cast<unsigned char>(c);
            out.push_back('=');
            out.push_back(kHex[u >> 4]);
            out.push_back(kHex[u & 15]);
        }
    }
}

// RFC 2231 attribute-char minus the ones some decoders mishandle ('*', '\'', '%').
bool attr_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$&+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_atom_text(std::string_view s) noexcept {
    for (char c : s) {
        const bool alnum =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) == std::string_view::npos)
            return false;
    }
    return !s.empty();
}

std::string quote(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// One encoded word at `p` ("=?charset?enc?text?="): its decoded bytes and
// its end, or nothing when it is not one we can decode.
struct Decoded {
    std::string bytes;
    std::size_t end = 0;
};
std::optional<Decoded> decode_word(std::string_view s, std::size_t p) {
    if (s.substr(p, 2) != "=?") return std::nullopt;
    const auto q1 = s.find('?', p + 2);
    if (q1 == std::string_view::npos) return std::nullopt;
    const auto q2 = s.find('?', q1 + 1);
    if (q2 != q1 + 2) return std::nullopt;
    const auto q3 = s.find("?=", q2 + 1);
    if (q3 == std::string_view::npos) return std::nullopt;
    std::string_view charset = s.substr(p + 2, q1 - p - 2);
    charset = charset.substr(0, charset.find('*'));  // RFC 2231 section 5 language suffix
    if (!iequals(charset, "utf-8") && !iequals(charset, "us-ascii")) return std::nullopt;
    const std::string_view text = s.substr(q2 + 1, q3 - q2 - 1);
    if (text.find_first_of(" \t") != std::string_view::npos) return std::nullopt;
    Decoded d;
    d.end = q3 + 2;
    const char enc = s[q1 + 1];
    if (enc == 'B' || enc == 'b') {
        auto b = base64_decode(text);
        if (!b) return std::nullopt;
        d.bytes = std::move(*b);
    } else if (enc == 'Q' || enc == 'q') {
        for (std::size_t i = 0; i < text.size(); ++i) {
            const char c = text[i];
            if (c == '_') {
                d.bytes.push_back(' ');
            } else if (c == '=') {
                if (i + 2 >= text.size()) return std::nullopt;
                const int h = hex_value(text[i + 1]);
                const int l = hex_value(text[i + 2]);
                if (h < 0 || l < 0) return std::nullopt;
                d.bytes.push_back(static_cast<char>(h * 16 + l));
                i += 2;
            } else {
                d.bytes.push_back(c);
            }
        }
    } else {
        return std::nullopt;
    }
    return d;
}

const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

}  // namespace

Result<void> check_header_value(std::string_view field, std::string_view value) {
    for (std::size_t i = 0; i < value.size(); ++i) {
        const auto u = static_cast<unsigned char>(value[i]);
        if (u == '\r' || u == '\n')
            return fail(Errc::invalid_input,
                        std::string(field) +
                            ": the value contains a line break (refused: header injection)");
        if ((u < 0x20 && u != '\t') || u == 0x7F)
            return fail(Errc::invalid_input,
                        std::string(field) + ": the value contains a control character at offset " +
                            std::to_string(i));
    }
    if (const auto bad = utf8_error_offset(value))
        return fail(Errc::invalid_input, std::string(field) +
                                             ": the value is not valid UTF-8 (at byte " +
                                             std::to_string(*bad) + ")");
    return {};
}

std::vector<std::string> encode_words(std::string_view utf8, std::size_t first_limit,
                                      std::size_t next_limit) {
    std::size_t q_total = 0;
    for (char c : utf8) q_total += q_cost(c);
    const bool use_q = q_total <= base64_encoded_size(utf8.size());

    std::vector<std::string> words;
    std::size_t limit = first_limit;
    std::size_t i = 0;
    while (i < utf8.size()) {
        // The longest run of whole characters whose encoding fits.
        const std::size_t start = i;
        std::size_t payload = 0;
        while (i < utf8.size()) {
            std::size_t n = utf8_sequence_length(utf8, i);
            if (n == 0) n = 1;  // callers validate; never loop forever on bad input
            std::size_t next = 0;
            if (use_q) {
                next = payload;
                for (std::size_t k = 0; k < n; ++k) next += q_cost(utf8[i + k]);
            } else {
                next = base64_encoded_size(i + n - start);
            }
            if (kOverhead + next > limit && i > start) break;
            payload = next;
            i += n;
        }
        std::string w(use_q ? kPrefixQ : kPrefixB);
        const std::string_view chunk = utf8.substr(start, i - start);
        if (use_q)
            q_append(chunk, w);
        else
            base64_append(as_bytes(chunk), w);
        w += "?=";
        words.push_back(std::move(w));
        limit = next_limit;
    }
    return words;
}

std::string decode_words(std::string_view value) {
    // Unfold first: CRLF followed by whitespace is just that whitespace.
    std::string unfolded;
    unfolded.reserve(value.size());
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] == '\r' && i + 2 < value.size() && value[i + 1] == '\n' &&
            (value[i + 2] == ' ' || value[i + 2] == '\t')) {
            ++i;
            continue;
        }
        unfolded.push_back(value[i]);
    }
    std::string out;
    std::size_t p = 0;
    std::size_t after_word = std::string::npos;  // end of the last encoded word
    while (p < unfolded.size()) {
        if (auto d = decode_word(unfolded, p)) {
            if (after_word != std::string::npos) {
                // Only whitespace since the previous word: it goes (6.2).
                const std::string_view gap =
                    std::string_view(unfolded).substr(after_word, p - after_word);
                if (gap.find_first_not_of(" \t") == std::string_view::npos)
                    out.resize(out.size() - gap.size());
            }
            out += d->bytes;
            p = d->end;
            after_word = p;
            continue;
        }
        if (unfolded[p] != ' ' && unfolded[p] != '\t') after_word = std::string::npos;
        out.push_back(unfolded[p++]);
    }
    return out;
}

HeaderField::HeaderField(std::string_view name) : out_(name) {
    out_.push_back(':');
    line_ = out_.size();
}

std::size_t HeaderField::room() const noexcept {
    return line_ + 1 >= kHeaderLineLimit ? 0 : kHeaderLineLimit - line_ - 1;
}

void HeaderField::word(std::string_view token) {
    // Never fold before the first token: that would leave "Name:" alone on
    // its line; and never before an empty token, which would make a line of
    // only whitespace (RFC 5322 section 3.2.2).
    if (token.size() > room() && !first_ && !token.empty()) {
        out_ += "\r\n ";
        line_ = 1;
    } else {
        out_.push_back(' ');
        ++line_;
    }
    out_ += token;
    line_ += token.size();
    first_ = false;
}

void HeaderField::glue(std::string_view text) {
    out_ += text;
    line_ += text.size();
}

void HeaderField::unstructured(std::string_view text) {
    // Plain text stays readable. It is cut into tokens of a word with the
    // extra spaces before it, so that runs of spaces survive and a fold (which
    // stands for one space) only ever comes before a word, never leaving a
    // line of spaces or one over the limit. Anything else goes encoded: text
    // a decoder could misread as an encoded word, leading or trailing spaces,
    // or a token too long for any line.
    std::vector<std::string_view> tokens;
    bool plain = is_ascii(text) && text.find("=?") == std::string_view::npos &&
                 !text.starts_with(' ') && !text.ends_with(' ');
    for (std::size_t start = 0; plain && start < text.size();) {
        auto end = text.find_first_not_of(' ', start);
        end = std::min(text.find(' ', end), text.size());
        tokens.push_back(text.substr(start, end - start));
        plain = tokens.back().size() <= (tokens.size() == 1 ? room() : kHeaderLineLimit - 1);
        start = end + 1;
    }
    if (!plain) {
        for (const auto& w :
             encode_words(text, room() >= kOverhead + 4 ? room() : kEncodedWordLimit))
            word(w);
        return;
    }
    if (tokens.empty()) word("");
    for (const auto t : tokens) word(t);
}

void HeaderField::phrase(std::string_view text) {
    if (!is_ascii(text)) {
        for (const auto& w :
             encode_words(text, room() >= kOverhead + 4 ? room() : kEncodedWordLimit))
            word(w);
        return;
    }
    // Atoms when every word is one; otherwise one quoted string, which
    // also keeps "=?" from being taken for an encoded word (RFC 2047 5.3).
    bool atoms = text.find("=?") == std::string_view::npos && !text.empty();
    std::size_t start = 0;
    while (atoms && start <= text.size()) {
        auto sp = text.find(' ', start);
        if (sp == std::string_view::npos) sp = text.size();
        atoms = is_atom_text(text.substr(start, sp - start));
        start = sp + 1;
    }
    if (!atoms) {
        word(quote(text));
        return;
    }
    start = 0;
    while (start <= text.size()) {
        auto sp = text.find(' ', start);
        if (sp == std::string_view::npos) sp = text.size();
        word(text.substr(start, sp - start));
        start = sp + 1;
    }
}

void HeaderField::mailbox(const Mailbox& m) {
    if (m.display_name.empty()) {
        word(m.addr_spec());
        return;
    }
    phrase(m.display_name);
    word("<" + m.addr_spec() + ">");
}

void HeaderField::parameter(std::string_view name, std::string_view value) {
    glue(";");
    const std::string plain = std::string(name) + "=" + quote(value);
    if (is_ascii(value) && plain.size() < kHeaderLineLimit - 2) {
        bool printable = true;
        for (char c : value)
            printable = printable && static_cast<unsigned char>(c) >= 0x20 && c != 0x7F;
        if (printable) {
            word(plain);
            return;
        }
    }
    // RFC 2231: percent-encoded UTF-8, cut between characters into
    // continuations that each fit a line with their "; ".
    std::vector<std::string> pieces;
    std::string cur = "UTF-8''";
    const std::size_t budget =
        kHeaderLineLimit - 1 - (name.size() + 6) - 1;  // " name*NN*=" and ";"
    std::size_t i = 0;
    while (i < value.size()) {
        std::size_t n = utf8_sequence_length(value, i);
        if (n == 0) n = 1;
        std::string enc;
        for (std::size_t k = 0; k < n; ++k) {
            const char c = value[i + k];
            if (attr_char(c)) {
                enc.push_back(c);
            } else {
                const auto u = static_cast<unsigned char>(c);
                enc.push_back('%');
                enc.push_back(kHex[u >> 4]);
                enc.push_back(kHex[u & 15]);
            }
        }
        if (cur.size() + enc.size() > budget && !cur.empty()) {
            pieces.push_back(std::move(cur));
            cur.clear();
        }
        cur += enc;
        i += n;
    }
    pieces.push_back(std::move(cur));
    if (pieces.size() == 1) {
        word(std::string(name) + "*=" + pieces[0]);
        return;
    }
    for (std::size_t k = 0; k < pieces.size(); ++k) {
        if (k > 0) glue(";");
        word(std::string(name) + "*" + std::to_string(k) + "*=" + pieces[k]);
    }
}

void HeaderField::legacy_parameter(std::string_view name, std::string_view value) {
    if (is_ascii(value)) {
        parameter(name, value);
        return;
    }
    glue(";");
    const std::string lead = std::string(name) + "=\"";
    const std::size_t first = room() > lead.size() + kOverhead + 8
                                  ? room() - lead.size() - 1
                                  : kEncodedWordLimit - lead.size() - 1;
    // The closing quote rides on the last word, so later words leave it room.
    auto words = encode_words(value, first, kEncodedWordLimit - 1);
    for (std::size_t k = 0; k < words.size(); ++k) {
        std::string t = k == 0 ? lead + words[k] : words[k];
        if (k + 1 == words.size()) t.push_back('"');
        word(t);
    }
}

std::string HeaderField::finish() && {
    out_ += "\r\n";
    return std::move(out_);
}

std::string format_date(TimePoint t) {
    const std::time_t secs =
        std::chrono::system_clock::to_time_t(std::chrono::time_point_cast<std::chrono::seconds>(t));
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday],
                  tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                  tm.tm_sec);
    return buf;
}

}  // namespace pb::mime
