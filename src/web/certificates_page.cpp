// Network Security > CA Certificate and Root Certificate Update: the CA
// certificates trusted for the email server and the identity provider
// besides the system's root certificates, imported from an upload (PEM or
// DER) and removed as `postbridge ca` does; and what the system trusts, as
// the running service reports it.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "web/app.hpp"
#include "web/app_internal.hpp"
#include "web/html.hpp"
#include "web/layout.hpp"
#include "web/multipart.hpp"

namespace pb::web {
namespace {

constexpr std::string_view kCaPath = "/network-security/ca-certificate";

// Writes an upload to a private temporary file for Store::import_ca, which
// reads certificates from a file as `postbridge ca import` does.
class TempFile {
  public:
    explicit TempFile(std::string_view bytes) {
        std::string tmpl = (std::filesystem::temp_directory_path() / "pb-ca-XXXXXX").string();
        const int fd = ::mkstemp(tmpl.data());  // 0600
        if (fd < 0) return;
        path_ = tmpl;
        std::size_t done = 0;
        while (done < bytes.size()) {
            const auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
            if (n <= 0) break;
            done += static_cast<std::size_t>(n);
        }
        ::close(fd);
        ok_ = done == bytes.size();
    }
    ~TempFile() {
        if (!path_.empty()) {
            std::error_code ec;
            std::filesystem::remove(path_, ec);
        }
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    bool ok() const { return ok_; }
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
    bool ok_ = false;
};

std::string render_ca_page(const std::vector<store::CaCert>& certs, std::string_view csrf,
                           std::string_view notice, std::string_view problem) {
    std::string out = render_messages(notice, problem);
    out +=
        "<p>CA certificates trusted for the email server and the identity provider, besides "
        "the system's root certificates.</p>";
    out += fmt::format(
        R"(<form method="post" action="/network-security/ca-certificate/import" enctype="multipart/form-data" class="no-print">{}<div class="field"><label for="ca-file">Certificate (PEM or DER)</label><div class="control"><input type="file" id="ca-file" name="certificate" required></div></div><div class="buttons"><button type="submit" id="import">Import</button></div></form>)",
        csrf_input(csrf));
    if (certs.empty()) return out + R"(<p id="no-ca">No CA certificate has been imported.</p>)";
    out +=
        R"(<table id="ca-list"><thead><tr><th>Subject</th><th>Issuer</th><th>Valid from</th><th>Valid to</th><th>ID</th><th></th></tr></thead><tbody>)";
    for (const auto& c : certs)
        out += fmt::format(
            R"(<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td><form method="post" action="/network-security/ca-certificate/remove" class="inline">{}<input type="hidden" name="id" value="{}"><button type="submit">Remove</button></form></td></tr>)",
            escape(c.subject), escape(c.issuer), escape(c.not_before), escape(c.not_after),
            escape(c.id), csrf_input(csrf), escape(c.id));
    return out + "</tbody></table>";
}

std::string render_root_update_page(const SystemBundle& bundle, std::size_t imported,
                                    std::size_t unreadable, std::string_view csrf,
                                    std::string_view notice) {
    std::string out = render_messages(notice, "");
    out += R"(<table id="trust"><tbody>)";
    if (bundle.path.empty())
        out +=
            R"(<tr><th>System root certificates</th><td id="bundle">No system certificate bundle was found: install the ca-certificates package.</td></tr>)";
    else
        out += fmt::format(
            R"(<tr><th>System root certificates</th><td id="bundle">{} certificates in <code>{}</code>, last updated {}</td></tr>)",
            bundle.certificates, escape(bundle.path.string()), escape(bundle.updated));
    out += fmt::format(
        R"(<tr><th>Imported CA certificates</th><td id="imported">{}{} (<a href="/network-security/ca-certificate">CA Certificate</a>)</td></tr></tbody></table>)",
        imported,
        unreadable == 0 ? std::string()
                        : fmt::format(", and {} file(s) that could not be read", unreadable));
    out +=
        R"(<p><strong>What Update does:</strong> it reads the system's bundle and the imported CA certificates again and shows what they hold now. Every new connection (the email server, the identity provider, Microsoft Graph) checks servers against both, here and in the running service.</p>
<p><strong>What it does not do:</strong> download certificates. The system's root certificates come with the operating system's <code>ca-certificates</code> package: its updates (<code>apt upgrade</code>, which runs <code>update-ca-certificates</code>) refresh the bundle, and the next connection uses them. A certificate of your own organisation goes on the CA Certificate page.</p>)";
    out += fmt::format(
        R"(<form method="post" action="/network-security/root-certificate-update">{}<div class="buttons"><button type="submit" id="update">Update</button></div></form>)",
        csrf_input(csrf));
    return out;
}

}  // namespace

Response App::ca_page(Call& call) {
    auto certs = store_.ca_certs();
    std::string problem = certs ? std::exchange(call.session->flash, {}) : certs.error().detail;
    return framed(call, Tab::network_security, "Network Security > CA Certificate",
                  render_ca_page(certs ? *certs : std::vector<store::CaCert>{}, call.session->csrf,
                                 std::exchange(call.session->notice, {}), problem));
}

Response App::ca_import(Call& call) {
    const auto parts = parse_multipart(call.req.content_type, call.req.body);
    if (!parts) return Response::text(400, "The form could not be read.\n");
    const FormPart* file = nullptr;
    std::string csrf;
    for (const auto& part : *parts) {
        if (part.name == "csrf") csrf = part.body;
        if (part.name == "certificate") file = &part;
    }
    if (!Secret::equal_constant_time(csrf, call.session->csrf)) return forbidden(kExpiredForm);
    if (file == nullptr || file->body.empty()) {
        call.session->flash = "Choose a certificate file (PEM or DER) to import.";
        return Response::redirect(std::string(kCaPath));
    }
    TempFile tmp(file->body);
    if (!tmp.ok()) {
        call.session->flash = "The certificate could not be stored for reading. See the log.";
        options_.log("web: CA import: cannot write a temporary file");
        return Response::redirect(std::string(kCaPath));
    }
    auto certs = store_.import_ca(tmp.path());
    if (!certs) {
        call.session->flash = certs.error().detail;
    } else {
        std::string names;
        for (const auto& c : *certs) names += (names.empty() ? "" : "; ") + c.subject;
        call.session->notice = fmt::format("Imported: {}", names);
        options_.log(fmt::format("web: {} CA certificate(s) imported", certs->size()));
    }
    return Response::redirect(std::string(kCaPath));
}

Response App::ca_remove(Call& call) {
    if (!call.csrf_ok()) return forbidden(kExpiredForm);
    const std::string id = call.req.form("id").value_or("");
    if (auto r = store_.remove_ca(id); !r) {
        call.session->flash = r.error().detail;
    } else {
        call.session->notice = "The CA certificate was removed.";
        options_.log(fmt::format("web: CA certificate {} removed", id));
    }
    return Response::redirect(std::string(kCaPath));
}

SystemBundle system_bundle(std::span<const std::filesystem::path> candidates) {
    for (const auto& path : candidates) {
        std::ifstream f(path);
        if (!f) continue;
        SystemBundle b;
        b.path = path;
        for (std::string line; std::getline(f, line);)
            if (line.starts_with("-----BEGIN CERTIFICATE-----")) ++b.certificates;
        std::error_code ec;
        const auto mtime = std::filesystem::last_write_time(path, ec);
        if (!ec) {
            const auto at = std::chrono::file_clock::to_sys(mtime);
            b.updated =
                fmt::format("{:%Y-%m-%d %H:%M} UTC", std::chrono::floor<std::chrono::minutes>(at));
        }
        return b;
    }
    return {};
}

Response App::root_update(Call& call) {
    constexpr std::string_view title = "Network Security > Root Certificate Update";
    constexpr Tab tab = Tab::network_security;
    if (call.post() && !call.csrf_ok()) return forbidden(kExpiredForm);
    // Read on every visit: what the page shows is what a connection would use.
    static const std::filesystem::path kBundles[] = {"/etc/ssl/certs/ca-certificates.crt",
                                                     "/etc/pki/tls/certs/ca-bundle.crt"};
    const SystemBundle bundle = system_bundle(kBundles);
    auto certs = store_.ca_certs();
    const std::size_t imported = certs ? certs->size() : 0;
    const std::size_t files = store_.ca_files().size();
    const std::size_t unreadable = files > imported ? files - imported : 0;
    std::string notice;
    if (call.post()) {
        notice = fmt::format(
            "Read again: {} system root certificates and {} imported CA "
            "certificate(s). New connections use them.",
            bundle.certificates, imported);
        options_.log(fmt::format("web: root certificates read again: {} system, {} imported",
                                 bundle.certificates, imported));
    }
    return framed(
        call, tab, title,
        render_root_update_page(bundle, imported, unreadable, call.session->csrf, notice));
}

}  // namespace pb::web
