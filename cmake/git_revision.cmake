# Run at build time (cmake -P): writes OUT, a header defining CTRNN_GIT_REVISION as the checkout's
# short revision, with "-dirty" when tracked files differ from it, or "unknown" outside git. The
# header is rewritten only when the text changes, so an unchanged revision recompiles nothing.
execute_process(COMMAND git rev-parse --short=12 HEAD
                WORKING_DIRECTORY ${SOURCE_DIR}
                OUTPUT_VARIABLE revision
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT revision)
  set(revision "unknown")
else()
  execute_process(COMMAND git diff --quiet HEAD --
                  WORKING_DIRECTORY ${SOURCE_DIR}
                  RESULT_VARIABLE dirty ERROR_QUIET)
  if(NOT dirty EQUAL 0)
    string(APPEND revision "-dirty")
  endif()
endif()
file(WRITE ${OUT}.tmp "#define CTRNN_GIT_REVISION \"${revision}\"\n")
configure_file(${OUT}.tmp ${OUT} COPYONLY)
file(REMOVE ${OUT}.tmp)
