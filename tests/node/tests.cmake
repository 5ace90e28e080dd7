# The node callables (docs/node.md): issue 7, "the node goes online and stays online".
#   node.javagen        tests/data/node/*.bin are what tests/node/NodeGen.java writes today
#   node.e2e.<case>     jenkins-agent against the test controller's online/monitors/pages
#                       scenarios (nativeagent.testctl.flows), label e2e; disconnect: after
#                       SlaveDisconnector the agent (without -noReconnect) exits by itself
find_package(Java 17 COMPONENTS Runtime Development)
if(NOT Java_FOUND OR NOT TARGET testctl)
    return()
endif()
set(_nodegen_classes "${CMAKE_BINARY_DIR}/tests/node/classes")
set(_nodegen_stamp "${CMAKE_BINARY_DIR}/tests/node/classes.stamp")
add_custom_command(OUTPUT "${_nodegen_stamp}"
    COMMAND "${CMAKE_COMMAND}" -E make_directory "${_nodegen_classes}"
    COMMAND "${Java_JAVAC_EXECUTABLE}" --release 17 -nowarn -cp "${TESTCTL_CLASSES}"
            -d "${_nodegen_classes}" "${CMAKE_CURRENT_LIST_DIR}/NodeGen.java"
    COMMAND "${CMAKE_COMMAND}" -E touch "${_nodegen_stamp}"
    DEPENDS "${CMAKE_CURRENT_LIST_DIR}/NodeGen.java" testctl
    COMMENT "Compiling tests/node/NodeGen.java")
add_custom_target(nodegen ALL DEPENDS "${_nodegen_stamp}")
add_test(NAME node.javagen
    COMMAND "${Java_JAVA_EXECUTABLE}" -cp "${_nodegen_classes}:${TESTCTL_CLASSES}" NodeGen
            --check "${CMAKE_CURRENT_LIST_DIR}/../data/node")
set_tests_properties(node.javagen PROPERTIES LABELS unit TIMEOUT 30)

find_package(Python3 COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND)
    return()
endif()
# Shares the key store of tests/net (fixture e2e_keys), so only net.e2e.keys generates keys.
set(_node_cmd "${Python3_EXECUTABLE}" "${CMAKE_CURRENT_LIST_DIR}/e2e_node.py"
    --agent "$<TARGET_FILE:jenkins-agent>" --java "${Java_JAVA_EXECUTABLE}"
    --classes "${TESTCTL_CLASSES}" --keys "${CMAKE_BINARY_DIR}/tests/net/keys")
foreach(_c online online_ws monitors pages disconnect)
    if(_c STREQUAL "online_ws")
        add_test(NAME node.e2e.${_c} COMMAND ${_node_cmd} online --websocket)
    elseif(_c STREQUAL "disconnect")
        add_test(NAME node.e2e.${_c} COMMAND ${_node_cmd} disconnect --reconnect)
    else()
        add_test(NAME node.e2e.${_c} COMMAND ${_node_cmd} ${_c})
    endif()
    set_tests_properties(node.e2e.${_c} PROPERTIES LABELS e2e TIMEOUT 60 SKIP_RETURN_CODE 77)
    if(TEST net.e2e.keys)
        set_tests_properties(node.e2e.${_c} PROPERTIES FIXTURES_REQUIRED e2e_keys)
    endif()
endforeach()
