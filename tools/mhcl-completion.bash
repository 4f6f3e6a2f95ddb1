# SPDX-License-Identifier: MIT
# bash completion for the mhcl CLI (tools/mhcl.c): commands, their options and
# arguments, and server names asked of diag itself. Installed as
# share/bash-completion/completions/mhcl; in a build tree:
#   source build/tools/mhcl-completion.bash
# The command and option lists follow the table in tools/mhcl.c; the unit test
# tests/unit/diag/test_completion.py checks them against `mhcl help`.

_mhcl_commands="ps metrics inspect restart kill logs config sidecar guest storage net help"
_mhcl_global_opts="--socket --tcp --vsock --secret-file --json --timeout --help"
_mhcl_signals="HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT
CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS"

_mhcl_command_opts() {
	case $1 in
	kill) echo "--signal --fault" ;;
	logs) echo "--follow --lines --interval" ;;
	net) echo "--count" ;;
	esac
}

# Server names (and "init") from `mhcl ps --json`, asked with the diag options
# already on the line. Prints nothing, and says nothing, when diag does not
# answer within a second.
_mhcl_servers() {
	local json re='"name":"([a-z0-9_-]+)"'

	json=$("$@" --json --timeout 1000 ps 2>/dev/null) || return 0
	while [[ $json =~ $re ]]; do
		printf '%s\n' "${BASH_REMATCH[1]}"
		json=${json#*"${BASH_REMATCH[0]}"}
	done
}

_mhcl() {
	# Words from the line itself: COMP_WORDS splits "HOST:PORT" at the colon.
	local line=${COMP_LINE:0:COMP_POINT} cur="" prev="" cmd="" npos=0 i w
	local -a words diag
	read -ra words <<<"$line"
	[[ $line == *[[:space:]] || ${#words[@]} -eq 0 ]] && words+=("")
	cur=${words[-1]}
	((${#words[@]} > 1)) && prev=${words[-2]}
	diag=("${words[0]}")

	for ((i = 1; i < ${#words[@]} - 1; i++)); do
		w=${words[i]}
		case $w in
		--socket | --tcp | --vsock | --secret-file)
			diag+=("$w" "${words[i + 1]}")
			((i++))
			continue
			;;
		--socket=* | --tcp=* | --vsock=* | --secret-file=*)
			diag+=("$w")
			continue
			;;
		--timeout | -t | --signal | -s | --fault | --lines | -n | --interval | --count | -c)
			((i++))
			continue
			;;
		-*) continue ;;
		esac
		if [[ -z $cmd ]]; then
			cmd=$w
		else
			((npos++))
		fi
	done

	COMPREPLY=()
	case $prev in
	--socket | --secret-file)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return 0
		;;
	--tcp | --vsock | --timeout | -t | --lines | -n | --interval | --count | -c)
		return 0
		;;
	--signal | -s)
		mapfile -t COMPREPLY < <(compgen -W "$_mhcl_signals" -- "${cur^^}")
		return 0
		;;
	--fault)
		mapfile -t COMPREPLY < <(compgen -W "syscall abort hang" -- "$cur")
		return 0
		;;
	esac

	local choices=""
	if [[ $cur == -* ]]; then
		choices="$_mhcl_global_opts $(_mhcl_command_opts "$cmd")"
	elif [[ -z $cmd ]]; then
		choices=$_mhcl_commands
	elif ((npos == 0)); then
		case $cmd in
		help) choices=$_mhcl_commands ;;
		inspect) choices=$(_mhcl_servers "${diag[@]}") ;;
		restart | kill | logs)
			# init answers inspect only; it is not a server to restart or read logs of.
			for w in $(_mhcl_servers "${diag[@]}"); do
				[[ $w == init ]] || choices+=" $w"
			done
			;;
		sidecar) choices="list online checksum" ;;
		guest) choices="shutdown reboot" ;;
		storage) choices="attach detach" ;;
		net) choices="capture" ;;
		esac
	fi
	mapfile -t COMPREPLY < <(compgen -W "$choices" -- "$cur")
	return 0
}

complete -F _mhcl mhcl
