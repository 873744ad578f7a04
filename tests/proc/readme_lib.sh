#!/bin/bash
# readme_lib.sh - run README.md's blocks as tests (sourced by
# tests/proc/test_readme_*.sh; not a test itself).
#
# A README block a test runs is marked by an HTML comment on the line
# before its opening fence:
#
#   <!-- test: NAME -->
#   ```sh
#   ...
#   ```
#
# readme_block NAME prints the block's lines (without the fences).  Two
# kinds of blocks:
#
#  - command blocks (no "$ " prompts): the test reads the commands with
#    readme_commands and runs them itself, one by one, as written;
#  - transcripts: lines "$ COMMAND" followed by the output the README
#    shows.  readme_transcript runs each COMMAND with bash in a given
#    directory (stdout and stderr together, as a terminal shows them) and
#    compares its output with the README's lines, after these rules:
#      * a number with 3 or more digits or a decimal point (pids, ports,
#        times, packet counts) matches any number of that form; smaller
#        integers (member counts, values) and dotted numbers (addresses
#        like 127.0.0.11) must be equal;
#      * a hex string of 16 or more characters (a digest) matches any hex
#        string of the same length;
#      * a line "..." (indented or not) matches the rest of that
#        command's output;
#      * trailing blanks are ignored; README_PATHS ("FROM=TO" words)
#        rewrites actual output first (the README shortens paths);
#      * a COMMAND whose comment contains "later" is re-run until its
#        output matches, for up to README_LATER_S seconds (default 30):
#        the README shows the state the system reaches, not the moment.
#    Exit statuses are not compared (the README does not show them).
#
# Every function prints what it checks; README_FAILS counts failures.
# README_SHOW=FILE appends each transcript command and its actual output
# (paths rewritten) to FILE: real output to paste into the README.

README=${README:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/README.md}
README_FAILS=0
README_PATHS=()
README_LATER_S=${README_LATER_S:-30}

readme_fail() { echo "FAIL: $*"; README_FAILS=$((README_FAILS + 1)); }

# readme_block NAME: the lines of the block marked NAME; exit 1 (with a
# message) when there is none or it is empty.
readme_block() {
	local out
	out=$(awk -v name="$1" '
		$0 == "<!-- test: " name " -->" { want = 1; next }
		want && /^```/ { if (on) exit; on = 1; next }
		want && !on { want = 0 }
		on { print }' "$README")
	if [[ -z $out ]]; then
		echo "README.md has no block marked <!-- test: $1 --> (or it is empty)" >&2
		exit 1
	fi
	printf '%s\n' "$out"
}

# readme_commands NAME: the commands of a command block, one per line:
# comment-only and blank lines dropped, "  # comment" tails kept (bash
# ignores them).
readme_commands() {
	readme_block "$1" | awk '!/^[[:space:]]*(#|$)/'
}

# readme_strip_comment LINE: LINE without its shell comment (a '#' after a
# blank, outside quotes) and trailing blanks, as bash would read it.
readme_strip_comment() {
	local s=$1 out= q= c prev=' ' i
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		if [[ -z $q ]]; then
			[[ $c == '#' && $prev == [[:space:]] ]] && break
			[[ $c == "'" || $c == '"' ]] && q=$c
		elif [[ $c == "$q" ]]; then
			q=
		fi
		out+=$c
		prev=$c
	done
	readme_rtrim "$out"
}

# readme_line_regex LINE: the extended regex a README output line stands
# for (anchored; see the rules above).  Tokens are taken left to right, so
# a small integer followed by a non-digit cannot match a longer number.
readme_line_regex() {
	local s=$1 out='^' c
	while [[ -n $s ]]; do
		if [[ $s =~ ^([0-9a-f]{16,})([^0-9a-zA-Z]|$) ]]; then
			out+="[0-9a-f]{${#BASH_REMATCH[1]}}"
			s=${s:${#BASH_REMATCH[1]}}
		elif [[ $s =~ ^([0-9]+(\.[0-9]+){2,}) ]]; then
			out+=${BASH_REMATCH[1]//./\\.}
			s=${s:${#BASH_REMATCH[1]}}
		elif [[ $s =~ ^([0-9]+\.[0-9]+|[0-9]{3,}) ]]; then
			out+='[0-9]+(\.[0-9]+)?'
			s=${s:${#BASH_REMATCH[1]}}
		elif [[ $s =~ ^([0-9a-zA-Z_]+) ]]; then
			out+=${BASH_REMATCH[1]}
			s=${s:${#BASH_REMATCH[1]}}
		else
			c=${s:0:1}
			s=${s:1}
			case $c in
			[][\\.^\$*+?\(\)\{\}\|]) out+="\\$c" ;;
			*) out+=$c ;;
			esac
		fi
	done
	printf '%s$' "$out"
}

readme_rtrim() { local l=$1; printf '%s' "${l%"${l##*[![:space:]]}"}"; }

# readme_match EXPECTED ACTUAL: 0 when the actual output (text) matches the
# README's lines (text) by the rules above; otherwise prints the first
# difference.
readme_match() {
	local -a want got
	local i r w g
	mapfile -t want <<<"$1"
	mapfile -t got <<<"$2"
	[[ -z $1 ]] && want=()
	[[ -z $2 ]] && got=()
	for ((i = 0; i < ${#want[@]}; i++)); do
		w=$(readme_rtrim "${want[i]}")
		[[ ${w#"${w%%[![:space:]]*}"} == "..." ]] && return 0
		if ((i >= ${#got[@]})); then
			echo "  line $((i + 1)): missing, want '$w'"
			return 1
		fi
		g=$(readme_rtrim "${got[i]}")
		r=$(readme_line_regex "$w")
		if ! [[ $g =~ $r ]]; then
			echo "  line $((i + 1)): got  '$g'"
			echo "  line $((i + 1)): want '$w'"
			return 1
		fi
	done
	if ((${#got[@]} > ${#want[@]})); then
		echo "  line $((${#want[@]} + 1)): unexpected '${got[${#want[@]}]}'"
		return 1
	fi
	return 0
}

# readme_run DIR COMMAND: runs COMMAND with bash in DIR, stdout and stderr
# together, README_PATHS rewrites applied; prints the output.
readme_run() {
	local out p
	out=$(cd "$1" && bash -c "$2" 2>&1)
	for p in "${README_PATHS[@]+"${README_PATHS[@]}"}"; do
		out=${out//"${p%%=*}"/"${p#*=}"}
	done
	printf '%s' "$out"
}

# readme_transcript NAME DIR: runs the transcript block NAME in DIR (see the
# rules above).  Returns 1 at the first command whose output differs (the
# commands after it would run on a state the README does not describe).
readme_transcript() {
	local name=$1 dir=$2 line cmd= want= n=0
	local -a cmds=() wants=()
	while IFS= read -r line; do
		if [[ $line == '$ '* ]]; then
			[[ -n $cmd ]] && cmds+=("$cmd") && wants+=("$want")
			cmd=${line#'$ '} want=
		elif [[ -n $cmd ]]; then
			want+=${want:+$'\n'}$line
		fi
	done < <(readme_block "$name")
	[[ -n $cmd ]] && cmds+=("$cmd") && wants+=("$want")
	((${#cmds[@]} > 0)) || { readme_fail "$name: no '\$ ' commands in the block"; return 1; }
	local i got diff t0 deadline later
	for ((i = 0; i < ${#cmds[@]}; i++)); do
		cmd=${cmds[i]}
		later=0
		[[ $cmd == *'#'*later* ]] && later=1
		t0=$(date +%s%N)
		deadline=$((SECONDS + README_LATER_S))
		while :; do
			got=$(readme_run "$dir" "$cmd")
			diff=$(readme_match "${wants[i]}" "$got") && break
			((later && SECONDS < deadline)) || break
			sleep 0.2
		done
		local ms=$((($(date +%s%N) - t0) / 1000000))
		if [[ -n $diff ]]; then
			readme_fail "$name: \$ $cmd (after $ms ms)"
			printf '%s\n' "$diff"
			echo "  full output:"
			printf '%s\n' "$got" | sed 's/^/    /'
			return 1
		fi
		n=$((n + 1))
		echo "ok: $name: \$ $cmd ($ms ms)"
		[[ -n ${README_SHOW:-} ]] && printf '%s\n' "\$ $cmd" "$got" >>"$README_SHOW"
	done
	echo "ok: $name: ${n} commands, output as in README.md"
}
