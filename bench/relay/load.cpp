// relay_load: N clients at once, M messages each, against any SMTP endpoint
// that lets them send without TLS (the relay with relay.allowed_networks, or
// relay.require_tls=false and --auth). Reports messages per second, the
// latency of each message from the first byte of its MAIL command to the
// 250 after its final dot (p50, p99, max), and the peak resident memory of
// the server process (VmHWM of --pid, reset at the start so that it is this
// run's) and the CPU time it used from the first connect to the end of the
// run. With --maildir it also waits until that many new messages have
// arrived there (end to end, through delivery) and reports them over the
// time from the first connect to the last arrival (the newest file's mtime).
//
//   relay_load --port 2525 --clients 10 --messages 20 --size 20000
//              --pid PID_OF_SERVE --maildir /tmp/pb-run/maildir
//
// Each client sends its messages over one connection (--reconnect: a new
// connection per message, as many old devices do), MAIL, RCPT and DATA
// pipelined. --starttls upgrades each connection first (the certificate is
// not checked: loopback only), so that the same generator can load a real
// submission server directly, the relay's upstream, for comparison.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    std::string host = "127.0.0.1";
    int port = 2525;
    int clients = 1;
    int messages = 10;
    std::size_t size = 10000;
    std::string from = "load@lan.example";
    std::string to = "rcpt@example.test";
    std::string auth;  // base64 of "\0user\0pass" for AUTH PLAIN
    int pid = 0;
    bool reconnect = false;
    std::string maildir;
    int wait_seconds = 300;
    bool starttls = false;
};

SSL_CTX* tls_context() {
    static SSL_CTX* ctx = [] {
        SSL_CTX* c = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
        return c;
    }();
    return ctx;
}

class Conn {
  public:
    bool open(const Options& o) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd_ < 0) return false;
        int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        timeval tv{120, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<std::uint16_t>(o.port));
        if (::inet_pton(AF_INET, o.host.c_str(), &a.sin_addr) != 1) return false;
        return ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    }
    ~Conn() {
        if (ssl_) SSL_free(ssl_);
        if (fd_ >= 0) ::close(fd_);
    }
    Conn() = default;
    Conn(const Conn&) = delete;
    Conn& operator=(const Conn&) = delete;
    bool start_tls() {
        ssl_ = SSL_new(tls_context());
        return ssl_ && SSL_set_fd(ssl_, fd_) == 1 && SSL_connect(ssl_) == 1;
    }
    bool send(const std::string& s) {
        std::size_t off = 0;
        while (off < s.size()) {
            const ssize_t n =
                ssl_ ? SSL_write(ssl_, s.data() + off, static_cast<int>(s.size() - off))
                     : ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
            if (n <= 0) return false;
            off += static_cast<std::size_t>(n);
        }
        return true;
    }
    // One whole reply (multi-line included); its code, or 0 on error.
    int reply(std::string* text = nullptr) {
        for (;;) {
            const auto eol = buf_.find("\r\n");
            if (eol != std::string::npos) {
                const std::string line = buf_.substr(0, eol);
                buf_.erase(0, eol + 2);
                if (text) *text += line + "\n";
                if (line.size() >= 4 && line[3] == '-') continue;
                return line.size() >= 3 ? std::atoi(line.substr(0, 3).c_str()) : 0;
            }
            char tmp[4096];
            const ssize_t n =
                ssl_ ? SSL_read(ssl_, tmp, sizeof tmp) : ::recv(fd_, tmp, sizeof tmp, 0);
            if (n <= 0) return 0;
            buf_.append(tmp, static_cast<std::size_t>(n));
        }
    }

  private:
    int fd_ = -1;
    SSL* ssl_ = nullptr;
    std::string buf_;
};

std::string make_body(const Options& o, int client, int n) {
    std::string b = "From: <" + o.from + ">\r\nTo: <" + o.to + ">\r\nSubject: relay_load " +
                    std::to_string(client) + "/" + std::to_string(n) + "\r\n\r\n";
    const std::string line(76, 'x');
    while (b.size() < o.size) b += line + "\r\n";
    return b;
}

struct Stats {
    std::mutex mu;
    std::vector<double> latency_ms;
    int failed = 0;
    std::string first_error;
};

bool greet(Conn& c, const Options& o, std::string& err) {
    if (c.reply() != 220) return err = "no 220 greeting", false;
    if (!c.send("EHLO relay-load\r\n") || c.reply() != 250) return err = "EHLO refused", false;
    if (o.starttls) {
        if (!c.send("STARTTLS\r\n") || c.reply() != 220) return err = "STARTTLS refused", false;
        if (!c.start_tls()) return err = "TLS handshake failed", false;
        if (!c.send("EHLO relay-load\r\n") || c.reply() != 250)
            return err = "EHLO after STARTTLS refused", false;
    }
    if (!o.auth.empty()) {
        std::string t;
        if (!c.send("AUTH PLAIN " + o.auth + "\r\n") || c.reply(&t) != 235)
            return err = "AUTH refused: " + t, false;
    }
    return true;
}

void client(const Options& o, int id, Stats& stats) {
    std::optional<Conn> c;
    std::string err;
    for (int n = 0; n < o.messages; ++n) {
        if (!c || o.reconnect) {
            c.emplace();
            if (!c->open(o) || !greet(*c, o, err)) {
                std::lock_guard lock(stats.mu);
                ++stats.failed;
                if (stats.first_error.empty()) stats.first_error = err.empty() ? "connect" : err;
                c.reset();
                continue;
            }
        }
        const std::string body = make_body(o, id, n);
        const auto start = Clock::now();
        std::string t;
        bool ok = c->send("MAIL FROM:<" + o.from + ">\r\nRCPT TO:<" + o.to + ">\r\nDATA\r\n") &&
                  c->reply(&t) == 250 && c->reply(&t) == 250 && c->reply(&t) == 354 &&
                  c->send(body + ".\r\n") && c->reply(&t) == 250;
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        std::lock_guard lock(stats.mu);
        if (ok) {
            stats.latency_ms.push_back(ms);
        } else {
            ++stats.failed;
            if (stats.first_error.empty()) stats.first_error = "refused: " + t;
            c.reset();
        }
        if (o.reconnect && c) {
            c->send("QUIT\r\n");
            c->reply();
        }
    }
    if (c && !o.reconnect) {
        c->send("QUIT\r\n");
        c->reply();
    }
}

// A field of /proc/PID/status in kB (VmHWM, VmRSS), or -1.
long status_kb(int pid, const std::string& field) {
    if (pid <= 0) return -1;
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string key;
    while (in >> key) {
        long v = 0;
        if (key == field + ":" && (in >> v)) return v;
    }
    return -1;
}

// The peak resident size (VmHWM) starts again from the current one.
void reset_peak_rss(int pid) {
    if (pid <= 0) return;
    std::ofstream("/proc/" + std::to_string(pid) + "/clear_refs") << "5";
}

// User plus system CPU time of PID so far, in ms; -1 if unknown.
double cpu_ms(int pid) {
    if (pid <= 0) return -1;
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = stat.rfind(')');  // the command name may hold spaces
    if (close == std::string::npos) return -1;
    std::istringstream fields(stat.substr(close + 2));
    std::string skip;
    for (int i = 3; i < 14; ++i) fields >> skip;  // state .. cmajflt
    unsigned long long utime = 0, stime = 0;
    if (!(fields >> utime >> stime)) return -1;
    return static_cast<double>(utime + stime) * 1000.0 /
           static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// The messages in DIR/new that arrived at or after `since`, and the newest
// arrival among them.
struct Arrivals {
    std::size_t count = 0;
    std::chrono::system_clock::time_point last{};
};

Arrivals arrivals(const std::string& dir, std::chrono::system_clock::time_point since) {
    Arrivals a;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir + "/new", ec)) {
        if (e.path().string().ends_with(".json")) continue;
        struct stat st {};
        if (::stat(e.path().c_str(), &st) != 0) continue;
        const auto t = std::chrono::system_clock::time_point(
            std::chrono::duration_cast<std::chrono::system_clock::duration>(
                std::chrono::seconds(st.st_mtim.tv_sec) +
                std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
        if (t < since) continue;
        ++a.count;
        a.last = std::max(a.last, t);
    }
    return a;
}

double percentile(std::vector<double>& v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

int usage() {
    std::cerr << "usage: relay_load [--host A] [--port P] [--clients N] [--messages M] [--size B]\n"
                 "                  [--from A] [--to A] [--auth BASE64] [--pid PID] [--reconnect]\n"
                 "                  [--maildir DIR] [--wait SECONDS] [--starttls]\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::cerr << "relay_load: " << a << " needs a value\n";
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--host")
            o.host = value();
        else if (a == "--port")
            o.port = std::atoi(value().c_str());
        else if (a == "--clients")
            o.clients = std::atoi(value().c_str());
        else if (a == "--messages")
            o.messages = std::atoi(value().c_str());
        else if (a == "--size")
            o.size = static_cast<std::size_t>(std::atol(value().c_str()));
        else if (a == "--from")
            o.from = value();
        else if (a == "--to")
            o.to = value();
        else if (a == "--auth")
            o.auth = value();
        else if (a == "--pid")
            o.pid = std::atoi(value().c_str());
        else if (a == "--reconnect")
            o.reconnect = true;
        else if (a == "--maildir")
            o.maildir = value();
        else if (a == "--wait")
            o.wait_seconds = std::atoi(value().c_str());
        else if (a == "--starttls")
            o.starttls = true;
        else
            return usage();
    }
    if (o.clients < 1 || o.messages < 1 || o.port < 1) return usage();

    reset_peak_rss(o.pid);
    const long rss_before_kb = status_kb(o.pid, "VmRSS");
    const double cpu_before = cpu_ms(o.pid);
    Stats stats;
    const auto wall_start = std::chrono::system_clock::now();
    const auto start = Clock::now();
    std::vector<std::thread> threads;
    for (int i = 0; i < o.clients; ++i)
        threads.emplace_back([&o, &stats, i] { client(o, i, stats); });
    for (auto& t : threads) t.join();
    const double secs = std::chrono::duration<double>(Clock::now() - start).count();
    const std::size_t ok = stats.latency_ms.size();

    double delivered_secs = -1;
    Arrivals arrived;
    if (!o.maildir.empty()) {
        const auto deadline = start + std::chrono::seconds(o.wait_seconds);
        while ((arrived = arrivals(o.maildir, wall_start)).count < ok && Clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        delivered_secs = std::chrono::duration<double>(arrived.last - wall_start).count();
    }
    // The server's CPU over the whole run, delivery included.
    const double cpu = cpu_before < 0 ? -1 : cpu_ms(o.pid) - cpu_before;
    const double mb = static_cast<double>(ok) * static_cast<double>(o.size) / 1e6;

    const double p50 = percentile(stats.latency_ms, 0.50);
    const double p99 = percentile(stats.latency_ms, 0.99);
    const double max = stats.latency_ms.empty() ? 0 : stats.latency_ms.back();
    std::printf(
        "{\"clients\":%d,\"messages\":%d,\"size\":%zu,\"accepted\":%zu,\"failed\":%d,"
        "\"seconds\":%.3f,\"messages_per_s\":%.1f,\"p50_ms\":%.1f,\"p99_ms\":%.1f,"
        "\"max_ms\":%.1f",
        o.clients, o.messages, o.size, ok, stats.failed, secs, static_cast<double>(ok) / secs, p50,
        p99, max);
    if (o.pid > 0)
        std::printf(
            ",\"server_rss_before_kb\":%ld,\"server_peak_rss_kb\":%ld,\"server_cpu_ms\":%.0f,"
            "\"cpu_ms_per_message\":%.3f,\"cpu_ms_per_mb\":%.2f",
            rss_before_kb, status_kb(o.pid, "VmHWM"), cpu, ok ? cpu / static_cast<double>(ok) : 0.0,
            mb > 0 ? cpu / mb : 0.0);
    if (!o.maildir.empty())
        std::printf(",\"delivered\":%zu,\"delivered_seconds\":%.3f,\"delivered_per_s\":%.1f",
                    arrived.count, delivered_secs,
                    static_cast<double>(arrived.count) / delivered_secs);
    std::printf("}\n");
    if (!stats.first_error.empty())
        std::fprintf(stderr, "first error: %s\n", stats.first_error.c_str());
    return stats.failed == 0 ? 0 : 1;
}
