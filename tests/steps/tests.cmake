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
