#include "oauth/http_curl.hpp"

#include <curl/curl.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <cstdio>
#include <memory>
#include <optional>

#include "oauth/url.hpp"

namespace pb::oauth {
namespace {

struct CurlDeleter {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
struct X509Deleter {
    void operator()(X509* x) const { X509_free(x); }
};

using Headers = std::unique_ptr<curl_slist, SlistDeleter>;
// curl_slist_append returns null on failure and leaves the list alone.
void append(Headers& list, const char* line) {
    if (curl_slist* head = curl_slist_append(list.get(), line)) {
        (void)list.release();
        list.reset(head);
    }
}

struct Sink {
    std::string body;
    std::size_t limit;
    bool overflow = false;
};

std::size_t write_body(char* data, std::size_t size, std::size_t n, void* user) {
    auto* sink = static_cast<Sink*>(user);
    const std::size_t len = size * n;
    if (sink->body.size() + len > sink->limit) {
        sink->overflow = true;
        return 0;  // makes curl stop with CURLE_WRITE_ERROR
    }
    sink->body.append(data, len);
    return len;
}

// A streamed request body (HttpRequest::source); a read error stops curl.
struct Feed {
    ByteSource* source;
    std::optional<Error> error;
};

std::size_t read_body(char* buffer, std::size_t size, std::size_t n, void* user) {
    auto* feed = static_cast<Feed*>(user);
    auto r = feed->source->read(std::span<char>(buffer, size * n));
    if (!r) {
        feed->error = r.error();
        return CURL_READFUNC_ABORT;
    }
    return *r;
}

// Keeps the headers of the answer that callers read (Retry-After, Location).
struct HeaderSink {
    std::string retry_after;
    std::string location;
};

std::size_t read_header(char* data, std::size_t size, std::size_t n, void* user) {
    auto* sink = static_cast<HeaderSink*>(user);
    std::string_view line(data, size * n);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return size * n;
    std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
        value.remove_suffix(1);
    auto is = [&](std::string_view want) {
        if (name.size() != want.size()) return false;
        for (std::size_t i = 0; i < want.size(); ++i)
            if ((name[i] | 0x20) != (want[i] | 0x20)) return false;
        return true;
    };
    if (is("retry-after")) sink->retry_after = std::string(value);
    if (is("location")) sink->location = std::string(value);
    return size * n;
}

// The host of a URL without its path or query: enough for an administrator
// to know which server failed, never a parameter.
std::string where(const std::string& url) {
    const auto u = parse_url(url);
    return u ? u->host : std::string("the identity provider");
}

Error map_curl_error(CURLcode rc, CURL* curl, const char* errbuf, const CurlOptions& options,
                     const std::string& url, const Sink& sink) {
    const std::string host = where(url);
    const std::string text = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    // A proxy that refuses the CONNECT tunnel shows up as a receive error
    // or CURLE_PROXY depending on the version; its status code is the sign.
    long connect_code = 0;
    curl_easy_getinfo(curl, CURLINFO_HTTP_CONNECTCODE, &connect_code);
    if (!options.proxy_url.empty() && (connect_code >= 300 || rc == CURLE_PROXY))
        return fail(Errc::proxy_failure,
                    "the proxy refused the connection to " + host + ": " + text);
    switch (rc) {
        case CURLE_COULDNT_RESOLVE_HOST:
            return fail(Errc::name_resolution, "cannot resolve " + host + ": " + text);
        case CURLE_COULDNT_RESOLVE_PROXY:
            return fail(Errc::proxy_failure, "cannot resolve the proxy: " + text);
        case CURLE_COULDNT_CONNECT:
            // Behind a proxy every connection goes to the proxy first, and a
            // refused CONNECT tunnel is reported this way too.
            if (!options.proxy_url.empty())
                return fail(Errc::proxy_failure, "through the proxy to " + host + ": " + text);
            return fail(Errc::cannot_connect, "cannot connect to " + host + ": " + text);
        case CURLE_OPERATION_TIMEDOUT:
            return fail(Errc::timed_out, "waiting for " + host + ": " + text);
        case CURLE_SSL_CONNECT_ERROR:
            return fail(Errc::tls_handshake, "TLS with " + host + ": " + text);
        case CURLE_PEER_FAILED_VERIFICATION: {
            long verify = 0;
            curl_easy_getinfo(curl, CURLINFO_SSL_VERIFYRESULT, &verify);
            if (verify == X509_V_ERR_HOSTNAME_MISMATCH)
                return fail(Errc::cert_name_mismatch,
                            "the certificate of " + host + " is for another name");
            if (verify == X509_V_ERR_CERT_NOT_YET_VALID)
                return certificate_dates("the certificate of " + host, CertDates::not_yet_valid);
            if (verify == X509_V_ERR_CERT_HAS_EXPIRED)
                return certificate_dates("the certificate of " + host, CertDates::expired);
            return fail(Errc::cert_untrusted,
                        "the certificate of " + host + " is not trusted: " + text);
        }
        case CURLE_SSL_CACERT_BADFILE:
            return fail(Errc::identity_provider_config,
                        "the CA certificates cannot be loaded: " + text);
        case CURLE_WRITE_ERROR:
            if (sink.overflow)
                return fail(Errc::identity_provider_unavailable,
                            host + " sent an oversized answer");
            break;
        default:
            break;
    }
    return fail(Errc::identity_provider_unavailable, "no answer from " + host + ": " + text);
}

}  // namespace

// Extra trust anchors, parsed once and added to each connection's store
// after curl has loaded the system bundle.
struct CurlHttpClient::Trust {
    std::vector<std::unique_ptr<X509, X509Deleter>> certs;

    static CURLcode add_to_context(CURL*, void* ssl_ctx, void* user) {
        auto* self = static_cast<Trust*>(user);
        X509_STORE* store = SSL_CTX_get_cert_store(static_cast<SSL_CTX*>(ssl_ctx));
        for (const auto& cert : self->certs)
            X509_STORE_add_cert(store, cert.get());  // a duplicate is harmless
        return CURLE_OK;
    }
};

Result<std::unique_ptr<CurlHttpClient>> CurlHttpClient::create(CurlOptions options) {
    auto trust = std::make_unique<Trust>();
    for (const auto& path : options.extra_ca_files) {
        std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
        if (!f)
            return fail(Errc::identity_provider_config, "cannot read the CA file " + path.string());
        std::size_t before = trust->certs.size();
        while (X509* cert = PEM_read_X509(f.get(), nullptr, nullptr, nullptr))
            trust->certs.emplace_back(cert);
        if (trust->certs.size() == before)
            return fail(Errc::identity_provider_config, "no PEM certificate in " + path.string());
    }
    if (!options.proxy_url.empty() && !parse_url(options.proxy_url))
        return fail(Errc::identity_provider_config, "proxy.url must be http(s)://host:port");
    return std::unique_ptr<CurlHttpClient>(
        new CurlHttpClient(std::move(options), std::move(trust)));
}

// curl_global_init is reference-counted and thread-safe since libcurl 7.84:
// each client holds one reference instead of the process holding a global.
CurlHttpClient::CurlHttpClient(CurlOptions options, std::unique_ptr<Trust> trust)
    : options_(std::move(options)), trust_(std::move(trust)) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

CurlHttpClient::~CurlHttpClient() {
    curl_global_cleanup();
}

Result<HttpResponse> CurlHttpClient::send(const HttpRequest& request) {
    std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
    if (!curl)
        return fail(Errc::identity_provider_unavailable, "libcurl could not start a request");
    CURL* c = curl.get();
    char errbuf[CURL_ERROR_SIZE] = {};
    Sink sink{{}, options_.max_response_bytes};

    curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_USERAGENT, options_.user_agent.c_str());
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(request.timeout.value_or(options_.total_timeout).count()));
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
                     static_cast<curl_off_t>(options_.max_response_bytes));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &write_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    // An empty string turns off curl's reading of http_proxy and friends: the
    // profile's proxy.url is the only proxy, so what is tested is what runs.
    curl_easy_setopt(c, CURLOPT_PROXY, options_.proxy_url.c_str());
    if (!trust_->certs.empty()) {
        curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, &Trust::add_to_context);
        curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, trust_.get());
    }

    Headers headers;
    append(headers, "Accept: application/json");
    if (!request.authorization.empty()) {
        // Built inside a Secret so that our copy is wiped; curl keeps its own
        // until the list is freed below.
        const Secret line("Authorization: " + std::string(request.authorization.reveal()));
        append(headers, line.reveal().data());
    }
    for (const auto& [name, value] : request.headers)
        append(headers, (name + ": " + value).c_str());
    // A PUT always streams: its `body`, when no source is given, through this.
    std::optional<StringSource> put_body;
    if (request.method == HttpRequest::Method::put && request.source == nullptr)
        put_body.emplace(std::string(request.body.reveal()));
    Feed feed{put_body ? &*put_body : request.source, std::nullopt};
    const std::uint64_t feed_size = put_body ? request.body.size() : request.source_size;
    using M = HttpRequest::Method;
    if (request.method == M::post || request.method == M::put) {
        const std::string type = request.content_type.empty() ? "application/x-www-form-urlencoded"
                                                              : request.content_type;
        append(headers, ("Content-Type: " + type).c_str());
        // No "Expect: 100-continue": Graph answers at once, and the wait for
        // it would cost a second on every large request.
        append(headers, "Expect:");
        if (request.method == M::put)
            curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        else
            curl_easy_setopt(c, CURLOPT_POST, 1L);
        if (feed.source != nullptr) {
            curl_easy_setopt(c, CURLOPT_READFUNCTION, &read_body);
            curl_easy_setopt(c, CURLOPT_READDATA, &feed);
            curl_easy_setopt(
                c,
                request.method == M::put ? CURLOPT_INFILESIZE_LARGE : CURLOPT_POSTFIELDSIZE_LARGE,
                static_cast<curl_off_t>(feed_size));
        } else {
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.reveal().data());
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                             static_cast<curl_off_t>(request.body.size()));
        }
    } else if (request.method == M::del) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    HeaderSink header_sink;
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &read_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &header_sink);

    const CURLcode rc = curl_easy_perform(c);
    if (feed.error) return *feed.error;
    if (rc != CURLE_OK) return map_curl_error(rc, c, errbuf, options_, request.url, sink);

    HttpResponse response;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
    if (char* type = nullptr;
        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type != nullptr)
        response.content_type = type;
    response.body = Secret(std::move(sink.body));
    response.retry_after = std::move(header_sink.retry_after);
    response.location = std::move(header_sink.location);
    return response;
}

}  // namespace pb::oauth
