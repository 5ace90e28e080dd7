# The test controller (tests/controller/src, JDK 17 only): compiled into
# ${TESTCTL_CLASSES}; run it with
#   java -cp ${TESTCTL_CLASSES} nativeagent.testctl.Main --state-file FILE ...
# Other areas' tests may use ${Java_JAVA_EXECUTABLE}, ${TESTCTL_CLASSES} and depend on target testctl.
find_package(Java 17 REQUIRED COMPONENTS Runtime Development)
file(GLOB_RECURSE TESTCTL_SOURCES CONFIGURE_DEPENDS "${CMAKE_CURRENT_LIST_DIR}/src/*.java")
set(TESTCTL_CLASSES "${CMAKE_BINARY_DIR}/tests/controller/classes")
set(_stamp "${CMAKE_BINARY_DIR}/tests/controller/classes.stamp")
if(NOT TESTCTL_SOURCES)
    return()
endif()
add_custom_command(OUTPUT "${_stamp}"
    COMMAND "${CMAKE_COMMAND}" -E rm -rf "${TESTCTL_CLASSES}"
    COMMAND "${Java_JAVAC_EXECUTABLE}" --release 17 -encoding UTF-8 -Xlint:-options -nowarn
            -d "${TESTCTL_CLASSES}" ${TESTCTL_SOURCES}
    COMMAND "${CMAKE_COMMAND}" -E touch "${_stamp}"
    DEPENDS ${TESTCTL_SOURCES}
    COMMENT "Compiling the test controller")
add_custom_target(testctl ALL DEPENDS "${_stamp}")

# Each part of the controller registers its own tests in a file of its own.
file(GLOB _testctl_parts CONFIGURE_DEPENDS "${CMAKE_CURRENT_LIST_DIR}/*.cmake")
list(REMOVE_ITEM _testctl_parts "${CMAKE_CURRENT_LIST_FILE}")
foreach(_p ${_testctl_parts})
    include("${_p}")
endforeach()
