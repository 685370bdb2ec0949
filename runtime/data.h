/* data.h: a thin umbrella, like core.h, for files not yet moved to the
 * headers by concept (shm.c). Goes with core.h. */
#pragma once

#include "core.h"
