// The daemon's log type ("eamclat", registered with rte_log) and a printf-style macro over it.
// Level at run time: EAL's --log-level=eamclat:debug.
#pragma once

#include <rte_log.h>

extern int eamclat_logtype;

#define EAMCLAT_LOG(level, ...) \
    rte_log(RTE_LOG_##level, eamclat_logtype, "eamclat: " __VA_ARGS__)
