// SMTP replies as data, and the incremental parser that reads them.
//
// A reply is kept whole (code, RFC 3463 enhanced status, text lines) because
// every decision after it -- which job code, what the job history says --
// reads the enhanced status first and the text second (style.md, Postfix).
// The parser does no I/O: put() takes whatever bytes arrived, however they
// were split, and says "a reply is ready", "need more" or "invalid"; the last
// two are different answers on purpose.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pb::smtp {

// RFC 3463 class.subject.detail, e.g. 5.7.139. Zero class means absent.
struct EnhancedStatus {
    std::uint8_t klass = 0;
    std::uint16_t subject = 0;
    std::uint16_t detail = 0;

    bool present() const noexcept { return klass != 0; }
    bool is(unsigned k, unsigned s, unsigned d) const noexcept {
        return klass == k && subject == s && detail == d;
    }
    std::string str() const;  // "5.7.139", or "" when absent
    friend bool operator==(const EnhancedStatus&, const EnhancedStatus&) = default;
};

struct Reply {
    int code = 0;                    // 200..599
    EnhancedStatus status;           // from the first line, when present
    std::vector<std::string> lines;  // text after "NNN-"/"NNN " (and the status)

    bool positive() const noexcept { return code >= 200 && code < 400; }
    bool transient() const noexcept { return code >= 400 && code < 500; }
    bool permanent() const noexcept { return code >= 500; }
    // "535 5.7.3 Authentication unsuccessful" (first line; " ..." when more).
    std::string summary() const;
};

class ReplyParser {
  public:
    // RFC 5321 allows 512 octets per reply line; real servers exceed it
    // (long EHLO lines, base64 error challenges), so we allow more, but not
    // without bound: a hostile server must not grow our memory.
    static constexpr std::size_t max_line = 4096;
    static constexpr std::size_t max_lines = 128;

    enum class Status { ready, need_more, invalid };
    struct Progress {
        Status status;
        std::size_t consumed;  // bytes of the input used, also for need_more
    };

    // Reads bytes up to the end of one reply. On `ready`, take() it; bytes
    // after `consumed` belong to the next reply. On `invalid`, error() says
    // why and the parser stays invalid.
    Progress put(std::string_view bytes);
    Reply take();
    std::string_view error() const noexcept { return error_; }
    // True when part of a reply has been read (used to refuse bytes that
    // follow a 220 to STARTTLS).
    bool mid_reply() const noexcept { return !line_.empty() || !reply_.lines.empty(); }

  private:
    Status line_done(std::string_view line);
    Status fail(std::string_view why);

    std::string line_;
    Reply reply_;
    std::string error_;
};

}  // namespace pb::smtp
