/* The stream server: the listener, the accept path (access list and limits
 * checked before a byte is read), the client list, and exec children. What a
 * mode does with bytes is in stream_modes.c. */
#include <sockit/accept.h>
#include <sockit/err.h>
#include <sockit/relay.h>
#include <sockit/stream.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stream/stream_internal.h"

extern char **environ;

/* Exec children are reaped by polling when the kernel has no pidfd_open. */
#define REAP_POLL_MS 200

/* What a reply or chat message adds to the client's text: "Received msg: "
 * and " from ('IP', PORT)", or the chat prefix "IP:PORT: ", and a len32
 * header or LF. Generous: it only sizes the queue. */
#define MSG_OVERHEAD 1024

/* A client of an exec server: its child. Only exec servers' clients are
 * this larger struct (its first member is the client), so the others
 * carry none of it. */
struct exec_client {
	struct client cl;
	pid_t child;                /* the child, also its process group; 0 once reaped */
	int pidfd;                  /* readable when the child exits; -1 if none */
	struct sk_timer timer;      /* exec_timeout_ms, then the SIGKILL grace */
	bool killed;                /* the timeout sent SIGTERM to the group */
	struct sk_relay *relay;     /* over TLS: the client's conn to the child's socket */
	int relay_err;              /* ... and the error that ended it */
};

/* cl's exec state; cl must be a client of an exec server. */
static struct exec_client *exec_of(struct client *cl)
{
	return (struct exec_client *)cl;
}

static bool is_exec(const struct client *cl)
{
	return cl->srv->o.mode == SK_STREAM_EXEC;
}

void sk_stream_opts_init(struct sk_stream_opts *opts)
{
	memset(opts, 0, sizeof *opts);
	opts->mode = SK_STREAM_ECHO;
	opts->frame = SK_FRAME_LINE;
	opts->max_conns = 0;
	opts->max_msg = SK_STREAM_MAX_MSG;
	opts->exec_timeout_ms = SK_STREAM_EXEC_TIMEOUT_MS;
	opts->out_max = SK_STREAM_OUT_MAX;
}

/* Every client's conn options. The queue must take one read above high
 * water (echo sends what it read), and in the message modes one whole
 * answer: a send refused for size would drop it. */
static void client_conn_opts(const struct sk_stream_opts *o, struct sk_conn_opts *co)
{
	sk_conn_opts_init(co);
	size_t need = 2 * SK_STREAM_READ_SIZE;
	size_t msg_need = 2 * (o->max_msg + MSG_OVERHEAD);
	if ((o->mode == SK_STREAM_REPLY || o->mode == SK_STREAM_CHAT) && msg_need > need)
		need = msg_need;
	co->out_max = o->out_max > need ? o->out_max : need;
	co->high_water = co->out_max / 2;
	co->low_water = co->out_max / 8;
	co->read_size = SK_STREAM_READ_SIZE;
	co->idle_ms = o->idle_ms;
	co->tracer = o->tracer;
	co->tls = o->tls;
}

static void link_client(struct sk_stream_server *s, struct client *cl)
{
	cl->next = s->clients;
	if (s->clients)
		s->clients->prev = cl;
	s->clients = cl;
	s->n_clients++;
}

static void unlink_client(struct sk_stream_server *s, struct client *cl)
{
	if (cl->prev)
		cl->prev->next = cl->next;
	else
		s->clients = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	s->n_clients--;
	struct sk_addr peer;
	struct sk_ip ip;
	sk__client_peer(cl, &peer);
	sk_addr_to_ip(&peer, &ip, NULL); /* as the acceptor counted it */
	sk_acceptor_release(s->acceptor, &ip);
}

static void free_client(struct client *cl)
{
	if (is_exec(cl))
		sk_loop_timer_stop(cl->srv->loop, &exec_of(cl)->timer);
	if (cl->framer) {
		sk_framer_fini(cl->framer);
		free(cl->framer);
	}
	free(cl);
}

/* --- conn callbacks: dispatch to the mode ---
 * A mode may close its client (a send fails, a message is too big) and go on
 * looking at it: the client is freed after the mode returns, never during. */

static void enter(struct client *cl)
{
	cl->busy++;
}

static void leave_client(struct client *cl)
{
	if (--cl->busy == 0 && cl->dead)
		free_client(cl);
}

static void on_data(struct sk_conn *c, const char *p, size_t len, void *ud)
{
	(void)c;
	struct client *cl = ud;
	const struct stream_mode_ops *ops = cl->srv->mode;
	enter(cl);
	if (ops->on_data)
		ops->on_data(cl, p, len);
	leave_client(cl);
}

static void on_eof(struct sk_conn *c, void *ud)
{
	(void)c;
	struct client *cl = ud;
	const struct stream_mode_ops *ops = cl->srv->mode;
	enter(cl);
	if (ops->on_eof)
		ops->on_eof(cl);
	else
		sk_conn_close_after_flush(cl->conn);
	leave_client(cl);
}

static void on_drain(struct sk_conn *c, void *ud)
{
	(void)c;
	struct client *cl = ud;
	const struct stream_mode_ops *ops = cl->srv->mode;
	enter(cl);
	if (ops->on_drain)
		ops->on_drain(cl);
	leave_client(cl);
}

static void on_close(struct sk_conn *c, int err, void *ud)
{
	(void)c;
	struct client *cl = ud;
	struct sk_stream_server *s = cl->srv;
	unlink_client(s, cl);
	sk__client_event(cl, SK_STREAM_CLOSED, err);
	cl->conn = NULL;
	if (cl->busy)
		cl->dead = true;
	else
		free_client(cl);
}

static const struct sk_conn_handler client_handler = {
	.on_data = on_data,
	.on_eof = on_eof,
	.on_drain = on_drain,
	.on_close = on_close,
};

static void on_exec_timer(struct sk_loop *loop, struct sk_timer *t, void *ud);
static int spawn(struct sk_stream_server *s, struct exec_client *ec, int fd);
static void exec_done(struct exec_client *ec, int err);

/* Keeps the peer's address in the client (union client_addr). */
static void keep_peer(struct client *cl, const struct sk_addr *peer)
{
	if (peer->u.sa.sa_family == AF_INET)
		cl->peer.in4 = peer->u.in4;
	else if (peer->u.sa.sa_family == AF_INET6)
		cl->peer.in6 = peer->u.in6;
	else
		cl->peer.sa.sa_family = peer->u.sa.sa_family; /* not IP: its family only */
}

/* A client of s, with what its mode needs; NULL without memory. */
static struct client *new_client(struct sk_stream_server *s, const struct sk_addr *peer)
{
	bool exec = s->o.mode == SK_STREAM_EXEC;
	struct client *cl = calloc(1, exec ? sizeof(struct exec_client) : sizeof *cl);
	if (!cl)
		return NULL;
	cl->srv = s;
	keep_peer(cl, peer);
	if (s->mode->frames) {
		if (!(cl->framer = malloc(sizeof *cl->framer))) {
			free(cl);
			return NULL;
		}
		sk_framer_init(cl->framer, s->o.frame, s->o.max_msg);
	}
	if (exec) {
		struct exec_client *ec = exec_of(cl);
		ec->pidfd = -1;
		sk_timer_init(&ec->timer, on_exec_timer, ec);
	}
	return cl;
}

/* --- admission: the acceptor (accept.c) checks the access list and the
 * limits before a byte is read --- */

static void serve(void *ud, int fd, const struct sk_addr *peer, const struct sk_ip *ip)
{
	struct sk_stream_server *s = ud;
	if (s->o.mode == SK_STREAM_HANDOFF) {
		/* The caller owns it now, and counts it if it wants. */
		sk_acceptor_release(s->acceptor, ip);
		sk__stream_event(s, SK_STREAM_ACCEPTED, peer, 0);
		s->o.on_handoff(s->o.ud, fd, peer);
		return;
	}
	struct client *cl = new_client(s, peer);
	if (!cl) {
		sk_sock_close(fd, s->o.tracer);
		sk_acceptor_release(s->acceptor, ip);
		sk__stream_event(s, SK_STREAM_CLOSED, peer, SK_ENOMEM);
		return;
	}
	link_client(s, cl);
	sk__stream_event(s, SK_STREAM_ACCEPTED, peer, 0);
	if (is_exec(cl)) {
		int err = spawn(s, exec_of(cl), fd);
		if (err < 0)
			exec_done(exec_of(cl), err);
		return;
	}
	int err = sk_conn_new(s->loop, fd, fd, &s->conn_opts, &client_handler, cl, &cl->conn);
	if (err < 0) {
		unlink_client(s, cl);
		sk__stream_event(s, SK_STREAM_CLOSED, peer, err);
		free_client(cl);
		return;
	}
	/* on_open sends (daytime, chargen), and a send that fails closes the
	 * client: hold it so the mode can go on looking at it. */
	const struct stream_mode_ops *ops = s->mode;
	enter(cl);
	if (ops->on_open)
		ops->on_open(cl);
	leave_client(cl);
}

/* Closed before a byte is read: a refused peer costs nothing. */
static void on_refused(void *ud, int fd, const struct sk_addr *peer, enum sk_accept_refusal why)
{
	(void)fd;
	struct sk_stream_server *s = ud;
	if (why == SK_ACCEPT_DENIED)
		sk__stream_event(s, SK_STREAM_DENIED, peer, 0);
	else
		sk__stream_event(s, SK_STREAM_OVER_LIMIT, peer,
		                 why == SK_ACCEPT_MAX_CONNS ? SK_STREAM_LIMIT_TOTAL : SK_STREAM_LIMIT_PER_CLIENT);
}

/* EMFILE and friends: reported once until an accept works again. */
static void on_accept_failed(void *ud, int err)
{
	struct sk_stream_server *s = ud;
	if (err)
		sk__stream_event(s, SK_STREAM_ACCEPT_FAILED, NULL, err);
}

/* --- exec children ---
 * Each child leads a process group of its own, so a signal reaches the
 * whole pipeline `sh -c 'cat | cat'` starts, not only the shell: after
 * SIGTERM to sh alone, the cats went on serving the client. */

static void on_child_exit(struct sk_loop *loop, int fd, unsigned events, void *ud);

/* Signals the child's group. Only while the child is not yet reaped: its
 * pid, which is the group's id, cannot have been reused before. */
static void signal_group(const struct exec_client *ec, int sig)
{
	if (ec->child > 0)
		kill(-ec->child, sig);
}

static void release_pidfd(struct exec_client *ec)
{
	if (ec->pidfd < 0)
		return;
	sk_loop_del_fd(ec->cl.srv->loop, ec->pidfd);
	close(ec->pidfd);
	ec->pidfd = -1;
}

static void reap(struct exec_client *ec)
{
	siginfo_t info;
	info.si_pid = 0;
	if (ec->child <= 0 ||
	    waitid(P_PID, (id_t)ec->child, &info, WEXITED | WNOHANG | WNOWAIT) < 0 ||
	    info.si_pid == 0)
		return;
	/* The shell has exited (a zombie still holds its pid): what it left
	 * running in its group would go on serving a client we no longer
	 * count, so it is told to stop. */
	signal_group(ec, SIGTERM);
	int status = 0;
	waitpid(ec->child, &status, 0);
	ec->child = 0;
	release_pidfd(ec);
	sk__client_event(&ec->cl, SK_STREAM_EXEC_EXITED, status);
	/* Over TLS the relay still writes what the child said: its end
	 * finishes the client (on_exec_relay_done). */
	if (!ec->relay)
		exec_done(ec, ec->killed ? -ETIMEDOUT : ec->relay_err);
}

static void on_reap_timer(struct sk_loop *loop, struct sk_timer *t, void *ud)
{
	struct sk_stream_server *s = ud;
	bool waiting = false;
	struct client *next;
	for (struct client *cl = s->clients; cl; cl = next) {
		next = cl->next;
		struct exec_client *ec = exec_of(cl); /* only exec servers start this timer */
		if (ec->child > 0 && ec->pidfd < 0) {
			reap(ec);
			waiting = true;
		}
	}
	if (waiting)
		sk_loop_timer_start(loop, t, REAP_POLL_MS);
}

static void on_child_exit(struct sk_loop *loop, int fd, unsigned events, void *ud)
{
	(void)loop;
	(void)fd;
	(void)events;
	reap(ud);
}

/* exec_timeout_ms has passed: SIGTERM to the group, and SIGKILL after a
 * grace period if the shell has still not exited. */
static void on_exec_timer(struct sk_loop *loop, struct sk_timer *t, void *ud)
{
	struct exec_client *ec = ud;
	if (ec->child <= 0)
		return;
	signal_group(ec, ec->killed ? SIGKILL : SIGTERM);
	if (!ec->killed)
		sk_loop_timer_start(loop, t, SK_STREAM_EXEC_KILL_GRACE_MS);
	ec->killed = true;
}

/* The exec client is finished: its child reaped (or never started), its
 * relay (over TLS) ended. */
static void exec_done(struct exec_client *ec, int err)
{
	release_pidfd(ec);
	unlink_client(ec->cl.srv, &ec->cl);
	sk__client_event(&ec->cl, SK_STREAM_CLOSED, err);
	free_client(&ec->cl);
}

static void on_exec_relay_done(void *ud, int err, char side, const struct sk_relay_stats *stats)
{
	(void)side;
	(void)stats;
	struct exec_client *ec = ud;
	ec->relay = NULL;
	ec->relay_err = err;
	if (ec->child == 0) /* reaped already */
		exec_done(ec, ec->killed ? -ETIMEDOUT : err);
}

/* exec over TLS: the client's TLS conn (a) relayed to one end of a
 * socketpair (b), whose other end, *child_fd, the command gets. fd is
 * consumed. */
static int start_exec_relay(struct sk_stream_server *s, struct exec_client *ec, int fd, int *child_fd)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		int err = -errno;
		sk_sock_close(fd, s->o.tracer);
		return err;
	}
	struct sk_relay_opts ro;
	sk_relay_opts_init(&ro);
	ro.a = s->conn_opts;
	ro.b.read_size = SK_STREAM_READ_SIZE; /* fits above the client queue's high water */
	ro.b.tracer = s->o.tracer;
	ro.finish_on_b_eof = true; /* the command's end is the session's */
	ro.on_done = on_exec_relay_done;
	ro.ud = ec;
	int err = sk_relay_start(s->loop, fd, fd, sv[0], sv[0], &ro, &ec->relay);
	if (err < 0) {
		close(sv[1]);
		return err;
	}
	*child_fd = sv[1];
	return 0;
}

/* The variables an exec child learns its connection from. */
static const char *const conn_vars[] = {
	"SOCKIT_PEER_ADDR", "SOCKIT_PEER_PORT", "SOCKIT_LOCAL_ADDR", "SOCKIT_LOCAL_PORT",
};
#define N_CONN_VARS (sizeof conn_vars / sizeof conn_vars[0])

static bool is_conn_var(const char *entry)
{
	for (size_t i = 0; i < N_CONN_VARS; i++) {
		size_t n = strlen(conn_vars[i]);
		if (strncmp(entry, conn_vars[i], n) == 0 && entry[n] == '=')
			return true;
	}
	return false;
}

/* environ without any SOCKIT_PEER_* / SOCKIT_LOCAL_* it had, then the four
 * of this connection, whose text is in vars. One allocation: free(envp). */
static char **exec_env(const struct sk_addr *peer, const struct sk_addr *local,
                       char vars[N_CONN_VARS][SK_IP_STRLEN + 24])
{
	const struct sk_addr *which[2] = { peer, local };
	for (int k = 0; k < 2; k++) {
		struct sk_ip ip;
		unsigned port = 0;
		char text[SK_IP_STRLEN] = "";
		if (sk_addr_to_ip(which[k], &ip, &port) == 0)
			sk_ip_format(&ip, SK_IP_CANONICAL, text);
		snprintf(vars[2 * k], sizeof vars[0], "%s=%s", conn_vars[2 * k], text);
		snprintf(vars[2 * k + 1], sizeof vars[0], "%s=%u", conn_vars[2 * k + 1], port);
	}
	size_t n = 0;
	while (environ[n])
		n++;
	char **envp = malloc((n + N_CONN_VARS + 1) * sizeof *envp);
	if (!envp)
		return NULL;
	size_t j = 0;
	for (size_t i = 0; i < n; i++)
		if (!is_conn_var(environ[i]))
			envp[j++] = environ[i];
	for (size_t i = 0; i < N_CONN_VARS; i++)
		envp[j++] = vars[i];
	envp[j] = NULL;
	return envp;
}

static int spawn(struct sk_stream_server *s, struct exec_client *ec, int fd)
{
	struct sk_addr local;
	char vars[N_CONN_VARS][SK_IP_STRLEN + 24];
	if (sk_sock_local_addr(fd, &local) < 0)
		memset(&local, 0, sizeof local);
	struct sk_addr peer;
	sk__client_peer(&ec->cl, &peer);
	char **envp = exec_env(&peer, &local, vars);
	if (!envp) {
		sk_sock_close(fd, s->o.tracer);
		return SK_ENOMEM;
	}
	if (s->o.tls) {
		int err = start_exec_relay(s, ec, fd, &fd);
		if (err < 0) {
			free(envp);
			return err;
		}
	}
	/* The child gets a plain blocking socket on 0 and 1, default signal
	 * handling (we ignore SIGPIPE, and ignored signals survive exec), an
	 * empty signal mask (the loop blocks the signals it reads by signalfd)
	 * and a process group of its own. */
	int flags = fcntl(fd, F_GETFL);
	if (flags >= 0)
		fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd, STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, fd, STDOUT_FILENO);
	posix_spawnattr_init(&attr);
	sigset_t none, defaults;
	sigemptyset(&none);
	sigemptyset(&defaults);
	sigaddset(&defaults, SIGPIPE);
	sigaddset(&defaults, SIGINT);
	sigaddset(&defaults, SIGTERM);
	sigaddset(&defaults, SIGCHLD);
	sigaddset(&defaults, SIGHUP);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
	                                POSIX_SPAWN_SETPGROUP);
	char *const argv[] = { "/bin/sh", "-c", (char *)s->o.exec_cmd, NULL };
	pid_t pid;
	int rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, envp);
	free(envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	sk_sock_close(fd, s->o.tracer);
	if (rc != 0) {
		if (ec->relay) {
			/* Not "reaped" (0) while the relay ends: the caller
			 * finishes ec, not on_exec_relay_done. */
			ec->child = -1;
			sk_relay_stop(ec->relay);
			ec->child = 0;
		}
		return -rc;
	}
	sk_trace(s->o.tracer, "spawn(/bin/sh -c ...) = %d", (int)pid);
	ec->child = pid;
	if (s->o.exec_timeout_ms)
		sk_loop_timer_start(s->loop, &ec->timer, s->o.exec_timeout_ms);
	/* A pidfd becomes readable when the child exits: no SIGCHLD handler,
	 * no polling (Linux 5.3). */
	ec->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (ec->pidfd >= 0 && sk_loop_add_fd(s->loop, ec->pidfd, SK_EV_READ, on_child_exit, ec) < 0) {
		close(ec->pidfd);
		ec->pidfd = -1;
	}
	if (ec->pidfd < 0 && !sk_timer_is_active(&s->reap_timer))
		sk_loop_timer_start(s->loop, &s->reap_timer, REAP_POLL_MS);
	return 0;
}

/* --- the server --- */

int sk_stream_server_new(struct sk_loop *loop, int listen_fd, const struct sk_stream_opts *opts,
                         struct sk_stream_server **out)
{
	struct sk_stream_server *s = calloc(1, sizeof *s);
	if (!s) {
		close(listen_fd);
		return SK_ENOMEM;
	}
	s->loop = loop;
	s->o = *opts;
	s->mode = sk__stream_mode_ops(opts->mode);
	if (!s->o.max_conns && s->o.mode == SK_STREAM_EXEC)
		s->o.max_conns = SK_STREAM_EXEC_MAX_CONNS;
	if (!s->o.max_conns)
		s->o.max_conns = SK_STREAM_MAX_CONNS;
	if (!s->o.max_msg)
		s->o.max_msg = SK_STREAM_MAX_MSG;
	if (s->o.max_msg > SK_FRAME_MAX) {
		close(listen_fd);
		free(s);
		return SK_EINVAL;
	}
	client_conn_opts(&s->o, &s->conn_opts);
	sk_buf_init(&s->scratch, s->o.max_msg + MSG_OVERHEAD);
	sk_timer_init(&s->reap_timer, on_reap_timer, s);
	struct sk_acceptor_opts ao;
	sk_acceptor_opts_init(&ao);
	ao.max_conns = s->o.max_conns;
	ao.max_per_client = s->o.max_per_client;
	ao.acl = s->o.acl;
	ao.on_accept = serve;
	ao.on_refused = on_refused;
	ao.reset_refused = true;
	ao.on_failed = on_accept_failed;
	ao.ud = s;
	ao.tracer = s->o.tracer;
	int err = sk_acceptor_new(loop, listen_fd, &ao, &s->acceptor);
	if (err < 0) {
		sk_buf_fini(&s->scratch);
		free(s);
		return err;
	}
	*out = s;
	return 0;
}

void sk_stream_server_pause_accepting(struct sk_stream_server *s)
{
	sk_acceptor_pause(s->acceptor);
}

void sk_stream_server_resume_accepting(struct sk_stream_server *s)
{
	sk_acceptor_resume(s->acceptor);
}

void sk_stream_server_stop_accepting(struct sk_stream_server *s)
{
	sk_acceptor_close(s->acceptor);
}

size_t sk_stream_server_n_clients(const struct sk_stream_server *s)
{
	return s->n_clients;
}

void sk_stream_server_free(struct sk_stream_server *s)
{
	if (!s)
		return;
	sk_stream_server_stop_accepting(s);
	s->o.on_event = NULL; /* the owner is tearing down: no more reports */
	while (s->clients) {
		struct client *cl = s->clients;
		if (cl->conn) {
			sk_conn_close(cl->conn, 0); /* unlinks and frees cl */
			continue;
		}
		struct exec_client *ec = exec_of(cl); /* no conn: an exec client */
		signal_group(ec, SIGTERM);
		if (ec->relay)
			sk_relay_stop(ec->relay); /* finishes ec if its child was reaped */
		else
			exec_done(ec, 0);
	}
	sk_loop_timer_stop(s->loop, &s->reap_timer);
	sk_acceptor_free(s->acceptor);
	sk_buf_fini(&s->scratch);
	free(s);
}
