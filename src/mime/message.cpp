#include "mime/message.hpp"

#include <algorithm>
#include <cstring>

#include "core/encoding.hpp"
#include "core/file_source.hpp"
#include "mime/body.hpp"
#include "mime/header.hpp"
#include "mime/media_type.hpp"
#include "mime/utf8.hpp"

namespace pb::mime {

// Fixed literal text (headers, boundaries, text bodies), or an attachment
// whose base64 is produced while reading.
struct Message::Segment {
    std::string literal;
    std::unique_ptr<ByteSource> source;
    std::string name;  // the attachment's file name, for errors
    std::optional<std::uint64_t> raw_size;
};

namespace {

constexpr std::size_t kLineBytes = 57;       // 76 base64 characters
constexpr std::size_t kLineChars = 78;       // with CRLF
constexpr std::size_t kLinesPerChunk = 840;  // ~47 KiB in, ~64 KiB out
constexpr std::size_t kInSize = kLineBytes * kLinesPerChunk;
constexpr std::size_t kOutSize = kLineChars * kLinesPerChunk;

// The exact size of an attachment's body as base64 lines.
std::uint64_t base64_lines_size(std::uint64_t n) {
    if (n == 0) return 2;  // one empty line, so the part has a body at all
    const std::uint64_t chars = (n + 2) / 3 * 4;
    return chars + 2 * ((chars + 75) / 76);
}

Result<std::vector<Mailbox>> parse_all(const std::vector<std::string>& entries,
                                       std::string_view field) {
    std::vector<Mailbox> out;
    for (const auto& e : entries) {
        auto list = parse_address_list(e, field);
        if (!list) return std::move(list).error();
        for (auto& m : *list) out.push_back(std::move(m));
    }
    return out;
}

void address_header(std::string_view name, const std::vector<Mailbox>& list, std::string& out) {
    if (list.empty()) return;
    HeaderField f(name);
    for (std::size_t i = 0; i < list.size(); ++i) {
        if (i > 0) f.glue(",");
        f.mailbox(list[i]);
    }
    out += std::move(f).finish();
}

// "=_" cannot occur in base64 or quoted-printable, and 96 random bits make a
// collision with a 7bit text body as unlikely as guessing the Message-ID.
std::string boundary(Random& random) {
    return "=_pb_" + random_hex(random, 12);
}

// Every part's content ends with CRLF, and the CRLF before "--boundary"
// belongs to the delimiter (RFC 2046 5.1.1); so delimiters start with one
// more CRLF, or a text part would lose its last line break.

std::string multipart_header(std::string_view subtype, const std::string& b) {
    return "Content-Type: multipart/" + std::string(subtype) + "; boundary=\"" + b + "\"\r\n";
}

// A text/plain or text/html part's header and body.
Result<std::string> text_part(std::string_view subtype, std::string_view text,
                              std::string_view field) {
    if (const auto bad = utf8_error_offset(text))
        return fail(Errc::invalid_input, std::string(field) + ": not valid UTF-8 (at byte " +
                                             std::to_string(*bad) + ")");
    TextBody body = encode_text(to_crlf(text));
    std::string out = "Content-Type: text/" + std::string(subtype) + "; charset=utf-8\r\n";
    out += "Content-Transfer-Encoding: ";
    out += body.transfer_encoding;
    out += "\r\n\r\n";
    out += body.data;
    return out;
}

bool valid_media_type(std::string_view t) {
    const auto slash = t.find('/');
    if (slash == 0 || slash == std::string_view::npos || slash + 1 == t.size()) return false;
    for (char c : t) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') ||
                        std::string_view("!#$&-^_.+/").find(c) != std::string_view::npos;
        if (!ok) return false;
    }
    return t.find('/', slash + 1) == std::string_view::npos;
}

std::string basename_of(std::string_view name) {
    const auto cut = name.find_last_of("/\\");
    return std::string(cut == std::string_view::npos ? name : name.substr(cut + 1));
}

}  // namespace

Result<Attachment> attach_file(const std::filesystem::path& path, std::string filename) {
    auto file = FileSource::open(path, "attachment");
    if (!file) return std::move(file).error();
    Attachment a;
    a.filename = filename.empty() ? path.filename().string() : std::move(filename);
    a.content = std::move(*file);
    return a;
}

Message::Message(std::vector<Segment> segments, Envelope envelope, std::string message_id)
    : segments_(std::move(segments)),
      envelope_(std::move(envelope)),
      message_id_(std::move(message_id)) {
    std::uint64_t total = 0;
    bool known = true;
    for (const auto& s : segments_) {
        if (!s.source)
            total += s.literal.size();
        else if (s.raw_size)
            total += base64_lines_size(*s.raw_size);
        else
            known = false;
    }
    if (known) size_ = total;
}

Message::~Message() = default;

Result<void> Message::refill() {
    Segment& s = segments_[segment_];
    if (!in_) {
        in_ = std::make_unique<char[]>(kInSize);
        out_ = std::make_unique<char[]>(kOutSize);
    }
    // Fill the input buffer completely (sources may return short reads) so
    // that only the attachment's very last line can be short.
    std::size_t have = 0;
    while (have < kInSize && !source_done_) {
        auto n = s.source->read(std::span<char>(in_.get() + have, kInSize - have));
        if (!n) return std::move(n).error();
        if (*n == 0) source_done_ = true;
        have += *n;
    }
    consumed_ += have;
    if (s.raw_size && (consumed_ > *s.raw_size || (source_done_ && consumed_ != *s.raw_size)))
        return fail(Errc::invalid_input, "attachment \"" + s.name +
                                             "\" changed size while being sent (" +
                                             std::to_string(*s.raw_size) + " bytes expected)");
    const auto* in = reinterpret_cast<const std::byte*>(in_.get());
    char* out = out_.get();
    std::size_t i = 0;
    for (; i + kLineBytes <= have; i += kLineBytes) {
        base64_encode_to(std::span<const std::byte>(in + i, kLineBytes), out);
        out[76] = '\r';
        out[77] = '\n';
        out += kLineChars;
    }
    if (i < have) {
        const std::size_t tail = have - i;
        base64_encode_to(std::span<const std::byte>(in + i, tail), out);
        out += base64_encoded_size(tail);
        *out++ = '\r';
        *out++ = '\n';
    }
    if (source_done_ && consumed_ == 0) {
        *out++ = '\r';
        *out++ = '\n';
    }
    out_len_ = static_cast<std::size_t>(out - out_.get());
    out_pos_ = 0;
    return {};
}

Result<std::size_t> Message::read(std::span<char> dest) {
    std::size_t written = 0;
    while (written < dest.size() && segment_ < segments_.size()) {
        Segment& s = segments_[segment_];
        if (!s.source) {
            const std::size_t n = std::min(dest.size() - written, s.literal.size() - offset_);
            std::memcpy(dest.data() + written, s.literal.data() + offset_, n);
            written += n;
            offset_ += n;
            if (offset_ == s.literal.size()) {
                ++segment_;
                offset_ = 0;
            }
            continue;
        }
        if (out_pos_ == out_len_) {
            if (source_done_) {
                // The attachment is finished: let go of its file at once.
                s.source.reset();
                s.literal.clear();
                ++segment_;
                source_done_ = false;
                consumed_ = 0;
                out_len_ = out_pos_ = 0;
                // A read-only segment kind is told apart by its source; keep
                // the finished one from being taken for an empty literal.
                continue;
            }
            auto r = refill();
            if (!r) return std::move(r).error();
            continue;
        }
        const std::size_t n = std::min(dest.size() - written, out_len_ - out_pos_);
        std::memcpy(dest.data() + written, out_.get() + out_pos_, n);
        written += n;
        out_pos_ += n;
    }
    return written;
}

Result<std::unique_ptr<Message>> build_message(Draft draft, const Clock& clock, Random& random) {
    auto from = parse_mailbox(draft.from, "From");
    if (!from) return std::move(from).error();
    auto to = parse_all(draft.to, "To");
    if (!to) return std::move(to).error();
    auto cc = parse_all(draft.cc, "Cc");
    if (!cc) return std::move(cc).error();
    auto bcc = parse_all(draft.bcc, "Bcc");
    if (!bcc) return std::move(bcc).error();
    auto reply_to = parse_all(draft.reply_to, "Reply-To");
    if (!reply_to) return std::move(reply_to).error();
    if (to->empty() && cc->empty() && bcc->empty())
        return fail(Errc::invalid_input, "To: no recipient given (To, Cc or Bcc)");
    if (auto ok = check_header_value("Subject", draft.subject); !ok) return std::move(ok).error();

    Envelope env;
    env.sender = from->addr_spec();
    env.smtputf8 = from->needs_smtputf8();
    for (const auto* list : {&*to, &*cc, &*bcc}) {
        for (const auto& m : *list) {
            env.smtputf8 = env.smtputf8 || m.needs_smtputf8();
            std::string a = m.addr_spec();
            if (std::find(env.recipients.begin(), env.recipients.end(), a) == env.recipients.end())
                env.recipients.push_back(std::move(a));
        }
    }

    std::string message_id = "<" + random_hex(random, 16) + "@" + from->ascii_domain + ">";
    std::string head;
    address_header("From", {*from}, head);
    if (to->empty()) head += "To: undisclosed-recipients:;\r\n";  // RFC 5322 3.6.3 suggests a To
    address_header("To", *to, head);
    address_header("Cc", *cc, head);
    address_header("Reply-To", *reply_to, head);
    {
        HeaderField subject("Subject");
        subject.unstructured(draft.subject);
        head += std::move(subject).finish();
    }
    head += "Date: " + format_date(clock.now()) + "\r\n";
    head += "Message-ID: " + message_id + "\r\n";
    head += "MIME-Version: 1.0\r\n";

    // The body: text alone, or text and HTML as alternatives.
    std::string body;
    {
        auto text = text_part("plain", draft.text, "body");
        if (!text) return std::move(text).error();
        if (draft.html) {
            auto html = text_part("html", *draft.html, "HTML body");
            if (!html) return std::move(html).error();
            const std::string b = boundary(random);
            body = multipart_header("alternative", b) + "\r\n--" + b + "\r\n" + *text + "\r\n--" +
                   b + "\r\n" + *html + "\r\n--" + b + "--\r\n";
        } else {
            body = std::move(*text);
        }
    }

    std::vector<Message::Segment> segments;
    if (draft.attachments.empty()) {
        segments.push_back({head + body, nullptr, {}, {}});
    } else {
        const std::string b = boundary(random);
        std::string lit = head + multipart_header("mixed", b) + "\r\n--" + b + "\r\n" + body;
        for (auto& a : draft.attachments) {
            if (!a.content)
                return fail(Errc::invalid_input, "attachment \"" + a.filename + "\": no content");
            if (auto ok = check_header_value("attachment file name", a.filename); !ok)
                return std::move(ok).error();
            std::string name = basename_of(a.filename);
            if (name.empty()) name = "attachment";
            std::string type =
                a.content_type.empty() ? std::string(media_type_for(name)) : a.content_type;
            if (!valid_media_type(type))
                return fail(Errc::invalid_input, "attachment \"" + name + "\": \"" + type +
                                                     "\" is not a media type (type/subtype)");
            HeaderField ct("Content-Type");
            ct.word(type);
            ct.legacy_parameter("name", name);
            HeaderField cd("Content-Disposition");
            cd.word("attachment");
            cd.parameter("filename", name);
            lit += "\r\n--" + b + "\r\n" + std::move(ct).finish() + std::move(cd).finish() +
                   "Content-Transfer-Encoding: base64\r\n\r\n";
            segments.push_back({std::move(lit), nullptr, {}, {}});
            lit.clear();
            const auto size = a.content->size_hint();
            segments.push_back({{}, std::move(a.content), std::move(name), size});
        }
        segments.push_back({"\r\n--" + b + "--\r\n", nullptr, {}, {}});
    }
    return std::make_unique<Message>(std::move(segments), std::move(env), std::move(message_id));
}

}  // namespace pb::mime
