/* SPDX-License-Identifier: MIT */
/* The mhcl CLI's private declarations: arguments, the diag client, the command table. */
#ifndef MHCL_CLI_H
#define MHCL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "diag_limits.h"
#include "mhcl_exit.h"

#define MHCL_DEFAULT_TARGET "unix:/run/mhcl/diag.sock"
#define MHCL_DEFAULT_TIMEOUT_MS 10000u
#define MHCL_TIMEOUT_MAX_MS 3600000u
#define MHCL_COUNT_MAX 1000000u
#define MHCL_FOLLOW_INTERVAL_MS 500u
#define MHCL_POS_MAX 4

enum mhcl_transport {
	MHCL_TRANSPORT_UNIX,
	MHCL_TRANSPORT_TCP,
	MHCL_TRANSPORT_VSOCK,
};

struct mhcl_target {
	enum mhcl_transport kind;
	char addr[256];      /* unix: socket path; tcp: "host:port" */
	uint32_t cid, port;  /* vsock */
};

/* Options a command accepts besides the global ones. */
enum mhcl_opt {
	MHCL_OPT_FOLLOW = 1u << 0,   /* -f, --follow */
	MHCL_OPT_SIGNAL = 1u << 1,   /* -s, --signal SIG */
	MHCL_OPT_FAULT = 1u << 2,    /* --fault syscall|abort|hang */
	MHCL_OPT_LINES = 1u << 3,    /* -n, --lines N */
	MHCL_OPT_INTERVAL = 1u << 4, /* --interval MS */
	MHCL_OPT_COUNT = 1u << 5,    /* -c, --count N */
};

struct mhcl_args {
	struct mhcl_target target;
	bool json;
	bool help;
	uint32_t timeout_ms;
	const char *secret_file; /* --secret-file or $MHCL_DIAG_SECRET_FILE; NULL: none */
	unsigned opts_seen;  /* enum mhcl_opt bits given on the command line */
	bool follow;
	int signal;          /* 0 = default (SIGKILL) */
	int fault;           /* Mhcl__FaultKind */
	uint32_t lines;
	uint32_t interval_ms;
	uint32_t count;
	const char *cmd;     /* NULL: none given */
	const char *pos[MHCL_POS_MAX];
	int npos;
};

/*
 * Parses the whole command line (argv[0] is the program). Global options may
 * come before or after the command. default_target is used when no transport
 * option is given (callers pass $MHCL_DIAG or MHCL_DEFAULT_TARGET). Returns 0
 * or -EINVAL with a one-line reason in err. argv strings are borrowed.
 */
int mhcl_args_parse(int argc, char **argv, const char *default_target, struct mhcl_args *ret,
		    char *err, size_t err_len);

/* Checks parsed options against what a command allows (enum mhcl_opt mask)
 * and its positional argument count. Returns 0 or -EINVAL with err set. */
int mhcl_args_check(const struct mhcl_args *a, unsigned allowed, int min_pos, int max_pos,
		    char *err, size_t err_len);

/* "unix:PATH" | "tcp:HOST:PORT" | "vsock:CID:PORT" (a bare "/path" is unix). */
int mhcl_target_parse(const char *spec, struct mhcl_target *ret);
/* The same for one transport's argument (--socket PATH, --tcp HOST:PORT, --vsock CID:PORT). */
int mhcl_target_from(enum mhcl_transport kind, const char *arg, struct mhcl_target *ret);
/* Writes "unix:/path" etc. into buf. */
void mhcl_target_format(const struct mhcl_target *t, char *buf, size_t len);

/* "KILL", "SIGKILL", "kill", "9" -> 9. Returns -EINVAL if unknown or out of range. */
int mhcl_signal_parse(const char *s, int *ret_sig);
/* Name of signal sig without "SIG" ("KILL"), NULL if unknown. */
const char *mhcl_signal_name(int sig);
/* "syscall" | "abort" | "hang" -> Mhcl__FaultKind. */
int mhcl_fault_parse(const char *s, int *ret_fault);
const char *mhcl_fault_name(int fault);
/* "server[/path]": server copied into ret_server, *ret_path points into arg
 * ("" if none). Validates both against diag_limits.h. */
int mhcl_server_path_parse(const char *arg, char ret_server[DIAG_NAME_MAX + 1],
			   const char **ret_path);

/* ---- The diag client (client.c) ---- */

#include <signal.h>
/* Set by a command's SIGINT handler: waits return early, quietly. */
extern volatile sig_atomic_t mhcl_interrupted;

struct mhcl_ctx {
	const struct mhcl_args *args;
	const char *cmd;     /* for error messages */
	int fd;              /* -1 until connected */
	uint32_t next_id;
};

/* Connects to args->target unless already connected. Returns an enum
 * mhcl_exit; on failure it has printed one line on stderr. */
int mhcl_connect(struct mhcl_ctx *c);

/*
 * Sends one request and waits (--timeout) for its response. On success
 * returns MHCL_CLI_OK and *ret_reply is the unpacked reply (free with
 * protobuf_c_message_free_unpacked). Otherwise returns the enum mhcl_exit
 * for what went wrong, having printed one line on stderr.
 */
int mhcl_call(struct mhcl_ctx *c, uint16_t type, const ProtobufCMessage *req,
	      const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **ret_reply);

void mhcl_disconnect(struct mhcl_ctx *c);

/* Prints "mhcl: CMD: message" on stderr and returns code. */
int mhcl_fail(const struct mhcl_ctx *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- Commands (one file each, tools/mhcl/cmd_*.c) ---- */

typedef int (*mhcl_cmd_fn)(struct mhcl_ctx *c);

struct mhcl_cmd {
	const char *name;
	mhcl_cmd_fn fn;
	const char *usage;   /* arguments after the name */
	const char *help;    /* one line */
	unsigned opts;       /* enum mhcl_opt */
	int min_pos, max_pos;
};

extern const struct mhcl_cmd mhcl_cmds[];
extern const size_t mhcl_ncmds;

int cmd_ps(struct mhcl_ctx *c);
int cmd_metrics(struct mhcl_ctx *c);
int cmd_inspect(struct mhcl_ctx *c);
int cmd_restart(struct mhcl_ctx *c);
int cmd_kill(struct mhcl_ctx *c);
int cmd_logs(struct mhcl_ctx *c);
int cmd_config(struct mhcl_ctx *c);
int cmd_sidecar(struct mhcl_ctx *c);
int cmd_guest(struct mhcl_ctx *c);
int cmd_storage(struct mhcl_ctx *c);
int cmd_net(struct mhcl_ctx *c);
int cmd_help(struct mhcl_ctx *c);

#endif
