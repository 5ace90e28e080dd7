# check.cmake: run the jenkins-agent binary once and check its exit status and output.
#   cmake -DBIN=... -DARGS="a|b" -DWANT_RC=N -DWANT_OUT=regex [-DWANT_ERR=regex]
#         [-DNOT_OUT=regex] [-DENV="K=V|K2=V2"] -P check.cmake
# The environment is cleared of the entrypoint's variables first, so a JENKINS_URL of the
# machine running the tests cannot change the result.
foreach(_v JENKINS_URL JENKINS_SECRET JENKINS_AGENT_NAME JENKINS_NAME JENKINS_AGENT_WORKDIR
           JENKINS_WEB_SOCKET JENKINS_TUNNEL JENKINS_DIRECT_CONNECTION JENKINS_INSTANCE_IDENTITY
           JENKINS_PROTOCOLS REMOTING_OPTS)
    unset(ENV{${_v}})
endforeach()
string(REPLACE "|" ";" ARGS "${ARGS}")
string(REPLACE "|" ";" ENV "${ENV}")
foreach(_kv ${ENV})
    string(FIND "${_kv}" "=" _eq)
    string(SUBSTRING "${_kv}" 0 ${_eq} _k)
    math(EXPR _eq "${_eq} + 1")
    string(SUBSTRING "${_kv}" ${_eq} -1 _val)
    set(ENV{${_k}} "${_val}")
endforeach()
execute_process(COMMAND "${BIN}" ${ARGS}
                RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err TIMEOUT 20)
if(NOT "${_rc}" STREQUAL "${WANT_RC}")
    message(FATAL_ERROR "exit status ${_rc}, want ${WANT_RC}\nstdout: ${_out}\nstderr: ${_err}")
endif()
if(DEFINED WANT_OUT AND NOT _out MATCHES "${WANT_OUT}")
    message(FATAL_ERROR "stdout does not match '${WANT_OUT}':\n${_out}")
endif()
if(DEFINED WANT_ERR AND NOT _err MATCHES "${WANT_ERR}")
    message(FATAL_ERROR "stderr does not match '${WANT_ERR}':\n${_err}")
endif()
if(DEFINED NOT_OUT AND ("${_out}${_err}" MATCHES "${NOT_OUT}"))
    message(FATAL_ERROR "output matches '${NOT_OUT}' but must not:\nstdout: ${_out}\nstderr: ${_err}")
endif()
