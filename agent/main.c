/*
 * main.c: the jenkins-agent binary. Parses the configuration and hands over to the mode it
 * selects. The command line is agent.jar's (shared/spec/transport.md section 2).
 */
#include <stdio.h>
#include <string.h>

#include "version.h"

int
main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-version") == 0 || strcmp(argv[i], "--version") == 0) {
            (void)printf("%s\n", AG_REMOTING_VERSION);
            return 0;
        }
    }
    (void)fprintf(stderr, "jenkins-agent %s: nothing implemented yet\n", AG_VERSION);
    return 2;
}
