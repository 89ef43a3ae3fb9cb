# bash completion for meshcontrol(8)                      -*- shell-script -*-
# SPDX-License-Identifier: MIT
#
# Installed as /usr/share/bash-completion/completions/meshcontrol. User and
# node names come from the running server (meshcontrol ... list --json), read
# through the same --config; when it cannot be asked, they are not offered.

_meshcontrol_names()
{
	local config=$1 group=$2 json
	json=$(meshcontrol ${config:+--config "$config"} "$group" list --json 2>/dev/null) ||
		return 0
	printf '%s\n' "$json" | grep -o '"name"[[:space:]]*:[[:space:]]*"[^"]*"' |
		sed -e 's/.*"\([^"]*\)"$/\1/'
}

_meshcontrol()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=""
	local config="" i w flags words
	local -a pos=()

	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	[[ $prev == "=" ]] && ((COMP_CWORD > 1)) && prev=${COMP_WORDS[COMP_CWORD - 2]}
	[[ $cur == "=" ]] && cur=""

	# Positional words before the cursor, without flags and their values.
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		--config | -c | --user | --tags | --expiration)
			[[ ${COMP_WORDS[i + 1]} == "=" ]] && ((i++))
			[[ $w == --config || $w == -c ]] && config=${COMP_WORDS[i + 1]}
			((i++))
			;;
		-*) ;;
		*) pos+=("$w") ;;
		esac
	done

	case $prev in
	--config | -c)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return 0
		;;
	--user)
		mapfile -t COMPREPLY < <(compgen -W "$(_meshcontrol_names "$config" users)" -- "$cur")
		return 0
		;;
	--tags)
		mapfile -t COMPREPLY < <(compgen -W "tag:" -- "$cur")
		compopt -o nospace 2>/dev/null
		return 0
		;;
	--expiration)
		mapfile -t COMPREPLY < <(compgen -W "1h 24h 7d 30d 90d" -- "$cur")
		return 0
		;;
	esac

	if [[ $cur == -* ]]; then
		case "${pos[0]} ${pos[1]}" in
		"authkeys create") flags="--user --reusable --ephemeral --tags --expiration" ;;
		"nodes register") flags="--user" ;;
		"users list" | "authkeys list" | "nodes list" | "routes list") flags="--json" ;;
		*) flags="" ;;
		esac
		((${#pos[@]} == 0)) && flags="--version"
		mapfile -t COMPREPLY < <(compgen -W "$flags --config --help" -- "$cur")
		return 0
	fi

	case ${#pos[@]} in
	0) words="serve configtest users authkeys nodes routes policy help" ;;
	1)
		case ${pos[0]} in
		users) words="create list delete" ;;
		authkeys) words="create list revoke" ;;
		nodes) words="list delete expire rename register" ;;
		routes) words="list approve unapprove" ;;
		policy) words="get set" ;;
		*) words="" ;;
		esac
		;;
	2)
		case "${pos[0]} ${pos[1]}" in
		"users delete") words=$(_meshcontrol_names "$config" users) ;;
		"nodes delete" | "nodes expire" | "nodes rename" | "routes approve" | "routes unapprove")
			words=$(_meshcontrol_names "$config" nodes)
			;;
		"policy set")
			mapfile -t COMPREPLY < <(compgen -f -- "$cur")
			return 0
			;;
		*) words="" ;;
		esac
		;;
	*) words="" ;;
	esac
	mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
	return 0
}

complete -F _meshcontrol meshcontrol
