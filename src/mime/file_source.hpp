// A file as a pb::ByteSource: how attachments are read, in chunks, with the
// size known before the first byte so the message can announce SMTP SIZE=.
//
// Lives in mime/ because the builder is its only user so far; it belongs in
// core/ once the spool reads message files the same way.
#pragma once

#include <filesystem>
#include <memory>

#include "core/source.hpp"

namespace pb::mime {

class FileSource final : public ByteSource {
  public:
    // Opens for reading; a missing or unreadable file, or one that is not a
    // regular file, is 652 naming the path.
    static Result<std::unique_ptr<FileSource>> open(const std::filesystem::path& path);
    ~FileSource() override;
    FileSource(const FileSource&) = delete;
    FileSource& operator=(const FileSource&) = delete;

    Result<std::size_t> read(std::span<char> out) override;
    std::optional<std::uint64_t> size_hint() const override { return size_; }

  private:
    FileSource(int fd, std::uint64_t size, std::filesystem::path path)
        : fd_(fd), size_(size), path_(std::move(path)) {}
    int fd_;
    std::uint64_t size_;
    std::filesystem::path path_;
};

}  // namespace pb::mime
