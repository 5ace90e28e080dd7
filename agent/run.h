/*
 * run.h: the inbound agent's main job: connect to the controller and keep the channel up,
 * reconnecting as agent.jar does (the connection supervisor).
 */
#ifndef AG_AGENT_RUN_H
#define AG_AGENT_RUN_H

#include "conf.h"

/* Run until the agent gives up or is told to stop. Returns the process exit status. */
int agent_run(const struct agent_conf *conf);

#endif
