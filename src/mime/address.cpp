#include "mime/address.hpp"

#include <algorithm>

#include <optional>

#include "core/text.hpp"
#include "mime/idn.hpp"
#include "mime/utf8.hpp"

namespace pb::mime {
namespace {

constexpr std::size_t kMaxLocal = 64;     // RFC 5321 4.5.3.1.1
constexpr std::size_t kMaxDomain = 255;   // RFC 5321 4.5.3.1.2
constexpr std::size_t kMaxLabel = 63;     // RFC 1035 2.3.4
constexpr std::size_t kMaxAddress = 254;  // a 256-octet path minus "<" and ">"

bool is_atext(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) return true;  // RFC 6532: UTF-8 is atext; validated up front
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool is_dot_atom(std::string_view s) noexcept {
    if (s.empty() || s.front() == '.' || s.back() == '.') return false;
    char prev = 0;
    for (char c : s) {
        if (c == '.' ? prev == '.' : !is_atext(c)) return false;
        prev = c;
    }
    return true;
}

bool is_let_dig(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           static_cast<unsigned char>(c) >= 0x80;
}

// A recursive-descent parser over the whole field. On failure `why` says what
// is wrong, phrased to follow the quoted address ("... has no domain").
class Parser {
  public:
    Parser(std::string_view s, std::string_view field) : s_(s), field_(field) {}

    Result<std::vector<Mailbox>> list(EmptyList empty) {
        if (auto e = check_characters()) return *e;
        std::vector<Mailbox> out;
        for (;;) {
            if (!skip_cfws()) return error(p_);
            if (at_end()) break;
            if (peek() == ',') {  // obs-addr-list allows empty elements
                ++p_;
                continue;
            }
            const std::size_t start = p_;
            if (!mailbox_or_group(out, true)) return error(start);
            if (!skip_cfws()) return error(start);
            if (at_end()) break;
            if (peek() != ',') {
                why_ = "is followed by \"" + std::string(1, peek()) + "\" where a comma should be";
                return error(start);
            }
            ++p_;
        }
        if (out.empty() && empty == EmptyList::refuse)
            return fail(Errc::invalid_input, std::string(field_) + ": no address given");
        return out;
    }

    Result<Mailbox> single() {
        if (auto e = check_characters()) return *e;
        std::vector<Mailbox> out;
        if (!skip_cfws()) return error(0);
        if (at_end()) return fail(Errc::invalid_input, std::string(field_) + ": no address given");
        if (!mailbox_or_group(out, false) || !skip_cfws()) return error(0);
        if (!at_end()) {
            why_ = peek() == ',' ? "is a list where one address is expected"
                                 : "has unexpected text after the address";
            return error(0);
        }
        return std::move(out.front());
    }

  private:
    std::optional<Error> check_characters() {
        if (const auto bad = utf8_error_offset(s_)) {
            why_ = "is not valid UTF-8 (at byte " + std::to_string(*bad) + ")";
            return error(0);
        }
        for (char c : s_) {
            const auto u = static_cast<unsigned char>(c);
            if (c == '\r' || c == '\n') {
                why_ = "contains a line break (refused: header injection)";
                return error(0);
            }
            if ((u < 0x20 && c != '\t') || u == 0x7F) {
                why_ = "contains a control character";
                return error(0);
            }
        }
        return std::nullopt;
    }

    Error error(std::size_t start) const {
        auto end = s_.find(',', std::max(p_, start));
        if (end == std::string_view::npos ||
            s_.substr(start, end - start).find('"') != std::string_view::npos)
            end = s_.size();
        const std::string_view item = trim(s_.substr(start, end - start));
        return fail(Errc::invalid_input,
                    std::string(field_) + ": \"" + escaped(item) + "\" " + why_);
    }

    bool at_end() const { return p_ >= s_.size(); }
    char peek() const { return s_[p_]; }

    // Whitespace and (nested (comments)); false on an unterminated comment.
    bool skip_cfws() {
        while (!at_end()) {
            const char c = peek();
            if (c == ' ' || c == '\t') {
                ++p_;
            } else if (c == '(') {
                int depth = 0;
                do {
                    if (at_end()) {
                        why_ = "has an unterminated (comment)";
                        return false;
                    }
                    const char d = s_[p_++];
                    if (d == '\\' && !at_end())
                        ++p_;
                    else if (d == '(')
                        ++depth;
                    else if (d == ')')
                        --depth;
                } while (depth > 0);
            } else {
                break;
            }
        }
        return true;
    }

    // quoted-string: its content with quoted-pairs resolved.
    bool quoted(std::string& out) {
        ++p_;  // the opening quote
        while (!at_end()) {
            const char c = s_[p_++];
            if (c == '"') return true;
            if (c == '\\') {
                if (at_end()) break;
                out.push_back(s_[p_++]);
            } else {
                out.push_back(c);
            }
        }
        why_ = "has an unterminated quoted string";
        return false;
    }

    // A phrase (display name): atoms, dots (obs-phrase, "John Q. Public")
    // and quoted strings, words joined by one space.
    bool phrase(std::string& out) {
        bool any = false;
        for (;;) {
            if (!skip_cfws()) return false;
            if (at_end()) break;
            std::string word;
            if (peek() == '"') {
                if (!quoted(word)) return false;
            } else if (is_atext(peek()) || peek() == '.') {
                while (!at_end() && (is_atext(peek()) || peek() == '.')) word.push_back(s_[p_++]);
            } else {
                break;
            }
            if (any) out.push_back(' ');
            out += word;
            any = true;
        }
        return true;
    }

    bool domain(Mailbox& m) {
        const std::size_t start = p_;
        if (!at_end() && peek() == '[') {
            // An address literal ([192.0.2.1], [IPv6:...]); its content is
            // left to the server, only dtext is checked.
            while (!at_end() && peek() != ']') {
                const char c = peek();
                if (c == '[' && p_ != start) break;
                if (c == '\\' || c == ' ' || c == '\t') {
                    why_ = "has an invalid address literal";
                    return false;
                }
                ++p_;
            }
            if (at_end() || peek() != ']') {
                why_ = "has an unterminated address literal";
                return false;
            }
            ++p_;
            m.domain = std::string(s_.substr(start, p_ - start));
            m.ascii_domain = m.domain;
            return true;
        }
        while (!at_end() && (is_let_dig(peek()) || peek() == '-' || peek() == '.')) ++p_;
        m.domain = std::string(s_.substr(start, p_ - start));
        if (m.domain.empty() && (at_end() || !is_atext(peek()))) {
            why_ = "has no domain after @";
            return false;
        }
        if (!at_end() && is_atext(peek())) {
            why_ = "has an invalid character \"" + std::string(1, peek()) + "\" in the domain";
            return false;
        }
        auto ascii = domain_to_ascii(m.domain);
        if (!ascii) {
            why_ = "has a domain that is " + ascii.error().detail;
            return false;
        }
        m.ascii_domain = std::move(*ascii);
        std::size_t from = 0;
        for (;;) {
            const auto dot = m.ascii_domain.find('.', from);
            const std::string_view label =
                std::string_view(m.ascii_domain)
                    .substr(from, dot == std::string::npos ? std::string::npos : dot - from);
            if (label.empty()) {
                why_ = "has an empty label in the domain (two dots, or a dot at an end)";
                return false;
            }
            if (label.front() == '-' || label.back() == '-') {
                why_ = "has a domain label that starts or ends with \"-\"";
                return false;
            }
            if (label.size() > kMaxLabel) {
                why_ = "has a domain label longer than 63 octets";
                return false;
            }
            // IDNA's mapping can turn a character into one no domain has
            // (U+037E, the Greek question mark, becomes ";").
            if (!std::ranges::all_of(label, [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
                })) {
                why_ =
                    "has a domain that is not letters, digits and hyphens once in its ASCII "
                    "form (\"" +
                    m.ascii_domain + "\")";
                return false;
            }
            if (dot == std::string::npos) break;
            from = dot + 1;
        }
        if (m.ascii_domain.size() > kMaxDomain) {
            why_ = "has a domain longer than 255 octets";
            return false;
        }
        return true;
    }

    bool addr_spec(Mailbox& m) {
        if (!skip_cfws()) return false;
        if (at_end()) {
            why_ = "is empty";
            return false;
        }
        if (peek() == '"') {
            if (!quoted(m.local_part)) return false;
        } else {
            const std::size_t start = p_;
            while (!at_end() && (is_atext(peek()) || peek() == '.')) ++p_;
            m.local_part = std::string(s_.substr(start, p_ - start));
            if (!m.local_part.empty() && !is_dot_atom(m.local_part)) {
                why_ = "has a local part with a leading, trailing or double dot (quote it)";
                return false;
            }
        }
        if (m.local_part.empty()) {
            why_ = at_end() || peek() == '@' ? "has an empty local part" : "is not an address";
            return false;
        }
        if (!skip_cfws()) return false;
        if (at_end() || peek() != '@') {
            why_ = at_end() ? "has no @domain"
                            : "has an invalid character \"" + std::string(1, peek()) + "\"";
            return false;
        }
        ++p_;
        if (!skip_cfws() || !domain(m)) return false;
        if (m.wire_local_part().size() > kMaxLocal) {
            why_ = "has a local part longer than 64 octets";
            return false;
        }
        if (m.addr_spec().size() > kMaxAddress) {
            why_ = "is longer than 254 octets";
            return false;
        }
        return true;
    }

    bool angle_addr(Mailbox& m) {
        ++p_;  // '<'
        if (!skip_cfws()) return false;
        if (!at_end() && peek() == '@') {
            why_ = "has a source route, which is not supported";
            return false;
        }
        if (!addr_spec(m) || !skip_cfws()) return false;
        if (at_end() || peek() != '>') {
            why_ = "is missing the closing \">\"";
            return false;
        }
        ++p_;
        return true;
    }

    bool ends_mailbox() const { return at_end() || peek() == ',' || peek() == ';'; }

    bool mailbox_or_group(std::vector<Mailbox>& out, bool groups) {
        if (!skip_cfws()) return false;
        if (peek() == '<') {
            Mailbox m;
            if (!angle_addr(m)) return false;
            out.push_back(std::move(m));
            return true;
        }
        const std::size_t save = p_;
        Mailbox bare;
        if (addr_spec(bare)) {
            if (!skip_cfws()) return false;
            if (ends_mailbox()) {
                out.push_back(std::move(bare));
                return true;
            }
            why_ = peek() == '<' ? "has a display name containing \"@\" that is not quoted"
                                 : "has unexpected text after the address";
            return false;
        }
        const std::string addr_why = why_;
        const bool had_at = s_.substr(save).find('@') != std::string_view::npos;
        p_ = save;
        std::string name;
        if (!phrase(name)) return false;
        if (!at_end() && peek() == '<') {
            Mailbox m;
            if (!angle_addr(m)) return false;
            m.display_name = std::move(name);
            out.push_back(std::move(m));
            return true;
        }
        if (groups && !at_end() && peek() == ':') {
            ++p_;
            for (;;) {
                if (!skip_cfws()) return false;
                if (at_end()) {
                    why_ = "is a group without the closing \";\"";
                    return false;
                }
                if (peek() == ';') {
                    ++p_;
                    return true;
                }
                if (peek() == ',') {
                    ++p_;
                    continue;
                }
                if (!mailbox_or_group(out, false) || !skip_cfws()) return false;
                if (!at_end() && peek() != ',' && peek() != ';') {
                    why_ = "has unexpected text in a group";
                    return false;
                }
            }
        }
        why_ = had_at ? addr_why : "is not an address (expected user@domain or Name <user@domain>)";
        return false;
    }

    std::string_view s_;
    std::string_view field_;
    std::size_t p_ = 0;
    std::string why_;
};

}  // namespace

bool Mailbox::needs_smtputf8() const noexcept {
    return !is_ascii(local_part);
}

std::string Mailbox::wire_local_part() const {
    if (is_dot_atom(local_part)) return local_part;
    std::string out = "\"";
    for (char c : local_part) {
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

std::string Mailbox::addr_spec() const {
    return wire_local_part() + "@" + ascii_domain;
}

Result<Mailbox> parse_mailbox(std::string_view text, std::string_view field) {
    return Parser(text, field).single();
}

Result<std::vector<Mailbox>> parse_address_list(std::string_view text, std::string_view field,
                                                EmptyList empty) {
    return Parser(text, field).list(empty);
}

}  // namespace pb::mime
