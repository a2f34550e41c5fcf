# /etc/nfqtrack/ufw/before.rules.sed - ufw's state rules on nfqtrackd's
# marks. See "ufw" in the README.
#
#     sed -i -f /etc/nfqtrack/ufw/before.rules.sed /etc/ufw/before.rules /etc/ufw/before6.rules
#
# After each of ufw's lines that accept RELATED,ESTABLISHED (input, output)
# and drop INVALID (input), the same line on nfqtrackd's mark, tagged with
# the comment "nfqtrack". ufw's own lines stay: they still serve the
# traffic the kernel tracks (other interfaces, forwarding), and never match
# nfqtrackd's traffic, which the kernel sees as UNTRACKED. ufw's other lines
# are left as they are. Running it again changes nothing (its lines are
# taken out and made anew); to take them out for good:
#     sed -i '/--comment nfqtrack /d' /etc/ufw/before.rules /etc/ufw/before6.rules
#
# The marks are those of the default mark_mask (0x3f000000); for another
# mask, `nfqtrackd --marks` prints the values to put here:
#     ESTABLISHED,RELATED  0x05000000/0x0d000000
#     INVALID              0x09000000/0x0f000000

/ -m comment --comment nfqtrack /d
/^-A ufw6\{0,1\}-before-\(input\|output\) -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT$/{
p
s|-m conntrack --ctstate RELATED,ESTABLISHED|-m mark --mark 0x05000000/0x0d000000 -m comment --comment nfqtrack|
}
/^-A ufw6\{0,1\}-before-input -m conntrack --ctstate INVALID -j /{
p
s|-m conntrack --ctstate INVALID|-m mark --mark 0x09000000/0x0f000000 -m comment --comment nfqtrack|
}
