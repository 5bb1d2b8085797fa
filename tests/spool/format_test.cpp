// The spool file format: round trips, streaming, and every kind of damage
// the reader must refuse (a file without END is never sent).
#include "spool/format.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "support/failing_file_ops.hpp"
#include "support/temp_dir.hpp"

namespace pb::spool {
namespace {

namespace fs = std::filesystem;

class FormatTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = test::fresh_dir("pb-format");
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path write(const std::string& body,
                   FileEnvelope env = {"a@example.test", {"b@example.test", "c@example.test"}}) {
        StringSource src(body);
        auto size = write_spool_file(ops_, dir_ / "m", env, src);
        EXPECT_TRUE(size.ok()) << (size.ok() ? "" : size.error().detail);
        return dir_ / "m";
    }
    std::string bytes(const fs::path& p) {
        std::ifstream f(p, std::ios::binary);
        return {std::istreambuf_iterator<char>(f), {}};
    }
    void put(const fs::path& p, const std::string& b) {
        std::ofstream f(p, std::ios::binary | std::ios::trunc);
        f << b;
    }
    std::string read_all(SpoolReader& r, std::size_t step = 1000) {
        std::string out;
        std::vector<char> buf(step);
        for (;;) {
            auto n = r.read(buf);
            if (!n) {
                last_error_ = n.error().detail;
                return out;
            }
            if (*n == 0) return out;
            out.append(buf.data(), *n);
        }
    }

    fs::path dir_;
    PosixFileOps ops_;
    std::string last_error_;
};

TEST_F(FormatTest, RoundTripKeepsEnvelopeAndBody) {
    auto p = write("Subject: hi\r\n\r\nbody\r\n");
    auto r = SpoolReader::open(ops_, p);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ((*r)->envelope().sender, "a@example.test");
    EXPECT_EQ((*r)->envelope().recipients,
              (std::vector<std::string>{"b@example.test", "c@example.test"}));
    EXPECT_EQ(read_all(**r), "Subject: hi\r\n\r\nbody\r\n");
    EXPECT_EQ(last_error_, "");
}

TEST_F(FormatTest, EmptyBodyRoundTrips) {
    auto p = write("");
    auto scan = scan_spool_file(ops_, p);
    ASSERT_TRUE(scan.ok()) << scan.error().detail;
    EXPECT_EQ(scan->size, 0U);
}

TEST_F(FormatTest, NullSenderRoundTrips) {
    auto p = write("x", {"", {"b@example.test"}});
    auto scan = scan_spool_file(ops_, p);
    ASSERT_TRUE(scan.ok());
    EXPECT_EQ(scan->envelope.sender, "");
}

TEST_F(FormatTest, LargeBodyStreamsInChunksAcrossRecordBoundaries) {
    std::string body(3 * kMaxChunk + 123, '\0');
    std::mt19937 g(7);
    for (auto& c : body) c = static_cast<char>(g());
    auto p = write(body);
    auto r = SpoolReader::open(ops_, p);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(read_all(**r, 4093), body);  // a read size that never lines up with a record
    EXPECT_EQ(last_error_, "");
}

// Each record's checksum is CRC-32 as zlib computes it, whatever its length
// (the writer's is computed eight bytes at a time): checked here one bit at
// a time, so that files of every version stay readable.
TEST_F(FormatTest, EveryRecordCarriesTheCrc32OfItsTypeLengthAndPayload) {
    std::string body(kMaxChunk + 1001, '\0');
    std::mt19937 g(11);
    for (auto& c : body) c = static_cast<char>(g());
    const std::string raw = bytes(write(body));
    auto be32 = [&](std::size_t at) {
        std::uint32_t v = 0;
        for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(raw[at + i]);
        return v;
    };
    std::size_t at = kMagic.size() + 1, records = 0;
    char type = 0;
    while (at + 5 <= raw.size() && type != 'E') {
        type = raw[at];
        const std::size_t length = be32(at + 1);
        ASSERT_LE(at + 5 + length + 4, raw.size());
        std::uint32_t crc = ~0U;
        for (std::size_t i = at; i < at + 5 + length; ++i) {
            crc ^= static_cast<unsigned char>(raw[i]);
            for (int k = 0; k < 8; ++k) crc = (crc & 1U) ? 0xEDB88320U ^ (crc >> 1) : crc >> 1;
        }
        EXPECT_EQ(be32(at + 5 + length), ~crc) << "record " << records << " '" << type << "'";
        at += 5 + length + 4;
        ++records;
    }
    EXPECT_EQ(type, 'E');
    EXPECT_EQ(at, raw.size());
    EXPECT_GE(records, 6u);  // F, R, R, B (a whole chunk), B (the rest), E
}

TEST_F(FormatTest, ASmallMessageIsCheckedInOneReadAndOneForTheEnd) {
    // Not a read for each record's header, payload and checksum: delivery
    // scans every file before it is sent.
    auto p = write("Subject: hi\r\n\r\nbody\r\n");
    test::FailingFileOps counting;
    auto scan = scan_spool_file(counting, p);
    ASSERT_TRUE(scan.ok()) << scan.error().detail;
    EXPECT_EQ(counting.reads, 2) << "the file, then the 0 that says nothing follows END";
}

TEST_F(FormatTest, BodyExactlyOneChunkRoundTrips) {
    std::string body(kMaxChunk, 'x');
    auto scan = scan_spool_file(ops_, write(body));
    ASSERT_TRUE(scan.ok());
    EXPECT_EQ(scan->size, kMaxChunk);
}

TEST_F(FormatTest, FileWithoutEndRecordIsRefused) {
    auto p = write("hello");
    auto b = bytes(p);
    put(p, b.substr(0, b.size() - 17));  // the E record: 5 + 12 + ... cut into it
    auto scan = scan_spool_file(ops_, p);
    ASSERT_FALSE(scan.ok());
    EXPECT_EQ(scan.error().code, Errc::spool_unwritable);
    EXPECT_NE(scan.error().detail.find("damaged"), std::string::npos);
}

TEST_F(FormatTest, TruncatedAtEveryLengthIsRefused) {
    auto p = write(std::string(1000, 'y'));
    const auto b = bytes(p);
    for (std::size_t n = 0; n < b.size(); ++n) {
        put(p, b.substr(0, n));
        EXPECT_FALSE(scan_spool_file(ops_, p).ok())
            << "accepted a file cut at " << n << " of " << b.size();
    }
}

TEST_F(FormatTest, ReaderFailsBeforeTheEndOfAMessageWithoutEnd) {
    auto p = write("0123456789");
    auto b = bytes(p);
    put(p, b.substr(0, b.size() - 21));  // whole B record kept, E gone
    auto r = SpoolReader::open(ops_, p);
    ASSERT_TRUE(r.ok());
    read_all(**r);
    EXPECT_NE(last_error_.find("ends before its END record"), std::string::npos) << last_error_;
}

TEST_F(FormatTest, FlippedBitFailsChecksum) {
    auto p = write("some body bytes");
    auto b = bytes(p);
    b[b.size() - 30] ^= 0x04;
    put(p, b);
    auto scan = scan_spool_file(ops_, p);
    ASSERT_FALSE(scan.ok());
    EXPECT_NE(scan.error().detail.find("checksum"), std::string::npos) << scan.error().detail;
}

TEST_F(FormatTest, BytesAfterEndAreRefused) {
    auto p = write("abc");
    put(p, bytes(p) + "x");
    EXPECT_FALSE(scan_spool_file(ops_, p).ok());
}

TEST_F(FormatTest, WrongMagicIsRefused) {
    put(dir_ / "m", "From: someone\r\n\r\nnot a spool file");
    auto scan = scan_spool_file(ops_, dir_ / "m");
    ASSERT_FALSE(scan.ok());
    EXPECT_NE(scan.error().detail.find("not a spool file"), std::string::npos);
}

TEST_F(FormatTest, UnknownVersionIsRefusedByName) {
    auto p = write("abc");
    auto b = bytes(p);
    b[kMagic.size()] = 9;
    put(p, b);
    auto scan = scan_spool_file(ops_, p);
    ASSERT_FALSE(scan.ok());
    EXPECT_NE(scan.error().detail.find("version 9"), std::string::npos) << scan.error().detail;
}

// The relay's Received: header names the job, whose number the spool gives
// only after the file is in place: the T record holds the header's halves.
TEST_F(FormatTest, TraceGoesOutFirstWithTheJobNumber) {
    const Trace trace{"Received: from x\r\n\tby y with ESMTP id ", ";\r\n\tdate\r\n"};
    auto p = write("Subject: hi\r\n\r\nbody\r\n", {"a@example.test", {"b@example.test"}, trace});
    EXPECT_EQ(bytes(p)[kMagic.size()], 2) << "a file with a trace is version 2";
    auto r = SpoolReader::open(ops_, p);
    ASSERT_TRUE(r.ok()) << r.error().detail;
    EXPECT_EQ((*r)->envelope().trace, trace);
    EXPECT_EQ((*r)->envelope().recipients, std::vector<std::string>{"b@example.test"});
    (*r)->set_size_hint(21);
    (*r)->set_job(4711);
    const std::string sent = trace.head + "4711" + trace.tail + "Subject: hi\r\n\r\nbody\r\n";
    EXPECT_EQ((*r)->size_hint(), sent.size());
    EXPECT_EQ(read_all(**r, 7), sent);  // reads that end inside the trace and across it
    EXPECT_EQ(last_error_, "");
    // What the END record counts, and what a scan (the history's size) sees:
    // the stored message only.
    auto scan = scan_spool_file(ops_, p);
    ASSERT_TRUE(scan.ok()) << scan.error().detail;
    EXPECT_EQ(scan->size, 21U);
}

TEST_F(FormatTest, AFileWithoutTraceStaysVersionOneAndSendsAsStored) {
    auto p = write("abc");
    EXPECT_EQ(bytes(p)[kMagic.size()], 1) << "readable by a postbridge from before traces";
    auto r = SpoolReader::open(ops_, p);
    ASSERT_TRUE(r.ok());
    (*r)->set_job(1);
    EXPECT_EQ(read_all(**r), "abc");
}

TEST_F(FormatTest, ATraceInAVersionOneFileOrMalformedIsDamage) {
    const Trace trace{"Received: ", "\r\n"};
    auto p = write("abc", {"a@example.test", {"b@example.test"}, trace});
    auto b = bytes(p);
    b[kMagic.size()] = 1;
    put(p, b);
    auto scan = scan_spool_file(ops_, p);
    ASSERT_FALSE(scan.ok());
    EXPECT_NE(scan.error().detail.find("unexpected record 'T'"), std::string::npos)
        << scan.error().detail;

    // A head length beyond the record: rewritten with a valid checksum, so
    // that only the length is wrong.
    const auto bad = dir_ / "bad";
    {
        StringSource src("abc");
        Trace huge{std::string(10, 'h'), "t"};
        ASSERT_TRUE(write_spool_file(ops_, bad, {"a@example.test", {"b@example.test"}, huge}, src));
    }
    auto raw = bytes(bad);
    const auto at = raw.find(std::string(10, 'h'));
    ASSERT_NE(at, std::string::npos);
    raw[at - 1] = 20;  // the head's length: 20 of 11 bytes
    // The record's checksum covers type, length and payload.
    const auto start = at - 4 - 5;
    ASSERT_EQ(raw[start], 'T');
    std::uint32_t crc = ~0U;
    for (std::size_t i = start; i < at + 11; ++i) {
        crc ^= static_cast<unsigned char>(raw[i]);
        for (int k = 0; k < 8; ++k) crc = (crc & 1U) ? 0xEDB88320U ^ (crc >> 1) : crc >> 1;
    }
    crc = ~crc;
    for (std::size_t i = 0; i < 4; ++i) raw[at + 11 + i] = static_cast<char>(crc >> (24 - 8 * i));
    put(bad, raw);
    auto damaged = scan_spool_file(ops_, bad);
    ASSERT_FALSE(damaged.ok());
    EXPECT_NE(damaged.error().detail.find("trace record is malformed"), std::string::npos)
        << damaged.error().detail;
}

TEST_F(FormatTest, FailedWriteLeavesNoFile) {
    for (int n = 1; n <= 5; ++n) {  // magic, F, R, B, E
        test::FailingFileOps f;
        f.fail_write_at = n;
        StringSource src("body");
        auto r = write_spool_file(f, dir_ / "w", {"a@x.test", {"b@x.test"}}, src);
        ASSERT_FALSE(r.ok()) << "write " << n;
        EXPECT_EQ(r.error().code, Errc::spool_unwritable);
        EXPECT_FALSE(fs::exists(dir_ / "w")) << "write " << n;
    }
}

TEST_F(FormatTest, FailedFsyncLeavesNoFile) {
    test::FailingFileOps f;
    f.fail_fsync_at = 1;
    StringSource src("body");
    auto r = write_spool_file(f, dir_ / "w", {"a@x.test", {"b@x.test"}}, src);
    ASSERT_FALSE(r.ok());
    EXPECT_FALSE(fs::exists(dir_ / "w"));
}

// A body source that fails halfway (a vanished attachment): its own code
// comes back, not 651, and nothing is left behind.
class BrokenSource final : public ByteSource {
  public:
    Result<std::size_t> read(std::span<char> out) override {
        if (calls_++ > 0) return fail(Errc::invalid_input, "attachment vanished");
        out[0] = 'x';
        return std::size_t{1};
    }

  private:
    int calls_ = 0;
};

TEST_F(FormatTest, SourceErrorKeepsItsCode) {
    BrokenSource src;
    auto r = write_spool_file(ops_, dir_ / "w", {"a@x.test", {"b@x.test"}}, src);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::invalid_input);
    EXPECT_FALSE(fs::exists(dir_ / "w"));
}

}  // namespace
}  // namespace pb::spool
