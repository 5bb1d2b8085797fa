// SASL mechanisms: XOAUTH2 (Google / Microsoft), OAUTHBEARER (RFC 7628),
// PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login).
#include "smtp/sasl.hpp"

#include <openssl/crypto.h>

#include <array>

#include "core/encoding.hpp"

namespace pb::smtp {

namespace {

// The raw blob holds the token or password in clear: wipe it once encoded.
Secret encode_and_wipe(std::string raw) {
    Secret s(base64_encode(raw));
    OPENSSL_cleanse(raw.data(), raw.size());
    return s;
}

class Xoauth2 final : public Mechanism {
  public:
    explicit Xoauth2(SaslCredentials c) : c_(std::move(c)) {}
    std::string_view name() const noexcept override { return "XOAUTH2"; }
    std::string_view error_ack() const noexcept override { return ""; }
    bool uses_token() const noexcept override { return true; }

  protected:
    std::string raw_response(int) const override {
        return xoauth2_blob(c_.user, c_.secret.reveal());
    }

  private:
    SaslCredentials c_;
};

class OAuthBearer final : public Mechanism {
  public:
    explicit OAuthBearer(SaslCredentials c) : c_(std::move(c)) {}
    std::string_view name() const noexcept override { return "OAUTHBEARER"; }
    std::string_view error_ack() const noexcept override { return "AQ=="; }
    bool uses_token() const noexcept override { return true; }

  protected:
    std::string raw_response(int) const override {
        return oauthbearer_blob(c_.user, c_.host, c_.port, c_.secret.reveal());
    }

  private:
    SaslCredentials c_;
};

class Plain final : public Mechanism {
  public:
    explicit Plain(SaslCredentials c) : c_(std::move(c)) {}
    std::string_view name() const noexcept override { return "PLAIN"; }

  protected:
    std::string raw_response(int) const override {
        // Empty authzid: act as the authenticated user.
        std::string raw;
        raw.reserve(c_.user.size() + c_.secret.size() + 2);
        raw.append(1, '\0').append(c_.user).append(1, '\0').append(c_.secret.reveal());
        return raw;
    }

  private:
    SaslCredentials c_;
};

class Login final : public Mechanism {
  public:
    explicit Login(SaslCredentials c) : c_(std::move(c)) {}
    std::string_view name() const noexcept override { return "LOGIN"; }
    bool has_initial_response() const noexcept override { return false; }

  protected:
    int responses() const noexcept override { return 2; }
    // The prompts' text varies between servers ("Username:", "username");
    // their order does not.
    std::string raw_response(int index) const override {
        return index == 0 ? c_.user : std::string(c_.secret.reveal());
    }

  private:
    SaslCredentials c_;
};

}  // namespace

Secret Mechanism::encode(int index) const {
    return encode_and_wipe(raw_response(index));
}

std::string xoauth2_blob(std::string_view user, std::string_view token) {
    std::string s;
    s.reserve(user.size() + token.size() + 20);
    s.append("user=")
        .append(user)
        .append(
            "\x01"
            "auth=Bearer ")
        .append(token)
        .append("\x01\x01");
    return s;
}

std::string oauthbearer_blob(std::string_view user, std::string_view host, std::uint16_t port,
                             std::string_view token) {
    // RFC 7628 3.1: gs2 header "n,a=user," then key=value pairs; ',' and '='
    // in the authzid are escaped as =2C and =3D (RFC 5801 5.1).
    std::string s = "n,a=";
    for (const char c : user) {
        if (c == ',')
            s += "=2C";
        else if (c == '=')
            s += "=3D";
        else
            s += c;
    }
    s += ",\x01";
    if (!host.empty()) s.append("host=").append(host).append("\x01");
    if (port != 0) s.append("port=").append(std::to_string(port)).append("\x01");
    s.append("auth=Bearer ").append(token).append("\x01\x01");
    return s;
}

std::unique_ptr<Mechanism> make_mechanism(std::string_view name, SaslCredentials c) {
    if (name == "XOAUTH2") return std::make_unique<Xoauth2>(std::move(c));
    if (name == "OAUTHBEARER") return std::make_unique<OAuthBearer>(std::move(c));
    if (name == "PLAIN") return std::make_unique<Plain>(std::move(c));
    if (name == "LOGIN") return std::make_unique<Login>(std::move(c));
    return nullptr;
}

Result<std::string_view> choose_mechanism(AuthMethod method, const Capabilities& caps) {
    static constexpr std::array<std::string_view, 2> oauth{"XOAUTH2", "OAUTHBEARER"};
    static constexpr std::array<std::string_view, 2> password{"PLAIN", "LOGIN"};
    const auto& wanted = method == AuthMethod::oauth2 ? oauth : password;
    for (const auto m : wanted)
        if (caps.offers_auth(m)) return m;
    std::string offered;
    for (const auto& m : caps.auth) offered += (offered.empty() ? "" : " ") + m;
    return fail(Errc::no_common_mechanism,
                std::string("the server offers ") +
                    (offered.empty() ? "no AUTH mechanism" : "AUTH " + offered) + "; " +
                    (method == AuthMethod::oauth2 ? "OAuth 2.0 needs XOAUTH2 or OAUTHBEARER"
                                                  : "SMTP-AUTH needs PLAIN or LOGIN"));
}

Secret auth_command(Mechanism& mech, const SaslProtocol& protocol) {
    std::string line = "AUTH ";
    line += mech.name();
    if (mech.has_initial_response()) {
        const Secret ir = mech.initial_response();
        const std::string_view resp = ir.empty() ? protocol.empty_response : ir.reveal();
        if (line.size() + 1 + resp.size() + 2 <= protocol.max_line) {
            line.append(" ").append(resp).append("\r\n");
            mech.initial_sent();
            return Secret(std::move(line));
        }
    }
    line += "\r\n";
    return Secret(std::move(line));
}

}  // namespace pb::smtp
