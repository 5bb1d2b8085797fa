// The backends of the parameterised suites (backend.hpp).
#include <gtest/gtest.h>

#include <filesystem>

#include "sqlite/spool.hpp"
#include "sqlite/store.hpp"
#include "storage/backend.hpp"
#include "support/temp_dir.hpp"

namespace pb::test {
namespace {

namespace fs = std::filesystem;

// The state directory: the database file, bodies as spool files.
class SqliteEnv final : public BackendEnv {
  public:
    SqliteEnv(const Clock& clock, Random& rng)
        : dir_(fresh_dir("pb-storage")), clock_(clock), rng_(rng) {}
    ~SqliteEnv() override { fs::remove_all(dir_); }

    Result<std::unique_ptr<store::Store>> open_store(const store::Options& options) override {
        auto s = sqlite::SqliteStore::open(dir_, rng_, clock_, options);
        if (!s) return std::move(s).error();
        return std::unique_ptr<store::Store>(std::move(*s));
    }
    Result<std::unique_ptr<spool::Spool>> open_spool() override {
        auto s = sqlite::SqliteSpool::open(dir_, ops_, clock_, rng_);
        if (!s) return std::move(s).error();
        return std::unique_ptr<spool::Spool>(std::move(*s));
    }
    std::size_t bodies() override { return count("msg"); }
    std::size_t quarantined() override { return count("quarantine"); }
    void damage(const std::string& name) override {
        const fs::path file = dir_ / "spool" / "msg" / name;
        fs::resize_file(file, fs::file_size(file) - 3);
    }
    void copy_sealed(const std::string& from, const std::string& to) override {
        auto db = sqlite::Db::open(sqlite::database_path(dir_));
        ASSERT_TRUE(db.ok());
        auto st = db->prepare(
            "UPDATE sealed SET value = (SELECT value FROM sealed WHERE name = ?1) WHERE name = ?2");
        ASSERT_TRUE(st.ok());
        ASSERT_TRUE(st->bind(1, from).bind(2, to).run().ok());
    }

  private:
    std::size_t count(const char* sub) {
        std::size_t n = 0;
        for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_ / "spool" / sub)) ++n;
        return n;
    }

    fs::path dir_;
    const Clock& clock_;
    Random& rng_;
    spool::PosixFileOps ops_;
};

}  // namespace

std::vector<Backend> backends() {
    return {{"sqlite", [](const Clock& clock, Random& rng) -> std::unique_ptr<BackendEnv> {
                 return std::make_unique<SqliteEnv>(clock, rng);
             }}};
}

}  // namespace pb::test
