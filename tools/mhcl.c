/* SPDX-License-Identifier: MIT */
/*
 * mhcl: the command-line client of mhcl-diagd. One subcommand per file
 * (mhcl/cmd_*.c), dispatched from the table below.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "mhcl/json.h"
#include "mhcl/mhcl.h"

const struct mhcl_cmd mhcl_cmds[] = {
    {"ps", cmd_ps, "",
     "list the servers and init: state, CPU, memory (RSS, PSS, USS), total PSS and USS", 0, 0, 0},
    {"metrics", cmd_metrics, "",
     "ps figures and every server's numeric inspect leaves in Prometheus text format", 0, 0, 0},
    {"inspect", cmd_inspect, "[SERVER[/PATH]]", "show the inspect tree of one or every server", 0,
     0, 1},
    {"restart", cmd_restart, "SERVER", "restart a server (planned: it saves its state)", 0, 1, 1},
    {"kill", cmd_kill, "SERVER [--signal SIG] [--fault syscall|abort|hang]",
     "signal a server (default SIGKILL) or make it fault", MHCL_OPT_SIGNAL | MHCL_OPT_FAULT, 1, 1},
    {"logs", cmd_logs, "[-f] [-n LINES] [--interval MS] [SERVER]",
     "print the log ring (all servers or one); -f follows until Ctrl-C",
     MHCL_OPT_FOLLOW | MHCL_OPT_LINES | MHCL_OPT_INTERVAL, 0, 1},
    {"config", cmd_config, "", "print the effective manifest as device-tree source", 0, 0, 0},
    {"sidecar", cmd_sidecar, "[list | online CPU | checksum CPU [ADDR LEN]]",
     "sidecar CPUs: list them, hand one to Linux, or run a checksum work item", 0, 0, 4},
    {"guest", cmd_guest, "shutdown|reboot [REASON]",
     "ask the guest to power off or restart (VMBus shutdown integration component)", 0, 1, 2},
    {"storage", cmd_storage, "attach|detach [CONTROLLER:]LUN",
     "attach or detach a LUN the storage server's manifest entry declares", 0, 2, 2},
    {"net", cmd_net, "capture [-c COUNT] > FILE.pcap",
     "capture the guest's frames both ways as pcap (default 100 frames; stops after 2 s "
     "without one)",
     MHCL_OPT_COUNT, 1, 1},
    {"help", cmd_help, "[COMMAND]", "list the commands, or show one command's usage", 0, 0, 1},
};
const size_t mhcl_ncmds = ARRAY_SIZE(mhcl_cmds);

static const struct mhcl_cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < mhcl_ncmds; i++)
		if (!strcmp(mhcl_cmds[i].name, name))
			return &mhcl_cmds[i];
	return NULL;
}

/* What `mhcl help COMMAND` says about the options the command takes. */
static const struct {
	unsigned bit; /* enum mhcl_opt */
	const char *spelling, *meaning;
} opt_help[] = {
    {MHCL_OPT_FOLLOW, "-f, --follow", "keep printing new lines until Ctrl-C"},
    {MHCL_OPT_LINES, "-n, --lines N", "at most N lines per answer, oldest first"},
    {MHCL_OPT_INTERVAL, "--interval MS", "with -f: ask for new lines every MS milliseconds"},
    {MHCL_OPT_SIGNAL, "-s, --signal SIG", "signal by name or number (default KILL)"},
    {MHCL_OPT_FAULT, "--fault KIND", "syscall (a forbidden one), abort or hang, instead"},
    {MHCL_OPT_COUNT, "-c, --count N", "stop after N frames"},
};

static const struct {
	int code;
	const char *meaning;
} exit_codes[] = {
    {MHCL_CLI_OK, "ok"},
    {MHCL_CLI_REMOTE, "the remote answered with an error"},
    {MHCL_CLI_NO_SERVER, "unknown server"},
    {MHCL_CLI_UNREACHABLE, "diag unreachable (or the connection dropped)"},
    {MHCL_CLI_TIMEOUT, "timeout (ours, or the remote's)"},
    {MHCL_CLI_AUTH, "authentication: diag wants a secret, or refused the one given"},
    {MHCL_CLI_USAGE, "usage"},
};

static int help_json(struct mhcl_ctx *c)
{
	const struct mhcl_args *a = c->args;
	struct json_writer w;

	json_init(&w, stdout, false);
	json_obj_begin(&w);
	json_key(&w, "commands");
	json_arr_begin(&w);
	for (size_t i = 0; i < mhcl_ncmds; i++) {
		if (a->npos == 1 && strcmp(a->pos[0], mhcl_cmds[i].name) != 0)
			continue;
		json_obj_begin(&w);
		json_key(&w, "name");
		json_str(&w, mhcl_cmds[i].name);
		json_key(&w, "usage");
		json_str(&w, mhcl_cmds[i].usage);
		json_key(&w, "help");
		json_str(&w, mhcl_cmds[i].help);
		json_obj_end(&w);
	}
	json_arr_end(&w);
	json_key(&w, "exit_codes");
	json_obj_begin(&w);
	for (size_t i = 0; i < ARRAY_SIZE(exit_codes); i++) {
		char k[16];
		snprintf(k, sizeof(k), "%d", exit_codes[i].code);
		json_key(&w, k);
		json_str(&w, exit_codes[i].meaning);
	}
	json_obj_end(&w);
	json_obj_end(&w);
	json_finish(&w);
	return MHCL_CLI_OK;
}

int cmd_help(struct mhcl_ctx *c)
{
	const struct mhcl_args *a = c->args;
	FILE *f = stdout;

	if (a->json)
		return help_json(c);
	if (a->npos == 1) {
		const struct mhcl_cmd *cmd = find_cmd(a->pos[0]);
		if (!cmd)
			return mhcl_fail(c, MHCL_CLI_USAGE, "unknown command '%s'", a->pos[0]);
		fprintf(f, "usage: mhcl [OPTIONS] %s%s%s\n  %s\n", cmd->name,
			cmd->usage[0] ? " " : "", cmd->usage, cmd->help);
		if (cmd->opts)
			fputs("\nOptions:\n", f);
		for (size_t i = 0; i < ARRAY_SIZE(opt_help); i++)
			if (cmd->opts & opt_help[i].bit)
				fprintf(f, "  %-20s %s\n", opt_help[i].spelling,
					opt_help[i].meaning);
		fputs("\nGlobal OPTIONS (--socket, --json, ...): see 'mhcl help'.\n", f);
		return MHCL_CLI_OK;
	}
	fputs("usage: mhcl [OPTIONS] COMMAND [ARGS]\n"
	      "\n"
	      "Talks to mhcl-diagd, which relays to init.\n"
	      "\n"
	      "Commands:\n",
	      f);
	for (size_t i = 0; i < mhcl_ncmds; i++) {
		char left[80];
		snprintf(left, sizeof(left), "%s %s", mhcl_cmds[i].name, mhcl_cmds[i].usage);
		fprintf(f, "  %-58s %s\n", left, mhcl_cmds[i].help);
	}
	fprintf(f,
		"\n"
		"Options (anywhere on the line):\n"
		"  --socket PATH        diag on a unix stream socket\n"
		"  --tcp HOST:PORT      diag over TCP\n"
		"  --vsock CID:PORT     diag over AF_VSOCK\n"
		"                       default: $MHCL_DIAG (unix:PATH, tcp:HOST:PORT, "
		"vsock:CID:PORT)\n"
		"                       else %s\n"
		"  --secret-file PATH   answer diag's challenge on TCP/vsock with this secret\n"
		"                       (default: $MHCL_DIAG_SECRET_FILE; unix needs none)\n"
		"  --json, -j           machine-readable output (logs -f: one object per line)\n"
		"  --timeout MS, -t MS  how long to wait for diag (default %u)\n"
		"  --help, -h           this help\n"
		"\n"
		"Exit codes:\n",
		MHCL_DEFAULT_TARGET, MHCL_DEFAULT_TIMEOUT_MS);
	for (size_t i = 0; i < ARRAY_SIZE(exit_codes); i++)
		fprintf(f, "  %3d  %s\n", exit_codes[i].code, exit_codes[i].meaning);
	return MHCL_CLI_OK;
}

int main(int argc, char **argv)
{
	struct mhcl_args args;
	struct mhcl_ctx c = {.args = &args, .fd = -1};
	const struct mhcl_cmd *cmd;
	char err[512];
	int ret;

	/* SIGPIPE stays default: `mhcl logs -f | head` ends like any filter when
	 * head exits. Socket writes use MSG_NOSIGNAL, so a dropped diag
	 * connection is an error return, not a signal. */
	if (mhcl_args_parse(argc, argv, getenv("MHCL_DIAG"), &args, err, sizeof(err)) < 0) {
		fprintf(stderr, "mhcl: %s (try 'mhcl help')\n", err);
		return MHCL_CLI_USAGE;
	}
	if (!args.secret_file) {
		const char *e = getenv("MHCL_DIAG_SECRET_FILE");
		args.secret_file = e && *e ? e : NULL;
	}
	if (!args.cmd) {
		args.npos = 0;
		c.cmd = NULL;
		cmd_help(&c);
		return args.help ? MHCL_CLI_OK : MHCL_CLI_USAGE;
	}
	cmd = find_cmd(args.cmd);
	if (!cmd) {
		fprintf(stderr, "mhcl: unknown command '%s' (try 'mhcl help')\n", args.cmd);
		return MHCL_CLI_USAGE;
	}
	c.cmd = cmd->name;
	if (args.help) {
		args.pos[0] = cmd->name;
		args.npos = 1;
		return cmd_help(&c);
	}
	if (mhcl_args_check(&args, cmd->opts, cmd->min_pos, cmd->max_pos, err, sizeof(err)) < 0) {
		fprintf(stderr, "mhcl: %s (usage: mhcl %s %s)\n", err, cmd->name, cmd->usage);
		return MHCL_CLI_USAGE;
	}
	ret = cmd->fn(&c);
	mhcl_disconnect(&c);
	if (fflush(stdout) != 0 && ret == MHCL_CLI_OK)
		ret = MHCL_CLI_REMOTE;
	return ret;
}
