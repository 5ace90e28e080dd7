#include "run.h"

#include "log.h"

/* Replaced by the connection supervisor (issue 5). */
int
agent_run(const struct agent_conf *conf)
{
    (void)conf;
    AG_LOG_SEVERE("agent", "connecting to a controller is not implemented yet");
    return 1;
}
