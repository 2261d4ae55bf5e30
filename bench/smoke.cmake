# bench.smoke (CTest): runs every case of shmkit-bench briefly, its objects in
# a private directory of /dev/shm, and fails if the run fails, if the JSON
# lacks a case or shows one failed, or if any object is left behind.
#   cmake -DBENCH=path/to/shmkit-bench -DWORK=dir -P smoke.cmake
if(IS_DIRECTORY /dev/shm)
  string(RANDOM LENGTH 10 suffix)
  set(dir /dev/shm/shmkit-bench-smoke-${suffix})
else()
  set(dir ${WORK}/smoke-shm)
endif()
file(REMOVE_RECURSE ${dir})
file(MAKE_DIRECTORY ${dir} ${WORK})
set(json ${WORK}/smoke.json)
file(REMOVE ${json})

execute_process(COMMAND ${BENCH} --list OUTPUT_VARIABLE listing RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "shmkit-bench --list failed (exit ${rc})")
endif()
# One case a line (descriptions may hold ';', so count newlines, not list items).
string(REGEX MATCHALL "\n" newlines "${listing}")
list(LENGTH newlines listed_count)

execute_process(
  COMMAND ${CMAKE_COMMAND} -E env SHMKIT_DIR=${dir}
          ${BENCH} --reps 2 --duration-ms 20 --json ${json}
  RESULT_VARIABLE rc)
file(GLOB left ${dir}/*)
file(REMOVE_RECURSE ${dir})
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "shmkit-bench failed (exit ${rc})")
endif()
if(left)
  message(FATAL_ERROR "shmkit-bench left objects behind: ${left}")
endif()

file(READ ${json} text)
string(JSON count LENGTH "${text}" cases)
if(NOT count EQUAL listed_count)
  message(FATAL_ERROR "the JSON has ${count} cases, --list has ${listed_count}")
endif()
math(EXPR last "${count} - 1")
foreach(i RANGE ${last})
  string(JSON name GET "${text}" cases ${i} name)
  string(JSON status GET "${text}" cases ${i} status)
  if(NOT status STREQUAL "ok" AND NOT status STREQUAL "skipped")
    string(JSON reason GET "${text}" cases ${i} reason)
    message(FATAL_ERROR "case ${name}: ${status}: ${reason}")
  endif()
endforeach()
message(STATUS "shmkit-bench smoke: ${count} cases ran or were skipped, nothing left behind")
