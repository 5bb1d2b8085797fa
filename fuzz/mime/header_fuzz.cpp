// The header encoder on arbitrary text: whatever is accepted as a Subject
// must be written in lines of at most 76 characters and decode (with our own
// RFC 2047 decoder) back to exactly the input. Also the RFC 2231 parameter
// form: every line within the limit, and no CR/LF in any output line.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mime/header.hpp"

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

void check_lines(const std::string& field) {
    check(field.ends_with("\r\n"));
    std::size_t start = 0;
    while (start < field.size()) {
        const auto eol = field.find("\r\n", start);
        check(eol - start <= pb::mime::kHeaderLineLimit);
        const std::string_view line(field.data() + start, eol - start);
        check(line.find_first_of("\r\n") == std::string_view::npos);
        if (start > 0) check(line.starts_with(' '));
        start = eol + 2;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace pb::mime;  // NOLINT: a fuzz entry point, nothing else here
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    if (!check_header_value("Subject", input)) return 0;

    HeaderField subject("Subject");
    subject.unstructured(input);
    const std::string text = std::move(subject).finish();
    check_lines(text);
    std::string value = text.substr(8, text.size() - 10);  // after "Subject:", before CRLF
    check(value.starts_with(' '));
    value.erase(0, 1);
    check(decode_words(value) == input);

    HeaderField disposition("Content-Disposition");
    disposition.word("attachment");
    disposition.parameter("filename", input);
    check_lines(std::move(disposition).finish());
    return 0;
}
