#include <stdio.h>

#include "cmd.h"

int floe_cmd_stun(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "floe stun: not built yet\n");
    return 1;
}
