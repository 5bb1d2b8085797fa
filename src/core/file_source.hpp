// A file as a pb::ByteSource: read in chunks, with the size known before the
// first byte so that a message can announce SMTP SIZE=. Attachments are read
// this way (mime/), and any other file that travels as a stream.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/source.hpp"

namespace pb {

class FileSource final : public ByteSource {
  public:
    // Opens for reading. A missing or unreadable file, or one that is not a
    // regular file, fails with `code` and a detail naming `what` and the
    // path: `attachment "scan.pdf": No such file or directory`. The default
    // code is 652 (invalid input: the caller named the file); a caller that
    // reads its own files (the spool) passes 651.
    static Result<std::unique_ptr<FileSource>> open(const std::filesystem::path& path,
                                                    std::string_view what = "file",
                                                    Errc code = Errc::invalid_input);
    ~FileSource() override;
    FileSource(const FileSource&) = delete;
    FileSource& operator=(const FileSource&) = delete;

    Result<std::size_t> read(std::span<char> out) override;
    std::optional<std::uint64_t> size_hint() const override { return size_; }

  private:
    FileSource(int fd, std::uint64_t size, std::string label, Errc code)
        : fd_(fd), size_(size), label_(std::move(label)), code_(code) {}
    int fd_;
    std::uint64_t size_;
    std::string label_;  // `attachment "scan.pdf"`, for errors
    Errc code_;
};

}  // namespace pb
