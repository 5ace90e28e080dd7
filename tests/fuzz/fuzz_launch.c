/* Fuzz the build-step callables (agent/callables_launch.c): the input is one serialized callable
 * (RemoteLaunchCallable, KillTask, ...), delivered as a UserRequest to a channel on an in-memory
 * link with the launch table registered. The channel has no loop, so a callable that parses
 * completely is refused with "no event loop" before anything is started: what is fuzzed is the
 * reading of cmd lists, masks, env arrays, listeners, filter wrappers and kill models. Nothing may
 * crash or leak. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_callable.h"
#include "launch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (agent_launch_register() != 0) {
        return 0;
    }
    fuzz_deliver_callable(data, size);
    return 0;
}
