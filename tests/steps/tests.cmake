# End-to-end tests of build steps (issue 8, spec callables.md A.3): the real jenkins-agent against
# the test controller's flows (tests/controller/src/nativeagent/testctl/flows/FreestyleFlow.java).
# Label e2e; serialised with the channel tests' lock because each starts a JVM.
find_package(Java 17 QUIET COMPONENTS Runtime)
if(NOT Java_JAVA_EXECUTABLE)
    return()
endif()
set(_steps_classes "${CMAKE_BINARY_DIR}/tests/controller/classes")
set(_steps_dir "${CMAKE_BINARY_DIR}/tests/steps")

function(ag_steps_e2e name scenario)
    add_test(NAME e2e.steps.${name}
        COMMAND sh "${CMAKE_SOURCE_DIR}/tests/channel/run-e2e.sh" "${Java_JAVA_EXECUTABLE}"
                "${_steps_classes}" "$<TARGET_FILE:jenkins-agent>" "${_steps_dir}" "${name}"
                "${scenario}" ${ARGN})
    set_tests_properties(e2e.steps.${name} PROPERTIES LABELS e2e TIMEOUT 60
        RESOURCE_LOCK testctl_channel)
endfunction()

ag_steps_e2e(freestyle "freestyle:3")
ag_steps_e2e(freestyle_ok "freestyle:0")
ag_steps_e2e(freestyle_abort "freestyle-abort")
ag_steps_e2e(killtask "killtask")
ag_steps_e2e(many "steps-many:8")
ag_steps_e2e(stream_50m "steps-stream:52428800")
ag_steps_e2e(freestyle_ws "freestyle:1" -webSocket)

# Pipes under load (issue 6; PipeFlow.java, tests/controller/CHANNEL.md). The agent's exit status
# and a clean sanitizer log are checked too (E2E_AGENT_EXIT). The 1 GiB transfers each way take
# about 25 s in a plain build; under ASan the controller->agent direction runs at ~11 MiB/s, so a
# sanitizer build moves 256 MiB each way instead (the same code paths, ~25 s).
if(AGENT_SANITIZE)
    set(_pipe_bytes 268435456)
    set(_pipe_ws_bytes 67108864)
    # ASan's quarantine keeps freed memory (256 MiB by default) and would hide the bound being
    # checked: hold it to 4 MiB for the memory tests.
    set(_pipe_asan "E2E_ASAN_OPTIONS=quarantine_size_mb=4")
    set(_pipe_rss_kb 16384)
else()
    set(_pipe_bytes 1073741824)
    set(_pipe_ws_bytes 268435456)
    set(_pipe_asan "E2E_ASAN_OPTIONS=")
    set(_pipe_rss_kb 4096)
endif()

function(ag_pipe_e2e name timeout exit scenario)
    ag_steps_e2e(${name} "${scenario}" ${ARGN})
    math(EXPR _t "${timeout} + 30") # JVM start, keys, the agent's exit
    set_tests_properties(e2e.steps.${name} PROPERTIES TIMEOUT ${_t}
        ENVIRONMENT "E2E_AGENT_EXIT=${exit};E2E_AGENT_TIMEOUT=${timeout};${_pipe_asan}")
endfunction()

ag_pipe_e2e(pipe_out 240 0 "pipe-out:${_pipe_bytes}")
ag_pipe_e2e(pipe_in 240 0 "pipe-in:${_pipe_bytes}")
# The same over WebSocket (256 MiB, 64 MiB under ASan). The window does not depend on the
# transport: pipe-stall runs over JNLP4 only (it passes over WebSocket too).
ag_pipe_e2e(pipe_out_ws 120 0 "pipe-out:${_pipe_ws_bytes}" -webSocket)
ag_pipe_e2e(pipe_in_ws 120 0 "pipe-in:${_pipe_ws_bytes}" -webSocket)
# The controller stops reading for 4 s after 4 MiB: the child must block, at most the window may
# be in flight, and the agent's VmHWM stays within _pipe_rss_kb of its size before the launch.
ag_pipe_e2e(pipe_stall 90 0 "pipe-stall:67108864:4000:${_pipe_rss_kb}")
# Close from either side while cat echoes a controller stream back (both directions busy).
# (pipe-cut:close with -noReconnect passes too; the CI runs it as pipe_cut_close_reconnect below.)
ag_pipe_e2e(pipe_cut_drop 60 0 "pipe-cut:drop")
ag_pipe_e2e(pipe_cut_term 60 143 "pipe-cut:term")
# Without -noReconnect the agent connects again after a cut link or the controller's close, as
# agent.jar does: two sessions of the same scenario, then SIGTERM (143).
ag_pipe_e2e(pipe_cut_drop_reconnect 90 143 "pipe-cut:drop:reconnect")
set_property(TEST e2e.steps.pipe_cut_drop_reconnect APPEND PROPERTY ENVIRONMENT "E2E_SESSIONS=2")
ag_pipe_e2e(pipe_cut_close_reconnect 90 143 "pipe-cut:close:reconnect")
set_property(TEST e2e.steps.pipe_cut_close_reconnect APPEND PROPERTY ENVIRONMENT "E2E_SESSIONS=2")
# Thousands of pings each way (the agent's every 2 ms through the AG_TEST_PING_MS knob): every
# one answered, and the agent's VmRSS flat after the warm-up.
ag_pipe_e2e(ping_soak 90 0 "ping-soak:8000:2048:1000")
set_property(TEST e2e.steps.ping_soak APPEND PROPERTY ENVIRONMENT "AG_TEST_PING_MS=2")
