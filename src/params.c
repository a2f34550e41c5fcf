// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * params.c - the configuration, as the engines' parameters; see params.h.
 * Outside the core: it reads struct conf, which the core never includes.
 */
#include <string.h>

#include "conf.h"
#include "group.h"
#include "params.h"

_Static_assert(CONF_QUEUES_MAX <= GROUP_MAX, "a group for every queue");

_Static_assert(sizeof(((struct conf *)0)->timeout) ==
		       sizeof(((struct engine_params *)0)->timeout),
	       "one timeout per class on both sides");
_Static_assert(sizeof(((struct conf *)0)->exempt) ==
		       sizeof(((struct engine_params *)0)->exempt),
	       "as many exempt prefixes on both sides");
_Static_assert(sizeof(((struct conf *)0)->max_proto) ==
		       sizeof(((struct engine_params *)0)->max_proto),
	       "one cap per protocol class on both sides");

void params_from_conf(struct engine_params *p, const struct conf *c)
{
	memset(p, 0, sizeof(*p));
	p->max_flows = c->max_flows;
	p->buckets = conf_buckets(c);
	p->accounting = c->accounting;
	p->invalid_drop = c->invalid_verdict == CONF_DROP;
	p->fragment_drop = c->fragment_verdict == CONF_DROP;
	p->copy_range_drop = c->copy_range_verdict == CONF_DROP;
	p->checksum = c->checksum;
	p->enforce = c->enforce;
	memcpy(p->timeout, c->timeout, sizeof(p->timeout));
	p->tcp_max_retrans = c->tcp_max_retrans;
	p->tcp_loose = c->tcp_loose;
	p->tcp_liberal = c->tcp_liberal;
	p->tcp_ignore_invalid_rst = c->tcp_ignore_invalid_rst;
	p->on_full = c->on_full;
	p->reserve = c->reserve;
	p->midstream_max_percent = c->midstream_max_percent;
	memcpy(p->max_proto, c->max_proto, sizeof(p->max_proto));
	p->max_flows_per_source = c->max_flows_per_source;
	p->max_new_per_source = c->max_new_per_source;
	p->max_new_per_source_burst = c->max_new_per_source_burst;
	p->source_prefix4 = (uint8_t)c->source_prefix4;
	p->source_prefix6 = (uint8_t)c->source_prefix6;
	p->max_sources = conf_max_sources(c);
	p->nexempt = c->nexempt;
	memcpy(p->exempt, c->exempt, sizeof(p->exempt));
	p->exempt_max_percent = c->exempt_max_percent;
	p->exempt_evict_assured = c->exempt_evict_assured;
	p->adaptive_start = c->adaptive_start;
	p->adaptive_end = c->adaptive_end;
	p->adaptive_unassured_factor = c->adaptive_unassured_factor;
	p->warn_at = c->warn_at;
	p->fastpath_check_interval = c->fastpath_check_interval;
}
