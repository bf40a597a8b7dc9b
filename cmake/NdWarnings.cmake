# Warning set from docs/../conventions: strict, -Werror only when asked (dev/CI presets).
set(ND_WARNING_FLAGS
  -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla
  -Wimplicit-fallthrough -Wpointer-arith -Wcast-qual -Wwrite-strings -Wundef
  -Wold-style-definition -Wnull-dereference -Wno-unused-parameter -Wno-missing-field-initializers)
if(ND_WERROR)
  list(APPEND ND_WARNING_FLAGS -Werror)
endif()

# nd_target_defaults(<target>): warnings and sanitizers for code we own.
function(nd_target_defaults target)
  target_compile_options(${target} PRIVATE ${ND_WARNING_FLAGS})
endfunction()

if(ND_SANITIZE)
  add_compile_options(-fsanitize=${ND_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${ND_SANITIZE})
endif()
add_compile_options(-fno-strict-aliasing -g)
if(ND_FUZZ)
  # Coverage instrumentation for all code, so the fuzzers see inside the libraries too.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
