// How a message too large for one Graph request is sent: as a draft made
// from its MIME without its large attachments, each of which then goes
// through an upload session. This is the pure part: a scanner that reads
// the message once, in chunks of any size, and finds its top-level parts
// (offsets, types, file names, decoded sizes) holding only one line at a
// time, and the plan that picks which parts to upload.
//
// Exchange rebuilds the MIME of a draft: the attachments and the headers
// that matter stay, the bytes of the structure do not. So only a
// multipart/mixed message is split, and only at its top level; a message
// that cannot be split so (S/MIME signed or encrypted, one huge text part,
// a large attachment that is not base64) fails with 663.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "graph/requests.hpp"

namespace pb::graph {

struct Part {
    std::uint64_t open = 0;        // where the line break before its opening delimiter starts
    std::uint64_t body_begin = 0;  // the first byte after its header's empty line
    std::uint64_t end = 0;         // where the line break before the next delimiter starts
    std::string content_type;      // "application/pdf" (lowercase, no parameters)
    std::string encoding;          // "base64" (lowercase), "" when absent
    std::string filename;          // from Content-Disposition or Content-Type name=
    std::string content_id;        // without <>
    bool inline_disposition = false;
    std::uint64_t decoded_size = 0;  // base64 parts: the size of the decoded bytes
    bool valid_base64 = true;        // base64 parts: the alphabet count adds up
};

struct Structure {
    std::uint64_t size = 0;        // the whole message
    std::uint64_t header_end = 0;  // after the top-level header's empty line
    std::string content_type;      // top level, lowercase, no parameters
    std::string boundary;
    std::vector<Part>
        parts;  // top level, in order; empty unless multipart with a closing delimiter
};

class MimeScanner {
  public:
    // Feed the message in order, in pieces of any size.
    void put(std::string_view chunk);
    // After the last piece.
    Structure finish();

  private:
    enum class State { top_header, preamble, part_header, part_body, epilogue, opaque };
    void byte(char c);
    void run(std::string_view plain);
    void end_of_line();
    bool is_delimiter(bool& closing) const;
    void header_line_done(std::string& into);
    void parse_top_header();
    void parse_part_header();

    State state_ = State::top_header;
    std::uint64_t offset_ = 0;         // of the next byte
    std::uint64_t line_begin_ = 0;     // offset of the current line's first byte
    std::uint64_t prev_line_end_ = 0;  // where the previous line's break began
    std::uint64_t line_content_end_ = 0;
    std::string line_;            // the current line, up to kMaxLine bytes
    bool line_overflow_ = false;  // it was longer
    bool saw_cr_ = false;
    std::string header_;  // the header being read (top or part), bounded
    Structure s_;
    Part part_;
    bool in_part_ = false;
    bool closed_ = false;
    std::uint64_t b64_chars_ = 0, b64_pad_ = 0;  // the part's, lines done
    bool b64_bad_ = false;
    // The current line's, added to the part's when it is no delimiter.
    std::uint64_t line_chars_ = 0, line_pad_ = 0;
    bool line_bad_ = false;
};

// A piece [begin, end) of the original message.
struct Piece {
    std::uint64_t begin = 0;
    std::uint64_t end = 0;
};

struct SplitPlan {
    std::vector<Piece> draft;  // the draft's MIME: these pieces of the message, in order
    std::uint64_t draft_size = 0;
    std::vector<std::size_t> uploads;  // indices into Structure::parts, in message order
};

// Picks the largest base64 parts to upload until the rest fits one request.
// 633 over kMaxMessageBytes; 663 when the message cannot be split so.
Result<SplitPlan> plan_split(const Structure& s);

// The attachment item of an uploaded part (name, size, type, content id).
AttachmentItem attachment_item(const Part& p, std::size_t index);

// Decodes base64 as it streams, skipping line breaks and other whitespace.
// Strict otherwise: any other character, or data after padding, is an error.
class Base64Decoder {
  public:
    // Appends the bytes decoded from `in` to `out`; false on bad input.
    bool put(std::string_view in, std::string& out);
    // After the last piece; false when a quantum is left incomplete.
    bool finish(std::string& out);

  private:
    std::uint32_t acc_ = 0;
    int n_ = 0;    // sextets in acc_
    int pad_ = 0;  // '=' seen
};

}  // namespace pb::graph
