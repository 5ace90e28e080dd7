# The WebSocket transport (protocol/ws.c) end to end against the test controller
# (tests/controller), through tests/ws/ws_driver.c, a small C driver that uses protocol/ws.h
# directly (no connection supervisor): ws:// and wss:// (with -cert and -noCertificateCheck),
# refusals, cookie reuse, pings. Label e2e.
add_executable(ws_driver "${CMAKE_CURRENT_LIST_DIR}/ws_driver.c")
target_link_libraries(ws_driver PRIVATE ag_proto)
find_package(Python3 COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND OR NOT TARGET testctl)
    return()
endif()
set(_ws_cmd "${Python3_EXECUTABLE}" "${CMAKE_CURRENT_LIST_DIR}/e2e.py"
    --driver "$<TARGET_FILE:ws_driver>" --agent "$<TARGET_FILE:jenkins-agent>" --java "${Java_JAVA_EXECUTABLE}"
    --classes "${TESTCTL_CLASSES}" --keys "${CMAKE_BINARY_DIR}/tests/ws/keys")
# ws: echo, 403, 400, cookie kept over two sessions, and jenkins-agent's 403 line; wss: -cert,
# -noCertificateCheck, untrusted certificate refused; ping: pongs keep a link with a short idle
# timeout alive. agent_*: the real jenkins-agent -webSocket (plain ws:// is net.e2e.websocket):
# wss with -cert @file and with -noCertificateCheck, a minimum version above ours (exit 1),
# reconnecting after the controller ends a session.
foreach(_c keys ws wss ping agent_wss agent_min_version agent_reconnect)
    add_test(NAME ws.e2e.${_c} COMMAND ${_ws_cmd} ${_c})
    set_tests_properties(ws.e2e.${_c} PROPERTIES LABELS e2e TIMEOUT 60 SKIP_RETURN_CODE 77)
    if(_c STREQUAL "keys")
        set_tests_properties(ws.e2e.${_c} PROPERTIES FIXTURES_SETUP ws_e2e_keys)
    else()
        set_tests_properties(ws.e2e.${_c} PROPERTIES FIXTURES_REQUIRED ws_e2e_keys)
    endif()
endforeach()
