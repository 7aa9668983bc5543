/* `floe demo`: a SIP call with ICE between two simulated NATs (work in progress). */
#include <stdio.h>

#include "cmd.h"

int floe_cmd_demo(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "floe demo: not built yet\n");
    return 1;
}
