/* sk_stream_server: a TCP server in a loop. It accepts connections, applies
 * the access list and the limits before reading a byte, and serves each
 * client in one of the classic modes:
 *
 *   echo     every byte back (RFC 862)        discard  read and drop (RFC 863)
 *   chargen  the RFC 864 pattern, paced by    daytime  the time, then close
 *            the client's reading                      (RFC 867)
 *   reply    each message answered with "Received msg: MSG from ('IP', PORT)"
 *   chat     each message sent to every other client, prefixed "IP:PORT: "
 *   exec     /bin/sh -c CMD with the socket as its stdin and stdout, in a
 *            process group of its own: the group is killed after
 *            exec_timeout_ms, and told to stop (SIGTERM) when the server
 *            is freed or the shell exits. With TLS the command gets one end
 *            of a socketpair instead (plaintext; a command cannot speak
 *            TLS) and a relay joins the other end to the client's TLS
 *            conn: the command's end of output ends the session, as its
 *            closing the socket does without TLS
 *   handoff  the accepted fd is given to the caller (the CLI's relay mode)
 *
 * reply and chat read messages with a framer (line, len32 or raw). What the
 * server does is reported through an event callback, never printed. */
#ifndef SOCKIT_STREAM_H
#define SOCKIT_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#include <sockit/acl.h>
#include <sockit/frame.h>
#include <sockit/loop.h>
#include <sockit/sock.h>

struct sk_stream_server;
struct sk_tls_conn_opts;

enum sk_stream_mode {
	SK_STREAM_ECHO,
	SK_STREAM_DISCARD,
	SK_STREAM_CHARGEN,
	SK_STREAM_DAYTIME,
	SK_STREAM_REPLY,
	SK_STREAM_CHAT,
	SK_STREAM_EXEC,
	SK_STREAM_HANDOFF,
};

enum sk_stream_event {
	SK_STREAM_ACCEPTED,     /* a client is being served */
	SK_STREAM_DENIED,       /* refused by the access list */
	SK_STREAM_OVER_LIMIT,   /* refused: --max-conns or --max-per-client (err says which) */
	SK_STREAM_CLOSED,       /* a client left; err is why (0, -ECONNRESET, -ETIMEDOUT idle,
	                           or for exec the command killed by exec_timeout_ms …) */
	SK_STREAM_DROPPED_SLOW, /* chat: a client too slow to keep up was dropped */
	SK_STREAM_ACCEPT_FAILED,/* accept(2) failed (EMFILE …); reported once until it recovers */
	SK_STREAM_BAD_DATA,     /* a message over the framer's limit: the client is closed */
	SK_STREAM_EXEC_EXITED,  /* exec: the client's command exited; err is its wait status
	                           (waitpid's: WIFEXITED, WEXITSTATUS …). SK_STREAM_CLOSED
	                           follows. */
};

/* Default limits. With them no stream server grows past 256 MiB whatever
 * its clients send: a client costs at most about 150 KiB (a framer buffer
 * of SK_STREAM_MAX_MSG + SK_FRAME_CHUNK + 4, a queue of SK_STREAM_OUT_MAX,
 * the structs), times SK_STREAM_MAX_CONNS is 150 MiB; bench/tcp_memory.sh
 * measured at most 67 MiB (README, "sockit tcp"). */

/* Clients at once. 1024 is the usual soft limit on open files, so past it
 * accept(2) would fail anyway; it is also what keeps memory bounded. */
#define SK_STREAM_MAX_CONNS 1024

/* Exec clients at once: each is at least a /bin/sh and its command (about
 * 1 MiB of the machine's memory and a process slot each), so fewer. */
#define SK_STREAM_EXEC_MAX_CONNS 64

/* How long an exec child may run before its process group is killed: a
 * command that never exits would hold its slot for ever. Ten minutes leaves
 * room for an interactive session. */
#define SK_STREAM_EXEC_TIMEOUT_MS (600 * 1000)

/* After SIGTERM, how long a timed-out exec child's group has before
 * SIGKILL. */
#define SK_STREAM_EXEC_KILL_GRACE_MS 2000

/* Largest reply or chat message: a line of chat or a request to answer is
 * far shorter; 16 KiB keeps a client that never ends its line at one small
 * buffer (SK_FRAME_MAX, 1 MiB, made 2,000 such clients cost 2 GB). */
#define SK_STREAM_MAX_MSG (16 * 1024)

/* Per-client outbound queue: the kernel's socket buffer (hundreds of KiB
 * on loopback) does the bulk of the buffering, so this only smooths. */
#define SK_STREAM_OUT_MAX (64 * 1024)

/* Bytes read from a client at a time: half the queue, so an echo of one
 * read always fits above the high-water mark (out_max / 2). */
#define SK_STREAM_READ_SIZE (32 * 1024)

/* err on SK_STREAM_OVER_LIMIT: which limit. */
#define SK_STREAM_LIMIT_TOTAL 1
#define SK_STREAM_LIMIT_PER_CLIENT 2

typedef void sk_stream_event_fn(void *ud, enum sk_stream_event ev, const struct sk_addr *peer,
                                int err);

/* SK_STREAM_HANDOFF: the caller now owns fd. */
typedef void sk_stream_handoff_fn(void *ud, int fd, const struct sk_addr *peer);

struct sk_stream_opts {
	enum sk_stream_mode mode;
	enum sk_frame_mode frame;     /* reply, chat */
	size_t max_conns;             /* 0: the mode's default (SK_STREAM_MAX_CONNS, exec
	                                 SK_STREAM_EXEC_MAX_CONNS); SIZE_MAX: no limit */
	size_t max_per_client;        /* 0: unlimited */
	size_t max_msg;               /* reply, chat: longest message (SK_STREAM_MAX_MSG);
	                                 at most SK_FRAME_MAX */
	unsigned idle_ms;             /* 0: never */
	const struct sk_acl *acl;     /* borrowed; NULL permits all */
	const char *exec_cmd;         /* SK_STREAM_EXEC; borrowed. Run by /bin/sh -c with the
	                                 client's socket on stdin and stdout, and in its
	                                 environment SOCKIT_PEER_ADDR, SOCKIT_PEER_PORT,
	                                 SOCKIT_LOCAL_ADDR, SOCKIT_LOCAL_PORT (as socat's
	                                 SOCAT_PEERADDR …; IPv4 clients of a dual-stack
	                                 listener as plain IPv4) */
	unsigned exec_timeout_ms;     /* kill an exec child's process group after this long
	                                 (SK_STREAM_EXEC_TIMEOUT_MS); 0: never */
	sk_stream_handoff_fn *on_handoff;
	sk_stream_event_fn *on_event; /* may be NULL */
	void *ud;                     /* for both callbacks */
	const struct sk_tracer *tracer;
	size_t out_max;               /* per-client queue ceiling (chat drops above it);
	                                 raised to what one read or one message needs */
	const struct sk_tls_conn_opts *tls; /* TLS for every client (sockit/tls.h); NULL:
	                                 plain. Borrowed: must outlive the server */
};

/* "echo", "discard", "chargen", "daytime", "reply", "chat" → mode; SK_EINVAL
 * for any other name (exec and handoff need more than a name). */
int sk_stream_mode_parse(const char *name, enum sk_stream_mode *mode);
const char *sk_stream_mode_name(enum sk_stream_mode mode);

/* mode echo, frame line, the default limits above (max_conns 0: the
 * mode's), no per-client limit, no idle timeout, no acl, no callbacks. */
void sk_stream_opts_init(struct sk_stream_opts *opts);

/* Serves on listen_fd (from sk_tcp_listen; the server takes ownership and
 * closes it). opts is copied; what it points to is borrowed. */
int sk_stream_server_new(struct sk_loop *loop, int listen_fd, const struct sk_stream_opts *opts,
                         struct sk_stream_server **out);

/* Stops accepting (closes the listener) but lets current clients finish. */
void sk_stream_server_stop_accepting(struct sk_stream_server *s);

/* Resumes accepting after sk_stream_server_pause_accepting(). */
void sk_stream_server_pause_accepting(struct sk_stream_server *s);
void sk_stream_server_resume_accepting(struct sk_stream_server *s);

/* Clients being served now (exec children included). */
size_t sk_stream_server_n_clients(const struct sk_stream_server *s);

/* Closes every client and the listener, and frees the server; exec
 * children's process groups get SIGTERM. Accepts NULL. */
void sk_stream_server_free(struct sk_stream_server *s);

#endif
