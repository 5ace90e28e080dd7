# End-to-end tests of the TCP path and the connection supervisor (tests/net/e2e.py): the real
# jenkins-agent against the test controller (tests/controller). Label e2e. They share one key
# store, made by the net.e2e.keys fixture, so only that test pays for the RSA key generation.
find_package(Python3 COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND OR NOT TARGET testctl)
    return()
endif()
set(_e2e_keys "${CMAKE_BINARY_DIR}/tests/net/keys")
set(_e2e_cmd "${Python3_EXECUTABLE}" "${CMAKE_CURRENT_LIST_DIR}/e2e.py"
    --agent "$<TARGET_FILE:jenkins-agent>" --java "${Java_JAVA_EXECUTABLE}"
    --classes "${TESTCTL_CLASSES}" --keys "${_e2e_keys}")
set(_e2e_cases keys url_http url_https direct direct_all_protocols wrong_secret unknown_name
    wrong_identity dead_port restart websocket proxy ws_proxy jvm_proxy redirect
    fault:garbage-http fault:garbage-ack fault:close-after-ack fault:garbage-headers
    fault:garbage-capability fault:stall-after-headers "fault:refuse:Go away"
    fault:kill-after-connected:300 stall_tcp stall_ws stall_stop hung_controller unanswered_pings
    ws_stall_upgrade)
foreach(_c ${_e2e_cases})
    string(REGEX REPLACE "[^A-Za-z0-9_]+" "_" _n "${_c}")
    string(REGEX REPLACE "_+$" "" _n "${_n}")
    add_test(NAME net.e2e.${_n} COMMAND ${_e2e_cmd} "${_c}")
    set_tests_properties(net.e2e.${_n} PROPERTIES LABELS e2e TIMEOUT 60 SKIP_RETURN_CODE 77)
    if(_c MATCHES "^(stall_|hung_|unanswered_)")
        # Up to three JVMs each (controller, relays); about 20 s alone, far more on a loaded CI.
        set_tests_properties(net.e2e.${_n} PROPERTIES TIMEOUT 120)
    endif()
    if(_c STREQUAL "keys")
        set_tests_properties(net.e2e.${_n} PROPERTIES FIXTURES_SETUP e2e_keys)
    else()
        set_tests_properties(net.e2e.${_n} PROPERTIES FIXTURES_REQUIRED e2e_keys)
    endif()
endforeach()
