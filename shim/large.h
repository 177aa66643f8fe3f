/* The large path: routes, their pools and statistics, for start-up, the
 * malloc extras and the report. */
#ifndef AMLSHIM_LARGE_H
#define AMLSHIM_LARGE_H

#include "pool.h"
#include "routes.h"
#include "stats.h"

#endif
