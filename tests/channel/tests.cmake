# End-to-end tests of the remoting channel (remoting/): the real jenkins-agent against the test
# controller's channel scenarios (tests/controller/CHANNEL.md). Label e2e; serialised with a
# resource lock because each starts a JVM. tests/controller/tests.cmake (included after this
# file) builds the controller into ${CMAKE_BINARY_DIR}/tests/controller/classes (target testctl,
# part of ALL).
find_package(Java 17 QUIET COMPONENTS Runtime)
if(NOT Java_JAVA_EXECUTABLE)
    return()
endif()
set(_ch_classes "${CMAKE_BINARY_DIR}/tests/controller/classes")
set(_ch_dir "${CMAKE_BINARY_DIR}/tests/channel")

function(ag_channel_e2e name scenario)
    add_test(NAME e2e.channel.${name}
        COMMAND sh "${CMAKE_CURRENT_LIST_DIR}/run-e2e.sh" "${Java_JAVA_EXECUTABLE}"
                "${_ch_classes}" "$<TARGET_FILE:jenkins-agent>" "${_ch_dir}" "${name}"
                "${scenario}" ${ARGN})
    set_tests_properties(e2e.channel.${name} PROPERTIES LABELS e2e TIMEOUT 60
        RESOURCE_LOCK testctl_channel)
endfunction()

ag_channel_e2e(ping "ping:5")
ag_channel_e2e(unsupported "unsupported")
ag_channel_e2e(close "close")
ag_channel_e2e(idle "idle:2000")
ag_channel_e2e(stream "stream")
ag_channel_e2e(trace_capture "ping:2" --trace=channel "--capture=${_ch_dir}/trace_capture.cap")

# The capture written by trace_capture decodes with `jenkins-agent decode`, and the trace shows
# both directions with the readable dump.
set_tests_properties(e2e.channel.trace_capture PROPERTIES FIXTURES_SETUP channel_capture)
add_test(NAME e2e.channel.capture_decodes
    COMMAND sh -c "\"$1\" decode \"$2\" > \"$2.txt\" && grep -q 'controller->agent' \"$2.txt\" && grep -q 'agent->controller' \"$2.txt\" && grep -q 'hudson.remoting.PingThread\\$Ping' \"$2.txt\" && grep -q 'channel FINEST: test-agent: <- ' \"$3\" && grep -q 'channel FINEST: test-agent: -> ' \"$3\" && grep -q 'hudson.remoting.UserRequest\\$NormalResponse' \"$3\""
            sh "$<TARGET_FILE:jenkins-agent>" "${_ch_dir}/trace_capture.cap" "${_ch_dir}/trace_capture.agent.log")
set_tests_properties(e2e.channel.capture_decodes PROPERTIES LABELS e2e TIMEOUT 30
    FIXTURES_REQUIRED channel_capture)

# ProxyWriter commands the agent cannot own (nativeagent.testctl.flows.WriterProbe): dropped
# without a reply, the channel and its I/O lane keep going.
ag_channel_e2e(writer_unknown "writer-unknown")
