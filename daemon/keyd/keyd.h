/* daemon/keyd/keyd.h — the key process: the only holder of DKIM/ARC private keys; signs digests. */
#ifndef MAILVETD_KEYD_H
#define MAILVETD_KEYD_H

#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>

#include <mailvet/dkim.h>
#include <mailvet/status.h>

/*
 * The protocol between the worker (client) and the key process (server),
 * over SOCK_SEQPACKET socketpairs: one request, one reply, each one record
 * that also carries its own length. All integers big-endian.
 *
 * request: u16 length, u8 version (1), u8 op, u32 seq, u8 alg, u8 zero,
 *          u16 id length, 32 bytes digest (SIGN: the digest to sign;
 *          TLS_SIGN: the SHA-256 of the key's public key, the DER that
 *          TLS_INFO sent; zero for INFO and TLS_INFO), the
 *          key id (the key file's path: 1..MVD_KEYD_MAX_ID bytes, no NUL),
 *          then for TLS_SIGN only the input: the rest of the record,
 *          1..MVD_KEYD_MAX_TLS_IN bytes
 * reply:   u16 length, u8 version (1), u8 status, u32 seq, u8 alg, u8 zero,
 *          u16 data length, u32 bits, the data (status OK only: SIGN and
 *          TLS_SIGN, the signature; INFO and TLS_INFO, the public key as DER
 *          SubjectPublicKeyInfo)
 *
 * The key process never receives message bytes: only a digest to sign, or
 * for a TLS handshake the block its private-key operation works on.
 *
 * DKIM/ARC keys (SIGN, INFO) and TLS keys (TLS_SIGN, TLS_INFO) are two
 * separate sets even when one file is in both: a key does only the one job
 * the configuration gave it, so a worker in an attacker's hands can never
 * turn a DKIM key into a raw RSA oracle, nor sign mail with a TLS key.
 */
#define MVD_KEYD_VERSION 1
#define MVD_KEYD_MAX_ID 1024
#define MVD_KEYD_REQ_HEAD 44
#define MVD_KEYD_REP_HEAD 16
#define MVD_KEYD_MAX_TLS_IN 1024 /* an 8192-bit modulus */
#define MVD_KEYD_MIN_TLS_IN 20   /* a SHA-1 digest, the shortest TLS 1.2 may sign */
#define MVD_KEYD_MAX_REQ (MVD_KEYD_REQ_HEAD + MVD_KEYD_MAX_ID + MVD_KEYD_MAX_TLS_IN)
#define MVD_KEYD_MAX_DATA 2048 /* an 8192-bit RSA public key's SPKI is ~1,060 bytes */
#define MVD_KEYD_MAX_REP (MVD_KEYD_REP_HEAD + MVD_KEYD_MAX_DATA)
/*
 * Socketpairs between worker and key process, one server thread each: more
 * than the signing threads that usually run at once, so a caller seldom
 * waits for a free one (issue 17).
 */
#define MVD_KEYD_SOCKETS 8

enum mvd_keyd_op {
	MVD_KEYD_SIGN = 1, /* sign digest with key id, which must be of algorithm alg */
	MVD_KEYD_INFO = 2, /* the algorithm and size of key id (alg is ignored, sent 0) */
	/*
	 * The private-key operation of a TLS handshake with TLS key id, whose
	 * kind must be alg: MVD_KEYD_TLS_RSA, the raw RSA private operation on
	 * an input of exactly the modulus's size that is a PKCS#1 v1.5 or PSS
	 * signature encoding (OpenSSL pads in the worker; anything else, a
	 * ciphertext, is refused); MVD_KEYD_TLS_EC, an ECDSA signature (DER) of the
	 * input, a digest of MVD_KEYD_MIN_TLS_IN..64 bytes. The digest field
	 * names the key's public half: the key of the load before still
	 * answers for the worker's contexts made before a reload.
	 */
	MVD_KEYD_TLS_SIGN = 3,
	MVD_KEYD_TLS_INFO = 4, /* like INFO, of TLS key id; the reply's alg is its kind */
};

/* The kinds of TLS key (the alg byte of the TLS ops), apart from enum mv_dkim_alg's values. */
enum mvd_keyd_tls_kind {
	MVD_KEYD_TLS_RSA = 0x10,
	MVD_KEYD_TLS_EC = 0x11,
};

enum mvd_keyd_status {
	MVD_KEYD_OK = 0,
	MVD_KEYD_UNKNOWN_KEY = 1, /* no key loaded from that file */
	MVD_KEYD_WRONG_ALG = 2,   /* the key is not of the algorithm asked */
	MVD_KEYD_FAILED = 3,      /* the signature operation failed */
	MVD_KEYD_BAD_REQUEST = 4, /* the request did not parse */
};

struct mvd_keyd_req {
	uint8_t op;
	uint32_t seq;
	uint8_t alg; /* enum mv_dkim_alg */
	unsigned char digest[32];
	char id[MVD_KEYD_MAX_ID + 1]; /* NUL-terminated */
	size_t idlen;
	unsigned char in[MVD_KEYD_MAX_TLS_IN]; /* TLS_SIGN's input */
	size_t inlen;                          /* 0 for every other op */
};

struct mvd_keyd_rep {
	uint8_t status;
	uint32_t seq;
	uint8_t alg;
	uint32_t bits;
	unsigned char sig[MVD_KEYD_MAX_DATA]; /* the signature, or INFO's public key */
	size_t siglen;
};

/*
 * Encode r into buf (at least MVD_KEYD_MAX_REQ / MVD_KEYD_MAX_REP bytes);
 * returns the length, 0 when r is out of range (id too long or empty,
 * signature too long).
 */
size_t mvd_keyd_req_encode(const struct mvd_keyd_req *r, unsigned char *buf);
size_t mvd_keyd_rep_encode(const struct mvd_keyd_rep *r, unsigned char *buf);

/*
 * Parse one record of n bytes, strictly: the length field equals n, the
 * version is ours, op/status and alg are known, the zero bytes are zero, the
 * id has no NUL, the digest of INFO and TLS_INFO is zero, only TLS_SIGN
 * has an input, lengths within their limits.
 * MV_OK, or MV_ESYNTAX / MV_ETOOBIG (and *out is not to be used).
 */
enum mv_status mvd_keyd_req_parse(const unsigned char *p, size_t n, struct mvd_keyd_req *out);
enum mv_status mvd_keyd_rep_parse(const unsigned char *p, size_t n, struct mvd_keyd_rep *out);

/* ---- The channel: socketpairs made by main before the supervisor forks ---- */

/* Make the socketpairs (close-on-exec). 0, or -1 with errno. */
int mvd_keyd_channel_open(void);
/*
 * CPU groups (daemon/keyd/cpu.c): socket i serves the CPUs c with
 * c % groups == i % groups. mvd_keyd_groups: the number of groups (the CPUs,
 * at most MVD_KEYD_SOCKETS); mvd_keyd_current_group: the calling thread's
 * group, -1 if unknown; mvd_keyd_bind_thread: bind a key-process thread to
 * its socket's group's CPUs (0, or -1 when there is nothing to bind to).
 */
unsigned mvd_keyd_groups(void);
int mvd_keyd_current_group(unsigned groups);
int mvd_keyd_bind_thread(pthread_t t, unsigned socket, unsigned groups);
/* The CPUs socket's thread is bound to: allowed's CPUs of its group, in out; 0 if none. */
int mvd_keyd_group_cpus(unsigned socket, unsigned groups, const cpu_set_t *allowed, cpu_set_t *out);
/* In the key process: close the worker's ends; the server's fds in fds[MVD_KEYD_SOCKETS]. */
void mvd_keyd_channel_server(int *fds);
/* In the worker: close the key process's ends; the client's fds in fds[MVD_KEYD_SOCKETS]. */
void mvd_keyd_channel_client(int *fds);

/* ---- The key process (an mvd_worker_fn of the supervisor; arg: the configuration path) ---- */

/*
 * Load the signing keys of the configuration (every [domain] key, every key
 * table version, the key directory), then answer requests until ctl_fd
 * says stop or closes. One status byte goes to ready_fd after each load (0:
 * loaded; else the running keys stay); MVD_CTL_RELOAD on ctl_fd loads again.
 * The first load failing ends the process with status 1.
 */
int mvd_keyd_main(int ctl_fd, int ready_fd, void *arg);

/*
 * Read the configuration at path and load its keys, DKIM/ARC and TLS; NULL
 * (logged) when that fails. The key process's (re)load, and the unit tests'.
 */
struct mvd_keyd_keys;
struct mvd_keyd_keys *mvd_keyd_keys_load(const char *path);
void mvd_keyd_keys_free(struct mvd_keyd_keys *k); /* NULL is fine */
/*
 * After loading nk to replace old: old's TLS keys answer on through nk
 * (mvd_keyd_tls_carry). old is only read: other threads may still be
 * signing with it.
 */
void mvd_keyd_keys_carry(struct mvd_keyd_keys *nk, const struct mvd_keyd_keys *old);

/*
 * Answer one request record of n bytes with the keys of the loaded set
 * (the server's core, and what the fuzz target drives): writes the reply to
 * out (MVD_KEYD_MAX_REP bytes) and returns its length.
 */
size_t mvd_keyd_answer(const struct mvd_keyd_keys *k, const unsigned char *req, size_t n,
                       unsigned char *out);

/*
 * The TLS keys: the tls_key of every [listener] that names one, read at
 * each (re)load with the DKIM keys, indexed by path apart from them.
 */
struct mvd_config;
struct mvd_keyd_tls;
enum mv_status mvd_keyd_tls_load(const struct mvd_config *cfg, struct mvd_keyd_tls **out, char *err,
                                 size_t errlen);
void mvd_keyd_tls_free(struct mvd_keyd_tls *t);
/*
 * At a reload: old's own keys (the set loaded before; not the one before
 * that) stay usable by TLS_SIGN through t, which shares them. old is left
 * as it was. 0, or -1 when out of memory (t then answers for its own keys only).
 */
int mvd_keyd_tls_carry(struct mvd_keyd_tls *t, const struct mvd_keyd_tls *old);
size_t mvd_keyd_tls_count(const struct mvd_keyd_tls *t);
/* Answer TLS_SIGN or TLS_INFO request r (parsed) into rep (zeroed, seq set). */
void mvd_keyd_tls_answer(const struct mvd_keyd_tls *t, const struct mvd_keyd_req *r,
                         struct mvd_keyd_rep *rep);

/*
 * Install the key process's system-call filter on every thread (libseccomp):
 * its I/O, memory, locks and the file reads of a reload are allowed, any
 * other call fails with EPERM, and execve, execveat, fork, vfork, clone of a
 * process (not a thread), ptrace and process_vm_* kill the process. 0, or
 * -1 with the reason in err.
 */
int mvd_keyd_sandbox(char *err, size_t errlen);

/* ---- The worker's side ---- */

/*
 * Attach the worker to the key process: from now on every key file the
 * configuration names is opened through it (mvd_keyfile_set_remote), and
 * signing goes through mvd_keyd_signer(). Call before any configuration load.
 */
void mvd_keyd_client_attach(void);

/*
 * mvd_keyfile_remote_fn: ask the key process for key path's algorithm and
 * size and return a key that signs through it. MV_ENOTFOUND (the key
 * process has no such key), MV_ETEMP (it does not answer).
 */
enum mv_status mvd_keyd_open_key(const char *path, struct mv_dkim_signkey **out, char *why,
                                 size_t whylen);

/*
 * One round trip on the channel (thread-safe: each socket has a lock; a
 * caller takes the one it had last if free, else another free one). Waits at most timeout_ms for the reply with
 * r->seq, discarding stale ones; MV_ETEMP when none came, MV_EIO when the
 * channel is broken.
 */
enum mv_status mvd_keyd_call(struct mvd_keyd_req *r, struct mvd_keyd_rep *rep, int timeout_ms);

/*
 * mvd_keyd_call for a caller on an event loop, which must not stall: waiting
 * for a free socket counts against timeout_ms, and once a call got no answer
 * (the key process is down or stuck) until one gets an answer, only one
 * call in 500 ms asks, waiting at most 50 ms; the others return MV_ETEMP at
 * once. A TLS handshake then fails fast instead of stopping every session
 * of the loop for the timeout.
 */
enum mv_status mvd_keyd_call_loop(struct mvd_keyd_req *r, struct mvd_keyd_rep *rep, int timeout_ms);

#endif
