// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * flowevent.c - the names of flow events and of the reasons flows end;
 * see flowevent.h. The events themselves are built by the engine
 * (enginelife.c) and carried by evhub.c.
 */
#include "flowevent.h"

static const char *const end_names[FEND_COUNT] = {
	[FEND_NONE] = "none",	    [FEND_EXPIRED] = "expired",
	[FEND_CLOSED] = "closed",   [FEND_REOPENED] = "reopened",
	[FEND_EVICTED] = "evicted", [FEND_FLUSHED] = "flushed",
	[FEND_STOPPED] = "stopped",
};

static const char *const type_names[FEV_TYPES] = {
	[FEV_NEW] = "NEW",	   [FEV_UPDATE] = "UPDATE",
	[FEV_DESTROY] = "DESTROY", [FEV_REFUSED] = "REFUSED",
	[FEV_ACTIVE] = "ACTIVE",
};

const char *flow_end_name(enum flow_end e)
{
	return (unsigned)e < FEND_COUNT ? end_names[e] : "?";
}

const char *flow_event_name(enum flow_event_type t)
{
	return (unsigned)t < FEV_TYPES ? type_names[t] : "?";
}
