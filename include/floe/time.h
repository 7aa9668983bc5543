/* floe: time is a parameter, never read by the core.
 *
 * Every sans-IO object takes "now" as a uint64_t count of nanoseconds on a monotonic
 * clock chosen by the runtime (the POSIX runtime uses CLOCK_MONOTONIC, the simulator its
 * virtual clock). Deadlines use the same unit; FLOE_TIME_NEVER means "no deadline". */
#ifndef FLOE_TIME_H
#define FLOE_TIME_H

#include <stdint.h>

typedef uint64_t floe_time_ns;

#define FLOE_NS_PER_US UINT64_C(1000)
#define FLOE_NS_PER_MS UINT64_C(1000000)
#define FLOE_NS_PER_S UINT64_C(1000000000)
#define FLOE_MS(x) ((floe_time_ns)(x)*FLOE_NS_PER_MS)
#define FLOE_S(x) ((floe_time_ns)(x)*FLOE_NS_PER_S)
#define FLOE_TIME_NEVER UINT64_MAX

#endif
