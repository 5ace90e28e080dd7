# Java Object Serialization (protocol/jos*.c), docs/internals/jos.md.
#
# jos.decode-cli        `jenkins-agent decode` on every golden file, a capture, stdin, bad input.
# jos.classes-current   scripts/gen-jos-classes.py regenerates protocol/jos_classes.c from
#                       ../shared/spec/*.tsv into the build dir; fails if the committed file differs.
# jos.java-write        JosGen (javac at build time into ${CMAKE_BINARY_DIR}/jos-classes) writes
#                       streams of many shapes with the real ObjectOutputStream into jos-data/.
# unit.protocol.jos_java  decodes/re-encodes them, compares the builder with Java's bytes, and
#                       writes jos-data/c-*.bin with the C encoder.
# jos.java-verify       JosGen reads c-*.bin back with the real ObjectInputStream.

find_package(Python3 COMPONENTS Interpreter QUIET)
if(Python3_FOUND AND EXISTS "${AG_SHARED_DIR}/spec/remoting-classes.tsv")
    add_test(NAME jos.classes-current
             COMMAND ${CMAKE_COMMAND} -DPYTHON=${Python3_EXECUTABLE}
                     -DSCRIPT=${CMAKE_SOURCE_DIR}/scripts/gen-jos-classes.py
                     -DSPEC=${AG_SHARED_DIR}/spec -DOUT=${CMAKE_BINARY_DIR}/jos_classes.c.regen
                     -DCOMMITTED=${CMAKE_SOURCE_DIR}/protocol/jos_classes.c
                     -P ${CMAKE_CURRENT_LIST_DIR}/check-classes.cmake)
    set_tests_properties(jos.classes-current PROPERTIES LABELS unit TIMEOUT 60)
endif()
if(Python3_FOUND AND EXISTS "${AG_SHARED_DIR}/golden/INDEX.md")
    add_test(NAME jos.decode-cli
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/decode-check.py
                     $<TARGET_FILE:jenkins-agent> ${AG_SHARED_DIR}/golden
                     ${CMAKE_BINARY_DIR}/jos-decode-cli)
    set_tests_properties(jos.decode-cli PROPERTIES LABELS unit TIMEOUT 120)
endif()

find_package(Java 17 COMPONENTS Development Runtime QUIET)
if(Java_FOUND AND Java_JAVAC_EXECUTABLE AND Java_JAVA_EXECUTABLE)
    set(_jos_classes "${CMAKE_BINARY_DIR}/jos-classes")
    set(_jos_data "${CMAKE_BINARY_DIR}/jos-data")
    set(_jos_src "${CMAKE_CURRENT_LIST_DIR}/JosGen.java"
                 "${CMAKE_CURRENT_LIST_DIR}/hudson/remoting/Stubs.java")
    add_custom_command(OUTPUT "${_jos_classes}/JosGen.class"
        COMMAND ${Java_JAVAC_EXECUTABLE} --release 17 -d "${_jos_classes}" ${_jos_src}
        DEPENDS ${_jos_src}
        COMMENT "javac tests/jos/JosGen.java")
    add_custom_target(jos_java ALL DEPENDS "${_jos_classes}/JosGen.class")

    add_test(NAME jos.java-write
             COMMAND ${Java_JAVA_EXECUTABLE} -cp "${_jos_classes}" JosGen write "${_jos_data}")
    set_tests_properties(jos.java-write PROPERTIES FIXTURES_SETUP jos_data LABELS unit TIMEOUT 60)
    set_tests_properties(unit.protocol.jos_java PROPERTIES
        FIXTURES_REQUIRED jos_data FIXTURES_SETUP jos_c_out)
    add_test(NAME jos.java-verify
             COMMAND ${Java_JAVA_EXECUTABLE} -cp "${_jos_classes}" JosGen verify "${_jos_data}")
    set_tests_properties(jos.java-verify PROPERTIES
        FIXTURES_REQUIRED "jos_data;jos_c_out" LABELS unit TIMEOUT 60)
else()
    message(STATUS "JDK 17 not found: the JosGen tests are skipped")
endif()
