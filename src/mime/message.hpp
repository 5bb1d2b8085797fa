// The streaming message builder: a Draft (addresses, subject, text, an
// optional HTML alternative, attachments) becomes a Message, a pb::ByteSource
// that produces the RFC 5322 / MIME message a chunk at a time.
//
// Attachments are never held in memory: each is read from its source in
// chunks and base64-encoded on the fly into 76-column lines, through two
// fixed buffers (about 135 KiB whatever the attachment sizes). Because base64
// has an exact length, the message's size is known before the first byte and
// size_hint() gives it for SMTP SIZE=. Output is CRLF only.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/source.hpp"
#include "mime/address.hpp"

namespace pb::mime {

struct Attachment {
    std::string filename;      // as the recipient sees it (UTF-8; directories are dropped)
    std::string content_type;  // empty: from the file name (media_type_for)
    // Read once, front to back. With a size_hint the message has an exact
    // size, and a source that then yields more or fewer bytes fails the read
    // (652) rather than sending a message that contradicts its SIZE=.
    std::unique_ptr<ByteSource> content;
};

// An attachment read from a file, named after it unless `filename` is given.
Result<Attachment> attach_file(const std::filesystem::path& path, std::string filename = {});

struct Draft {
    std::string from;             // "Name <user@example.com>" or "user@example.com"
    std::vector<std::string> to;  // each entry may be a comma-separated list
    std::vector<std::string> cc;
    std::vector<std::string> bcc;  // envelope only, never in a header
    std::vector<std::string> reply_to;
    std::string subject;              // UTF-8, one line
    std::string text;                 // UTF-8, any line ends
    std::optional<std::string> html;  // UTF-8; makes multipart/alternative
    std::vector<Attachment> attachments;
};

// What the SMTP client needs besides the bytes.
struct Envelope {
    std::string sender;                   // MAIL FROM addr-spec (ASCII domain)
    std::vector<std::string> recipients;  // To, Cc and Bcc, each once, in that order
    bool smtputf8 = false;                // some address has a UTF-8 local part
};

class Message final : public ByteSource {
  public:
    // Built by build_message() only; public for std::make_unique.
    struct Segment;
    Message(std::vector<Segment> segments, Envelope envelope, std::string message_id);
    ~Message() override;
    Message(const Message&) = delete;
    Message& operator=(const Message&) = delete;

    Result<std::size_t> read(std::span<char> out) override;
    std::optional<std::uint64_t> size_hint() const override { return size_; }

    const Envelope& envelope() const noexcept { return envelope_; }
    const std::string& message_id() const noexcept { return message_id_; }  // with its <>

  private:
    Result<void> refill();  // encodes the next chunk of the current attachment

    std::vector<Segment> segments_;
    Envelope envelope_;
    std::string message_id_;
    std::optional<std::uint64_t> size_;
    std::size_t segment_ = 0;     // the one being produced
    std::size_t offset_ = 0;      // in a literal segment
    std::uint64_t consumed_ = 0;  // bytes read from the current attachment
    bool source_done_ = false;
    std::unique_ptr<char[]> in_;   // raw attachment bytes
    std::unique_ptr<char[]> out_;  // their base64 lines
    std::size_t out_len_ = 0;
    std::size_t out_pos_ = 0;
};

// Validates every address and header value (652 naming the field), and lays
// the message out. Date comes from `clock`, the Message-ID and the MIME
// boundaries from `random`. Sources are not read until the message is.
Result<std::unique_ptr<Message>> build_message(Draft draft, const Clock& clock, Random& random);

}  // namespace pb::mime
