# The jenkins-agent command line, run as users run it (docs/cli.md).
set(_cli_check "${CMAKE_CURRENT_LIST_DIR}/check.cmake")

# ag_cli_test(NAME RC ARGS... [OUT regex] [ERR regex] [NOT regex] [ENV K=V...])
function(ag_cli_test name rc)
    cmake_parse_arguments(PARSE_ARGV 2 _c "" "OUT;ERR;NOT" "ARGS;ENV")
    # Lists travel joined with '|': a ';' would split them into separate ctest arguments.
    string(REPLACE ";" "|" _args "${_c_ARGS}")
    string(REPLACE ";" "|" _env "${_c_ENV}")
    set(_defs -DBIN=$<TARGET_FILE:jenkins-agent> "-DARGS=${_args}" -DWANT_RC=${rc}
              "-DENV=${_env}")
    if(DEFINED _c_OUT)
        list(APPEND _defs "-DWANT_OUT=${_c_OUT}")
    endif()
    if(DEFINED _c_ERR)
        list(APPEND _defs "-DWANT_ERR=${_c_ERR}")
    endif()
    if(DEFINED _c_NOT)
        list(APPEND _defs "-DNOT_OUT=${_c_NOT}")
    endif()
    add_test(NAME cli.${name} COMMAND ${CMAKE_COMMAND} ${_defs} -P "${_cli_check}")
    set_tests_properties(cli.${name} PROPERTIES LABELS cli TIMEOUT 30)
endfunction()

ag_cli_test(help 0 ARGS -help
            OUT "Usage: jenkins-agent.*-url URL.*-secret.*-webSocket.*-noReconnectAfter.*REMOTING_OPTS")
ag_cli_test(help-long 0 ARGS --help OUT "-workDir DIR")
ag_cli_test(version 0 ARGS -version OUT "^${AGENT_REMOTING_VERSION}\n$")
ag_cli_test(bogus 2 ARGS -bogus ERR "^\"-bogus\" is not a valid option\n$")
ag_cli_test(missing-operand 2 ARGS -url ERR "Option \"-url\" takes an operand")
ag_cli_test(no-secret 2 ARGS -url http://127.0.0.1:9/ -name n
            ERR "Secret is required for inbound agents")
ag_cli_test(jnlp-url 2 ARGS -jnlpUrl http://127.0.0.1:9/computer/n/jenkins-agent.jnlp
            ERR "-jnlpUrl is not supported by the native agent")
ag_cli_test(text-mode 2 ARGS -url http://127.0.0.1:9/ -secret abcd1234 -name n -text
            ERR "\"-text\" is not supported by the native agent")
ag_cli_test(bad-duration 2 ARGS -noReconnectAfter 5x
            ERR "\"5x\" is not a valid value for \"-noReconnectAfter\"")
ag_cli_test(env-secret-error-hidden 2 ENV JENKINS_SECRET=0f0f0f0f0f0f0f0f0f0f JENKINS_AGENT_NAME=n
            ARGS -bogus ERR "\"-bogus\" is not a valid option" NOT "0f0f0f0f0f0f0f0f0f0f")
ag_cli_test(env-workdir-twice 2 ENV JENKINS_AGENT_WORKDIR=/tmp/x ARGS -workDir=/tmp/y -bogus
            OUT "^Warning: Work directory is defined twice in command-line arguments and the environment variable\n$")
ag_cli_test(exec-single-command 0 ARGS true)
ag_cli_test(exec-not-found 127 ARGS no-such-command-xyz ERR "cannot run no-such-command-xyz")
ag_cli_test(decode-usage 2 ARGS decode ERR "usage: jenkins-agent decode FILE")
ag_cli_test(workdir-missing 1
            ARGS -url http://127.0.0.1:9/ -secret abcd1234 -name n -noReconnect
                 -workDir /nonexistent/agent-wd -failIfWorkDirIsMissing
            ERR "SEVERE: The working directory is missing, but it is expected to exist: /nonexistent/agent-wd"
            NOT "abcd1234")
