# Tests of the network half of the test controller (nativeagent.testctl.net): faithfulness to the
# golden captures and an in-process Java agent; none needs our C agent. Label: controller.
set(_testctl_keys "${CMAKE_BINARY_DIR}/tests/controller/keys")
foreach(_group golden jnlp4 websocket faults cli)
    add_test(NAME controller.net.${_group}
        COMMAND "${Java_JAVA_EXECUTABLE}" -Dgolden=${AG_SHARED_DIR}/golden -Dkeys=${_testctl_keys}
                -cp "${TESTCTL_CLASSES}" nativeagent.testctl.net.SelfTest ${_group})
    set_tests_properties(controller.net.${_group} PROPERTIES LABELS controller TIMEOUT 120)
endforeach()
