// Times Graph sends to the Graph peer and reports the process's peak RSS.
// A separate small program, so that its RSS is what the Graph client costs.
//
//   graph_send_bench ENDPOINT MAILBOX TOKEN_FILE small COUNT BYTES
//       COUNT messages of BYTES each (a text body), one after another:
//       messages/s
//   graph_send_bench ENDPOINT MAILBOX TOKEN_FILE large MBYTES DIR
//       one message with an attachment of MBYTES MiB, written to DIR first
//       (as the spool holds it), then read from there while it is sent:
//       seconds and peak RSS; with PB_GRAPH_MAILDIR (the peer's maildir,
//       set by run.sh), whether the attachment arrived byte for byte (the
//       peer's envelope.json has its SHA-256), else exit 1
#include <openssl/evp.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>

#include "core/encoding.hpp"
#include "core/file_source.hpp"
#include "graph/client.hpp"
#include "oauth/http_curl.hpp"

namespace {

class FileTokens final : public pb::graph::Tokens {
  public:
    explicit FileTokens(std::string t) : t_(std::move(t)) {}
    pb::Result<pb::Secret> token() override { return pb::Secret(t_); }
    pb::Result<pb::Secret> after_rejection(const pb::Secret&) override { return pb::Secret(t_); }

  private:
    std::string t_;
};

double peak_rss_mib() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

struct Large {
    std::uint64_t size = 0;      // of the message
    std::string attachment_sha;  // SHA-256 of the attachment's bytes, hex
};

// A multipart/mixed message with `mib` MiB of random bytes (a new draw each
// run) as a base64 attachment, written in pieces so that writing it costs
// no memory either.
Large write_large(const std::filesystem::path& path, std::uint64_t mib) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> sha(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    EVP_DigestInit_ex(sha.get(), EVP_sha256(), nullptr);
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << "From: alice@example.test\r\nTo: bob@example.test\r\nSubject: bench large\r\n"
         "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"bench\"\r\n\r\n"
         "--bench\r\nContent-Type: text/plain\r\n\r\nA large scan.\r\n"
         "--bench\r\nContent-Type: application/pdf\r\n"
         "Content-Disposition: attachment; filename=\"scan.pdf\"\r\n"
         "Content-Transfer-Encoding: base64\r\n\r\n";
    std::mt19937_64 rng{std::random_device{}()};
    std::string raw(57 * 1024, '\0');
    std::uint64_t left = mib << 20;
    while (left > 0) {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(raw.size(), left));
        for (std::size_t i = 0; i < n; ++i) raw[i] = static_cast<char>(rng());
        EVP_DigestUpdate(sha.get(), raw.data(), n);
        const std::string b = pb::base64_encode(std::string_view(raw).substr(0, n));
        for (std::size_t i = 0; i < b.size(); i += 76) f << b.substr(i, 76) << "\r\n";
        left -= n;
    }
    f << "--bench--\r\n";
    f.close();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_DigestFinal_ex(sha.get(), md, &md_len);
    Large out{std::filesystem::file_size(path), {}};
    for (unsigned int i = 0; i < md_len; ++i) {
        constexpr char hex[] = "0123456789abcdef";
        out.attachment_sha += hex[md[i] >> 4];
        out.attachment_sha += hex[md[i] & 15];
    }
    return out;
}

// Whether the Graph peer's maildir has a message whose envelope.json names
// an attachment with this SHA-256 (drawn anew each run: no other has it).
bool arrived_intact(const std::filesystem::path& maildir, const std::string& sha) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(maildir / "new", ec)) {
        if (!e.path().string().ends_with(".envelope.json")) continue;
        std::ifstream in(e.path());
        const std::string text{std::istreambuf_iterator<char>(in), {}};
        if (text.find("\"" + sha + "\"") != std::string::npos) return true;
    }
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 7) {
        std::fprintf(stderr,
                     "usage: %s ENDPOINT MAILBOX TOKEN_FILE small COUNT BYTES | large MBYTES DIR\n",
                     argv[0]);
        return 2;
    }
    std::string token;
    std::getline(std::ifstream(argv[3]), token);
    FileTokens tokens(token);
    auto http = pb::oauth::CurlHttpClient::create({});
    if (!http) return 1;
    pb::graph::MailboxGate gate;
    const std::filesystem::path ledger_dir =
        std::filesystem::temp_directory_path() / ("pb-graph-bench-" + std::to_string(::getpid()));
    pb::graph::FileDraftLedger ledger(ledger_dir);
    pb::SystemClock clock;
    pb::graph::Options o;
    o.endpoint = argv[1];
    o.mailbox = argv[2];
    int waits = 0;
    pb::graph::Client client(
        **http, tokens, gate, ledger, clock, [&waits](std::chrono::seconds) { ++waits; }, o);
    const std::string mode = argv[4];
    int rc = 0;
    if (mode == "small") {
        const int count = std::stoi(argv[5]);
        const std::size_t bytes = std::stoul(argv[6]);
        std::string body;
        while (body.size() < bytes)
            body += "The quick brown fox jumps over the lazy dog 0123456789\r\n";
        body.resize(bytes);
        const auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < count; ++i) {
            const std::string mime =
                "From: alice@example.test\r\nTo: bob@example.test\r\nSubject: bench " +
                std::to_string(i) + "\r\n\r\n" + body;
            pb::graph::Message m;
            m.job = i + 1;
            m.recipients = {"bob@example.test"};
            m.size = mime.size();
            m.open = [&mime]() -> pb::Result<std::unique_ptr<pb::ByteSource>> {
                return std::unique_ptr<pb::ByteSource>(std::make_unique<pb::StringSource>(mime));
            };
            auto out = client.send(m);
            if (out.error) {
                std::fprintf(stderr, "%s\n", out.error->describe().c_str());
                rc = 1;
                break;
            }
        }
        const double secs =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::printf(
            "graph small: %d messages of %zu bytes in %.2f s = %.1f messages/s, peak RSS %.1f MiB, "
            "%d throttle waits\n",
            count, bytes, secs, count / secs, peak_rss_mib(), waits);
    } else {
        const std::uint64_t mib = std::stoull(argv[5]);
        const std::filesystem::path file = std::filesystem::path(argv[6]) / "large.eml";
        const Large large = write_large(file, mib);
        const std::uint64_t size = large.size;
        const double before = peak_rss_mib();
        pb::graph::Message m;
        m.job = 1;
        m.recipients = {"bob@example.test"};
        m.size = size;
        m.open = [&file]() -> pb::Result<std::unique_ptr<pb::ByteSource>> {
            auto f = pb::FileSource::open(file, "message");
            if (!f) return std::move(f).error();
            return std::unique_ptr<pb::ByteSource>(std::move(*f));
        };
        const auto start = std::chrono::steady_clock::now();
        auto out = client.send(m);
        const double secs =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (out.error) {
            std::fprintf(stderr, "%s\n%s", out.error->describe().c_str(), out.transcript.c_str());
            rc = 1;
        }
        std::printf(
            "graph large: %llu MiB attachment, message %llu bytes, via %s in %.2f s (%.1f MB/s), "
            "peak RSS %.1f MiB (%.1f MiB before sending)\n",
            static_cast<unsigned long long>(mib), static_cast<unsigned long long>(size),
            out.how.c_str(), secs, static_cast<double>(size) / secs / 1e6, peak_rss_mib(), before);
        std::filesystem::remove(file);
        if (const char* maildir = std::getenv("PB_GRAPH_MAILDIR"); maildir && !out.error) {
            const bool intact = arrived_intact(maildir, large.attachment_sha);
            std::printf("graph large: attachment byte for byte at the peer (sha256 %s): %s\n",
                        large.attachment_sha.c_str(), intact ? "yes" : "NO");
            if (!intact) rc = 1;
        }
    }
    std::error_code ec;
    std::filesystem::remove_all(ledger_dir, ec);
    return rc;
}
