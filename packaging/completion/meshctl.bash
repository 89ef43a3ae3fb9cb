# bash completion for meshctl(1)                          -*- shell-script -*-
# SPDX-License-Identifier: MIT
#
# Installed as /usr/share/bash-completion/completions/meshctl, which
# bash-completion loads the first time meshctl is completed. Self-contained:
# it uses only COMP_WORDS/COMP_CWORD, so it also works when sourced by hand.
# Peer names come from the running meshd (meshctl status --json); when meshd
# is not there, they are simply not offered.

_meshctl_peers()
{
	local socket=$1 json
	json=$(meshctl ${socket:+--socket "$socket"} status --json 2>/dev/null) || return 0
	# Every "name" of the status object but the first (this node).
	printf '%s\n' "$json" | grep -o '"name"[[:space:]]*:[[:space:]]*"[^"]*"' |
		sed -e 's/.*"\([^"]*\)"$/\1/' | tail -n +2
}

_meshctl_peer_ips()
{
	local socket=$1 json
	json=$(meshctl ${socket:+--socket "$socket"} status --json 2>/dev/null) || return 0
	printf '%s\n' "$json" | grep -o '"addresses"[[:space:]]*:[[:space:]]*\[[^]]*\]' |
		tail -n +2 | grep -o '"[0-9a-fA-F.:]*"' | tr -d '"'
}

_meshctl()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=""
	local commands="up set down logout status ip ping netcheck whois version help"
	local prefs="--login-server --hostname --advertise-routes --advertise-exit-node
		--accept-routes --accept-dns= --exit-node --exit-node-allow-lan-access
		--advertise-tags --shields-up --snat-subnet-routes="
	local cmd="" socket="" i w flags words

	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}

	# The command is the first word that is not a flag or a flag's value.
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		--socket)
			# "--socket PATH", or "--socket = PATH" as bash splits "--socket=PATH".
			if [[ ${COMP_WORDS[i + 1]} == "=" ]]; then
				((i++))
			fi
			socket=${COMP_WORDS[i + 1]}
			((i++))
			;;
		-*) ;;
		*)
			if [[ -z $cmd ]]; then
				cmd=$w
			fi
			;;
		esac
	done

	# bash splits "--flag=value" into "--flag", "=", "value" (COMP_WORDBREAKS).
	if [[ $cur == "=" ]]; then
		prev=${COMP_WORDS[COMP_CWORD - 1]}=
		cur=""
	elif [[ $prev == "=" ]] && ((COMP_CWORD > 1)); then
		prev=${COMP_WORDS[COMP_CWORD - 2]}=
	fi

	# Values of flags.
	case $prev in
	--socket | --socket=)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return 0
		;;
	--accept-dns= | --snat-subnet-routes= | --advertise-exit-node= | --accept-routes= | \
		--exit-node-allow-lan-access= | --shields-up= | --reset= | --json=)
		mapfile -t COMPREPLY < <(compgen -W "true false" -- "$cur")
		return 0
		;;
	--exit-node | --exit-node=)
		mapfile -t COMPREPLY < <(compgen -W "$(_meshctl_peers "$socket")" -- "$cur")
		return 0
		;;
	--auth-key | --auth-key=)
		if [[ $cur == file:* ]]; then
			mapfile -t COMPREPLY < <(compgen -P file: -f -- "${cur#file:}")
		else
			mapfile -t COMPREPLY < <(compgen -W "file:" -- "$cur")
		fi
		compopt -o nospace 2>/dev/null
		return 0
		;;
	--advertise-tags | --advertise-tags=)
		mapfile -t COMPREPLY < <(compgen -W "tag:" -- "$cur")
		compopt -o nospace 2>/dev/null
		return 0
		;;
	--login-server | --login-server=)
		mapfile -t COMPREPLY < <(compgen -W "https:// http://" -- "$cur")
		compopt -o nospace 2>/dev/null
		return 0
		;;
	--hostname | --hostname= | --advertise-routes | --advertise-routes= | --timeout | \
		--timeout= | -c)
		return 0
		;;
	esac

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "--socket --help --version" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
		fi
		return 0
	fi

	case $cmd in
	up) flags="$prefs --auth-key --reset --timeout --json" ;;
	set) flags=$prefs ;;
	status) flags="--json" ;;
	ip) flags="-4 -6" ;;
	ping) flags="-c" ;;
	*) flags="" ;;
	esac
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$flags --socket --help" -- "$cur")
		[[ ${COMPREPLY[*]} == *= ]] && compopt -o nospace 2>/dev/null
		return 0
	fi
	case $cmd in
	ip | ping) words=$(_meshctl_peers "$socket") ;;
	whois) words=$(_meshctl_peer_ips "$socket") ;;
	*) words="" ;;
	esac
	mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
	return 0
}

complete -F _meshctl meshctl
