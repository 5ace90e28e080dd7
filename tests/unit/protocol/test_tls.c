/* TLS over memory BIOs (protocol/tls.c): instance identity decoding and fingerprints, and a
 * real handshake against an in-process OpenSSL server: accepted when the leaf's key is the
 * pinned identity, refused otherwise; data both ways; HTTPS contexts with -cert. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "alloc.h"
#include "base64.h"
#include "buf.h"
#include "err.h"
#include "harness.h"
#include "tls.h"

#define GOLDEN_IDENT                                                                              \
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1ZvCf2TFkfG6M/Q2If5fW1T/p7u2zHVrOaXmP80qDfdwB7Fi" \
    "iLiNyhvKhjfFdJu5pBjWkYgrYRqq2yXBLp8VhRH3WSGILVJWK6hBm1Hy4Q7ZJoPMXo0JWUNn+8A+mRyJH5HyKDfqxKqf" \
    "28NJ5Mms4VyFFPOb0HQtH+79UksV3FYSYpRMdRqvXF+M90zZFaCGqEA97BxdEVKmr5yEu0oVuwjaBVzn21bNn3hgfpEH" \
    "GYhMM5kyDLdLgtY6ZJv0QaKr2i832+CEc5I6U9CCG/CB++6Gl6R71J/mR8cMaTvrYbNEpfwcdAHMYbCTb8ugiHJ0X1It" \
    "LmpZ4k63biyNAPAwlQIDAQAB"

T_TEST(test_identity)
{
    uint8_t *der = NULL;
    size_t len = 0;
    struct ag_err err = {0};
    char fp[PROTO_TLS_FP_LEN];

    T_EQ_INT(proto_tls_identity_decode(GOLDEN_IDENT, strlen(GOLDEN_IDENT), &der, &len, &err), 0);
    T_EQ_U64(len, 294);
    proto_tls_fingerprint(der, len, fp);
    T_EQ_STR(fp, "cc:64:00:4e:da:7b:72:72:09:85:92:77:db:5e:6c:d7");
    ag_free(der);
    T_EQ_INT(proto_tls_identity_decode("", 0, &der, &len, &err), AG_EPROTO);
    T_EQ_INT(proto_tls_identity_decode("AAAA", 4, &der, &len, &err), AG_EPROTO);
    T_EQ_INT(proto_tls_identity_decode("not base64", 10, &der, &len, &err), AG_EPROTO);
    /* a line break inside the base64 is not accepted */
    {
        char broken[600];

        (void)snprintf(broken, sizeof(broken), "%.64s\n%s", GOLDEN_IDENT, GOLDEN_IDENT + 64);
        T_EQ_INT(proto_tls_identity_decode(broken, strlen(broken), &der, &len, &err), AG_EPROTO);
    }
    /* an EC key is not an RSA key */
    {
        EVP_PKEY *ec = EVP_EC_gen("P-256");
        unsigned char *d = NULL;
        int n = i2d_PUBKEY(ec, &d);
        char b64[400];

        T_CHECK(n > 0 && ag_base64_encode(d, (size_t)n, b64, sizeof(b64)) == 0);
        T_EQ_INT(proto_tls_identity_decode(b64, strlen(b64), &der, &len, &err), AG_EPROTO);
        T_CHECK(strstr(err.msg, "not an RSA key") != NULL);
        OPENSSL_free(d);
        EVP_PKEY_free(ec);
    }
    proto_tls_fingerprint(NULL, 0, fp);
    T_EQ_STR(fp, "null");
}

struct server {
    SSL_CTX *ctx;
    SSL *ssl;
    BIO *in;  /* what the client sent */
    BIO *out; /* what the server sends */
    EVP_PKEY *key;
    X509 *cert;
};

static X509 *
self_signed(EVP_PKEY *key, const char *cn)
{
    X509 *x = X509_new();
    X509_NAME *name;

    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_sign(x, key, EVP_sha256());
    return x;
}

static void
server_init(struct server *s, EVP_PKEY *key, X509 *cert)
{
    memset(s, 0, sizeof(*s));
    s->ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(s->ctx, cert);
    SSL_CTX_use_PrivateKey(s->ctx, key);
    s->ssl = SSL_new(s->ctx);
    s->in = BIO_new(BIO_s_mem());
    s->out = BIO_new(BIO_s_mem());
    SSL_set_bio(s->ssl, s->in, s->out);
    SSL_set_accept_state(s->ssl);
}

static void
server_fini(struct server *s)
{
    SSL_free(s->ssl);
    SSL_CTX_free(s->ctx);
}

/* Move bytes both ways until the client's handshake completes or fails. */
static int
pump(struct proto_tls *c, struct server *s, struct ag_err *err)
{
    for (int round = 0; round < 50; round++) {
        struct ag_buf b;
        int rc = proto_tls_handshake(c, err);
        char tmp[16384];
        int n;

        ag_buf_init(&b, SIZE_MAX);
        if (proto_tls_take_out(c, &b, SIZE_MAX) != 0) {
            return AG_ENOMEM;
        }
        if (b.len > 0) {
            BIO_write(s->in, b.data, (int)b.len);
        }
        ag_buf_fini(&b);
        if (rc <= 0) {
            return rc;
        }
        (void)SSL_do_handshake(s->ssl);
        ERR_clear_error();
        while ((n = BIO_read(s->out, tmp, sizeof(tmp))) > 0) {
            if (proto_tls_feed(c, (const uint8_t *)tmp, (size_t)n, err) != 0) {
                return AG_ENOMEM;
            }
        }
    }
    return AG_ETIMEDOUT;
}

static void
spki_of(EVP_PKEY *key, uint8_t **der, size_t *len)
{
    unsigned char *d = NULL;
    int n = i2d_PUBKEY(key, &d);

    *der = ag_malloc((size_t)n);
    memcpy(*der, d, (size_t)n);
    *len = (size_t)n;
    OPENSSL_free(d);
}

T_TEST(test_pinned_handshake)
{
    EVP_PKEY *key = EVP_RSA_gen(2048);
    EVP_PKEY *other = EVP_RSA_gen(2048);
    X509 *cert = self_signed(key, "jenkins");
    SSL_CTX *ctx = NULL;
    struct ag_err err = {0};
    uint8_t *pin = NULL;
    uint8_t *wrong = NULL;
    size_t pin_len = 0;
    size_t wrong_len = 0;

    T_CHECK(key != NULL && other != NULL && cert != NULL);
    T_EQ_INT(proto_tls_ctx_new_jnlp4(&ctx, &err), 0);
    spki_of(key, &pin, &pin_len);
    spki_of(other, &wrong, &wrong_len);
    {
        struct server s;
        struct proto_tls *c = NULL;
        const uint8_t *peer = NULL;
        size_t peer_len = 0;
        uint8_t buf[64];
        char fp[PROTO_TLS_FP_LEN];
        ssize_t n;

        server_init(&s, key, cert);
        T_EQ_INT(proto_tls_new(ctx, NULL, NULL, pin, pin_len, &c, &err), 0);
        T_EQ_INT(pump(c, &s, &err), 0);
        T_EQ_INT(proto_tls_peer_spki(c, &peer, &peer_len), 0);
        T_EQ_MEM(peer, peer_len, pin, pin_len);
        proto_tls_fingerprint(pin, pin_len, fp);
        T_EQ_STR(proto_tls_peer_fingerprint(c), fp);
        /* data both ways */
        T_EQ_INT(proto_tls_write(c, (const uint8_t *)"hello", 5, &err), 0);
        {
            struct ag_buf b;
            char tmp[4096];
            int r;

            ag_buf_init(&b, SIZE_MAX);
            T_EQ_INT(proto_tls_take_out(c, &b, SIZE_MAX), 0);
            BIO_write(s.in, b.data, (int)b.len);
            ag_buf_fini(&b);
            r = SSL_read(s.ssl, tmp, sizeof(tmp));
            T_EQ_MEM(tmp, (size_t)(r > 0 ? r : 0), "hello", 5);
            T_EQ_INT(SSL_write(s.ssl, "world", 5), 5);
            while ((r = BIO_read(s.out, tmp, sizeof(tmp))) > 0) {
                T_EQ_INT(proto_tls_feed(c, (const uint8_t *)tmp, (size_t)r, &err), 0);
            }
        }
        n = proto_tls_read(c, buf, sizeof(buf), &err);
        T_EQ_MEM(buf, (size_t)(n > 0 ? n : 0), "world", 5);
        T_EQ_INT(proto_tls_read(c, buf, sizeof(buf), &err), 0);
        proto_tls_free(c);
        server_fini(&s);
    }
    {
        struct server s;
        struct proto_tls *c = NULL;

        server_init(&s, key, cert);
        T_EQ_INT(proto_tls_new(ctx, "jenkins.example", NULL, wrong, wrong_len, &c, &err), 0);
        T_EQ_INT(pump(c, &s, &err), AG_EREFUSED);
        T_CHECK(strstr(err.msg, "is not the instance identity") != NULL);
        proto_tls_free(c);
        server_fini(&s);
    }
    /* HTTPS: the certificate is trusted only through -cert, and the host name must match */
    {
        BIO *mem = BIO_new(BIO_s_mem());
        char *pem = NULL;
        long pl;
        char *copy;
        SSL_CTX *https = NULL;
        const char *pems[2];

        PEM_write_bio_X509(mem, cert);
        pl = BIO_get_mem_data(mem, &pem);
        copy = ag_strndup(pem, (size_t)pl);
        pems[0] = "garbage";
        pems[1] = copy;
        T_EQ_INT(proto_tls_ctx_new_https(pems, 2, false, &https, &err), 0);
        for (int k = 0; k < 2; k++) {
            struct server s;
            struct proto_tls *c = NULL;

            server_init(&s, key, cert);
            T_EQ_INT(proto_tls_new(https, NULL, k == 0 ? "jenkins" : "other", NULL, 0, &c, &err),
                     0);
            T_EQ_INT(pump(c, &s, &err), k == 0 ? 0 : AG_EREFUSED);
            if (k == 1) {
                T_CHECK(strstr(err.msg, "certificate verification failed") != NULL);
            }
            proto_tls_free(c);
            server_fini(&s);
        }
        SSL_CTX_free(https);
        pems[0] = "garbage";
        T_EQ_INT(proto_tls_ctx_new_https(pems, 1, false, &https, &err), AG_EUSAGE);
        ag_free(copy);
        BIO_free(mem);
    }
    ag_free(pin);
    ag_free(wrong);
    SSL_CTX_free(ctx);
    X509_free(cert);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other);
}

T_MAIN(T_CASE(test_identity), T_CASE(test_pinned_handshake))
