# readme.awk README.md: the commands of the README's deployment walkthrough,
# for tests/systemd/run.sh to run as written. In the "## Deployment"
# section, every fenced block whose info string begins with "sh" holds
# commands, and so does a block tagged "sh WORD" anywhere in the README
# (```sh ufw: the ufw setup, wherever its subsection sits); for each
# command (lines joined at a trailing backslash; blank and comment lines
# left out) prints the block's info string and the command, each ended by
# a NUL. Other blocks (the rules as they read, a config excerpt) are text.
/^## / { in_section = ($0 == "## Deployment") }
!in_block && /^```sh( |$)/ && (in_section || /^```sh [^ ]/) {
	in_block = 1
	info = substr($0, 4)
	cmd = ""
	next
}
in_block && /^```$/ { in_block = 0; next }
!in_block { next }
{
	line = $0
	if (cmd == "" && (line ~ /^[ \t]*$/ || line ~ /^[ \t]*#/))
		next
	if (line ~ /\\$/) {
		cmd = cmd substr(line, 1, length(line) - 1)
		next
	}
	cmd = cmd line
	printf "%s%c%s%c", info, 0, cmd, 0
	cmd = ""
}
