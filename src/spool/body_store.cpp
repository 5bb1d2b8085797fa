// Message bodies as spool files (body_store.hpp).
#include "spool/body_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace pb::spool {
namespace fs = std::filesystem;
namespace {

Result<void> make_dir(const fs::path& p) {
    std::error_code ec;
    fs::create_directories(p, ec);
    if (ec)
        return fail(Errc::spool_unwritable, "cannot create " + p.string() + ": " + ec.message());
    fs::permissions(p, fs::perms::owner_all, fs::perm_options::replace, ec);
    return {};
}

}  // namespace

Result<std::unique_ptr<FileBodyStore>> FileBodyStore::open(const fs::path& dir, FileOps& ops,
                                                           Random& rng) {
    for (const char* sub : {"tmp", "msg", "quarantine"})
        if (auto r = make_dir(dir / sub); !r) return r.error();
    return std::unique_ptr<FileBodyStore>(new FileBodyStore(dir, ops, rng));
}

Result<std::string> FileBodyStore::new_name() {
    // 128 random bits do not collide; the check is for weak generators, and
    // the rename refuses to replace a file in any case.
    for (int tries = 0; tries < 8; ++tries) {
        std::string name;
        {
            std::lock_guard lock(rng_mu_);
            name = random_hex(rng_, 16);
        }
        if (!fs::exists(dir_ / "msg" / name) && !fs::exists(dir_ / "quarantine" / name))
            return name;
    }
    return fail(Errc::spool_unwritable,
                "no free spool file name (is the random generator broken?)");
}

Result<StoredBody> FileBodyStore::write(const FileEnvelope& envelope, ByteSource& body) {
    auto name = new_name();
    if (!name) return name.error();
    const fs::path tmp = dir_ / "tmp" / *name;
    const fs::path final_path = dir_ / "msg" / *name;
    auto size = write_spool_file(ops_, tmp, envelope, body);
    if (!size) return size.error();
    if (auto r = ops_.rename(tmp, final_path); !r) {
        ops_.remove(tmp);
        return r.error();
    }
    if (auto r = ops_.fsync_dir(dir_ / "msg"); !r) {
        ops_.remove(final_path);
        return r.error();
    }
    return StoredBody{std::move(*name), *size};
}

Result<std::unique_ptr<ByteSource>> FileBodyStore::read(const std::string& name, std::uint64_t size,
                                                        std::int64_t job) {
    const fs::path path = dir_ / "msg" / name;
    // A full pass before the first byte goes out. It costs one read from
    // the page cache.
    auto scan = scan_spool_file(ops_, path);
    if (!scan) return scan.error();
    auto reader = SpoolReader::open(ops_, path);
    if (!reader) return reader.error();
    (*reader)->set_size_hint(size);
    (*reader)->set_job(job);
    return std::unique_ptr<ByteSource>(std::move(*reader));
}

void FileBodyStore::remove(const std::string& name) noexcept {
    ops_.remove(dir_ / "msg" / name);
}

std::string FileBodyStore::quarantine(const std::string& name) {
    const fs::path from = dir_ / "msg" / name;
    const fs::path to = dir_ / "quarantine" / name;
    if (auto r = ops_.rename(from, to); !r)
        return "the file could not be moved to quarantine (" + r.error().detail + ")";
    (void)ops_.fsync_dir(dir_ / "quarantine");
    (void)ops_.fsync_dir(dir_ / "msg");
    return "the file is kept in " + to.string();
}

Result<std::size_t> FileBodyStore::sweep(
    const std::function<Result<bool>(const std::string&)>& known, Duration age) {
    const auto cutoff = std::chrono::system_clock::now() - age;
    std::size_t removed = 0;
    for (const char* sub : {"tmp", "msg"}) {
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(dir_ / sub, ec)) {
            struct stat sb {};
            if (::stat(entry.path().c_str(), &sb) != 0) continue;
            if (std::chrono::system_clock::from_time_t(sb.st_mtime) > cutoff) continue;
            auto used = known(entry.path().filename().string());
            if (!used) return used.error();
            if (*used) continue;
            ops_.remove(entry.path());
            ++removed;
        }
    }
    return removed;
}

std::string FileBodyStore::problem() {
    const fs::path dir = dir_ / "tmp";
    std::string name;
    {
        std::lock_guard lock(rng_mu_);
        name = "ready-" + random_hex(rng_, 8);
    }
    const fs::path probe = dir / name;
    const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return "cannot write in " + dir.string() + ": " + std::strerror(errno);
    const bool ok = ::write(fd, "x", 1) == 1 && ::fsync(fd) == 0;
    const int err = errno;
    ::close(fd);
    ::unlink(probe.c_str());
    if (!ok) return "cannot write in " + dir.string() + ": " + std::strerror(err);
    return {};
}

}  // namespace pb::spool
