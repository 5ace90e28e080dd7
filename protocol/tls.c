#include "tls.h"

#include <arpa/inet.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "alloc.h"
#include "base64.h"
#include "err.h"
#include "log.h"
#include "util.h"

struct proto_tls {
    SSL *ssl;  /* owned; owns rbio and wbio */
    BIO *rbio; /* borrowed from ssl: ciphertext in */
    BIO *wbio; /* borrowed from ssl: ciphertext out */
    uint8_t *pin; /* owned: the SPKI required of the leaf, or NULL */
    size_t pin_len;
    bool pin_failed;           /* the verify callback rejected the leaf */
    uint8_t *peer_spki;        /* owned: the leaf's SPKI DER, once seen */
    size_t peer_spki_len;
    char peer_fp[PROTO_TLS_FP_LEN];
    char verify_host[256];
};

/* Put OpenSSL's first queued error (or what) into err and clear the queue. */
static int
ssl_fail(struct ag_err *err, int code, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[120] = "";

    if (e != 0) {
        ERR_error_string_n(e, buf, sizeof(buf));
    }
    ERR_clear_error();
    return ag_err_set(err, code, 0, "%s%s%s", what, buf[0] != '\0' ? ": " : "", buf);
}

static int
spki_der(X509 *cert, uint8_t **out, size_t *out_len)
{
    X509_PUBKEY *pk = X509_get_X509_PUBKEY(cert);
    unsigned char *der = NULL;
    int n;

    if (pk == NULL) {
        return AG_EPROTO;
    }
    n = i2d_X509_PUBKEY(pk, &der);
    if (n <= 0) {
        return AG_EPROTO;
    }
    *out = ag_malloc((size_t)n);
    if (*out == NULL) {
        OPENSSL_free(der);
        return AG_ENOMEM;
    }
    memcpy(*out, der, (size_t)n);
    *out_len = (size_t)n;
    OPENSSL_free(der);
    return 0;
}

/* JNLP4 verification (transport.md 4.6): only the leaf's public key counts. */
static int
on_verify_pinned(X509_STORE_CTX *xs, void *arg)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct proto_tls *t = ssl != NULL ? SSL_get_app_data(ssl) : NULL;
    X509 *leaf = X509_STORE_CTX_get0_cert(xs);

    (void)arg;
    if (t == NULL || leaf == NULL) {
        return 0;
    }
    ag_free(t->peer_spki);
    t->peer_spki = NULL;
    if (spki_der(leaf, &t->peer_spki, &t->peer_spki_len) != 0) {
        t->pin_failed = true;
        return 0;
    }
    proto_tls_fingerprint(t->peer_spki, t->peer_spki_len, t->peer_fp);
    if (t->pin == NULL || t->pin_len != t->peer_spki_len ||
        !ag_mem_equal_ct(t->pin, t->peer_spki, t->pin_len)) {
        t->pin_failed = true;
        return 0;
    }
    return 1;
}

static int
ctx_base(SSL_CTX **out, struct ag_err *err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (ctx == NULL) {
        return ssl_fail(err, AG_ENOMEM, "cannot create a TLS context");
    }
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        SSL_CTX_free(ctx);
        return ssl_fail(err, AG_EINTERNAL, "cannot require TLS 1.2");
    }
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS);
    *out = ctx;
    return 0;
}

int
proto_tls_ctx_new_jnlp4(SSL_CTX **out, struct ag_err *err)
{
    SSL_CTX *ctx = NULL;
    int rc = ctx_base(&ctx, err);

    if (rc != 0) {
        return rc;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_cert_verify_callback(ctx, on_verify_pinned, NULL);
    *out = ctx;
    return 0;
}

int
proto_tls_ctx_new_https(const char *const *pems, size_t n, bool no_check, SSL_CTX **out,
                        struct ag_err *err)
{
    SSL_CTX *ctx = NULL;
    X509_STORE *store = NULL;
    size_t loaded = 0;
    int rc = ctx_base(&ctx, err);

    if (rc != 0) {
        return rc;
    }
    if (no_check) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        *out = ctx;
        return 0;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (n == 0) {
        if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
            AG_LOG_WARN("tls", "cannot load the system trust store");
            ERR_clear_error();
        }
        *out = ctx;
        return 0;
    }
    /* -cert replaces the trust store (transport.md 3.9). */
    store = X509_STORE_new();
    if (store == NULL) {
        SSL_CTX_free(ctx);
        return ssl_fail(err, AG_ENOMEM, "cannot create a certificate store");
    }
    for (size_t i = 0; i < n; i++) {
        BIO *bio = BIO_new_mem_buf(pems[i], -1);
        X509 *x = NULL;
        size_t here = 0;

        if (bio == NULL) {
            continue;
        }
        while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
            if (X509_STORE_add_cert(store, x) == 1) {
                here++;
            }
            X509_free(x);
        }
        ERR_clear_error();
        BIO_free(bio);
        if (here == 0) {
            AG_LOG_WARN("tls", "-cert value %zu holds no readable PEM certificate; skipped",
                        i + 1);
        }
        loaded += here;
    }
    if (loaded == 0) {
        X509_STORE_free(store);
        SSL_CTX_free(ctx);
        return ag_err_set(err, AG_EUSAGE, 0, "no certificate could be read from -cert");
    }
    SSL_CTX_set_cert_store(ctx, store); /* ctx owns store now */
    *out = ctx;
    return 0;
}

int
proto_tls_identity_decode(const char *b64, size_t len, uint8_t **der, size_t *der_len,
                          struct ag_err *err)
{
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    const unsigned char *p;
    EVP_PKEY *key = NULL;
    unsigned char *canon = NULL;
    int n;
    int rc;

    *der = NULL;
    *der_len = 0;
    if (len == 0) {
        return ag_err_set(err, AG_EPROTO, 0, "the instance identity is empty");
    }
    if (len > ag_base64_encoded_len(PROTO_TLS_MAX_SPKI)) {
        return ag_err_set(err, AG_EPROTO, 0, "instance identity of %zu characters exceeds %zu",
                          len, ag_base64_encoded_len(PROTO_TLS_MAX_SPKI));
    }
    raw = ag_malloc(ag_base64_decoded_max(len) + 1);
    if (raw == NULL) {
        return AG_ENOMEM;
    }
    rc = ag_base64_decode(b64, len, raw, ag_base64_decoded_max(len) + 1, &raw_len, err);
    if (rc != 0) {
        goto out;
    }
    p = raw;
    key = d2i_PUBKEY(NULL, &p, (long)raw_len);
    if (key == NULL || p != raw + raw_len) {
        ERR_clear_error();
        rc = ag_err_set(err, AG_EPROTO, 0, "instance identity is not a DER SubjectPublicKeyInfo");
        goto out;
    }
    if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
        rc = ag_err_set(err, AG_EPROTO, 0, "instance identity is not an RSA key (type %d)",
                        EVP_PKEY_base_id(key));
        goto out;
    }
    n = i2d_PUBKEY(key, &canon);
    if (n <= 0) {
        rc = ssl_fail(err, AG_EPROTO, "cannot re-encode the instance identity");
        goto out;
    }
    *der = ag_malloc((size_t)n);
    if (*der == NULL) {
        rc = AG_ENOMEM;
        goto out;
    }
    memcpy(*der, canon, (size_t)n);
    *der_len = (size_t)n;
    rc = 0;
out:
    OPENSSL_free(canon);
    EVP_PKEY_free(key);
    ag_free(raw);
    return rc;
}

void
proto_tls_fingerprint(const uint8_t *spki, size_t len, char out[PROTO_TLS_FP_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    if (spki == NULL || EVP_Digest(spki, len, md, &md_len, EVP_md5(), NULL) != 1 ||
        md_len != 16) {
        ERR_clear_error();
        memcpy(out, "null", 5);
        return;
    }
    for (unsigned int i = 0; i < md_len; i++) {
        if (i > 0) {
            out[o++] = ':';
        }
        out[o++] = hex[md[i] >> 4];
        out[o++] = hex[md[i] & 15];
    }
    out[o] = '\0';
}

bool
proto_tls_host_is_ip(const char *host)
{
    unsigned char buf[16];

    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

int
proto_tls_new(SSL_CTX *ctx, const char *sni, const char *verify_host, const uint8_t *pin,
              size_t pin_len, struct proto_tls **out, struct ag_err *err)
{
    struct proto_tls *t = ag_calloc(1, sizeof(*t));
    int rc = AG_ENOMEM;

    if (t == NULL) {
        goto out;
    }
    t->ssl = SSL_new(ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (t->ssl == NULL || t->rbio == NULL || t->wbio == NULL) {
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        t->rbio = NULL;
        t->wbio = NULL;
        rc = ssl_fail(err, AG_ENOMEM, "cannot create a TLS session");
        goto out;
    }
    BIO_set_mem_eof_return(t->rbio, -1);
    SSL_set_bio(t->ssl, t->rbio, t->wbio); /* ssl owns both BIOs now */
    SSL_set_app_data(t->ssl, t);
    SSL_set_connect_state(t->ssl);
    if (pin != NULL) {
        t->pin = ag_malloc(pin_len);
        if (t->pin == NULL) {
            goto out;
        }
        memcpy(t->pin, pin, pin_len);
        t->pin_len = pin_len;
    }
    if (sni != NULL && sni[0] != '\0' && SSL_set_tlsext_host_name(t->ssl, sni) != 1) {
        rc = ssl_fail(err, AG_EUSAGE, "invalid TLS server name");
        goto out;
    }
    if (verify_host != NULL && verify_host[0] != '\0') {
        if (ag_snprintf(t->verify_host, sizeof(t->verify_host), "%s", verify_host) != 0) {
            rc = ag_err_set(err, AG_EUSAGE, 0, "host name of %zu bytes is too long",
                            strlen(verify_host));
            goto out;
        }
        if (proto_tls_host_is_ip(verify_host)) {
            if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), verify_host) != 1) {
                rc = ssl_fail(err, AG_EUSAGE, "cannot verify the IP address");
                goto out;
            }
        } else if (SSL_set1_host(t->ssl, verify_host) != 1) {
            rc = ssl_fail(err, AG_EUSAGE, "cannot verify the host name");
            goto out;
        }
    }
    *out = t;
    t = NULL;
    rc = 0;
out:
    proto_tls_free(t);
    return rc;
}

void
proto_tls_free(struct proto_tls *t)
{
    if (t == NULL) {
        return;
    }
    SSL_free(t->ssl);
    ag_free(t->pin);
    ag_free(t->peer_spki);
    ag_free(t);
}

int
proto_tls_feed(struct proto_tls *t, const uint8_t *p, size_t n, struct ag_err *err)
{
    while (n > 0) {
        int chunk = n > 0x40000000u ? 0x40000000 : (int)n;
        int w = BIO_write(t->rbio, p, chunk);

        if (w <= 0) {
            return ssl_fail(err, AG_ENOMEM, "cannot buffer TLS input");
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

void
proto_tls_feed_eof(struct proto_tls *t)
{
    BIO_set_mem_eof_return(t->rbio, 0);
}

int
proto_tls_handshake(struct proto_tls *t, struct ag_err *err)
{
    int r = SSL_do_handshake(t->ssl);
    int e;

    if (r == 1) {
        return 0;
    }
    e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        return 1;
    }
    if (t->pin_failed) {
        ERR_clear_error();
        return ag_err_set(err, AG_EREFUSED, 0,
                          "the public key of the controller's certificate (%s) is not the "
                          "instance identity",
                          t->peer_fp[0] != '\0' ? t->peer_fp : "unreadable");
    }
    if (SSL_get_verify_result(t->ssl) != X509_V_OK) {
        long v = SSL_get_verify_result(t->ssl);

        ERR_clear_error();
        return ag_err_set(err, AG_EREFUSED, 0, "certificate verification failed: %s%s%s",
                          X509_verify_cert_error_string(v),
                          v == X509_V_ERR_HOSTNAME_MISMATCH ? " for " : "",
                          v == X509_V_ERR_HOSTNAME_MISMATCH ? t->verify_host : "");
    }
    if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN) {
        if (ERR_peek_error() == 0) {
            return ag_err_set(err, AG_ECLOSED, 0, "connection closed during the TLS handshake");
        }
    }
    return ssl_fail(err, AG_EPROTO, "TLS handshake failed");
}

int
proto_tls_write(struct proto_tls *t, const uint8_t *p, size_t n, struct ag_err *err)
{
    while (n > 0) {
        size_t done = 0;
        int r = SSL_write_ex(t->ssl, p, n, &done);

        if (r != 1) {
            return ssl_fail(err, AG_EPROTO, "TLS write failed");
        }
        p += done;
        n -= done;
    }
    return 0;
}

ssize_t
proto_tls_read(struct proto_tls *t, uint8_t *buf, size_t cap, struct ag_err *err)
{
    size_t got = 0;
    int r = SSL_read_ex(t->ssl, buf, cap, &got);
    int e;

    if (r == 1) {
        return (ssize_t)got;
    }
    e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        return 0;
    }
    if (e == SSL_ERROR_ZERO_RETURN) {
        return ag_err_set(err, AG_ECLOSED, 0, "the peer closed the TLS session");
    }
    if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
        return ag_err_set(err, AG_ECLOSED, 0, "connection closed without a TLS close_notify");
    }
    return ssl_fail(err, AG_EPROTO, "TLS read failed");
}

size_t
proto_tls_out_pending(const struct proto_tls *t)
{
    return BIO_ctrl_pending(t->wbio);
}

int
proto_tls_take_out(struct proto_tls *t, struct ag_buf *out, size_t max)
{
    size_t n = BIO_ctrl_pending(t->wbio);
    int rc;
    int r;

    if (n > max) {
        n = max;
    }
    if (n == 0) {
        return 0;
    }
    if (n > 0x40000000u) {
        n = 0x40000000u;
    }
    rc = ag_buf_reserve(out, n);
    if (rc != 0) {
        return rc;
    }
    r = BIO_read(t->wbio, out->data + out->len, (int)n);
    if (r > 0) {
        out->len += (size_t)r;
    }
    return 0;
}

void
proto_tls_shutdown(struct proto_tls *t)
{
    (void)SSL_shutdown(t->ssl); /* queues close_notify; we do not wait for the peer's */
    ERR_clear_error();
}

int
proto_tls_peer_spki(struct proto_tls *t, const uint8_t **der, size_t *len)
{
    if (t->peer_spki == NULL) {
        X509 *peer = SSL_get0_peer_certificate(t->ssl);

        if (peer == NULL) {
            return AG_EPROTO;
        }
        if (spki_der(peer, &t->peer_spki, &t->peer_spki_len) != 0) {
            return AG_EPROTO;
        }
        proto_tls_fingerprint(t->peer_spki, t->peer_spki_len, t->peer_fp);
    }
    *der = t->peer_spki;
    *len = t->peer_spki_len;
    return 0;
}

const char *
proto_tls_peer_fingerprint(const struct proto_tls *t)
{
    return t->peer_fp[0] != '\0' ? t->peer_fp : "null";
}

const char *
proto_tls_version(const struct proto_tls *t)
{
    return SSL_get_version(t->ssl);
}

const char *
proto_tls_cipher(const struct proto_tls *t)
{
    const char *c = SSL_get_cipher_name(t->ssl);

    return c != NULL ? c : "none";
}
