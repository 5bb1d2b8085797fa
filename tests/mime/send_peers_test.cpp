// A message using all the builder does, over the wire: three attachments
// (20 MB, a non-ASCII file name, a small text) and a non-ASCII subject, built by
// mime::build_message, sent by smtp::send to the real smtp-server peer
// (STARTTLS with the test CA, PLAIN device/device-pass), read back from its
// maildir and parsed by Python's email package (parse_message.py): headers
// decoded, attachments byte-identical.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/clock.hpp"
#include "mime/message.hpp"
#include "smtp/client.hpp"
#include "support/fakes.hpp"
#include "support/peers.hpp"

namespace pb::mime {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string env(const std::string& key) {
    return pb::test::Peers::get().at(key);
}

class TempDir {
  public:
    TempDir() {
        char tmpl[] = "/tmp/pb-send-XXXXXX";
        path_ = ::mkdtemp(tmpl);
    }
    ~TempDir() { fs::remove_all(path_); }
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

// Pseudo-random bytes (every byte value, no line structure), reproducible.
void write_noise(const fs::path& p, std::size_t size, std::uint64_t seed) {
    std::ofstream out(p, std::ios::binary);
    std::string buf(1 << 16, '\0');
    std::uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    for (std::size_t done = 0; done < size;) {
        for (auto& c : buf) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c = static_cast<char>(x >> 24);
        }
        const std::size_t n = std::min(buf.size(), size - done);
        out.write(buf.data(), static_cast<std::streamsize>(n));
        done += n;
    }
}

// The maildir file whose header carries this Message-ID (only the first
// 64 KiB of each file are read: other tests' messages may be large too).
std::optional<fs::path> find_by_message_id(const std::string& id) {
    const fs::path dir = fs::path(env("PB_MAILDIR")) / "new";
    const std::string needle = "Message-ID: " + id + "\r\n";
    for (int attempt = 0; attempt < 100; ++attempt) {
        for (const auto& e : fs::directory_iterator(dir)) {
            if (e.path().filename().string().ends_with(".envelope.json")) continue;
            std::ifstream in(e.path(), std::ios::binary);
            std::string head(64 * 1024, '\0');
            in.read(head.data(), static_cast<std::streamsize>(head.size()));
            head.resize(static_cast<std::size_t>(in.gcount()));
            const auto end = head.find("\r\n\r\n");
            if (head.substr(0, end).find(needle) != std::string::npos) return e.path();
        }
        std::this_thread::sleep_for(50ms);
    }
    return std::nullopt;
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

TEST(MimeSendPeer, TwentyMegabytesWithThreeAttachmentsReadBackByPythonEmail) {
    if (!pb::test::Peers::get().available()) GTEST_SKIP() << "no peers (fixture peers)";
    TempDir dir;
    const auto big = dir.path() / "scan-20MB.pdf";
    const auto accented = dir.path() / "Überweisung März 2027 – Kopie.tiff";
    const auto small = dir.path() / "notes.txt";
    write_noise(big, 20 * 1000 * 1000, 1);
    write_noise(accented, 123457, 2);
    { std::ofstream(small) << "plain\nnotes\n"; }

    Draft d;
    d.from = "Scanner Büro 3 <device@example.test>";
    d.to = {"Jürgen Müller <juergen@example.test>, second@example.test"};
    d.cc = {"\"Doe, Jane\" <jane@example.test>"};
    d.bcc = {"audit@example.test"};
    d.subject = "Gescannte Dokumente: Überweisung März – 20 MB Anhang ✓ (Teil 1 von 1)";
    d.text = "Guten Tag,\nanbei die gescannten Seiten.\n";
    for (const auto& p : {big, accented, small}) {
        auto a = attach_file(p);
        ASSERT_TRUE(a.ok()) << a.error().detail;
        d.attachments.push_back(std::move(*a));
    }
    // A fixed Date to compare; real randomness, so that the Message-ID is
    // unique in the maildir across repeated runs.
    test::ManualClock clock(TimePoint{std::chrono::seconds{1'800'000'000}});
    SystemRandom random;
    auto built = build_message(std::move(d), clock, random);
    ASSERT_TRUE(built.ok()) << built.error().detail;
    Message& m = **built;
    const std::uint64_t size = m.size_hint().value_or(0);
    EXPECT_GT(size, 27u * 1000 * 1000);  // base64 of 20 MB and more

    smtp::ServerConfig server;
    server.host = env("PB_SMTP_HOST");
    server.port = static_cast<std::uint16_t>(std::stoi(env("PB_SMTP_PORT")));
    server.security = smtp::Security::starttls;
    server.tls.system_store = false;
    server.tls.ca_files = {env("PB_TEST_CA")};
    server.timeout_limit = 60s;
    smtp::Credentials cred;
    cred.method = smtp::AuthMethod::smtp_auth;
    cred.user = "device";
    cred.password = Secret("device-pass");
    std::vector<smtp::OutgoingMessage> out{
        {{m.envelope().sender, m.envelope().recipients, size, false}, &m}};
    const auto report = smtp::send(server, cred, out);
    ASSERT_TRUE(report.ok()) << (report.error ? report.error->describe() : "") << "\n"
                             << report.transcript;
    EXPECT_EQ(report.transcript.find("device-pass"), std::string::npos);
    ASSERT_EQ(report.messages.size(), 1u);
    EXPECT_EQ(report.messages[0].recipients.size(), 4u);  // To x2, Cc, Bcc

    const auto file = find_by_message_id(m.message_id());
    ASSERT_TRUE(file) << "no message with Message-ID " << m.message_id() << " in the maildir";
    EXPECT_EQ(fs::file_size(*file), size);  // what we announced with SIZE= is what arrived
    const std::string sidecar = read_file(file->string() + ".envelope.json");
    EXPECT_NE(sidecar.find("\"user\": \"device\""), std::string::npos) << sidecar;
    EXPECT_NE(sidecar.find("\"secure\": true"), std::string::npos) << sidecar;
    EXPECT_NE(sidecar.find("\"audit@example.test\""), std::string::npos) << sidecar;  // Bcc
    EXPECT_NE(sidecar.find("\"SIZE\": \"" + std::to_string(size) + "\""), std::string::npos)
        << sidecar;

    const std::string cmd = "python3 '" + test::source_dir() + "/tests/mime/parse_message.py' '" +
                            file->string() + "' '" + big.string() + "' '" + accented.string() +
                            "' '" + small.string() + "'";
    const auto r = test::run_command(cmd);
    ASSERT_EQ(r.status, 0) << r.out;
    const std::string expected =
        "From=Scanner Büro 3 <device@example.test>\n"
        "To=Jürgen Müller <juergen@example.test>, second@example.test\n"
        "Cc=\"Doe, Jane\" <jane@example.test>\n"
        "Bcc=<absent>\n"
        "Subject=Gescannte Dokumente: Überweisung März – 20 MB Anhang ✓ (Teil 1 von 1)\n"
        "Date=Fri, 15 Jan 2027 08:00:00 +0000\n"
        "Message-ID=" +
        m.message_id() +
        "\n"
        "MIME-Version=1.0\n"
        "defects=none\n"
        "content-type=multipart/mixed\n"
        "text='Guten Tag,\\nanbei die gescannten Seiten.\\n'\n"
        "attachment=scan-20MB.pdf|application/pdf|20000000|identical\n"
        "attachment=Überweisung März 2027 – Kopie.tiff|image/tiff|123457|identical\n"
        "attachment=notes.txt|text/plain|12|identical\n";
    EXPECT_EQ(r.out, expected);
}

}  // namespace
}  // namespace pb::mime
