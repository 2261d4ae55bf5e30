# Warning flags for the project's own targets; never exported to consumers.
function(shmkit_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Wold-style-cast
    $<$<BOOL:${SHMKIT_WERROR}>:-Werror>)
endfunction()
