# PyTorch golden data: tests/data/golden.txt, written by scripts/make_golden.py (needs PyTorch; the
# test does not), read by test_golden for every algorithm x compiled and supported ISA.
add_executable(test_golden test_golden.c)
target_link_libraries(test_golden PRIVATE tconv_testutil)
target_compile_definitions(test_golden PRIVATE
                           GOLDEN_DEFAULT_PATH="${CMAKE_CURRENT_SOURCE_DIR}/data/golden.txt")
add_test(NAME test_golden COMMAND test_golden ${CMAKE_CURRENT_SOURCE_DIR}/data/golden.txt)
