#!/usr/bin/env bats
# bash completion for amlshim (dist/bash-completion/amlshim): the function
# is sourced and driven as bash would (COMP_LINE, COMP_POINT, COMP_WORDS
# split at '=' and ':' the way bash splits them, COMP_CWORD), and COMPREPLY
# checked: every option of --help, policy names, node numbers of this
# machine (/sys/devices/system/node), values, the command after the
# options, and that command's own completion under bash-completion.

load helpers

COMPLETION=$TESTS_ROOT/dist/bash-completion/amlshim

setup() {
	clean_environment
	require_build cli
	# shellcheck source=/dev/null
	source "$COMPLETION"
}

# complete_line LINE: runs the completion with the cursor at the end of
# LINE; the replies end up in COMPREPLY (and, sorted, in $REPLIES).
complete_line() {
	COMP_LINE=$1
	COMP_POINT=${#1}
	COMP_WORDBREAKS=$' \t\n"\'><=;|&(:'
	# bash's own split: words at blanks, and '=' and ':' as words of their own.
	local spaced=${1//=/ = }
	spaced=${spaced//:/ : }
	read -ra COMP_WORDS <<<"$spaced"
	[[ $1 == *' ' ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_amlshim amlshim "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	REPLIES=$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ')
	REPLIES=${REPLIES% }
}

# The node numbers of this machine, sorted as strings.
machine_nodes() {
	local d
	for d in /sys/devices/system/node/node[0-9]*; do echo "${d##*/node}"; done
}

@test "completion is registered for amlshim and offers every option of --help" {
	run complete -p amlshim
	assert_success
	assert_output --partial '-F _amlshim'
	complete_line 'amlshim -'
	local opt
	for opt in $("$AMLSHIM" --help | grep -o -- '--[a-z-]*' | sort -u); do
		[[ " $REPLIES " == *" $opt"[=\ ]* ]] || fail "--help has $opt, the completion does not: $REPLIES"
	done
	complete_line 'amlshim --pol'
	assert_equal "$REPLIES" '--policy='
	complete_line 'amlshim --ex'
	assert_equal "$REPLIES" '--explain'
}

@test "policy names after --policy= and --policy, and the small-object subset after --small=" {
	complete_line 'amlshim --policy='
	local p
	for p in default local bind: preferred: interleave interleave: block-interleave: bandwidth latency capacity \
		cuda-mapped cuda-managed; do
		[[ " $REPLIES " == *" $p "* ]] || fail "--policy= lacks $p: $REPLIES"
	done
	complete_line 'amlshim --policy=in'
	assert_equal "$REPLIES" 'interleave interleave:'
	complete_line 'amlshim --policy b'
	assert_equal "$REPLIES" 'bandwidth bind: block-interleave:'
	complete_line 'amlshim --small='
	[[ " $REPLIES " != *" block-interleave:"* && " $REPLIES " != *cuda* ]] || fail "--small= offers $REPLIES"
	[[ " $REPLIES " == *" interleave "* ]] || fail "--small= lacks interleave: $REPLIES"
}

@test "node numbers of this machine after bind:, interleave: and preferred:" {
	local want
	want=$(
		machine_nodes
		echo all
	)
	want=$(echo "$want" | sort | tr '\n' ' ')
	complete_line 'amlshim --policy=bind:'
	assert_equal "$REPLIES" "${want% }"
	complete_line 'amlshim --policy=interleave:'
	assert_equal "$REPLIES" "${want% }"
	want=$(machine_nodes | sort | tr '\n' ' ')
	complete_line 'amlshim --policy=preferred:'
	assert_equal "$REPLIES" "${want% }"
	local first
	first=$(machine_nodes | head -n 1)
	complete_line "amlshim --small=bind:$first,"
	[[ " $REPLIES " == *" $first,$first "* ]] || fail "a list in progress: $REPLIES"
}

@test "values of --mmap, --log, --stats and --threshold" {
	complete_line 'amlshim --mmap=o'
	assert_equal "$REPLIES" 'off on'
	complete_line 'amlshim --log='
	assert_equal "$REPLIES" 'debug error info warn'
	complete_line 'amlshim --stats=j'
	assert_equal "$REPLIES" 'json'
	complete_line 'amlshim --threshold=1'
	[[ " $REPLIES " == *" 1M "* ]] || fail "--threshold=1: $REPLIES"
}

@test "after the options: the command, then (with bash-completion) that command's completion" {
	complete_line 'amlshim --policy=interleave pyth'
	[[ " $REPLIES " == *" python3 "* ]] || fail "no python3 among: $REPLIES"
	complete_line 'amlshim --policy interleave -- ech'
	[[ " $REPLIES " == *" echo "* ]] || fail "no echo among: $REPLIES"
	local bc=/usr/share/bash-completion/bash_completion
	if [ ! -f "$bc" ]; then
		[ "${CI:-}" = true ] && fail "CI=true: bash-completion is not installed"
		skip "bash-completion is not installed"
	fi
	# shellcheck source=/dev/null
	source "$bc" >/dev/null 2>&1 || true
	source "$COMPLETION"
	# bash-completion's functions are not written for errexit.
	set +e
	complete_line 'amlshim --policy=interleave -- ls --almost-al'
	set -e
	assert_equal "$REPLIES" '--almost-all'
}

@test "profile and advise: subcommand names, their options, --fast values, the command after --" {
	complete_line 'amlshim prof'
	[[ " $REPLIES " == *" profile "* ]] || fail "replies: $REPLIES"
	complete_line 'amlshim adv'
	[[ " $REPLIES " == *" advise "* ]] || fail "replies: $REPLIES"
	local opt
	for opt in $("$AMLSHIM" profile --help | grep -o -- '--[a-z-]*' | sort -u); do
		complete_line "amlshim profile $opt"
		[[ " $REPLIES " == *" $opt"[=\ ]* ]] || fail "profile --help has $opt, the completion does not: $REPLIES"
	done
	for opt in $("$AMLSHIM" advise --help | grep -o -- '--[a-z-]*' | sort -u); do
		complete_line "amlshim advise $opt"
		[[ " $REPLIES " == *" $opt"[=\ ]* ]] || fail "advise --help has $opt, the completion does not: $REPLIES"
	done
	complete_line 'amlshim advise p.json --fast='
	[[ " $REPLIES " == *" bandwidth "* && " $REPLIES " == *" hbm "* && " $REPLIES " == *" $(machine_nodes | head -n1) "* ]] ||
		fail "replies: $REPLIES"
	complete_line 'amlshim profile --depth=4 -- ech'
	[[ " $REPLIES " == *" echo "* ]] || fail "replies: $REPLIES"
}
