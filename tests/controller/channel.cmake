# The channel half of the test controller (tests/controller/CHANNEL.md): its own tests.
#   testctl.channel.faithfulness  our wire classes against shared/golden, the spec tables and vectors
#   testctl.channel.selftest      every scenario against an in-memory fake agent (good and bad modes)
#   testctl.channel.e2e           scenarios through Main and a real WebSocket, fake agent
add_test(NAME testctl.channel.faithfulness
    COMMAND "${Java_JAVA_EXECUTABLE}" "-Dgolden=${AG_SHARED_DIR}/golden" "-Dspec=${AG_SHARED_DIR}/spec"
            -cp "${TESTCTL_CLASSES}" nativeagent.testctl.channel.Faithfulness)
set_tests_properties(testctl.channel.faithfulness PROPERTIES LABELS controller TIMEOUT 60)

add_test(NAME testctl.channel.selftest
    COMMAND "${Java_JAVA_EXECUTABLE}" -cp "${TESTCTL_CLASSES}" nativeagent.testctl.channel.SelfTest)
set_tests_properties(testctl.channel.selftest PROPERTIES LABELS controller TIMEOUT 120)

# The scenarios through Main (a process) and a real WebSocket, with the fake agent (about 15 s).
add_test(NAME testctl.channel.e2e
    COMMAND "${Java_JAVA_EXECUTABLE}" "-Dkeys=${CMAKE_BINARY_DIR}/tests/controller/keys-channel"
            -cp "${TESTCTL_CLASSES}" nativeagent.testctl.channel.EndToEnd)
set_tests_properties(testctl.channel.e2e PROPERTIES LABELS controller TIMEOUT 120)
